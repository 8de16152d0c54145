// Start-up with files another program (Apache Kafka) wrote in the log
// directory: what load_log_dir refuses, what it warns about and goes on, and
// that it never changes a file it did not understand.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "kb/cluster/broker_state.hpp"
#include "kb/cluster/startup.hpp"
#include "kb/cluster/topic_admin.hpp"
#include "kb/storage/metadata_log.hpp"
#include "kb/storage/metadata_records.hpp"
#include "kb/storage/offset_checkpoint.hpp"
#include "kb/storage/partition_log.hpp"
#include "kb/storage/record_batch.hpp"
#include "log_dir_fixture.hpp"
#include "storage/storage_test_util.hpp"

namespace kb::cluster {
namespace {

namespace fs = std::filesystem;
using Bytes = std::span<const uint8_t>;
using ByteVec = std::vector<uint8_t>;

class StartupFilesTest : public LogDirTest {
 protected:
  void write(const fs::path& path, std::string_view content) {
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << content;
  }
  void write(const fs::path& path, const ByteVec& content) {
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(content.data()),
               static_cast<std::streamsize>(content.size()));
  }
  static std::string read(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
  storage::Status try_load(BrokerState& state) {
    LogDirOptions options;
    options.log_dir = dir_;
    return load_log_dir(options, state);
  }
  fs::path metadata_dir() const { return dir_ / storage::kMetadataPartitionDir; }
};

// Kafka: CheckpointFileWithFailureHandler.read turns the IOException into a
// failed log directory; the metadata log lives there, so the broker halts.
TEST_F(StartupFilesTest, AMalformedCheckpointRefusesStartUpAndIsLeftAsItWas) {
  for (std::string_view name :
       {storage::kRecoveryPointCheckpointFile, storage::kLogStartOffsetCheckpointFile}) {
    fs::remove_all(dir_);
    const std::string text = "0\n2\norders 0 17\n";
    write(dir_ / name, text);
    write(dir_ / storage::kCleanShutdownFile, std::string_view(R"({"version":0,"brokerEpoch":9})"));
    BrokerState state;
    auto loaded = try_load(state);
    ASSERT_FALSE(loaded.ok()) << name;
    const std::string& message = loaded.error().message;
    EXPECT_NE(message.find((dir_ / name).string()), std::string::npos) << message;
    EXPECT_NE(message.find("line 2: expected 2 entries as it says, found 1"), std::string::npos)
        << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << "one line";
    EXPECT_EQ(read(dir_ / name), text);
    EXPECT_TRUE(fs::exists(dir_ / storage::kCleanShutdownFile)) << "nothing changed";
  }
}

// Kafka: the NumberFormatException is no IOException; LogManager catches it,
// warns and uses no entries (recovery point 0, log start at the first segment).
TEST_F(StartupFilesTest, ABadNumberInACheckpointIsWarnedAboutAndTheFileIgnored) {
  write(dir_ / storage::kRecoveryPointCheckpointFile, std::string_view("0\n1\norders x 17\n"));
  write(dir_ / storage::kLogStartOffsetCheckpointFile, std::string_view("0\n1\norders 0 1e3\n"));
  BrokerState state;
  auto loaded = try_load(state);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_TRUE(state.logs->log_start_offsets().empty());
  EXPECT_TRUE(state.logs->recovery_points().empty());
}

TEST_F(StartupFilesTest, CheckpointsAsKafkaWritesThemAreRead) {
  write(dir_ / storage::kLogStartOffsetCheckpointFile, std::string_view("0\n1\norders 0 12\n"));
  write(dir_ / storage::kRecoveryPointCheckpointFile,
        std::string_view(""));  // Kafka creates it empty
  BrokerState state;
  auto loaded = try_load(state);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(state.logs->log_start_offsets().at({"orders", 0}), 12);
}

// Kafka's LogManager looks only at whether the marker exists: an old Kafka's
// empty one counts as much as 3.x's JSON, and so does anything else.
TEST_F(StartupFilesTest, TheCleanShutdownMarkerCountsWhateverItHolds) {
  for (std::string_view content : {"", R"({"version":0,"brokerEpoch":42})", "garbage"}) {
    write(dir_ / storage::kCleanShutdownFile, content);
    BrokerState state;
    ASSERT_TRUE(try_load(state).ok());
    EXPECT_FALSE(fs::exists(dir_ / storage::kCleanShutdownFile)) << "removed once read";
  }
}

ByteVec snapshot_with_topic(const std::string& name, const Uuid& id) {
  using namespace storage;
  RecordBatchBuilder header;
  header.set_control(true);
  ByteVec key = control_record_key(ControlRecordType::snapshot_header);
  ByteVec value = encode_control_value(SnapshotHeaderRecord{0, 123});
  header.add_record(Bytes(key), Bytes(value), 1);
  ByteVec out = header.build();
  ByteVec feature = encode_metadata_record(FeatureLevelRecord{"metadata.version", 25});
  ByteVec topic = encode_metadata_record(TopicRecord{name, id});
  PartitionRecord partition;
  partition.partition_id = 0;
  partition.topic_id = id;
  partition.replicas = {1};
  partition.isr = {1};
  partition.leader = 1;
  ByteVec partition_bytes = encode_metadata_record(partition);
  RecordBatchBuilder state;
  state.set_base_offset(1);
  state.add_record(std::nullopt, Bytes(feature), 1)
      .add_record(std::nullopt, Bytes(topic), 1)
      .add_record(std::nullopt, Bytes(partition_bytes), 1);
  ByteVec state_bytes = state.build();
  out.insert(out.end(), state_bytes.begin(), state_bytes.end());
  RecordBatchBuilder footer;
  footer.set_control(true);
  footer.set_base_offset(4);
  ByteVec fkey = control_record_key(ControlRecordType::snapshot_footer);
  ByteVec fvalue = encode_control_value(SnapshotFooterRecord{0});
  footer.add_record(Bytes(fkey), Bytes(fvalue), 1);
  ByteVec footer_bytes = footer.build();
  out.insert(out.end(), footer_bytes.begin(), footer_bytes.end());
  return out;
}

// Only a snapshot, no log (Kafka's truncateToLatestSnapshot case): its topics
// are served, and what is created afterwards lands at and after the
// snapshot's end offset, so it is replayed after a restart.
TEST_F(StartupFilesTest, AMetadataSnapshotWithoutALogIsTheStateAndTheLogContinuesAtItsEnd) {
  const Uuid id{{4, 2}};
  write(metadata_dir() / storage::snapshot_file_name({40, 3}), snapshot_with_topic("kept", id));
  {
    BrokerState state;
    auto loaded = try_load(state);
    ASSERT_TRUE(loaded.ok()) << loaded.error().message;
    const TopicInfo* kept = state.topics.find("kept");
    ASSERT_NE(kept, nullptr);
    EXPECT_EQ(kept->id, id);
    ASSERT_NE(state.metadata_log, nullptr);
    EXPECT_EQ(state.metadata_log->log_end_offset(), 40);
    auto created = create_topic(state, "later", 2);
    ASSERT_EQ(created.error, CreateTopicError::kNone) << created.message;
    ASSERT_TRUE(close_log_dir(state).ok());
  }
  BrokerState again;
  auto loaded = try_load(again);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_NE(again.topics.find("kept"), nullptr);
  const TopicInfo* later = again.topics.find("later");
  ASSERT_NE(later, nullptr);
  EXPECT_EQ(later->partitions.size(), 2u);
}

// Kafka's metadata loader stops a controller on a snapshot it cannot read.
TEST_F(StartupFilesTest, ADamagedMetadataSnapshotRefusesStartUpAndIsLeftAsItWas) {
  ByteVec snapshot = snapshot_with_topic("kept", Uuid{{4, 2}});
  snapshot[snapshot.size() - 1] ^= 0x40;
  const fs::path path = metadata_dir() / storage::snapshot_file_name({40, 3});
  write(path, snapshot);
  BrokerState state;
  auto loaded = try_load(state);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.error().message.find(path.string()), std::string::npos)
      << loaded.error().message;
  EXPECT_EQ(loaded.error().message.find('\n'), std::string::npos);
  std::string bytes = read(path);
  EXPECT_EQ(ByteVec(bytes.begin(), bytes.end()), snapshot);
  EXPECT_FALSE(fs::exists(metadata_dir() / storage::segment_file_name(40, ".log")));
}

// What Apache Kafka 4.4 writes into __cluster_metadata besides topics: a
// newer metadata.version and features this broker does not implement, its
// broker and controller registrations (RegisterBrokerRecord at version 4,
// BrokerRegistrationChangeRecord, which this broker does not decode), NoOps
// and a leader change. All of it is read; what the broker does not act on is
// kept byte for byte (its snapshots carry it) and named at start-up.
TEST_F(StartupFilesTest, WhatKafka44WritesIntoTheMetadataLogIsReadKeptAndNamed) {
  const ByteVec register_broker = storage::test::from_hex(storage::test::kKafka44RegisterBrokerHex);
  const ByteVec registration_change =
      storage::test::from_hex("01110300000001000000000000001301030101");
  const ByteVec no_op = storage::test::from_hex("01140000");
  storage::RecordBatchBuilder control;
  const ByteVec key = storage::control_record_key(storage::ControlRecordType::leader_change);
  storage::LeaderChangeMessage message;
  message.leader_id = 1;
  const ByteVec leader_change = storage::encode_control_value(message);
  control.set_control(true).add_record(Bytes(key), Bytes(leader_change), 1);
  const std::vector<ByteVec> values = {
      storage::encode_metadata_record(storage::FeatureLevelRecord{"metadata.version", 33}),
      storage::encode_metadata_record(storage::FeatureLevelRecord{"group.version", 2}),
      register_broker,
      registration_change,
      no_op,
      storage::encode_metadata_record(storage::TopicRecord{"orders", storage::Uuid{{1, 2, 3}}}),
  };
  storage::RecordBatchBuilder records;
  records.set_base_offset(1);
  for (const ByteVec& v : values) records.add_record(std::nullopt, Bytes(v), 1);
  ByteVec log = control.build();
  const ByteVec second = records.build();
  log.insert(log.end(), second.begin(), second.end());
  write(metadata_dir() / storage::segment_file_name(0, ".log"), log);

  BrokerState state;
  MetadataLogLoad load;
  ASSERT_TRUE(open_metadata_log(metadata_dir(), {}, state, load).ok());
  EXPECT_TRUE(state.metadata_log_refusal.empty()) << state.metadata_log_refusal;
  EXPECT_NE(state.topics.find("orders"), nullptr);
  EXPECT_EQ(state.features.at("metadata.version"), 33);
  EXPECT_EQ(state.foreign_metadata_records,
            (std::vector<ByteVec>{register_broker, registration_change}));

  const std::vector<std::string> report = metadata_load_report(load, state.features);
  auto said = [&](std::string_view text) {
    for (const std::string& line : report)
      if (line.find(text) != std::string::npos) return true;
    return false;
  };
  EXPECT_TRUE(said("RegisterBrokerRecord (0: 1), BrokerRegistrationChangeRecord (17: 1)"));
  EXPECT_TRUE(said("NoOpRecord (20: 1)"));
  EXPECT_TRUE(said("LeaderChange (2: 1)"));
  EXPECT_TRUE(said("metadata.version 33 (4.4-IV2)"));
  EXPECT_TRUE(said("group.version 2 (implemented here: up to 1)"));
  EXPECT_TRUE(said("metadata.version 33 (implemented here: up to 25)"));
  // The log itself is left as it was.
  EXPECT_EQ(read(metadata_dir() / storage::segment_file_name(0, ".log")),
            std::string(log.begin(), log.end()));
}

// A log of this broker's own says only what it holds.
TEST(MetadataLoadReport, NothingToSayAboutAnEmptyLog) {
  EXPECT_TRUE(metadata_load_report({}, {}).empty());
  const auto lines = metadata_load_report({}, {{"metadata.version", 25}});
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "finalized features metadata.version 25 (4.0-IV3)");
}

}  // namespace
}  // namespace kb::cluster
