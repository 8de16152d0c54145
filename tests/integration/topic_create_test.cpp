// Creating a topic of many partitions against the real broker binary: the
// partition directories are made off the event loop, so other clients are
// answered while they are; CreateTopics and CreatePartitions answer once the
// directories exist, the new partitions take writes at once, and everything
// is there again after a restart, also when directories went missing.

#include <poll.h>

#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <filesystem>
#include <string>
#include <thread>

#include "kb/protocol/error_code.hpp"
#include "kb/protocol/messages/api_versions.hpp"
#include "kb/protocol/messages/create_partitions.hpp"
#include "kb/protocol/messages/create_topics.hpp"
#include "kb/protocol/messages/fetch.hpp"
#include "kb/protocol/messages/metadata.hpp"
#include "kb/protocol/messages/produce.hpp"
#include "kb/storage/partition_log.hpp"
#include "kb/storage/record_batch.hpp"
#include "support/broker_process.hpp"
#include "support/kafka_client.hpp"

namespace kb::testing {
namespace {

using namespace protocol;
namespace fs = std::filesystem;

constexpr int32_t kPartitions = 500;
constexpr auto kBound = std::chrono::seconds(60);

CreateTopicsRequest create_request(std::string_view name, int32_t partitions) {
  CreateTopicsRequest request;
  auto& t = request.topics.emplace_back();
  t.name = name;
  t.num_partitions = partitions;
  t.replication_factor = -1;
  request.timeout_ms = 60000;
  return request;
}

bool readable(const RawClient& client) {
  pollfd p{client.fd(), POLLIN, 0};
  return ::poll(&p, 1, 0) == 1;
}

// A partition directory as a new replica has it.
bool complete_partition_dir(const fs::path& log_dir, std::string_view topic, int32_t partition) {
  const fs::path dir = log_dir / storage::partition_dir_name(topic, partition);
  return fs::exists(dir / storage::kPartitionMetadataFile) &&
         fs::exists(dir / storage::segment_file_name(0, ".log"));
}

size_t complete_partition_dirs(const fs::path& log_dir, std::string_view topic) {
  size_t n = 0;
  for (int32_t p = 0; p < kPartitions; ++p) n += complete_partition_dir(log_dir, topic, p) ? 1 : 0;
  return n;
}

std::vector<uint8_t> one_record_batch(const std::string& value) {
  storage::RecordBatchBuilder builder;
  builder.add_record(std::nullopt,
                     storage::Bytes(reinterpret_cast<const uint8_t*>(value.data()), value.size()),
                     1700000000000);
  return builder.build();
}

// Produces one record (acks=-1) to the partition; returns its offset.
int64_t produce_one(RawClient& client, std::string_view topic, int32_t partition,
                    const std::string& value) {
  const std::vector<uint8_t> batch = one_record_batch(value);
  ProduceRequest request;
  request.acks = -1;
  request.timeout_ms = 10000;
  auto& t = request.topic_data.emplace_back();
  t.name = topic;
  t.partition_data.push_back({partition, storage::Bytes(batch)});
  std::vector<uint8_t> body;
  auto response = call<ProduceResponse>(client, request, 11, body);
  const auto& p = response.responses.at(0).partition_responses.at(0);
  EXPECT_EQ(p.error_code, 0);
  return p.base_offset;
}

// The partition's high watermark and whether its records hold `value`.
std::pair<int64_t, bool> fetch_all(RawClient& client, std::string_view topic, int32_t partition,
                                   const std::string& value) {
  FetchRequest request;
  request.max_wait_ms = 0;
  request.min_bytes = 0;
  request.max_bytes = 1 << 20;
  auto& t = request.topics.emplace_back();
  t.topic = topic;
  auto& p = t.partitions.emplace_back();
  p.partition = partition;
  p.fetch_offset = 0;
  p.partition_max_bytes = 1 << 20;
  std::vector<uint8_t> body;
  auto response = call<FetchResponse>(client, request, 12, body);
  const auto& answer = response.responses.at(0).partitions.at(0);
  EXPECT_EQ(answer.error_code, 0);
  bool found = false;
  if (answer.records) {
    const std::string bytes(answer.records->begin(), answer.records->end());
    found = bytes.find(value) != std::string::npos;
  }
  return {answer.high_watermark, found};
}

size_t partition_count(RawClient& client, std::string_view topic) {
  MetadataRequest request;
  request.topics.emplace();
  request.topics->push_back({wire::Uuid{}, topic});
  std::vector<uint8_t> body;
  auto response = call<MetadataResponse>(client, request, 12, body);
  return response.topics.at(0).partitions.size();
}

TEST(TopicCreateIntegration, OtherClientsAreAnsweredWhileManyPartitionsAreCreated) {
  BrokerProcess broker;
  const fs::path log_dir = broker.log_dir();
  RawClient admin(broker.port(), kBound);
  RawClient other(broker.port(), kBound);

  const int32_t create_id = 7;
  admin.send_bytes(encode_request(create_request("many", kPartitions), 7, create_id));
  // The creation has begun once its first directory appears: from then on a
  // broker that made them on its loop would answer nothing else until the
  // CreateTopics answer is out.
  const auto deadline = std::chrono::steady_clock::now() + kBound;
  while (!fs::exists(log_dir / "many-0") && !readable(admin) &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));

  // ApiVersions, one after another, until the CreateTopics answer is there.
  size_t answered_during_creation = 0;
  size_t answered = 0;
  while (!readable(admin) && std::chrono::steady_clock::now() < deadline) {
    ApiVersionsRequest ping;
    ping.client_software_name = "kb-test";
    ping.client_software_version = "1";
    std::vector<uint8_t> body;
    auto versions = call<ApiVersionsResponse>(other, ping, 3, body);
    ASSERT_EQ(versions.error_code, 0);
    ++answered;
    if (!readable(admin)) ++answered_during_creation;
  }
  EXPECT_GE(answered_during_creation, 1u) << "of " << answered << " ApiVersions answers";

  auto frame = admin.read_frame();
  ASSERT_TRUE(frame);
  ResponseFrame r = split_response(*frame, true);
  EXPECT_EQ(r.correlation_id, create_id);
  auto created = decode_response<CreateTopicsResponse>(r.body, 7);
  ASSERT_EQ(created.topics.at(0).error_code, 0);
  EXPECT_EQ(created.topics.at(0).num_partitions, kPartitions);
  // Answered once every directory exists.
  EXPECT_EQ(complete_partition_dirs(log_dir, "many"), static_cast<size_t>(kPartitions));

  // The last partition takes a write at once and serves it.
  EXPECT_EQ(produce_one(admin, "many", kPartitions - 1, "last-partition"), 0);
  auto [high_watermark, found] = fetch_all(other, "many", kPartitions - 1, "last-partition");
  EXPECT_EQ(high_watermark, 1);
  EXPECT_TRUE(found);

  // Growing it the same way: answered once the new directories exist.
  CreatePartitionsRequest grow;
  auto& t = grow.topics.emplace_back();
  t.name = "many";
  t.count = kPartitions + 100;
  grow.timeout_ms = 60000;
  std::vector<uint8_t> body;
  auto grown = call<CreatePartitionsResponse>(admin, grow, 3, body);
  ASSERT_EQ(grown.results.at(0).error_code, 0);
  EXPECT_TRUE(complete_partition_dir(log_dir, "many", kPartitions + 99));
  EXPECT_EQ(produce_one(other, "many", kPartitions + 99, "grown"), 0);
  EXPECT_EQ(partition_count(other, "many"), static_cast<size_t>(kPartitions + 100));
}

TEST(TopicCreateIntegration, PartitionsComeBackAfterARestartAndMissingDirectoriesAreCreated) {
  const fs::path root = make_temp_dir("kb-topic-create-");
  const fs::path log_dir = root / "data";
  {
    BrokerProcess broker({}, log_dir);
    RawClient client(broker.port(), kBound);
    std::vector<uint8_t> body;
    auto created = call<CreateTopicsResponse>(client, create_request("many", kPartitions), 7, body);
    ASSERT_EQ(created.topics.at(0).error_code, 0);
    EXPECT_EQ(produce_one(client, "many", kPartitions - 1, "before-restart"), 0);
    ASSERT_EQ(broker.stop().code, 0);
  }
  // What a crash in the middle of a creation leaves: directories not made
  // yet, one without partition.metadata and segment files, and one with only
  // the temporary partition.metadata.
  fs::remove_all(log_dir / "many-10");
  fs::remove_all(log_dir / "many-11");
  fs::remove(log_dir / "many-12" / storage::kPartitionMetadataFile);
  fs::remove(log_dir / "many-12" / storage::segment_file_name(0, ".log"));
  fs::remove(log_dir / "many-12" / storage::segment_file_name(0, ".index"));
  fs::remove(log_dir / "many-12" / storage::segment_file_name(0, ".timeindex"));
  fs::rename(log_dir / "many-13" / storage::kPartitionMetadataFile,
             log_dir / "many-13" / "partition.metadata.tmp");
  {
    BrokerProcess broker({}, log_dir);
    RawClient client(broker.port(), kBound);
    EXPECT_EQ(partition_count(client, "many"), static_cast<size_t>(kPartitions));
    auto [high_watermark, found] = fetch_all(client, "many", kPartitions - 1, "before-restart");
    EXPECT_EQ(high_watermark, 1);
    EXPECT_TRUE(found);
    // The missing directories are created in the background; a partition
    // still waiting for its directory reads as empty and takes writes.
    EXPECT_EQ(produce_one(client, "many", 11, "after-restart"), 0);
    EXPECT_TRUE(fetch_all(client, "many", 11, "after-restart").second);
    const auto deadline = std::chrono::steady_clock::now() + kBound;
    while (complete_partition_dirs(log_dir, "many") < static_cast<size_t>(kPartitions) &&
           std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_EQ(complete_partition_dirs(log_dir, "many"), static_cast<size_t>(kPartitions));
    EXPECT_EQ(produce_one(client, "many", 10, "x"), 0);
    EXPECT_EQ(produce_one(client, "many", 12, "y"), 0);
    EXPECT_EQ(produce_one(client, "many", 13, "z"), 0);
    ASSERT_EQ(broker.stop().code, 0);
  }
  fs::remove_all(root);
}

}  // namespace
}  // namespace kb::testing
