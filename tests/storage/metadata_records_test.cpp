#include "kb/storage/metadata_records.hpp"

#include <gtest/gtest.h>

#include <random>

#include "kb/storage/record_batch.hpp"
#include "storage_test_util.hpp"

namespace kb::storage {
namespace {

using test::ByteVec;

Uuid uuid_of(uint8_t seed) {
  Uuid u;
  for (size_t i = 0; i < 16; ++i) u.bytes[i] = static_cast<uint8_t>(seed + i);
  return u;
}

template <class R>
void expect_round_trip(const R& record, int16_t version) {
  ByteVec bytes = encode_metadata_record(record, version);
  auto decoded = decode_metadata_record(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(decoded->version, version);
  const R* back = std::get_if<R>(&decoded->record);
  ASSERT_NE(back, nullptr);
  EXPECT_EQ(*back, record) << "type " << R::kType << " version " << version;
  // Re-encoding the decoded record gives the same bytes.
  ByteBuffer again;
  encode_metadata_record(decoded->record, version, again);
  EXPECT_EQ(ByteVec(again.data(), again.data() + again.size()), bytes);
}

RegisterBrokerRecord sample_broker(int16_t version) {
  RegisterBrokerRecord r;
  r.broker_id = 3;
  r.is_migrating_zk_broker = version >= 2;
  r.incarnation_id = uuid_of(1);
  r.broker_epoch = 99;
  r.end_points = {{"PLAINTEXT", "localhost", 9092, 0}, {"SSL", "host.example", 9093, 1}};
  r.features = {{"metadata.version", 1, 25}};
  r.rack = version % 2 ? std::optional<std::string>("rack-a") : std::nullopt;
  r.fenced = false;
  r.in_controlled_shutdown = version >= 1;
  if (version >= 3) r.log_dirs = {uuid_of(40), uuid_of(60)};
  if (version >= 4) r.cordoned_log_dirs = std::vector<Uuid>{uuid_of(41)};
  return r;
}

PartitionRecord sample_partition(int16_t version) {
  PartitionRecord r;
  r.partition_id = 4;
  r.topic_id = uuid_of(9);
  r.replicas = {1, 2, 3};
  r.isr = {1, 2};
  r.removing_replicas = {3};
  r.adding_replicas = {};
  r.leader = 1;
  r.leader_recovery_state = 1;
  r.leader_epoch = 6;
  r.partition_epoch = 8;
  if (version >= 1) r.directories = {uuid_of(20), uuid_of(21), uuid_of(22)};
  if (version >= 2) {
    r.eligible_leader_replicas = std::vector<int32_t>{2};
    r.last_known_elr = std::vector<int32_t>{};
  }
  return r;
}

PartitionChangeRecord sample_change(int16_t version) {
  PartitionChangeRecord r;
  r.partition_id = 0;
  r.topic_id = uuid_of(5);
  r.isr = std::vector<int32_t>{1};
  r.leader = -1;
  r.replicas = std::vector<int32_t>{1, 2};
  r.removing_replicas = std::vector<int32_t>{};
  r.adding_replicas = std::vector<int32_t>{2};
  r.leader_recovery_state = 0;
  if (version >= 1) r.directories = std::vector<Uuid>{uuid_of(70), uuid_of(71)};
  if (version >= 2) {
    r.eligible_leader_replicas = std::vector<int32_t>{2};
    r.last_known_elr = std::vector<int32_t>{1};
  }
  return r;
}

TEST(MetadataRecords, EveryTypeRoundTripsAtEveryVersion) {
  for (int16_t v = 0; v <= RegisterBrokerRecord::kMaxVersion; ++v)
    expect_round_trip(sample_broker(v), v);
  expect_round_trip(TopicRecord{"orders", uuid_of(2)}, 0);
  for (int16_t v = 0; v <= PartitionRecord::kMaxVersion; ++v)
    expect_round_trip(sample_partition(v), v);
  expect_round_trip(ConfigRecord{2, "orders", "retention.ms", "1000"}, 0);
  expect_round_trip(ConfigRecord{2, "orders", "retention.ms", std::nullopt}, 0);
  for (int16_t v = 0; v <= PartitionChangeRecord::kMaxVersion; ++v)
    expect_round_trip(sample_change(v), v);
  expect_round_trip(PartitionChangeRecord{}, 0);
  expect_round_trip(RemoveTopicRecord{uuid_of(3)}, 0);
  expect_round_trip(FeatureLevelRecord{"metadata.version", 25}, 0);
  expect_round_trip(ProducerIdsRecord{1, 5, 1000}, 0);
}

// Kafka's names of the types, as its start-up log names what it keeps.
TEST(MetadataRecords, TypeNamesAreKafkas) {
  EXPECT_EQ(metadata_record_type_name(0), "RegisterBrokerRecord");
  EXPECT_EQ(metadata_record_type_name(17), "BrokerRegistrationChangeRecord");
  EXPECT_EQ(metadata_record_type_name(20), "NoOpRecord");
  EXPECT_EQ(metadata_record_type_name(27), "RegisterControllerRecord");
  EXPECT_EQ(metadata_record_type_name(29), "UnregisterControllerRecord");
  EXPECT_EQ(metadata_record_type_name(6), "unknown type");
  EXPECT_EQ(metadata_record_type_name(1000), "unknown type");
  EXPECT_EQ(control_record_type_name(2), "LeaderChange");
  EXPECT_EQ(control_record_type_name(6), "KRaftVoters");
  EXPECT_EQ(control_record_type_name(-1), "unknown control type");
}

// Apache Kafka 4.4's own RegisterBrokerRecord (version 4, with its log
// directory in tag 0 and no cordoned directories) from a node it formatted
// and started: read, and written back byte for byte.
TEST(MetadataRecords, DecodesKafka44RegisterBrokerRecord) {
  const ByteVec bytes = test::from_hex(test::kKafka44RegisterBrokerHex);
  auto decoded = decode_metadata_record(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(decoded->version, 4);
  const auto* r = std::get_if<RegisterBrokerRecord>(&decoded->record);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->broker_id, 1);
  EXPECT_EQ(r->broker_epoch, 19);
  ASSERT_EQ(r->end_points.size(), 1u);
  EXPECT_EQ(r->end_points[0].host, "127.0.0.1");
  EXPECT_EQ(r->end_points[0].port, 38192);
  EXPECT_EQ(r->features.size(), 7u);
  EXPECT_EQ(r->log_dirs.size(), 1u);
  EXPECT_FALSE(r->cordoned_log_dirs.has_value());
  ByteBuffer again;
  encode_metadata_record(decoded->record, 4, again);
  EXPECT_EQ(ByteVec(again.data(), again.data() + again.size()), bytes);
}

TEST(MetadataRecords, DecodesKnownFeatureLevelBytes) {
  // frame 1, type 12, version 0, "metadata.version" (compact: 17), level 20, no tags
  ByteVec bytes = test::from_hex("010c00116d657461646174612e76657273696f6e001400");
  auto decoded = decode_metadata_record(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  auto* r = std::get_if<FeatureLevelRecord>(&decoded->record);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->name, "metadata.version");
  EXPECT_EQ(r->feature_level, 20);
  EXPECT_EQ(encode_metadata_record(*r, 0), bytes);
}

TEST(MetadataRecords, DecodesKafkaWrittenTopicAndPartitions) {
  ByteVec log = test::from_hex(test::kKafkaMetadataLogHex);
  BatchSplit split = split_batches(log);
  ASSERT_EQ(split.batches.size(), 2u);
  std::vector<DecodedMetadataRecord> decoded;
  std::vector<ByteVec> values;
  for (const auto& batch : split.batches) {
    RecordIterator it(batch);
    RecordView rec;
    while (it.next(rec)) values.emplace_back(rec.value->begin(), rec.value->end());
  }
  ASSERT_EQ(values.size(), 4u);
  for (const auto& v : values) {
    auto d = decode_metadata_record(v);
    ASSERT_TRUE(d.ok()) << d.error().message;
    decoded.push_back(std::move(*d));
  }
  Uuid topic_id;
  ASSERT_TRUE(Uuid::from_base64("AAAAAAAAQACAAAAAAAAAkQ", topic_id));
  auto* topic = std::get_if<TopicRecord>(&decoded[1].record);
  ASSERT_NE(topic, nullptr);
  EXPECT_EQ(topic->name, "saz");
  EXPECT_EQ(topic->topic_id, topic_id);
  for (int p = 0; p < 2; ++p) {
    auto* partition = std::get_if<PartitionRecord>(&decoded[2 + p].record);
    ASSERT_NE(partition, nullptr);
    EXPECT_EQ(decoded[2 + p].version, 1);
    EXPECT_EQ(partition->partition_id, p);
    EXPECT_EQ(partition->topic_id, topic_id);
    EXPECT_EQ(partition->replicas, std::vector<int32_t>{1});
    EXPECT_EQ(partition->isr, std::vector<int32_t>{1});
    EXPECT_TRUE(partition->removing_replicas.empty());
    EXPECT_TRUE(partition->adding_replicas.empty());
    EXPECT_EQ(partition->leader, 1);
    EXPECT_EQ(partition->leader_epoch, 0);
    EXPECT_EQ(partition->partition_epoch, 0);
    ASSERT_EQ(partition->directories.size(), 1u);
    EXPECT_EQ(encode_metadata_record(*partition, 1), values[2 + p]);
  }
  EXPECT_EQ(encode_metadata_record(*topic, 0), values[1]);
}

TEST(MetadataRecords, DecodesTaggedFieldsByHand) {
  // PartitionChangeRecord v0: partition 1, topic id 00..0f, tags: 0 = isr [1],
  // 1 = leader 1.
  ByteVec bytes = test::from_hex(
      "01 05 00  00000001  000102030405060708090a0b0c0d0e0f"
      "02  00 05 02 00000001  01 04 00000001");
  auto decoded = decode_metadata_record(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  auto* r = std::get_if<PartitionChangeRecord>(&decoded->record);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->partition_id, 1);
  EXPECT_EQ(r->topic_id, uuid_of(0));
  EXPECT_EQ(r->isr, std::vector<int32_t>{1});
  EXPECT_EQ(r->leader, 1);
  EXPECT_FALSE(r->replicas.has_value());
  EXPECT_EQ(r->leader_recovery_state, kRecoveryStateUnchanged);
  EXPECT_EQ(encode_metadata_record(*r, 0), bytes);
  // "Unchanged" is what the schema gives as the tagged fields' defaults.
  EXPECT_EQ(PartitionChangeRecord{}.leader, kLeaderUnchanged);
  EXPECT_EQ(PartitionChangeRecord{}.leader_recovery_state, kRecoveryStateUnchanged);

  // An unknown tag (9) is skipped.
  ByteVec with_unknown = test::from_hex(
      "01 05 00  00000001  000102030405060708090a0b0c0d0e0f"
      "01  09 02 aa bb");
  decoded = decode_metadata_record(with_unknown);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
}

// An ACL as Kafka's schema lays it out (AccessControlEntryRecord, type 18,
// version 0; flexible: compact strings, a tagged-field section), built by
// hand, and its removal (type 19).
TEST(MetadataRecords, DecodesAccessControlEntryRecordsByHand) {
  const ByteVec bytes = test::from_hex(
      "01 12 00"                                         // frame, type 18, version 0
      "00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f"  // id
      "02 07 6f 72 64 65 72 73"                          // TOPIC, "orders"
      "04 0b 55 73 65 72 3a 61 6c 69 63 65"              // PREFIXED, "User:alice"
      "02 2a 04 03 00");                                 // "*", WRITE, ALLOW, no tags
  auto decoded = decode_metadata_record(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  const auto* acl = std::get_if<AccessControlEntryRecord>(&decoded->record);
  ASSERT_NE(acl, nullptr);
  EXPECT_EQ(acl->id.bytes[15], 0x0f);
  EXPECT_EQ(acl->resource_type, 2);
  EXPECT_EQ(acl->resource_name, "orders");
  EXPECT_EQ(acl->pattern_type, 4);
  EXPECT_EQ(acl->principal, "User:alice");
  EXPECT_EQ(acl->host, "*");
  EXPECT_EQ(acl->operation, 4);
  EXPECT_EQ(acl->permission_type, 3);
  EXPECT_EQ(encode_metadata_record(*acl, 0), bytes);
  const ByteVec removal =
      test::from_hex("01 13 00 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 00");
  auto removed = decode_metadata_record(removal);
  ASSERT_TRUE(removed.ok());
  const auto* r = std::get_if<RemoveAccessControlEntryRecord>(&removed->record);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->id, acl->id);
}

TEST(MetadataRecords, UnknownTypeIsMarkedNotFailed) {
  ByteVec bytes = test::from_hex("01 15 00 aa bb cc");  // type 21, whatever it holds
  auto decoded = decode_metadata_record(bytes);
  ASSERT_TRUE(decoded.ok());
  auto* unknown = std::get_if<UnknownMetadataRecord>(&decoded->record);
  ASSERT_NE(unknown, nullptr);
  EXPECT_EQ(unknown->type, 21u);
  EXPECT_EQ(unknown->body.size(), 3u);
  ByteBuffer again;
  encode_metadata_record(decoded->record, decoded->version, again);
  EXPECT_EQ(ByteVec(again.data(), again.data() + again.size()), bytes);
}

TEST(MetadataRecords, RejectsMalformedBytes) {
  ByteVec good = encode_metadata_record(TopicRecord{"orders", uuid_of(2)}, 0);
  for (size_t n = 0; n < good.size(); ++n) {
    ByteVec cut(good.begin(), good.begin() + n);
    EXPECT_FALSE(decode_metadata_record(cut).ok()) << "prefix " << n;
  }
  ByteVec trailing = good;
  trailing.push_back(0);
  EXPECT_FALSE(decode_metadata_record(trailing).ok());
  ByteVec frame = good;
  frame[0] = 2;
  EXPECT_FALSE(decode_metadata_record(frame).ok());
  ByteVec version = good;
  version[2] = 5;  // TopicRecord has only version 0
  auto result = decode_metadata_record(version);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message.find("unsupported version"), std::string::npos);
  EXPECT_THROW(encode_metadata_record(TopicRecord{}, 1), std::invalid_argument);
}

TEST(MetadataRecords, SurvivesRandomBytes) {
  std::mt19937 rng(test::fuzz_seed(3));
  ByteVec base = encode_metadata_record(sample_partition(2), 2);
  for (int round = 0; round < test::fuzz_rounds(5000); ++round) {
    ByteVec bytes = base;
    for (int f = 0; f < 3; ++f) bytes[3 + rng() % (bytes.size() - 3)] = static_cast<uint8_t>(rng());
    if (rng() % 3 == 0) bytes.resize(rng() % bytes.size());
    (void)decode_metadata_record(bytes);
  }
}

TEST(ControlValues, LeaderChangeMessageEncodes) {
  LeaderChangeMessage m{0, 1, {{1, {}}}, {{1, {}}}};
  ByteVec bytes = encode_control_value(m);
  // version 0, leader 1, voters [1], granting [1], tags
  EXPECT_EQ(bytes, test::from_hex("0000 00000001 02 00000001 00 02 00000001 00 00"));
}

}  // namespace
}  // namespace kb::storage
