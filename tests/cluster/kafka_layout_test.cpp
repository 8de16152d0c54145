// What a log directory holds for Apache Kafka to take it as its own (see the
// KafkaOpensOurDirectory suite for Kafka itself on it): the KRaft election
// state beside the metadata log, and partitions assigned to the directory.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <variant>
#include <vector>

#include "cluster/log_dir_fixture.hpp"
#include "kb/cluster/topic_admin.hpp"
#include "kb/storage/meta_properties.hpp"
#include "kb/storage/metadata_log.hpp"
#include "kb/storage/quorum_state.hpp"
#include "kb/storage/record_batch.hpp"

namespace kb::cluster {
namespace {

namespace fs = std::filesystem;
using KafkaLayoutTest = LogDirTest;

std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST_F(KafkaLayoutTest, AQuorumStateNamesThisNodeLeaderOfTheMetadataEpochAndKafkasIsKept) {
  const fs::path quorum_state = dir_ / storage::kMetadataPartitionDir / storage::kQuorumStateFile;
  {
    BrokerState state;
    LogDirOptions options;
    options.log_dir = dir_;
    options.node_id = 3;
    ASSERT_TRUE(load_log_dir(options, state).ok());
  }
  EXPECT_EQ(read(quorum_state), storage::quorum_state_text(3, kMetadataLeaderEpoch));
  // Kafka's own, after it led the quorum at a later epoch, stays.
  const std::string kafkas =
      R"({"clusterId":"","leaderId":3,"leaderEpoch":7,"votedId":-1,"appliedOffset":0,)"
      R"("currentVoters":[{"voterId":3}],"data_version":0})";
  std::ofstream(quorum_state, std::ios::binary | std::ios::trunc) << kafkas;
  BrokerState again;
  LogDirOptions options;
  options.log_dir = dir_;
  options.node_id = 3;
  ASSERT_TRUE(load_log_dir(options, again).ok());
  EXPECT_EQ(read(quorum_state), kafkas);
}

// A metadata log Apache Kafka led at a later epoch (its elections leave
// LeaderChange control batches) is continued at that epoch, never below it.
TEST_F(KafkaLayoutTest, AppendsContinueAtTheNewestEpochInTheMetadataLog) {
  {
    BrokerState state;
    load(state);
    ASSERT_EQ(create_topic(state, "before", 1).error, AdminError::kNone);
    // A LeaderChange control batch at epoch 4, as Kafka appends when elected.
    storage::RecordBatchBuilder control;
    control.set_partition_leader_epoch(4);
    control.set_control(true);
    const std::vector<uint8_t> key{0, 0, 0, 2};  // version 0, type 2: LeaderChange
    const std::vector<uint8_t> value{0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0};
    control.add_record(storage::Bytes(key), storage::Bytes(value), 0);
    ASSERT_TRUE(state.metadata_log->append(control.build(), 4));
  }
  BrokerState state;
  load(state);
  EXPECT_EQ(state.metadata_epoch, 4);
  ASSERT_EQ(create_topic(state, "after", 1).error, AdminError::kNone);
  int32_t last_epoch = -1;
  ASSERT_TRUE(storage::replay_metadata_log(
                  dir_ / storage::kMetadataPartitionDir,
                  [&](const storage::MetadataLogEntry& e) { last_epoch = e.leader_epoch; })
                  .ok());
  EXPECT_EQ(last_epoch, 4);
}

// Kafka's controller assigns each replica to a log directory (PartitionRecord
// v2 directories); a Kafka node finding its directory there asks for no
// reassignment.
TEST_F(KafkaLayoutTest, NewPartitionsAreAssignedToTheLogDirectory) {
  BrokerState state;
  load(state);
  ASSERT_EQ(create_topic(state, "orders", 2).error, AdminError::kNone);
  ASSERT_TRUE(create_partitions(state, "orders", 3, std::nullopt, false).ok());
  auto meta = storage::read_meta_properties(dir_);
  ASSERT_TRUE(meta.ok() && meta->has_value() && (*meta)->directory_id);
  const wire::Uuid directory = *(*meta)->directory_id;
  EXPECT_EQ(state.directory_id, directory);
  int partition_records = 0;
  auto replayed = storage::replay_metadata_log(
      dir_ / storage::kMetadataPartitionDir, [&](const storage::MetadataLogEntry& e) {
        if (const auto* r = std::get_if<storage::PartitionRecord>(e.record)) {
          ++partition_records;
          EXPECT_EQ(r->directories, std::vector<wire::Uuid>{directory}) << r->partition_id;
        }
      });
  ASSERT_TRUE(replayed.ok());
  EXPECT_EQ(partition_records, 3);
}

}  // namespace
}  // namespace kb::cluster
