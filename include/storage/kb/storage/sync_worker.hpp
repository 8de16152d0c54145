#pragma once

// Helper threads that wait on the disk so the event loop does not: fdatasync
// of partition files and atomic writes of small files (checkpoints). Jobs are
// submitted from the loop's thread; when one finishes, its completion is queued
// and an eventfd becomes readable, which the loop watches (completion_fd()) and
// answers with take_completed(). The threads touch nothing but the job: the
// files a job syncs are shared (or dup()ed) descriptors, so a segment rolled or
// closed meanwhile stays valid for the sync.
//
// A job never waits in the queue for a thread while fewer than the maximum
// run: one is started for it. Syncs of different files then wait for the same
// journal commit (ext4 commits concurrent fdatasyncs together, one cache flush
// for all) instead of one commit each, one after another.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "kb/storage/partition_log.hpp"
#include "kb/storage/result.hpp"

namespace kb::storage {

// A file's new content: `head`, then `body`. In two pieces so that a long
// body built over several loop turns is never copied behind a head known
// only at the end (a checkpoint's entry count).
struct FileWrite {
  std::filesystem::path path;
  std::string body;
  std::string head;
};

struct SyncJob {
  uint64_t id = 0;
  // First, each range's writeback is started (not waited for).
  std::vector<WritebackRange> writebacks;
  // Each fdatasync()ed (opened here when given by path).
  std::vector<FileToSync> files;
  // Then, when every sync succeeded: each written to <path>.tmp, synced,
  // renamed over path, directory synced.
  std::vector<FileWrite> writes;
  Status status;  // set by the worker: the first failure, if any
};

class SyncWorker {
 public:
  // Up to `max_threads` threads (at least one), started as jobs need them,
  // `nice` levels below the process's priority (background work yields the
  // CPU to the event loop).
  explicit SyncWorker(size_t max_threads, int nice = 0);
  // Finishes every submitted job, then joins the threads.
  ~SyncWorker();
  SyncWorker(const SyncWorker&) = delete;
  SyncWorker& operator=(const SyncWorker&) = delete;

  // Readable while completed jobs wait to be taken.
  int completion_fd() const { return event_fd_; }

  void submit(SyncJob job);
  // Completed jobs in completion order (and clears the eventfd).
  std::vector<SyncJob> take_completed();
  // Blocks until no job is queued or running (shutdown).
  void wait_idle();
  size_t in_flight() const;
  size_t threads_started() const { return threads_.size(); }

 private:
  void start_thread();
  void run();

  int event_fd_ = -1;
  mutable std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable idle_;
  std::deque<SyncJob> queue_;
  std::vector<SyncJob> completed_;
  size_t running_ = 0;
  size_t idle_threads_ = 0;  // waiting for a job
  bool stopping_ = false;
  size_t max_threads_;
  int nice_;
  std::vector<std::thread> threads_;  // started and joined by the submitting thread
};

}  // namespace kb::storage
