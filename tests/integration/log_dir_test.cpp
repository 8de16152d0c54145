// DescribeTopicPartitions and Fetch against the real broker, serving a log
// directory written the way Apache Kafka writes one. Topic names, ids and
// partition counts are random on every run (the seed is printed on failure).

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <set>

#include "kb/protocol/messages/api_versions.hpp"
#include "kb/protocol/messages/describe_topic_partitions.hpp"
#include "kb/protocol/messages/fetch.hpp"
#include "support/broker_process.hpp"
#include "support/kafka_client.hpp"
#include "support/kafka_log_dir_writer.hpp"

namespace kb::testing {
namespace {

using protocol::DescribeTopicPartitionsRequest;
using protocol::DescribeTopicPartitionsResponse;
using protocol::FetchRequest;
using protocol::FetchResponse;

std::string random_name(std::mt19937_64& rng, const std::string& prefix) {
  static const char kChars[] = "abcdefghijklmnopqrstuvwxyz0123456789._-";
  std::string name = prefix;
  for (int i = 0; i < 8; ++i) name += kChars[rng() % (sizeof(kChars) - 1)];
  return name;
}

KafkaTopicSpec topic(std::string name, int32_t partitions, int32_t batches, int32_t records) {
  KafkaTopicSpec t;
  t.name = std::move(name);
  t.partitions = partitions;
  t.batches_per_partition = batches;
  t.records_per_batch = records;
  return t;
}

class LogDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    seed_ = std::random_device{}();
    rng_.seed(seed_);
    root_ = make_temp_dir("kb-logdir-");
    KafkaLogDirSpec spec;
    spec.seed = seed_;
    spec.topics.push_back(topic(random_name(rng_, "one-"), 1, 3, 4));
    spec.topics.push_back(
        topic(random_name(rng_, "many-"), 2 + static_cast<int32_t>(rng_() % 4), 5, 3));
    spec.topics.push_back(topic(random_name(rng_, "empty-"), 1, 0, 1));
    spec.topics.push_back(topic(random_name(rng_, "big-"), 1, 1, 200));
    spec.max_value_bytes = 200;
    written_ = write_kafka_log_dir(root_ / "data", spec);
    one_ = spec.topics[0];
    many_ = spec.topics[1];
    empty_ = spec.topics[2];
    big_ = spec.topics[3];
    broker_ = std::make_unique<BrokerProcess>(std::map<std::string, std::string>{}, root_ / "data");
  }
  void TearDown() override {
    broker_.reset();
    std::filesystem::remove_all(root_);
  }

  const WrittenPartition& partition(const std::string& topic, int32_t index) const {
    for (const auto& p : written_.partitions)
      if (p.topic == topic && p.partition == index) return p;
    throw std::runtime_error("no such written partition");
  }

  template <class Response, class Request>
  Response call(RawClient& client, const Request& request, int16_t version) {
    int32_t id = next_correlation_++;
    client.send_bytes(encode_request(request, version, id));
    auto frame = client.read_frame();
    if (!frame) throw std::runtime_error("broker closed the connection");
    auto split = split_response(*frame, version >= Response::kFirstFlexible);
    EXPECT_EQ(split.correlation_id, id);
    // Decoded records view the body: keep it until the next call.
    last_body_ = std::move(split.body);
    return decode_response<Response>(last_body_, version);
  }

  DescribeTopicPartitionsResponse describe(
      std::vector<std::string> names, int32_t limit = 2000,
      std::optional<std::pair<std::string, int32_t>> cursor = {}) {
    RawClient client(broker_->port());
    DescribeTopicPartitionsRequest req;
    for (const auto& n : names) req.topics.push_back({n});
    req.response_partition_limit = limit;
    if (cursor) req.cursor = DescribeTopicPartitionsRequest::Cursor{cursor->first, cursor->second};
    return call<DescribeTopicPartitionsResponse>(client, req, 0);
  }

  FetchRequest fetch_request(const std::string& topic, int32_t p, int64_t offset,
                             int32_t partition_max_bytes = 1 << 20) {
    FetchRequest req;
    req.max_wait_ms = 0;
    req.min_bytes = 0;
    req.max_bytes = 50 << 20;
    auto& t = req.topics.emplace_back();
    t.topic = topic;
    t.topic_id = written_.topic_ids.at(topic);
    auto& part = t.partitions.emplace_back();
    part.partition = p;
    part.fetch_offset = offset;
    part.partition_max_bytes = partition_max_bytes;
    return req;
  }

  std::vector<uint8_t> concat(const std::vector<std::vector<uint8_t>>& batches, size_t from,
                              size_t to) {
    std::vector<uint8_t> out;
    for (size_t i = from; i < to; ++i) out.insert(out.end(), batches[i].begin(), batches[i].end());
    return out;
  }

  uint64_t seed_ = 0;
  std::mt19937_64 rng_;
  std::filesystem::path root_;
  WrittenLogDir written_;
  KafkaTopicSpec one_, many_, empty_, big_;
  std::unique_ptr<BrokerProcess> broker_;
  int32_t next_correlation_ = 1;
  std::vector<uint8_t> last_body_;
};

TEST_F(LogDirTest, DescribeUnknownTopic) {
  auto resp = describe({"no-such-topic"});
  ASSERT_EQ(resp.topics.size(), 1u) << "seed " << seed_;
  EXPECT_EQ(resp.topics[0].error_code, 3);
  EXPECT_EQ(resp.topics[0].name, "no-such-topic");
  EXPECT_TRUE(resp.topics[0].topic_id.is_zero());
  EXPECT_TRUE(resp.topics[0].partitions.empty());
  EXPECT_FALSE(resp.next_cursor);
}

TEST_F(LogDirTest, DescribeOnePartition) {
  auto resp = describe({one_.name});
  ASSERT_EQ(resp.topics.size(), 1u) << "seed " << seed_;
  const auto& t = resp.topics[0];
  EXPECT_EQ(t.error_code, 0);
  EXPECT_EQ(t.name, one_.name);
  EXPECT_EQ(t.topic_id, written_.topic_ids.at(one_.name));
  EXPECT_FALSE(t.is_internal);
  ASSERT_EQ(t.partitions.size(), 1u);
  EXPECT_EQ(t.partitions[0].error_code, 0);
  EXPECT_EQ(t.partitions[0].partition_index, 0);
  EXPECT_EQ(t.partitions[0].leader_id, 1);
  EXPECT_EQ(t.partitions[0].replica_nodes, std::vector<int32_t>{1});
  EXPECT_EQ(t.partitions[0].isr_nodes, std::vector<int32_t>{1});
}

TEST_F(LogDirTest, DescribeSeveralPartitions) {
  auto resp = describe({many_.name});
  ASSERT_EQ(resp.topics.size(), 1u);
  ASSERT_EQ(resp.topics[0].partitions.size(), static_cast<size_t>(many_.partitions))
      << "seed " << seed_;
  for (int32_t i = 0; i < many_.partitions; ++i)
    EXPECT_EQ(resp.topics[0].partitions[i].partition_index, i);
}

TEST_F(LogDirTest, DescribeSeveralTopicsSorted) {
  auto resp = describe({one_.name, "zz-unknown", many_.name, empty_.name});
  std::vector<std::string> names;
  for (const auto& t : resp.topics) names.push_back(*t.name);
  std::vector<std::string> expected = {one_.name, "zz-unknown", many_.name, empty_.name};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(names, expected) << "seed " << seed_;
}

TEST_F(LogDirTest, DescribePagesWithLimitOneAndCursor) {
  std::vector<std::string> names = {one_.name, many_.name};
  std::optional<std::pair<std::string, int32_t>> cursor;
  std::vector<std::pair<std::string, int32_t>> seen;
  for (int page = 0; page < 20; ++page) {
    auto resp = describe(names, 1, cursor);
    size_t in_page = 0;
    for (const auto& t : resp.topics)
      for (const auto& p : t.partitions) {
        seen.emplace_back(*t.name, p.partition_index);
        ++in_page;
      }
    EXPECT_LE(in_page, 1u);
    if (!resp.next_cursor) break;
    cursor = std::make_pair(resp.next_cursor->topic_name, resp.next_cursor->partition_index);
  }
  std::vector<std::pair<std::string, int32_t>> expected;
  for (const auto& n : std::set<std::string>(names.begin(), names.end())) {
    int32_t count = n == one_.name ? one_.partitions : many_.partitions;
    for (int32_t i = 0; i < count; ++i) expected.emplace_back(n, i);
  }
  EXPECT_EQ(seen, expected) << "seed " << seed_;
}

TEST_F(LogDirTest, FetchNoTopics) {
  RawClient client(broker_->port());
  FetchRequest req;
  auto resp = call<FetchResponse>(client, req, 16);
  EXPECT_EQ(resp.error_code, 0);
  EXPECT_TRUE(resp.responses.empty());
}

TEST_F(LogDirTest, FetchUnknownTopicId) {
  RawClient client(broker_->port());
  FetchRequest req = fetch_request(one_.name, 0, 0);
  req.topics[0].topic_id.bytes[0] ^= 0xff;
  auto resp = call<FetchResponse>(client, req, 16);
  ASSERT_EQ(resp.responses.size(), 1u);
  ASSERT_EQ(resp.responses[0].partitions.size(), 1u);
  EXPECT_EQ(resp.responses[0].partitions[0].error_code, 100);
}

TEST_F(LogDirTest, FetchEmptyPartition) {
  RawClient client(broker_->port());
  auto resp = call<FetchResponse>(client, fetch_request(empty_.name, 0, 0), 16);
  ASSERT_EQ(resp.responses.size(), 1u);
  const auto& p = resp.responses[0].partitions.at(0);
  EXPECT_EQ(p.error_code, 0);
  EXPECT_EQ(p.high_watermark, 0);
  EXPECT_TRUE(!p.records || p.records->empty());
}

TEST_F(LogDirTest, FetchAllBatchesByteExact) {
  RawClient client(broker_->port());
  for (int32_t pi = 0; pi < many_.partitions; ++pi) {
    const auto& written = partition(many_.name, pi);
    auto resp = call<FetchResponse>(client, fetch_request(many_.name, pi, 0), 16);
    const auto& p = resp.responses.at(0).partitions.at(0);
    EXPECT_EQ(p.error_code, 0);
    EXPECT_EQ(p.high_watermark, written.log_end_offset);
    EXPECT_EQ(p.last_stable_offset, written.log_end_offset);
    EXPECT_EQ(p.log_start_offset, 0);
    ASSERT_TRUE(p.records);
    auto expected = concat(written.batches, 0, written.batches.size());
    EXPECT_EQ(std::vector<uint8_t>(p.records->begin(), p.records->end()), expected)
        << "partition " << pi << " seed " << seed_;
  }
}

TEST_F(LogDirTest, FetchOffsetInsideBatchStartsAtThatBatch) {
  const auto& written = partition(one_.name, 0);
  ASSERT_GE(written.batches.size(), 2u);
  // Offset 5 lies in the second batch (4 records per batch).
  RawClient client(broker_->port());
  auto resp = call<FetchResponse>(client, fetch_request(one_.name, 0, 5), 16);
  const auto& p = resp.responses.at(0).partitions.at(0);
  ASSERT_TRUE(p.records);
  EXPECT_EQ(std::vector<uint8_t>(p.records->begin(), p.records->end()),
            concat(written.batches, 1, written.batches.size()));
}

// Fetch v17 (Kafka 4.x's newest) with a replica directory id tag, as a
// client of the newest version may send it: answered as v16 is.
TEST_F(LogDirTest, FetchV17WithReplicaDirectoryIdTag) {
  const auto& written = partition(one_.name, 0);
  RawClient client(broker_->port());
  FetchRequest req = fetch_request(one_.name, 0, 0);
  req.topics[0].partitions[0].replica_directory_id.bytes[15] = 1;
  auto resp = call<FetchResponse>(client, req, 17);
  const auto& p = resp.responses.at(0).partitions.at(0);
  EXPECT_EQ(p.error_code, 0);
  EXPECT_EQ(p.high_watermark, written.log_end_offset);
  ASSERT_TRUE(p.records);
  EXPECT_EQ(std::vector<uint8_t>(p.records->begin(), p.records->end()),
            concat(written.batches, 0, written.batches.size()));
}

TEST_F(LogDirTest, FetchOutOfRange) {
  const auto& written = partition(one_.name, 0);
  RawClient client(broker_->port());
  auto resp =
      call<FetchResponse>(client, fetch_request(one_.name, 0, written.log_end_offset + 5), 16);
  EXPECT_EQ(resp.responses.at(0).partitions.at(0).error_code, 1);
  resp = call<FetchResponse>(client, fetch_request(one_.name, 0, written.log_end_offset), 16);
  EXPECT_EQ(resp.responses.at(0).partitions.at(0).error_code, 0);
}

TEST_F(LogDirTest, FetchUnknownPartition) {
  RawClient client(broker_->port());
  auto resp = call<FetchResponse>(client, fetch_request(one_.name, 7, 0), 16);
  EXPECT_EQ(resp.responses.at(0).partitions.at(0).error_code, 3);
}

TEST_F(LogDirTest, FetchFirstBatchWholeEvenWhenLargerThanMaxBytes) {
  const auto& written = partition(big_.name, 0);
  ASSERT_GT(written.batches[0].size(), 100u);
  RawClient client(broker_->port());
  FetchRequest req = fetch_request(big_.name, 0, 0, 100);
  req.max_bytes = 100;
  auto resp = call<FetchResponse>(client, req, 16);
  const auto& p = resp.responses.at(0).partitions.at(0);
  ASSERT_TRUE(p.records);
  EXPECT_EQ(std::vector<uint8_t>(p.records->begin(), p.records->end()), written.batches[0]);
}

TEST_F(LogDirTest, LongPollExpiresAfterMaxWait) {
  const auto& written = partition(one_.name, 0);
  RawClient client(broker_->port());
  FetchRequest req = fetch_request(one_.name, 0, written.log_end_offset);
  req.max_wait_ms = 300;
  req.min_bytes = 1;
  auto start = std::chrono::steady_clock::now();
  auto resp = call<FetchResponse>(client, req, 16);
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_GE(waited, std::chrono::milliseconds(290));
  EXPECT_LT(waited, std::chrono::seconds(5));
  const auto& p = resp.responses.at(0).partitions.at(0);
  EXPECT_EQ(p.error_code, 0);
  EXPECT_TRUE(!p.records || p.records->empty());
}

TEST_F(LogDirTest, LongPollKeepsRequestOrderOnTheConnection) {
  const auto& written = partition(one_.name, 0);
  RawClient client(broker_->port());
  FetchRequest waiting = fetch_request(one_.name, 0, written.log_end_offset);
  waiting.max_wait_ms = 200;
  waiting.min_bytes = 1;
  auto first = encode_request(waiting, 16, 501);
  auto second = encode_request(fetch_request(one_.name, 0, 0), 16, 502);
  first.insert(first.end(), second.begin(), second.end());
  client.send_bytes(first);
  auto a = client.read_frame();
  auto b = client.read_frame();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(split_response(*a, true).correlation_id, 501);
  EXPECT_EQ(split_response(*b, true).correlation_id, 502);
}

TEST_F(LogDirTest, FetchByNameAtV4AndV11) {
  const auto& written = partition(one_.name, 0);
  RawClient client(broker_->port());
  for (int16_t version : {int16_t{4}, int16_t{11}, int16_t{12}}) {
    auto resp = call<FetchResponse>(client, fetch_request(one_.name, 0, 0), version);
    ASSERT_EQ(resp.responses.size(), 1u);
    const auto& p = resp.responses[0].partitions.at(0);
    EXPECT_EQ(p.error_code, 0) << "v" << version;
    ASSERT_TRUE(p.records);
    EXPECT_EQ(std::vector<uint8_t>(p.records->begin(), p.records->end()),
              concat(written.batches, 0, written.batches.size()))
        << "v" << version;
  }
}

// Records go out from the segment files: one response carrying several
// partitions holds several file ranges between its other fields; pipelined
// requests get their responses whole and in order.
TEST_F(LogDirTest, FetchManyPartitionsInOneResponsePipelined) {
  FetchRequest req = fetch_request(many_.name, 0, 0);
  for (int32_t pi = 1; pi < many_.partitions; ++pi) {
    auto& part = req.topics[0].partitions.emplace_back(req.topics[0].partitions[0]);
    part.partition = pi;
  }
  RawClient client(broker_->port());
  for (int16_t version : {int16_t{4}, int16_t{16}}) {
    constexpr int kPipelined = 5;
    std::vector<uint8_t> wire_bytes;
    for (int i = 0; i < kPipelined; ++i) {
      auto frame = encode_request(req, version, 700 + i);
      wire_bytes.insert(wire_bytes.end(), frame.begin(), frame.end());
    }
    client.send_bytes(wire_bytes);
    for (int i = 0; i < kPipelined; ++i) {
      auto frame = client.read_frame();
      ASSERT_TRUE(frame) << "v" << version << " response " << i;
      auto split = split_response(*frame, version >= FetchResponse::kFirstFlexible);
      EXPECT_EQ(split.correlation_id, 700 + i);
      auto resp = decode_response<FetchResponse>(split.body, version);
      ASSERT_EQ(resp.responses.size(), 1u);
      ASSERT_EQ(resp.responses[0].partitions.size(), static_cast<size_t>(many_.partitions));
      for (int32_t pi = 0; pi < many_.partitions; ++pi) {
        const auto& p = resp.responses[0].partitions[static_cast<size_t>(pi)];
        const auto& written = partition(many_.name, pi);
        EXPECT_EQ(p.partition_index, pi);
        EXPECT_EQ(p.error_code, 0);
        ASSERT_TRUE(p.records);
        EXPECT_EQ(std::vector<uint8_t>(p.records->begin(), p.records->end()),
                  concat(written.batches, 0, written.batches.size()))
            << "v" << version << " partition " << pi;
      }
    }
  }
}

TEST_F(LogDirTest, ApiVersionsAdvertisesFetchAndDescribeTopicPartitions) {
  RawClient client(broker_->port());
  protocol::ApiVersionsRequest req;
  client.send_bytes(encode_request(req, 4, 1));
  auto frame = client.read_frame();
  ASSERT_TRUE(frame);
  auto resp = decode_response<protocol::ApiVersionsResponse>(split_response(*frame, false).body, 4);
  auto find = [&](int16_t key) {
    return std::find_if(resp.api_keys.begin(), resp.api_keys.end(),
                        [&](const auto& k) { return k.api_key == key; });
  };
  ASSERT_NE(find(1), resp.api_keys.end());
  EXPECT_EQ(find(1)->max_version, 18);  // Kafka 4.4's newest
  ASSERT_NE(find(75), resp.api_keys.end());
  EXPECT_EQ(find(75)->max_version, 0);
}

}  // namespace
}  // namespace kb::testing
