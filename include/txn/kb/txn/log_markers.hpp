#pragma once

#include <span>
#include <vector>

#include "kb/cluster/broker_state.hpp"
#include "kb/group/txn_offsets.hpp"
#include "kb/txn/coordinator.hpp"

namespace kb::txn {

// Writes transaction markers into this broker's logs (Kafka's
// TransactionMarkerChannelManager and WriteTxnMarkers, on one node): a
// COMMIT or ABORT control batch appended to each data partition, its
// producer state updated (the ongoing transaction ends, an abort goes to the
// .txnindex), and for __consumer_offsets partitions the group coordinator's
// pending transactional offsets applied or dropped after their marker.
class LogMarkerWriter final : public MarkerWriter {
 public:
  LogMarkerWriter(cluster::BrokerState& state, group::TxnOffsets* offsets)
      : state_(state), offsets_(offsets) {}

  std::vector<TopicPartition> write_markers(int64_t producer_id, int16_t producer_epoch,
                                            bool commit, int32_t coordinator_epoch,
                                            std::span<const TopicPartition> partitions) override;

 private:
  bool write_one(int64_t producer_id, int16_t producer_epoch, bool commit,
                 int32_t coordinator_epoch, const TopicPartition& partition);

  cluster::BrokerState& state_;
  group::TxnOffsets* offsets_;
};

}  // namespace kb::txn
