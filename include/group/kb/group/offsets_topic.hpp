#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "kb/cluster/broker_state.hpp"
#include "kb/cluster/coordinator_topic.hpp"
#include "kb/group/coordinator.hpp"
#include "kb/storage/result.hpp"

namespace kb::group {

class TxnOffsets;

// __consumer_offsets as the coordinator's store: a compacted coordinator topic
// (kb/cluster/coordinator_topic.hpp: created on first use, as Kafka does when a
// group is first looked up, compacted by the log cleaner, replayed at start-up).
class OffsetsTopic final : public GroupStore {
 public:
  OffsetsTopic(cluster::BrokerState& state, const GroupConfig& config);

  // The partition count in use: the existing topic's, else the configured one.
  int32_t partitions() const { return topic_.partitions(); }
  cluster::CoordinatorTopic& topic() { return topic_; }

  bool ready() override { return topic_.ready(); }
  bool append(int32_t partition, std::span<const CoordinatorRecord> records) override {
    return topic_.append(partition, records);
  }

  // Replays every partition into the coordinator (start-up); offsets of
  // transactions still open go to `pending`.
  storage::Status load_into(GroupCoordinator& coordinator, TxnOffsets* pending = nullptr);

 private:
  cluster::CoordinatorTopic topic_;
};

}  // namespace kb::group
