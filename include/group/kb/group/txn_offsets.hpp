#pragma once

// Offsets committed in transactions (TxnOffsetCommit), as Kafka's group
// coordinator keeps them: written to __consumer_offsets in a transactional
// batch of the producer, but pending, neither visible to OffsetFetch nor
// counted, until the transaction's marker: COMMIT makes them the group's
// committed offsets, ABORT drops them. OffsetFetch with require_stable
// answers UNSTABLE_OFFSET_COMMIT for a partition with a pending offset.
//
// The group coordinator is used through two calls: validate_offset_commit
// (the member and generation, as an OffsetCommit's) and load (a committed
// record applied as replay applies it).

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kb/cluster/coordinator_topic.hpp"
#include "kb/group/coordinator.hpp"

namespace kb::group {

struct TxnCommitParams {
  CommitParams group;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
};

class TxnOffsets {
 public:
  // `topic` null: nothing is written (tests of the coordinator alone).
  TxnOffsets(GroupCoordinator& groups, cluster::CoordinatorTopic* topic)
      : groups_(groups), topic_(topic) {}

  // TxnOffsetCommit: a group-level error, or NONE with one error per
  // partition in `errors`. The offsets are pending from here.
  int16_t commit(const TxnCommitParams& params, std::span<const CommitPartition> partitions,
                 std::vector<int16_t>& errors, Millis now);
  // The transaction of `producer_id` ended: its marker is written to the
  // group's __consumer_offsets partition (`partition`) first, then its
  // offsets there are applied (commit) or dropped. False when the marker
  // could not be written (nothing changed).
  bool end(int32_t partition, int64_t producer_id, int16_t producer_epoch, bool commit,
           int32_t coordinator_epoch);
  // Whether the group has a pending offset for the partition.
  bool is_pending(std::string_view group_id, std::string_view topic, int32_t partition) const;
  size_t pending_count() const;
  // Start-up: the records of a transaction still open in `partition` of
  // __consumer_offsets (replay).
  void restore(int32_t partition, const cluster::TransactionalProducer& producer,
               std::span<const cluster::CoordinatorRecord> records);

 private:
  struct Pending {
    std::string group;
    std::string topic;
    int32_t partition = 0;
    cluster::CoordinatorRecord record;
    int64_t commit_timestamp = 0;
  };
  // By (__consumer_offsets partition, producer id): the records in order.
  std::map<std::pair<int32_t, int64_t>, std::vector<Pending>> pending_;

  GroupCoordinator& groups_;
  cluster::CoordinatorTopic* topic_;
};

}  // namespace kb::group
