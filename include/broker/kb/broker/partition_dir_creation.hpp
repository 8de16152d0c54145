#pragma once

// The broker's side of creating partition directories off the event loop: it
// gives the partition logs a PartitionCreator (helper threads), watches the
// creator's eventfd, logs what failed, and tells the listeners (the
// BrokerServices, which hold CreateTopics and CreatePartitions responses until
// the new partitions exist) when batches complete.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "kb/cluster/broker_state.hpp"
#include "kb/net/event_loop.hpp"

namespace kb::broker {

class PartitionDirCreation final : public net::IoHandler {
 public:
  // state.logs must be loaded; its creator lives as long as state.logs, or
  // until stop().
  // While directories are being created, a progress line is logged every
  // `progress_interval` (created of submitted, the rate), and one when they
  // are all done.
  PartitionDirCreation(net::EventLoop& loop, cluster::BrokerState& state, size_t max_threads,
                       std::chrono::milliseconds progress_interval = std::chrono::seconds(3));
  ~PartitionDirCreation() override;
  PartitionDirCreation(const PartitionDirCreation&) = delete;
  PartitionDirCreation& operator=(const PartitionDirCreation&) = delete;

  void add_listener(std::function<void()> listener) { listeners_.push_back(std::move(listener)); }

  void on_io(uint32_t events) override;

  // Shutdown: what still waits is given up (the metadata log names those
  // partitions: the next start creates them), the partitions being created
  // are finished, the creator goes, and the listeners hear of it.
  void stop();

 private:
  void detach();
  void report_progress();

  net::EventLoop& loop_;
  cluster::BrokerState& state_;
  storage::PartitionCreator* creator_ = nullptr;
  std::vector<std::function<void()>> listeners_;
  // Progress of the creation under way: submitted when the creator was last
  // found idle, and when work was first found pending.
  std::chrono::milliseconds progress_interval_;
  net::EventLoop::TimerId progress_timer_ = 0;
  uint64_t idle_submitted_ = 0;
  std::optional<std::chrono::steady_clock::time_point> busy_since_;
};

}  // namespace kb::broker
