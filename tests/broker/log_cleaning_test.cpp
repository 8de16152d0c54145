// The broker's cleaning task: the walk that weighs every topic's configs to
// find the dirtiest compacted log, a slice of the topics per loop turn.

#include "kb/broker/log_cleaning.hpp"

#include <gtest/gtest.h>

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

class LogCleaningTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "kb-cleaning-test-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    cluster::LogDirOptions options;
    options.log_dir = dir_;
    ASSERT_TRUE(cluster::load_log_dir(options, state_).ok());
  }
  void TearDown() override {
    state_.logs.reset();
    state_.metadata_log.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void create(std::vector<cluster::NewTopic> topics) {
    for (const auto& result : cluster::create_topics(state_, topics, false, false))
      ASSERT_EQ(result.error, cluster::AdminError::kNone) << result.message;
  }
  static std::vector<uint8_t> keyed_batch(std::string_view key, std::string_view value) {
    storage::RecordBatchBuilder builder;
    builder.add_record(storage::Bytes(reinterpret_cast<const uint8_t*>(key.data()), key.size()),
                       storage::Bytes(reinterpret_cast<const uint8_t*>(value.data()), value.size()),
                       1700000000000);
    return builder.build();
  }

  fs::path dir_;
  net::EventLoop loop_;
  cluster::BrokerState state_;
};

// Topics that are not compacted cost a config lookup each: the walk over
// them is spread over loop turns, one slice each, and it still finds the one
// compacted log worth cleaning, which is then cleaned.
TEST_F(LogCleaningTest, TheWalkOverManyTopicsIsSpreadOverLoopTurns) {
  std::vector<cluster::NewTopic> plain(400);
  for (size_t i = 0; i < plain.size(); ++i) {
    plain[i].name = "plain-" + std::to_string(i);
    plain[i].partitions = 1;
  }
  create(std::move(plain));
  const auto batch = keyed_batch("k", std::string(100, 'v'));
  cluster::NewTopic table;
  table.name = "zz-table";  // walked last
  table.partitions = 1;
  table.configs = {{"cleanup.policy", "compact"},
                   {"segment.bytes", std::to_string(batch.size())},
                   {"min.cleanable.dirty.ratio", "0.01"}};
  create({table});
  auto log = state_.logs->find("zz-table", 0);
  ASSERT_TRUE(log.ok() && *log != nullptr);
  for (int i = 0; i < 6; ++i) ASSERT_TRUE((*log)->append(batch).ok());
  const uint64_t size_before = (*log)->size_bytes();

  LogCleaningOptions options;
  options.backoff_ms = 0;
  // No budget: each slice weighs one topic (creating the thousands of topics
  // that fill the default budget takes minutes on a busy file system).
  options.scan_slice_budget = std::chrono::microseconds(0);
  LogCleaning cleaning(loop_, state_, options);
  size_t turns = 0;
  loop_.add_before_sleep([&] {
    ++turns;
    if (cleaning.cleans_completed() >= 1) loop_.stop();
  });
  auto guard = loop_.run_after(std::chrono::seconds(20), [&] { loop_.stop(); });
  loop_.run();
  loop_.cancel(guard);
  ASSERT_GE(cleaning.cleans_completed(), 1u) << "timed out";
  EXPECT_EQ(cleaning.last_scan_slices(), 401u);
  EXPECT_GE(turns, 401u);
  // Five rolled segments of the same key: one record is left of them.
  EXPECT_LT((*log)->size_bytes(), size_before);
}

}  // namespace
}  // namespace kb::broker
