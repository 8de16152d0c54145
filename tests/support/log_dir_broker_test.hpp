#pragma once

// A fixture for tests that damage or rearrange a broker's log directory
// between starts: a log directory the test owns, the real broker started on it
// (and restarted at will), and the raw Metadata, Produce and Fetch requests
// those tests make, all for partition 0.

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "kb/protocol/messages/fetch.hpp"
#include "kb/protocol/messages/metadata.hpp"
#include "kb/protocol/messages/produce.hpp"
#include "kb/storage/partition_log.hpp"
#include "kb/storage/record_batch.hpp"
#include "support/broker_process.hpp"
#include "support/kafka_client.hpp"

namespace kb::testing {

inline std::vector<uint8_t> read_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_bytes(const std::filesystem::path& p, const std::vector<uint8_t>& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

// A batch of one record with `value` and no key, stamped 2023-11-14.
inline std::vector<uint8_t> value_batch(std::string_view value) {
  storage::RecordBatchBuilder builder;
  builder.add_record(std::nullopt,
                     storage::Bytes(reinterpret_cast<const uint8_t*>(value.data()), value.size()),
                     1700000000000);
  return builder.build();
}
inline std::vector<uint8_t> value_batch(size_t value_size, char fill) {
  return value_batch(std::string(value_size, fill));
}

class LogDirBrokerTest : public ::testing::Test {
 protected:
  struct FetchAnswer {
    int16_t error_code = 0;
    std::vector<uint8_t> records;
    int64_t high_watermark = 0;
  };

  explicit LogDirBrokerTest(std::string temp_dir_prefix)
      : temp_dir_prefix_(std::move(temp_dir_prefix)) {}
  void SetUp() override { root_ = make_temp_dir(temp_dir_prefix_); }
  void TearDown() override {
    broker_.reset();
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }

  std::filesystem::path data() const { return root_ / "data"; }
  std::filesystem::path partition_dir(const std::string& topic) const {
    return data() / storage::partition_dir_name(topic, 0);
  }

  void start(std::map<std::string, std::string> extra = {}) {
    broker_.reset();
    broker_ = std::make_unique<BrokerProcess>(std::move(extra), data());
    client_ = std::make_unique<RawClient>(broker_->port());
  }

  // Metadata v12 for the given names (every topic when empty), auto-creating.
  protocol::MetadataResponse metadata(const std::vector<std::string>& names = {}) {
    protocol::MetadataRequest req;
    if (!names.empty()) {
      names_ = names;
      req.topics.emplace();
      for (const auto& n : names_) req.topics->emplace_back().name = n;
    }
    return call<protocol::MetadataResponse>(*client_, req, 12, body_, next_id_++);
  }
  std::set<std::string> topic_names() {
    std::set<std::string> out;
    for (const auto& t : metadata().topics)
      if (t.name && t.error_code == 0) out.insert(*t.name);
    return out;
  }

  // Produce v9 with acks=all to partition 0.
  protocol::ProduceResponse::PartitionProduceResponse produce(const std::string& topic,
                                                              const std::vector<uint8_t>& batch) {
    protocol::ProduceRequest req;
    req.acks = -1;
    req.timeout_ms = 5000;
    names_ = {topic};
    auto& t = req.topic_data.emplace_back();
    t.name = names_[0];
    t.partition_data.push_back({0, storage::Bytes(batch)});
    auto resp = call<protocol::ProduceResponse>(*client_, req, 9, body_, next_id_++);
    return resp.responses.at(0).partition_responses.at(0);
  }

  // Fetch v12 (by name) of partition 0 from `offset`, up to 50 MiB.
  FetchAnswer fetch(const std::string& topic, int64_t offset) {
    protocol::FetchRequest req;
    req.max_bytes = 50 << 20;
    names_ = {topic};
    auto& t = req.topics.emplace_back();
    t.topic = names_[0];
    auto& p = t.partitions.emplace_back();
    p.fetch_offset = offset;
    p.partition_max_bytes = 50 << 20;
    auto resp = call<protocol::FetchResponse>(*client_, req, 12, body_, next_id_++);
    const auto& part = resp.responses.at(0).partitions.at(0);
    FetchAnswer answer;
    answer.error_code = part.error_code;
    answer.high_watermark = part.high_watermark;
    if (part.records) answer.records.assign(part.records->begin(), part.records->end());
    return answer;
  }

  // Whole batches from `offset` on while fetches succeed, each checked by its
  // CRC. With `stopped_with`, the error that ended it (0 at the high
  // watermark) is handed back; without, an error is a test failure.
  std::vector<std::vector<uint8_t>> fetch_batches(const std::string& topic, int64_t offset = 0,
                                                  int16_t* stopped_with = nullptr) {
    std::vector<std::vector<uint8_t>> out;
    for (int round = 0; round < 1000; ++round) {
      FetchAnswer answer = fetch(topic, offset);
      if (stopped_with)
        *stopped_with = answer.error_code;
      else
        EXPECT_EQ(answer.error_code, 0) << topic << " at " << offset;
      if (answer.error_code != 0 || offset >= answer.high_watermark) return out;
      auto split = storage::split_batches(answer.records, storage::CrcCheck::verify);
      EXPECT_FALSE(split.batches.empty()) << "no valid batch at " << offset;
      if (split.batches.empty()) return out;
      for (const auto& b : split.batches) out.emplace_back(b.bytes().begin(), b.bytes().end());
      offset = split.batches.back().next_offset();
    }
    ADD_FAILURE() << "fetch loop did not reach the high watermark";
    return out;
  }

  std::filesystem::path root_;
  std::unique_ptr<BrokerProcess> broker_;
  std::unique_ptr<RawClient> client_;
  std::vector<uint8_t> body_;
  std::vector<std::string> names_;  // requests view these
  int32_t next_id_ = 1;

 private:
  std::string temp_dir_prefix_;
};

}  // namespace kb::testing
