// Segment rolls off the caller's thread: the next segment's files made ahead
// (a spare, under names Kafka ignores) and renamed at the roll, a roll that
// finds none ready making its files itself, the rolled segment's last index
// entries written by the worker (the recovery point waiting for them), stray
// spares removed at load, and spares held within the descriptor budget and
// counted in the disk reservations.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "kb/storage/disk_space.hpp"
#include "kb/storage/file_cache.hpp"
#include "kb/storage/partition_log.hpp"
#include "kb/storage/roll_worker.hpp"
#include "kb/storage/segment_index.hpp"
#include "storage_test_util.hpp"

namespace kb::storage {
namespace {

namespace fs = std::filesystem;
using test::ByteVec;

constexpr uint64_t kKiB = 1024;

ino_t inode_of(const fs::path& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

std::set<std::string> file_names(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.insert(entry.path().filename());
  return names;
}

bool has_spare_files(const fs::path& dir) {
  return fs::exists(dir / kSpareLogFile) || fs::exists(dir / kSpareIndexFile) ||
         fs::exists(dir / kSpareTimeIndexFile);
}

struct SpareLog {
  explicit SpareLog(uint64_t segment_bytes = 2000, size_t file_budget = 64) {
    options.segment_bytes = segment_bytes;
    options.index_interval_bytes = 1;  // an index entry for every batch after the first
    options.file_cache = std::make_shared<FileCache>(file_budget);
    options.roll_worker = worker;
    options.disk_space = disk;
    log = test::new_log(dir, options);
  }
  fs::path partition_dir() const { return dir.path() / "t-0"; }
  // Appends 3-record batches (each newer than the one before) until `done`
  // says so.
  template <class Done>
  void append_until(Done done) {
    while (!done()) {
      ByteVec batch = test::make_batch(0, 3, 1700000000000 + 10 * batches++, 100);
      auto appended = log->append(batch);
      ASSERT_TRUE(appended.ok()) << appended.error().message;
    }
  }
  void fill_half() {
    append_until([&] { return fs::file_size(active_log()) >= options.segment_bytes / 2; });
  }
  void roll() {
    const size_t before = log->segment_count();
    append_until([&] { return log->segment_count() > before; });
  }
  fs::path active_log() const {
    return partition_dir() / segment_file_name(log->segment_base_offsets().back(), ".log");
  }

  test::TempDir dir;
  std::shared_ptr<RollWorker> worker = std::make_shared<RollWorker>();
  std::shared_ptr<DiskSpace> disk =
      std::make_shared<DiskSpace>([] { return std::optional<uint64_t>(uint64_t{1} << 40); },
                                  [] { return int64_t{0}; }, DiskSpace::Options{});
  PartitionLogOptions options;
  std::unique_ptr<PartitionLog> log;
  int64_t batches = 0;
};

uint64_t allocated_bytes(const fs::path& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_blocks) * 512 : 0;
}

// Holds the worker busy until released: its next job opens a FIFO for writing
// (the open waits for a reader).
class BusyWorker {
 public:
  // `partition_dir`: whose jobs wait (the worker's thread for it).
  BusyWorker(RollWorker& worker, const fs::path& dir, const fs::path& partition_dir)
      : fifo_(dir / "busy.fifo") {
    EXPECT_EQ(::mkfifo(fifo_.c_str(), 0600), 0);
    auto work = std::make_shared<SegmentFileWork>();
    work->indexes.push_back({fifo_, 0, {1}});
    work->log_path = partition_dir / "busy";
    worker.run_later(std::move(work));
  }
  ~BusyWorker() { release(); }
  BusyWorker(const BusyWorker&) = delete;
  BusyWorker& operator=(const BusyWorker&) = delete;
  void release() {
    if (released_) return;
    released_ = true;
    const int fd = ::open(fifo_.c_str(), O_RDONLY | O_CLOEXEC);
    EXPECT_GE(fd, 0);
    char byte = 0;
    (void)::read(fd, &byte, 1);
    ::close(fd);
  }

 private:
  fs::path fifo_;
  bool released_ = false;
};

TEST(SpareSegments, MadeAheadOnTheWorkerAndRenamedAtTheRoll) {
  SpareLog s;
  ASSERT_TRUE(s.log);
  s.append_until([&] { return fs::file_size(s.active_log()) > 0; });
  s.worker->wait_idle();
  EXPECT_FALSE(has_spare_files(s.partition_dir())) << "not before the segment is half full";

  s.fill_half();
  s.worker->wait_idle();
  ASSERT_TRUE(fs::is_regular_file(s.partition_dir() / kSpareLogFile));
  ASSERT_TRUE(fs::is_regular_file(s.partition_dir() / kSpareIndexFile));
  ASSERT_TRUE(fs::is_regular_file(s.partition_dir() / kSpareTimeIndexFile));
  EXPECT_EQ(s.worker->spares_made(), 1u);
  EXPECT_EQ(s.options.file_cache->reserved_slots(), 1u) << "its .log is open, in the budget";
  const ino_t spare_log = inode_of(s.partition_dir() / kSpareLogFile);
  const ino_t spare_index = inode_of(s.partition_dir() / kSpareIndexFile);

  s.roll();
  const int64_t base = s.log->segment_base_offsets().back();
  EXPECT_EQ(inode_of(s.active_log()), spare_log) << "the spare's .log is the new segment";
  EXPECT_FALSE(fs::exists(s.partition_dir() / kSpareLogFile));
  EXPECT_EQ(s.options.file_cache->reserved_slots(), 0u);
  s.worker->wait_idle();
  EXPECT_EQ(inode_of(s.partition_dir() / segment_file_name(base, ".index")), spare_index);
  EXPECT_TRUE(fs::exists(s.partition_dir() / segment_file_name(base, ".timeindex")));
  EXPECT_FALSE(has_spare_files(s.partition_dir()));

  // The rolled segment's index entries reached its files on the worker,
  // its final time entry too.
  const fs::path first_index = s.partition_dir() / segment_file_name(0, ".index");
  const fs::path first_log = s.partition_dir() / segment_file_name(0, ".log");
  auto index = parse_offset_index(test::read_whole_file(first_index), 0, fs::file_size(first_log));
  ASSERT_TRUE(index.has_value());
  EXPECT_FALSE(index->empty());
  EXPECT_EQ(index->back().offset, base - 1);
  auto times = parse_time_index(
      test::read_whole_file(s.partition_dir() / segment_file_name(0, ".timeindex")), 0);
  ASSERT_TRUE(times.has_value());
  EXPECT_EQ(times->back().offset, base - 1);

  // Every record reads back, before and after reopening; the next rolls take
  // spares too.
  for (int i = 0; i < 2; ++i) {
    s.fill_half();
    s.worker->wait_idle();
    s.roll();
  }
  s.append_until(
      [&] { return s.log->log_end_offset() % 3 == 0 && s.log->log_end_offset() > base + 30; });
  const int64_t end = s.log->log_end_offset();
  for (int64_t offset = 0; offset < end; ++offset)
    ASSERT_EQ(s.log->read(offset, 1)->first_batch_base_offset, offset / 3 * 3) << offset;
  EXPECT_GE(s.worker->spares_made(), 3u);
  s.log.reset();
  s.worker->wait_idle();
  EXPECT_FALSE(has_spare_files(s.partition_dir())) << "a closed log's spare is removed";
  EXPECT_EQ(s.options.file_cache->open_files(), 0u);
  EXPECT_EQ(s.disk->reserved(), 0u);
  RecoveryHint clean;
  clean.clean_shutdown = true;
  clean.recovery_point = end;
  auto reopened = PartitionLog::open(s.partition_dir(), s.options, clean);
  ASSERT_TRUE(reopened.ok()) << reopened.error().message;
  EXPECT_EQ((*reopened)->log_end_offset(), end);
  for (int64_t offset = 0; offset < end; ++offset)
    ASSERT_EQ((*reopened)->read(offset, 1)->first_batch_base_offset, offset / 3 * 3) << offset;
}

// The roll never waits for the worker: with the spare still queued it makes
// its files itself, and the spare is never made.
TEST(SpareSegments, ARollWithNoSpareReadyMakesItsFiles) {
  SpareLog s;
  ASSERT_TRUE(s.log);
  {
    BusyWorker busy(*s.worker, s.dir.path(), s.partition_dir());
    s.fill_half();
    s.roll();
    EXPECT_FALSE(has_spare_files(s.partition_dir()));
    // The dropped spare's slot is free; one is held for the new segment's
    // index files, which the roll leaves to the worker (only its .log is made
    // on the loop).
    EXPECT_EQ(s.options.file_cache->reserved_slots(), 1u);
    // The rolled segment's entries wait for the worker: the recovery point
    // stays below the rolled segment meanwhile, and its files are not synced.
    ASSERT_TRUE(s.log->flush_snapshot().ok());
    s.log->mark_flushed(s.log->log_end_offset());
    auto indexes = s.log->index_sync_snapshot();
    ASSERT_TRUE(indexes.ok()) << indexes.error().message;
    EXPECT_EQ(indexes->recovery_point, 0) << "the rolled segment's base offset";
    EXPECT_EQ(indexes->index_files.size(), 2u) << "the active segment's only";
    s.log->mark_indexes_synced(indexes->recovery_point, indexes->rolls);
    EXPECT_TRUE(s.log->has_unsynced_indexes());
  }
  s.worker->wait_idle();
  EXPECT_EQ(s.worker->spares_made(), 0u);
  EXPECT_FALSE(has_spare_files(s.partition_dir()));
  EXPECT_EQ(s.options.file_cache->reserved_slots(), 0u);
  const auto base = s.log->segment_base_offsets().back();
  for (const char* suffix : {".index", ".timeindex"})
    EXPECT_TRUE(std::filesystem::exists(s.partition_dir() / segment_file_name(base, suffix)))
        << suffix;
  auto indexes = s.log->index_sync_snapshot();
  ASSERT_TRUE(indexes.ok());
  EXPECT_EQ(indexes->recovery_point, s.log->log_end_offset());
  EXPECT_EQ(indexes->index_files.size(), 4u) << "the rolled segment's files too, now written";
  s.log->mark_indexes_synced(indexes->recovery_point, indexes->rolls);
  EXPECT_FALSE(s.log->has_unsynced_indexes());
  for (int64_t offset = 0; offset < s.log->log_end_offset(); ++offset)
    ASSERT_EQ(s.log->read(offset, 1)->first_batch_base_offset, offset / 3 * 3) << offset;
}

// A flush, and closing the log, do what the worker has not done yet
// themselves: the files are complete when they return.
TEST(SpareSegments, AFlushOrACloseFinishesTheRolledSegmentsFilesWithoutTheWorker) {
  SpareLog s;
  ASSERT_TRUE(s.log);
  BusyWorker busy(*s.worker, s.dir.path(), s.partition_dir());
  s.roll();
  const int64_t base = s.log->segment_base_offsets().back();
  ASSERT_TRUE(s.log->flush().ok());
  EXPECT_EQ(s.log->recovery_point(), s.log->log_end_offset());
  EXPECT_FALSE(s.log->has_unsynced_indexes());
  auto times = parse_time_index(
      test::read_whole_file(s.partition_dir() / segment_file_name(0, ".timeindex")), 0);
  ASSERT_TRUE(times.has_value());
  ASSERT_FALSE(times->empty());
  EXPECT_EQ(times->back().offset, base - 1);

  s.roll();
  const int64_t second = s.log->segment_base_offsets().back();
  s.log.reset();
  auto index = parse_offset_index(
      test::read_whole_file(s.partition_dir() / segment_file_name(base, ".index")), base,
      fs::file_size(s.partition_dir() / segment_file_name(base, ".log")));
  ASSERT_TRUE(index.has_value());
  ASSERT_FALSE(index->empty());
  EXPECT_EQ(index->back().offset, second - 1);
}

// A stop leaves a spare's files behind: the next load removes them (regular
// files of those names only).
TEST(SpareSegments, StraySparesAreRemovedAtLoad) {
  for (bool with_worker : {true, false}) {
    SCOPED_TRACE(with_worker ? "with a worker" : "without");
    SpareLog s;
    ASSERT_TRUE(s.log);
    s.fill_half();
    s.worker->wait_idle();
    const int64_t end = s.log->log_end_offset();
    s.log.reset();
    s.worker->wait_idle();
    const fs::path dir = s.partition_dir();
    test::write_whole_file(dir / kSpareLogFile, test::text_bytes("left by a crash"));
    test::write_whole_file(dir / kSpareTimeIndexFile, test::text_bytes(""));
    fs::create_directory(dir / kSpareIndexFile);
    test::write_whole_file(dir / "mine.spare", test::text_bytes("someone else's"));
    PartitionLogOptions options = s.options;
    if (!with_worker) options.roll_worker = nullptr;
    auto reopened = PartitionLog::open(dir, options);
    ASSERT_TRUE(reopened.ok()) << reopened.error().message;
    s.worker->wait_idle();
    EXPECT_EQ((*reopened)->log_end_offset(), end);
    const auto names = file_names(dir);
    EXPECT_FALSE(names.contains(std::string(kSpareLogFile)));
    EXPECT_FALSE(names.contains(std::string(kSpareTimeIndexFile)));
    EXPECT_TRUE(fs::is_directory(dir / kSpareIndexFile)) << "a directory so named is left alone";
    EXPECT_TRUE(names.contains("mine.spare"));
  }
}

// Spares' descriptors count in the budget of partition files, and at most an
// eighth of it holds spares: the other partitions' rolls make their files.
TEST(SpareSegments, HeldWithinTheDescriptorBudget) {
  test::TempDir dir;
  auto worker = std::make_shared<RollWorker>(3);  // directories spread over three threads
  PartitionLogOptions options;
  options.segment_bytes = 2000;
  options.file_cache = std::make_shared<FileCache>(16);
  options.roll_worker = worker;
  std::vector<std::unique_ptr<PartitionLog>> logs;
  for (int32_t p = 0; p < 6; ++p) {
    auto log = PartitionLog::create(dir.path(), "t", p, test::test_topic_id(), options);
    ASSERT_TRUE(log.ok()) << log.error().message;
    logs.push_back(std::move(log.value()));
  }
  for (int round = 0; round < 40; ++round) {
    for (auto& log : logs) {
      ASSERT_TRUE(log->append(test::make_batch(0, 3, 1700000000000, 100)).ok());
      ASSERT_LE(options.file_cache->open_files(), 16u);
      ASSERT_LE(options.file_cache->reserved_slots(), 2u);
    }
    if (round % 8 == 0) worker->wait_idle();
  }
  worker->wait_idle();
  // Under load the worker may have had no turn before each roll: appends one
  // at a time, each waited for, make a spare once a segment is half full.
  for (int i = 0; i < 12 && worker->spares_made() == 0; ++i) {
    ASSERT_TRUE(logs[0]->append(test::make_batch(0, 3, 1700000000000, 100)).ok());
    worker->wait_idle();
  }
  EXPECT_GT(worker->spares_made(), 0u);
  size_t with_spare = 0;
  for (int32_t p = 0; p < 6; ++p)
    with_spare += fs::exists(dir.path() / partition_dir_name("t", p) / kSpareLogFile) ? 1 : 0;
  EXPECT_LE(with_spare, 2u);
  for (auto& log : logs) EXPECT_GT(log->segment_count(), 3u);

  // A budget too small to spare an eighth: no spares, rolls as before.
  FileCache small(7);
  EXPECT_FALSE(small.reserve_slot().ok());
}

// A spare's reserved space counts in the log directory's reservations until
// the roll makes it the new segment's; a quiet partition gives it back with
// its descriptor.
TEST(SpareSegments, ReservedSpaceCountsAndAQuietPartitionGivesItBack) {
  SpareLog s(64 * kKiB);
  ASSERT_TRUE(s.log);
  s.fill_half();
  s.worker->wait_idle();
  ASSERT_TRUE(fs::exists(s.partition_dir() / kSpareLogFile));
  const bool preallocated = allocated_bytes(s.partition_dir() / kSpareLogFile) > 0;
  const uint64_t active_ahead =
      allocated_bytes(s.active_log()) - (fs::file_size(s.active_log()) + 4095) / 4096 * 4096;
  if (preallocated) {
    EXPECT_EQ(s.disk->reserved(),
              active_ahead + allocated_bytes(s.partition_dir() / kSpareLogFile));
  }

  EXPECT_TRUE(s.log->release_reservation_if_quiet(0));
  s.worker->wait_idle();
  EXPECT_FALSE(has_spare_files(s.partition_dir()));
  EXPECT_EQ(s.options.file_cache->reserved_slots(), 0u);
  EXPECT_EQ(s.disk->reserved(), 0u);

  // Asked for again by the next append; the roll takes over its space.
  ASSERT_TRUE(s.log->append(test::make_batch(0, 3, 1700000000000, 100)).ok());
  s.worker->wait_idle();
  ASSERT_TRUE(fs::exists(s.partition_dir() / kSpareLogFile));
  s.roll();
  if (preallocated) {
    const uint64_t ahead =
        allocated_bytes(s.active_log()) - (fs::file_size(s.active_log()) + 4095) / 4096 * 4096;
    EXPECT_GT(ahead, 0u);
    EXPECT_EQ(s.disk->reserved(), ahead) << "the new segment's reservation, counted once";
  }
  s.log.reset();
  EXPECT_EQ(s.disk->reserved(), 0u);
}

}  // namespace
}  // namespace kb::storage
