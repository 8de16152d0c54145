#include "kb/storage/partition_creator.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "file_io.hpp"
#include "kb/base/helper_thread.hpp"
#include "kb/storage/meta_properties.hpp"
#include "kb/storage/partition_log.hpp"

namespace kb::storage {

namespace {

// Kafka's directory-name id: a random UUID as 32 hex digits.
std::string unique_dir_suffix() {
  static constexpr char kHex[] = "0123456789abcdef";
  const kb::wire::Uuid id = random_uuid();
  std::string out;
  for (uint8_t b : id.bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

}  // namespace

std::filesystem::path move_partition_dir_aside(const std::filesystem::path& dir,
                                               std::string_view suffix) {
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) return {};
  std::filesystem::path target = dir;
  target += "." + unique_dir_suffix() + "-" + std::string(suffix);
  std::filesystem::rename(dir, target, ec);
  if (ec) {
    spdlog::error("cannot rename {} to {}: {}", dir.string(), target.string(), ec.message());
    return {};
  }
  return target;
}

Status create_partition_files(const std::filesystem::path& log_dir, const NewPartition& partition) {
  if (partition.replace_existing) {
    const auto dir = log_dir / partition_dir_name(partition.topic, partition.partition);
    auto moved = move_partition_dir_aside(dir, "stray");
    if (!moved.empty())
      spdlog::warn("{} belonged to an earlier topic; moved to {}", dir.string(), moved.string());
  }
  return PartitionLog::create_files(log_dir, partition.topic, partition.partition,
                                    partition.topic_id);
}

PartitionCreator::PartitionCreator(std::filesystem::path log_dir, size_t max_threads, int nice)
    : log_dir_(std::move(log_dir)), max_threads_(std::max<size_t>(max_threads, 1)), nice_(nice) {
  event_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (event_fd_ < 0) throw std::runtime_error("eventfd: " + detail::errno_text(errno));
}

PartitionCreator::~PartitionCreator() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    queue_.clear();  // metadata names them: created on first use or at the next start
  }
  work_ready_.notify_all();
  for (auto& t : threads_) t.join();
  ::close(event_fd_);
}

void PartitionCreator::start_thread() {
  threads_.push_back(start_helper_thread(nice_, [this] { run(); }));
}

uint64_t PartitionCreator::submit(std::vector<NewPartition> partitions) {
  const uint64_t ticket = next_ticket_++;
  unfinished_.insert(ticket);
  submitted_total_ += partitions.size();
  size_t start = 0;
  {
    std::lock_guard lock(mutex_);
    Batch& batch = batches_[ticket];
    batch.remaining = partitions.size();
    batch.completion.ticket = ticket;
    for (auto& p : partitions) {
      pending_[Key{p.topic, p.partition}] = Pending{ticket, false, p.replace_existing};
      queue_.push_back(Job{ticket, std::move(p), {}});
    }
    // An empty batch still goes through a thread: its completion is queued
    // like any other.
    if (partitions.empty()) queue_.push_back(Job{ticket, {}, {}});
    // Threads stay until the end: as many as the queue can keep busy.
    const size_t wanted = std::min(queue_.size(), max_threads_);
    start = wanted > threads_.size() ? wanted - threads_.size() : 0;
  }
  for (size_t i = 0; i < start; ++i) start_thread();
  work_ready_.notify_all();
  return ticket;
}

std::vector<PartitionCreator::Completion> PartitionCreator::take_completed() {
  uint64_t count = 0;
  // Drain the counter first: a completion queued after it re-arms it.
  while (::read(event_fd_, &count, sizeof(count)) < 0 && errno == EINTR) {
  }
  std::vector<Completion> out;
  {
    std::lock_guard lock(mutex_);
    out.swap(completed_);
  }
  for (const auto& c : out) {
    unfinished_.erase(c.ticket);
    if (c.failed > 0 && c.failed == c.created) failed_wholly_.insert(c.ticket);
  }
  return out;
}

bool PartitionCreator::pending(std::string_view topic, int32_t partition) const {
  std::lock_guard lock(mutex_);
  return pending_.contains(Key{std::string(topic), partition});
}

size_t PartitionCreator::pending_count() const {
  std::lock_guard lock(mutex_);
  return pending_.size();
}

std::optional<NewPartition> PartitionCreator::claim(std::string_view topic, int32_t partition) {
  const Key key{std::string(topic), partition};
  std::unique_lock lock(mutex_);
  auto it = pending_.find(key);
  if (it == pending_.end()) return std::nullopt;
  if (!it->second.running) {
    // Its queue entry is skipped when a thread reaches it.
    NewPartition taken{std::string(topic), partition, {}, it->second.replace_existing};
    pending_.erase(it);
    return taken;
  }
  changed_.wait(lock, [&] { return !pending_.contains(key); });
  return std::nullopt;
}

void PartitionCreator::remove_later(std::vector<std::filesystem::path> dirs) {
  if (dirs.empty()) return;
  size_t start = 0;
  {
    std::lock_guard lock(mutex_);
    for (auto& dir : dirs) queue_.push_back(Job{0, {}, std::move(dir)});
    const size_t wanted = std::min(queue_.size(), max_threads_);
    start = wanted > threads_.size() ? wanted - threads_.size() : 0;
  }
  for (size_t i = 0; i < start; ++i) start_thread();
  work_ready_.notify_all();
}

void PartitionCreator::wait_idle() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [this] { return queue_.empty() && busy_ == 0; });
}

void PartitionCreator::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    work_ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and nothing left to do
    Job job = std::move(queue_.front());
    queue_.pop_front();
    ++busy_;
    if (job.ticket == 0) {
      lock.unlock();
      std::error_code ec;
      std::filesystem::remove_all(job.remove, ec);
      if (ec)
        spdlog::error("cannot remove {}: {} (removed at the next start)", job.remove.string(),
                      ec.message());
      lock.lock();
      --busy_;
      if (queue_.empty() && busy_ == 0) changed_.notify_all();
      continue;
    }
    const Key key{job.partition.topic, job.partition.partition};
    auto it = pending_.find(key);
    // Claimed by the loop (or queued again by a later batch): not ours.
    const bool mine = !job.partition.topic.empty() && it != pending_.end() &&
                      it->second.ticket == job.ticket && !it->second.running;
    Status created;
    if (mine) {
      it->second.running = true;
      lock.unlock();
      created = create_partition_files(log_dir_, job.partition);
      lock.lock();
      pending_.erase(key);
      changed_.notify_all();
    }
    Batch& batch = batches_[job.ticket];
    if (mine) ++batch.completion.created;
    if (!created) {
      ++batch.completion.failed;
      if (batch.completion.status) batch.completion.status = created;
    }
    if (batch.remaining > 0) --batch.remaining;
    if (batch.remaining == 0) {
      Completion completion = std::move(batch.completion);
      batches_.erase(job.ticket);
      lock.unlock();
      // The partition directories' own entries, once for the whole batch.
      Status synced = detail::sync_directory(log_dir_);
      lock.lock();
      if (!synced && completion.status) completion.status = synced;
      completed_.push_back(std::move(completion));
      const uint64_t one = 1;
      while (::write(event_fd_, &one, sizeof(one)) < 0 && errno == EINTR) {
      }
    }
    --busy_;
    if (queue_.empty() && busy_ == 0) changed_.notify_all();
  }
}

}  // namespace kb::storage
