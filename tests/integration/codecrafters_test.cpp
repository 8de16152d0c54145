// The CodeCrafters "Build your own Kafka" course against the real broker, on a
// log directory laid out the way its tester lays one out (codecrafters-io/
// kafka-tester, protocol/kafka_files_generator): meta.properties with the
// directory id padded to 24 characters, a metadata log starting at offset 1
// (FeatureLevelRecord, then per topic a TopicRecord and PartitionRecords v1),
// partition directories holding only partition.metadata and the .log (no index
// or checkpoint files; an empty partition has an empty .log), the tester's
// own record batches (producer id 0 in each, header count -1) and
// .kafka_cleanshutdown. The broker reads the tester's server.properties: no
// trailing newline, SSL and SASL listeners in the protocol map, a controller
// quorum; only its ports are overridden for the test. Then the course's flows
// with raw frames: ApiVersions, DescribeTopicPartitions, Fetch v16 by topic id,
// Produce v11 with the segment file checked after.
//
// Topic names, ids, partition counts and record values are random on every run
// (the seed is printed on failure); some ids are written padded, some plain.

#include <gtest/gtest.h>

#include <algorithm>
#include <climits>
#include <random>
#include <set>

#include "kb/protocol/messages/api_versions.hpp"
#include "kb/protocol/messages/describe_topic_partitions.hpp"
#include "kb/protocol/messages/fetch.hpp"
#include "kb/protocol/messages/produce.hpp"
#include "kb/storage/record_batch.hpp"
#include "support/broker_process.hpp"
#include "support/kafka_client.hpp"
#include "support/kafka_log_dir_writer.hpp"

namespace kb::testing {
namespace {

using protocol::ApiVersionsRequest;
using protocol::ApiVersionsResponse;
using protocol::DescribeTopicPartitionsRequest;
using protocol::DescribeTopicPartitionsResponse;
using protocol::FetchRequest;
using protocol::FetchResponse;
using protocol::ProduceRequest;
using protocol::ProduceResponse;

constexpr int16_t kUnknownTopicOrPartition = 3;
constexpr int16_t kUnsupportedVersion = 35;
constexpr int16_t kUnknownTopicId = 100;
// The tester stamps every record it writes or produces with this time.
constexpr int64_t kTesterTimestamp = 1726045973899;

// The tester's server.properties, byte for byte but for log.dirs: no newline
// after the last line.
std::string tester_server_properties(const std::filesystem::path& log_dir) {
  return "process.roles=broker,controller\n"
         "node.id=1\n"
         "controller.quorum.voters=1@localhost:9093\n"
         "listeners=PLAINTEXT://:9092,CONTROLLER://:9093\n"
         "controller.listener.names=CONTROLLER\n"
         "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL,"
         "SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL\n"
         "log.dirs=" +
         log_dir.string();
}

// The tester's directory id, 10000000-0000-4000-8000-000000000001.
wire::Uuid tester_directory_id() {
  wire::Uuid id;
  id.bytes = {0x10, 0, 0, 0, 0, 0, 0x40, 0, 0x80, 0, 0, 0, 0, 0, 0, 0x01};
  return id;
}

// Ids as the tester draws them: 71a59a51-8968-4f8b-937e-<12 random hex digits>,
// kept only when their base64 has the same text in both alphabets.
wire::Uuid tester_topic_id(std::mt19937_64& rng) {
  while (true) {
    wire::Uuid id;
    id.bytes = {0x71, 0xa5, 0x9a, 0x51, 0x89, 0x68, 0x4f, 0x8b, 0x93, 0x7e};
    for (size_t i = 10; i < 16; ++i) id.bytes[i] = static_cast<uint8_t>(rng());
    if (id.to_base64().find_first_of("-_") == std::string::npos) return id;
  }
}

std::string random_word(std::mt19937_64& rng) {
  std::string word;
  const size_t length = 3 + rng() % 6;
  for (size_t i = 0; i < length; ++i) word += static_cast<char>('a' + rng() % 26);
  return word;
}

storage::Bytes text(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// A batch as the tester produces it: its words as record values without keys
// or headers, producer id 0, epoch 0, base sequence 0, one timestamp. With
// `idempotent` false the batch carries no producer id instead.
std::vector<uint8_t> produced_batch(const std::vector<std::string>& values,
                                    bool idempotent = true) {
  storage::RecordBatchBuilder builder;
  if (idempotent) builder.set_producer_id(0).set_producer_epoch(0).set_base_sequence(0);
  for (const auto& v : values) builder.add_record(std::nullopt, text(v), kTesterTimestamp);
  return builder.build();
}

std::vector<uint8_t> concat(const std::vector<std::vector<uint8_t>>& batches) {
  std::vector<uint8_t> out;
  for (const auto& b : batches) out.insert(out.end(), b.begin(), b.end());
  return out;
}

std::vector<uint8_t> file_bytes(const std::filesystem::path& path) {
  std::string s = read_file(path);
  return {s.begin(), s.end()};
}

class CodeCraftersLayoutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    seed_ = std::random_device{}();
    rng_.seed(seed_);
    root_ = make_temp_dir("kb-codecrafters-");
    log_dir_ = root_ / "kraft-combined-logs";

    // Distinct names, in an order unrelated to their sorted one.
    std::set<std::string> names;
    while (names.size() < 4) names.insert(random_word(rng_));
    std::vector<std::string> shuffled(names.begin(), names.end());
    std::shuffle(shuffled.begin(), shuffled.end(), rng_);

    KafkaLogDirSpec spec;
    spec.seed = seed_;
    spec.node_id = 1;
    spec.cluster_id = "IAAAAAAAQACAAAAAAAAAAQ";
    spec.directory_id = tester_directory_id();
    spec.directory_id_text = UuidText::padded;
    spec.metadata_version = 20;
    spec.partition_record_version = 1;
    spec.controller_epoch = 1;
    spec.leader_change_batch = false;
    spec.register_broker = false;
    spec.metadata_first_offset = 1;
    spec.index_files = false;
    spec.checkpoint_files = false;
    spec.metadata_partition_metadata = true;
    spec.clean_shutdown_marker = R"({"version":0,"brokerEpoch":10})";
    spec.first_timestamp_ms = kTesterTimestamp;
    spec.max_value_bytes = 20;

    auto add_topic = [&](const std::string& name, int32_t partitions, int32_t batches,
                         int32_t records, UuidText id_text, bool tester_batches) {
      KafkaTopicSpec t;
      t.name = name;
      t.partitions = partitions;
      t.batches_per_partition = batches;
      t.records_per_batch = records;
      t.topic_id = tester_topic_id(rng_);
      t.topic_id_text = id_text;
      t.codecrafters_batches = tester_batches;
      spec.topics.push_back(t);
      return t;
    };
    // One batch of one record (the course's single-message Fetch).
    single_ = add_topic(shuffled[0], 1, 1, 1, UuidText::padded, true);
    // Several partitions of several one-record batches (its many-message Fetch).
    many_ = add_topic(shuffled[1], 2 + static_cast<int32_t>(rng_() % 3),
                      2 + static_cast<int32_t>(rng_() % 4), 1, UuidText::plain, true);
    // Empty partitions (its Produce stages write to these).
    empty_ =
        add_topic(shuffled[2], 2 + static_cast<int32_t>(rng_() % 2), 0, 1, UuidText::padded, true);
    // Batches of several records as Kafka's clients write them, beside the
    // tester's own.
    kafka_style_ = add_topic(shuffled[3], 2, 3, 3, UuidText::plain, false);
    written_ = write_kafka_log_dir(log_dir_, spec);
  }

  void TearDown() override {
    broker_.reset();
    std::filesystem::remove_all(root_);
  }

  void start_broker() {
    broker_.reset();
    broker_ = std::make_unique<BrokerProcess>(
        BrokerProcess::ExactConfig{}, tester_server_properties(log_dir_),
        std::vector<std::string>{"--override",
                                 "listeners=PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:0"},
        log_dir_);
  }

  const WrittenPartition& partition(const KafkaTopicSpec& topic, int32_t index) const {
    for (const auto& p : written_.partitions)
      if (p.topic == topic.name && p.partition == index) return p;
    throw std::runtime_error("no such written partition");
  }
  wire::Uuid id_of(const KafkaTopicSpec& topic) const { return written_.topic_ids.at(topic.name); }

  // Fetch v16 as the tester sends it: one partition by topic id from offset 0,
  // waiting up to 500 ms for a byte, no size limits.
  FetchResponse fetch(TypedClient& client, const wire::Uuid& topic_id, int32_t partition) {
    FetchRequest req;
    req.max_wait_ms = 500;
    req.min_bytes = 1;
    req.max_bytes = INT32_MAX;
    req.session_id = 0;
    req.session_epoch = 0;
    auto& t = req.topics.emplace_back();
    t.topic_id = topic_id;
    auto& p = t.partitions.emplace_back();
    p.partition = partition;
    p.current_leader_epoch = -1;
    p.fetch_offset = 0;
    p.last_fetched_epoch = -1;
    p.log_start_offset = -1;
    p.partition_max_bytes = INT32_MAX;
    return client.call<FetchResponse>(req, 16);
  }

  // The records of the one partition of a Fetch answer (empty when none).
  static std::vector<uint8_t> records_of(const FetchResponse& response) {
    const auto& p = response.responses.at(0).partitions.at(0);
    if (!p.records) return {};
    return {p.records->begin(), p.records->end()};
  }

  std::string where() const { return "seed " + std::to_string(seed_); }

  uint64_t seed_ = 0;
  std::mt19937_64 rng_;
  std::filesystem::path root_;
  std::filesystem::path log_dir_;
  WrittenLogDir written_;
  KafkaTopicSpec single_, many_, empty_, kafka_style_;
  std::unique_ptr<BrokerProcess> broker_;
};

TEST_F(CodeCraftersLayoutTest, FixturesUseTheTestersTextForms) {
  // The facts the fixture mirrors, so a change to the writer shows here.
  EXPECT_EQ(uuid_text(tester_directory_id(), UuidText::padded), "EAAAAAAAQACAAAAAAAAAAQ==");
  const std::string meta = read_file(log_dir_ / "meta.properties");
  EXPECT_NE(meta.find("\ndirectory.id=EAAAAAAAQACAAAAAAAAAAQ==\n"), std::string::npos) << meta;
  const std::string padded = read_file(partition(single_, 0).dir / "partition.metadata");
  EXPECT_EQ(padded, "version: 0\ntopic_id: " + id_of(single_).to_base64() + "==");
  const std::string plain = read_file(partition(many_, 0).dir / "partition.metadata");
  EXPECT_EQ(plain, "version: 0\ntopic_id: " + id_of(many_).to_base64());
  EXPECT_FALSE(std::filesystem::exists(partition(single_, 0).dir / "00000000000000000000.index"));
  EXPECT_EQ(std::filesystem::file_size(partition(empty_, 0).dir / "00000000000000000000.log"), 0u);
  // The metadata log's first batch is at offset 1, as the tester writes it.
  auto first = storage::RecordBatchView::parse(written_.metadata_batches.at(0));
  ASSERT_TRUE(first);
  EXPECT_EQ(first->base_offset(), 1);
}

TEST_F(CodeCraftersLayoutTest, StartsOnTheTestersFilesWithoutRewritingThem) {
  const std::string meta_before = read_file(log_dir_ / "meta.properties");
  std::map<std::string, std::string> partition_metadata_before;
  for (const auto& p : written_.partitions)
    partition_metadata_before[p.dir.string()] = read_file(p.dir / "partition.metadata");
  ASSERT_NO_THROW(start_broker()) << where();
  EXPECT_EQ(read_file(log_dir_ / "meta.properties"), meta_before);
  for (const auto& [dir, text] : partition_metadata_before)
    EXPECT_EQ(read_file(std::filesystem::path(dir) / "partition.metadata"), text) << dir;
  EXPECT_TRUE(broker_->alive());
}

TEST_F(CodeCraftersLayoutTest, ApiVersionsV4AndAnUnsupportedVersion) {
  start_broker();
  RawClient client(broker_->port());
  ApiVersionsRequest request;
  request.client_software_name = "kafka-tester";
  request.client_software_version = "0.1";
  std::vector<uint8_t> body;
  auto response = call<ApiVersionsResponse>(client, request, 4, body, 7);
  EXPECT_EQ(response.error_code, 0);
  EXPECT_EQ(response.throttle_time_ms, 0);
  // What the course's stages ask for: each key with at least this range.
  const std::vector<std::tuple<int16_t, int16_t, int16_t>> expected = {
      {18, 0, 4}, {75, 0, 0}, {1, 0, 16}, {0, 0, 11}};
  for (const auto& [key, min, max] : expected) {
    auto entry = std::find_if(response.api_keys.begin(), response.api_keys.end(),
                              [&](const auto& k) { return k.api_key == key; });
    ASSERT_NE(entry, response.api_keys.end()) << "api key " << key;
    EXPECT_LE(entry->min_version, min) << "api key " << key;
    EXPECT_GE(entry->max_version, max) << "api key " << key;
  }

  // The tester asks at a version between 1000 and 2000: Kafka answers in the
  // v0 layout with UNSUPPORTED_VERSION and ApiVersions' own range (0-5 in
  // Kafka 4.4).
  const auto version = static_cast<int16_t>(1000 + rng_() % 1001);
  client.send_bytes(encode_request(request, version, 1234567));
  auto frame = client.read_frame();
  ASSERT_TRUE(frame) << "closed at v" << version;
  const std::vector<uint8_t> unsupported = {
      0x00, 0x12, 0xd6, 0x87, 0, kUnsupportedVersion, 0, 0, 0, 1, 0, 18, 0, 0, 0, 5};
  EXPECT_EQ(*frame, unsupported) << "v" << version;
}

TEST_F(CodeCraftersLayoutTest, DescribeTopicPartitionsOverSeveralTopics) {
  start_broker();
  TypedClient client(broker_->port());
  const std::string unknown = "UNKNOWN_TOPIC_" + std::to_string(1 + rng_() % 99);
  const std::vector<const KafkaTopicSpec*> known = {&single_, &many_, &empty_, &kafka_style_};
  DescribeTopicPartitionsRequest request;
  std::vector<std::string> asked;
  int32_t total_partitions = 0;
  for (const auto* t : known) {
    asked.push_back(t->name);
    total_partitions += t->partitions;
  }
  asked.insert(asked.begin() + static_cast<long>(rng_() % (asked.size() + 1)), unknown);
  for (const auto& name : asked) request.topics.push_back({name});
  request.response_partition_limit = total_partitions;
  auto response = client.call<DescribeTopicPartitionsResponse>(request, 0);

  EXPECT_EQ(response.throttle_time_ms, 0);
  EXPECT_FALSE(response.next_cursor) << where();
  std::vector<std::string> sorted = asked;
  std::sort(sorted.begin(), sorted.end());
  ASSERT_EQ(response.topics.size(), sorted.size()) << where();
  for (size_t i = 0; i < sorted.size(); ++i) {
    const auto& topic = response.topics[i];
    ASSERT_TRUE(topic.name);
    EXPECT_EQ(*topic.name, sorted[i]) << "topics in name order; " << where();
    if (sorted[i] == unknown) {
      EXPECT_EQ(topic.error_code, kUnknownTopicOrPartition);
      EXPECT_TRUE(topic.topic_id.is_zero());
      EXPECT_TRUE(topic.partitions.empty());
      continue;
    }
    const auto* spec = *std::find_if(known.begin(), known.end(),
                                     [&](const auto* t) { return t->name == sorted[i]; });
    EXPECT_EQ(topic.error_code, 0);
    EXPECT_EQ(topic.topic_id, id_of(*spec)) << sorted[i];
    EXPECT_FALSE(topic.is_internal);
    ASSERT_EQ(topic.partitions.size(), static_cast<size_t>(spec->partitions)) << sorted[i];
    for (int32_t p = 0; p < spec->partitions; ++p) {
      const auto& partition = topic.partitions[static_cast<size_t>(p)];
      EXPECT_EQ(partition.partition_index, p) << "partitions in index order";
      EXPECT_EQ(partition.error_code, 0);
      EXPECT_EQ(partition.leader_id, 1);
      EXPECT_EQ(partition.leader_epoch, 0);
      EXPECT_EQ(partition.replica_nodes, std::vector<int32_t>{1});
      EXPECT_EQ(partition.isr_nodes, std::vector<int32_t>{1});
      EXPECT_TRUE(partition.offline_replicas.empty());
    }
  }

  // The unknown topic alone, as the course's stage asks it (limit 1).
  DescribeTopicPartitionsRequest alone;
  alone.topics.push_back({unknown});
  alone.response_partition_limit = 1;
  auto only = client.call<DescribeTopicPartitionsResponse>(alone, 0);
  ASSERT_EQ(only.topics.size(), 1u);
  EXPECT_EQ(only.topics[0].error_code, kUnknownTopicOrPartition);
  EXPECT_EQ(only.topics[0].name, unknown);
  EXPECT_TRUE(only.topics[0].topic_id.is_zero());
  EXPECT_FALSE(only.next_cursor);
}

TEST_F(CodeCraftersLayoutTest, FetchByTopicIdServesTheWrittenBatchesByteForByte) {
  start_broker();
  TypedClient client(broker_->port());
  auto check = [&](const KafkaTopicSpec& topic, int32_t index) {
    const WrittenPartition& written = partition(topic, index);
    auto response = fetch(client, id_of(topic), index);
    EXPECT_EQ(response.throttle_time_ms, 0);
    EXPECT_EQ(response.error_code, 0);
    ASSERT_EQ(response.responses.size(), 1u);
    EXPECT_EQ(response.responses[0].topic_id, id_of(topic));
    ASSERT_EQ(response.responses[0].partitions.size(), 1u);
    const auto& p = response.responses[0].partitions[0];
    EXPECT_EQ(p.partition_index, index);
    EXPECT_EQ(p.error_code, 0);
    EXPECT_EQ(p.high_watermark, written.log_end_offset);
    EXPECT_EQ(p.log_start_offset, 0);
    EXPECT_EQ(records_of(response), concat(written.batches))
        << topic.name << "-" << index << " " << where();
  };
  for (int32_t p = 0; p < empty_.partitions; ++p) check(empty_, p);
  check(single_, 0);
  for (int32_t p = 0; p < many_.partitions; ++p) check(many_, p);
  for (int32_t p = 0; p < kafka_style_.partitions; ++p) check(kafka_style_, p);

  // A topic id nobody wrote: UNKNOWN_TOPIC_ID in the partition, the id echoed.
  wire::Uuid unknown = tester_topic_id(rng_);
  while (std::any_of(written_.topic_ids.begin(), written_.topic_ids.end(),
                     [&](const auto& e) { return e.second == unknown; }))
    unknown = tester_topic_id(rng_);
  auto response = fetch(client, unknown, 0);
  EXPECT_EQ(response.error_code, 0);
  ASSERT_EQ(response.responses.size(), 1u);
  EXPECT_EQ(response.responses[0].topic_id, unknown);
  ASSERT_EQ(response.responses[0].partitions.size(), 1u);
  EXPECT_EQ(response.responses[0].partitions[0].partition_index, 0);
  EXPECT_EQ(response.responses[0].partitions[0].error_code, kUnknownTopicId);
  EXPECT_TRUE(records_of(response).empty());
}

TEST_F(CodeCraftersLayoutTest, ProduceToExistingAndUnknownTopicsAndPartitions) {
  start_broker();
  TypedClient client(broker_->port());
  auto words = [&] {
    std::vector<std::string> out(2 + rng_() % 2);
    for (auto& w : out) w = random_word(rng_);
    return out;
  };

  // As the course's last stage: every partition of two topics in one request,
  // each empty before. Here the empty topic and the many-batch topic, whose
  // partitions already end at log_end_offset (a batch without a producer id
  // there: the tester's producer id 0 would have to continue its sequence).
  struct Sent {
    const KafkaTopicSpec* topic;
    int32_t partition;
    std::vector<uint8_t> batch;
    int64_t base_offset;
  };
  std::vector<Sent> sent;
  for (int32_t p = 0; p < empty_.partitions; ++p)
    sent.push_back({&empty_, p, produced_batch(words()), 0});
  for (int32_t p = 0; p < many_.partitions; ++p)
    sent.push_back({&many_, p, produced_batch(words(), false), partition(many_, p).log_end_offset});

  ProduceRequest request;
  request.acks = -1;
  request.timeout_ms = 30000;
  for (const auto* topic : {&empty_, &many_}) {
    auto& t = request.topic_data.emplace_back();
    t.name = topic->name;
    for (const auto& s : sent)
      if (s.topic == topic) t.partition_data.push_back({s.partition, storage::Bytes(s.batch)});
  }
  auto response = client.call<ProduceResponse>(request, 11);
  EXPECT_EQ(response.throttle_time_ms, 0);
  ASSERT_EQ(response.responses.size(), 2u);
  for (const auto& s : sent) {
    auto topic = std::find_if(response.responses.begin(), response.responses.end(),
                              [&](const auto& t) { return t.name == s.topic->name; });
    ASSERT_NE(topic, response.responses.end()) << s.topic->name;
    auto p = std::find_if(topic->partition_responses.begin(), topic->partition_responses.end(),
                          [&](const auto& r) { return r.index == s.partition; });
    ASSERT_NE(p, topic->partition_responses.end()) << s.topic->name << "-" << s.partition;
    EXPECT_EQ(p->error_code, 0) << s.topic->name << "-" << s.partition;
    EXPECT_EQ(p->base_offset, s.base_offset) << s.topic->name << "-" << s.partition;
    EXPECT_EQ(p->log_append_time_ms, -1);
    EXPECT_EQ(p->log_start_offset, 0);
  }

  // Unknown partitions of a known topic, and an unknown topic: Kafka's
  // UNKNOWN_TOPIC_OR_PARTITION with every offset -1, nothing written anywhere.
  const std::string unknown_topic = "UNKNOWN_TOPIC_" + random_word(rng_);
  const auto unknown_partition = static_cast<int32_t>(100 + rng_() % 900);
  const auto stray = produced_batch(words());
  for (const auto& [name, index] :
       std::vector<std::pair<std::string, int32_t>>{{single_.name, unknown_partition},
                                                    {unknown_topic, 0},
                                                    {empty_.name, empty_.partitions}}) {
    ProduceRequest bad;
    bad.acks = -1;
    bad.timeout_ms = 30000;
    auto& t = bad.topic_data.emplace_back();
    t.name = name;
    t.partition_data.push_back({index, storage::Bytes(stray)});
    auto answer = client.call<ProduceResponse>(bad, 11);
    ASSERT_EQ(answer.responses.size(), 1u);
    EXPECT_EQ(answer.responses[0].name, name);
    ASSERT_EQ(answer.responses[0].partition_responses.size(), 1u);
    const auto& p = answer.responses[0].partition_responses[0];
    EXPECT_EQ(p.index, index);
    EXPECT_EQ(p.error_code, kUnknownTopicOrPartition) << name << "-" << index;
    EXPECT_EQ(p.base_offset, -1);
    EXPECT_EQ(p.log_append_time_ms, -1);
    EXPECT_EQ(p.log_start_offset, -1);
    EXPECT_FALSE(std::filesystem::exists(log_dir_ / (name + "-" + std::to_string(index))));
  }

  // On disk: each segment is what was there, then the produced batch with its
  // base offset assigned; the tester reads the first batch of the file.
  auto check_files = [&] {
    for (const auto& s : sent) {
      const WrittenPartition& written = partition(*s.topic, s.partition);
      auto expected = concat(written.batches);
      auto stored = as_stored(s.batch, s.base_offset);
      expected.insert(expected.end(), stored.begin(), stored.end());
      EXPECT_EQ(file_bytes(written.dir / "00000000000000000000.log"), expected)
          << s.topic->name << "-" << s.partition << " " << where();
    }
  };
  check_files();
  // And Fetch serves them.
  for (const auto& s : sent) {
    auto fetched = fetch(client, id_of(*s.topic), s.partition);
    auto expected = concat(partition(*s.topic, s.partition).batches);
    auto stored = as_stored(s.batch, s.base_offset);
    expected.insert(expected.end(), stored.begin(), stored.end());
    EXPECT_EQ(records_of(fetched), expected) << s.topic->name << "-" << s.partition;
  }

  // The same after a clean restart, which writes the broker's own files.
  ASSERT_EQ(broker_->stop().code, 0) << broker_->log();
  check_files();
  start_broker();
  TypedClient again(broker_->port());
  for (const auto& s : sent) {
    auto fetched = fetch(again, id_of(*s.topic), s.partition);
    auto stored = as_stored(s.batch, s.base_offset);
    auto expected = concat(partition(*s.topic, s.partition).batches);
    expected.insert(expected.end(), stored.begin(), stored.end());
    EXPECT_EQ(records_of(fetched), expected) << "after restart " << s.topic->name;
  }
}

// Without .kafka_cleanshutdown every segment is recovered: the tester's
// batches (header counts of -1, producer id 0 at sequence 0 again and again)
// are whole batches with good CRCs, as Kafka's recovery sees them, and stay.
TEST_F(CodeCraftersLayoutTest, WithoutTheCleanShutdownMarkerTheFilesAreRecoveredIntact) {
  std::filesystem::remove(log_dir_ / ".kafka_cleanshutdown");
  start_broker();
  TypedClient client(broker_->port());
  for (const auto* topic : {&single_, &many_, &kafka_style_, &empty_})
    for (int32_t p = 0; p < topic->partitions; ++p) {
      const WrittenPartition& written = partition(*topic, p);
      auto response = fetch(client, id_of(*topic), p);
      EXPECT_EQ(response.responses.at(0).partitions.at(0).error_code, 0);
      EXPECT_EQ(records_of(response), concat(written.batches)) << topic->name << "-" << p;
      EXPECT_EQ(file_bytes(written.dir / "00000000000000000000.log"), concat(written.batches));
    }
}

}  // namespace
}  // namespace kb::testing
