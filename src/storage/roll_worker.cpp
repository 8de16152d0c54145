#include "kb/storage/roll_worker.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <system_error>
#include <utility>

#include "file_io.hpp"
#include "kb/base/helper_thread.hpp"

namespace kb::storage {

namespace fs = std::filesystem;
using detail::FileHandle;

bool is_spare_file_name(std::string_view name) {
  return name == kSpareLogFile || name == kSpareIndexFile || name == kSpareTimeIndexFile;
}

// ---- SpareSegment ----

SpareSegment::~SpareSegment() {
  if (fd_ >= 0) ::close(fd_);
}

void SpareSegment::make() {
  State expected = State::queued;
  if (!state_.compare_exchange_strong(expected, State::making, std::memory_order_acq_rel))
    return;  // dropped before its turn: nothing to make
  // Whatever a crash or an earlier spare left under these names is no one's.
  auto log = FileHandle::open(log_path(), O_RDWR | O_CREAT | O_TRUNC);
  bool made = log.ok();
  for (const fs::path& path : {index_path(), time_index_path()}) {
    if (!made) break;
    made = FileHandle::open(path, O_RDWR | O_CREAT | O_TRUNC).ok();
  }
  if (!made) {
    spdlog::debug("{}: no spare segment made ({}); the roll makes its files", dir_.string(),
                  log ? "cannot create its index files" : log.error().message);
    remove_files();
    state_.store(State::failed, std::memory_order_release);
    return;
  }
  if (reserve_bytes_ > 0 &&
      ::fallocate(log->get(), FALLOC_FL_KEEP_SIZE, 0, static_cast<off_t>(reserve_bytes_)) == 0)
    reserved_ = reserve_bytes_;
  fd_ = log->release();
  expected = State::making;
  if (!state_.compare_exchange_strong(expected, State::ready, std::memory_order_acq_rel)) {
    // Dropped while being made: the files are this thread's to remove.
    ::close(fd_);
    fd_ = -1;
    remove_files();
  }
}

void SpareSegment::remove_files() {
  for (const fs::path& path : {log_path(), index_path(), time_index_path()}) {
    std::error_code ec;
    fs::remove(path, ec);
    if (ec) spdlog::warn("cannot delete {}: {}", path.string(), ec.message());
  }
}

std::shared_ptr<OpenFile> SpareSegment::take_log(FileCache& cache, const fs::path& path) {
  auto file = cache.adopt_descriptor(fd_, path);
  fd_ = -1;
  slot_.reset();  // counted by the cache's file now
  state_.store(State::dropped, std::memory_order_release);
  return file;
}

bool SpareSegment::drop() {
  const State was = state_.exchange(State::dropped, std::memory_order_acq_rel);
  // Never to be made, or made of nothing: no descriptor to count. (One being
  // made is counted until the worker has closed it.)
  if (was == State::queued || was == State::failed) slot_.reset();
  return was == State::ready;
}

// ---- SegmentFileWork ----

bool SegmentFileWork::claim() {
  int expected = kQueued;
  return state_.compare_exchange_strong(expected, kRunning, std::memory_order_acq_rel);
}

void SegmentFileWork::run() {
  if (after) {
    Status first = after->finish_now();
    if (!first) first = after->run_again();
    if (!first) {
      status_ = first;
      state_.store(kFailed, std::memory_order_release);
      state_.notify_all();
      return;
    }
  }
  for (const Rename& rename : renames) {
    if (!rename.from.empty() && ::rename(rename.from.c_str(), rename.to.c_str()) == 0) continue;
    // As a roll without a spare makes it; a directory gone meanwhile (the
    // topic deleted) needs nothing.
    auto made = FileHandle::open(rename.to, O_RDWR | O_CREAT | O_TRUNC);
    if (!made && made.error().error_number != ENOENT) {
      status_ = made.error();
      break;
    }
  }
  // Opened without O_CREAT: a segment deleted meanwhile (renamed, then
  // removed) has nothing left to finish.
  for (const Entries& entries : indexes) {
    if (!status_) break;
    if (entries.bytes.empty()) continue;
    auto file = FileHandle::open(entries.path, O_WRONLY);
    if (!file) {
      if (file.error().error_number == ENOENT) continue;
      status_ = file.error();
      break;
    }
    if (Status written =
            detail::pwrite_all(file->get(), entries.position, entries.bytes, entries.path);
        !written) {
      status_ = written;
      break;
    }
  }
  slot.reset();
  // Truncating a file to its own size frees the blocks reserved past it.
  if (trim_log && ::truncate(log_path.c_str(), static_cast<off_t>(log_size)) != 0 &&
      errno != ENOENT)
    spdlog::warn("{}: cannot give back the space reserved past its end: {}", log_path.string(),
                 std::strerror(errno));
  state_.store(status_ ? kDone : kFailed, std::memory_order_release);
  state_.notify_all();
}

Status SegmentFileWork::finish_now() {
  if (claim()) {
    run();
  } else {
    for (int seen = state_.load(std::memory_order_acquire); seen < kDone;
         seen = state_.load(std::memory_order_acquire))
      state_.wait(seen, std::memory_order_acquire);
  }
  return status_;
}

Status SegmentFileWork::run_again() {
  status_ = {};
  state_.store(kRunning, std::memory_order_release);
  run();
  return status_;
}

// ---- RollWorker ----

RollWorker::RollWorker(size_t threads, int nice) : nice_(nice) {
  for (size_t i = 0; i < std::max<size_t>(threads, 1); ++i)
    shards_.push_back(std::make_unique<Shard>());
}

RollWorker::~RollWorker() {
  for (auto& shard : shards_) {
    {
      std::lock_guard lock(shard->mutex);
      shard->stopping = true;
    }
    shard->work_ready.notify_all();
  }
  for (auto& shard : shards_)
    if (shard->thread.joinable()) shard->thread.join();
}

void RollWorker::prepare(std::shared_ptr<SpareSegment> spare) {
  const fs::path dir = spare->dir();
  submit(dir, [this, spare = std::move(spare)] {
    spare->make();
    if (spare->state() == SpareSegment::State::ready)
      spares_made_.fetch_add(1, std::memory_order_relaxed);
  });
}

void RollWorker::discard(std::shared_ptr<SpareSegment> spare) {
  const fs::path dir = spare->dir();
  submit(dir, [spare = std::move(spare)] {
    if (spare->fd_ >= 0) ::close(spare->fd_);
    spare->fd_ = -1;
    spare->remove_files();
  });
}

void RollWorker::run_later(std::shared_ptr<SegmentFileWork> work) {
  const fs::path dir = work->log_path.empty() && !work->renames.empty()
                           ? work->renames.front().to.parent_path()
                           : work->log_path.parent_path();
  submit(dir, [work = std::move(work)] {
    if (work->claim()) work->run();
  });
}

void RollWorker::remove(std::vector<fs::path> paths) {
  if (paths.empty()) return;
  const fs::path dir = paths.front().parent_path();
  submit(dir, [paths = std::move(paths)] {
    for (const fs::path& path : paths) {
      std::error_code ec;
      fs::remove(path, ec);
      if (ec) spdlog::warn("cannot delete {}: {}", path.string(), ec.message());
    }
  });
}

void RollWorker::submit(const fs::path& dir, std::function<void()> job) {
  Shard& shard = *shards_[std::hash<std::string>{}(dir.string()) % shards_.size()];
  {
    std::lock_guard lock(shard.mutex);
    shard.queue.push_back(std::move(job));
    if (!shard.thread.joinable())
      shard.thread = start_helper_thread(nice_, [this, &shard] { run(shard); });
  }
  shard.work_ready.notify_one();
}

void RollWorker::wait_idle() {
  for (auto& shard : shards_) {
    std::unique_lock lock(shard->mutex);
    shard->idle.wait(lock, [&] { return shard->queue.empty() && !shard->busy; });
  }
}

void RollWorker::run(Shard& shard) {
  std::unique_lock lock(shard.mutex);
  for (;;) {
    shard.work_ready.wait(lock, [&] { return shard.stopping || !shard.queue.empty(); });
    if (shard.queue.empty()) return;  // stopping, and nothing is left
    std::function<void()> job = std::move(shard.queue.front());
    shard.queue.pop_front();
    shard.busy = true;
    lock.unlock();
    job();
    job = nullptr;  // what it holds goes before the shard says it is idle
    lock.lock();
    shard.busy = false;
    if (shard.queue.empty()) shard.idle.notify_all();
  }
}

}  // namespace kb::storage
