#include "kb/storage/file_remover.hpp"

#include <spdlog/spdlog.h>

#include <system_error>
#include <utility>

#include "kb/base/helper_thread.hpp"

namespace kb::storage {

FileRemover::FileRemover(int nice) : nice_(nice) {}

FileRemover::~FileRemover() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_ready_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void FileRemover::remove(std::vector<std::filesystem::path> paths) {
  if (paths.empty()) return;
  {
    std::lock_guard lock(mutex_);
    for (auto& path : paths) queue_.push_back(std::move(path));
    if (!thread_.joinable()) thread_ = start_helper_thread(nice_, [this] { run(); });
  }
  work_ready_.notify_one();
}

void FileRemover::wait_idle() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [this] { return queue_.empty() && !busy_; });
}

size_t FileRemover::removed() const {
  std::lock_guard lock(mutex_);
  return removed_;
}

void FileRemover::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    work_ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and nothing is left
    std::filesystem::path path = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    std::error_code ec;
    std::filesystem::remove(path, ec);
    if (ec) spdlog::warn("cannot delete {}: {}", path.string(), ec.message());
    lock.lock();
    busy_ = false;
    ++removed_;
    if (queue_.empty()) idle_.notify_all();
  }
}

}  // namespace kb::storage
