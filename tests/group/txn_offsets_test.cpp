#include "kb/group/txn_offsets.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "kb/cluster/startup.hpp"
#include "kb/group/offsets_topic.hpp"
#include "kb/protocol/error_code.hpp"

namespace kb::group {
namespace {

class TxnOffsetsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "kb-txn-offsets-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    config_.offsets_partitions = 1;
    config_.offsets_segment_bytes = 1024;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void load(cluster::BrokerState& state) {
    cluster::LogDirOptions options;
    options.log_dir = dir_;
    ASSERT_TRUE(cluster::load_log_dir(options, state).ok());
  }
  static TxnCommitParams params(std::string_view group, int64_t producer_id) {
    TxnCommitParams p;
    p.group = {group, -1, "", std::nullopt, false};
    p.producer_id = producer_id;
    p.producer_epoch = 0;
    return p;
  }
  static std::optional<int64_t> committed(const GroupCoordinator& groups, std::string_view group,
                                          int32_t partition) {
    const Group* g = groups.find(group);
    if (!g) return std::nullopt;
    auto it = g->offsets.find(std::pair<std::string, int32_t>("t", partition));
    if (it == g->offsets.end()) return std::nullopt;
    return it->second.offset;
  }

  std::filesystem::path dir_;
  GroupConfig config_;
};

TEST_F(TxnOffsetsTest, PendingUntilTheMarkerThenCommittedOrDropped) {
  cluster::BrokerState state;
  load(state);
  OffsetsTopic topic(state, config_);
  GroupCoordinator groups(config_, &topic);
  TxnOffsets pending(groups, &topic.topic());
  std::vector<int16_t> errors;
  const std::vector<CommitPartition> first{{"t", 0, 10, -1, std::nullopt}};
  ASSERT_EQ(pending.commit(params("g", 7), first, errors, 0), 0);
  EXPECT_EQ(errors, std::vector<int16_t>{0});
  EXPECT_TRUE(pending.is_pending("g", "t", 0));
  EXPECT_FALSE(pending.is_pending("g", "t", 1));
  EXPECT_FALSE(pending.is_pending("h", "t", 0));
  EXPECT_EQ(committed(groups, "g", 0), std::nullopt);  // not visible yet
  ASSERT_TRUE(pending.end(0, 7, 0, true, 0));
  EXPECT_FALSE(pending.is_pending("g", "t", 0));
  EXPECT_EQ(committed(groups, "g", 0), 10);

  const std::vector<CommitPartition> second{{"t", 0, 20, -1, std::nullopt}};
  ASSERT_EQ(pending.commit(params("g", 8), second, errors, 0), 0);
  ASSERT_TRUE(pending.end(0, 8, 0, false, 0));
  EXPECT_EQ(committed(groups, "g", 0), 10);  // the abort dropped it
  EXPECT_EQ(pending.pending_count(), 0U);

  // A plain commit made while a transactional one is pending stays when the
  // transaction commits (the most recent wins, as in Kafka), after a replay too.
  const std::vector<CommitPartition> pending_part{{"t", 3, 30, -1, std::nullopt}};
  ASSERT_EQ(pending.commit(params("g", 10), pending_part, errors, 0), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(3));
  const std::vector<CommitPartition> plain{{"t", 3, 31, -1, std::nullopt}};
  ASSERT_EQ(groups.commit({"g", -1, "", std::nullopt, false}, plain, errors, 0), 0);
  ASSERT_TRUE(pending.end(0, 10, 0, true, 0));
  EXPECT_EQ(committed(groups, "g", 3), 31);
  {
    OffsetsTopic replayed_topic(state, config_);
    GroupCoordinator replayed(config_, &replayed_topic);
    ASSERT_TRUE(replayed_topic.load_into(replayed).ok());
    EXPECT_EQ(committed(replayed, "g", 3), 31);
    EXPECT_EQ(committed(replayed, "g", 0), 10);
  }

  // Too much metadata is refused per partition, as OffsetCommit's.
  const std::string big(static_cast<size_t>(config_.max_metadata_bytes) + 1, 'm');
  const std::vector<CommitPartition> fat{{"t", 1, 1, -1, big}};
  ASSERT_EQ(pending.commit(params("g", 9), fat, errors, 0), 0);
  EXPECT_EQ(errors[0], protocol::to_wire(protocol::ErrorCode::kOffsetMetadataTooLarge));
  // A member of a group with members must be one, in its generation.
  EXPECT_EQ(groups.validate_offset_commit({"absent", 3, "m", std::nullopt, false}, 0),
            protocol::to_wire(protocol::ErrorCode::kIllegalGeneration));
}

TEST_F(TxnOffsetsTest, ReplayAppliesCommittedAndRestoresOpenTransactions) {
  {
    cluster::BrokerState state;
    load(state);
    OffsetsTopic topic(state, config_);
    GroupCoordinator groups(config_, &topic);
    TxnOffsets pending(groups, &topic.topic());
    std::vector<int16_t> errors;
    const std::vector<CommitPartition> committed_part{{"t", 0, 10, -1, std::nullopt}};
    const std::vector<CommitPartition> aborted_part{{"t", 1, 11, -1, std::nullopt}};
    const std::vector<CommitPartition> open_part{{"t", 2, 12, -1, std::nullopt}};
    ASSERT_EQ(pending.commit(params("g", 1), committed_part, errors, 0), 0);
    ASSERT_EQ(pending.commit(params("g", 2), aborted_part, errors, 0), 0);
    ASSERT_EQ(pending.commit(params("g", 3), open_part, errors, 0), 0);
    ASSERT_TRUE(pending.end(0, 2, 0, false, 0));
    ASSERT_TRUE(pending.end(0, 1, 0, true, 0));
    // Filler commits roll segments: replay reads the open transaction from
    // an older segment and never resurrects the aborted offset.
    for (int64_t i = 0; i < 100; ++i) {
      const std::vector<CommitPartition> filler{{"t", 5, i, -1, std::string_view("padding")}};
      ASSERT_EQ(groups.commit({"filler", -1, "", std::nullopt, false}, filler, errors, 0), 0);
    }
    ASSERT_TRUE(cluster::close_log_dir(state).ok());
  }
  cluster::BrokerState state;
  load(state);
  OffsetsTopic topic(state, config_);
  GroupCoordinator groups(config_, &topic);
  TxnOffsets pending(groups, &topic.topic());
  ASSERT_TRUE(topic.load_into(groups, &pending).ok());
  EXPECT_EQ(committed(groups, "g", 0), 10);
  EXPECT_EQ(committed(groups, "g", 1), std::nullopt);
  EXPECT_EQ(committed(groups, "g", 2), std::nullopt);
  EXPECT_TRUE(pending.is_pending("g", "t", 2));
  EXPECT_EQ(committed(groups, "filler", 5), 99);
  // The open transaction commits after the restart.
  ASSERT_TRUE(pending.end(0, 3, 0, true, 0));
  EXPECT_EQ(committed(groups, "g", 2), 12);
}

}  // namespace
}  // namespace kb::group
