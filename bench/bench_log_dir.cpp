// kb_bench_log_dir: writes the log directories the fetch and start-up benchmarks start the broker
// on, in Apache Kafka 4.x's on-disk format (meta.properties, the __cluster_metadata-0 KRaft log
// with TopicRecord + PartitionRecords, partition directories with segment, index, time index,
// partition.metadata and leader-epoch-checkpoint, and the offset checkpoint files). Unlike the
// network tools, this one links the storage library: the layout must be exactly Kafka's.
//
//   kb_bench_log_dir fetch --dir D [--topic T] [--bytes N] [--batch-bytes B] [--record-bytes R]
//       One topic with one partition holding uncompressed batches of at most B bytes (records of
//       an R-byte value and no key; at least one record per batch) until the next batch would
//       take the partition past N bytes. Prints key=value figures of what was written.
//
//   kb_bench_log_dir compacted --dir D [--topic T] [--bytes N] [--batch-bytes B]
//                              [--record-bytes R] [--live-percent L] [--segment-bytes S]
//       One compacted topic (cleanup.policy=compact, segment.bytes=S) with one partition of
//       keyed records: the keys are L% as many as the records, written in random order, so after
//       cleaning about L% of the records are left. For the cleaning benchmark.
//
//   kb_bench_log_dir topics --dir D [--topics N] [--partitions P]
//       N topics of P partitions each, every partition directory with an empty first segment
//       (as Kafka leaves a partition that never received data). Prints key=value figures.
//
//   kb_bench_log_dir batch --out F [--batch-bytes B] [--record-bytes R]
//       One uncompressed batch as a producer sends it (base offset 0, records of an R-byte value,
//       timestamps now, CRC computed), as many records as fit in B bytes, written to file F for
//       the produce benchmark to send. Prints key=value figures.
//
// D must not exist yet or be empty.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/core.h>

#include "bench_net.hpp"  // ParseInt
#include "kb/storage/partition_log.hpp"
#include "kb/storage/record_batch.hpp"
#include "support/kafka_log_dir_writer.hpp"

namespace kb::bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kUsage =
    "usage: kb_bench_log_dir fetch --dir D [--topic T] [--bytes N] [--batch-bytes B]\n"
    "                              [--record-bytes R]\n"
    "       kb_bench_log_dir compacted --dir D [--topic T] [--bytes N] [--batch-bytes B]\n"
    "                              [--record-bytes R] [--live-percent L] [--segment-bytes S]\n"
    "       kb_bench_log_dir topics --dir D [--topics N] [--partitions P]\n"
    "       kb_bench_log_dir batch --out F [--batch-bytes B] [--record-bytes R]\n";

// Appending this much at a time keeps memory small and pwrite calls large.
constexpr size_t kAppendChunkBytes = 8 << 20;
constexpr int64_t kFirstTimestampMs = 1700000000000;

struct Options {
  std::string command;
  fs::path dir;
  fs::path out;
  std::string topic = "bench-fetch";
  uint64_t bytes = uint64_t{1} << 30;
  uint32_t batch_bytes = 16 << 10;
  uint32_t record_bytes = 1 << 10;
  int32_t topics = 1000;
  int32_t partitions = 10;
  uint32_t live_percent = 10;
  uint64_t segment_bytes = uint64_t{1} << 30;
};

Options ParseOptions(int argc, char** argv) {
  if (argc < 2) throw std::invalid_argument("missing subcommand");
  Options options;
  options.command = argv[1];
  if (options.command != "fetch" && options.command != "topics" && options.command != "batch" &&
      options.command != "compacted") {
    throw std::invalid_argument("unknown subcommand '" + options.command + "'");
  }
  for (int i = 2; i < argc; ++i) {
    const std::string_view name = argv[i];
    if (i + 1 >= argc) throw std::invalid_argument(std::string(name) + ": missing value");
    const std::string_view value = argv[++i];
    if (name == "--dir") {
      options.dir = std::string(value);
    } else if (name == "--out") {
      options.out = std::string(value);
    } else if (name == "--topic") {
      options.topic = std::string(value);
    } else if (name == "--bytes") {
      options.bytes = ParseInt<uint64_t>(name, value, 1);
    } else if (name == "--batch-bytes") {
      options.batch_bytes = ParseInt<uint32_t>(name, value, 128, 64u << 20);
    } else if (name == "--record-bytes") {
      options.record_bytes = ParseInt<uint32_t>(name, value, 0, 16u << 20);
    } else if (name == "--topics") {
      options.topics = ParseInt<int32_t>(name, value, 1, 1000000);
    } else if (name == "--live-percent") {
      options.live_percent = ParseInt<uint32_t>(name, value, 1, 100);
    } else if (name == "--segment-bytes") {
      options.segment_bytes = ParseInt<uint64_t>(name, value, 1 << 20);
    } else if (name == "--partitions") {
      options.partitions = ParseInt<int32_t>(name, value, 1, 100000);
    } else {
      throw std::invalid_argument("unknown option '" + std::string(name) + "'");
    }
  }
  if (options.command == "batch") {
    if (options.out.empty()) throw std::invalid_argument("--out is required");
  } else if (options.dir.empty()) {
    throw std::invalid_argument("--dir is required");
  }
  return options;
}

void RequireEmptyDir(const fs::path& dir) {
  if (fs::exists(dir) && !fs::is_empty(dir)) {
    throw std::runtime_error(dir.string() + " exists and is not empty");
  }
}

void WriteText(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::string Checkpoint(const std::string& topic, int64_t offset) {
  return fmt::format("0\n1\n{} 0 {}\n", topic, offset);
}

void GenerateFetch(const Options& options, bool compacted = false) {
  RequireEmptyDir(options.dir);
  const auto start = Clock::now();

  // Metadata log, meta.properties and an empty partition directory first...
  kb::testing::KafkaLogDirSpec spec;
  spec.topics.push_back({options.topic, 1, 0, 1, {}, {}});
  if (compacted)
    spec.topics.back().configs = {{"cleanup.policy", "compact"},
                                  {"segment.bytes", std::to_string(options.segment_bytes)}};
  kb::testing::write_kafka_log_dir(options.dir, spec);

  // ...then the partition's data, appended as a producer's batches would be.
  const fs::path partition_dir = options.dir / kb::storage::partition_dir_name(options.topic, 0);
  kb::storage::PartitionLogOptions log_options;
  log_options.verify_crc_on_append = false;  // The builder just computed them.
  if (compacted) {
    log_options.compacted = true;
    log_options.segment_bytes = options.segment_bytes;
  }
  auto opened = kb::storage::PartitionLog::open(partition_dir, log_options);
  if (!opened)
    throw std::runtime_error("open " + partition_dir.string() + ": " + opened.error().message);
  kb::storage::PartitionLog& log = **opened;

  // Record values are slices of a random letter pool, so batches differ from one another.
  std::mt19937_64 rng(42);
  std::vector<uint8_t> pool((1 << 20) + options.record_bytes);
  for (auto& byte : pool) byte = static_cast<uint8_t>('a' + rng() % 26);

  uint64_t written = 0;
  uint64_t batches = 0;
  int64_t timestamp = kFirstTimestampMs;
  std::vector<uint8_t> chunk;
  chunk.reserve(kAppendChunkBytes + options.batch_bytes);
  auto append_chunk = [&] {
    if (chunk.empty()) return;
    auto appended = log.append(std::span<uint8_t>(chunk), 0);
    if (!appended) throw std::runtime_error("append: " + appended.error().message);
    chunk.clear();
  };
  // Every batch has the same records (offset and timestamp deltas 0, 1, 2...), so the count that
  // fits is found once.
  // Keyed (compacted): keys "key-<n>" of a fixed width, n from a key space that is
  // live_percent of the records (estimated from the sizes).
  uint64_t key_space = 1;
  std::string key;
  auto build_batch = [&](size_t records) {
    kb::storage::RecordBatchBuilder builder;
    builder.set_partition_leader_epoch(0);
    for (size_t r = 0; r < records; ++r) {
      const size_t at = rng() % (pool.size() - options.record_bytes + 1);
      const std::span<const uint8_t> value(pool.data() + at, options.record_bytes);
      if (compacted) {
        key = fmt::format("key-{:012}", rng() % key_space);
        builder.add_record(
            std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(key.data()), key.size()),
            value, timestamp++);
      } else {
        builder.add_record(std::nullopt, value, timestamp++);
      }
    }
    return builder.build();
  };
  size_t records_per_batch = 1;
  while (build_batch(records_per_batch + 1).size() <= options.batch_bytes) ++records_per_batch;
  timestamp = kFirstTimestampMs;
  if (compacted) {
    const uint64_t batch_size = build_batch(records_per_batch).size();
    const uint64_t records = options.bytes / batch_size * records_per_batch;
    key_space = std::max<uint64_t>(records * options.live_percent / 100, 1);
  }

  for (;;) {
    const std::vector<uint8_t> batch = build_batch(records_per_batch);
    if (written + batch.size() > options.bytes) break;
    chunk.insert(chunk.end(), batch.begin(), batch.end());
    written += batch.size();
    ++batches;
    if (chunk.size() >= kAppendChunkBytes) append_chunk();
  }
  append_chunk();
  if (auto flushed = log.flush(); !flushed) {
    throw std::runtime_error("flush: " + flushed.error().message);
  }
  const int64_t end_offset = log.log_end_offset();
  const size_t segments = log.segment_count();
  opened->reset();  // Close the files before the checkpoints name the final state.

  // What a cleanly stopped Kafka leaves: checkpoints at the log end, one leader epoch from 0.
  WriteText(partition_dir / "leader-epoch-checkpoint", "0\n1\n0 0\n");
  WriteText(options.dir / "recovery-point-offset-checkpoint",
            Checkpoint(options.topic, end_offset));
  WriteText(options.dir / "replication-offset-checkpoint", Checkpoint(options.topic, end_offset));
  WriteText(options.dir / "log-start-offset-checkpoint", Checkpoint(options.topic, 0));

  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  fmt::print(
      "topic={} partition=0 bytes={} batches={} batch_bytes={} records_per_batch={} records={} "
      "end_offset={} segments={} log_file={} seconds={:.2f}\n",
      options.topic, written, batches, batches > 0 ? written / batches : 0, records_per_batch,
      end_offset, end_offset, segments,
      (partition_dir / kb::storage::segment_file_name(0, ".log")).string(), seconds);
}

void GenerateTopics(const Options& options) {
  RequireEmptyDir(options.dir);
  const auto start = Clock::now();
  kb::testing::KafkaLogDirSpec spec;
  spec.topics.reserve(static_cast<size_t>(options.topics));
  for (int32_t t = 0; t < options.topics; ++t) {
    spec.topics.push_back({fmt::format("bench-topic-{:05}", t), options.partitions, 0, 1, {}, {}});
  }
  const kb::testing::WrittenLogDir written = kb::testing::write_kafka_log_dir(options.dir, spec);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  fmt::print("topics={} partitions={} metadata_records={} seconds={:.2f}\n", options.topics,
             written.partitions.size(), written.metadata_end_offset, seconds);
}

void GenerateBatch(const Options& options) {
  std::mt19937_64 rng(42);
  std::vector<uint8_t> value(options.record_bytes);
  for (auto& byte : value) byte = static_cast<uint8_t>('a' + rng() % 26);
  // Timestamps now: the broker refuses CreateTime too far from its clock.
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  auto build = [&](size_t records) {
    kb::storage::RecordBatchBuilder builder;
    for (size_t r = 0; r < records; ++r) builder.add_record(std::nullopt, value, now);
    return builder.build();
  };
  size_t records = 1;
  while (build(records + 1).size() <= options.batch_bytes) ++records;
  const std::vector<uint8_t> batch = build(records);
  WriteText(options.out, std::string(batch.begin(), batch.end()));
  fmt::print("batch_bytes={} records={} record_bytes={}\n", batch.size(), records,
             options.record_bytes);
}

int Main(int argc, char** argv) {
  Options options;
  try {
    options = ParseOptions(argc, argv);
  } catch (const std::invalid_argument& error) {
    fmt::print(stderr, "kb_bench_log_dir: {}\n{}", error.what(), kUsage);
    return 2;
  }
  try {
    if (options.command == "fetch") {
      GenerateFetch(options);
    } else if (options.command == "compacted") {
      GenerateFetch(options, true);
    } else if (options.command == "batch") {
      GenerateBatch(options);
    } else {
      GenerateTopics(options);
    }
  } catch (const std::exception& error) {
    fmt::print(stderr, "kb_bench_log_dir {}: error: {}\n", options.command, error.what());
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace kb::bench

int main(int argc, char** argv) { return kb::bench::Main(argc, argv); }
