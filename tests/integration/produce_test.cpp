// Produce against the real broker: the log directory is written the way Kafka
// writes one (topics with empty partitions), then batches built with
// RecordBatchBuilder are produced, read back with Fetch and from the segment
// files.

#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <thread>

#include "kb/protocol/messages/fetch.hpp"
#include "kb/protocol/messages/produce.hpp"
#include "kb/storage/partition_log.hpp"
#include "kb/storage/record_batch.hpp"
#include "support/broker_process.hpp"
#include "support/kafka_client.hpp"
#include "support/kafka_log_dir_writer.hpp"

namespace kb::testing {
namespace {

using protocol::FetchRequest;
using protocol::FetchResponse;
using protocol::ProduceRequest;
using protocol::ProduceResponse;
using PartitionResponse = ProduceResponse::PartitionProduceResponse;

constexpr int16_t kVersions[] = {3, 7, 9, 11, 13};

// An id no topic of these tests has.
wire::Uuid unknown_topic_id() {
  wire::Uuid id;
  id.bytes.fill(0x5a);
  return id;
}

storage::Bytes text(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::vector<uint8_t> make_batch(int count, const std::string& tag,
                                int64_t timestamp = 1700000000000) {
  storage::RecordBatchBuilder builder;
  std::vector<std::string> keys, values;
  for (int i = 0; i < count; ++i) {
    keys.push_back("key-" + std::to_string(i));
    values.push_back(tag + "-value-" + std::to_string(i));
  }
  for (size_t i = 0; i < keys.size(); ++i)
    builder.add_record(text(keys[i]), text(values[i]), timestamp + static_cast<int64_t>(i));
  return builder.build();
}

KafkaTopicSpec empty_topic(std::string name, int32_t partitions) {
  KafkaTopicSpec t;
  t.name = std::move(name);
  t.partitions = partitions;
  t.batches_per_partition = 0;
  return t;
}

class ProduceIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override { start({}); }
  void TearDown() override {
    broker_.reset();
    std::filesystem::remove_all(root_);
  }

  void start(std::map<std::string, std::string> extra) {
    broker_.reset();
    if (!root_.empty()) std::filesystem::remove_all(root_);
    root_ = make_temp_dir("kb-produce-");
    KafkaLogDirSpec spec;
    spec.topics.push_back(empty_topic("alpha", 1));
    spec.topics.push_back(empty_topic("beta", 3));
    written_ = write_kafka_log_dir(root_ / "data", spec);
    // A partition known from the metadata whose directory does not exist yet.
    std::filesystem::remove_all(root_ / "data" / "beta-2");
    broker_ = std::make_unique<BrokerProcess>(std::move(extra), root_ / "data");
  }

  std::vector<uint8_t> call_raw(RawClient& client, const std::vector<uint8_t>& frame, int32_t id,
                                bool flexible) {
    client.send_bytes(frame);
    auto response = client.read_frame();
    if (!response) throw std::runtime_error("broker closed the connection");
    auto split = split_response(*response, flexible);
    EXPECT_EQ(split.correlation_id, id);
    return std::move(split.body);
  }

  ProduceRequest produce_request(const std::string& topic, int32_t partition,
                                 const std::vector<uint8_t>& batch, int16_t acks = -1) {
    ProduceRequest req;
    req.acks = acks;
    req.timeout_ms = 5000;
    names_.push_back(topic);
    auto& t = req.topic_data.emplace_back();
    t.name = names_.back();
    t.topic_id = topic_id(topic);
    t.partition_data.push_back({partition, storage::Bytes(batch)});
    return req;
  }

  ProduceResponse produce(RawClient& client, const ProduceRequest& req, int16_t version) {
    int32_t id = next_id_++;
    body_ = call_raw(client, encode_request(req, version, id), id, version >= 9);
    return decode_response<ProduceResponse>(body_, version);
  }

  PartitionResponse produce_one(RawClient& client, const std::string& topic, int32_t partition,
                                const std::vector<uint8_t>& batch, int16_t version = 11) {
    auto resp = produce(client, produce_request(topic, partition, batch), version);
    EXPECT_EQ(resp.responses.size(), 1u);
    // v13 names the topic by id only, as the request did.
    EXPECT_EQ(resp.responses.at(0).name, version >= 13 ? "" : topic);
    EXPECT_EQ(resp.responses.at(0).topic_id, version >= 13 ? topic_id(topic) : wire::Uuid{});
    EXPECT_EQ(resp.responses.at(0).partition_responses.size(), 1u);
    return resp.responses.at(0).partition_responses.at(0);
  }

  wire::Uuid topic_id(const std::string& topic) const {
    auto it = written_.topic_ids.find(topic);
    return it != written_.topic_ids.end() ? it->second : unknown_topic_id();
  }

  FetchRequest fetch_request(const std::string& topic, int32_t partition, int64_t offset) {
    FetchRequest req;
    req.max_wait_ms = 0;
    req.min_bytes = 0;
    req.max_bytes = 50 << 20;
    auto& t = req.topics.emplace_back();
    t.topic = topic;
    t.topic_id = written_.topic_ids.at(topic);
    auto& p = t.partitions.emplace_back();
    p.partition = partition;
    p.fetch_offset = offset;
    p.partition_max_bytes = 1 << 20;
    // v18's tag, as a follower sends it; a consumer's fetch reads and leaves it.
    p.high_watermark = 0;
    return req;
  }

  // All bytes from `offset` on (a copy) and the high watermark.
  std::pair<std::vector<uint8_t>, int64_t> fetch(RawClient& client, const std::string& topic,
                                                 int32_t partition, int64_t offset = 0) {
    int32_t id = next_id_++;
    body_ =
        call_raw(client, encode_request(fetch_request(topic, partition, offset), 18, id), id, true);
    auto resp = decode_response<FetchResponse>(body_, 18);
    const auto& p = resp.responses.at(0).partitions.at(0);
    EXPECT_EQ(p.error_code, 0);
    std::vector<uint8_t> bytes;
    if (p.records) bytes.assign(p.records->begin(), p.records->end());
    return {bytes, p.high_watermark};
  }

  std::filesystem::path segment(const std::string& topic, int32_t partition) {
    return root_ / "data" / storage::partition_dir_name(topic, partition) /
           storage::segment_file_name(0, ".log");
  }

  std::filesystem::path root_;
  WrittenLogDir written_;
  std::unique_ptr<BrokerProcess> broker_;
  std::deque<std::string> names_;
  std::vector<uint8_t> body_;  // decoded responses view it
  int32_t next_id_ = 1;
};

TEST_F(ProduceIntegrationTest, UnknownTopic) {
  RawClient client(broker_->port());
  auto batch = make_batch(1, "x");
  for (int16_t version : kVersions) {
    auto p = produce_one(client, "no-such-topic", 0, batch, version);
    // By id (v13) the topic is unknown by its id: UNKNOWN_TOPIC_ID.
    EXPECT_EQ(p.error_code, version >= 13 ? 100 : 3) << "v" << version;
    EXPECT_EQ(p.base_offset, -1);
    EXPECT_EQ(p.log_append_time_ms, -1);
    if (version >= 5) {
      EXPECT_EQ(p.log_start_offset, -1);
    }
  }
}

// v13: each topic by its id; an unknown or zero id refuses only its own
// partitions, the known topic beside them is written.
TEST_F(ProduceIntegrationTest, ByIdUnknownIdsRefuseOnlyTheirPartitions) {
  RawClient client(broker_->port());
  auto batch = make_batch(2, "by-id");
  ProduceRequest req = produce_request("alpha", 0, batch);
  auto& unknown = req.topic_data.emplace_back();
  unknown.topic_id = unknown_topic_id();
  unknown.partition_data.push_back({0, storage::Bytes(batch)});
  unknown.partition_data.push_back({1, storage::Bytes(batch)});
  auto& zero = req.topic_data.emplace_back();
  zero.partition_data.push_back({0, storage::Bytes(batch)});
  auto resp = produce(client, req, 13);
  ASSERT_EQ(resp.responses.size(), 3u);
  EXPECT_EQ(resp.responses[0].topic_id, topic_id("alpha"));
  ASSERT_EQ(resp.responses[0].partition_responses.size(), 1u);
  EXPECT_EQ(resp.responses[0].partition_responses[0].error_code, 0);
  EXPECT_EQ(resp.responses[0].partition_responses[0].base_offset, 0);
  EXPECT_EQ(resp.responses[1].topic_id, unknown_topic_id());
  ASSERT_EQ(resp.responses[1].partition_responses.size(), 2u);
  for (int32_t i = 0; i < 2; ++i) {
    const auto& p = resp.responses[1].partition_responses[static_cast<size_t>(i)];
    EXPECT_EQ(p.index, i);
    EXPECT_EQ(p.error_code, 100);
    EXPECT_EQ(p.base_offset, -1);
    EXPECT_EQ(p.log_start_offset, -1);
    EXPECT_FALSE(p.error_message.has_value());
  }
  EXPECT_TRUE(resp.responses[2].topic_id.is_zero());
  ASSERT_EQ(resp.responses[2].partition_responses.size(), 1u);
  EXPECT_EQ(resp.responses[2].partition_responses[0].error_code, 100);
  EXPECT_EQ(fetch(client, "alpha", 0).second, 2);
}

TEST_F(ProduceIntegrationTest, UnknownPartition) {
  RawClient client(broker_->port());
  auto batch = make_batch(1, "x");
  for (int16_t version : kVersions) {
    auto p = produce_one(client, "alpha", 1, batch, version);
    EXPECT_EQ(p.index, 1);
    EXPECT_EQ(p.error_code, 3) << "v" << version;
    EXPECT_EQ(p.base_offset, -1);
  }
  EXPECT_EQ(fetch(client, "alpha", 0).second, 0);
}

TEST_F(ProduceIntegrationTest, OneRecordAtEachVersionGetsTheNextOffset) {
  RawClient client(broker_->port());
  std::vector<uint8_t> expected;
  int64_t offset = 0;
  for (int16_t version : kVersions) {
    auto batch = make_batch(1, "v" + std::to_string(version));
    auto p = produce_one(client, "alpha", 0, batch, version);
    EXPECT_EQ(p.error_code, 0) << "v" << version;
    EXPECT_EQ(p.base_offset, offset) << "v" << version;
    EXPECT_EQ(p.log_append_time_ms, -1);
    if (version >= 5) {
      EXPECT_EQ(p.log_start_offset, 0);
    }
    if (version >= 8) {
      EXPECT_TRUE(p.record_errors.empty());
      EXPECT_FALSE(p.error_message.has_value());
    }
    auto stored = as_stored(batch, offset);
    expected.insert(expected.end(), stored.begin(), stored.end());
    ++offset;
  }
  auto [bytes, high_watermark] = fetch(client, "alpha", 0);
  EXPECT_EQ(high_watermark, offset);
  EXPECT_EQ(bytes, expected);
}

TEST_F(ProduceIntegrationTest, SeveralRecordsInOneBatchFetchedBackByteExact) {
  RawClient client(broker_->port());
  auto first = make_batch(5, "first");
  auto second = make_batch(3, "second");
  EXPECT_EQ(produce_one(client, "alpha", 0, first).base_offset, 0);
  EXPECT_EQ(produce_one(client, "alpha", 0, second).base_offset, 5);
  auto [bytes, high_watermark] = fetch(client, "alpha", 0);
  EXPECT_EQ(high_watermark, 8);
  auto expected = as_stored(first, 0);
  auto stored_second = as_stored(second, 5);
  expected.insert(expected.end(), stored_second.begin(), stored_second.end());
  EXPECT_EQ(bytes, expected);
  // From inside the second batch: that batch.
  EXPECT_EQ(fetch(client, "alpha", 0, 6).first, stored_second);
}

TEST_F(ProduceIntegrationTest, FirstBatchOfTheSegmentCarriesTheSentCrc) {
  RawClient client(broker_->port());
  auto batch = make_batch(4, "crc");
  const uint32_t sent_crc = storage::RecordBatchView::parse(batch)->crc();
  ASSERT_EQ(produce_one(client, "alpha", 0, batch).error_code, 0);
  std::string file = read_file(segment("alpha", 0));
  auto bytes = storage::Bytes(reinterpret_cast<const uint8_t*>(file.data()), file.size());
  auto view = storage::RecordBatchView::parse(bytes);
  ASSERT_TRUE(view);
  EXPECT_EQ(view->crc(), sent_crc);
  EXPECT_EQ(view->base_offset(), 0);
  EXPECT_EQ(view->record_count(), 4);
  EXPECT_EQ(view->size_in_bytes(), file.size());
}

TEST_F(ProduceIntegrationTest, SeveralPartitionsAndTopicsInOneRequest) {
  RawClient client(broker_->port());
  auto a = make_batch(2, "a"), b0 = make_batch(1, "b0"), b1 = make_batch(3, "b1"),
       b2 = make_batch(2, "b2");
  for (int16_t version : kVersions) {
    ProduceRequest req = produce_request("alpha", 0, a);
    auto& beta = req.topic_data.emplace_back();
    beta.name = "beta";
    beta.topic_id = topic_id("beta");
    beta.partition_data.push_back({0, storage::Bytes(b0)});
    beta.partition_data.push_back({1, storage::Bytes(b1)});
    beta.partition_data.push_back({2, storage::Bytes(b2)});  // its directory is created
    beta.partition_data.push_back({3, storage::Bytes(b2)});  // unknown
    auto resp = produce(client, req, version);
    ASSERT_EQ(resp.responses.size(), 2u);
    if (version >= 13) {
      EXPECT_EQ(resp.responses[0].topic_id, topic_id("alpha"));
      EXPECT_EQ(resp.responses[1].topic_id, topic_id("beta"));
    } else {
      EXPECT_EQ(resp.responses[0].name, "alpha");
      EXPECT_EQ(resp.responses[1].name, "beta");
    }
    ASSERT_EQ(resp.responses[1].partition_responses.size(), 4u);
    const int64_t round = (version == 3)    ? 0
                          : (version == 7)  ? 1
                          : (version == 9)  ? 2
                          : (version == 11) ? 3
                                            : 4;
    EXPECT_EQ(resp.responses[0].partition_responses.at(0).base_offset, 2 * round);
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(resp.responses[1].partition_responses[i].index, i);
      EXPECT_EQ(resp.responses[1].partition_responses[i].error_code, 0) << "v" << version;
    }
    EXPECT_EQ(resp.responses[1].partition_responses[1].base_offset, 3 * round);
    EXPECT_EQ(resp.responses[1].partition_responses[3].error_code, 3);
  }
  EXPECT_TRUE(std::filesystem::exists(root_ / "data" / "beta-2" / "partition.metadata"));
  EXPECT_EQ(fetch(client, "alpha", 0).second, 10);
  EXPECT_EQ(fetch(client, "beta", 0).second, 5);
  EXPECT_EQ(fetch(client, "beta", 1).second, 15);
  auto [bytes, high_watermark] = fetch(client, "beta", 2);
  EXPECT_EQ(high_watermark, 10);
  auto view = storage::RecordBatchView::parse(bytes);
  ASSERT_TRUE(view);
  EXPECT_EQ(std::vector<uint8_t>(view->bytes().begin(), view->bytes().end()), as_stored(b2, 0));
}

TEST_F(ProduceIntegrationTest, CorruptBatchWritesNothing) {
  RawClient client(broker_->port());
  for (int16_t version : kVersions) {
    auto batch = make_batch(2, "bad");
    batch[batch.size() - 3] ^= 0x40;
    auto p = produce_one(client, "alpha", 0, batch, version);
    EXPECT_EQ(p.error_code, 2) << "v" << version;
    EXPECT_EQ(p.base_offset, -1);
    if (version >= 8) {
      EXPECT_FALSE(p.error_message.has_value());  // as Kafka: none for CORRUPT_MESSAGE
    }
  }
  EXPECT_EQ(fetch(client, "alpha", 0).second, 0);
  EXPECT_EQ(std::filesystem::file_size(segment("alpha", 0)), 0u);
  // The connection still works.
  EXPECT_EQ(produce_one(client, "alpha", 0, make_batch(1, "good")).error_code, 0);
}

TEST_F(ProduceIntegrationTest, AcksZeroGivesNoResponseAndTheDataIsThere) {
  RawClient client(broker_->port());
  auto batch = make_batch(3, "fire-and-forget");
  auto produce_frame = encode_request(produce_request("alpha", 0, batch, 0), 11, 700);
  client.send_bytes(produce_frame);
  // The next frame on the connection answers the following request.
  int32_t id = 701;
  body_ = call_raw(client, encode_request(fetch_request("alpha", 0, 0), 16, id), id, true);
  auto resp = decode_response<FetchResponse>(body_, 16);
  const auto& p = resp.responses.at(0).partitions.at(0);
  EXPECT_EQ(p.high_watermark, 3);
  ASSERT_TRUE(p.records);
  EXPECT_EQ(std::vector<uint8_t>(p.records->begin(), p.records->end()), as_stored(batch, 0));
}

// Requests sent in one write are read and handled together: their appends to
// a partition go out in one write, made before any of them is answered, and
// a Fetch among them sees the produces before it. Answered data survives the
// broker being killed right after (it is in the files, if not yet synced).
TEST_F(ProduceIntegrationTest, PipelinedProducesAreWrittenBeforeTheyAreAnswered) {
  RawClient client(broker_->port());
  std::vector<std::vector<uint8_t>> alpha, beta;
  std::vector<uint8_t> wire;
  auto add = [&](const std::vector<uint8_t>& frame) {
    wire.insert(wire.end(), frame.begin(), frame.end());
  };
  alpha.push_back(make_batch(3, "a0"));
  add(encode_request(produce_request("alpha", 0, alpha.back(), 1), 11, 1));
  beta.push_back(make_batch(2, "b0"));
  add(encode_request(produce_request("beta", 0, beta.back(), 1), 11, 2));
  alpha.push_back(make_batch(4, "a1"));
  add(encode_request(produce_request("alpha", 0, alpha.back(), 1), 11, 3));
  add(encode_request(fetch_request("alpha", 0, 0), 16, 4));
  alpha.push_back(make_batch(1, "a2"));
  add(encode_request(produce_request("alpha", 0, alpha.back(), 0), 11, 5));  // acks=0
  beta.push_back(make_batch(5, "b1"));
  add(encode_request(produce_request("beta", 0, beta.back(), -1), 11, 6));
  client.send_bytes(wire);

  const std::map<int32_t, int64_t> expected_offsets = {{1, 0}, {2, 0}, {3, 3}, {6, 2}};
  for (int32_t id : {1, 2, 3, 4, 6}) {
    auto frame = client.read_frame();
    ASSERT_TRUE(frame) << "no answer for request " << id;
    auto split = split_response(*frame, true);
    ASSERT_EQ(split.correlation_id, id);
    if (id == 4) {
      auto resp = decode_response<FetchResponse>(split.body, 16);
      const auto& p = resp.responses.at(0).partitions.at(0);
      EXPECT_EQ(p.high_watermark, 7) << "the two produces before it";
      ASSERT_TRUE(p.records);
      auto expected = as_stored(alpha[0], 0);
      auto second = as_stored(alpha[1], 3);
      expected.insert(expected.end(), second.begin(), second.end());
      EXPECT_EQ(std::vector<uint8_t>(p.records->begin(), p.records->end()), expected);
      continue;
    }
    auto resp = decode_response<ProduceResponse>(split.body, 11);
    const auto& p = resp.responses.at(0).partition_responses.at(0);
    EXPECT_EQ(p.error_code, 0) << id;
    EXPECT_EQ(p.base_offset, expected_offsets.at(id)) << id;
  }

  broker_->kill_hard();
  broker_ = std::make_unique<BrokerProcess>(std::map<std::string, std::string>{}, root_ / "data");
  RawClient after(broker_->port());
  auto stored = [](const std::vector<std::vector<uint8_t>>& batches) {
    std::vector<uint8_t> all;
    int64_t offset = 0;
    for (const auto& b : batches) {
      auto one = as_stored(b, offset);
      all.insert(all.end(), one.begin(), one.end());
      offset += storage::RecordBatchHeader::parse(b)->record_count;
    }
    return all;
  };
  EXPECT_EQ(fetch(after, "alpha", 0).first, stored(alpha));
  EXPECT_EQ(fetch(after, "beta", 0).first, stored(beta));
}

TEST_F(ProduceIntegrationTest, ProduceWakesLongPollFetchOnAnotherConnection) {
  RawClient consumer(broker_->port());
  RawClient producer(broker_->port());
  FetchRequest waiting = fetch_request("beta", 2, 0);  // no directory yet
  waiting.max_wait_ms = 8000;
  waiting.min_bytes = 1;
  auto start = std::chrono::steady_clock::now();
  consumer.send_bytes(encode_request(waiting, 16, 900));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto batch = make_batch(2, "wake");
  ASSERT_EQ(produce_one(producer, "beta", 2, batch).error_code, 0);
  auto frame = consumer.read_frame();
  auto waited = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(frame);
  EXPECT_LT(waited, std::chrono::seconds(4));
  auto split = split_response(*frame, true);
  EXPECT_EQ(split.correlation_id, 900);
  auto resp = decode_response<FetchResponse>(split.body, 16);
  const auto& p = resp.responses.at(0).partitions.at(0);
  EXPECT_EQ(p.error_code, 0);
  EXPECT_EQ(p.high_watermark, 2);
  ASSERT_TRUE(p.records);
  EXPECT_EQ(std::vector<uint8_t>(p.records->begin(), p.records->end()), as_stored(batch, 0));
}

TEST_F(ProduceIntegrationTest, OldVersionsAreRefusedPerPartition) {
  RawClient client(broker_->port());
  auto batch = make_batch(1, "old");
  for (int16_t version : {int16_t{0}, int16_t{2}}) {
    auto p = produce_one(client, "alpha", 0, batch, version);
    EXPECT_EQ(p.error_code, 35) << "v" << version;
  }
  EXPECT_EQ(fetch(client, "alpha", 0).second, 0);
}

TEST_F(ProduceIntegrationTest, InvalidAcksAndTransactionalId) {
  RawClient client(broker_->port());
  auto batch = make_batch(1, "x");
  auto resp = produce(client, produce_request("alpha", 0, batch, 5), 11);
  EXPECT_EQ(resp.responses.at(0).partition_responses.at(0).error_code, 21);
  EXPECT_EQ(fetch(client, "alpha", 0).second, 0);
  // A transactional id beside plain batches changes nothing (as Kafka: only
  // transactional records are checked against it).
  ProduceRequest tx = produce_request("alpha", 0, batch);
  tx.transactional_id = "my-tx";
  resp = produce(client, tx, 11);
  EXPECT_EQ(resp.responses.at(0).partition_responses.at(0).error_code, 0);
  EXPECT_EQ(fetch(client, "alpha", 0).second, 1);
  // Transactional records without a transactional id: refused as Kafka
  // refuses an unauthorized one.
  storage::RecordBatchBuilder builder;
  builder.set_transactional(true).set_producer_id(0).set_producer_epoch(0).set_base_sequence(0);
  builder.add_record(std::nullopt, storage::Bytes(batch).first(1), 1);
  const std::vector<uint8_t> transactional = builder.build();
  resp = produce(client, produce_request("alpha", 0, transactional), 11);
  EXPECT_EQ(resp.responses.at(0).partition_responses.at(0).error_code, 53);
  EXPECT_EQ(fetch(client, "alpha", 0).second, 1);
}

TEST_F(ProduceIntegrationTest, LogAppendTimeFromBrokerConfig) {
  start({{"log.message.timestamp.type", "LogAppendTime"}, {"log.flush.interval.messages", "1"}});
  RawClient client(broker_->port());
  auto batch = make_batch(2, "lat", 1000);
  const int64_t before = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  auto p = produce_one(client, "alpha", 0, batch);
  EXPECT_EQ(p.error_code, 0);
  EXPECT_GE(p.log_append_time_ms, before);
  auto [bytes, high_watermark] = fetch(client, "alpha", 0);
  EXPECT_EQ(high_watermark, 2);
  auto view = storage::RecordBatchView::parse(bytes);  // CRC verified
  ASSERT_TRUE(view);
  EXPECT_EQ(view->timestamp_type(), storage::TimestampType::log_append_time);
  EXPECT_EQ(view->max_timestamp(), p.log_append_time_ms);
}

TEST_F(ProduceIntegrationTest, SegmentsRollAtLogSegmentBytes) {
  start({{"log.segment.bytes", "1024"}, {"log.index.interval.bytes", "100"}});
  RawClient client(broker_->port());
  std::vector<uint8_t> expected;
  for (int i = 0; i < 10; ++i) {
    auto batch = make_batch(4, "roll-" + std::to_string(i));
    auto p = produce_one(client, "alpha", 0, batch);
    ASSERT_EQ(p.error_code, 0);
    EXPECT_EQ(p.base_offset, 4 * i);
  }
  size_t logs = 0;
  for (const auto& e : std::filesystem::directory_iterator(root_ / "data" / "alpha-0"))
    if (e.path().extension() == ".log") ++logs;
  EXPECT_GT(logs, 1u);
  EXPECT_EQ(fetch(client, "alpha", 0).second, 40);
}

TEST_F(ProduceIntegrationTest, BadLogConfigValuesStopTheBroker) {
  for (const char* setting :
       {"log.segment.bytes=big", "log.segment.bytes=10", "log.flush.interval.messages=0",
        "log.message.timestamp.type=Whenever", "message.max.bytes=-1"}) {
    auto [status, output] = run_broker_once(
        {"--override", setting, "--override", "log.dirs=" + (root_ / "unused").string()},
        std::chrono::seconds(20));
    EXPECT_EQ(status.code, 2) << setting << "\n" << output;
    std::string key(setting, std::string_view(setting).find('='));
    EXPECT_NE(output.find("key '" + key + "'"), std::string::npos) << output;
  }
}

}  // namespace
}  // namespace kb::testing
