// The storage side of durability: Kafka's offset checkpoint files, the sync
// worker that runs fdatasync off the event loop, flush snapshots and recovery
// points, log.roll.ms, and how much start-up recovery scans given a clean
// shutdown or a recovery point.

#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>

#include "kb/storage/offset_checkpoint.hpp"
#include "kb/storage/partition_log.hpp"
#include "kb/storage/segment_index.hpp"
#include "kb/storage/sync_worker.hpp"
#include "storage_test_util.hpp"

namespace kb::storage {
namespace {

namespace fs = std::filesystem;
using test::ByteVec;

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// ---- checkpoint files ----

TEST(OffsetCheckpoint, FormatIsKafkasText) {
  OffsetCheckpoint offsets;
  offsets[{"orders", 1}] = 42;
  offsets[{"orders", 0}] = 7;
  offsets[{"a-b.c_d", 12}] = 0;
  EXPECT_EQ(format_offset_checkpoint(offsets), "0\n3\na-b.c_d 12 0\norders 0 7\norders 1 42\n");
  EXPECT_EQ(format_offset_checkpoint({}), "0\n0\n");
}

TEST(OffsetCheckpoint, RoundTripsThroughAFile) {
  test::TempDir dir;
  OffsetCheckpoint offsets;
  for (int32_t p = 0; p < 50; ++p) offsets[{"topic-" + std::to_string(p % 7), p}] = p * 1000;
  const fs::path path = dir.path() / kRecoveryPointCheckpointFile;
  ASSERT_TRUE(write_offset_checkpoint(path, offsets).ok());
  EXPECT_FALSE(fs::exists(path.string() + ".tmp"));
  auto read = read_offset_checkpoint(path);
  ASSERT_TRUE(read.ok()) << read.message;
  EXPECT_EQ(read.offsets, offsets);
}

TEST(OffsetCheckpoint, AbsentFileIsEmpty) {
  test::TempDir dir;
  auto read = read_offset_checkpoint(dir.path() / "nothing");
  ASSERT_TRUE(read.ok());
  EXPECT_TRUE(read.offsets.empty());
}

// What Kafka's CheckpointReadBuffer.read and OffsetCheckpointFile.Formatter
// accept: readLine() returning null after no line or after the version line
// gives an empty list; Integer.parseInt/Long.parseLong take a sign and leading
// zeros; String.split("\\s+") takes any run of blanks and drops trailing ones;
// HashMap.put keeps a repeated partition's last offset; TopicPartition takes a
// negative partition.
TEST(OffsetCheckpoint, AcceptsWhatKafkaAccepts) {
  const std::vector<std::pair<std::string_view, OffsetCheckpoint>> cases = {
      {"", {}},
      {"0", {}},
      {"0\n", {}},
      {"+0\r\n", {}},
      {"00\n0", {}},
      {"0\n0\n", {}},
      {"0\r\n1\r\nt 3 9\r\n", {{{"t", 3}, 9}}},
      {"0\r1\rt 3 9", {{{"t", 3}, 9}}},
      {"0\n1\nt\t+3 \f 009   \n", {{{"t", 3}, 9}}},
      {"0\n1\nt -1 -5\n", {{{"t", -1}, -5}}},
      {"0\n2\nt 0 1\nt 0 2\n", {{{"t", 0}, 2}}},
      {"0\n1\n 0 7\n", {{{"", 0}, 7}}},  // a leading blank makes an empty topic field
      {"0\n1\nt 0 9223372036854775807\n", {{{"t", 0}, INT64_MAX}}},
      {"0\n1\nt \u0661 \u0662\n", {{{"t", 1}, 2}}},  // Character.digit: Arabic-Indic digits
      {"0\n1\ncaf\xC3\xA9 0 4\n", {{{"caf\xC3\xA9", 0}, 4}}},
  };
  for (const auto& [text, expected] : cases) {
    auto read = parse_offset_checkpoint(text);
    ASSERT_TRUE(read.ok()) << "'" << text << "': " << read.message;
    EXPECT_EQ(read.offsets, expected) << "'" << text << "'";
  }
}

// Kafka's IOExceptions: "Malformed line in checkpoint file", "Unrecognised
// version", "Expected [n] entries ... but found only [m]", and the UTF-8
// decoder's MalformedInputException. They take the log directory offline.
TEST(OffsetCheckpoint, RefusesWhatKafkaFailsWithAnIOException) {
  const std::vector<std::pair<std::string_view, std::string_view>> cases = {
      {"x\n", "line 1: expected the version number 0, found 'x'"},
      {" 0\n", "line 1"},
      {"1\n0\n", "line 1: version 1 is not supported"},
      {"0\n\n", "line 2: expected the number of entries, found ''"},
      {"0\nx\n", "line 2"},
      {"0\n2147483648\n", "line 2"},
      {"0\n2\nt 0 1\n", "line 2: expected 2 entries as it says, found 1"},
      {"0\n1\nt 0 1\nu 0 2\n", "line 2: expected 1 entries as it says, found 2"},
      {"0\n1\nt 0 1\n\n", "line 4: expected '<topic> <partition> <offset>', found ''"},
      {"0\n1\nt 0\n", "line 3"},
      {"0\n1\n t 0 1\n", "line 3"},  // four fields: an empty one first
      {"0\n1\nt 0 1 x\n", "line 3"},
      {"0\n1\nt\xFF 0 1\n", "byte 5: expected UTF-8 text"},
  };
  for (const auto& [text, message] : cases) {
    auto read = parse_offset_checkpoint(text);
    EXPECT_EQ(read.fault, CheckpointFault::malformed) << "'" << text << "'";
    EXPECT_NE(read.message.find(message), std::string::npos) << read.message;
    EXPECT_TRUE(read.offsets.empty());
  }
}

// NumberFormatException from the formatter and new ArrayList(negative count):
// not IOExceptions, so Kafka's LogManager catches them, warns and goes on.
TEST(OffsetCheckpoint, BadNumbersAreTheFaultKafkaToleratesAtStartUp) {
  const std::vector<std::pair<std::string_view, std::string_view>> cases = {
      {"0\n1\nt x 1\n", "line 3: the partition 'x' is not a number"},
      {"0\n1\nt 0 1.5\n", "line 3: the offset '1.5' is not a number"},
      {"0\n1\nt 2147483648 1\n", "line 3"},
      {"0\n1\nt 0 9223372036854775808\n", "line 3"},
      {"0\n-1\n", "line 2: the number of entries is negative (-1)"},
      // The first failing line decides, as the first exception does in Java.
      {"0\n1\nt x 1\nmalformed\n", "line 3"},
  };
  for (const auto& [text, message] : cases) {
    auto read = parse_offset_checkpoint(text);
    EXPECT_EQ(read.fault, CheckpointFault::bad_number) << "'" << text << "'";
    EXPECT_NE(read.message.find(message), std::string::npos) << read.message;
  }
  // A malformed line before the bad number decides the other way.
  EXPECT_EQ(parse_offset_checkpoint("0\n2\nmalformed\nt x 1\n").fault, CheckpointFault::malformed);
}

TEST(OffsetCheckpoint, AFileThatCannotBeReadNamesItself) {
  test::TempDir dir;
  const fs::path path = dir.path() / kLogStartOffsetCheckpointFile;
  std::ofstream(path, std::ios::binary) << "0\n1\nt 0\n";
  auto read = read_offset_checkpoint(path);
  EXPECT_EQ(read.fault, CheckpointFault::malformed);
  EXPECT_EQ(read.message,
            path.string() + ": line 3: expected '<topic> <partition> <offset>', found 't 0'");
}

// ---- sync worker ----

bool wait_readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) == 1;
}

TEST(SyncWorker, SyncsFilesWritesCheckpointsAndSignalsCompletion) {
  test::TempDir dir;
  SyncWorker worker(2);
  EXPECT_FALSE(wait_readable(worker.completion_fd(), 0));

  const fs::path data = dir.path() / "data";
  const int fd = ::open(data.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "abc", 3), 3);
  SyncJob job;
  job.id = 7;
  job.files.push_back(std::make_shared<OpenFile>(fd, data));
  job.writes.emplace_back(dir.path() / "cp", "0\n0\n");
  worker.submit(std::move(job));

  ASSERT_TRUE(wait_readable(worker.completion_fd(), 5000));
  auto done = worker.take_completed();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].id, 7u);
  EXPECT_TRUE(done[0].status.ok());
  EXPECT_EQ(read_text(dir.path() / "cp"), "0\n0\n");
  // Taken: the eventfd is quiet again.
  EXPECT_FALSE(wait_readable(worker.completion_fd(), 0));
  EXPECT_EQ(worker.in_flight(), 0u);
}

// The nice value of every thread of this process, from /proc/self/task/*/stat.
std::vector<int> thread_nice_values() {
  std::vector<int> values;
  for (const auto& task : fs::directory_iterator("/proc/self/task")) {
    std::string stat = read_text(task.path() / "stat");
    // Fields after the command (in parentheses): state is field 3, nice 19.
    const size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream fields(stat.substr(close + 2));
    std::string field;
    for (int i = 3; i <= 19 && fields >> field; ++i)
      if (i == 19) values.push_back(std::stoi(field));
  }
  return values;
}

TEST(SyncWorker, ThreadsRunTheNiceLevelsAskedForBelowTheProcess) {
  errno = 0;
  const int base = ::getpriority(PRIO_PROCESS, 0);
  ASSERT_EQ(errno, 0);
  const int expected = std::min(base + 7, 19);
  if (expected == base) GTEST_SKIP() << "the tests already run at the lowest priority";
  SyncWorker worker(1, 7);
  SyncJob job;
  job.id = 1;
  worker.submit(std::move(job));
  worker.wait_idle();
  EXPECT_EQ(worker.take_completed().size(), 1u);
  auto values = thread_nice_values();
  EXPECT_EQ(std::count(values.begin(), values.end(), expected), 1) << "the worker's one thread";
}

// A job whose one file cannot be synced (fdatasync on a pipe: EINVAL).
SyncJob failing_sync_job() {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) throw std::runtime_error("pipe failed");
  ::close(pipe_fds[1]);
  SyncJob job;
  job.id = 1;
  job.files.push_back(std::make_shared<OpenFile>(pipe_fds[0], "a pipe"));
  return job;
}

TEST(SyncWorker, WritesNothingAfterAFailedSync) {
  test::TempDir dir;
  SyncWorker worker(1);
  SyncJob job = failing_sync_job();
  job.writes.emplace_back(dir.path() / "cp", "0\n0\n");
  worker.submit(std::move(job));
  worker.wait_idle();
  auto done = worker.take_completed();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_FALSE(done[0].status.ok());
  EXPECT_FALSE(fs::exists(dir.path() / "cp")) << "a checkpoint must not claim the failed sync";
}

TEST(SyncWorker, ReportsAFailedSync) {
  SyncWorker worker(1);
  SyncJob job = failing_sync_job();
  worker.submit(std::move(job));
  worker.wait_idle();
  auto done = worker.take_completed();
  ASSERT_EQ(done.size(), 1u);
  ASSERT_FALSE(done[0].status.ok());
  EXPECT_NE(done[0].status.error().message.find("a pipe"), std::string::npos);
}

TEST(SyncWorker, ManyJobsAllCompleteOnce) {
  test::TempDir dir;
  SyncWorker worker(3);
  const fs::path data = dir.path() / "data";
  const int fd = ::open(data.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  auto file = std::make_shared<OpenFile>(fd, data);
  EXPECT_EQ(worker.threads_started(), 0u) << "threads start as jobs come";
  for (uint64_t id = 1; id <= 40; ++id) {
    SyncJob job;
    job.id = id;
    job.files.push_back(file);
    worker.submit(std::move(job));
  }
  std::vector<bool> seen(41, false);
  size_t count = 0;
  while (count < 40) {
    ASSERT_TRUE(wait_readable(worker.completion_fd(), 5000));
    for (auto& job : worker.take_completed()) {
      ASSERT_FALSE(seen[job.id]) << job.id;
      seen[job.id] = true;
      EXPECT_TRUE(job.status.ok());
      ++count;
    }
  }
  EXPECT_EQ(file.use_count(), 1) << "jobs release their files once done";
  EXPECT_GE(worker.threads_started(), 1u);
  EXPECT_LE(worker.threads_started(), 3u);
}

// ---- flush snapshots, recovery points, roll by time ----

using test::new_log;

void sync_all(const std::vector<FileToSync>& files) {
  for (const auto& f : files) {
    Status synced = sync_file(f);
    EXPECT_TRUE(synced.ok()) << synced.error().message;
  }
}

TEST(PartitionLogFlush, SnapshotCoversTheLogEndAndSurvivesARoll) {
  test::TempDir dir;
  PartitionLogOptions options;
  options.segment_bytes = 300;
  auto log = new_log(dir, options);
  ASSERT_TRUE(log);
  EXPECT_FALSE(log->has_unflushed());
  ByteVec batch = test::make_batch(0, 3, 1700000000000, 40);
  ASSERT_TRUE(log->append(batch).ok());
  EXPECT_TRUE(log->has_unflushed());
  EXPECT_EQ(log->flushed_offset(), 0);

  auto snapshot = log->flush_snapshot();
  ASSERT_TRUE(snapshot.ok()) << snapshot.error().message;
  EXPECT_EQ(snapshot->end_offset, 3);
  EXPECT_EQ(snapshot->data_files.size(), 1u) << "the .log only";

  // Appends that roll the segment meanwhile leave the snapshot's files usable,
  // and do not sync the rolled segment themselves: the next flush does.
  for (int i = 0; i < 4; ++i) {
    ByteVec more = test::make_batch(0, 3, 1700000000000, 40);
    ASSERT_TRUE(log->append(more).ok());
  }
  const size_t segments = log->segment_count();
  ASSERT_GT(segments, 1u);
  EXPECT_TRUE(log->has_unsynced_rolled_segments());
  EXPECT_EQ(log->flushed_offset(), 0);
  sync_all(snapshot->data_files);
  log->mark_flushed(snapshot->end_offset);
  EXPECT_EQ(log->flushed_offset(), 3);
  EXPECT_EQ(log->recovery_point(), 0) << "the indexes are not synced yet";
  EXPECT_TRUE(log->has_unsynced_indexes());

  auto next = log->flush_snapshot();
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->end_offset, log->log_end_offset());
  EXPECT_EQ(next->data_files.size(), segments + 1)
      << "every rolled .log, the directory (the new segments' entries) and the active one";
  EXPECT_FALSE(log->has_unsynced_rolled_segments()) << "handed over to the snapshot";
  sync_all(next->data_files);
  log->mark_flushed(next->end_offset);
  EXPECT_EQ(log->flushed_offset(), log->log_end_offset());
  EXPECT_FALSE(log->has_unflushed());

  // The indexes: every rolled segment's and the active one's.
  auto indexes = log->index_sync_snapshot();
  ASSERT_TRUE(indexes.ok()) << indexes.error().message;
  EXPECT_EQ(indexes->recovery_point, log->log_end_offset());
  EXPECT_EQ(indexes->index_files.size(), 2 * segments) << ".index and .timeindex of each";
  sync_all(indexes->index_files);
  log->mark_indexes_synced(indexes->recovery_point, indexes->rolls);
  EXPECT_EQ(log->recovery_point(), log->log_end_offset());
  EXPECT_FALSE(log->has_unsynced_indexes());

  // flush() does both in place, rolled segments included.
  for (int i = 0; i < 4; ++i) {
    ByteVec more = test::make_batch(0, 3, 1700000000000, 40);
    ASSERT_TRUE(log->append(more).ok());
  }
  EXPECT_TRUE(log->has_unsynced_rolled_segments());
  ASSERT_TRUE(log->flush().ok());
  EXPECT_FALSE(log->has_unsynced_rolled_segments());
  EXPECT_FALSE(log->has_unsynced_indexes());
  EXPECT_EQ(log->recovery_point(), log->log_end_offset());
}

// An append keeps its index entries in memory (reads use them at once); the
// files get them in one write when the indexes are synced, when the segment
// rolls, or when the log closes: never later than the recovery point needs.
TEST(PartitionLogFlush, IndexEntriesReachTheFilesWithTheIndexSyncTheRollOrTheClose) {
  test::TempDir dir;
  PartitionLogOptions options;
  options.index_interval_bytes = 1;  // an entry for every batch after the first
  options.segment_bytes = 2000;
  auto log = new_log(dir, options);
  ASSERT_TRUE(log);
  const fs::path first_index = dir.path() / "t-0" / segment_file_name(0, ".index");
  const fs::path first_time_index = dir.path() / "t-0" / segment_file_name(0, ".timeindex");
  std::vector<ByteVec> appended;
  auto append = [&](int i) {
    ByteVec b = test::make_batch(0, 3, 1700000000000 + 10 * i, 40);
    ASSERT_TRUE(log->append(b).ok());
    appended.push_back(b);
  };
  for (int i = 0; i < 4; ++i) append(i);
  EXPECT_EQ(fs::file_size(first_index), 0u) << "no write per append";
  for (int64_t offset = 0; offset < 12; ++offset)  // served from memory meanwhile
    ASSERT_EQ(log->read(offset, 1)->first_batch_base_offset, offset / 3 * 3);

  auto indexes = log->index_sync_snapshot();
  ASSERT_TRUE(indexes.ok()) << indexes.error().message;
  EXPECT_EQ(fs::file_size(first_index), 3 * kOffsetIndexEntrySize);
  EXPECT_EQ(fs::file_size(first_time_index), 3 * kTimeIndexEntrySize);
  const auto after_sync =
      parse_offset_index(test::read_whole_file(first_index), 0,
                         fs::file_size(first_index.parent_path() / segment_file_name(0, ".log")));
  ASSERT_TRUE(after_sync.has_value());
  EXPECT_EQ(after_sync->back(),
            (OffsetPosition{11, static_cast<uint32_t>(3 * appended[0].size())}));

  // A roll writes the rolled segment's entries (and its final time entry).
  while (log->segment_count() == 1) append(static_cast<int>(appended.size()));
  const size_t in_first = appended.size() - 1;
  EXPECT_EQ(fs::file_size(first_index), (in_first - 1) * kOffsetIndexEntrySize);
  auto times = parse_time_index(test::read_whole_file(first_time_index), 0);
  ASSERT_TRUE(times.has_value());
  EXPECT_EQ(times->back().offset, static_cast<int64_t>(3 * in_first - 1));

  // Closing writes the active segment's.
  append(static_cast<int>(appended.size()));
  append(static_cast<int>(appended.size()));
  const int64_t base = log->segment_base_offsets().back();
  const fs::path active_index = dir.path() / "t-0" / segment_file_name(base, ".index");
  EXPECT_EQ(fs::file_size(active_index), 0u);
  log.reset();
  EXPECT_EQ(fs::file_size(active_index), 2 * kOffsetIndexEntrySize);
  auto reopened = PartitionLog::open(dir.path() / "t-0", options);
  ASSERT_TRUE(reopened.ok()) << reopened.error().message;
  const auto end = static_cast<int64_t>(3 * appended.size());
  EXPECT_EQ((*reopened)->log_end_offset(), end);
  for (int64_t offset = 0; offset < end; ++offset)
    ASSERT_EQ((*reopened)->read(offset, 1)->first_batch_base_offset, offset / 3 * 3);
}

TEST(PartitionLogFlush, RecoveryPointStaysBeforeIndexesOfLaterRollsAndFailedSyncs) {
  test::TempDir dir;
  PartitionLogOptions options;
  options.segment_bytes = 300;
  auto log = new_log(dir, options);
  ASSERT_TRUE(log);
  auto append_rolling = [&] {
    const size_t before = log->segment_count();
    while (log->segment_count() == before) {
      ByteVec more = test::make_batch(0, 3, 1700000000000, 40);
      ASSERT_TRUE(log->append(more).ok());
    }
  };
  append_rolling();
  ASSERT_TRUE(log->flush().ok());
  // Data synced, then an index snapshot whose sync "fails" (is never marked):
  // the rolled segment's files stay listed for the next one.
  append_rolling();
  auto data = log->flush_snapshot();
  ASSERT_TRUE(data.ok());
  sync_all(data->data_files);
  log->mark_flushed(data->end_offset);
  auto failed = log->index_sync_snapshot();
  ASSERT_TRUE(failed.ok());
  auto retried = log->index_sync_snapshot();
  ASSERT_TRUE(retried.ok());
  EXPECT_EQ(retried->index_files.size(), failed->index_files.size());
  // A roll after the snapshot: its final time index entry is not in the sync,
  // so its files stay listed after the snapshot is marked synced.
  append_rolling();
  sync_all(retried->index_files);
  log->mark_indexes_synced(retried->recovery_point, retried->rolls);
  EXPECT_EQ(log->recovery_point(), data->end_offset);
  EXPECT_TRUE(log->has_unsynced_indexes());
  auto later = log->index_sync_snapshot();
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(later->index_files.size(), 4u) << "the late rolled segment's and the active one's";
  // A recovery point is never past the flushed data.
  log->mark_indexes_synced(log->log_end_offset(), later->rolls);
  EXPECT_EQ(log->recovery_point(), data->end_offset);
}

TEST(PartitionLogRoll, RollsWhenABatchIsLogRollMsNewerThanTheSegmentsFirst) {
  test::TempDir dir;
  PartitionLogOptions options;
  options.roll_ms = 1000;
  auto log = new_log(dir, options);
  ASSERT_TRUE(log);
  const int64_t t0 = 1700000000000;
  for (int64_t t : {t0, t0 + 400, t0 + 1000}) {
    ByteVec b = test::make_batch(0, 1, t);
    ASSERT_TRUE(log->append(b).ok());
  }
  EXPECT_EQ(log->segment_count(), 1u) << "1000 ms is not more than log.roll.ms";
  ByteVec late = test::make_batch(0, 1, t0 + 1001);
  ASSERT_TRUE(log->append(late).ok());
  EXPECT_EQ(log->segment_base_offsets(), (std::vector<int64_t>{0, 3}));
  ByteVec next = test::make_batch(0, 1, t0 + 1500);
  ASSERT_TRUE(log->append(next).ok());
  EXPECT_EQ(log->segment_count(), 2u) << "the new segment's age counts from its own first batch";

  // After a reopen the active segment's first batch is read back from disk.
  log.reset();
  auto reopened = PartitionLog::open(dir.path() / "t-0", options);
  ASSERT_TRUE(reopened.ok());
  ByteVec again = test::make_batch(0, 1, t0 + 1001 + 1001);
  ASSERT_TRUE((*reopened)->append(again).ok());
  EXPECT_EQ((*reopened)->segment_base_offsets(), (std::vector<int64_t>{0, 3, 5}));
}

// ---- recovery at start-up ----

// Three batches of 3 records, then the middle one's last byte flipped: its
// CRC fails, its length is intact.
struct DamagedMiddle {
  test::TempDir dir;
  fs::path partition;
  PartitionLogOptions options;
  explicit DamagedMiddle(uint32_t index_interval) {
    options.index_interval_bytes = index_interval;
    auto log = new_log(dir, options);
    std::vector<size_t> ends;
    for (int i = 0; i < 3; ++i) {
      ByteVec b = test::make_batch(0, 3);
      EXPECT_TRUE(log->append(b).ok());
      ends.push_back(b.size() * static_cast<size_t>(i + 1));
    }
    log.reset();
    partition = dir.path() / "t-0";
    const fs::path segment = partition / segment_file_name(0, ".log");
    const int fd = ::open(segment.c_str(), O_RDWR | O_CLOEXEC);
    uint8_t byte = 0;
    EXPECT_EQ(::pread(fd, &byte, 1, static_cast<off_t>(ends[1] - 1)), 1);
    byte ^= 0x5a;
    EXPECT_EQ(::pwrite(fd, &byte, 1, static_cast<off_t>(ends[1] - 1)), 1);
    ::close(fd);
  }
};

TEST(PartitionLogRecovery, CleanShutdownTrustsTheFiles) {
  DamagedMiddle damaged(4096);
  RecoveryHint hint;
  hint.clean_shutdown = true;
  auto log = PartitionLog::open(damaged.partition, damaged.options, hint);
  ASSERT_TRUE(log.ok());
  EXPECT_EQ((*log)->log_end_offset(), 9) << "no CRC scan after a clean shutdown";
  EXPECT_EQ((*log)->recovery_point(), 9);
}

TEST(PartitionLogRecovery, RecoveryPointBeforeTheDamageScansFromIt) {
  // Every batch indexed. Without any hint nothing vouches for the index: the
  // active segment is scanned whole and the damage found.
  {
    DamagedMiddle damaged(1);
    auto log = PartitionLog::open(damaged.partition, damaged.options);
    ASSERT_TRUE(log.ok());
    EXPECT_EQ((*log)->log_end_offset(), 3);
  }
  {
    DamagedMiddle damaged(1);
    RecoveryHint hint;
    hint.recovery_point = 3;  // the first batch was synced
    auto log = PartitionLog::open(damaged.partition, damaged.options, hint);
    ASSERT_TRUE(log.ok());
    EXPECT_EQ((*log)->log_end_offset(), 3) << "the damaged batch and all after it are cut";
    EXPECT_EQ((*log)->recovery_point(), 3);
  }
  {
    DamagedMiddle damaged(1);
    RecoveryHint hint;
    hint.recovery_point = 9;  // all of it was synced: only the tail is checked
    auto log = PartitionLog::open(damaged.partition, damaged.options, hint);
    ASSERT_TRUE(log.ok());
    EXPECT_EQ((*log)->log_end_offset(), 9);
  }
}

TEST(PartitionLogRecovery, CleanShutdownStillRecoversATornTail) {
  DamagedMiddle damaged(4096);
  const fs::path segment = damaged.partition / segment_file_name(0, ".log");
  fs::resize_file(segment, fs::file_size(segment) - 5);
  RecoveryHint hint;
  hint.clean_shutdown = true;
  hint.recovery_point = 0;
  auto log = PartitionLog::open(damaged.partition, damaged.options, hint);
  ASSERT_TRUE(log.ok());
  EXPECT_EQ((*log)->log_end_offset(), 3) << "a cut batch is structural: recovery runs";
}

// A crash after the data of six batches was synced (acks=-1 answered) but
// only the first three's index entries were (the checkpoint's recovery point,
// 9): the index files may hold anything past those entries.
struct UnsyncedIndexes {
  static constexpr int64_t kT0 = 1700000000000;
  test::TempDir dir;
  fs::path partition;
  PartitionLogOptions options;
  uint64_t synced_log_size = 0;
  ByteVec synced_index, synced_time_index;
  RecoveryHint hint;

  UnsyncedIndexes() {
    options.index_interval_bytes = 1;  // entries for every batch after the first
    auto log = new_log(dir, options);
    partition = dir.path() / "t-0";
    auto append = [&](int i) {
      ByteVec b = test::make_batch(0, 3, kT0 + 10 * i);
      EXPECT_TRUE(log->append(b).ok());
    };
    for (int i = 0; i < 3; ++i) append(i);
    EXPECT_TRUE(log->flush().ok());
    hint.recovery_point = log->recovery_point();
    EXPECT_EQ(hint.recovery_point, 9);
    synced_log_size = fs::file_size(file(".log"));
    synced_index = test::read_whole_file(file(".index"));
    synced_time_index = test::read_whole_file(file(".timeindex"));
    for (int i = 3; i < 6; ++i) append(i);
  }
  fs::path file(std::string_view suffix) const { return partition / segment_file_name(0, suffix); }
  // Both index files parse, and name no offset at or past `end`.
  void expect_indexes_within(int64_t end) const {
    auto log_size = fs::file_size(file(".log"));
    auto index = parse_offset_index(test::read_whole_file(file(".index")), 0, log_size);
    ASSERT_TRUE(index.has_value());
    for (const auto& e : *index) EXPECT_LT(e.offset, end);
    auto times = parse_time_index(test::read_whole_file(file(".timeindex")), 0);
    ASSERT_TRUE(times.has_value());
    for (const auto& e : *times) EXPECT_LT(e.offset, end);
  }
  // Every offset below `end` reads back from the batch holding it.
  static void expect_readable(PartitionLog& log, int64_t end) {
    for (int64_t offset = 0; offset < end; ++offset) {
      auto read = log.read(offset, 1);
      ASSERT_TRUE(read.ok()) << read.error().message;
      ASSERT_FALSE(read->empty()) << offset;
      EXPECT_EQ(read->first_batch_base_offset, offset / 3 * 3) << offset;
    }
  }
};

TEST(PartitionLogRecovery, IndexEntriesForBatchesLostPastTheRecoveryPointAreDropped) {
  // Only the synced data survived, and the offset index as synced; the time
  // index kept entries for the lost batches (its pages reached the disk).
  UnsyncedIndexes crash;
  fs::resize_file(crash.file(".log"), crash.synced_log_size);
  test::write_whole_file(crash.file(".index"), crash.synced_index);
  ASSERT_GT(test::read_whole_file(crash.file(".timeindex")).size(), crash.synced_time_index.size());

  auto log = PartitionLog::open(crash.partition, crash.options, crash.hint);
  ASSERT_TRUE(log.ok()) << log.error().message;
  EXPECT_EQ((*log)->log_end_offset(), 9);
  crash.expect_indexes_within(9);
  auto found = (*log)->offset_for_timestamp(UnsyncedIndexes::kT0 + 30);
  ASSERT_TRUE(found.ok());
  EXPECT_FALSE(found->has_value()) << "no record is that recent any more";

  // Appends go on from there with consistent indexes, also after a reopen.
  ByteVec b = test::make_batch(0, 3, UnsyncedIndexes::kT0 + 100);
  ASSERT_TRUE((*log)->append(b).ok());
  crash.expect_indexes_within(12);
  UnsyncedIndexes::expect_readable(**log, 12);
  log->reset();
  auto reopened = PartitionLog::open(crash.partition, crash.options);
  ASSERT_TRUE(reopened.ok()) << reopened.error().message;
  EXPECT_EQ((*reopened)->log_end_offset(), 12);
  auto newest = (*reopened)->offset_for_timestamp(UnsyncedIndexes::kT0 + 100);
  ASSERT_TRUE(newest.ok());
  EXPECT_EQ(*newest, std::optional<int64_t>(9));
}

TEST(PartitionLogRecovery, GarbageOrZerosInIndexFilesPastTheRecoveryPointAreRebuilt) {
  // All the data survived; the index files past the synced entries hold what
  // unsynced pages may: garbage, zeros, zeros followed by entries, or nothing.
  const ByteVec garbage = {0x7f, 0x13, 0xa5, 0x01, 0xff, 0xee, 0x00, 0x42, 0x99, 0x10, 0x20, 0x30};
  const ByteVec zeros(24, 0);
  struct Damage {
    std::string name;
    std::function<void(const UnsyncedIndexes&)> apply;
  };
  auto append_to = [](const fs::path& path, ByteVec base, const ByteVec& tail) {
    base.insert(base.end(), tail.begin(), tail.end());
    test::write_whole_file(path, base);
  };
  const std::vector<Damage> damages = {
      {"garbage",
       [&](const UnsyncedIndexes& c) {
         append_to(c.file(".index"), c.synced_index, {garbage.begin(), garbage.begin() + 8});
         append_to(c.file(".timeindex"), c.synced_time_index, garbage);
       }},
      {"zeros",
       [&](const UnsyncedIndexes& c) {
         append_to(c.file(".index"), c.synced_index, zeros);
         append_to(c.file(".timeindex"), c.synced_time_index, zeros);
       }},
      {"zeros, then the unsynced entries",
       [&](const UnsyncedIndexes& c) {
         ByteVec index = test::read_whole_file(c.file(".index"));
         std::fill(index.begin() + static_cast<std::ptrdiff_t>(c.synced_index.size()),
                   index.begin() + static_cast<std::ptrdiff_t>(c.synced_index.size() + 8), 0);
         test::write_whole_file(c.file(".index"), index);
       }},
      {"cut short",
       [&](const UnsyncedIndexes& c) {
         fs::resize_file(c.file(".index"), c.synced_index.size() - 3);
         fs::resize_file(c.file(".timeindex"), 0);
       }},
  };
  for (const auto& damage : damages) {
    SCOPED_TRACE(damage.name);
    UnsyncedIndexes crash;
    damage.apply(crash);
    auto log = PartitionLog::open(crash.partition, crash.options, crash.hint);
    ASSERT_TRUE(log.ok()) << log.error().message;
    EXPECT_EQ((*log)->log_end_offset(), 18) << "the synced data is all there";
    crash.expect_indexes_within(18);
    UnsyncedIndexes::expect_readable(**log, 18);
    auto found = (*log)->offset_for_timestamp(UnsyncedIndexes::kT0 + 41);
    ASSERT_TRUE(found.ok());
    EXPECT_EQ(*found, std::optional<int64_t>(13));
    // The files as recovery left them are whole: a plain open trusts them.
    log->reset();
    auto reopened = PartitionLog::open(crash.partition, crash.options);
    ASSERT_TRUE(reopened.ok()) << reopened.error().message;
    EXPECT_EQ((*reopened)->log_end_offset(), 18);
    UnsyncedIndexes::expect_readable(**reopened, 18);
  }
}

// A crash before any index sync leaves index files without the entries of
// recent appends (they were past the recovery point): the data is all there.
TEST(PartitionLogRecovery, AppendsWhoseIndexEntriesWereNeverWrittenAreRecovered) {
  test::TempDir dir;
  test::TempDir crashed;
  PartitionLogOptions options;
  options.index_interval_bytes = 1;
  {
    auto log = new_log(dir, options);
    ASSERT_TRUE(log);
    ASSERT_TRUE(log->flush().ok());
    for (int i = 0; i < 5; ++i) {
      ByteVec b = test::make_batch(0, 3, 1700000000000 + 10 * i);
      ASSERT_TRUE(log->append(b).ok());
    }
    // The files as a crash now would leave them (the log is still open).
    fs::copy(dir.path() / "t-0", crashed.path() / "t-0", fs::copy_options::recursive);
  }
  EXPECT_EQ(fs::file_size(crashed.path() / "t-0" / segment_file_name(0, ".index")), 0u);
  RecoveryHint hint;
  hint.recovery_point = 0;
  auto log = PartitionLog::open(crashed.path() / "t-0", options, hint);
  ASSERT_TRUE(log.ok()) << log.error().message;
  EXPECT_EQ((*log)->log_end_offset(), 15);
  UnsyncedIndexes::expect_readable(**log, 15);
  auto found = (*log)->offset_for_timestamp(1700000000000 + 40);
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(*found, std::optional<int64_t>(12));
}

}  // namespace
}  // namespace kb::storage
