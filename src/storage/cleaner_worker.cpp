#include "kb/storage/cleaner_worker.hpp"

#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

#include "file_io.hpp"
#include "kb/base/helper_thread.hpp"

namespace kb::storage {

CleanerWorker::CleanerWorker(size_t dedupe_buffer_bytes, double load_factor,
                             std::shared_ptr<IoThrottler> throttler, int nice)
    : throttler_(throttler), cleaner_(dedupe_buffer_bytes, load_factor, std::move(throttler)) {
  event_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (event_fd_ < 0) throw std::runtime_error("eventfd: " + detail::errno_text(errno));
  thread_ = start_helper_thread(nice, [this] { run(); });
}

CleanerWorker::~CleanerWorker() {
  request_stop();
  thread_.join();
  ::close(event_fd_);
}

void CleanerWorker::request_stop() {
  abort_.store(true);
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_ready_.notify_all();
  // A sleep over the I/O budget ends now (the other threads' too: they
  // only lose a moment of throttling).
  throttler_->wake();
}

bool CleanerWorker::finished() const {
  std::lock_guard lock(mutex_);
  return finished_;
}

void CleanerWorker::signal_completion() {
  const uint64_t one = 1;
  while (::write(event_fd_, &one, sizeof(one)) < 0 && errno == EINTR) {
  }
}

void CleanerWorker::submit(CleanerJob job) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(job));
  }
  work_ready_.notify_one();
}

std::vector<CleanerJob> CleanerWorker::take_completed() {
  uint64_t count = 0;
  while (::read(event_fd_, &count, sizeof(count)) < 0 && errno == EINTR) {
  }
  std::lock_guard lock(mutex_);
  std::vector<CleanerJob> out;
  out.swap(completed_);
  return out;
}

size_t CleanerWorker::in_flight() const {
  std::lock_guard lock(mutex_);
  return queue_.size() + (running_job_ ? 1 : 0);
}

void CleanerWorker::wait_idle() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [this] { return queue_.empty() && !running_job_; });
}

void CleanerWorker::run() {
  // Named, as Kafka names its cleaner threads, for ps and top (and tests
  // that count them).
  pthread_setname_np(pthread_self(), "kb-log-cleaner");
  for (;;) {
    CleanerJob job;
    {
      std::unique_lock lock(mutex_);
      work_ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) {
        // Jobs not started come back undone, so their owner knows.
        for (CleanerJob& undone : queue_) {
          if (undone.plan) undone.result = Result<CleanResult>(Error{"the cleaner stopped"});
          if (undone.checkpoint) undone.checkpoint_status = Error{"the cleaner stopped"};
          completed_.push_back(std::move(undone));
        }
        queue_.clear();
        finished_ = true;
        lock.unlock();
        idle_.notify_all();
        signal_completion();
        return;
      }
      job = std::move(queue_.front());
      queue_.pop_front();
      running_job_ = true;
    }
    if (job.plan) job.result = cleaner_.clean(*job.plan, job.now_ms, &abort_);
    if (job.checkpoint)
      job.checkpoint_status =
          write_offset_checkpoint(job.checkpoint->first, job.checkpoint->second);
    {
      std::lock_guard lock(mutex_);
      completed_.push_back(std::move(job));
      running_job_ = false;
    }
    idle_.notify_all();
    signal_completion();
  }
}

}  // namespace kb::storage
