#include "kb/broker/partition_dir_creation.hpp"

#include <sys/epoll.h>

#include <memory>

#include <spdlog/spdlog.h>

namespace kb::broker {

namespace {
// Below the event loop: on a busy machine the loop gets the CPU first, and
// the creation takes what is left (it waits on the disk mostly).
constexpr int kNice = 10;
}  // namespace

PartitionDirCreation::PartitionDirCreation(net::EventLoop& loop, cluster::BrokerState& state,
                                           size_t max_threads,
                                           std::chrono::milliseconds progress_interval)
    : loop_(loop), state_(state), progress_interval_(progress_interval) {
  auto creator =
      std::make_unique<storage::PartitionCreator>(state_.logs->log_dir(), max_threads, kNice);
  creator_ = creator.get();
  state_.logs->set_creator(std::move(creator));
  loop_.watch(creator_->completion_fd(), EPOLLIN, this);
  progress_timer_ = loop_.run_after(progress_interval_, [this] { report_progress(); });
}

// Thousands of partitions take a while on a busy file system: the operator
// sees how far it got (as Kafka logs its log loading), checked at every tick
// from the creator's own counts (a lock, no disk).
void PartitionDirCreation::report_progress() {
  progress_timer_ = 0;
  if (creator_ == nullptr) return;
  const auto now = std::chrono::steady_clock::now();
  const size_t pending = creator_->pending_count();
  const uint64_t submitted = creator_->submitted_total() - idle_submitted_;
  const uint64_t done = submitted >= pending ? submitted - pending : 0;
  auto rate = [&](std::chrono::steady_clock::time_point since) {
    const double seconds = std::chrono::duration<double>(now - since).count();
    return seconds > 0 ? static_cast<double>(done) / seconds : 0.0;
  };
  if (pending > 0) {
    if (!busy_since_) busy_since_ = now - progress_interval_;  // began within the last tick
    spdlog::info("creating partition directories: {} of {} done, {:.0f}/s", done, submitted,
                 rate(*busy_since_));
  } else {
    if (busy_since_)
      spdlog::info("created partition directories: {} of {} done in {:.1f} s, {:.0f}/s", done,
                   submitted, std::chrono::duration<double>(now - *busy_since_).count(),
                   rate(*busy_since_));
    busy_since_.reset();
    idle_submitted_ = creator_->submitted_total();
  }
  progress_timer_ = loop_.run_after(progress_interval_, [this] { report_progress(); });
}

PartitionDirCreation::~PartitionDirCreation() { detach(); }

void PartitionDirCreation::on_io(uint32_t /*events*/) {
  if (creator_ == nullptr) return;
  for (const auto& c : creator_->take_completed()) {
    if (!c.status)
      spdlog::error(
          "creating partition directories: {} of {} failed, the first: {} (each is created "
          "again on first use)",
          c.failed, c.created, c.status.error().message);
    else
      spdlog::debug("created {} partition directories", c.created);
  }
  for (auto& listener : listeners_) listener();
}

void PartitionDirCreation::stop() {
  if (creator_ == nullptr) return;
  detach();
  for (auto& listener : listeners_) listener();
}

void PartitionDirCreation::detach() {
  if (creator_ == nullptr) return;
  loop_.unwatch(creator_->completion_fd());
  if (progress_timer_ != 0) loop_.cancel(progress_timer_);
  progress_timer_ = 0;
  if (creator_->pending_count() > 0)
    spdlog::info("{} partition directories not created yet: created at the next start",
                 creator_->pending_count());
  creator_ = nullptr;
  if (state_.logs) state_.logs->set_creator(nullptr);
}

}  // namespace kb::broker
