#pragma once

// One of the log cleaner's helper threads (log.cleaner.threads of them): it
// runs one clean at a time with its own offset map (its share of
// log.cleaner.dedupe.buffer.size) and an I/O budget shared with the other
// threads (log.cleaner.io.max.bytes.per.second), and writes the
// cleaner-offset-checkpoint when asked. Jobs come from the event loop;
// finished ones are queued and an eventfd becomes readable (completion_fd()),
// which the loop answers with take_completed() and then swaps the cleaned
// segments in.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "kb/storage/log_cleaner.hpp"
#include "kb/storage/offset_checkpoint.hpp"
#include "kb/storage/result.hpp"

namespace kb::storage {

struct CleanerJob {
  uint64_t id = 0;
  // A clean, or (without a plan) a checkpoint write.
  std::optional<CleaningPlan> plan;
  int64_t now_ms = 0;
  std::optional<std::pair<std::filesystem::path, OffsetCheckpoint>> checkpoint;
  // Set by the worker.
  std::optional<Result<CleanResult>> result;
  Status checkpoint_status;
};

class CleanerWorker {
 public:
  // `nice`: levels below the process's priority.
  CleanerWorker(size_t dedupe_buffer_bytes, double load_factor,
                std::shared_ptr<IoThrottler> throttler, int nice = 5);
  // Stops a clean under way (its files are deleted), then joins the thread.
  ~CleanerWorker();
  CleanerWorker(const CleanerWorker&) = delete;
  CleanerWorker& operator=(const CleanerWorker&) = delete;

  int completion_fd() const { return event_fd_; }
  void submit(CleanerJob job);
  std::vector<CleanerJob> take_completed();
  size_t in_flight() const;
  // Blocks until nothing is queued or running.
  void wait_idle();
  // Without waiting: a clean under way stops (its files are deleted) and
  // every job not done comes back through take_completed() unfinished
  // (a clean's result and a checkpoint's status are errors); then the thread
  // ends. For a restart of the cleaner that must not hold the loop up.
  void request_stop();
  // The thread has ended and every job it had is in take_completed().
  bool finished() const;

 private:
  void run();
  void signal_completion();

  std::shared_ptr<IoThrottler> throttler_;
  Cleaner cleaner_;  // used by the thread only
  int event_fd_ = -1;
  mutable std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable idle_;
  std::deque<CleanerJob> queue_;
  std::vector<CleanerJob> completed_;
  bool running_job_ = false;
  bool stopping_ = false;
  bool finished_ = false;
  std::atomic<bool> abort_{false};
  std::thread thread_;
};

}  // namespace kb::storage
