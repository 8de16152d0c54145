#include "kb/share/share_state_topic.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <vector>

#include "kb/cluster/startup.hpp"

namespace kb::share {
namespace {

using protocol::ErrorCode;

const Clock::time_point kT0{};

class ShareStateTopicTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "kb-share-state-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    config_.state_topic_partitions = 3;
    config_.snapshot_update_records_per_snapshot = 2;
    options_.delivery_count_limit = 5;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void load(cluster::BrokerState& state) {
    cluster::LogDirOptions options;
    options.log_dir = dir_;
    ASSERT_TRUE(cluster::load_log_dir(options, state).ok());
  }

  SharePartitionKey key(int32_t partition) const {
    wire::Uuid id;
    id.bytes.fill(0x11);
    return {"g", id, partition};
  }

  std::filesystem::path dir_;
  ShareCoordinatorConfig config_;
  SharePartitionOptions options_;
};

TEST(ShareStateKeys, CoordinatorKeyAndPartitionAsKafka) {
  wire::Uuid id;
  for (size_t i = 0; i < id.bytes.size(); ++i) id.bytes[i] = static_cast<uint8_t>(i);
  const SharePartitionKey key{"group-1", id, 7};
  // Uuid.toString: URL-safe base64 of the 16 bytes, no padding.
  EXPECT_EQ(coordinator_key(key), "group-1:AAECAwQFBgcICQoLDA0ODw:7");
  // Utils.abs("group-1:AAECAwQFBgcICQoLDA0ODw:7".hashCode()) % 50, as Java computes it.
  int32_t h = 0;
  for (char c : coordinator_key(key))
    h = static_cast<int32_t>(31u * static_cast<uint32_t>(h) + static_cast<uint32_t>(c));
  const int32_t positive = h == INT32_MIN ? 0 : (h < 0 ? -h : h);
  EXPECT_EQ(share_state_partition_for(key, 50), positive % 50);
}

TEST(ShareStateKeys, UpdatesOverrideWhatTheyCover) {
  const std::vector<StateBatch> old = {{0, 9, RecordState::kAvailable, 1},
                                       {10, 19, RecordState::kAcknowledged, 1}};
  const std::vector<StateBatch> update = {{5, 12, RecordState::kArchived, 2}};
  EXPECT_EQ(combine_state_batches(old, update, 3),
            (std::vector<StateBatch>{{3, 4, RecordState::kAvailable, 1},
                                     {5, 12, RecordState::kArchived, 2},
                                     {13, 19, RecordState::kAcknowledged, 1}}));
}

// Deliveries, acknowledgements and a crash (nothing closed): what a new
// broker loads is the state with acquired records available again and their
// delivery counts kept, across snapshots and updates.
TEST_F(ShareStateTopicTest, RestartReplaysSnapshotsAndUpdates) {
  std::vector<StateBatch> before;
  int64_t start_before = 0;
  {
    cluster::BrokerState state;
    load(state);
    ShareStateTopic topic(state, config_);
    ShareState shares(options_);
    ASSERT_TRUE(topic.load_into(shares).ok());
    shares.set_store(&topic);
    SharePartition& p = shares.initialize(key(0), 0);
    const std::vector<LogBatchSpan> log = {{0, 4}, {5, 9}, {10, 14}};
    // Acquire, release, acquire again: delivery count 2 for 0-4.
    p.acquire("m1", std::span(log).subspan(0, 1), 100, kT0);
    shares.touched(key(0), false);
    ASSERT_EQ(p.acknowledge("m1", std::vector<AckBatch>{{0, 4, {AckType::kRelease}}}, kT0),
              ErrorCode::kNone);
    shares.touched(key(0), true);
    p.acquire("m2", log, 100, kT0);
    shares.touched(key(0), false);
    ASSERT_EQ(p.acknowledge("m2", std::vector<AckBatch>{{5, 7, {AckType::kAccept}}}, kT0),
              ErrorCode::kNone);
    shares.touched(key(0), true);
    ASSERT_EQ(p.acknowledge("m2", std::vector<AckBatch>{{8, 8, {AckType::kReject}}}, kT0),
              ErrorCode::kNone);
    shares.touched(key(0), true);
    // Another share-partition, then deleted.
    shares.initialize(key(1), 40);
    shares.erase(key(1));
    start_before = p.start_offset();
    before = p.state_batches();
  }
  cluster::BrokerState state;
  load(state);
  ShareStateTopic topic(state, config_);
  ShareState shares(options_);
  ASSERT_TRUE(topic.load_into(shares).ok());
  EXPECT_EQ(shares.find(key(1)), nullptr);
  SharePartition* p = shares.find(key(0));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->start_offset(), start_before);
  EXPECT_EQ(p->acquired_count(), 0u);
  // 0-4 delivered twice, 9-14 once: all available again with their counts.
  EXPECT_EQ(p->state_batches(), (std::vector<StateBatch>{{0, 4, RecordState::kAvailable, 2},
                                                         {5, 7, RecordState::kAcknowledged, 1},
                                                         {8, 8, RecordState::kArchived, 1},
                                                         {9, 14, RecordState::kAvailable, 1}}));
  EXPECT_EQ(before.size(), 4u);
  // The next delivery of 0-4 is the third.
  const std::vector<LogBatchSpan> log = {{0, 4}};
  EXPECT_EQ(p->acquire("m3", log, 100, kT0), (std::vector<AcquiredRange>{{0, 4, 3}}));
  // Pruning keeps what the latest snapshot needs: the state loads the same.
  EXPECT_GE(topic.prune(), 0u);
}

TEST_F(ShareStateTopicTest, PruneKeepsTheLatestSnapshots) {
  config_.state_topic_partitions = 1;
  config_.snapshot_update_records_per_snapshot = 0;  // every write a snapshot
  {
    cluster::BrokerState state;
    load(state);
    ShareStateTopic topic(state, config_);
    ShareState shares(options_);
    ASSERT_TRUE(topic.load_into(shares).ok());
    shares.set_store(&topic);
    for (int64_t i = 0; i < 5; ++i) {
      SharePartition& p = shares.initialize(key(0), 0);
      const std::vector<LogBatchSpan> log = {{i, i}};
      p.acquire("m", log, 10, kT0);
      shares.touched(key(0), false);
      ASSERT_EQ(p.acknowledge("m", std::vector<AckBatch>{{i, i, {AckType::kAccept}}}, kT0),
                ErrorCode::kNone);
      shares.touched(key(0), true);
    }
    EXPECT_EQ(topic.prune(), 1u);
    auto log = state.logs->find(std::string(kShareGroupStateTopic), 0);
    ASSERT_TRUE(log && *log != nullptr);
    EXPECT_EQ((*log)->log_start_offset(), (*log)->log_end_offset() - 1);
    ASSERT_TRUE(cluster::close_log_dir(state).ok());
  }
  cluster::BrokerState state;
  load(state);
  ShareStateTopic topic(state, config_);
  ShareState shares(options_);
  ASSERT_TRUE(topic.load_into(shares).ok());
  ASSERT_NE(shares.find(key(0)), nullptr);
  EXPECT_EQ(shares.find(key(0))->start_offset(), 5);
}

}  // namespace
}  // namespace kb::share
