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
                                           size_t max_threads)
    : loop_(loop), state_(state) {
  auto creator =
      std::make_unique<storage::PartitionCreator>(state_.logs->log_dir(), max_threads, kNice);
  creator_ = creator.get();
  state_.logs->set_creator(std::move(creator));
  loop_.watch(creator_->completion_fd(), EPOLLIN, this);
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
  if (creator_->pending_count() > 0)
    spdlog::info("{} partition directories not created yet: created at the next start",
                 creator_->pending_count());
  creator_ = nullptr;
  if (state_.logs) state_.logs->set_creator(nullptr);
}

}  // namespace kb::broker
