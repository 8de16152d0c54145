#pragma once

// __share_group_state as Kafka's share coordinator keeps it: one key per
// share-partition ("group:topicId:partition", on the partition Kafka's hash of
// that text picks), a ShareSnapshot record with the whole state every
// share.coordinator.snapshot.update.records.per.snapshot writes and
// ShareUpdate records between them, replayed in log order at start-up. As in
// Kafka the topic is not compacted (cleanup.policy=delete, retention.ms=-1):
// the records every key's latest snapshot makes obsolete are pruned from the
// front (prune()).

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "kb/cluster/broker_state.hpp"
#include "kb/cluster/coordinator_topic.hpp"
#include "kb/share/share_state.hpp"
#include "kb/storage/result.hpp"

namespace kb::share {

inline constexpr std::string_view kShareGroupStateTopic = "__share_group_state";

// Kafka's share coordinator settings (its defaults).
struct ShareCoordinatorConfig {
  int32_t state_topic_partitions = 50;            // share.coordinator.state.topic.num.partitions
  int32_t state_topic_segment_bytes = 104857600;  // share.coordinator.state.topic.segment.bytes
  int32_t snapshot_update_records_per_snapshot = 500;  // ...snapshot.update.records.per.snapshot
};

// Kafka's SharePartitionKey.asCoordinatorKey: "group:topicId:partition".
std::string coordinator_key(const SharePartitionKey& key);
// The __share_group_state partition of a share-partition.
int32_t share_state_partition_for(const SharePartitionKey& key, int32_t partitions);

// A ShareUpdate over the state so far: its batches replace what they cover,
// and what lies before the new start offset goes.
std::vector<StateBatch> combine_state_batches(std::span<const StateBatch> old_batches,
                                              std::span<const StateBatch> update,
                                              int64_t start_offset);

class ShareStateTopic final : public ShareStateStore {
 public:
  ShareStateTopic(cluster::BrokerState& state, ShareCoordinatorConfig config);

  int32_t partitions() const { return topic_.partitions(); }
  bool write(const SharePartitionKey& key, int64_t start_offset,
             std::span<const StateBatch> batches) override;
  bool erase(const SharePartitionKey& key) override;

  // Start-up: every share-partition's state into `shares`.
  storage::Status load_into(ShareState& shares);

  // Moves each partition's log start past records no key needs (those
  // before the oldest of the keys' latest snapshots); returns how many
  // partitions moved.
  size_t prune();

 private:
  struct KeyState {
    int32_t snapshot_epoch = 0;
    int32_t updates_since_snapshot = 0;
    bool has_snapshot = false;
    int64_t create_timestamp = 0;
    int64_t start_offset = 0;
    std::vector<StateBatch> batches;
    int64_t snapshot_offset = -1;  // where its latest snapshot is in the log
  };
  bool write_snapshot(const SharePartitionKey& key, KeyState& s);

  cluster::BrokerState& state_;
  ShareCoordinatorConfig config_;
  cluster::CoordinatorTopic topic_;
  std::map<SharePartitionKey, KeyState> keys_;
};

}  // namespace kb::share
