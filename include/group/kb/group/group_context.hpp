#pragma once

// What the kinds of groups share inside the coordinator: the broker's group
// settings, the store, the map of groups of every kind, the earliest timer
// and the change counter parked requests watch.

#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kb/cluster/group_configs.hpp"
#include "kb/group/group.hpp"

namespace kb::group {

// group.consumer.migration.policy: whether a group with members may change
// between the classic and consumer protocols (Kafka's values).
enum class MigrationPolicy : uint8_t { kDisabled, kUpgrade, kDowngrade, kBidirectional };
std::optional<MigrationPolicy> parse_migration_policy(std::string_view name);
inline bool upgrade_enabled(MigrationPolicy p) {
  return p == MigrationPolicy::kUpgrade || p == MigrationPolicy::kBidirectional;
}
inline bool downgrade_enabled(MigrationPolicy p) {
  return p == MigrationPolicy::kDowngrade || p == MigrationPolicy::kBidirectional;
}

// Kafka's broker settings for groups (defaults as Kafka's).
struct GroupConfig {
  int32_t min_session_timeout_ms = 6000;                   // group.min.session.timeout.ms
  int32_t max_session_timeout_ms = 1800000;                // group.max.session.timeout.ms
  int32_t initial_rebalance_delay_ms = 3000;               // group.initial.rebalance.delay.ms
  int32_t max_size = std::numeric_limits<int32_t>::max();  // group.max.size
  int32_t offsets_partitions = 50;                         // offsets.topic.num.partitions
  int32_t max_metadata_bytes = 4096;                       // offset.metadata.max.bytes
  int32_t offsets_segment_bytes = 104857600;               // offsets.topic.segment.bytes
  int64_t offsets_retention_ms = 7LL * 24 * 3600 * 1000;   // offsets.retention.minutes
  int64_t retention_check_interval_ms = 600000;            // offsets.retention.check.interval.ms
  // Consumer groups (KIP-848).
  int32_t consumer_session_timeout_ms = 45000;    // group.consumer.session.timeout.ms
  int32_t consumer_heartbeat_interval_ms = 5000;  // group.consumer.heartbeat.interval.ms
  int32_t consumer_max_size = std::numeric_limits<int32_t>::max();  // group.consumer.max.size
  // group.consumer.assignors: by name, the first the default.
  std::vector<std::string> consumer_assignors = {"uniform", "range"};
  MigrationPolicy consumer_migration_policy = MigrationPolicy::kBidirectional;
  // Share groups (KIP-932).
  int32_t share_session_timeout_ms = 45000;    // group.share.session.timeout.ms
  int32_t share_heartbeat_interval_ms = 5000;  // group.share.heartbeat.interval.ms
  int32_t share_max_size = 200;                // group.share.max.size
};

class GroupContext {
 public:
  GroupContext(GroupConfig group_config, GroupStore* group_store)
      : config(std::move(group_config)), store(group_store) {}

  int32_t partition_for(std::string_view group_id) const {
    return offsets_partition_for(group_id, config.offsets_partitions);
  }
  // Writes the group's records (all or nothing); true without a store.
  bool append(std::string_view group_id, std::span<const CoordinatorRecord> records) {
    return store == nullptr || records.empty() || store->append(partition_for(group_id), records);
  }

  Group* find(std::string_view group_id) {
    auto it = groups.find(group_id);
    return it == groups.end() ? nullptr : it->second.get();
  }
  const Group* find(std::string_view group_id) const {
    auto it = groups.find(group_id);
    return it == groups.end() ? nullptr : it->second.get();
  }
  // The group when it is of kind G.
  template <class G>
  G* find_as(std::string_view group_id) {
    Group* g = find(group_id);
    return g != nullptr && g->type() == G::kType ? static_cast<G*>(g) : nullptr;
  }
  template <class G>
  const G* find_as(std::string_view group_id) const {
    const Group* g = find(group_id);
    return g != nullptr && g->type() == G::kType ? static_cast<const G*>(g) : nullptr;
  }
  // The group of kind G, made if there is none; a group of another kind is
  // replaced, its committed offsets kept (the caller checked it may be).
  template <class G>
  G& make(std::string_view group_id) {
    auto it = groups.find(group_id);
    if (it != groups.end() && it->second->type() == G::kType) return static_cast<G&>(*it->second);
    auto made = std::make_unique<G>(std::string(group_id));
    G& out = *made;
    if (it != groups.end()) {
      made->offsets = std::move(it->second->offsets);
      it->second = std::move(made);
    } else {
      groups.emplace(std::string(group_id), std::move(made));
    }
    changed();
    return out;
  }

  // Before an empty group of another kind gives way to one of kind G: the
  // old kind's records are tombstoned (its offsets stay), as Kafka does when
  // a group changes protocol. False when the store failed.
  template <class G>
  bool retire_other_kind(std::string_view group_id) {
    const Group* other = find(group_id);
    if (other == nullptr || other->type() == G::kType) return true;
    const std::vector<CoordinatorRecord> records = other->tombstones();
    return append(group_id, records);
  }

  // The settings a group's members get: its own group config (GROUP
  // resource, already within the broker's bounds), else the broker's.
  int32_t consumer_session_timeout_ms(std::string_view group_id) const {
    return own_config(group_id).consumer_session_timeout_ms.value_or(
        config.consumer_session_timeout_ms);
  }
  int32_t consumer_heartbeat_interval_ms(std::string_view group_id) const {
    return own_config(group_id).consumer_heartbeat_interval_ms.value_or(
        config.consumer_heartbeat_interval_ms);
  }
  int32_t share_session_timeout_ms(std::string_view group_id) const {
    return own_config(group_id).share_session_timeout_ms.value_or(config.share_session_timeout_ms);
  }
  int32_t share_heartbeat_interval_ms(std::string_view group_id) const {
    return own_config(group_id).share_heartbeat_interval_ms.value_or(
        config.share_heartbeat_interval_ms);
  }
  const cluster::GroupConfigValues& own_config(std::string_view group_id) const {
    static const cluster::GroupConfigValues kNone;
    auto it = group_configs.find(group_id);
    return it == group_configs.end() ? kNone : it->second;
  }

  void note_deadline(Millis at) {
    if (!next_deadline || at < *next_deadline) next_deadline = at;
  }
  void changed() { ++changes; }

  GroupConfig config;
  // Groups' own configs, by group id (a group need not exist to have them).
  std::map<std::string, cluster::GroupConfigValues, std::less<>> group_configs;
  GroupStore* store;
  GroupMap groups;
  // No deadline of any group is earlier (it may be earlier than the real next one).
  std::optional<Millis> next_deadline;
  uint64_t changes = 0;
};

}  // namespace kb::group
