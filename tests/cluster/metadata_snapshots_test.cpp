#include "kb/cluster/metadata_snapshots.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "cluster/log_dir_fixture.hpp"
#include "kb/cluster/config_catalog.hpp"
#include "kb/cluster/metadata_image.hpp"
#include "kb/cluster/topic_admin.hpp"
#include "kb/storage/metadata_log.hpp"
#include "kb/storage/metadata_snapshot.hpp"

namespace kb::cluster {
namespace {

namespace fs = std::filesystem;
using MetadataSnapshotsTest = LogDirTest;

// Everything the image keeps comes back from a snapshot of it alone.
TEST_F(MetadataSnapshotsTest, ImageRecordsRebuildTheImage) {
  BrokerState state;
  load(state);
  NewTopic orders;
  orders.name = "orders";
  orders.partitions = 3;
  orders.configs = {{"retention.ms", "1000"}};
  ASSERT_TRUE(create_topic(state, orders, false).error == AdminError::kNone);
  ASSERT_TRUE(create_topic(state, "payments", 1).error == AdminError::kNone);
  ASSERT_TRUE(append_metadata(state, {storage::ProducerIdsRecord{1, -1, 5000}}).ok());
  storage::PartitionChangeRecord change;
  change.partition_id = 1;
  change.topic_id = state.topics.find("orders")->id;
  change.isr = std::vector<int32_t>{1};
  ASSERT_TRUE(append_metadata(state, {change}).ok());
  state.foreign_metadata_records.push_back(
      storage::encode_metadata_record(storage::UnknownMetadataRecord{17, {}}, 0));

  const storage::SnapshotId id{state.metadata_log->log_end_offset(), 1};
  const auto bytes = storage::encode_metadata_snapshot(id, 1, 2, metadata_image_records(state));
  const fs::path snapshot_dir = dir_ / "copy";
  fs::create_directories(snapshot_dir);
  ASSERT_TRUE(storage::write_metadata_snapshot(snapshot_dir, id, bytes).ok());

  BrokerState rebuilt;
  auto summary = storage::replay_metadata_log(
      snapshot_dir,
      [&](const storage::MetadataLogEntry& e) { apply_metadata_record(rebuilt, *e.record); });
  ASSERT_TRUE(summary.ok());
  ASSERT_FALSE(summary->stopped_early()) << summary->stop_message;
  EXPECT_EQ(summary->unknown_records, 1u);
  EXPECT_EQ(rebuilt.features, state.features);
  EXPECT_EQ(rebuilt.configs, state.configs);
  EXPECT_EQ(rebuilt.next_producer_id, state.next_producer_id);
  ASSERT_EQ(rebuilt.topics.size(), state.topics.size());
  for (const auto& [name, topic] : state.topics.topics()) {
    const TopicInfo* other = rebuilt.topics.find(name);
    ASSERT_NE(other, nullptr) << name;
    EXPECT_EQ(other->id, topic.id);
    ASSERT_EQ(other->partitions.size(), topic.partitions.size());
    for (size_t i = 0; i < topic.partitions.size(); ++i) {
      EXPECT_EQ(other->partitions[i].leader_epoch, topic.partitions[i].leader_epoch);
      EXPECT_EQ(other->partitions[i].partition_epoch, topic.partitions[i].partition_epoch);
      EXPECT_EQ(other->partitions[i].isr, topic.partitions[i].isr);
    }
  }
}

// A snapshot is written (off the caller's thread) once enough bytes were
// appended, and a restart from it and the log after it sees every topic.
TEST_F(MetadataSnapshotsTest, SnapshotsByBytesAndRestartFromThem) {
  MetadataSnapshotOptions options;
  options.max_bytes_between = 1;
  options.max_interval_ms = 0;
  {
    MetadataSnapshotter snapshots(options);
    BrokerState state;
    state.metadata_snapshotter = &snapshots;
    load(state);
    for (int i = 0; i < 5; ++i)
      ASSERT_TRUE(create_topic(state, "t" + std::to_string(i), 2).error == AdminError::kNone);
    snapshots.finish(state, 0);
    ASSERT_TRUE(snapshots.latest());
    snapshots.poll(state, 0);  // the last one, if an earlier write was still running
    snapshots.finish(state, 0);
    EXPECT_EQ(snapshots.latest()->end_offset, state.metadata_log->log_end_offset());
  }
  const auto files = storage::list_metadata_snapshots(dir_ / storage::kMetadataPartitionDir);
  ASSERT_FALSE(files.empty());
  for (const auto& f : files) EXPECT_EQ(storage::metadata_snapshot_problem(f.path), "");
  BrokerState restarted;
  load(restarted);
  EXPECT_EQ(restarted.topics.size(), 5u);
}

// A snapshot is made from the files: records appended after its end offset
// (the loop goes on while a helper makes it) are not in it, and an end the
// log does not reach is an error.
TEST_F(MetadataSnapshotsTest, ASnapshotMadeFromTheFilesStopsAtItsEndOffset) {
  BrokerState state;
  load(state);
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(create_topic(state, "before-" + std::to_string(i), 2).error == AdminError::kNone);
  const storage::SnapshotId id{state.metadata_log->log_end_offset(), 1};
  const auto expected = metadata_image_records(state);
  for (int i = 0; i < 2; ++i)
    ASSERT_TRUE(create_topic(state, "after-" + std::to_string(i), 1).error == AdminError::kNone);
  const fs::path dir = dir_ / storage::kMetadataPartitionDir;
  auto bytes = make_metadata_snapshot(dir, id, 1, 2);
  ASSERT_TRUE(bytes.ok()) << bytes.error().message;
  EXPECT_EQ(*bytes, storage::encode_metadata_snapshot(id, 1, 2, expected));

  const storage::SnapshotId beyond{state.metadata_log->log_end_offset() + 5, 1};
  EXPECT_FALSE(make_metadata_snapshot(dir, beyond, 1, 2).ok());
}

// Retention removes the oldest snapshots and the segments below the oldest
// kept one, but always keeps two snapshots.
TEST_F(MetadataSnapshotsTest, RetentionKeepsTwoSnapshots) {
  MetadataSnapshotOptions options;
  options.max_bytes_between = 1;
  options.max_interval_ms = 0;
  options.retention_bytes = 0;  // always over
  {
    BrokerState first;  // creates the metadata log (with default options)
    load(first);
    ASSERT_TRUE(create_topic(first, "t0", 1).error == AdminError::kNone);
  }
  MetadataSnapshotter snapshots(options);
  BrokerState state;
  state.metadata_snapshotter = &snapshots;
  LogDirOptions dir_options;
  dir_options.log_dir = dir_;
  dir_options.partition_options.segment_bytes = 200;  // a segment per topic or so
  ASSERT_TRUE(load_log_dir(dir_options, state).ok());
  for (int i = 1; i < 8; ++i) {
    ASSERT_TRUE(create_topic(state, "t" + std::to_string(i), 1).error == AdminError::kNone);
    snapshots.finish(state, 0);
  }
  const auto files = storage::list_metadata_snapshots(dir_ / storage::kMetadataPartitionDir);
  ASSERT_EQ(files.size(), 2u);
  const auto bases = state.metadata_log->segment_base_offsets();
  ASSERT_FALSE(bases.empty());
  EXPECT_GT(bases.front(), 0) << "segments below the oldest snapshot are removed";
  EXPECT_LE(bases.front(), files.front().id.end_offset);
  BrokerState restarted;
  ASSERT_TRUE(load_log_dir(dir_options, restarted).ok());
  EXPECT_EQ(restarted.topics.size(), 8u);
}

// A partition directory naming a topic id the metadata does not know is kept,
// and the topic name cannot be created or extended over it.
TEST_F(MetadataSnapshotsTest, OrphanedDirectoriesBlockTheirTopicName) {
  {
    BrokerState state;
    load(state);
    ASSERT_TRUE(create_topic(state, "kept", 1).error == AdminError::kNone);
  }
  // Another topic's directory with data, whose records are not in the log.
  const fs::path orphan = dir_ / "lost-0";
  fs::create_directories(orphan);
  {
    std::ofstream(orphan / "partition.metadata")
        << "version: 0\ntopic_id: AAAAAAAAAAAAAAAAAAAAAQ\n";
  }
  { std::ofstream(orphan / "00000000000000000000.log") << "data"; }
  BrokerState state;
  load(state);
  ASSERT_EQ(state.orphaned_topics.count("lost"), 1u);
  auto refused = create_topic(state, "lost", 1);
  EXPECT_EQ(refused.error, AdminError::kAlreadyExists);
  EXPECT_NE(refused.message.find("recover-topics"), std::string::npos) << refused.message;
  EXPECT_TRUE(fs::exists(orphan / "00000000000000000000.log"));
  EXPECT_EQ(state.topics.find("lost"), nullptr);
}

}  // namespace
}  // namespace kb::cluster
