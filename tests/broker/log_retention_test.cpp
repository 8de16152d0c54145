// The broker's retention task: passes over every partition of the topics
// whose cleanup.policy deletes, a slice per loop turn, on its timer.

#include "kb/broker/log_retention.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "kb/cluster/startup.hpp"
#include "kb/cluster/topic_admin.hpp"
#include "kb/net/event_loop.hpp"
#include "kb/storage/record_batch.hpp"

namespace kb::broker {
namespace {

namespace fs = std::filesystem;

class LogRetentionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "kb-retention-test-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    cluster::LogDirOptions options;
    options.log_dir = dir_;
    ASSERT_TRUE(cluster::load_log_dir(options, state_).ok());
    state_.log_config.retention_check_interval_ms = 20;
  }
  void TearDown() override {
    state_.logs.reset();
    state_.metadata_log.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // A topic of `partitions` partitions, each holding `segments` one-batch
  // segments.
  void fill_topic(const std::string& name, int32_t partitions,
                  std::map<std::string, std::string, std::less<>> configs, int segments = 6) {
    const auto batch = one_record_batch();
    configs["segment.bytes"] = std::to_string(batch.size());
    cluster::NewTopic topic;
    topic.name = name;
    topic.partitions = partitions;
    topic.configs = std::move(configs);
    auto created = cluster::create_topic(state_, topic, false);
    ASSERT_EQ(created.error, cluster::AdminError::kNone) << created.message;
    for (int32_t p = 0; p < partitions; ++p) {
      auto log = state_.logs->find(name, p);
      ASSERT_TRUE(log.ok() && *log != nullptr);
      for (int i = 0; i < segments; ++i) ASSERT_TRUE((*log)->append(batch).ok());
      ASSERT_EQ((*log)->segment_count(), static_cast<size_t>(segments));
    }
  }
  static std::vector<uint8_t> one_record_batch() {
    storage::RecordBatchBuilder builder;
    const std::string value(100, 'v');
    builder.add_record(std::nullopt,
                       storage::Bytes(reinterpret_cast<const uint8_t*>(value.data()), value.size()),
                       1700000000000);  // long past the default 7 days
    return builder.build();
  }
  // Runs the loop until `retention` completed `passes` passes (bounded).
  void run_passes(LogRetention& retention, size_t passes) {
    loop_.add_before_sleep([&] {
      ++turns_;
      if (retention.passes_completed() >= passes) loop_.stop();
    });
    auto guard = loop_.run_after(std::chrono::seconds(10), [&] { loop_.stop(); });
    loop_.run();
    loop_.cancel(guard);
    ASSERT_GE(retention.passes_completed(), passes) << "timed out";
  }
  int64_t start_of(const std::string& topic, int32_t partition) {
    auto log = state_.logs->find(topic, partition);
    return log.ok() && *log ? (*log)->log_start_offset() : -1;
  }

  fs::path dir_;
  net::EventLoop loop_;
  cluster::BrokerState state_;
  size_t turns_ = 0;
};

TEST_F(LogRetentionTest, APassDeletesExpiredSegmentsOfDeletingTopicsOnly) {
  fill_topic("old", 5, {});
  fill_topic("kept", 1, {{"retention.ms", "-1"}});
  fill_topic("compacted", 1, {{"cleanup.policy", "compact"}});
  fill_topic("sized", 2, {{"retention.ms", "-1"}, {"retention.bytes", "200"}});
  LogRetention retention(loop_, state_, 2);
  run_passes(retention, 1);
  // By time: everything, the active segment after a roll; by size: while
  // >= 200 bytes (one batch is about 170) remain.
  for (int32_t p = 0; p < 5; ++p) EXPECT_EQ(start_of("old", p), 6) << p;
  EXPECT_EQ(start_of("kept", 0), 0);
  EXPECT_EQ(start_of("compacted", 0), 0);
  EXPECT_EQ(start_of("sized", 0), 4);
  EXPECT_EQ(start_of("sized", 1), 4);
  EXPECT_EQ(retention.segments_deleted(), 5u * 6 + 2 * 4);
  // 7 partitions to look at, 2 a turn: the pass took 4 turns at least.
  EXPECT_GE(turns_, 4u);
  EXPECT_EQ(state_.logs->log_start_offsets().size(), 7u);

  // The next pass finds nothing more.
  run_passes(retention, 2);
  EXPECT_EQ(retention.segments_deleted(), 5u * 6 + 2 * 4);
}

// Small segments under fast producers leave one partition thousands of
// segments to delete: they go a few at a time, one slice a loop turn, never
// all in the turn that found them.
TEST_F(LogRetentionTest, ALongBacklogInOnePartitionIsSpreadOverLoopTurns) {
  fill_topic("busy", 1, {}, 300);
  LogRetention retention(loop_, state_, 128);
  size_t seen = 0;
  size_t most_in_a_turn = 0;
  loop_.add_before_sleep([&] {
    most_in_a_turn = std::max(most_in_a_turn, retention.segments_deleted() - seen);
    seen = retention.segments_deleted();
  });
  run_passes(retention, 1);
  EXPECT_EQ(start_of("busy", 0), 300);
  EXPECT_EQ(retention.segments_deleted(), 300u);
  // Slices of about 250 us, deleting two segments a step: however fast the
  // file system, never the whole backlog in one turn.
  EXPECT_LT(most_in_a_turn, 150u);
  EXPECT_GT(most_in_a_turn, 0u);
}

TEST_F(LogRetentionTest, LogsNotOpenSinceStartUpAreOpenedAndAged) {
  fill_topic("old", 1, {});
  ASSERT_TRUE(cluster::close_log_dir(state_).ok());
  state_.logs.reset();
  state_.metadata_log.reset();
  cluster::BrokerState reloaded;
  cluster::LogDirOptions options;
  options.log_dir = dir_;
  ASSERT_TRUE(cluster::load_log_dir(options, reloaded).ok());
  reloaded.log_config.retention_check_interval_ms = 20;
  EXPECT_EQ(reloaded.logs->open_count(), 0u);
  LogRetention retention(loop_, reloaded, 16);
  loop_.add_before_sleep([&] {
    if (retention.passes_completed() >= 1) loop_.stop();
  });
  auto guard = loop_.run_after(std::chrono::seconds(10), [&] { loop_.stop(); });
  loop_.run();
  loop_.cancel(guard);
  EXPECT_EQ(retention.segments_deleted(), 6u);
  EXPECT_EQ(reloaded.logs->open_count(), 1u);
}

}  // namespace
}  // namespace kb::broker
