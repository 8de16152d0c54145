#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "kb/cluster/broker_state.hpp"
#include "kb/group/coordinator.hpp"
#include "kb/storage/result.hpp"

namespace kb::group {

// __consumer_offsets as the coordinator's store: an internal topic in the
// metadata log (created on first use, as Kafka does when a group is first
// looked up), whose partitions hold the coordinator's records as ordinary
// record batches.
//
// Growth is bounded by compaction: once a partition has more than
// kMaxSegments segments, the records of its oldest segment that are still the
// latest for their key are appended again and the segment is deleted
// (tombstones whose key has nothing older left are dropped). A partition thus
// holds at most about kMaxSegments segments of offsets.topic.segment.bytes
// plus its live records.
class OffsetsTopic final : public GroupStore {
 public:
  static constexpr size_t kMaxSegments = 3;

  OffsetsTopic(cluster::BrokerState& state, const GroupConfig& config);

  // The partition count in use: the existing topic's, else the configured one.
  int32_t partitions() const;

  bool ready() override;
  bool append(int32_t partition, std::span<const CoordinatorRecord> records) override;

  // Replays every partition into the coordinator (start-up).
  storage::Status load_into(GroupCoordinator& coordinator);

 private:
  using Key = std::string;  // a record key's bytes
  storage::Result<storage::AppendResult> write(storage::PartitionLog& log, int32_t partition,
                                               int32_t leader_epoch,
                                               std::span<const CoordinatorRecord> records);
  storage::Status compact_oldest_segment(storage::PartitionLog& log, int32_t partition,
                                         int32_t leader_epoch);

  cluster::BrokerState& state_;
  int32_t partitions_;
  int32_t segment_bytes_;
  // Per partition: the offset of the latest record of each key.
  std::map<int32_t, std::map<Key, int64_t>> latest_;
  // Partitions whose oldest segment is damaged: no longer compacted (the
  // damaged file is kept for inspection; the partition grows meanwhile).
  std::set<int32_t> compaction_stopped_;
};

}  // namespace kb::group
