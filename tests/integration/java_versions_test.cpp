// The Java console tools cannot run on these machines, so their requests are
// sent raw at exactly the versions they use: Metadata 12, InitProducerId 5,
// idempotent Produce 9-11 with acks=-1, ListOffsets 7-8 and Fetch 12. Also
// InitProducerId at every version, producer ids persisted across restarts,
// and sequence checks (duplicates keep their offsets, even after a restart).

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "kb/protocol/messages/api_versions.hpp"
#include "kb/protocol/messages/fetch.hpp"
#include "kb/protocol/messages/init_producer_id.hpp"
#include "kb/protocol/messages/list_offsets.hpp"
#include "kb/protocol/messages/metadata.hpp"
#include "kb/protocol/messages/produce.hpp"
#include "kb/storage/metadata_log.hpp"
#include "kb/storage/record_batch.hpp"
#include "support/broker_process.hpp"
#include "support/kafka_client.hpp"

namespace kb::testing {
namespace {

using protocol::ApiVersionsRequest;
using protocol::ApiVersionsResponse;
using protocol::FetchRequest;
using protocol::FetchResponse;
using protocol::InitProducerIdRequest;
using protocol::InitProducerIdResponse;
using protocol::ListOffsetsRequest;
using protocol::ListOffsetsResponse;
using protocol::MetadataRequest;
using protocol::MetadataResponse;
using protocol::ProduceRequest;
using protocol::ProduceResponse;
using PartitionResponse = ProduceResponse::PartitionProduceResponse;

constexpr int16_t kOutOfOrderSequence = 45;
constexpr int16_t kInvalidProducerEpoch = 47;
constexpr int16_t kInvalidRequest = 42;
// Now-ish: producers whose last batch is a day old are forgotten, as in Kafka.
const int64_t kTimestamp = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();

struct Producer {
  int64_t id = -1;
  int16_t epoch = -1;
};

// `count` records "<tag>-<i>" from a producer, starting at `sequence`.
std::vector<uint8_t> idempotent_batch(const Producer& producer, int32_t sequence, int count,
                                      const std::string& tag) {
  storage::RecordBatchBuilder builder;
  builder.set_producer_id(producer.id)
      .set_producer_epoch(producer.epoch)
      .set_base_sequence(sequence);
  std::vector<std::string> values;
  for (int i = 0; i < count; ++i) values.push_back(tag + "-" + std::to_string(i));
  for (int i = 0; i < count; ++i)
    builder.add_record(
        std::nullopt,
        storage::Bytes(reinterpret_cast<const uint8_t*>(values[i].data()), values[i].size()),
        kTimestamp + sequence + i);
  return builder.build();
}

class JavaVersionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = make_temp_dir("kb-java-");
    start();
  }
  void TearDown() override {
    client_.reset();
    broker_.reset();
    std::filesystem::remove_all(dir_);
  }

  void start() {
    client_.reset();
    broker_.reset();
    broker_ = std::make_unique<BrokerProcess>(config_, dir_ / "data");
    client_ = std::make_unique<TypedClient>(broker_->port());
  }
  void restart() {
    client_.reset();
    ASSERT_EQ(broker_->stop().code, 0);
    start();
  }

  // Metadata v12 for one topic, auto-created as the console producer asks.
  MetadataResponse metadata(const std::string& topic) {
    MetadataRequest req;
    req.topics.emplace();
    req.topics->push_back({wire::Uuid{}, topic});
    req.allow_auto_topic_creation = true;
    req.include_topic_authorized_operations = true;
    return client_->call<MetadataResponse>(req, 12);
  }

  InitProducerIdResponse init_producer_id(int16_t version,
                                          std::optional<std::string_view> transactional_id = {},
                                          Producer existing = {}) {
    InitProducerIdRequest req;
    req.transactional_id = transactional_id;
    req.transaction_timeout_ms = 60000;
    req.producer_id = existing.id;
    req.producer_epoch = existing.epoch;
    return client_->call<InitProducerIdResponse>(req, version);
  }

  Producer new_producer() {
    auto r = init_producer_id(5);
    EXPECT_EQ(r.error_code, 0);
    return {r.producer_id, r.producer_epoch};
  }

  PartitionResponse produce(const std::string& topic, const std::vector<uint8_t>& batch,
                            int16_t version = 11) {
    ProduceRequest req;
    req.acks = -1;
    req.timeout_ms = 30000;
    auto& t = req.topic_data.emplace_back();
    t.name = topic;
    t.partition_data.push_back({0, storage::Bytes(batch)});
    auto resp = client_->call<ProduceResponse>(req, version);
    EXPECT_EQ(resp.responses.size(), 1u);
    return resp.responses.at(0).partition_responses.at(0);
  }

  // ListOffsets for partition 0 at `timestamp` (-1 latest, -2 earliest, -3 max).
  ListOffsetsResponse::ListOffsetsPartitionResponse list_offset(const std::string& topic,
                                                                int64_t timestamp,
                                                                int16_t version) {
    ListOffsetsRequest req;
    req.replica_id = -1;
    req.isolation_level = 1;  // read_committed, as the console consumer defaults to
    auto& t = req.topics.emplace_back();
    t.name = topic;
    t.partitions.push_back({0, -1, timestamp, 1});
    auto resp = client_->call<ListOffsetsResponse>(req, version);
    return resp.topics.at(0).partitions.at(0);
  }

  int64_t log_end(const std::string& topic) { return list_offset(topic, -1, 8).offset; }

  // Fetch v12 from `offset`: the record batches' headers.
  std::vector<storage::RecordBatchHeader> fetch_headers(const std::string& topic, int64_t offset) {
    FetchRequest req;
    req.max_wait_ms = 0;
    req.min_bytes = 1;
    req.max_bytes = 50 << 20;
    req.isolation_level = 1;
    auto& t = req.topics.emplace_back();
    t.topic = topic;
    auto& p = t.partitions.emplace_back();
    p.partition = 0;
    p.fetch_offset = offset;
    p.partition_max_bytes = 1 << 20;
    auto resp = client_->call<FetchResponse>(req, 12);
    const auto& part = resp.responses.at(0).partitions.at(0);
    EXPECT_EQ(part.error_code, 0);
    std::vector<storage::RecordBatchHeader> out;
    if (!part.records) return out;
    storage::BatchIterator it(*part.records, storage::CrcCheck::verify);
    while (auto b = it.next()) out.push_back(b->header());
    EXPECT_EQ(it.error(), storage::BatchError::none);
    return out;
  }

  std::filesystem::path dir_;
  std::map<std::string, std::string> config_;  // server.properties lines for start()
  std::unique_ptr<BrokerProcess> broker_;
  std::unique_ptr<TypedClient> client_;
};

TEST_F(JavaVersionsTest, ConsoleProducerAndConsumerFlow) {
  // InitProducerId is advertised 0-5 (v2: the response header stays v0, as
  // ApiVersions responses always have it).
  auto apis = client_->call<ApiVersionsResponse>(ApiVersionsRequest{}, 2);
  EXPECT_EQ(apis.error_code, 0);
  bool advertised = false;
  for (const auto& api : apis.api_keys)
    if (api.api_key == 22) {
      advertised = true;
      EXPECT_EQ(api.min_version, 0);
      EXPECT_EQ(api.max_version, 5);
    }
  EXPECT_TRUE(advertised);

  auto md = metadata("java-topic");
  ASSERT_EQ(md.topics.size(), 1u);
  EXPECT_EQ(md.topics[0].error_code, 0);
  EXPECT_FALSE(md.topics[0].topic_id.is_zero());
  ASSERT_EQ(md.brokers.size(), 1u);
  // kafkajs and Java send InitProducerId to the controller: this broker.
  EXPECT_EQ(md.controller_id, md.brokers[0].node_id);

  Producer producer = new_producer();
  EXPECT_GE(producer.id, 0);
  EXPECT_EQ(producer.epoch, 0);

  // Produce 9, 10 and 11, as Java 3.x clients pick by the broker's range.
  int32_t sequence = 0;
  int64_t offset = 0;
  for (int16_t version : std::initializer_list<int16_t>{9, 10, 11}) {
    auto p = produce("java-topic", idempotent_batch(producer, sequence, 3, "v"), version);
    EXPECT_EQ(p.error_code, 0) << "v" << version;
    EXPECT_EQ(p.base_offset, offset) << "v" << version;
    EXPECT_EQ(p.log_append_time_ms, -1);
    EXPECT_EQ(p.log_start_offset, 0);
    sequence += 3;
    offset += 3;
  }

  for (int16_t version : std::initializer_list<int16_t>{7, 8}) {
    EXPECT_EQ(list_offset("java-topic", -2, version).offset, 0) << version;
    auto latest = list_offset("java-topic", -1, version);
    EXPECT_EQ(latest.error_code, 0);
    EXPECT_EQ(latest.offset, 9) << version;
    EXPECT_EQ(latest.leader_epoch, 0);
    auto max = list_offset("java-topic", -3, version);
    EXPECT_EQ(max.offset, 8) << version;  // the last record has the largest timestamp
    EXPECT_EQ(max.timestamp, kTimestamp + 8);
  }

  auto headers = fetch_headers("java-topic", 0);
  ASSERT_EQ(headers.size(), 3u);
  for (size_t i = 0; i < headers.size(); ++i) {
    EXPECT_EQ(headers[i].base_offset, static_cast<int64_t>(3 * i));
    EXPECT_EQ(headers[i].producer_id, producer.id);
    EXPECT_EQ(headers[i].producer_epoch, 0);
    EXPECT_EQ(headers[i].base_sequence, static_cast<int32_t>(3 * i));
  }
}

TEST_F(JavaVersionsTest, InitProducerIdAtEveryVersion) {
  std::vector<int64_t> ids;
  for (int16_t version = 0; version <= 5; ++version) {
    auto r = init_producer_id(version);
    EXPECT_EQ(r.error_code, 0) << "v" << version;
    EXPECT_EQ(r.producer_epoch, 0);
    ids.push_back(r.producer_id);
  }
  for (size_t i = 1; i < ids.size(); ++i) EXPECT_EQ(ids[i], ids[i - 1] + 1);

  // As Kafka: an idempotent producer re-initialising with its id and epoch
  // (v3+) gets a fresh producer id at epoch 0.
  auto again = init_producer_id(5, std::nullopt, {ids.back(), 4});
  EXPECT_EQ(again.error_code, 0);
  EXPECT_EQ(again.producer_id, ids.back() + 1);
  EXPECT_EQ(again.producer_epoch, 0);

  // An id without an epoch (or the reverse) is malformed.
  auto half = init_producer_id(4, std::nullopt, {ids.back(), -1});
  EXPECT_EQ(half.error_code, kInvalidRequest);
  EXPECT_EQ(half.producer_id, -1);

  // A transactional id keeps its producer id, its epoch bumped at every
  // initialisation; an empty one is invalid.
  int16_t epoch = -1;
  int64_t txn_id = -1;
  for (int16_t version : std::initializer_list<int16_t>{1, 4, 5}) {
    auto txn = init_producer_id(version, "my-transaction");
    EXPECT_EQ(txn.error_code, 0) << "v" << version;
    if (txn_id >= 0) {
      EXPECT_EQ(txn.producer_id, txn_id);
    }
    EXPECT_EQ(txn.producer_epoch, epoch + 1);
    txn_id = txn.producer_id;
    epoch = txn.producer_epoch;
    EXPECT_EQ(init_producer_id(version, "").error_code, kInvalidRequest);
  }
}

TEST_F(JavaVersionsTest, ProducerIdsAreNeverReusedAfterARestart) {
  Producer first = new_producer();
  Producer second = new_producer();
  EXPECT_EQ(second.id, first.id + 1);
  restart();
  // The rest of the first block is abandoned, as Kafka's controller does.
  Producer after = new_producer();
  EXPECT_EQ(after.id, first.id + 1000);
  restart();
  EXPECT_EQ(new_producer().id, first.id + 2000);

  // Each block is a ProducerIdsRecord in the metadata log.
  client_.reset();
  ASSERT_EQ(broker_->stop().code, 0);
  std::vector<int64_t> block_ends;
  auto replay = storage::replay_metadata_log(
      dir_ / "data" / storage::kMetadataPartitionDir, [&](const storage::MetadataLogEntry& e) {
        if (auto* r = std::get_if<storage::ProducerIdsRecord>(e.record))
          block_ends.push_back(r->next_producer_id);
      });
  ASSERT_TRUE(replay.ok());
  EXPECT_EQ(block_ends, (std::vector<int64_t>{first.id + 1000, first.id + 2000, first.id + 3000}));
}

TEST_F(JavaVersionsTest, SequenceNumbersAreCheckedAsKafkaDoes) {
  ASSERT_EQ(metadata("seq").topics.at(0).error_code, 0);
  Producer producer = new_producer();
  auto b0 = idempotent_batch(producer, 0, 2, "a");
  auto b1 = idempotent_batch(producer, 2, 2, "b");
  EXPECT_EQ(produce("seq", b0).base_offset, 0);
  EXPECT_EQ(produce("seq", b1).base_offset, 2);

  // A resent batch: its original offset, nothing appended.
  for (int16_t version : std::initializer_list<int16_t>{9, 10, 11}) {
    auto dup = produce("seq", b0, version);
    EXPECT_EQ(dup.error_code, 0);
    EXPECT_EQ(dup.base_offset, 0) << "v" << version;
    EXPECT_EQ(dup.log_start_offset, 0);
  }
  EXPECT_EQ(produce("seq", b1).base_offset, 2);
  EXPECT_EQ(log_end("seq"), 4);

  // A gap.
  auto gap = produce("seq", idempotent_batch(producer, 7, 1, "gap"));
  EXPECT_EQ(gap.error_code, kOutOfOrderSequence);
  EXPECT_EQ(gap.base_offset, -1);
  // A new epoch must start at 0 ...
  Producer bumped{producer.id, 1};
  EXPECT_EQ(produce("seq", idempotent_batch(bumped, 4, 1, "c")).error_code, kOutOfOrderSequence);
  auto fresh = produce("seq", idempotent_batch(bumped, 0, 1, "c"));
  EXPECT_EQ(fresh.error_code, 0);
  EXPECT_EQ(fresh.base_offset, 4);
  // ... after which the old epoch is fenced, duplicates included.
  EXPECT_EQ(produce("seq", idempotent_batch(producer, 4, 1, "d")).error_code,
            kInvalidProducerEpoch);
  EXPECT_EQ(produce("seq", b1).error_code, kInvalidProducerEpoch);
  EXPECT_EQ(log_end("seq"), 5);

  // An unknown producer id may start anywhere (Kafka accepts it too).
  Producer stranger{producer.id + 500, 0};
  EXPECT_EQ(produce("seq", idempotent_batch(stranger, 42, 1, "e")).base_offset, 5);
  EXPECT_EQ(produce("seq", idempotent_batch(stranger, 43, 1, "e")).base_offset, 6);
  EXPECT_EQ(log_end("seq"), 7);
}

TEST_F(JavaVersionsTest, DuplicateAfterARestartGetsItsOriginalOffset) {
  ASSERT_EQ(metadata("durable-seq").topics.at(0).error_code, 0);
  Producer producer = new_producer();
  std::vector<std::vector<uint8_t>> sent;
  for (int i = 0; i < 7; ++i) {
    sent.push_back(idempotent_batch(producer, 2 * i, 2, "r" + std::to_string(i)));
    EXPECT_EQ(produce("durable-seq", sent.back()).base_offset, 2 * i);
  }
  restart();
  // The state was saved at shutdown as Kafka's producer snapshot.
  EXPECT_TRUE(
      std::filesystem::exists(dir_ / "data" / "durable-seq-0" / "00000000000000000014.snapshot"));

  // The last five batches are known again; older ones are not.
  for (int i = 2; i < 7; ++i) {
    auto dup = produce("durable-seq", sent[static_cast<size_t>(i)], 9);
    EXPECT_EQ(dup.error_code, 0) << i;
    EXPECT_EQ(dup.base_offset, 2 * i) << i;
  }
  EXPECT_EQ(produce("durable-seq", sent[0]).error_code, kOutOfOrderSequence);
  EXPECT_EQ(log_end("durable-seq"), 14);
  // The producer carries on where it was.
  EXPECT_EQ(produce("durable-seq", idempotent_batch(producer, 14, 1, "next")).base_offset, 14);
  EXPECT_EQ(produce("durable-seq", idempotent_batch(producer, 16, 1, "gap")).error_code,
            kOutOfOrderSequence);
}

// A producer whose batches lie in segments long rolled away is still known
// after a crash: each roll leaves a producer snapshot, as in Kafka, where
// scanning the last two segments alone would have forgotten it.
TEST_F(JavaVersionsTest, RollSnapshotsKeepProducersOfOldSegmentsAcrossACrash) {
  config_ = {{"log.segment.bytes", "1024"}};
  start();
  ASSERT_EQ(metadata("rolled-seq").topics.at(0).error_code, 0);
  const Producer early = new_producer();
  std::vector<std::vector<uint8_t>> sent;
  for (int i = 0; i < 3; ++i) {
    sent.push_back(idempotent_batch(early, 2 * i, 2, "early" + std::to_string(i)));
    ASSERT_EQ(produce("rolled-seq", sent.back()).base_offset, 2 * i);
  }
  const Producer busy = new_producer();
  for (int i = 0; i < 60; ++i)
    ASSERT_EQ(produce("rolled-seq", idempotent_batch(busy, 2 * i, 2, "busy")).error_code, 0);

  // The newest snapshot sits at the newest segment's base offset.
  const auto partition_dir = dir_ / "data" / "rolled-seq-0";
  std::vector<std::string> logs, snapshots;
  for (const auto& entry : std::filesystem::directory_iterator(partition_dir)) {
    if (entry.path().extension() == ".log") logs.push_back(entry.path().stem().string());
    if (entry.path().extension() == ".snapshot") snapshots.push_back(entry.path().stem().string());
  }
  std::sort(logs.begin(), logs.end());
  ASSERT_GT(logs.size(), 3u);
  ASSERT_EQ(snapshots.size(), 1u);
  EXPECT_EQ(snapshots[0], logs.back());

  broker_->kill_hard();  // no snapshot at shutdown this time
  start();
  auto dup = produce("rolled-seq", sent[2], 9);
  EXPECT_EQ(dup.error_code, 0);
  EXPECT_EQ(dup.base_offset, 4);
  EXPECT_EQ(log_end("rolled-seq"), 126);
  EXPECT_EQ(produce("rolled-seq", idempotent_batch(early, 6, 1, "next")).base_offset, 126);
}

}  // namespace
}  // namespace kb::testing
