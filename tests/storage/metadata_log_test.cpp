#include "kb/storage/metadata_log.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <random>

#include "../support/kafka_log_dir_writer.hpp"
#include "kb/storage/partition_log.hpp"
#include "kb/storage/record_batch.hpp"
#include "storage_test_util.hpp"

namespace kb::storage {
namespace {

namespace fs = std::filesystem;
using test::ByteVec;

// What a broker would build from the log: topics by name with partition counts.
struct MiniImage {
  std::map<std::string, Uuid> topics;
  std::map<std::string, int> partitions;  // by topic id base64
  int16_t metadata_version = 0;
  std::vector<int64_t> offsets;
  int unknown = 0;

  void apply(const MetadataLogEntry& e) {
    offsets.push_back(e.offset);
    if (auto* t = std::get_if<TopicRecord>(e.record)) topics[t->name] = t->topic_id;
    if (auto* p = std::get_if<PartitionRecord>(e.record)) ++partitions[p->topic_id.to_base64()];
    if (auto* f = std::get_if<FeatureLevelRecord>(e.record))
      if (f->name == "metadata.version") metadata_version = f->feature_level;
    if (auto* r = std::get_if<RemoveTopicRecord>(e.record))
      for (auto it = topics.begin(); it != topics.end(); ++it)
        if (it->second == r->topic_id) {
          topics.erase(it);
          break;
        }
    if (std::holds_alternative<UnknownMetadataRecord>(*e.record)) ++unknown;
  }
};

Result<MetadataReplaySummary> replay(const fs::path& dir, MiniImage& image) {
  return replay_metadata_log(dir, [&](const MetadataLogEntry& e) { image.apply(e); });
}

kb::testing::KafkaLogDirSpec two_topics() {
  kb::testing::KafkaLogDirSpec spec;
  spec.topics = {{"orders", 3, 0, 1, {}, {{"retention.ms", "1000"}}},
                 {"payments", 1, 0, 1, {}, {}}};
  return spec;
}

TEST(MetadataLog, ReplaysAKafkaWrittenLog) {
  test::TempDir dir;
  auto written = kb::testing::write_kafka_log_dir(dir.path(), two_topics());
  MiniImage image;
  auto summary = replay(dir.path() / kMetadataPartitionDir, image);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_FALSE(summary->stopped_early()) << summary->stop_message;
  EXPECT_EQ(summary->control_batches, 1u);  // the leader change
  // feature level, broker registration, 1 + 3 + 1 config, 1 + 1
  EXPECT_EQ(summary->records_applied, 9u);
  EXPECT_EQ(summary->unknown_records, 0u);
  EXPECT_EQ(summary->next_offset, written.metadata_end_offset);
  EXPECT_EQ(summary->last_offset, written.metadata_end_offset - 1);
  EXPECT_EQ(image.metadata_version, 25);
  ASSERT_EQ(image.topics.size(), 2u);
  EXPECT_EQ(image.topics["orders"], written.topic_ids["orders"]);
  EXPECT_EQ(image.partitions[written.topic_ids["orders"].to_base64()], 3);
  EXPECT_EQ(image.partitions[written.topic_ids["payments"].to_base64()], 1);
  EXPECT_EQ(image.offsets.front(), 1);  // offset 0 is the control record
}

TEST(MetadataLog, ReplaysTheKnownKafkaBytes) {
  test::TempDir dir;
  test::write_whole_file(dir.path() / "00000000000000000000.log",
                         test::from_hex(test::kKafkaMetadataLogHex));
  MiniImage image;
  auto summary = replay(dir.path(), image);
  ASSERT_TRUE(summary.ok());
  EXPECT_FALSE(summary->stopped_early());
  EXPECT_EQ(summary->records_applied, 4u);
  EXPECT_EQ(image.metadata_version, 20);
  EXPECT_EQ(image.topics.count("saz"), 1u);
  EXPECT_EQ(image.offsets, (std::vector<int64_t>{0, 1, 2, 3}));
}

TEST(MetadataLog, TruncatedLogKeepsWhatWasValid) {
  test::TempDir dir;
  kb::testing::write_kafka_log_dir(dir.path(), two_topics());
  const fs::path log = dir.path() / kMetadataPartitionDir / "00000000000000000000.log";
  ByteVec bytes = test::read_whole_file(log);
  // Cut into the last batch (the "payments" topic).
  bytes.resize(bytes.size() - 10);
  test::write_whole_file(log, bytes);

  MiniImage image;
  auto summary = replay(dir.path() / kMetadataPartitionDir, image);
  ASSERT_TRUE(summary.ok());
  EXPECT_TRUE(summary->stopped_early());
  EXPECT_EQ(summary->stop, ReplayStop::torn_tail);
  EXPECT_EQ(summary->stop_file, log);
  EXPECT_NE(summary->stop_message.find("00000000000000000000.log"), std::string::npos);
  EXPECT_EQ(image.topics.size(), 1u);
  EXPECT_EQ(image.topics.count("orders"), 1u);
  EXPECT_EQ(summary->records_applied, 7u);
}

TEST(MetadataLog, CorruptBatchStopsTheReplay) {
  test::TempDir dir;
  auto written = kb::testing::write_kafka_log_dir(dir.path(), two_topics());
  const fs::path log = dir.path() / kMetadataPartitionDir / "00000000000000000000.log";
  ByteVec bytes = test::read_whole_file(log);
  // Flip a byte inside the "orders" batch (the fourth): it and everything
  // after it are dropped.
  size_t at = 0;
  for (size_t i = 0; i < 3; ++i) at += written.metadata_batches[i].size();
  bytes[at + 70] ^= 0x01;
  test::write_whole_file(log, bytes);

  MiniImage image;
  auto summary = replay(dir.path() / kMetadataPartitionDir, image);
  ASSERT_TRUE(summary.ok());
  EXPECT_EQ(summary->stop, ReplayStop::corrupt_batch);
  EXPECT_EQ(summary->stop_position, at);
  EXPECT_TRUE(image.topics.empty());
  EXPECT_EQ(image.metadata_version, 25);
  EXPECT_EQ(summary->records_applied, 2u);
}

TEST(MetadataLog, UndecodableRecordStopsBeforeItsBatch) {
  test::TempDir dir;
  RecordBatchBuilder good, bad;
  ByteVec feature = encode_metadata_record(FeatureLevelRecord{"metadata.version", 25});
  good.add_record(std::nullopt, Bytes(feature), 1);
  ByteVec topic = encode_metadata_record(TopicRecord{"t", {}});
  ByteVec garbage = test::from_hex("01 02 00 ff");  // TopicRecord cut short
  bad.set_base_offset(1);
  bad.add_record(std::nullopt, Bytes(topic), 1).add_record(std::nullopt, Bytes(garbage), 1);
  ByteVec all = good.build();
  ByteVec second = bad.build();
  all.insert(all.end(), second.begin(), second.end());
  test::write_whole_file(dir.path() / "00000000000000000000.log", all);

  MiniImage image;
  auto summary = replay(dir.path(), image);
  ASSERT_TRUE(summary.ok());
  EXPECT_EQ(summary->stop, ReplayStop::bad_record);
  // The batch is atomic: its valid TopicRecord is not applied either.
  EXPECT_TRUE(image.topics.empty());
  EXPECT_EQ(summary->records_applied, 1u);
  EXPECT_EQ(summary->next_offset, 1);
}

// What Apache Kafka 4.4 writes besides topics: a leader change, its
// registrations (RegisterBrokerRecord v4, BrokerRegistrationChangeRecord v3,
// a type this broker does not decode) and NoOps. The replay reads through
// them, counts the control records by type and hands every record's value on
// as written.
TEST(MetadataLog, Kafka44RecordsAreReadAndTheirValuesHandedOnAsWritten) {
  test::TempDir dir;
  RecordBatchBuilder control;
  ByteVec key = control_record_key(ControlRecordType::leader_change);
  LeaderChangeMessage message;
  message.leader_id = 1;
  message.voters = {{1, {}}};
  ByteVec leader_change = encode_control_value(message);
  control.set_control(true).set_partition_leader_epoch(1);
  control.add_record(Bytes(key), Bytes(leader_change), 1);
  const std::vector<ByteVec> values = {
      encode_metadata_record(FeatureLevelRecord{"metadata.version", 33}),
      test::from_hex(test::kKafka44RegisterBrokerHex),
      test::from_hex("01110300000001000000000000001301030101"),  // BrokerRegistrationChange v3
      test::from_hex("01140000"),                                // NoOpRecord
  };
  RecordBatchBuilder records;
  records.set_base_offset(1).set_partition_leader_epoch(1);
  for (const ByteVec& v : values) records.add_record(std::nullopt, Bytes(v), 1);
  ByteVec all = control.build();
  ByteVec second = records.build();
  all.insert(all.end(), second.begin(), second.end());
  test::write_whole_file(dir.path() / "00000000000000000000.log", all);

  std::vector<ByteVec> seen;
  std::vector<uint32_t> types;
  auto summary = replay_metadata_log(dir.path(), [&](const MetadataLogEntry& e) {
    seen.emplace_back(e.value.begin(), e.value.end());
    if (const auto* u = std::get_if<UnknownMetadataRecord>(e.record)) types.push_back(u->type);
  });
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_FALSE(summary->stopped_early()) << summary->stop_message;
  EXPECT_EQ(seen, values);
  EXPECT_EQ(types, (std::vector<uint32_t>{17, 20}));
  EXPECT_EQ(
      summary->control_records,
      (std::map<int16_t, uint64_t>{{static_cast<int16_t>(ControlRecordType::leader_change), 1}}));
  EXPECT_EQ(summary->next_offset, 5);
}

TEST(MetadataLog, SnapshotThenLaterSegments) {
  test::TempDir dir;
  const Uuid a{{1}}, b{{2}}, c{{3}};
  // Snapshot at end offset 5: holds topics a and b. Its batches count from 0.
  RecordBatchBuilder header_batch;
  header_batch.set_control(true);
  ByteVec hkey = control_record_key(ControlRecordType::snapshot_header);
  ByteVec hvalue = encode_control_value(SnapshotHeaderRecord{0, 123});
  header_batch.add_record(Bytes(hkey), Bytes(hvalue), 1);
  RecordBatchBuilder state;
  state.set_base_offset(1);
  ByteVec ta = encode_metadata_record(TopicRecord{"a", a});
  ByteVec tb = encode_metadata_record(TopicRecord{"b", b});
  state.add_record(std::nullopt, Bytes(ta), 1).add_record(std::nullopt, Bytes(tb), 1);
  RecordBatchBuilder footer_batch;
  footer_batch.set_control(true).set_base_offset(3);
  ByteVec fkey = control_record_key(ControlRecordType::snapshot_footer);
  ByteVec fvalue = encode_control_value(SnapshotFooterRecord{0});
  footer_batch.add_record(Bytes(fkey), Bytes(fvalue), 1);
  ByteVec snapshot = header_batch.build();
  ByteVec state_bytes = state.build();
  snapshot.insert(snapshot.end(), state_bytes.begin(), state_bytes.end());
  ByteVec footer_bytes = footer_batch.build();
  snapshot.insert(snapshot.end(), footer_bytes.begin(), footer_bytes.end());
  test::write_whole_file(dir.path() / snapshot_file_name({5, 2}), snapshot);
  // An older snapshot that must be ignored.
  test::write_whole_file(dir.path() / snapshot_file_name({2, 1}), test::from_hex("00"));

  // Segment 0 (offsets 0-3) is fully covered; segment 4 holds 4 (covered),
  // then 5: remove a, 6: topic c.
  RecordBatchBuilder old_batch;
  ByteVec tx = encode_metadata_record(TopicRecord{"x", Uuid{{9}}});
  for (int i = 0; i < 4; ++i) old_batch.add_record(std::nullopt, Bytes(tx), 1);
  test::write_whole_file(dir.path() / "00000000000000000000.log", old_batch.build());
  RecordBatchBuilder tail;
  tail.set_base_offset(4);
  ByteVec remove_a = encode_metadata_record(RemoveTopicRecord{a});
  ByteVec tc = encode_metadata_record(TopicRecord{"c", c});
  tail.add_record(std::nullopt, Bytes(tx), 1)
      .add_record(std::nullopt, Bytes(remove_a), 1)
      .add_record(std::nullopt, Bytes(tc), 1);
  test::write_whole_file(dir.path() / "00000000000000000004.log", tail.build());

  MiniImage image;
  auto summary = replay(dir.path(), image);
  ASSERT_TRUE(summary.ok());
  EXPECT_FALSE(summary->stopped_early()) << summary->stop_message;
  ASSERT_TRUE(summary->snapshot.has_value());
  EXPECT_EQ(*summary->snapshot, (SnapshotId{5, 2}));
  EXPECT_EQ(summary->control_batches, 2u);
  EXPECT_EQ(image.topics.size(), 2u);
  EXPECT_EQ(image.topics.count("b"), 1u);
  EXPECT_EQ(image.topics.count("c"), 1u);
  EXPECT_EQ(image.topics.count("x"), 0u);
  EXPECT_EQ(summary->records_applied, 4u);
  EXPECT_EQ(summary->last_offset, 6);
  EXPECT_EQ(summary->next_offset, 7);
}

TEST(MetadataLog, SnapshotFileNames) {
  EXPECT_EQ(snapshot_file_name({42, 3}), "00000000000000000042-0000000003.checkpoint");
  auto id = parse_snapshot_file_name("00000000000000000042-0000000003.checkpoint");
  ASSERT_TRUE(id);
  EXPECT_EQ(*id, (SnapshotId{42, 3}));
  EXPECT_FALSE(parse_snapshot_file_name("00000000000000000042-0000000003.checkpoint.part"));
  EXPECT_FALSE(parse_snapshot_file_name("0000000000000000004x-0000000003.checkpoint"));
  EXPECT_FALSE(parse_snapshot_file_name("bootstrap.checkpoint"));
}

// A snapshot as Kafka writes one: a SnapshotHeader control batch, the state
// (TopicRecords here), a SnapshotFooter control batch.
ByteVec kafka_snapshot(const std::vector<TopicRecord>& topics, bool with_header = true) {
  ByteVec out;
  int64_t offset = 0;
  if (with_header) {
    RecordBatchBuilder header;
    header.set_control(true);
    ByteVec key = control_record_key(ControlRecordType::snapshot_header);
    ByteVec value = encode_control_value(SnapshotHeaderRecord{0, 123});
    header.add_record(Bytes(key), Bytes(value), 1);
    out = header.build();
    offset = 1;
  }
  std::vector<ByteVec> values;
  for (const TopicRecord& t : topics) values.push_back(encode_metadata_record(t));
  if (!values.empty()) {
    RecordBatchBuilder state;
    state.set_base_offset(offset);
    for (const ByteVec& v : values) state.add_record(std::nullopt, Bytes(v), 1);
    ByteVec state_bytes = state.build();
    out.insert(out.end(), state_bytes.begin(), state_bytes.end());
  }
  RecordBatchBuilder footer;
  footer.set_control(true);
  footer.set_base_offset(offset + static_cast<int64_t>(topics.size()));
  ByteVec fkey = control_record_key(ControlRecordType::snapshot_footer);
  ByteVec fvalue = encode_control_value(SnapshotFooterRecord{0});
  footer.add_record(Bytes(fkey), Bytes(fvalue), 1);
  ByteVec footer_bytes = footer.build();
  out.insert(out.end(), footer_bytes.begin(), footer_bytes.end());
  return out;
}

// One metadata log segment of TopicRecords at base_offset.
void write_topic_segment(const fs::path& dir, int64_t base_offset,
                         const std::vector<TopicRecord>& topics) {
  std::vector<ByteVec> values;
  for (const TopicRecord& t : topics) values.push_back(encode_metadata_record(t));
  RecordBatchBuilder batch;
  batch.set_base_offset(base_offset);
  for (const ByteVec& v : values) batch.add_record(std::nullopt, Bytes(v), 1);
  test::write_whole_file(dir / segment_file_name(base_offset, ".log"), batch.build());
}

// Kafka's Snapshots.parse: Long.parseLong(name.substring(0, 20)) and
// Integer.parseInt(name.substring(21, 31)) after the suffix check.
TEST(MetadataLog, SnapshotFileNamesAsKafkaParsesThem) {
  EXPECT_EQ(parse_snapshot_file_name("+0000000000000000042-0000000003.checkpoint"),
            (SnapshotId{42, 3}));
  EXPECT_EQ(parse_snapshot_file_name("00000000000000000042_0000000003.checkpoint"),
            (SnapshotId{42, 3}));  // the separator is not looked at
  EXPECT_EQ(parse_snapshot_file_name("00000000000000000042-0000000003-copy.checkpoint"),
            (SnapshotId{42, 3}));  // nor what follows the epoch
  EXPECT_FALSE(parse_snapshot_file_name("0000000000000000042-00000000003.checkpoint"));
  EXPECT_FALSE(parse_snapshot_file_name("x.checkpoint"));
  EXPECT_TRUE(is_snapshot_file_name("x.checkpoint"));
  EXPECT_TRUE(is_snapshot_file_name("00000000000000000042-0000000003.checkpoint.part"));
  EXPECT_TRUE(is_snapshot_file_name("00000000000000000042-0000000003.checkpoint.deleted"));
  EXPECT_FALSE(is_snapshot_file_name("leader-epoch-checkpoint"));
}

TEST(MetadataLog, ASnapshotNameKafkaCannotParseRefusesTheReplay) {
  for (std::string_view name : {"x.checkpoint", "0000000000000000004x-0000000003.checkpoint",
                                "00000000000000000042-000000003x.checkpoint.part"}) {
    test::TempDir dir;
    write_topic_segment(dir.path(), 0, {{"a", Uuid{{1}}}});
    test::write_whole_file(dir.path() / name, kafka_snapshot({}));
    MiniImage image;
    auto summary = replay(dir.path(), image);
    ASSERT_FALSE(summary.ok()) << name;
    EXPECT_NE(summary.error().message.find(std::string(name)), std::string::npos);
    EXPECT_TRUE(image.topics.empty());
  }
}

// The brief's case: Kafka deleted the log's old segments after a snapshot;
// the state is the snapshot plus the records from its end offset on.
TEST(MetadataLog, ALogThatStartsAfterASnapshotIsReadFromTheSnapshot) {
  test::TempDir dir;
  test::write_whole_file(dir.path() / snapshot_file_name({10, 1}),
                         kafka_snapshot({{"a", Uuid{{1}}}, {"b", Uuid{{2}}}}));
  // An older snapshot below the log start: Kafka drops it; not even read.
  test::write_whole_file(dir.path() / snapshot_file_name({3, 1}), test::from_hex("00"));
  // A partial one is never read.
  test::write_whole_file(dir.path() / "00000000000000000020-0000000001.checkpoint.part",
                         test::from_hex("00"));
  write_topic_segment(dir.path(), 8, {{"x", Uuid{{8}}}, {"y", Uuid{{9}}}, {"c", Uuid{{3}}}});
  MiniImage image;
  auto summary = replay(dir.path(), image);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_FALSE(summary->stopped_early()) << summary->stop_message;
  EXPECT_EQ(summary->snapshot, (SnapshotId{10, 1}));
  EXPECT_EQ(image.topics.size(), 3u);  // a and b from the snapshot, c at offset 10
  EXPECT_EQ(image.topics.count("c"), 1u);
  EXPECT_EQ(image.topics.count("x"), 0u);  // offsets 8 and 9: covered by the snapshot
  EXPECT_EQ(summary->next_offset, 11);
  EXPECT_EQ(summary->control_batches, 2u);  // header and footer
}

// KafkaMetadataLog.recoverSnapshots: "Inconsistent snapshot state: there must
// be a snapshot at an offset larger then the current log start offset".
TEST(MetadataLog, ALogStartingAfterZeroWithoutASnapshotIsRefused) {
  test::TempDir dir;
  write_topic_segment(dir.path(), 5, {{"a", Uuid{{1}}}});
  MiniImage image;
  auto summary = replay(dir.path(), image);
  ASSERT_FALSE(summary.ok());
  EXPECT_NE(summary.error().message.find("starts at offset 5"), std::string::npos)
      << summary.error().message;
  // A snapshot that ends before the log starts does not cover it either.
  test::write_whole_file(dir.path() / snapshot_file_name({4, 1}), kafka_snapshot({}));
  EXPECT_FALSE(replay(dir.path(), image).ok());
  test::write_whole_file(dir.path() / snapshot_file_name({5, 1}), kafka_snapshot({}));
  EXPECT_TRUE(replay(dir.path(), image).ok());
  EXPECT_EQ(image.topics.count("a"), 1u);
}

// Kafka's RecordsSnapshotReader wants a SnapshotHeader first, and its
// metadata loader stops a controller on a snapshot it cannot read: the newest
// snapshot is the state, so anything short of all of it is refused.
// Unless the log holds every record up to its end (then the one before it is
// read, see MetadataDamageTest.DamagedNewestSnapshotFallsBackToTheOneBefore).
TEST(MetadataLog, ANewestSnapshotThatCannotBeReadWholeIsRefused) {
  const ByteVec good = kafka_snapshot({{"a", Uuid{{1}}}});
  ByteVec bad_crc = good;
  bad_crc[bad_crc.size() - 1] ^= 1;
  ByteVec torn(good.begin(), good.end() - 3);
  const std::vector<std::pair<ByteVec, std::string_view>> cases = {
      {ByteVec{}, "before its end offset"},
      {kafka_snapshot({{"a", Uuid{{1}}}}, false), "before its end offset"},
      {bad_crc, "before its end offset"},
      {torn, "before its end offset"},
  };
  for (const auto& [bytes, why] : cases) {
    test::TempDir dir;
    test::write_whole_file(dir.path() / snapshot_file_name({1, 1}), bytes);
    // An older, good snapshot cannot stand in for it: the log lacks offset 0.
    test::write_whole_file(dir.path() / snapshot_file_name({0, 1}), good);
    MiniImage image;
    auto summary = replay(dir.path(), image);
    ASSERT_FALSE(summary.ok()) << why;
    EXPECT_NE(summary.error().message.find(std::string(why)), std::string::npos)
        << summary.error().message;
    EXPECT_NE(summary.error().message.find(snapshot_file_name({1, 1})), std::string::npos);
  }
}

TEST(MetadataLog, ALogEndingBeforeTheSnapshotContinuesAtItsEnd) {
  test::TempDir dir;
  write_topic_segment(dir.path(), 0, {{"a", Uuid{{1}}}});
  test::write_whole_file(dir.path() / snapshot_file_name({7, 1}),
                         kafka_snapshot({{"b", Uuid{{2}}}}));
  ASSERT_TRUE(start_metadata_log_at(dir.path(), 7).ok());
  EXPECT_TRUE(fs::exists(dir.path() / segment_file_name(7, ".log")));
  EXPECT_EQ(fs::file_size(dir.path() / segment_file_name(7, ".log")), 0u);
  EXPECT_TRUE(fs::exists(dir.path() / segment_file_name(0, ".log")));  // left as it was
  write_topic_segment(dir.path(), 7, {{"c", Uuid{{3}}}});
  MiniImage image;
  auto summary = replay(dir.path(), image);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(image.topics.size(), 2u);  // b and c; a is covered by the snapshot
  EXPECT_EQ(image.topics.count("a"), 0u);
  // An existing segment there is kept as it is.
  ASSERT_TRUE(start_metadata_log_at(dir.path(), 7).ok());
  EXPECT_GT(fs::file_size(dir.path() / segment_file_name(7, ".log")), 0u);
}

TEST(MetadataLog, MissingDirectoryIsAnError) {
  test::TempDir dir;
  auto summary = replay_metadata_log(dir.path() / "nope", [](const MetadataLogEntry&) {});
  EXPECT_FALSE(summary.ok());
}

TEST(MetadataLog, EmptyDirectoryReplaysNothing) {
  test::TempDir dir;
  auto summary = replay_metadata_log(dir.path(), [](const MetadataLogEntry&) {});
  ASSERT_TRUE(summary.ok());
  EXPECT_EQ(summary->records_applied, 0u);
  EXPECT_EQ(summary->last_offset, -1);
  EXPECT_EQ(summary->next_offset, 0);
}

}  // namespace
}  // namespace kb::storage

namespace kb::storage {
namespace {

TEST(MetadataLog, SurvivesGarbage) {
  std::mt19937 rng(test::fuzz_seed(5));
  const ByteVec kafka = test::from_hex(test::kKafkaMetadataLogHex);
  for (int round = 0; round < test::fuzz_rounds(300); ++round) {
    test::TempDir dir;
    ByteVec bytes = kafka;
    for (int f = 0; f < 3; ++f) bytes[rng() % bytes.size()] = static_cast<uint8_t>(rng());
    if (rng() % 2) bytes.resize(rng() % bytes.size());
    // Fix the CRCs half the time, so the record decoding sees the damage.
    if (rng() % 2) {
      size_t at = 0;
      while (at + 61 <= bytes.size()) {
        auto header = RecordBatchHeader::parse(Bytes(bytes).subspan(at));
        if (!header || header->batch_length < 49 || header->size_in_bytes() > bytes.size() - at)
          break;
        update_batch_crc(std::span<uint8_t>(bytes).subspan(at, header->size_in_bytes()));
        at += header->size_in_bytes();
      }
    }
    test::write_whole_file(dir.path() / "00000000000000000000.log", bytes);
    uint64_t seen = 0;
    auto summary = replay_metadata_log(dir.path(), [&](const MetadataLogEntry&) { ++seen; });
    ASSERT_TRUE(summary.ok());
    EXPECT_EQ(seen, summary->records_applied);
    EXPECT_LE(seen, 4u);
  }
}

}  // namespace
}  // namespace kb::storage
