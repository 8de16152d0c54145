// Log retention and topic config changes against the real broker: old
// segments go by size and by time (set at run time through
// IncrementalAlterConfigs), the log start offset moves for ListOffsets and
// Fetch and is checkpointed, AlterConfigs replaces a topic's set, and the
// changes survive a restart.

#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "kb/protocol/messages/alter_configs.hpp"
#include "kb/protocol/messages/create_topics.hpp"
#include "kb/protocol/messages/describe_configs.hpp"
#include "kb/protocol/messages/fetch.hpp"
#include "kb/protocol/messages/incremental_alter_configs.hpp"
#include "kb/protocol/messages/list_offsets.hpp"
#include "kb/protocol/messages/produce.hpp"
#include "kb/storage/record_batch.hpp"
#include "support/broker_process.hpp"
#include "support/kafka_client.hpp"

namespace kb::testing {
namespace {

using namespace protocol;
using Config = std::pair<std::string, std::string>;

constexpr int16_t kOffsetOutOfRange = 1;

int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A batch of one record with a `padding`-byte value (and a key, for
// compacted topics, which refuse records without one).
std::vector<uint8_t> padded_batch(size_t padding, int64_t timestamp,
                                  std::optional<std::string> key = std::nullopt) {
  storage::RecordBatchBuilder builder;
  const std::string value(padding, 'r');
  builder.add_record(key ? std::optional<storage::Bytes>(storage::Bytes(
                               reinterpret_cast<const uint8_t*>(key->data()), key->size()))
                         : std::nullopt,
                     storage::Bytes(reinterpret_cast<const uint8_t*>(value.data()), value.size()),
                     timestamp);
  return builder.build();
}

// The calls the tests make on one partition-0 topic; requests view `strings_`.
class Client {
 public:
  Client(uint16_t port, std::string topic) : client_(port), topic_(std::move(topic)) {}

  void create(const std::vector<Config>& configs) {
    CreateTopicsRequest request;
    auto& t = request.topics.emplace_back();
    t.name = topic_;
    t.num_partitions = 1;
    t.replication_factor = -1;
    for (const auto& [k, v] : configs) t.configs.push_back({keep(k), keep(v)});
    request.timeout_ms = 5000;
    auto r = client_.call<CreateTopicsResponse>(request, 7);
    ASSERT_EQ(r.topics.at(0).error_code, 0);
  }

  void produce(const std::vector<uint8_t>& batch) {
    ProduceRequest req;
    req.acks = -1;
    req.timeout_ms = 5000;
    auto& t = req.topic_data.emplace_back();
    t.name = topic_;
    t.partition_data.push_back({0, storage::Bytes(batch)});
    auto r = client_.call<ProduceResponse>(req, 9);
    ASSERT_EQ(r.responses.at(0).partition_responses.at(0).error_code, 0);
  }

  // ListOffsets v8: -2 earliest, -1 latest.
  int64_t list_offset(int64_t timestamp) {
    ListOffsetsRequest req;
    req.replica_id = -1;
    auto& t = req.topics.emplace_back();
    t.name = topic_;
    t.partitions.push_back({0, -1, timestamp, 1});
    auto r = client_.call<ListOffsetsResponse>(req, 8);
    EXPECT_EQ(r.topics.at(0).partitions.at(0).error_code, 0);
    return r.topics.at(0).partitions.at(0).offset;
  }

  struct Fetched {
    int16_t error_code = 0;
    int64_t log_start_offset = -1;
    int64_t first_offset = -1;
    size_t record_bytes = 0;
  };
  // Fetch v12 from `offset`.
  Fetched fetch(int64_t offset) {
    FetchRequest req;
    req.max_wait_ms = 0;
    req.min_bytes = 0;
    req.max_bytes = 1 << 20;
    auto& t = req.topics.emplace_back();
    t.topic = topic_;
    auto& p = t.partitions.emplace_back();
    p.partition = 0;
    p.fetch_offset = offset;
    p.partition_max_bytes = 1 << 20;
    auto r = client_.call<FetchResponse>(req, 12);
    const auto& part = r.responses.at(0).partitions.at(0);
    Fetched out;
    out.error_code = part.error_code;
    out.log_start_offset = part.log_start_offset;
    if (part.records && part.records->size() >= storage::batch_layout::kHeaderSize) {
      out.record_bytes = part.records->size();
      auto header = storage::RecordBatchHeader::parse(*part.records);
      if (header) out.first_offset = header->base_offset;
    }
    return out;
  }

  int16_t incremental_alter(const std::vector<std::pair<std::string, int8_t>>& ops,
                            const std::vector<std::optional<std::string>>& values) {
    IncrementalAlterConfigsRequest req;
    auto& r = req.resources.emplace_back();
    r.resource_type = 2;
    r.resource_name = topic_;
    for (size_t i = 0; i < ops.size(); ++i) {
      std::optional<std::string_view> value;
      if (values[i]) value = keep(*values[i]);
      r.configs.push_back({keep(ops[i].first), ops[i].second, value});
    }
    auto resp = client_.call<IncrementalAlterConfigsResponse>(req, 1);
    return resp.responses.at(0).error_code;
  }

  int16_t alter(const std::vector<Config>& configs, int16_t version = 2) {
    AlterConfigsRequest req;
    auto& r = req.resources.emplace_back();
    r.resource_type = 2;
    r.resource_name = topic_;
    for (const auto& [k, v] : configs) r.configs.push_back({keep(k), keep(v)});
    auto resp = client_.call<AlterConfigsResponse>(req, version);
    return resp.responses.at(0).error_code;
  }

  // The value and source of one config.
  std::pair<std::optional<std::string>, int8_t> describe(const std::string& name) {
    DescribeConfigsRequest req;
    req.resources.push_back({2, topic_, std::vector<std::string_view>{keep(name)}});
    auto r = client_.call<DescribeConfigsResponse>(req, 4);
    const auto& c = r.results.at(0).configs.at(0);
    return {c.value, c.config_source};
  }

  // Polls ListOffsets earliest until it is `expected` (retention ran; a pass
  // may run while records are still produced, so it may take more than one);
  // returns the last one seen.
  int64_t wait_for_start(int64_t expected, std::chrono::milliseconds bound) {
    const auto deadline = std::chrono::steady_clock::now() + bound;
    int64_t start = list_offset(-2);
    while (start != expected && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      start = list_offset(-2);
    }
    return start;
  }

 private:
  std::string_view keep(const std::string& s) { return strings_.emplace_back(s); }
  TypedClient client_;
  std::string topic_;
  std::deque<std::string> strings_;
};

size_t segment_files(const std::filesystem::path& dir) {
  size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".log") ++n;
  return n;
}

uint64_t segment_bytes(const std::filesystem::path& dir) {
  uint64_t total = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".log") total += e.file_size();
  return total;
}

TEST(Retention, BySizeDeletesOldSegmentsAndMovesTheStartOffset) {
  BrokerProcess broker(
      std::map<std::string, std::string>{{"log.retention.check.interval.ms", "100"}});
  Client client(broker.port(), "sized");
  const auto batch = padded_batch(300, wall_clock_ms());
  const auto segment = std::to_string(batch.size() * 4);  // 4 batches a segment
  const auto retention = std::to_string(batch.size() * 10);
  client.create({{"segment.bytes", segment}, {"retention.bytes", retention}});
  for (int i = 0; i < 30; ++i) client.produce(padded_batch(300, wall_clock_ms()));
  EXPECT_EQ(client.list_offset(-1), 30);

  // Segments of 4 batches: 8 segments, the last holding 2. Keeping >= 10
  // batches leaves the newest 3 segments (10 batches): offsets 20..29.
  const int64_t start = client.wait_for_start(20, std::chrono::seconds(10));
  ASSERT_EQ(start, 20);
  const auto dir = broker.log_dir() / "sized-0";
  EXPECT_EQ(segment_files(dir), 3u);
  EXPECT_EQ(segment_bytes(dir), 10 * batch.size());

  // Below the start: OFFSET_OUT_OF_RANGE with the new start; from it: data.
  auto below = client.fetch(0);
  EXPECT_EQ(below.error_code, kOffsetOutOfRange);
  auto from_start = client.fetch(start);
  EXPECT_EQ(from_start.error_code, 0);
  EXPECT_EQ(from_start.log_start_offset, 20);
  EXPECT_EQ(from_start.first_offset, 20);
  // Producing goes on; retention keeps the partition near its limit.
  for (int i = 0; i < 8; ++i) client.produce(padded_batch(300, wall_clock_ms()));
  EXPECT_EQ(client.wait_for_start(28, std::chrono::seconds(10)), 28);

  EXPECT_EQ(broker.stop().code, 0);
  EXPECT_NE(read_file(broker.log_dir() / "log-start-offset-checkpoint").find("sized 0 28\n"),
            std::string::npos);
}

TEST(Retention, RetentionMsSetAtRunTimeTakesEffectAndSurvivesRestart) {
  auto dir = make_temp_dir("kb-retention-");
  const std::map<std::string, std::string> props{{"log.retention.check.interval.ms", "100"}};
  const int64_t hour_ago = wall_clock_ms() - 3600 * 1000;
  {
    BrokerProcess broker(props, dir / "data");
    Client client(broker.port(), "timed");
    const auto batch = padded_batch(200, hour_ago);
    client.create({{"segment.bytes", std::to_string(batch.size() * 5)}});
    // An hour-old half (3 full segments), then fresh records.
    for (int i = 0; i < 15; ++i) client.produce(padded_batch(200, hour_ago + i));
    for (int i = 0; i < 7; ++i) client.produce(padded_batch(200, wall_clock_ms()));
    // The default (7 days) keeps everything.
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    EXPECT_EQ(client.list_offset(-2), 0);

    EXPECT_EQ(client.incremental_alter({{"retention.ms", 0}}, {std::string("600000")}), 0);
    EXPECT_EQ(client.describe("retention.ms"),
              std::pair(std::optional<std::string>("600000"), int8_t{1}));
    EXPECT_EQ(client.wait_for_start(15, std::chrono::seconds(10)), 15);
    EXPECT_EQ(client.fetch(14).error_code, kOffsetOutOfRange);
    EXPECT_EQ(client.fetch(15).first_offset, 15);
    EXPECT_EQ(broker.stop().code, 0);
  }
  {
    BrokerProcess broker(props, dir / "data");
    Client client(broker.port(), "timed");
    EXPECT_EQ(client.describe("retention.ms").first, "600000");
    EXPECT_EQ(client.list_offset(-2), 15);
    EXPECT_EQ(client.list_offset(-1), 22);
    EXPECT_EQ(client.fetch(0).error_code, kOffsetOutOfRange);

    // AlterConfigs replaces the whole set: retention.ms goes back to the
    // default, segment.bytes with it; retention.bytes is the only one left.
    EXPECT_EQ(client.alter({{"retention.bytes", "1000000"}}), 0);
    EXPECT_EQ(client.describe("retention.ms"),
              std::pair(std::optional<std::string>("604800000"), int8_t{5}));
    EXPECT_EQ(client.describe("segment.bytes").second, 5);
    EXPECT_EQ(client.describe("retention.bytes").first, "1000000");
    // Refusals leave the configs as they are.
    EXPECT_EQ(client.alter({{"retention.bytes", "lots"}}, 0), 40);
    EXPECT_EQ(client.incremental_alter({{"retention.msx", 0}}, {std::string("1")}), 40);
    EXPECT_EQ(client.describe("retention.bytes").first, "1000000");
    EXPECT_EQ(broker.stop().code, 0);
  }
  {
    BrokerProcess broker(props, dir / "data");
    Client client(broker.port(), "timed");
    EXPECT_EQ(client.describe("retention.bytes").first, "1000000");
    EXPECT_EQ(client.describe("retention.ms").second, 5);
  }
  std::filesystem::remove_all(dir);
}

TEST(Retention, CompactedAndUnlimitedTopicsKeepTheirSegments) {
  BrokerProcess broker({{"log.retention.check.interval.ms", "100"}, {"log.retention.ms", "-1"}});
  const int64_t old = wall_clock_ms() - 30LL * 24 * 3600 * 1000;
  const auto batch = padded_batch(100, old);
  Client unlimited(broker.port(), "forever");
  unlimited.create({{"segment.bytes", std::to_string(batch.size() * 2)}});
  Client compacted(broker.port(), "compacted");
  compacted.create({{"segment.bytes", std::to_string(batch.size() * 2)},
                    {"cleanup.policy", "compact"},
                    {"retention.ms", "1000"}});
  for (int i = 0; i < 6; ++i) {
    unlimited.produce(padded_batch(100, old + i));
    compacted.produce(padded_batch(100, old + i, "key-" + std::to_string(i)));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(unlimited.list_offset(-2), 0);
  EXPECT_EQ(compacted.list_offset(-2), 0);
  // The broker default applies once the topic has no retention.ms of its own
  // and "delete" joins the policy.
  EXPECT_EQ(compacted.incremental_alter({{"cleanup.policy", 2}}, {std::string("delete")}), 0);
  EXPECT_EQ(compacted.describe("cleanup.policy").first, "compact,delete");
  // Every segment is expired, the active one too (it goes after a roll).
  EXPECT_EQ(compacted.wait_for_start(6, std::chrono::seconds(10)), 6);
  EXPECT_EQ(unlimited.list_offset(-2), 0);
}

}  // namespace
}  // namespace kb::testing
