// How the active segment uses the disk: space reserved ahead of its end
// (preallocation) and given back when it rolls, and the ranges of appended
// bytes handed to the kernel's writeback early.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>

#include "kb/storage/partition_log.hpp"
#include "kb/storage/sync_worker.hpp"
#include "storage_test_util.hpp"

namespace kb::storage {
namespace {

namespace fs = std::filesystem;
using test::ByteVec;

constexpr uint64_t kMiB = 1024 * 1024;

uint64_t allocated_bytes(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return static_cast<uint64_t>(st.st_blocks) * 512;
}

// Whether the file system under `dir` reserves space with fallocate (not every
// one does; the log then appends without).
bool can_preallocate(const fs::path& dir) {
  const fs::path probe = dir / "probe";
  const int fd = ::open(probe.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  const bool ok = ::fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 1 << 20) == 0;
  ::close(fd);
  fs::remove(probe);
  return ok;
}

using test::new_log;

// Closes `log` and opens its directory again: the log ends where it did.
void expect_reopens_at_the_same_end(std::unique_ptr<PartitionLog>& log, const test::TempDir& dir,
                                    const PartitionLogOptions& options) {
  const int64_t end = log->log_end_offset();
  log.reset();
  auto reopened = PartitionLog::open(dir.path() / "t-0", options);
  ASSERT_TRUE(reopened.ok()) << reopened.error().message;
  EXPECT_EQ((*reopened)->log_end_offset(), end);
}

TEST(SegmentSpace, ActiveSegmentReservesSpaceAheadAndARollGivesTheRestBack) {
  test::TempDir dir;
  if (!can_preallocate(dir.path())) GTEST_SKIP() << "no fallocate on this file system";
  PartitionLogOptions options;
  options.preallocate_bytes = 2 * kMiB;
  options.segment_bytes = 3 * kMiB;
  auto log = new_log(dir, options);
  ASSERT_TRUE(log);
  const fs::path first = dir.path() / "t-0" / segment_file_name(0, ".log");
  ByteVec batch = test::make_batch(0, 10, 1700000000000, 10000);  // ~100 KB
  ASSERT_TRUE(log->append(batch).ok());
  // The size is the batch's; as much again is reserved ahead (what the
  // partition appended lately).
  EXPECT_EQ(fs::file_size(first), batch.size());
  EXPECT_GE(allocated_bytes(first), 2 * batch.size());
  EXPECT_LT(allocated_bytes(first), kMiB);

  // Chunks grow with the write rate, up to preallocate_bytes, never beyond
  // the segment size.
  uint64_t reserved_ahead = 0;
  while (fs::file_size(first) < 2 * kMiB + batch.size()) {
    ASSERT_TRUE(log->append(batch).ok());
    const uint64_t size = fs::file_size(first);
    EXPECT_GE(allocated_bytes(first), size);
    EXPECT_LE(allocated_bytes(first), std::max(2 * size, size + 256 * 1024) + 64 * 1024);
    reserved_ahead = std::max(reserved_ahead, allocated_bytes(first) - size);
  }
  ASSERT_EQ(log->segment_count(), 1u);
  EXPECT_GT(reserved_ahead, kMiB / 2);
  EXPECT_LE(allocated_bytes(first), 3 * kMiB + 64 * 1024);

  // The roll gives back what the segment did not use.
  while (log->segment_count() == 1) ASSERT_TRUE(log->append(batch).ok());
  const uint64_t size = fs::file_size(first);
  EXPECT_LT(allocated_bytes(first), size + 64 * 1024);
  auto read = log->read(0, 1);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->length, batch.size());

  // Reopened, the log ends where the batches end (the reserved space holds
  // no batches).
  expect_reopens_at_the_same_end(log, dir, options);
}

TEST(SegmentSpace, NoPreallocationWhenTurnedOff) {
  test::TempDir dir;
  PartitionLogOptions options;
  options.preallocate_bytes = 0;
  auto log = new_log(dir, options);
  ASSERT_TRUE(log);
  ByteVec batch = test::make_batch(0, 10, 1700000000000, 10000);
  ASSERT_TRUE(log->append(batch).ok());
  const fs::path first = dir.path() / "t-0" / segment_file_name(0, ".log");
  EXPECT_LT(allocated_bytes(first), batch.size() + 64 * 1024);
}

TEST(SegmentSpace, WritebackRangesAreWholePagesOfNewBytesOnceEnoughArrived) {
  test::TempDir dir;
  PartitionLogOptions options;
  options.segment_bytes = 300 * 1024;
  auto log = new_log(dir, options);
  ASSERT_TRUE(log);
  EXPECT_FALSE(log->take_writeback_range(1).has_value()) << "nothing appended";
  ByteVec batch = test::make_batch(0, 10, 1700000000000, 5000);  // ~50 KB
  const uint64_t n = batch.size();
  ASSERT_TRUE(log->append(batch).ok());
  EXPECT_FALSE(log->take_writeback_range(2 * n).has_value()) << "not enough yet";
  ASSERT_TRUE(log->append(batch).ok());
  auto range = log->take_writeback_range(n);
  ASSERT_TRUE(range.has_value());
  EXPECT_EQ(range->offset, 0u);
  EXPECT_EQ(range->length, 2 * n / 4096 * 4096) << "the partial last page is left";
  EXPECT_EQ(range->file->path().filename(), segment_file_name(0, ".log"));
  EXPECT_FALSE(log->take_writeback_range(1).has_value()) << "taken";

  ASSERT_TRUE(log->append(batch).ok());
  auto next = log->take_writeback_range(1);
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->offset, range->length) << "goes on where the last one ended";
  EXPECT_EQ(next->offset + next->length, 3 * n / 4096 * 4096);

  // Writeback started by a worker job completes like a sync, with no status
  // to report.
  SyncWorker worker(1);
  SyncJob job;
  job.id = 3;
  job.writebacks.push_back(*next);
  worker.submit(std::move(job));
  worker.wait_idle();
  auto done = worker.take_completed();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_TRUE(done[0].status.ok());

  // After a roll the new segment's bytes are counted from its start.
  while (log->segment_count() == 1) ASSERT_TRUE(log->append(batch).ok());
  auto rolled = log->take_writeback_range(1);
  ASSERT_TRUE(rolled.has_value());
  EXPECT_EQ(rolled->offset, 0u);
  EXPECT_EQ(rolled->file->path().filename(),
            segment_file_name(log->segment_base_offsets().back(), ".log"));

  // A reopened log counts only what is appended after opening.
  log.reset();
  auto reopened = PartitionLog::open(dir.path() / "t-0", options);
  ASSERT_TRUE(reopened.ok()) << reopened.error().message;
  EXPECT_FALSE((*reopened)->take_writeback_range(1).has_value());
  ASSERT_TRUE((*reopened)->append(batch).ok());
  auto after_open = (*reopened)->take_writeback_range(1);
  ASSERT_TRUE(after_open.has_value());
  EXPECT_GT(after_open->offset, 0u);
}

// ---- deferred appends

// Appends deferred by the caller stay out of the file until write_deferred
// (or anything that needs the file): several appends then go out in one write.
TEST(DeferredAppends, ReachTheFileWithWriteDeferredInOrder) {
  test::TempDir dir;
  auto log = new_log(dir, PartitionLogOptions{});
  ASSERT_TRUE(log);
  const fs::path file = dir.path() / "t-0" / segment_file_name(0, ".log");
  std::vector<ByteVec> batches;
  for (int i = 0; i < 3; ++i) batches.push_back(test::make_batch(0, 2, 1700000000000 + i, 100));
  ASSERT_TRUE(log->append(batches[0]).ok());  // written now
  const uint64_t first = batches[0].size();
  for (int i = 1; i < 3; ++i) {
    auto appended =
        log->append(batches[static_cast<size_t>(i)], -1, std::nullopt, AppendWrite::deferred);
    ASSERT_TRUE(appended.ok()) << appended.error().message;
    EXPECT_EQ(appended->first_offset, 2 * i);
  }
  EXPECT_TRUE(log->has_deferred_writes());
  EXPECT_EQ(log->log_end_offset(), 6);
  EXPECT_EQ(fs::file_size(file), first) << "not written yet";
  EXPECT_FALSE(log->take_writeback_range(1).has_value()) << "nothing past the written bytes";

  ASSERT_TRUE(log->write_deferred().ok());
  EXPECT_FALSE(log->has_deferred_writes());
  const ByteVec stored = test::read_whole_file(file);
  ASSERT_EQ(stored.size(), first + batches[1].size() + batches[2].size());
  for (int64_t offset = 0; offset < 6; ++offset) {
    auto read = log->read(offset, 1);
    ASSERT_TRUE(read.ok());
    EXPECT_EQ(read->first_batch_base_offset, offset / 2 * 2);
  }
}

TEST(DeferredAppends, AReadARollAFlushOrClosingWritesThemFirst) {
  test::TempDir dir;
  PartitionLogOptions options;
  options.segment_bytes = 600;
  auto log = new_log(dir, options);
  ASSERT_TRUE(log);
  ByteVec batch = test::make_batch(0, 2, 1700000000000, 100);
  auto defer = [&] {
    ASSERT_TRUE(log->append(batch, -1, std::nullopt, AppendWrite::deferred).ok());
  };
  defer();
  auto read = log->read(0, 1 << 20);  // a read needs the bytes
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->length, batch.size());
  EXPECT_FALSE(log->has_deferred_writes());

  defer();
  auto snapshot = log->flush_snapshot();  // so does a flush
  ASSERT_TRUE(snapshot.ok());
  EXPECT_FALSE(log->has_deferred_writes());

  // A roll writes the old segment's before starting the next.
  while (log->segment_count() == 1) defer();
  for (int64_t offset = 0; offset < log->log_end_offset(); ++offset)
    ASSERT_EQ(log->read(offset, 1)->first_batch_base_offset, offset / 2 * 2) << offset;

  defer();
  expect_reopens_at_the_same_end(log, dir, options);  // closing writes them
}

TEST(DeferredAppends, AreWrittenAtOnceWhereNoSpaceIsReserved) {
  test::TempDir dir;
  PartitionLogOptions options;
  options.preallocate_bytes = 0;
  auto log = new_log(dir, options);
  ASSERT_TRUE(log);
  ByteVec batch = test::make_batch(0, 2, 1700000000000, 100);
  ASSERT_TRUE(log->append(batch, -1, std::nullopt, AppendWrite::deferred).ok());
  EXPECT_FALSE(log->has_deferred_writes()) << "a later write could fail for lack of room";
  EXPECT_EQ(fs::file_size(dir.path() / "t-0" / segment_file_name(0, ".log")), batch.size());
}

// A deferred write that fails (the segment's descriptor turned into a pipe's
// read end) is reported, and the log refuses appends and reads from then on:
// its file no longer holds what it says.
TEST(DeferredAppends, AFailedWriteIsReportedAndTheLogRefusesFurtherWork) {
  test::TempDir dir;
  auto log = new_log(dir, PartitionLogOptions{});
  ASSERT_TRUE(log);
  ByteVec batch = test::make_batch(0, 2, 1700000000000, 100);
  ASSERT_TRUE(log->append(batch).ok());
  auto read = log->read(0, 1);
  ASSERT_TRUE(read.ok());
  ASSERT_TRUE(log->append(batch, -1, std::nullopt, AppendWrite::deferred).ok());
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  ASSERT_GE(::dup2(pipe_fds[0], read->file->fd()), 0);
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
  EXPECT_FALSE(log->read(0, 1).ok()) << "the read writes them first, and fails";
  EXPECT_FALSE(log->write_deferred().ok()) << "still failed for the next one asking";
  EXPECT_FALSE(log->append(batch).ok());
  EXPECT_FALSE(log->read(0, 1).ok());
}

}  // namespace
}  // namespace kb::storage
