#pragma once

// Group configs (kafka-configs --entity-type groups, KIP-848/KIP-932): a
// group's own values for some of the broker's group.* settings, kept as
// ConfigRecords in the metadata log (resource type GROUP, name: the group
// id), changed by IncrementalAlterConfigs and AlterConfigs and checked as
// Kafka 4.4 checks them (GroupConfig.validate: known names, each value's type
// and range, then the broker's group.*.min/max bounds). A group need not exist
// to have configs, as in Kafka.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kb/cluster/broker_state.hpp"
#include "kb/cluster/config_catalog.hpp"
#include "kb/cluster/topic_admin.hpp"
#include "kb/cluster/topic_configs.hpp"

namespace kb::cluster {

// Kafka's ConfigResource.Type id for groups.
inline constexpr int8_t kGroupResource = 32;

// Kafka 4.4's group configs that apply to the consumer and share groups this
// broker serves (streams and dead-letter-queue configs are not among them),
// sorted by name; each names its broker synonym, if any, in `synonyms`.
const std::vector<ConfigDef>& group_config_defs();
const ConfigDef* find_group_config(std::string_view name);

// IncrementalAlterConfigs on group `group`: the changes applied to the
// group's own configs, the whole result checked, then written as
// ConfigRecords (only the names whose value changes, as Kafka's controller
// writes them for groups).
AdminResult alter_group_configs(BrokerState& state, std::string_view group,
                                const std::vector<ConfigChange>& changes, bool validate_only);
// AlterConfigs: the group's configs become exactly `configs`.
AdminResult replace_group_configs(BrokerState& state, std::string_view group,
                                  const std::map<std::string, std::string, std::less<>>& configs,
                                  bool validate_only);

// DescribeConfigs: every group config of `group` (its own value, else the
// broker's for the synonym, else Kafka's default), with Kafka's synonyms.
std::vector<EffectiveConfig> describe_group_configs(const BrokerState& state,
                                                    std::string_view group);

// What the group's own configs make of the settings the groups use, each
// kept within the broker's bounds as they are now (Kafka's GroupConfig
// evaluation: a value outside them is capped, with a warning); unset where
// the group has no value of its own, so the broker's applies.
struct GroupConfigValues {
  std::optional<int32_t> consumer_session_timeout_ms;
  std::optional<int32_t> consumer_heartbeat_interval_ms;
  std::optional<int32_t> share_session_timeout_ms;
  std::optional<int32_t> share_heartbeat_interval_ms;
  std::optional<int32_t> share_record_lock_duration_ms;
  std::optional<int32_t> share_delivery_count_limit;
  std::optional<int32_t> share_partition_max_record_locks;
  std::optional<std::string> share_auto_offset_reset;
  std::optional<std::string> share_isolation_level;

  bool operator==(const GroupConfigValues&) const = default;
};
GroupConfigValues group_config_values(const BrokerState& state, std::string_view group);

// The ids of the groups that have configs of their own.
std::vector<std::string> groups_with_configs(const BrokerState& state);

}  // namespace kb::cluster
