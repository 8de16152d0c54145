#include "kb/storage/cleaner_worker.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

#include "file_io.hpp"
#include "helper_thread.hpp"

namespace kb::storage {

CleanerWorker::CleanerWorker(size_t dedupe_buffer_bytes, double io_bytes_per_second,
                             double load_factor, int nice)
    : cleaner_(dedupe_buffer_bytes, io_bytes_per_second, load_factor) {
  event_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (event_fd_ < 0) throw std::runtime_error("eventfd: " + detail::errno_text(errno));
  thread_ = detail::start_helper_thread(nice, [this] { run(); });
}

CleanerWorker::~CleanerWorker() {
  abort_.store(true);
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_ready_.notify_all();
  thread_.join();
  ::close(event_fd_);
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
  for (;;) {
    CleanerJob job;
    {
      std::unique_lock lock(mutex_);
      work_ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;  // a clean not started is simply not done
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
    const uint64_t one = 1;
    while (::write(event_fd_, &one, sizeof(one)) < 0 && errno == EINTR) {
    }
  }
}

}  // namespace kb::storage
