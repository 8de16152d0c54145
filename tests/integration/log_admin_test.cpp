// The log APIs Kafka's tools and clients call, against the real broker binary
// over the raw protocol: ListOffsets by time inside compressed batches,
// OffsetForLeaderEpoch, DeleteRecords (kept across a restart),
// DescribeLogDirs, DescribeProducers, ElectLeaders and the partition
// reassignment APIs, each in ApiVersions.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <string>
#include <vector>

#include "kb/protocol/error_code.hpp"
#include "kb/protocol/messages/api_versions.hpp"
#include "kb/protocol/messages/create_topics.hpp"
#include "kb/protocol/messages/delete_records.hpp"
#include "kb/protocol/messages/describe_log_dirs.hpp"
#include "kb/protocol/messages/describe_producers.hpp"
#include "kb/protocol/messages/elect_leaders.hpp"
#include "kb/protocol/messages/fetch.hpp"
#include "kb/protocol/messages/list_offsets.hpp"
#include "kb/protocol/messages/offset_for_leader_epoch.hpp"
#include "kb/protocol/messages/partition_reassignments.hpp"
#include "kb/protocol/messages/produce.hpp"
#include "kb/storage/record_batch.hpp"
#include "support/broker_process.hpp"
#include "support/kafka_client.hpp"

namespace kb::testing {
namespace {

using namespace protocol;

constexpr int64_t kBase = 1700000000000;
constexpr storage::Compression kCodecs[] = {storage::Compression::gzip,
                                            storage::Compression::snappy, storage::Compression::lz4,
                                            storage::Compression::zstd};

template <class Response, class Request>
Response call(RawClient& client, const Request& request, int16_t version) {
  static int32_t correlation_id = 1;
  const int32_t id = correlation_id++;
  client.send_bytes(encode_request(request, version, id));
  auto frame = client.read_frame();
  if (!frame) throw std::runtime_error("connection closed");
  // ApiVersions answers with response header v0 at every version.
  const bool flexible_header =
      version >= Response::kFirstFlexible && Response::kApiKey != ApiKey::kApiVersions;
  ResponseFrame r = split_response(*frame, flexible_header);
  EXPECT_EQ(r.correlation_id, id);
  return decode_response<Response>(r.body, version);
}

std::vector<uint8_t> twenty(storage::Compression codec, int64_t producer_id = -1,
                            int64_t base = kBase) {
  storage::RecordBatchBuilder b;
  b.set_compression(codec);
  if (producer_id >= 0) b.set_producer_id(producer_id).set_producer_epoch(0).set_base_sequence(0);
  const std::string value = "value";
  for (int i = 0; i < 20; ++i)
    b.add_record(std::nullopt,
                 storage::Bytes(reinterpret_cast<const uint8_t*>(value.data()), value.size()),
                 base + i * 1000);
  return b.build();
}

void create(RawClient& client, const std::string& name, int32_t partitions) {
  static std::deque<std::string> names;
  names.push_back(name);
  CreateTopicsRequest request;
  auto& t = request.topics.emplace_back();
  t.name = names.back();
  t.num_partitions = partitions;
  t.replication_factor = -1;
  request.timeout_ms = 5000;
  ASSERT_EQ(call<CreateTopicsResponse>(client, request, 7).topics.at(0).error_code, 0);
}

void produce(RawClient& client, int32_t partition, const std::vector<uint8_t>& batch) {
  ProduceRequest request;
  request.acks = -1;
  request.timeout_ms = 5000;
  auto& t = request.topic_data.emplace_back();
  t.name = "logs";
  t.partition_data.push_back({partition, storage::Bytes(batch)});
  auto r = call<ProduceResponse>(client, request, 9);
  ASSERT_EQ(r.responses.at(0).partition_responses.at(0).error_code, 0);
}

ListOffsetsResponse::ListOffsetsPartitionResponse list_offsets(RawClient& client, int32_t partition,
                                                               int64_t timestamp,
                                                               int16_t version = 8) {
  ListOffsetsRequest request;
  request.replica_id = -1;
  request.topics.push_back({"logs", {{partition, -1, timestamp, 1}}});
  return call<ListOffsetsResponse>(client, request, version).topics.at(0).partitions.at(0);
}

DeleteRecordsResponse::DeleteRecordsPartitionResult delete_records(RawClient& client,
                                                                   int32_t partition,
                                                                   int64_t offset,
                                                                   int16_t version) {
  DeleteRecordsRequest request;
  request.topics.push_back({"logs", {{partition, offset}}});
  request.timeout_ms = 5000;
  return call<DeleteRecordsResponse>(client, request, version).topics.at(0).partitions.at(0);
}

TEST(LogAdminIntegration, ListOffsetsByTimeInsideEachCodecsBatch) {
  BrokerProcess broker;
  RawClient client(broker.port());
  create(client, "logs", 4);
  for (int32_t p = 0; p < 4; ++p) produce(client, p, twenty(kCodecs[p]));
  for (int32_t p = 0; p < 4; ++p) {
    SCOPED_TRACE(p);
    const std::pair<int64_t, int64_t> cases[] = {
        {kBase, 0}, {kBase + 500, 1}, {kBase + 5000, 5}, {kBase + 19000, 19}, {kBase + 19001, -1}};
    for (auto [ts, offset] : cases) {
      auto r = list_offsets(client, p, ts);
      EXPECT_EQ(r.error_code, 0);
      EXPECT_EQ(r.offset, offset);
      EXPECT_EQ(r.timestamp, offset < 0 ? -1 : kBase + offset * 1000);
      EXPECT_EQ(r.leader_epoch, offset < 0 ? -1 : 0);
    }
    // v11 reads the same, and its earliest offset pending upload (-6) is
    // -1 without tiered storage, as Kafka answers; v10 may not ask for it.
    EXPECT_EQ(list_offsets(client, p, kBase + 5000, 11).offset, 5);
    auto pending = list_offsets(client, p, -6, 11);
    EXPECT_EQ(pending.error_code, 0);
    EXPECT_EQ(pending.offset, -1);
    EXPECT_EQ(pending.timestamp, -1);
    EXPECT_EQ(list_offsets(client, p, -6, 10).error_code, 35);
  }
}

TEST(LogAdminIntegration, OffsetForLeaderEpochDeleteRecordsAndTheRestart) {
  auto dir = make_temp_dir("kb-logadmin-");
  {
    BrokerProcess broker({}, dir / "data");
    RawClient client(broker.port());
    create(client, "logs", 2);
    produce(client, 0, twenty(storage::Compression::none));
    produce(client, 0, twenty(storage::Compression::lz4));

    for (int16_t version : {int16_t{0}, int16_t{2}, int16_t{4}}) {
      OffsetForLeaderEpochRequest request;
      request.replica_id = -1;
      request.topics.push_back({"logs", {{0, 0, 0}, {1, -1, 0}, {0, 1, 0}, {7, -1, 0}}});
      auto r = call<OffsetForLeaderEpochResponse>(client, request, version);
      const auto& parts = r.topics.at(0).partitions;
      ASSERT_EQ(parts.size(), 4u) << version;
      EXPECT_EQ(parts[0].error_code, 0);
      EXPECT_EQ(parts[0].end_offset, 40);
      EXPECT_EQ(parts[0].leader_epoch, version >= 1 ? 0 : -1);  // v1+
      EXPECT_EQ(parts[1].end_offset, 0);                        // no data yet
      // The current leader epoch is only sent from v2.
      EXPECT_EQ(parts[2].error_code,
                version >= 2 ? to_wire(ErrorCode::kUnknownLeaderEpoch) : int16_t{0});
      EXPECT_EQ(parts[3].error_code, to_wire(ErrorCode::kUnknownTopicOrPartition));
    }

    auto deleted = delete_records(client, 0, 25, 0);
    EXPECT_EQ(deleted.error_code, 0);
    EXPECT_EQ(deleted.low_watermark, 25);
    EXPECT_EQ(delete_records(client, 0, 41, 2).error_code, to_wire(ErrorCode::kOffsetOutOfRange));
    EXPECT_EQ(list_offsets(client, 0, -2).offset, 25);
    EXPECT_EQ(list_offsets(client, 0, kBase).offset, 25);

    FetchRequest fetch;
    fetch.max_bytes = 1 << 20;
    auto& fetched_topic = fetch.topics.emplace_back();
    fetched_topic.topic = "logs";
    auto& fetched_partition = fetched_topic.partitions.emplace_back();
    fetched_partition.fetch_offset = 24;
    fetched_partition.partition_max_bytes = 1 << 20;
    auto fetched = call<FetchResponse>(client, fetch, 12);
    EXPECT_EQ(fetched.responses.at(0).partitions.at(0).error_code,
              to_wire(ErrorCode::kOffsetOutOfRange));
    EXPECT_EQ(fetched.responses.at(0).partitions.at(0).log_start_offset, 25);
    EXPECT_EQ(broker.stop().code, 0);
  }
  {
    BrokerProcess broker({}, dir / "data");
    RawClient client(broker.port());
    EXPECT_EQ(list_offsets(client, 0, -2).offset, 25);  // from log-start-offset-checkpoint
    EXPECT_EQ(list_offsets(client, 0, -1).offset, 40);
    auto all = delete_records(client, 0, -1, 1);  // to the high watermark
    EXPECT_EQ(all.low_watermark, 40);
  }
  std::filesystem::remove_all(dir);
}

TEST(LogAdminIntegration, DescribeLogDirsProducersElectionsAndReassignments) {
  BrokerProcess broker;
  RawClient client(broker.port());
  create(client, "logs", 2);
  // An idempotent producer, stamped now (one silent for a day is forgotten).
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  produce(client, 0, twenty(storage::Compression::zstd, 0, now));

  for (int16_t version = 0; version <= 5; ++version) {
    DescribeLogDirsRequest request;
    auto r = call<DescribeLogDirsResponse>(client, request, version);
    ASSERT_EQ(r.results.size(), 1u);
    EXPECT_EQ(r.results[0].log_dir, std::filesystem::absolute(broker.log_dir()).string());
    auto logs = std::find_if(r.results[0].topics.begin(), r.results[0].topics.end(),
                             [](const auto& t) { return t.name == "logs"; });
    ASSERT_NE(logs, r.results[0].topics.end());
    ASSERT_FALSE(logs->partitions.empty());
    EXPECT_EQ(logs->partitions[0].partition_index, 0);
    EXPECT_GT(logs->partitions[0].partition_size, 61);
    if (version >= 4) {
      EXPECT_GT(r.results[0].total_bytes, 0);
      EXPECT_GE(r.results[0].usable_bytes, 0);
    }
    EXPECT_FALSE(r.results[0].is_cordoned);
  }

  DescribeProducersRequest producers;
  producers.topics.push_back({"logs", {0}});
  auto described = call<DescribeProducersResponse>(client, producers, 0);
  const auto& active = described.topics.at(0).partitions.at(0).active_producers;
  ASSERT_EQ(active.size(), 1u);
  EXPECT_EQ(active[0].producer_id, 0);
  EXPECT_EQ(active[0].last_sequence, 19);

  ElectLeadersRequest elect;
  elect.topic_partitions.emplace();
  elect.topic_partitions->push_back({"logs", {0, 1}});
  for (int16_t version = 0; version <= 2; ++version) {
    auto r = call<ElectLeadersResponse>(client, elect, version);
    for (const auto& p : r.replica_election_results.at(0).partition_result)
      EXPECT_EQ(p.error_code, to_wire(ErrorCode::kElectionNotNeeded));
  }

  AlterPartitionReassignmentsRequest alter;
  alter.topics.push_back({"logs", {{0, std::vector<int32_t>{1}}, {1, std::vector<int32_t>{2}}}});
  auto altered = call<AlterPartitionReassignmentsResponse>(client, alter, 0);
  EXPECT_EQ(altered.responses.at(0).partitions.at(0).error_code, 0);
  EXPECT_EQ(altered.responses.at(0).partitions.at(1).error_code,
            to_wire(ErrorCode::kInvalidReplicaAssignment));
  // v1 keeping the replication factor: the same answers, the flag echoed.
  alter.allow_replication_factor_change = false;
  auto kept = call<AlterPartitionReassignmentsResponse>(client, alter, 1);
  EXPECT_FALSE(kept.allow_replication_factor_change);
  EXPECT_EQ(kept.responses.at(0).partitions.at(0).error_code, 0);
  EXPECT_EQ(kept.responses.at(0).partitions.at(1).error_code,
            to_wire(ErrorCode::kInvalidReplicaAssignment));
  auto listed =
      call<ListPartitionReassignmentsResponse>(client, ListPartitionReassignmentsRequest{}, 0);
  EXPECT_EQ(listed.error_code, 0);
  EXPECT_TRUE(listed.topics.empty());

  auto versions = call<ApiVersionsResponse>(client, ApiVersionsRequest{}, 3);
  const std::tuple<int16_t, int16_t, int16_t> expected[] = {
      {21, 0, 2}, {23, 0, 4}, {35, 0, 5}, {43, 0, 2}, {45, 0, 1}, {46, 0, 0}, {61, 0, 0}};
  for (auto [key, min, max] : expected) {
    auto it = std::find_if(versions.api_keys.begin(), versions.api_keys.end(),
                           [&](const auto& k) { return k.api_key == key; });
    ASSERT_NE(it, versions.api_keys.end()) << key;
    EXPECT_EQ(it->min_version, min);
    EXPECT_EQ(it->max_version, max);
  }
}

}  // namespace
}  // namespace kb::testing
