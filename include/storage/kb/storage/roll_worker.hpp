#pragma once

// The file work of segment rolls, on a helper thread. Creating a file and
// opening index files cost the event loop a journal update each (tens of
// microseconds to milliseconds on a busy ext4), so a partition has its next
// segment's files made ahead of the roll, under names Kafka ignores (a spare:
// `next-segment.log.spare`, `.index.spare`, `.timeindex.spare`, the .log kept
// open and its disk space reserved), and the roll only renames the .log. The
// index files' renames, the rolled segment's last index entries and the
// giving back of the space reserved past its end follow on the same thread
// (SegmentFileWork); whoever needs those files first on the loop finishes
// the work there. A roll finding no spare ready makes its files itself: it
// never waits for this thread.
//
// A busy file system takes milliseconds to create a file, and a partition
// with small segments rolls hundreds of times a second: the work runs on
// several threads, each partition directory's jobs on one of them, one at a
// time in the order given (so a spare dropped and a new one for the same
// directory never meet). A crash leaves at most a spare's files, which the
// next load of the partition removes.
//
// Submitting and the state changes marked "loop" are the owning thread's;
// the worker touches nothing but a job's paths and bytes.

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "kb/storage/file_cache.hpp"
#include "kb/storage/result.hpp"

namespace kb::storage {

// The spare's file names in a partition directory.
inline constexpr std::string_view kSpareLogFile = "next-segment.log.spare";
inline constexpr std::string_view kSpareIndexFile = "next-segment.index.spare";
inline constexpr std::string_view kSpareTimeIndexFile = "next-segment.timeindex.spare";
bool is_spare_file_name(std::string_view name);

// A segment's files made ahead of its roll.
class SpareSegment {
 public:
  enum class State : uint8_t { queued, making, ready, failed, dropped };

  // `slot`: the .log's descriptor, counted in the file budget from now on;
  // `reserve_bytes`: disk space to reserve in it (counted by the caller).
  SpareSegment(std::filesystem::path dir, FileSlot slot, uint64_t reserve_bytes)
      : dir_(std::move(dir)), slot_(std::move(slot)), reserve_bytes_(reserve_bytes) {}
  ~SpareSegment();
  SpareSegment(const SpareSegment&) = delete;
  SpareSegment& operator=(const SpareSegment&) = delete;

  State state() const { return state_.load(std::memory_order_acquire); }
  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path log_path() const { return dir_ / kSpareLogFile; }
  std::filesystem::path index_path() const { return dir_ / kSpareIndexFile; }
  std::filesystem::path time_index_path() const { return dir_ / kSpareTimeIndexFile; }
  uint64_t reserve_bytes() const { return reserve_bytes_; }

  // Loop, once ready: the open .log (counted in the budget through `cache`,
  // under `path`, its name after the rename) and how much space is reserved
  // in it. The spare keeps nothing.
  std::shared_ptr<OpenFile> take_log(FileCache& cache, const std::filesystem::path& path);
  uint64_t reserved() const { return reserved_; }
  // Loop: the spare is not wanted. True when its files are there to be
  // removed (ready): the caller hands it to RollWorker::discard. Otherwise the
  // worker skips it, or removes what it made itself.
  bool drop();

 private:
  friend class RollWorker;
  // Worker: makes the files; failures leave state failed (and no files).
  void make();
  void remove_files();

  std::filesystem::path dir_;
  FileSlot slot_;
  uint64_t reserve_bytes_;
  std::atomic<State> state_{State::queued};
  int fd_ = -1;            // the .log, once made
  uint64_t reserved_ = 0;  // bytes fallocate'd in it
};

// What a roll leaves to do to a segment's files, in this order: a new
// segment's index files renamed from the spare's (one that cannot be is made
// empty, as a roll makes it); a rolled segment's index entries not yet in the
// files, and its space reserved past its data given back.
class SegmentFileWork {
 public:
  struct Rename {
    std::filesystem::path from;  // empty: `to` is made empty
    std::filesystem::path to;
  };
  struct Entries {
    std::filesystem::path path;
    uint64_t position = 0;  // where in the file the bytes go
    std::vector<uint8_t> bytes;
  };
  std::vector<Rename> renames;
  std::vector<Entries> indexes;
  std::filesystem::path log_path;
  uint64_t log_size = 0;
  bool trim_log = false;  // space is reserved past log_size: give it back
  // Work on the same files that must be done first (the segment's index
  // files being made), run first by whoever runs this if nobody has yet.
  std::shared_ptr<SegmentFileWork> after;
  // The budget's descriptor for the files it makes, given back once run.
  FileSlot slot;

  // Runs it now unless the worker took it first; then waits for the worker.
  // The outcome either way.
  Status finish_now();
  bool done() const { return state_.load(std::memory_order_acquire) >= kDone; }
  // Done, and it failed (status() says why).
  bool failed() const { return state_.load(std::memory_order_acquire) == kFailed; }
  const Status& status() const { return status_; }
  // Once failed: runs it again on the calling thread.
  Status run_again();

 private:
  friend class RollWorker;
  static constexpr int kQueued = 0, kRunning = 1, kDone = 2, kFailed = 3;
  bool claim();
  void run();
  std::atomic<int> state_{kQueued};
  Status status_;
};

class RollWorker {
 public:
  // Up to `threads` threads (at least one; started as directories need
  // them), `nice` levels below the process.
  explicit RollWorker(size_t threads = 1, int nice = 0);
  // Runs every job handed over, then joins the threads.
  ~RollWorker();
  RollWorker(const RollWorker&) = delete;
  RollWorker& operator=(const RollWorker&) = delete;

  void prepare(std::shared_ptr<SpareSegment> spare);
  // A spare drop() found ready: its descriptor is closed and its files removed.
  void discard(std::shared_ptr<SpareSegment> spare);
  void run_later(std::shared_ptr<SegmentFileWork> work);
  // Files of one directory removed in their turn (stray spares found by a
  // load).
  void remove(std::vector<std::filesystem::path> paths);
  // Blocks until every job handed over so far has run (tests, shutdown).
  void wait_idle();
  size_t spares_made() const { return spares_made_.load(std::memory_order_relaxed); }

 private:
  // One thread and the jobs of the directories it has.
  struct Shard {
    std::mutex mutex;
    std::condition_variable work_ready;
    std::condition_variable idle;
    std::deque<std::function<void()>> queue;
    bool busy = false;
    bool stopping = false;
    std::thread thread;  // started on first use
  };
  void submit(const std::filesystem::path& dir, std::function<void()> job);
  void run(Shard& shard);

  int nice_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::atomic<size_t> spares_made_{0};
};

}  // namespace kb::storage
