// The broker's flusher: flush requests grouped per partition and loop turn,
// synced on helper threads, completion coming back into the event loop; the
// recovery point checkpoint written by its timer.

#include "kb/broker/log_flusher.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "kb/cluster/broker_state.hpp"
#include "kb/net/event_loop.hpp"
#include "kb/storage/offset_checkpoint.hpp"
#include "kb/storage/record_batch.hpp"

namespace kb::broker {
namespace {

namespace fs = std::filesystem;

class LogFlusherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "kb-flusher-test-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    state_.logs = std::make_unique<cluster::PartitionLogs>(dir_, storage::PartitionLogOptions{});
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  storage::PartitionLog& log(int32_t partition) {
    auto found = state_.logs->find_or_create("t", partition, wire::Uuid{{1}});
    EXPECT_TRUE(found.ok());
    return **found;
  }
  void append(storage::PartitionLog& log, size_t value_bytes = 1) {
    storage::RecordBatchBuilder builder;
    const std::string value(value_bytes, 'v');
    builder.add_record(std::nullopt,
                       storage::Bytes(reinterpret_cast<const uint8_t*>(value.data()), value.size()),
                       1700000000000);
    auto batch = builder.build();
    ASSERT_TRUE(log.append(batch).ok());
  }
  // Runs the loop until `done` holds after some progress (bounded).
  template <class Pred>
  void run_until(LogFlusher& flusher, Pred done) {
    flusher.add_progress_listener(this, [&] {
      if (done()) loop_.stop();
    });
    auto guard = loop_.run_after(std::chrono::seconds(10), [&] { loop_.stop(); });
    if (!done()) loop_.run();
    loop_.cancel(guard);
    flusher.remove_progress_listener(this);
    ASSERT_TRUE(done()) << "timed out";
  }

  fs::path dir_;
  net::EventLoop loop_;
  cluster::BrokerState state_;
};

TEST_F(LogFlusherTest, RequestsOfOneTurnShareOneSyncPerPartition) {
  LogFlusher flusher(loop_, state_, 2);
  storage::PartitionLog& a = log(0);
  storage::PartitionLog& b = log(1);
  append(a);
  append(b);
  auto a1 = flusher.request_flush("t", 0, a);
  append(a);
  auto a2 = flusher.request_flush("t", 0, a);
  auto b1 = flusher.request_flush("t", 1, b);
  EXPECT_EQ(a1.generation, a2.generation);
  EXPECT_NE(a1.slot, b1.slot);
  EXPECT_FALSE(flusher.done(a1));
  EXPECT_EQ(a.flushed_offset(), 0);

  run_until(flusher, [&] { return flusher.done(a2) && flusher.done(b1); });
  EXPECT_EQ(flusher.syncs_completed(), 2u) << "one sync per partition";
  EXPECT_FALSE(flusher.failed(a1));
  EXPECT_EQ(a.flushed_offset(), 2);
  EXPECT_EQ(b.flushed_offset(), 1);
  EXPECT_FALSE(a.has_unflushed());
  EXPECT_EQ(a.recovery_point(), 0) << "indexes are synced with the checkpoint";
}

TEST_F(LogFlusherTest, ARequestAfterASubmittedSyncWaitsForTheNextOne) {
  LogFlusher flusher(loop_, state_, 1);
  storage::PartitionLog& a = log(0);
  append(a);
  auto first = flusher.request_flush("t", 0, a);
  cluster::FlushTicket second;
  // Next turn: the first sync is submitted (maybe done); this append is not in it.
  loop_.run_after(std::chrono::milliseconds(0), [&] {
    append(a);
    second = flusher.request_flush("t", 0, a);
  });
  run_until(flusher, [&] { return second.generation != 0 && flusher.done(second); });
  EXPECT_GT(second.generation, first.generation);
  EXPECT_TRUE(flusher.done(first));
  EXPECT_EQ(flusher.syncs_completed(), 2u);
  EXPECT_EQ(a.flushed_offset(), 2);
}

TEST_F(LogFlusherTest, FinishWaitsForEveryRequestedFlush) {
  LogFlusher flusher(loop_, state_, 2);
  storage::PartitionLog& a = log(0);
  append(a);
  auto ticket = flusher.request_flush("t", 0, a);
  flusher.finish();  // without running the loop
  EXPECT_TRUE(flusher.done(ticket));
  EXPECT_EQ(a.flushed_offset(), 1);
}

// kb.log.writeback.interval.bytes: once a partition appended that much, the
// range goes to the kernel's writeback from a worker thread before the loop
// sleeps; nothing waits for it, and flushes go on as before.
TEST_F(LogFlusherTest, WritebackIsStartedOnceEnoughWasAppended) {
  state_.log_config.writeback_interval_bytes = 16 * 1024;
  LogFlusher flusher(loop_, state_, 2);
  storage::PartitionLog& a = log(0);
  append(a, 10000);
  flusher.start_writeback(a);
  EXPECT_TRUE(a.take_writeback_range(4096).has_value()) << "below the interval: left";
  append(a, 10000);
  append(a, 10000);
  flusher.start_writeback(a);
  EXPECT_FALSE(a.take_writeback_range(1).has_value()) << "taken by the flusher";
  auto ticket = flusher.request_flush("t", 0, a);
  run_until(flusher, [&] { return flusher.done(ticket); });
  EXPECT_EQ(a.flushed_offset(), 3);
  flusher.finish();

  state_.log_config.writeback_interval_bytes = 0;  // off
  append(a, 10000);
  append(a, 10000);
  flusher.start_writeback(a);
  EXPECT_TRUE(a.take_writeback_range(1).has_value());
}

TEST_F(LogFlusherTest, FlushIntervalMsFlushesOldUnsyncedData) {
  state_.log_config.flush_interval_ms = 20;
  LogFlusher flusher(loop_, state_, 1);
  storage::PartitionLog& a = log(0);
  append(a);
  append(a);
  run_until(flusher, [&] { return !a.has_unflushed(); });
  EXPECT_EQ(a.flushed_offset(), 2);
}

TEST_F(LogFlusherTest, TimerWritesTheRecoveryPointCheckpoint) {
  state_.log_config.flush_checkpoint_interval_ms = 10;
  LogFlusher flusher(loop_, state_, 1);
  storage::PartitionLog& a = log(0);
  append(a);
  auto ticket = flusher.request_flush("t", 0, a);
  const fs::path file = dir_ / storage::kRecoveryPointCheckpointFile;
  auto read = [&] {
    std::ifstream in(file);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  };
  // Progress reports come from syncs; the checkpoint write reports none, so poll.
  std::function<void()> poll = [&] {
    if (flusher.done(ticket) && read() == "0\n1\nt 0 1\n" && a.recovery_point() == 1)
      loop_.stop();
    else
      loop_.run_after(std::chrono::milliseconds(5), poll);
  };
  loop_.run_after(std::chrono::milliseconds(5), poll);
  auto guard = loop_.run_after(std::chrono::seconds(10), [&] { loop_.stop(); });
  loop_.run();
  loop_.cancel(guard);
  EXPECT_EQ(read(), "0\n1\nt 0 1\n");
  EXPECT_EQ(a.recovery_point(), 1) << "the indexes were synced with the checkpoint";
  EXPECT_FALSE(a.has_unsynced_indexes());
  EXPECT_EQ(
      storage::read_offset_checkpoint(dir_ / storage::kLogStartOffsetCheckpointFile).offsets.size(),
      0u);
  // With it, the high watermarks Kafka starts its partitions at: the log end.
  const storage::OffsetCheckpoint high_watermarks =
      storage::read_offset_checkpoint(dir_ / storage::kReplicationOffsetCheckpointFile).offsets;
  ASSERT_EQ(high_watermarks.size(), 1u);
  EXPECT_EQ(high_watermarks.begin()->second, 1);
}

// Many partitions (here logs not opened since start-up, whose entries come
// from the files read then): the checkpoint's walk over them takes several
// loop turns, and the files hold every partition's entry.
TEST_F(LogFlusherTest, ACheckpointOfManyPartitionsIsGatheredOverSeveralTurns) {
  constexpr int32_t kClosed = 50'000;
  storage::OffsetCheckpoint points;
  storage::OffsetCheckpoint starts;
  for (int32_t p = 0; p < kClosed; ++p) {
    points[{"closed", p}] = 100 + p;
    if (p % 2 == 0) starts[{"closed", p}] = p;
  }
  state_.logs->set_recovery_state(true, points);
  state_.logs->set_log_start_offsets(starts);
  state_.log_config.flush_checkpoint_interval_ms = 10;
  LogFlusher flusher(loop_, state_, 1);
  storage::PartitionLog& a = log(0);
  append(a);
  const fs::path file = dir_ / storage::kRecoveryPointCheckpointFile;
  size_t turns = 0;
  loop_.add_before_sleep([&] {
    ++turns;
    if (fs::exists(file)) loop_.stop();
  });
  auto guard = loop_.run_after(std::chrono::seconds(20), [&] { loop_.stop(); });
  loop_.run();
  loop_.cancel(guard);
  ASSERT_TRUE(fs::exists(file)) << "timed out";
  // Three lines of 50,000 entries each are far more than one 250 us slice.
  EXPECT_GT(turns, 3u);
  storage::OffsetCheckpoint expected = points;
  expected[{"t", 0}] = a.recovery_point();
  EXPECT_EQ(storage::read_offset_checkpoint(file).offsets, expected);
  EXPECT_EQ(storage::read_offset_checkpoint(dir_ / storage::kLogStartOffsetCheckpointFile).offsets,
            starts);
  expected[{"t", 0}] = 1;  // the open log's end
  EXPECT_EQ(
      storage::read_offset_checkpoint(dir_ / storage::kReplicationOffsetCheckpointFile).offsets,
      expected);
}

// A partition deleted while the walk is under way could come back under the
// same name before it ends, and the walk may have its old entry: the walk
// starts over, and the files never list the deleted partition.
TEST_F(LogFlusherTest, APartitionDeletedDuringTheCheckpointsWalkIsNotInIt) {
  constexpr int32_t kClosed = 50'000;
  storage::OffsetCheckpoint points;
  for (int32_t p = 0; p < kClosed; ++p) points[{"closed", p}] = 100 + p;
  state_.logs->set_recovery_state(true, points);
  state_.log_config.flush_checkpoint_interval_ms = 10;
  LogFlusher flusher(loop_, state_, 1);
  const fs::path file = dir_ / storage::kRecoveryPointCheckpointFile;
  bool closed = false;
  loop_.add_before_sleep([&] {
    // Between two slices: the walk (in order) is past "closed" 0.
    if (!closed && flusher.checkpoint_walk_under_way()) {
      state_.logs->close("closed", 0);
      closed = true;
    }
    if (fs::exists(file)) loop_.stop();
  });
  auto guard = loop_.run_after(std::chrono::seconds(20), [&] { loop_.stop(); });
  loop_.run();
  loop_.cancel(guard);
  ASSERT_TRUE(fs::exists(file)) << "timed out";
  ASSERT_TRUE(closed);
  points.erase({"closed", 0});
  EXPECT_EQ(storage::read_offset_checkpoint(file).offsets, points);
}

// A data sync that fails (here: the segment's descriptor turned into a pipe,
// which fdatasync refuses) fails its ticket, moves nothing, and reports the
// disk failure once; later syncs that succeed count for nothing either.
TEST_F(LogFlusherTest, AFailedSyncReportsTheDiskFailureAndNothingCountsAsFlushedAfter) {
  LogFlusher flusher(loop_, state_, 2);
  std::vector<std::string> failures;
  flusher.on_disk_failure([&](const std::string& what) { failures.push_back(what); });
  storage::PartitionLog& a = log(0);
  storage::PartitionLog& b = log(1);
  append(a);
  append(b);
  auto read = a.read(0, 1);
  ASSERT_TRUE(read.ok());
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  ASSERT_GE(::dup2(pipe_fds[0], read->file->fd()), 0);
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);

  auto failing = flusher.request_flush("t", 0, a);
  run_until(flusher, [&] { return flusher.done(failing); });
  EXPECT_TRUE(flusher.failed(failing));
  EXPECT_TRUE(flusher.disk_failed());
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_NE(failures[0].find("t-0"), std::string::npos) << failures[0];
  EXPECT_EQ(a.flushed_offset(), 0);

  auto after = flusher.request_flush("t", 1, b);
  run_until(flusher, [&] { return flusher.done(after); });
  EXPECT_TRUE(flusher.failed(after)) << "not durable once the directory failed";
  EXPECT_EQ(b.flushed_offset(), 0);
  EXPECT_EQ(failures.size(), 1u) << "reported once";
}

// The recovery point checkpoint that cannot be written is a disk failure too
// (a directory stands where the file goes, so the rename fails).
TEST_F(LogFlusherTest, AFailedCheckpointReportsTheDiskFailure) {
  state_.log_config.flush_checkpoint_interval_ms = 10;
  fs::create_directories(dir_ / storage::kRecoveryPointCheckpointFile / "in-the-way");
  LogFlusher flusher(loop_, state_, 1);
  std::vector<std::string> failures;
  flusher.on_disk_failure([&](const std::string& what) {
    failures.push_back(what);
    loop_.stop();
  });
  storage::PartitionLog& a = log(0);
  append(a);
  flusher.request_flush("t", 0, a);
  auto guard = loop_.run_after(std::chrono::seconds(10), [&] { loop_.stop(); });
  loop_.run();
  loop_.cancel(guard);
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_NE(failures[0].find("checkpoint"), std::string::npos) << failures[0];
  EXPECT_EQ(a.recovery_point(), 0);
}

// Running out of descriptors is no disk failure: the checkpoint job that
// could not open the index files (here: every descriptor of the process
// taken) is tried again until it can, and nothing is reported as failed.
TEST_F(LogFlusherTest, ACheckpointShortOfDescriptorsIsRetriedNotADiskFailure) {
#if defined(__SANITIZE_ADDRESS__)
  // The sanitizers' runtime needs descriptors of its own (a pipe to test
  // whether memory is readable, in the helper thread this starts), and this
  // test takes them all: it runs in the Release build.
  GTEST_SKIP() << "takes every descriptor, which the sanitizer runtime needs too";
#endif
  state_.log_config.flush_checkpoint_interval_ms = 10;
  LogFlusher flusher(loop_, state_, 1);
  std::vector<std::string> failures;
  flusher.on_disk_failure([&](const std::string& what) { failures.push_back(what); });
  storage::PartitionLog& a = log(0);
  append(a);
  // The data synced here, so the checkpoint has a recovery point to move.
  auto data = a.flush_snapshot();
  ASSERT_TRUE(data.ok());
  for (const auto& f : data->data_files) ASSERT_TRUE(storage::sync_file(f).ok());
  a.mark_flushed(data->end_offset);
  data->data_files.clear();
  ASSERT_EQ(a.flushed_offset(), 1);

  // Take every descriptor the process may have.
  rlimit before{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &before), 0);
  int highest = 0;
  for (const auto& entry : fs::directory_iterator("/proc/self/fd"))
    highest = std::max(highest, std::stoi(entry.path().filename().string()));
  rlimit lowered = before;
  lowered.rlim_cur = static_cast<rlim_t>(highest + 1);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &lowered), 0);
  std::vector<int> fillers;
  for (int fd; (fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;) fillers.push_back(fd);
  ASSERT_EQ(errno, EMFILE);
  auto guard = loop_.run_after(std::chrono::milliseconds(300), [&] { loop_.stop(); });
  loop_.run();
  loop_.cancel(guard);
  EXPECT_TRUE(failures.empty()) << failures.front();
  EXPECT_EQ(a.recovery_point(), 0) << "not synced yet";

  for (int fd : fillers) ::close(fd);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &before), 0);
  std::function<void()> poll = [&] {
    if (a.recovery_point() == 1)
      loop_.stop();
    else
      loop_.run_after(std::chrono::milliseconds(5), poll);
  };
  loop_.run_after(std::chrono::milliseconds(5), poll);
  guard = loop_.run_after(std::chrono::seconds(10), [&] { loop_.stop(); });
  loop_.run();
  loop_.cancel(guard);
  EXPECT_EQ(a.recovery_point(), 1) << "the retried checkpoint went through";
  EXPECT_TRUE(failures.empty());
  EXPECT_FALSE(flusher.disk_failed());
}

}  // namespace
}  // namespace kb::broker
