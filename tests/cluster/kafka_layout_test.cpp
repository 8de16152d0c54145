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
