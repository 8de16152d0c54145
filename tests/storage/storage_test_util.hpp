#pragma once

// Helpers shared by the storage tests (not a test source: the CMake glob only
// picks up *_test.cpp).

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "kb/storage/partition_log.hpp"
#include "kb/storage/record_batch.hpp"

namespace kb::storage::test {

using ByteVec = std::vector<uint8_t>;

inline ByteVec text_bytes(std::string_view text) { return ByteVec(text.begin(), text.end()); }

inline Bytes as_bytes(std::string_view text) {
  return Bytes(reinterpret_cast<const uint8_t*>(text.data()), text.size());
}

inline ByteVec from_hex(std::string_view hex) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    throw std::invalid_argument("bad hex digit");
  };
  ByteVec out;
  std::string digits;
  for (char c : hex)
    if (c != ' ' && c != '\n') digits.push_back(c);
  if (digits.size() % 2 != 0) throw std::invalid_argument("odd hex length");
  for (size_t i = 0; i < digits.size(); i += 2)
    out.push_back(static_cast<uint8_t>(nibble(digits[i]) * 16 + nibble(digits[i + 1])));
  return out;
}

// Randomized tests run `default_rounds` with a fixed seed; the environment
// can ask for a longer run with another seed (KB_STORAGE_FUZZ_ROUNDS,
// KB_STORAGE_FUZZ_SEED) without editing the tests.
inline int fuzz_rounds(int default_rounds) {
  const char* env = std::getenv("KB_STORAGE_FUZZ_ROUNDS");
  return env ? std::atoi(env) : default_rounds;
}
inline uint32_t fuzz_seed(uint32_t default_seed) {
  const char* env = std::getenv("KB_STORAGE_FUZZ_SEED");
  return env ? static_cast<uint32_t>(std::strtoul(env, nullptr, 10)) : default_seed;
}

// A fresh directory removed when the object goes away.
class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "kb-storage-test-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline ByteVec read_whole_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return ByteVec(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void write_whole_file(const std::filesystem::path& p, std::span<const uint8_t> bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

// A batch of `count` records with values "value-<i>" (and keys "key-<i>").
inline ByteVec make_batch(int64_t base_offset, int count, int64_t timestamp = 1700000000000,
                          size_t value_padding = 0) {
  RecordBatchBuilder builder;
  builder.set_base_offset(base_offset);
  std::vector<std::string> keys, values;
  for (int i = 0; i < count; ++i) {
    keys.push_back("key-" + std::to_string(i));
    values.push_back("value-" + std::to_string(i) + std::string(value_padding, 'x'));
  }
  for (int i = 0; i < count; ++i)
    builder.add_record(as_bytes(keys[i]), as_bytes(values[i]), timestamp + i);
  return builder.build();
}

}  // namespace kb::storage::test

namespace kb::storage::test {

// Apache Kafka 4.4's RegisterBrokerRecord (version 4: its log directory in
// tag 0, no cordoned directories) of node 1, broker epoch 19, from a node it
// formatted and started: one framed metadata record value.
inline constexpr std::string_view kKafka44RegisterBrokerHex =
    "0100040000000100b30a765236074976bd5d5bd6c5dfcf660000000000000013020a504c41494e544558540a"
    "3132372e302e302e319530000000080e6b726166742e76657273696f6e00000001000e67726f75702e766572"
    "73696f6e00000001001073747265616d732e76657273696f6e0000000100147472616e73616374696f6e2e76"
    "657273696f6e000000020021656c696769626c652e6c65616465722e7265706c696361732e76657273696f6e"
    "0000000100116d657461646174612e76657273696f6e00070021000e73686172652e76657273696f6e000000"
    "020000010001001102be8722ff43ea95a8f845e90e3273d9c4";

// A __cluster_metadata log as Kafka writes it, as used by codecrafters' Kafka
// challenge: batch 1 (offset 0) holds a FeatureLevelRecord metadata.version=20;
// batch 2 (offsets 1-3) a TopicRecord "saz" and two PartitionRecords (v1).
inline constexpr std::string_view kKafkaMetadataLogHex =
    "00000000000000000000004f0000000102b069457c00000000000000000191e05af81800000191e05af818"
    "ffffffffffffffffffffffffffff000000013a000000012e010c00116d657461646174612e76657273696f"
    "6e001400000000000000000001000000e4000000010224db12dd00000000000200000191e05b2d150000"
    "0191e05b2d15ffffffffffffffffffffffffffff000000033c00000001300102000473617a0000000000"
    "00400080000000000000910000900100000201820101030100000000000000000000400080000000000000"
    "91020000000102000000010101000000010000000000000000021000000000004000800000000000000100"
    "009001000004018201010301000000010000000000004000800000000000009102000000010200000001"
    "010100000001000000000000000002100000000000400080000000000000010000";

// The topic id of new_log's partition (Kafka refuses the zero id in partition.metadata).
inline kb::wire::Uuid test_topic_id() {
  kb::wire::Uuid id;
  id.bytes[15] = 1;
  return id;
}

// A new partition log "t-0" in `dir` (nullptr, with a test failure, when it
// cannot be created).
inline std::unique_ptr<PartitionLog> new_log(const TempDir& dir, PartitionLogOptions options = {}) {
  auto log = PartitionLog::create(dir.path(), "t", 0, test_topic_id(), options);
  EXPECT_TRUE(log.ok()) << log.error().message;
  return log.ok() ? std::move(log.value()) : nullptr;
}

}  // namespace kb::storage::test
