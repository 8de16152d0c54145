// The log handlers against real partition logs: ListOffsets by time inside
// compressed batches, OffsetForLeaderEpoch, DeleteRecords, DescribeLogDirs,
// DescribeProducers; and the single-node answers of ElectLeaders and the
// partition reassignment APIs.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "kb/handlers/fetch.hpp"
#include "kb/handlers/list_offsets.hpp"
#include "kb/handlers/log_admin.hpp"
#include "kb/handlers/partition_admin.hpp"
#include "kb/protocol/error_code.hpp"
#include "kb/storage/record_batch.hpp"

namespace kb::handlers {
namespace {

using protocol::ErrorCode;
using protocol::to_wire;

constexpr int64_t kBase = 1700000000000;

wire::Uuid id_of(uint8_t n) {
  wire::Uuid u;
  u.bytes[0] = 0xab;
  u.bytes[15] = n;
  return u;
}

// Twenty records with timestamps kBase + i * 1000.
std::vector<uint8_t> twenty(storage::Compression c = storage::Compression::none,
                            int64_t producer_id = -1, int64_t base = kBase) {
  storage::RecordBatchBuilder b;
  b.set_compression(c);
  if (producer_id >= 0) b.set_producer_id(producer_id).set_producer_epoch(1).set_base_sequence(0);
  const std::string value = "some value";
  for (int i = 0; i < 20; ++i)
    b.add_record(std::nullopt,
                 storage::Bytes(reinterpret_cast<const uint8_t*>(value.data()), value.size()),
                 base + i * 1000);
  return b.build();
}

class LogAdminTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "kb-logadmin-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    add("t", 1, 2, 3);
    add("compacted", 2, 1, 0);
    state.configs[{2, "compacted"}]["cleanup.policy"] = "compact";
    storage::PartitionLogOptions options;
    options.segment_bytes = 700;  // two or three batches a segment
    state.logs = std::make_unique<cluster::PartitionLogs>(dir_, options);
  }
  void TearDown() override {
    state.logs.reset();
    std::filesystem::remove_all(dir_);
  }
  void add(const std::string& name, uint8_t id, int32_t partitions, int32_t epoch) {
    state.topics.add_topic(name, id_of(id));
    for (int32_t i = 0; i < partitions; ++i) {
      cluster::PartitionInfo p;
      p.partition_index = i;
      p.leader = 1;
      p.leader_epoch = epoch;
      p.replicas = {1};
      p.isr = {1};
      state.topics.set_partition(id_of(id), p);
    }
  }
  storage::PartitionLog& log(const std::string& topic, int32_t partition = 0) {
    auto found = state.logs->find_or_create(topic, partition, state.topics.find(topic)->id);
    EXPECT_TRUE(found.ok());
    return **found;
  }
  void append(const std::string& topic, const std::vector<uint8_t>& batch, int32_t epoch) {
    ASSERT_TRUE(log(topic).append(batch, epoch).ok());
  }

  template <class Response, class Request>
  Response run(std::optional<Response> (*handle)(RequestContext&, const Request&, int16_t),
               const Request& request, int16_t version) {
    protocol::RequestHeader header{0, version, 1, "t"};
    ApiRegistry registry;
    RequestContext ctx{header, registry, state, Clock::now(), Clock::now(), true, {}};
    auto response = handle(ctx, request, version);
    EXPECT_TRUE(response.has_value());
    return response ? *response : Response{};
  }

  protocol::ListOffsetsResponse::ListOffsetsPartitionResponse list_offsets(int64_t timestamp,
                                                                           int16_t version = 9) {
    protocol::ListOffsetsRequest r;
    r.replica_id = -1;
    r.topics.push_back({"t", {{0, -1, timestamp, 1}}});
    auto response = run(&handle_list_offsets, r, version);
    return response.topics.at(0).partitions.at(0);
  }

  protocol::OffsetForLeaderEpochResponse::EpochEndOffset epoch_end(int32_t epoch,
                                                                   int32_t current = -1,
                                                                   int32_t partition = 0) {
    protocol::OffsetForLeaderEpochRequest r;
    r.replica_id = -1;
    r.topics.push_back({"t", {{partition, current, epoch}}});
    auto response = run(&handle_offset_for_leader_epoch, r, 4);
    return response.topics.at(0).partitions.at(0);
  }

  protocol::DeleteRecordsResponse::DeleteRecordsPartitionResult delete_records(
      int64_t offset, const std::string& topic = "t", int32_t partition = 0) {
    protocol::DeleteRecordsRequest r;
    names_.push_back(topic);
    r.topics.push_back({names_.back(), {{partition, offset}}});
    r.timeout_ms = 1000;
    auto response = run(&handle_delete_records, r, 2);
    return response.topics.at(0).partitions.at(0);
  }

  cluster::BrokerState state;
  std::filesystem::path dir_;
  std::deque<std::string> names_;
};

TEST_F(LogAdminTest, ListOffsetsByTimeFindsTheRecordInsideEachCodecsBatch) {
  for (auto codec : {storage::Compression::gzip, storage::Compression::snappy,
                     storage::Compression::lz4, storage::Compression::zstd}) {
    SCOPED_TRACE(static_cast<int>(codec));
    state.logs = std::make_unique<cluster::PartitionLogs>(dir_, storage::PartitionLogOptions{});
    std::filesystem::remove_all(dir_ / "t-0");
    append("t", twenty(codec), 3);
    const std::pair<int64_t, int64_t> cases[] = {
        {kBase, 0}, {kBase + 500, 1}, {kBase + 5000, 5}, {kBase + 19000, 19}, {kBase + 19001, -1}};
    for (auto [ts, offset] : cases) {
      auto p = list_offsets(ts);
      EXPECT_EQ(p.error_code, 0);
      EXPECT_EQ(p.offset, offset) << ts;
      // The found record's timestamp and its batch's epoch; -1 when none.
      EXPECT_EQ(p.timestamp, offset < 0 ? -1 : kBase + offset * 1000);
      EXPECT_EQ(p.leader_epoch, offset < 0 ? -1 : 3);
    }
    auto v0 = list_offsets(kBase + 5000, 0);
    EXPECT_EQ(v0.old_style_offsets, std::vector<int64_t>{5});
  }
}

TEST_F(LogAdminTest, ListOffsetsAsKafkaRefusesAndFindsTheMaxTimestamp) {
  // The largest timestamp in the middle of a compressed batch: its record.
  storage::RecordBatchBuilder b;
  b.set_compression(storage::Compression::snappy);
  for (int64_t ts : {kBase, kBase + 90000, kBase + 2000})
    b.add_record(std::nullopt, std::nullopt, ts);
  append("t", twenty(), 2);
  append("t", b.build(), 3);
  auto max = list_offsets(-3, 7);
  EXPECT_EQ(max.error_code, 0);
  EXPECT_EQ(max.offset, 21);
  EXPECT_EQ(max.timestamp, kBase + 90000);
  EXPECT_EQ(max.leader_epoch, 3);

  // Special timestamps before the version that brought them, or unknown ones.
  EXPECT_EQ(list_offsets(-3, 6).error_code, to_wire(ErrorCode::kUnsupportedVersion));
  EXPECT_EQ(list_offsets(-4, 7).error_code, to_wire(ErrorCode::kUnsupportedVersion));
  EXPECT_EQ(list_offsets(-6, 10).error_code, to_wire(ErrorCode::kUnsupportedVersion));
  EXPECT_EQ(list_offsets(-7, 11).error_code, to_wire(ErrorCode::kUnsupportedVersion));
  auto tiered = list_offsets(-5, 9);  // no tiered storage
  EXPECT_EQ(tiered.error_code, 0);
  EXPECT_EQ(tiered.offset, -1);
  // v11's earliest offset pending upload (KIP-1023): without tiered storage,
  // Kafka answers -1, -1, -1 as for -5.
  auto pending = list_offsets(-6, 11);
  EXPECT_EQ(pending.error_code, 0);
  EXPECT_EQ(pending.offset, -1);
  EXPECT_EQ(pending.timestamp, -1);
  EXPECT_EQ(pending.leader_epoch, -1);
  auto earliest = list_offsets(-2, 9);
  EXPECT_EQ(earliest.offset, 0);
  EXPECT_EQ(earliest.leader_epoch, 2);  // the epoch of the log start offset
  auto latest = list_offsets(-1, 9);
  EXPECT_EQ(latest.offset, 23);
  EXPECT_EQ(latest.leader_epoch, 3);

  // A partition named twice: INVALID_REQUEST each time.
  protocol::ListOffsetsRequest twice;
  twice.replica_id = -1;
  twice.topics.push_back({"t", {{0, -1, kBase, 1}, {1, -1, -1, 1}, {0, -1, -1, 1}}});
  auto r = run(&handle_list_offsets, twice, 9);
  const auto& parts = r.topics.at(0).partitions;
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0].error_code, to_wire(ErrorCode::kInvalidRequest));
  EXPECT_EQ(parts[1].error_code, 0);
  EXPECT_EQ(parts[2].error_code, to_wire(ErrorCode::kInvalidRequest));

  // current_leader_epoch: older is fenced, newer unknown.
  protocol::ListOffsetsRequest fenced;
  fenced.topics.push_back({"t", {{0, 2, -1, 1}}});
  EXPECT_EQ(run(&handle_list_offsets, fenced, 9).topics.at(0).partitions.at(0).error_code,
            to_wire(ErrorCode::kFencedLeaderEpoch));
  fenced.topics[0].partitions[0].current_leader_epoch = 4;
  EXPECT_EQ(run(&handle_list_offsets, fenced, 9).topics.at(0).partitions.at(0).error_code,
            to_wire(ErrorCode::kUnknownLeaderEpoch));
}

TEST_F(LogAdminTest, OffsetForLeaderEpochAnswersFromTheBatchesEpochs) {
  append("t", twenty(), 0);  // offsets 0-19
  append("t", twenty(), 2);  // 20-39; the partition's epoch is 3
  auto current = epoch_end(3);
  EXPECT_EQ(current.error_code, 0);
  EXPECT_EQ(current.leader_epoch, 3);
  EXPECT_EQ(current.end_offset, 40);  // the latest epoch ends at the log end
  auto two = epoch_end(2);
  EXPECT_EQ(two.leader_epoch, 2);
  EXPECT_EQ(two.end_offset, 40);  // epoch 3 began where the log ended
  auto one = epoch_end(1);        // never used: the epoch before it, ending at 20
  EXPECT_EQ(one.leader_epoch, 0);
  EXPECT_EQ(one.end_offset, 20);
  EXPECT_EQ(epoch_end(0).end_offset, 20);
  auto undefined = epoch_end(-1);
  EXPECT_EQ(undefined.error_code, 0);
  EXPECT_EQ(undefined.leader_epoch, -1);
  EXPECT_EQ(undefined.end_offset, -1);
  auto future = epoch_end(7);
  EXPECT_EQ(future.leader_epoch, -1);
  EXPECT_EQ(future.end_offset, -1);

  EXPECT_EQ(epoch_end(3, 3).error_code, 0);
  EXPECT_EQ(epoch_end(3, 2).error_code, to_wire(ErrorCode::kFencedLeaderEpoch));
  EXPECT_EQ(epoch_end(3, 4).error_code, to_wire(ErrorCode::kUnknownLeaderEpoch));
  EXPECT_EQ(epoch_end(3, -1, 9).error_code, to_wire(ErrorCode::kUnknownTopicOrPartition));

  // A partition without data: the current epoch, at 0.
  auto empty = epoch_end(3, -1, 1);
  EXPECT_EQ(empty.leader_epoch, 3);
  EXPECT_EQ(empty.end_offset, 0);

  // Records deleted below 30: epoch 0 is gone, epoch 2 starts at 30.
  ASSERT_EQ(delete_records(30).error_code, 0);
  auto gone = epoch_end(0);
  EXPECT_EQ(gone.leader_epoch, 0);
  EXPECT_EQ(gone.end_offset, 30);
}

TEST_F(LogAdminTest, DeleteRecordsMovesTheLogStartOffset) {
  for (int i = 0; i < 5; ++i) append("t", twenty(), 3);  // 0-99
  storage::PartitionLog& l = log("t");
  const size_t segments = l.segment_count();
  ASSERT_GE(segments, 2u);

  auto r = delete_records(45);
  EXPECT_EQ(r.error_code, 0);
  EXPECT_EQ(r.low_watermark, 45);
  EXPECT_EQ(l.log_start_offset(), 45);
  EXPECT_LT(l.segment_count(), segments);  // segments wholly below went

  // Below the current start: nothing moves.
  r = delete_records(10);
  EXPECT_EQ(r.error_code, 0);
  EXPECT_EQ(r.low_watermark, 45);

  // ListOffsets earliest and Fetch see it.
  EXPECT_EQ(list_offsets(-2).offset, 45);
  EXPECT_EQ(list_offsets(kBase).offset, 45);  // by time: never below the start
  protocol::FetchRequest fetch;
  fetch.max_bytes = 1 << 20;
  auto& fetched_topic = fetch.topics.emplace_back();
  fetched_topic.topic = "t";
  auto& fetched_partition = fetched_topic.partitions.emplace_back();
  fetched_partition.fetch_offset = 44;
  fetched_partition.partition_max_bytes = 1 << 20;
  auto fetched = run(&handle_fetch, fetch, 12);
  EXPECT_EQ(fetched.responses.at(0).partitions.at(0).error_code,
            to_wire(ErrorCode::kOffsetOutOfRange));

  // Past the high watermark, or negative other than -1: refused.
  r = delete_records(101);
  EXPECT_EQ(r.error_code, to_wire(ErrorCode::kOffsetOutOfRange));
  EXPECT_EQ(r.low_watermark, -1);
  EXPECT_EQ(delete_records(-2).error_code, to_wire(ErrorCode::kOffsetOutOfRange));
  // -1: up to the high watermark.
  r = delete_records(-1);
  EXPECT_EQ(r.error_code, 0);
  EXPECT_EQ(r.low_watermark, 100);

  // The checkpoint keeps it for the next start.
  auto starts = state.logs->log_start_offsets();
  EXPECT_EQ(starts.at({"t", 0}), 100);
  state.logs = std::make_unique<cluster::PartitionLogs>(dir_, storage::PartitionLogOptions{});
  state.logs->set_log_start_offsets(starts);
  EXPECT_EQ(log("t").log_start_offset(), 100);
}

TEST_F(LogAdminTest, DeleteRecordsRefusals) {
  append("compacted", twenty(), 0);
  EXPECT_EQ(delete_records(5, "compacted").error_code, to_wire(ErrorCode::kPolicyViolation));
  EXPECT_EQ(delete_records(0, "nope").error_code, to_wire(ErrorCode::kUnknownTopicOrPartition));
  EXPECT_EQ(delete_records(0, "t", 5).error_code, to_wire(ErrorCode::kUnknownTopicOrPartition));
  // A partition without data yet: only 0 (or -1) is in range.
  auto empty = delete_records(-1, "t", 1);
  EXPECT_EQ(empty.error_code, 0);
  EXPECT_EQ(empty.low_watermark, 0);
  EXPECT_EQ(delete_records(1, "t", 1).error_code, to_wire(ErrorCode::kOffsetOutOfRange));
}

TEST_F(LogAdminTest, DescribeLogDirsListsPartitionsWithTheirSizes) {
  append("t", twenty(), 3);
  append("compacted", twenty(), 0);
  protocol::DescribeLogDirsRequest all;
  auto r = run(&handle_describe_log_dirs, all, 5);
  ASSERT_EQ(r.results.size(), 1u);
  const auto& dir = r.results[0];
  EXPECT_EQ(dir.error_code, 0);
  EXPECT_FALSE(dir.is_cordoned);  // v5: below metadata.version 4.3-IV0, as Kafka
  EXPECT_EQ(dir.log_dir, std::filesystem::absolute(dir_).string());
  EXPECT_GT(dir.total_bytes, 0);
  EXPECT_GE(dir.usable_bytes, 0);
  EXPECT_LE(dir.usable_bytes, dir.total_bytes);
  ASSERT_EQ(dir.topics.size(), 2u);  // t-1 has no directory: not listed
  EXPECT_EQ(dir.topics[0].name, "compacted");
  ASSERT_EQ(dir.topics[1].partitions.size(), 1u);
  EXPECT_EQ(dir.topics[1].partitions[0].partition_size,
            static_cast<int64_t>(log("t").size_bytes()));

  // Logs not open are measured by their files.
  state.logs = std::make_unique<cluster::PartitionLogs>(dir_, storage::PartitionLogOptions{});
  protocol::DescribeLogDirsRequest some;
  some.topics.emplace();
  some.topics->push_back({"t", {0, 1}});
  some.topics->push_back({"nope", {0}});
  r = run(&handle_describe_log_dirs, some, 1);
  ASSERT_EQ(r.results.at(0).topics.size(), 1u);
  EXPECT_EQ(r.results[0].topics[0].partitions.at(0).partition_size,
            static_cast<int64_t>(twenty().size()));
}

// As Kafka takes them, the partitions asked for are a set: a topic or
// partition named again is described once, however often it is named.
TEST_F(LogAdminTest, DescribeLogDirsDescribesARepeatedPartitionOnce) {
  append("t", twenty(), 3);
  append("compacted", twenty(), 0);
  protocol::DescribeLogDirsRequest repeated;
  repeated.topics.emplace();
  for (int i = 0; i < 5000; ++i) repeated.topics->push_back({"t", {0, 0}});
  repeated.topics->push_back({"compacted", {0}});
  repeated.topics->push_back({"t", {1}});
  repeated.topics->push_back({"compacted", {0}});
  auto r = run(&handle_describe_log_dirs, repeated, 1);
  ASSERT_EQ(r.results.size(), 1u);
  const auto& topics = r.results[0].topics;
  ASSERT_EQ(topics.size(), 2u);
  EXPECT_EQ(topics[0].name, "t");
  ASSERT_EQ(topics[0].partitions.size(), 1u);  // t-1 has no directory
  EXPECT_EQ(topics[0].partitions[0].partition_index, 0);
  EXPECT_EQ(topics[0].partitions[0].partition_size, static_cast<int64_t>(log("t").size_bytes()));
  EXPECT_EQ(topics[1].name, "compacted");
  EXPECT_EQ(topics[1].partitions.size(), 1u);
}

TEST_F(LogAdminTest, DescribeProducersShowsTheIdempotentProducers) {
  // Stamped now: a producer silent for a day (producer.id.expiration.ms) is
  // forgotten.
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  append("t", twenty(storage::Compression::none, 7, now), 3);
  protocol::DescribeProducersRequest r;
  r.topics.push_back({"t", {0, 1, 4}});
  auto response = run(&handle_describe_producers, r, 0);
  const auto& parts = response.topics.at(0).partitions;
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0].error_code, 0);
  ASSERT_EQ(parts[0].active_producers.size(), 1u);
  const auto& p = parts[0].active_producers[0];
  EXPECT_EQ(p.producer_id, 7);
  EXPECT_EQ(p.producer_epoch, 1);
  EXPECT_EQ(p.last_sequence, 19);
  EXPECT_EQ(p.last_timestamp, now + 19000);
  EXPECT_EQ(p.coordinator_epoch, -1);
  EXPECT_EQ(p.current_txn_start_offset, -1);
  EXPECT_EQ(parts[1].error_code, 0);  // no data yet
  EXPECT_TRUE(parts[1].active_producers.empty());
  EXPECT_EQ(parts[2].error_code, to_wire(ErrorCode::kUnknownTopicOrPartition));
}

TEST_F(LogAdminTest, ElectLeadersAsASingleNode) {
  protocol::ElectLeadersRequest r;
  r.topic_partitions.emplace();
  r.topic_partitions->push_back({"t", {0, 1, 7}});
  r.topic_partitions->push_back({"nope", {0}});
  for (int8_t type : {int8_t{0}, int8_t{1}}) {
    r.election_type = type;
    auto response = run(&handle_elect_leaders, r, 2);
    EXPECT_EQ(response.error_code, 0);
    ASSERT_EQ(response.replica_election_results.size(), 2u);
    const auto& t = response.replica_election_results[0].partition_result;
    ASSERT_EQ(t.size(), 3u);
    EXPECT_EQ(t[0].error_code, to_wire(ErrorCode::kElectionNotNeeded));
    EXPECT_EQ(t[0].error_message, "Leader election not needed for topic partition.");
    EXPECT_EQ(t[1].error_code, to_wire(ErrorCode::kElectionNotNeeded));
    EXPECT_EQ(t[2].error_code, to_wire(ErrorCode::kUnknownTopicOrPartition));
    EXPECT_EQ(t[2].error_message, "No such partition as t-7");
    const auto& nope = response.replica_election_results[1].partition_result;
    EXPECT_EQ(nope.at(0).error_message, "No such topic as nope");
  }
  // Every partition: those needing no election are left out.
  r.topic_partitions.reset();
  r.election_type = 0;
  auto all = run(&handle_elect_leaders, r, 1);
  ASSERT_EQ(all.replica_election_results.size(), 2u);
  for (const auto& t : all.replica_election_results) EXPECT_TRUE(t.partition_result.empty());
  // An unknown election type refuses the request.
  r.topic_partitions.emplace();
  r.topic_partitions->push_back({"t", {0}});
  r.election_type = 2;
  auto bad = run(&handle_elect_leaders, r, 1);
  EXPECT_EQ(bad.error_code, to_wire(ErrorCode::kInvalidRequest));
  EXPECT_EQ(bad.replica_election_results.at(0).partition_result.at(0).error_message,
            "Unknown election type 2");
}

TEST_F(LogAdminTest, PartitionReassignmentsAsASingleNode) {
  protocol::AlterPartitionReassignmentsRequest r;
  r.topics.push_back({"t",
                      {{0, std::vector<int32_t>{1}},
                       {1, std::vector<int32_t>{2}},
                       {0, std::vector<int32_t>{1, 1}},
                       {0, std::vector<int32_t>{}},
                       {0, std::nullopt},
                       {5, std::vector<int32_t>{1}}}});
  r.topics.push_back({"nope", {{0, std::vector<int32_t>{1}}}});
  auto response = run(&handle_alter_partition_reassignments, r, 0);
  EXPECT_EQ(response.error_code, 0);
  const auto& p = response.responses.at(0).partitions;
  ASSERT_EQ(p.size(), 6u);
  EXPECT_EQ(p[0].error_code, 0);  // to itself: done
  EXPECT_FALSE(p[0].error_message.has_value());
  EXPECT_EQ(p[1].error_code, to_wire(ErrorCode::kInvalidReplicaAssignment));
  EXPECT_EQ(p[1].error_message,
            "The manual partition assignment includes broker 2, but no such broker is "
            "registered.");
  EXPECT_EQ(p[2].error_message,
            "The manual partition assignment includes the broker 1 more than once.");
  EXPECT_EQ(p[3].error_message, "The manual partition assignment includes an empty replica list.");
  EXPECT_EQ(p[4].error_code, to_wire(ErrorCode::kNoReassignmentInProgress));
  EXPECT_EQ(p[5].error_code, to_wire(ErrorCode::kUnknownTopicOrPartition));
  EXPECT_EQ(response.responses.at(1).partitions.at(0).error_message,
            "Unable to find a topic named nope.");

  // v1 with allow_replication_factor_change false: a valid target that keeps
  // the replication factor goes on as before; one that changes it is
  // INVALID_REPLICATION_FACTOR; the flag is echoed.
  add("wide", 3, 1, 0);
  state.topics.mutable_partition(id_of(3), 0)->replicas = {1, 2, 3};
  protocol::AlterPartitionReassignmentsRequest fixed;
  fixed.allow_replication_factor_change = false;
  fixed.topics.push_back({"t", {{0, std::vector<int32_t>{1}}, {1, std::vector<int32_t>{2}}}});
  fixed.topics.push_back({"wide", {{0, std::vector<int32_t>{1}}}});
  auto v1 = run(&handle_alter_partition_reassignments, fixed, 1);
  EXPECT_FALSE(v1.allow_replication_factor_change);
  EXPECT_EQ(v1.responses.at(0).partitions.at(0).error_code, 0);
  EXPECT_EQ(v1.responses.at(0).partitions.at(1).error_code,
            to_wire(ErrorCode::kInvalidReplicaAssignment));  // checked first
  EXPECT_EQ(v1.responses.at(1).partitions.at(0).error_code,
            to_wire(ErrorCode::kInvalidReplicationFactor));
  EXPECT_EQ(v1.responses.at(1).partitions.at(0).error_message,
            "The replication factor is changed from 3 to 1");
  fixed.allow_replication_factor_change = true;
  auto allowed = run(&handle_alter_partition_reassignments, fixed, 1);
  EXPECT_TRUE(allowed.allow_replication_factor_change);
  EXPECT_EQ(allowed.responses.at(1).partitions.at(0).error_code,
            to_wire(ErrorCode::kInvalidReplicaAssignment));

  protocol::ListPartitionReassignmentsRequest list;
  auto listed = run(&handle_list_partition_reassignments, list, 0);
  EXPECT_EQ(listed.error_code, 0);
  EXPECT_TRUE(listed.topics.empty());
  list.topics.emplace();
  list.topics->push_back({"t", {0, 1}});
  listed = run(&handle_list_partition_reassignments, list, 0);
  EXPECT_TRUE(listed.topics.empty());
}

}  // namespace
}  // namespace kb::handlers
