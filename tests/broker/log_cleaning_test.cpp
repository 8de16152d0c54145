// The broker's cleaning task: the walk that weighs every topic's configs to
// find the dirtiest compacted log, a slice of the topics per loop turn.

#include "kb/broker/log_cleaning.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>

#include "kb/cluster/broker_configs.hpp"
#include "kb/cluster/startup.hpp"
#include "kb/cluster/topic_admin.hpp"
#include "kb/group/coordinator.hpp"
#include "kb/group/offsets_topic.hpp"
#include "kb/group/records.hpp"
#include "kb/group/txn_offsets.hpp"
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
    loop_.add_before_sleep([this] {
      if (stop_when_ && stop_when_()) loop_.stop();
    });
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

  // Runs the loop until `done` holds (false after `bound` without).
  bool run_until(const std::function<bool()>& done,
                 std::chrono::milliseconds bound = std::chrono::seconds(20)) {
    stop_when_ = done;
    auto guard = loop_.run_after(bound, [&] { loop_.stop(); });
    loop_.run();
    loop_.cancel(guard);
    stop_when_ = nullptr;
    return done();
  }
  // Runs the loop until `cleans` cleans in all have completed (false after
  // 20 s without).
  bool run_until_cleaned(LogCleaning& cleaning, size_t cleans) {
    return run_until([&] { return cleaning.cleans_completed() >= cleans; });
  }
  // A compacted topic of one partition: `batches` batches of one key, each
  // with a value of `value_bytes`, `segment_batches` batches a segment.
  storage::PartitionLog* make_dirty_table(const std::string& name, int batches, size_t value_bytes,
                                          int segment_batches) {
    const auto batch = keyed_batch("k", std::string(value_bytes, 'v'));
    cluster::NewTopic table;
    table.name = name;
    table.partitions = 1;
    table.configs = {{"cleanup.policy", "compact"},
                     {"segment.bytes", std::to_string(batch.size() * segment_batches)},
                     {"min.cleanable.dirty.ratio", "0.01"}};
    create({table});
    auto log = state_.logs->find(name, 0);
    if (!log.ok() || *log == nullptr) return nullptr;
    for (int i = 0; i < batches; ++i)
      if (!(*log)->append(batch).ok()) return nullptr;
    return *log;
  }
  void run_for(std::chrono::milliseconds time) {
    auto stop = loop_.run_after(time, [&] { loop_.stop(); });
    loop_.run();
    loop_.cancel(stop);
  }
  // With `cleaning` throttled to a byte a second: a dirty log whose clean
  // is under way and held back (its first batch read is slept off, for
  // hours). The throttler's period starts with `cleaning`: a clean that
  // starts over 300 ms later is checked at its first batch.
  storage::PartitionLog* start_a_held_back_clean(LogCleaning& cleaning) {
    run_for(std::chrono::milliseconds(400));
    storage::PartitionLog* log = make_dirty_table("held-back", 300, 8000, 16);
    if (log == nullptr) return nullptr;
    if (!run_until([&] { return cleaning.cleans_under_way() > 0; })) return nullptr;
    run_for(std::chrono::milliseconds(300));
    if (cleaning.cleans_completed() != 0 || cleaning.cleans_under_way() != 1) return nullptr;
    return log;
  }
  static LogCleaningOptions quick_options() {
    LogCleaningOptions options;
    options.backoff_ms = 10;
    options.dedupe_buffer_bytes = 1 << 20;
    return options;
  }
  static group::GroupConfig offsets_config() {
    group::GroupConfig config;
    config.offsets_partitions = 1;
    config.offsets_segment_bytes = 1024;
    config.initial_rebalance_delay_ms = 0;
    return config;
  }
  // The state of the directory as a restarted broker loads it.
  void reload(cluster::BrokerState& state) {
    ASSERT_TRUE(cluster::close_log_dir(state_).ok());
    cluster::LogDirOptions options;
    options.log_dir = dir_;
    ASSERT_TRUE(cluster::load_log_dir(options, state).ok());
  }
  static std::optional<int64_t> committed(const group::GroupCoordinator& groups,
                                          std::string_view group, int32_t partition) {
    const group::Group* g = groups.find(group);
    if (!g) return std::nullopt;
    auto it = g->offsets.find(std::pair<std::string, int32_t>("t", partition));
    if (it == g->offsets.end()) return std::nullopt;
    return it->second.offset;
  }

  fs::path dir_;
  net::EventLoop loop_;
  cluster::BrokerState state_;
  std::function<bool()> stop_when_;  // run_until's
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

// __consumer_offsets is cleaned by the same cleaner as any compacted topic,
// off the loop: the coordinator only appends. What a restart loads from the
// cleaned partition is each key's latest commit; a commit written once long
// ago survives; a deleted offset stays deleted.
TEST_F(LogCleaningTest, ConsumerOffsetsAreCleanedAndReloadTheLatestOfEveryKey) {
  const group::GroupConfig config = offsets_config();
  {
    group::OffsetsTopic topic(state_, config);
    group::GroupCoordinator coordinator(config, &topic);
    std::vector<int16_t> errors;
    const std::vector<group::CommitPartition> once{{"t", 9, 7, -1, "kept"}};
    ASSERT_EQ(coordinator.commit({"quiet", -1, "", std::nullopt, false}, once, errors, 0), 0);
    const std::vector<group::CommitPartition> doomed{{"t", 8, 1, -1, std::nullopt}};
    coordinator.commit({"busy", -1, "", std::nullopt, false}, doomed, errors, 0);
    std::vector<cluster::CoordinatorRecord> tombstone{
        {group::encode_key(group::OffsetCommitKey{"busy", "t", 8}), {}}};
    ASSERT_TRUE(topic.append(0, tombstone));
    for (int64_t i = 0; i < 600; ++i) {
      const std::vector<group::CommitPartition> parts{
          {"t", static_cast<int32_t>(i % 2), i, -1, std::string_view("some metadata")}};
      ASSERT_EQ(coordinator.commit({"busy", -1, "", std::nullopt, false}, parts, errors, 0), 0);
    }
    auto log = state_.logs->find(std::string(group::kOffsetsTopic), 0);
    ASSERT_TRUE(log.ok() && *log != nullptr);
    ASSERT_GT((*log)->segment_count(), 20u);
    const uint64_t size_before = (*log)->size_bytes();
    LogCleaning cleaning(loop_, state_, quick_options());
    ASSERT_TRUE(run_until_cleaned(cleaning, 1)) << "timed out";
    // Four live keys are left of the rolled segments (grouped into fewer
    // segments by the next clean, as Kafka's cleaner groups them by size).
    EXPECT_LT((*log)->size_bytes(), size_before / 10);
  }
  cluster::BrokerState state;
  reload(state);
  group::OffsetsTopic topic(state, config);
  group::GroupCoordinator reloaded(config, &topic);
  ASSERT_TRUE(topic.load_into(reloaded).ok());
  EXPECT_EQ(committed(reloaded, "busy", 0), 598);
  EXPECT_EQ(committed(reloaded, "busy", 1), 599);
  EXPECT_EQ(committed(reloaded, "busy", 8), std::nullopt);
  EXPECT_EQ(committed(reloaded, "quiet", 9), 7);
  EXPECT_EQ(reloaded.find("quiet")->offsets.at({"t", 9}).metadata, "kept");
  ASSERT_TRUE(cluster::close_log_dir(state).ok());
}

// Offsets committed in transactions (TxnOffsetCommit): the cleaner never
// passes the first offset of a transaction still open (the last stable
// offset); an aborted transaction's offsets never hide the commit before
// them; a committed one's count; after a restart every offset is as the
// markers decided, and the open transaction can still commit.
TEST_F(LogCleaningTest, TransactionalOffsetsAreCleanedAsTheirMarkersDecide) {
  const group::GroupConfig config = offsets_config();
  int64_t open_first = -1;
  {
    group::OffsetsTopic topic(state_, config);
    group::GroupCoordinator groups(config, &topic);
    group::TxnOffsets pending(groups, &topic.topic());
    auto params = [](int64_t producer_id) {
      group::TxnCommitParams p;
      p.group = {"g", -1, "", std::nullopt, false};
      p.producer_id = producer_id;
      p.producer_epoch = 0;
      return p;
    };
    std::vector<int16_t> errors;
    auto filler = [&](int64_t from, int64_t to) {
      for (int64_t i = from; i < to; ++i) {
        const std::vector<group::CommitPartition> parts{
            {"t", 5, i, -1, std::string_view("padding")}};
        ASSERT_EQ(groups.commit({"filler", -1, "", std::nullopt, false}, parts, errors, 0), 0);
      }
    };
    const std::vector<group::CommitPartition> plain{{"t", 1, 5, -1, std::nullopt}};
    ASSERT_EQ(groups.commit({"g", -1, "", std::nullopt, false}, plain, errors, 0), 0);
    const std::vector<group::CommitPartition> aborted{{"t", 1, 11, -1, std::nullopt}};
    const std::vector<group::CommitPartition> kept{{"t", 0, 10, -1, std::nullopt}};
    const std::vector<group::CommitPartition> later{{"t", 2, 12, -1, std::nullopt}};
    ASSERT_EQ(pending.commit(params(2), aborted, errors, 0), 0);
    ASSERT_EQ(pending.commit(params(1), kept, errors, 0), 0);
    filler(0, 100);
    ASSERT_TRUE(pending.end(0, 2, 0, false, 0));
    ASSERT_TRUE(pending.end(0, 1, 0, true, 0));
    auto log = state_.logs->find(std::string(group::kOffsetsTopic), 0);
    ASSERT_TRUE(log.ok() && *log != nullptr);
    open_first = (*log)->log_end_offset();
    ASSERT_EQ(pending.commit(params(3), later, errors, 0), 0);
    filler(100, 400);

    const cluster::TopicInfo* info = state_.topics.find(group::kOffsetsTopic);
    ASSERT_NE(info, nullptr);
    auto lso = state_.producer_states.last_stable_offset(info->id, 0, **log, 0);
    ASSERT_TRUE(lso.ok());
    EXPECT_EQ(*lso, open_first);
    LogCleaning cleaning(loop_, state_, quick_options());
    ASSERT_TRUE(run_until_cleaned(cleaning, 1)) << "timed out";
    // Nothing at or past the open transaction's start was cleaned: its
    // segment and those after it are as they were written.
    auto read = (*log)->read(open_first, 1 << 20);
    ASSERT_TRUE(read.ok() && !read->empty());
    auto bytes = read->read_bytes();
    ASSERT_TRUE(bytes.ok());
    storage::BatchIterator batches(*bytes);
    auto first = batches.next();
    ASSERT_TRUE(first);
    EXPECT_EQ(first->base_offset(), open_first);
    EXPECT_TRUE(first->is_transactional());
    EXPECT_EQ(first->producer_id(), 3);

    // Once it commits, the cleaner goes past it.
    ASSERT_TRUE(pending.end(0, 3, 0, true, 0));
    filler(400, 800);
    const uint64_t size_before = (*log)->size_bytes();
    ASSERT_TRUE(run_until_cleaned(cleaning, cleaning.cleans_completed() + 1)) << "timed out";
    EXPECT_LT((*log)->size_bytes(), size_before / 4);
  }
  cluster::BrokerState state;
  reload(state);
  group::OffsetsTopic topic(state, config);
  group::GroupCoordinator groups(config, &topic);
  group::TxnOffsets pending(groups, &topic.topic());
  ASSERT_TRUE(topic.load_into(groups, &pending).ok());
  EXPECT_EQ(committed(groups, "g", 0), 10);
  EXPECT_EQ(committed(groups, "g", 1), 5);
  EXPECT_EQ(committed(groups, "g", 2), 12);
  EXPECT_EQ(committed(groups, "filler", 5), 799);
  EXPECT_EQ(pending.pending_count(), 0U);
  ASSERT_TRUE(cluster::close_log_dir(state).ok());
}

// log.cleaner.threads = 2: two logs are cleaned at the same time, each by
// one thread, and every dirty log ends up cleaned.
TEST_F(LogCleaningTest, TwoThreadsCleanTwoLogsAtOnce) {
  std::vector<storage::PartitionLog*> logs;
  std::vector<uint64_t> sizes;
  for (int i = 0; i < 4; ++i) {
    logs.push_back(make_dirty_table("table-" + std::to_string(i), 300, 8000, 16));
    ASSERT_NE(logs.back(), nullptr);
    sizes.push_back(logs.back()->size_bytes());
  }
  LogCleaningOptions options = quick_options();
  options.threads = 2;
  options.dedupe_buffer_bytes = 8 << 20;
  LogCleaning cleaning(loop_, state_, options);
  EXPECT_EQ(cleaning.thread_count(), 2u);
  ASSERT_TRUE(run_until_cleaned(cleaning, 4)) << "timed out";
  EXPECT_EQ(cleaning.most_concurrent_cleans(), 2u);
  for (size_t i = 0; i < logs.size(); ++i) EXPECT_LT(logs[i]->size_bytes(), sizes[i] / 10) << i;
}

// A log is never cleaned by two threads at once: with three threads and one
// dirty log, one thread cleans it and the others wait, again after more
// records come.
TEST_F(LogCleaningTest, OneLogIsCleanedByOneThreadAtATime) {
  storage::PartitionLog* log = make_dirty_table("table", 300, 8000, 16);
  ASSERT_NE(log, nullptr);
  LogCleaningOptions options = quick_options();
  options.threads = 3;
  options.dedupe_buffer_bytes = 8 << 20;
  LogCleaning cleaning(loop_, state_, options);
  size_t most_at_once = 0;
  loop_.add_before_sleep(
      [&] { most_at_once = std::max(most_at_once, cleaning.cleans_under_way()); });
  ASSERT_TRUE(run_until_cleaned(cleaning, 1)) << "timed out";
  const auto batch = keyed_batch("k", std::string(8000, 'w'));
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(log->append(batch).ok());
  ASSERT_TRUE(run_until_cleaned(cleaning, 2)) << "timed out";
  EXPECT_EQ(cleaning.most_concurrent_cleans(), 1u);
  EXPECT_EQ(most_at_once, 1u);
}

// log.cleaner.io.max.bytes.per.second changed with IncrementalAlterConfigs
// takes effect on the clean under way: one held back by a rate of a byte a
// second goes on once the rate is lifted, without a restart of the threads.
TEST_F(LogCleaningTest, ADynamicIoRateTakesEffectOnTheCleanUnderWay) {
  LogCleaningOptions options = quick_options();
  options.io_bytes_per_second = 1;
  options.dedupe_buffer_bytes = 4 << 20;
  LogCleaning cleaning(loop_, state_, options);
  ASSERT_TRUE(start_a_held_back_clean(cleaning));
  auto changed = cluster::alter_broker_configs(
      state_, "", {{"log.cleaner.io.max.bytes.per.second", cluster::ConfigOp::kSet, "1.0E9"}},
      false);
  ASSERT_TRUE(changed.ok()) << changed.message;
  ASSERT_TRUE(run_until_cleaned(cleaning, 1)) << "timed out";
  EXPECT_EQ(cleaning.restarts(), 0u);
  EXPECT_EQ(cleaning.options().io_bytes_per_second, 1.0e9);
}

// log.cleaner.threads changed with IncrementalAlterConfigs restarts the
// cleaner threads as Kafka's reconfigure does: the clean under way is
// abandoned (its files deleted) and taken up again by the new threads.
// Kafka's checks refuse a count below half or above double the one in
// force, and a map of 1 MiB or less per thread; nothing changes then.
TEST_F(LogCleaningTest, DynamicThreadCountRestartsTheCleanerThreads) {
  LogCleaningOptions options = quick_options();
  options.io_bytes_per_second = 1;
  options.dedupe_buffer_bytes = 8 << 20;
  LogCleaning cleaning(loop_, state_, options);
  storage::PartitionLog* log = start_a_held_back_clean(cleaning);
  ASSERT_NE(log, nullptr);
  const uint64_t size_before = log->size_bytes();
  auto alter = [&](std::string resource, std::vector<cluster::ConfigChange> changes) {
    return cluster::alter_broker_configs(state_, resource, changes, false);
  };
  auto changed = alter("1", {{"log.cleaner.threads", cluster::ConfigOp::kSet, "2"},
                             {"log.cleaner.io.max.bytes.per.second", cluster::ConfigOp::kSet,
                              "1.7976931348623157E308"}});
  ASSERT_TRUE(changed.ok()) << changed.message;
  ASSERT_TRUE(run_until_cleaned(cleaning, 1)) << "timed out";
  EXPECT_EQ(cleaning.restarts(), 1u);
  EXPECT_EQ(cleaning.thread_count(), 2u);
  EXPECT_LT(log->size_bytes(), size_before / 10);
  for (const auto& entry : fs::directory_iterator(log->dir()))
    EXPECT_FALSE(entry.path().string().ends_with(".cleaned")) << entry.path();

  for (const char* threads : {"5", "0"}) {
    auto refused = alter("1", {{"log.cleaner.threads", cluster::ConfigOp::kSet, threads}});
    EXPECT_EQ(refused.error, cluster::AdminError::kInvalidRequest) << threads;
    EXPECT_EQ(refused.message, "Invalid dynamic configuration") << threads;
  }
  auto small = alter("1", {{"log.cleaner.dedupe.buffer.size", cluster::ConfigOp::kSet, "2097152"}});
  EXPECT_EQ(small.error, cluster::AdminError::kInvalidRequest);
  EXPECT_EQ(small.message,
            "log.cleaner.dedupe.buffer.size must be at least 1MB per cleaner thread.");
  // The cluster default is under this broker's own value: it changes nothing
  // in force here, so Kafka takes it.
  EXPECT_TRUE(alter("", {{"log.cleaner.threads", cluster::ConfigOp::kSet, "8"}}).ok());
  run_for(std::chrono::milliseconds(50));
  EXPECT_EQ(cleaning.thread_count(), 2u);
  EXPECT_EQ(cleaning.restarts(), 1u);
  ASSERT_TRUE(alter("", {{"log.cleaner.threads", cluster::ConfigOp::kDelete, std::nullopt}}).ok());

  // Back to server.properties' one thread (half of two: allowed).
  ASSERT_TRUE(alter("1", {{"log.cleaner.threads", cluster::ConfigOp::kDelete, std::nullopt}}).ok());
  run_for(std::chrono::milliseconds(50));
  EXPECT_EQ(cleaning.thread_count(), 1u);
  EXPECT_EQ(cleaning.restarts(), 2u);
}

}  // namespace
}  // namespace kb::broker
