#pragma once

#include <cstdint>
#include <span>

#include "kb/cluster/broker_state.hpp"
#include "kb/cluster/coordinator_topic.hpp"
#include "kb/storage/result.hpp"
#include "kb/txn/coordinator.hpp"

namespace kb::txn {

// __transaction_state as the transaction coordinator's store: a compacted
// coordinator topic (kb/cluster/coordinator_topic.hpp), created on first use
// with the configs Kafka gives it, replayed at start-up.
class TransactionTopic final : public TxnStore {
 public:
  TransactionTopic(cluster::BrokerState& state, const TxnConfig& config);

  int32_t partitions() const { return topic_.partitions(); }
  bool ready() override { return topic_.ready(); }
  bool append(int32_t partition, std::span<const cluster::CoordinatorRecord> records) override {
    return topic_.append(partition, records);
  }
  // The finalized level as served (kb/cluster/features.hpp); before the
  // metadata log has a record, the level it will be written at.
  int16_t transaction_version() override;
  // Replays every partition into the coordinator (start-up), then completes
  // what a crash left half done (finish_load).
  storage::Status load_into(TransactionCoordinator& coordinator, Millis now);

 private:
  cluster::BrokerState& state_;
  cluster::CoordinatorTopic topic_;
};

}  // namespace kb::txn
