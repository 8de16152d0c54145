#include "kb/storage/sync_worker.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>

#include "file_io.hpp"
#include "kb/base/helper_thread.hpp"

namespace kb::storage {

SyncWorker::SyncWorker(size_t max_threads, int nice)
    : max_threads_(std::max<size_t>(max_threads, 1)), nice_(nice) {
  event_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (event_fd_ < 0) throw std::runtime_error("eventfd: " + detail::errno_text(errno));
}

void SyncWorker::start_thread() {
  threads_.push_back(start_helper_thread(nice_, [this] { run(); }));
}

SyncWorker::~SyncWorker() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_ready_.notify_all();
  for (auto& t : threads_) t.join();
  ::close(event_fd_);
}

void SyncWorker::submit(SyncJob job) {
  bool start = false;
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(job));
    // Every queued job wants a thread of its own; an idle one counts as
    // free until it takes a job (woken or not yet).
    start = queue_.size() > idle_threads_ && threads_.size() < max_threads_;
  }
  if (start)
    start_thread();  // takes the job (or another) as it starts
  else
    work_ready_.notify_one();
}

std::vector<SyncJob> SyncWorker::take_completed() {
  uint64_t count = 0;
  // Drain the counter first: a completion queued after it re-arms it.
  while (::read(event_fd_, &count, sizeof(count)) < 0 && errno == EINTR) {
  }
  std::lock_guard lock(mutex_);
  std::vector<SyncJob> out;
  out.swap(completed_);
  return out;
}

void SyncWorker::wait_idle() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [this] { return queue_.empty() && running_ == 0; });
}

size_t SyncWorker::in_flight() const {
  std::lock_guard lock(mutex_);
  return queue_.size() + running_;
}

void SyncWorker::run() {
  for (;;) {
    SyncJob job;
    {
      std::unique_lock lock(mutex_);
      ++idle_threads_;
      work_ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      --idle_threads_;
      if (queue_.empty()) return;  // stopping, and nothing left to do
      job = std::move(queue_.front());
      queue_.pop_front();
      ++running_;
    }
    for (const auto& range : job.writebacks)
      detail::start_writeback(range.file->fd(), range.offset, range.length);
    // The files are let go here, not by the loop taking the job: closing a
    // deleted segment's last descriptor frees its blocks.
    job.writebacks.clear();
    for (const auto& file : job.files) {
      Status synced = sync_file(file);
      if (!synced && job.status) job.status = synced;
    }
    // A write records what the syncs made durable (a recovery point): not
    // after a failed one.
    for (const FileWrite& write : job.writes) {
      if (!job.status) break;
      Status written = detail::write_file_atomically(write.path, write.head, write.body);
      if (!written && job.status) job.status = written;
    }
    {
      std::lock_guard lock(mutex_);
      completed_.push_back(std::move(job));
      --running_;
      if (queue_.empty() && running_ == 0) idle_.notify_all();
    }
    const uint64_t one = 1;
    while (::write(event_fd_, &one, sizeof(one)) < 0 && errno == EINTR) {
    }
  }
}

}  // namespace kb::storage
