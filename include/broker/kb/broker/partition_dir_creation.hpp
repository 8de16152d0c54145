#pragma once

// The broker's side of creating partition directories off the event loop: it
// gives the partition logs a PartitionCreator (helper threads), watches the
// creator's eventfd, logs what failed, and tells the listeners (the
// BrokerServices, which hold CreateTopics and CreatePartitions responses until
// the new partitions exist) when batches complete.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "kb/cluster/broker_state.hpp"
#include "kb/net/event_loop.hpp"

namespace kb::broker {

class PartitionDirCreation final : public net::IoHandler {
 public:
  // state.logs must be loaded; its creator lives as long as state.logs, or
  // until stop().
  PartitionDirCreation(net::EventLoop& loop, cluster::BrokerState& state, size_t max_threads);
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

  net::EventLoop& loop_;
  cluster::BrokerState& state_;
  storage::PartitionCreator* creator_ = nullptr;
  std::vector<std::function<void()>> listeners_;
};

}  // namespace kb::broker
