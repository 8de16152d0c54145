// The broker's budgets against the real binary: file descriptors (a lowered
// open-file limit, as `prlimit --nofile=N:N` sets it, with small segments and
// retention under producers, and more partitions than the budget of open
// files) and disk reservations (500 partitions of one small record each on a
// small tmpfs). In each case the broker stays up, its descriptors stay within
// the plan, acknowledged records stay readable, other clients are answered,
// and a clean shutdown succeeds.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "kb/protocol/messages/api_versions.hpp"
#include "kb/protocol/messages/create_topics.hpp"
#include "kb/protocol/messages/fetch.hpp"
#include "kb/protocol/messages/list_offsets.hpp"
#include "kb/protocol/messages/produce.hpp"
#include "kb/storage/offset_checkpoint.hpp"
#include "kb/storage/partition_log.hpp"
#include "kb/storage/record_batch.hpp"
#include "support/broker_process.hpp"
#include "support/kafka_client.hpp"
#include "support/small_tmpfs.hpp"

namespace kb::testing {
namespace {

using namespace protocol;
namespace fs = std::filesystem;

// Low enough that the old broker (three descriptors kept per written
// partition, rolled segments' indexes kept until the next checkpoint) runs
// out in these tests.
constexpr uint64_t kOpenFileLimit = 200;

size_t descriptors_of(pid_t pid) {
  size_t n = 0;
  std::error_code ec;
  for (fs::directory_iterator it("/proc/" + std::to_string(pid) + "/fd", ec), end; !ec && it != end;
       it.increment(ec))
    ++n;
  return n;
}

// The capacity the broker planned for partition files (its start-up line).
uint64_t planned_partition_files(BrokerProcess& broker) {
  auto match = broker.wait_for_log(std::regex("(\\d+) for partition files"));
  return match.size() == 2 ? std::stoull(match[1]) : 0;
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Stamped now: retention by time (7 days) leaves it alone.
std::vector<uint8_t> record_batch(const std::string& value, int64_t timestamp = now_ms()) {
  storage::RecordBatchBuilder builder;
  builder.add_record(std::nullopt,
                     storage::Bytes(reinterpret_cast<const uint8_t*>(value.data()), value.size()),
                     timestamp);
  return builder.build();
}

class Client {
 public:
  explicit Client(uint16_t port) : client_(port) {}

  void create_topic(const std::string& name, int32_t partitions,
                    std::map<std::string, std::string> configs = {}) {
    CreateTopicsRequest request;
    auto& t = request.topics.emplace_back();
    t.name = name;
    t.num_partitions = partitions;
    t.replication_factor = -1;
    for (const auto& [k, v] : configs) t.configs.push_back({k, v});
    request.timeout_ms = 60000;
    auto r = client_.call<CreateTopicsResponse>(request, 7);
    ASSERT_EQ(r.topics.at(0).error_code, 0);
  }

  // One Produce (acks=-1) of one batch to each of `partitions`; their error
  // codes and base offsets by partition.
  std::map<int32_t, std::pair<int16_t, int64_t>> produce(const std::string& topic,
                                                         const std::vector<int32_t>& partitions,
                                                         const std::vector<uint8_t>& batch) {
    ProduceRequest req;
    req.acks = -1;
    req.timeout_ms = 10000;
    auto& t = req.topic_data.emplace_back();
    t.name = topic;
    for (int32_t p : partitions) t.partition_data.push_back({p, storage::Bytes(batch)});
    auto r = client_.call<ProduceResponse>(req, 9);
    std::map<int32_t, std::pair<int16_t, int64_t>> out;
    for (const auto& pr : r.responses.at(0).partition_responses)
      out[pr.index] = {pr.error_code, pr.base_offset};
    return out;
  }

  struct Fetched {
    int16_t error_code = 0;
    int64_t high_watermark = -1;
    int64_t log_start_offset = -1;
    std::vector<uint8_t> records;
  };
  Fetched fetch(const std::string& topic, int32_t partition, int64_t offset) {
    FetchRequest req;
    req.max_wait_ms = 0;
    req.min_bytes = 0;
    req.max_bytes = 1 << 20;
    auto& t = req.topics.emplace_back();
    t.topic = topic;
    auto& p = t.partitions.emplace_back();
    p.partition = partition;
    p.fetch_offset = offset;
    p.partition_max_bytes = 1 << 20;
    auto r = client_.call<FetchResponse>(req, 12);
    const auto& part = r.responses.at(0).partitions.at(0);
    Fetched out{part.error_code, part.high_watermark, part.log_start_offset, {}};
    if (part.records) out.records.assign(part.records->begin(), part.records->end());
    return out;
  }

  // ListOffsets v8 earliest.
  int64_t log_start_offset(const std::string& topic, int32_t partition) {
    ListOffsetsRequest req;
    req.replica_id = -1;
    auto& t = req.topics.emplace_back();
    t.name = topic;
    t.partitions.push_back({partition, -1, -2, 1});
    auto r = client_.call<ListOffsetsResponse>(req, 8);
    EXPECT_EQ(r.topics.at(0).partitions.at(0).error_code, 0);
    return r.topics.at(0).partitions.at(0).offset;
  }

  // Every batch from the log start to the high watermark, CRC-checked and
  // contiguous; empty with a test failure when a read fails.
  static constexpr int16_t kOffsetOutOfRange = 1;
  std::vector<std::vector<uint8_t>> read_all(const std::string& topic, int32_t partition) {
    std::vector<std::vector<uint8_t>> out;
    int64_t offset = log_start_offset(topic, partition);
    for (int round = 0; round < 10000; ++round) {
      Fetched f = fetch(topic, partition, offset);
      // Retention may still move the log start past the offset asked for
      // (its last pass can run while this reads): start again from the new
      // one, as a consumer resetting to the earliest offset does. Out of
      // range at or past the log start is a failure.
      if (f.error_code == kOffsetOutOfRange) {
        const int64_t start = log_start_offset(topic, partition);
        if (offset < start) {
          out.clear();
          offset = start;
          continue;
        }
      }
      EXPECT_EQ(f.error_code, 0) << topic << "-" << partition << " at " << offset;
      if (f.error_code != 0) return {};
      if (offset >= f.high_watermark) return out;
      auto split = storage::split_batches(f.records, storage::CrcCheck::verify);
      EXPECT_FALSE(split.batches.empty()) << "no whole batch at " << offset;
      if (split.batches.empty()) return {};
      for (const auto& b : split.batches) {
        EXPECT_EQ(b.base_offset(), offset) << topic << "-" << partition;
        out.emplace_back(b.bytes().begin(), b.bytes().end());
        offset = b.next_offset();
      }
    }
    ADD_FAILURE() << "did not reach the high watermark";
    return out;
  }

  bool api_versions_answered() {
    ApiVersionsRequest req;
    auto r = client_.call<ApiVersionsResponse>(req, 2);
    return r.error_code == 0 && !r.api_keys.empty();
  }

 private:
  TypedClient client_;
};

std::vector<int32_t> range(int32_t from, int32_t to) {
  std::vector<int32_t> out;
  for (int32_t i = from; i < to; ++i) out.push_back(i);
  return out;
}

// Small segments deleted by retention while producers write: the old broker
// kept every rolled segment's index files open until the next checkpoint,
// ran out of descriptors, failed the checkpoint and exited. Here the
// descriptors stay within the plan, every produce is acknowledged, and what
// retention kept reads back whole.
TEST(DescriptorBudget, SmallSegmentsWithRetentionUnderProducersStayWithinThePlan) {
  BrokerProcess broker({{"log.segment.bytes", "4096"},
                        {"log.retention.bytes", "16384"},
                        {"log.retention.check.interval.ms", "100"},
                        {"log.flush.offset.checkpoint.interval.ms", "200"},
                        {"auto.create.topics.enable", "false"}},
                       std::nullopt, kOpenFileLimit);
  const uint64_t files = planned_partition_files(broker);
  ASSERT_GT(files, 0u) << broker.log();
  Client admin(broker.port());
  admin.create_topic("busy", 4);
  Client first(broker.port()), second(broker.port()), other(broker.port());
  const size_t at_start = descriptors_of(broker.pid());

  const auto partitions = range(0, 4);
  std::map<int32_t, int64_t> next_offset;
  size_t most = 0;
  for (int i = 0; i < 1500; ++i) {
    Client& producer = i % 2 == 0 ? first : second;
    const auto batch = record_batch(std::string(900, static_cast<char>('a' + i % 26)));
    auto acks = producer.produce("busy", partitions, batch);
    for (int32_t p : partitions) {
      ASSERT_EQ(acks[p].first, 0) << "partition " << p << " at request " << i << "\n"
                                  << broker.log();
      ASSERT_EQ(acks[p].second, next_offset[p]);
      next_offset[p] += 1;
    }
    if (i % 50 == 0) {
      most = std::max(most, descriptors_of(broker.pid()));
      ASSERT_TRUE(other.api_versions_answered());
    }
  }
  EXPECT_TRUE(broker.alive()) << broker.log();
  // The broker's own descriptors at start, the partition files' budget, a
  // few opened for a moment (an index write, a directory sync).
  EXPECT_LE(most, at_start + files + 8) << "at start " << at_start << ", budget " << files;
  EXPECT_EQ(broker.log().find("Too many open files"), std::string::npos) << broker.log();

  // What retention kept reads back, up to the last acknowledged batch.
  Client reader(broker.port());
  for (int32_t p : partitions) {
    auto batches = reader.read_all("busy", p);
    ASSERT_FALSE(batches.empty()) << "partition " << p;
    auto last = storage::RecordBatchView::parse(batches.back(), storage::CrcCheck::verify);
    ASSERT_TRUE(last);
    EXPECT_EQ(last->next_offset(), next_offset[p]);
    EXPECT_EQ(last->record_count(), 1);
  }
  EXPECT_EQ(broker.stop().code, 0) << broker.log();
}

// More partitions than the budget of open files: each is written, read back,
// written again (its file closed and reopened in between), and the broker's
// descriptors stay within the plan.
TEST(DescriptorBudget, MorePartitionsThanTheBudgetAreWrittenAndReadBack) {
  BrokerProcess broker({{"auto.create.topics.enable", "false"}}, std::nullopt, kOpenFileLimit);
  const uint64_t files = planned_partition_files(broker);
  ASSERT_GT(files, 0u) << broker.log();
  constexpr int32_t kPartitions = 300;
  ASSERT_GT(static_cast<uint64_t>(kPartitions), 3 * files);
  Client client(broker.port());
  client.create_topic("wide", kPartitions);
  const size_t at_start = descriptors_of(broker.pid());
  size_t most = 0;
  for (int round = 0; round < 2; ++round) {
    // Twenty partitions a request.
    for (int32_t from = 0; from < kPartitions; from += 20) {
      auto acks =
          client.produce("wide", range(from, from + 20),
                         record_batch("r" + std::to_string(round) + "-" + std::to_string(from)));
      for (int32_t p = from; p < from + 20; ++p) {
        ASSERT_EQ(acks[p].first, 0) << "partition " << p << "\n" << broker.log();
        EXPECT_EQ(acks[p].second, round);
      }
      most = std::max(most, descriptors_of(broker.pid()));
    }
    for (int32_t p = 0; p < kPartitions; ++p) {
      auto batches = client.read_all("wide", p);
      ASSERT_EQ(batches.size(), static_cast<size_t>(round + 1)) << "partition " << p;
      most = std::max(most, descriptors_of(broker.pid()));
    }
  }
  EXPECT_TRUE(client.api_versions_answered());
  EXPECT_LE(most, at_start + files + 8) << "at start " << at_start << ", budget " << files;
  EXPECT_EQ(broker.stop().code, 0) << broker.log();
}

// A small file system and 500 partitions of one small record each: every
// record is accepted, the segments hold about their data's blocks (a quiet
// partition reserves no more), a clean shutdown succeeds, and everything is
// there after a restart. Needs root (mount).
TEST(DiskReservations, FiveHundredQuietPartitionsFitASmallDisk) {
  SmallTmpfs disk("kb-reservations-", "size=8m");
  if (!disk.unavailable().empty()) GTEST_SKIP() << disk.unavailable();
  const fs::path mnt = disk.path();
  const fs::path data = mnt / "data";

  constexpr int32_t kPartitions = 500;
  {
    BrokerProcess broker({{"auto.create.topics.enable", "false"}}, data);
    Client client(broker.port());
    client.create_topic("quiet", kPartitions);
    for (int32_t from = 0; from < kPartitions; from += 50) {
      const auto partitions = range(from, from + 50);
      const auto batch = record_batch("forty bytes of value, more or less " + std::to_string(from));
      auto acks = client.produce("quiet", partitions, batch);
      for (int32_t p : partitions) {
        ASSERT_EQ(acks[p].first, 0) << "partition " << p << "\n" << broker.log();
      }
    }
    // The active segments hold about their data: one block each.
    uint64_t allocated = 0, size = 0;
    for (int32_t p = 0; p < kPartitions; ++p) {
      const fs::path log =
          data / storage::partition_dir_name("quiet", p) / storage::segment_file_name(0, ".log");
      struct stat st {};
      ASSERT_EQ(::stat(log.c_str(), &st), 0) << log;
      allocated += static_cast<uint64_t>(st.st_blocks) * 512;
      size += static_cast<uint64_t>(st.st_size);
    }
    EXPECT_LE(allocated, kPartitions * uint64_t{4096}) << size << " bytes of data";
    EXPECT_TRUE(client.api_versions_answered());
    EXPECT_EQ(broker.stop().code, 0) << broker.log();
    EXPECT_TRUE(fs::exists(data / storage::kCleanShutdownFile));
  }
  BrokerProcess again({}, data);
  Client client(again.port());
  for (int32_t p = 0; p < kPartitions; p += 7) {
    auto batches = client.read_all("quiet", p);
    ASSERT_EQ(batches.size(), 1u) << "partition " << p;
    auto view = storage::RecordBatchView::parse(batches[0], storage::CrcCheck::verify);
    ASSERT_TRUE(view);
    EXPECT_EQ(view->record_count(), 1);
  }
  EXPECT_EQ(again.stop().code, 0) << again.log();
}

// CreateTopics answers KAFKA_STORAGE_ERROR for a topic none of whose
// partition directories could be made (here: a file system out of inodes),
// not success; the topic exists, and its partitions are created on first use
// once there is room again. Needs root (mount).
TEST(CreateTopicsOnDisk, ATopicWithNoPartitionDirectoryMadeIsNotASuccess) {
  SmallTmpfs disk("kb-no-inodes-", "size=8m,nr_inodes=256");
  if (!disk.unavailable().empty()) GTEST_SKIP() << disk.unavailable();
  const fs::path mnt = disk.path();

  BrokerProcess broker(std::map<std::string, std::string>{{"auto.create.topics.enable", "false"}},
                       mnt / "data");
  Client client(broker.port());
  client.create_topic("first", 1);  // the metadata log exists from here on
  // Every inode left taken.
  std::vector<fs::path> fillers;
  for (int i = 0; i < 10000; ++i) {
    const fs::path filler = mnt / ("filler-" + std::to_string(i));
    const int fd = ::open(filler.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) break;
    ::close(fd);
    fillers.push_back(filler);
  }
  ASSERT_FALSE(fillers.empty());

  TypedClient admin(broker.port());
  CreateTopicsRequest request;
  auto& t = request.topics.emplace_back();
  t.name = "blocked";
  t.num_partitions = 3;
  t.replication_factor = -1;
  request.timeout_ms = 60000;
  auto r = admin.call<CreateTopicsResponse>(request, 7);
  ASSERT_EQ(r.topics.size(), 1u);
  EXPECT_EQ(r.topics[0].name, "blocked");
  EXPECT_EQ(r.topics[0].error_code, 56) << "KAFKA_STORAGE_ERROR\n" << broker.log();
  EXPECT_TRUE(r.topics[0].error_message.has_value());
  EXPECT_TRUE(client.api_versions_answered());

  for (const auto& filler : fillers) fs::remove(filler);
  EXPECT_EQ(client.produce("blocked", {0}, record_batch("after"))[0].first, 0) << broker.log();
  EXPECT_EQ(client.read_all("blocked", 0).size(), 1u);
  EXPECT_EQ(broker.stop().code, 0) << broker.log();
}

// The broker's own clean-shutdown marker is no unknown entry: a start after a
// clean stop finds it without a warning.
TEST(CleanShutdownMarker, ARestartAfterACleanStopDoesNotWarnAboutIt) {
  const fs::path root = make_temp_dir("kb-marker-");
  const fs::path data = root / "data";
  {
    BrokerProcess broker({}, data);
    Client client(broker.port());
    client.create_topic("t", 1);
    ASSERT_EQ(client.produce("t", {0}, record_batch("v"))[0].first, 0);
    ASSERT_EQ(broker.stop().code, 0) << broker.log();
  }
  ASSERT_TRUE(fs::exists(data / storage::kCleanShutdownFile));
  {
    BrokerProcess broker({}, data);
    ASSERT_FALSE(broker.wait_for_log(std::regex("clean shutdown marker found")).empty())
        << broker.log();
    const std::string log = broker.log();
    EXPECT_EQ(log.find(std::string(storage::kCleanShutdownFile)), std::string::npos) << log;
    EXPECT_EQ(log.find("skipping unknown entry"), std::string::npos) << log;
  }
  std::error_code ec;
  fs::remove_all(root, ec);
}

}  // namespace
}  // namespace kb::testing
