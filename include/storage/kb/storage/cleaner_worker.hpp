#pragma once

// The log cleaner's helper thread (log.cleaner.threads = 1 here): it runs
// one clean at a time with its own offset map (log.cleaner.dedupe.buffer.size)
// and I/O budget (log.cleaner.io.max.bytes.per.second), and writes the
// cleaner-offset-checkpoint. Jobs come from the event loop; finished ones
// are queued and an eventfd becomes readable (completion_fd()), which the
// loop answers with take_completed() and then swaps the cleaned segments in.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
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
  CleanerWorker(size_t dedupe_buffer_bytes, double io_bytes_per_second, double load_factor,
                int nice = 5);
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

 private:
  void run();

  Cleaner cleaner_;  // used by the thread only
  int event_fd_ = -1;
  mutable std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable idle_;
  std::deque<CleanerJob> queue_;
  std::vector<CleanerJob> completed_;
  bool running_job_ = false;
  bool stopping_ = false;
  std::atomic<bool> abort_{false};
  std::thread thread_;
};

}  // namespace kb::storage
