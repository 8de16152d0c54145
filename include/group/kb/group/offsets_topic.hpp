#pragma once

#include <cstdint>
#include <span>

#include "kb/cluster/broker_state.hpp"
#include "kb/group/coordinator.hpp"
#include "kb/storage/result.hpp"

namespace kb::group {

// __consumer_offsets as the coordinator's store: an internal topic in the
// metadata log (created on first use, as Kafka does when a group is first
// looked up), whose partitions hold the coordinator's records as ordinary
// record batches.
class OffsetsTopic final : public GroupStore {
 public:
  OffsetsTopic(cluster::BrokerState& state, int32_t partitions)
      : state_(state), partitions_(partitions) {}

  // The partition count in use: the existing topic's, else the configured one.
  int32_t partitions() const;

  bool ready() override;
  bool append(int32_t partition, std::span<const CoordinatorRecord> records) override;

  // Replays every partition into the coordinator (start-up).
  storage::Status load_into(GroupCoordinator& coordinator);

 private:
  cluster::BrokerState& state_;
  int32_t partitions_;
};

}  // namespace kb::group
