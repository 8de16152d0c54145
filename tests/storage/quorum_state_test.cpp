// quorum-state: the KRaft election state Kafka reads beside the metadata log.

#include "kb/storage/quorum_state.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "storage/storage_test_util.hpp"

namespace kb::storage {
namespace {

namespace fs = std::filesystem;

std::string file_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The line Kafka 4.4 wrote for node 1 leading epoch 2 of a static quorum,
// byte for byte (no line end), with this broker's epoch.
TEST(QuorumState, IsTheJsonKafkaWritesForAStaticQuorum) {
  EXPECT_EQ(quorum_state_text(1, 2),
            R"({"clusterId":"","leaderId":1,"leaderEpoch":2,"votedId":-1,"appliedOffset":0,)"
            R"("currentVoters":[{"voterId":1}],"data_version":0})");
  EXPECT_EQ(quorum_state_text(7, 1),
            R"({"clusterId":"","leaderId":7,"leaderEpoch":1,"votedId":-1,"appliedOffset":0,)"
            R"("currentVoters":[{"voterId":7}],"data_version":0})");
}

TEST(QuorumState, WrittenOnceAndAnExistingFileIsKept) {
  test::TempDir dir;
  auto written = write_quorum_state_if_absent(dir.path(), 1, 1);
  ASSERT_TRUE(written.ok()) << written.error().message;
  EXPECT_TRUE(*written);
  EXPECT_EQ(file_text(dir.path() / kQuorumStateFile), quorum_state_text(1, 1));
  EXPECT_FALSE(fs::exists(dir.path() / "quorum-state.tmp"));

  // Kafka's own (a later epoch, its directory id) stays as it is.
  const std::string kafkas =
      R"({"leaderId":1,"leaderEpoch":5,"votedId":-1,"votedDirectoryId":"AAAAAAAAAAAAAAAAAAAAAA","data_version":1})";
  std::ofstream(dir.path() / kQuorumStateFile, std::ios::binary | std::ios::trunc) << kafkas;
  written = write_quorum_state_if_absent(dir.path(), 1, 1);
  ASSERT_TRUE(written.ok());
  EXPECT_FALSE(*written);
  EXPECT_EQ(file_text(dir.path() / kQuorumStateFile), kafkas);
}

}  // namespace
}  // namespace kb::storage
