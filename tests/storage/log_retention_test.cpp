// Retention: PartitionLog::delete_expired_segments by time and by size.

#include <gtest/gtest.h>

#include <filesystem>

#include "kb/storage/file_remover.hpp"
#include "kb/storage/partition_log.hpp"
#include "storage_test_util.hpp"

namespace kb::storage {
namespace {

namespace fs = std::filesystem;
using test::ByteVec;
using Limits = PartitionLog::RetentionLimits;

constexpr int64_t kBaseTime = 1700000000000;

// 20 batches of 2 records, one batch per 1000 ms, in segments of 3 batches
// (the last one active, holding 2).
struct RetentionLog {
  test::TempDir dir;
  std::unique_ptr<PartitionLog> log;
  size_t batch_size = 0;
  PartitionLogOptions options;

  explicit RetentionLog(std::shared_ptr<FileRemover> remover = nullptr) {
    options.file_remover = std::move(remover);
    options.segment_bytes = 0;
    options.index_interval_bytes = 100;
    ByteVec first = test::make_batch(0, 2, kBaseTime, 60);
    batch_size = first.size();
    options.segment_bytes = batch_size * 3;
    auto created = PartitionLog::create(dir.path(), "ret", 0, kb::wire::Uuid{{7}}, options);
    EXPECT_TRUE(created.ok());
    log = std::move(created.value());
    for (int i = 0; i < 20; ++i)
      EXPECT_TRUE(log->append(test::make_batch(0, 2, kBaseTime + i * 1000, 60)).ok());
  }
  fs::path partition_dir() const { return dir.path() / "ret-0"; }
  size_t files_ending(std::string_view suffix) const {
    size_t n = 0;
    for (const auto& e : fs::directory_iterator(partition_dir()))
      if (e.path().filename().string().ends_with(suffix)) ++n;
    return n;
  }
  size_t log_files() const { return files_ending(".log"); }
};

TEST(LogRetention, LayoutOfTheFixture) {
  RetentionLog r;
  EXPECT_EQ(r.log->log_end_offset(), 40);
  EXPECT_EQ(r.log->segment_count(), 7u);  // 6 full segments of 6 offsets, then 2 batches
  EXPECT_EQ(r.log->size_bytes(), 20 * r.batch_size);
}

TEST(LogRetention, UnlimitedDeletesNothing) {
  RetentionLog r;
  auto deleted = r.log->delete_expired_segments(Limits{}, kBaseTime + 1000LL * 1000 * 1000);
  ASSERT_TRUE(deleted.ok()) << deleted.error().message;
  EXPECT_EQ(*deleted, 0u);
  EXPECT_EQ(r.log->log_start_offset(), 0);
}

TEST(LogRetention, ByTimeDeletesSegmentsWhoseLargestTimestampIsTooOld) {
  RetentionLog r;
  // Segment k holds batches 3k..3k+2: its largest timestamp is base + (3k+2) s.
  // At base + 10.5 s with retention 5 s, segments with largest < base + 5.5 s
  // go: segment 0 (2 s) and 1 (5 s); segment 2 (8 s) stays.
  Limits limits;
  limits.retention_ms = 5000;
  auto deleted = r.log->delete_expired_segments(limits, kBaseTime + 10500);
  ASSERT_TRUE(deleted.ok()) << deleted.error().message;
  EXPECT_EQ(*deleted, 2u);
  EXPECT_EQ(r.log->log_start_offset(), 12);
  EXPECT_EQ(r.log->segment_base_offsets().front(), 12);
  EXPECT_EQ(r.log_files(), 5u);
  EXPECT_FALSE(fs::exists(r.partition_dir() / segment_file_name(0, ".index")));
  EXPECT_FALSE(fs::exists(r.partition_dir() / segment_file_name(6, ".timeindex")));

  // Deleted offsets are out of range; the new start reads.
  auto below = r.log->read(11, 1 << 20);
  ASSERT_TRUE(below.ok());
  EXPECT_EQ(below->outcome, LogReadResult::Outcome::offset_out_of_range);
  EXPECT_EQ(below->log_start_offset, 12);
  auto at_start = r.log->read(12, 1 << 20);
  ASSERT_TRUE(at_start.ok());
  EXPECT_EQ(at_start->outcome, LogReadResult::Outcome::ok);
  EXPECT_EQ(at_start->first_batch_base_offset, 12);
}

// As in Kafka: an expired active segment goes too, after a new, empty one is
// rolled; the log then starts where it ends, and an empty active segment is
// never deleted.
TEST(LogRetention, ByTimeTheExpiredActiveSegmentGoesAfterARoll) {
  RetentionLog r;
  Limits limits;
  limits.retention_ms = 0;
  auto deleted = r.log->delete_expired_segments(limits, kBaseTime + 1000LL * 1000 * 1000);
  ASSERT_TRUE(deleted.ok()) << deleted.error().message;
  EXPECT_EQ(*deleted, 7u);
  EXPECT_EQ(r.log->segment_count(), 1u);
  EXPECT_EQ(r.log->log_start_offset(), 40);
  EXPECT_EQ(r.log->log_end_offset(), 40);
  EXPECT_EQ(r.log_files(), 1u);
  EXPECT_EQ(r.log->read(39, 1 << 20)->outcome, LogReadResult::Outcome::offset_out_of_range);
  auto again = r.log->delete_expired_segments(limits, kBaseTime + 1000LL * 1000 * 1000);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 0u) << "the empty active segment stays";
  // Appends go on after the start offset moved.
  auto appended = r.log->append(test::make_batch(0, 2, kBaseTime, 60));
  ASSERT_TRUE(appended.ok());
  EXPECT_EQ(appended->first_offset, 40);
  EXPECT_EQ(appended->log_start_offset, 40);
}

// A caller spreading a long backlog over several calls: each deletes at
// most what it was allowed, oldest first, by time and by size alike.
TEST(LogRetention, AtMostTheGivenNumberOfSegmentsGoPerCall) {
  RetentionLog r;
  Limits by_time;
  by_time.retention_ms = 0;
  const int64_t later = kBaseTime + 1000LL * 1000 * 1000;
  auto first = r.log->delete_expired_segments(by_time, later, 2);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(*first, 2u);
  EXPECT_EQ(r.log->log_start_offset(), 12);
  EXPECT_EQ(r.log->segment_count(), 5u);
  Limits by_size;
  by_size.retention_bytes = 0;
  auto second = r.log->delete_expired_segments(by_size, kBaseTime, 3);
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(*second, 3u);
  EXPECT_EQ(r.log->segment_count(), 2u);
  EXPECT_EQ(r.log->log_start_offset(), 40)
      << "by size the whole breach moves the start offset at once, as Kafka does";
  auto rest = r.log->delete_expired_segments(by_time, later, 100);
  ASSERT_TRUE(rest.ok()) << rest.error().message;
  EXPECT_EQ(*rest, 2u) << "the last full segment, and the active one after a roll";
  EXPECT_EQ(r.log->log_start_offset(), 40);
}

// The active segment's age is its newest batch's, even when its time index
// has no entry for that batch yet.
TEST(LogRetention, ByTimeTheActiveSegmentIsAsOldAsItsNewestBatch) {
  RetentionLog r;
  Limits limits;
  limits.retention_ms = 5000;
  // The active segment's newest record is at base + 19.001 s: kept at
  // base + 24.001 s, not a millisecond later.
  auto deleted = r.log->delete_expired_segments(limits, kBaseTime + 24001);
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(*deleted, 6u);
  EXPECT_EQ(r.log->log_start_offset(), 36);
  deleted = r.log->delete_expired_segments(limits, kBaseTime + 24002);
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(*deleted, 1u);
  EXPECT_EQ(r.log->log_start_offset(), 40);
}

TEST(LogRetention, BySizeKeepsAtLeastRetentionBytes) {
  RetentionLog r;
  // 20 batches; keeping >= 10 batches' worth: the oldest segments go while
  // what remains is still >= 10 batches: 20 -> 17 -> 14 -> 11 (the next
  // deletion would leave 8).
  Limits limits;
  limits.retention_bytes = static_cast<int64_t>(10 * r.batch_size);
  auto deleted = r.log->delete_expired_segments(limits, kBaseTime);
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(*deleted, 3u);
  EXPECT_EQ(r.log->size_bytes(), 11 * r.batch_size);
  EXPECT_EQ(r.log->log_start_offset(), 18);
  // Exactly at the limit: nothing more goes.
  auto again = r.log->delete_expired_segments(limits, kBaseTime);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 0u);

  // retention.bytes 0: everything, the active segment after a roll.
  limits.retention_bytes = 0;
  auto all = r.log->delete_expired_segments(limits, kBaseTime);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(r.log->segment_count(), 1u);
  EXPECT_EQ(r.log->log_start_offset(), 40);
  EXPECT_EQ(r.log->size_bytes(), 0u);
}

TEST(LogRetention, ReadsHandedOutBeforeADeletionStayValid) {
  RetentionLog r;
  auto before = r.log->read(0, 1 << 20);
  ASSERT_TRUE(before.ok());
  ByteVec expected = *before->read_bytes();
  Limits limits;
  limits.retention_bytes = 0;
  ASSERT_TRUE(r.log->delete_expired_segments(limits, kBaseTime).ok());
  EXPECT_FALSE(fs::exists(r.partition_dir() / segment_file_name(0, ".log")));
  auto after = before->read_bytes();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*after, expected);
}

TEST(LogRetention, DeletionSurvivesReopening) {
  RetentionLog r;
  Limits limits;
  limits.retention_ms = 5000;
  ASSERT_TRUE(r.log->delete_expired_segments(limits, kBaseTime + 10500).ok());
  ASSERT_TRUE(r.log->flush().ok());
  r.log.reset();
  auto reopened = PartitionLog::open(r.partition_dir(), r.options);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->log_start_offset(), 12);
  EXPECT_EQ((*reopened)->log_end_offset(), 40);
  // Indexes of a segment found on disk give its largest timestamp too.
  auto deleted = (*reopened)->delete_expired_segments(limits, kBaseTime + 13500);
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(*deleted, 1u);
  EXPECT_EQ((*reopened)->log_start_offset(), 18);
}

TEST(LogRetention, SegmentsWithoutTimestampsGoByFileTime) {
  test::TempDir dir;
  PartitionLogOptions options;
  ByteVec batch = test::make_batch(0, 1, -1, 10);
  options.segment_bytes = batch.size();
  auto log = PartitionLog::create(dir.path(), "nots", 0, kb::wire::Uuid{{8}}, options);
  ASSERT_TRUE(log.ok());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE((*log)->append(batch).ok());
  ASSERT_EQ((*log)->segment_count(), 3u);
  const auto first = dir.path() / "nots-0" / segment_file_name(0, ".log");
  const auto old = fs::file_time_type::clock::now() - std::chrono::hours(2);
  fs::last_write_time(first, old);
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  Limits limits;
  limits.retention_ms = 3600 * 1000;
  auto deleted = (*log)->delete_expired_segments(limits, now);
  ASSERT_TRUE(deleted.ok()) << deleted.error().message;
  EXPECT_EQ(*deleted, 1u);
  EXPECT_EQ((*log)->log_start_offset(), 1);
}

TEST(LogRetention, DeletedSegmentsAreRenamedThenDeletedByTheFileRemover) {
  auto remover = std::make_shared<FileRemover>();
  RetentionLog r(remover);
  Limits limits;
  limits.retention_ms = 5000;
  auto deleted = r.log->delete_expired_segments(limits, kBaseTime + 10500);
  ASSERT_TRUE(deleted.ok()) << deleted.error().message;
  ASSERT_EQ(*deleted, 2u);
  // Gone under their own names at once (the load of the log must not find
  // them), and from the disk once the remover is done.
  EXPECT_EQ(r.log_files(), 5u);
  EXPECT_FALSE(fs::exists(r.partition_dir() / segment_file_name(6, ".index")));
  remover->wait_idle();
  EXPECT_EQ(r.files_ending(".deleted"), 0u);
  EXPECT_EQ(remover->removed(), 6u);  // two segments' .log, .index and .timeindex
  EXPECT_EQ(r.log->log_start_offset(), 12);
}

TEST(LogRetention, LoadDeletesTheFilesACrashLeftRenamedButKeepsKRaftSnapshotsAndDirectories) {
  RetentionLog r;
  const PartitionLogOptions options = r.options;
  r.log.reset();
  // What a crash between the rename and the unlink leaves (Kafka's names).
  const std::vector<uint8_t> junk(64, 0x5a);
  for (const char* name : {"00000000000000000000.log.deleted", "00000000000000000000.index.deleted",
                           "00000000000000000000.timeindex.deleted"})
    test::write_whole_file(r.partition_dir() / name, junk);
  const fs::path snapshot =
      r.partition_dir() / "00000000000000000006-0000000001.checkpoint.deleted";
  test::write_whole_file(snapshot, junk);
  // Kafka deletes regular files only.
  const fs::path directory = r.partition_dir() / "00000000000000000099.log.deleted";
  fs::create_directory(directory);

  auto reopened = PartitionLog::open(r.partition_dir(), options);
  ASSERT_TRUE(reopened.ok()) << reopened.error().message;
  EXPECT_EQ(r.files_ending(".deleted"), 2u);
  EXPECT_TRUE(fs::exists(snapshot));
  EXPECT_TRUE(fs::is_directory(directory));
  EXPECT_EQ((*reopened)->log_start_offset(), 0);
  EXPECT_EQ((*reopened)->log_end_offset(), 40);
}

}  // namespace
}  // namespace kb::storage
