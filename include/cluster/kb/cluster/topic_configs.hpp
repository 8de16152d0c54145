#pragma once

// Topic configs at run time: what a topic's configs mean for its logs
// (segment settings, retention), and changing them (AlterConfigs,
// IncrementalAlterConfigs) through ConfigRecords in the metadata log.

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kb/cluster/broker_state.hpp"
#include "kb/cluster/topic_admin.hpp"
#include "kb/storage/partition_log.hpp"

namespace kb::cluster {

// `base` (the broker's log settings) with the topic's own segment.bytes,
// segment.ms and index.interval.bytes.
storage::PartitionLogOptions topic_log_options(const BrokerState& state, std::string_view topic,
                                               storage::PartitionLogOptions base);

// What retention does to a topic's partitions: nothing unless cleanup.policy
// lists "delete"; then retention.ms / retention.bytes (the topic's, else
// log.retention.{ms,minutes,hours} / log.retention.bytes, else Kafka's).
struct TopicRetention {
  bool deletes = false;
  storage::PartitionLog::RetentionLimits limits;
};
TopicRetention topic_retention(const BrokerState& state, std::string_view topic);

// Applies `retention` to one partition's log, deleting at most
// `max_segments` (the retention task spreads a long backlog over loop turns).
// Returns the number of segments deleted (0 after an error, which is logged);
// the caller says what went.
size_t enforce_retention(std::string_view topic, int32_t partition, storage::PartitionLog& log,
                         const TopicRetention& retention, int64_t now_ms,
                         size_t max_segments = std::numeric_limits<size_t>::max());

// IncrementalAlterConfigs operations (Kafka's AlterConfigOp.OpType ids).
enum class ConfigOp : int8_t { kSet = 0, kDelete = 1, kAppend = 2, kSubtract = 3 };
struct ConfigChange {
  std::string name;
  ConfigOp op = ConfigOp::kSet;
  std::optional<std::string> value;
};

// Changes some of a topic's configs. Names and values are checked against the
// config catalog first (nothing is written unless all pass); APPEND and
// SUBTRACT edit list configs item by item, starting from the value in effect.
// The changes are written as ConfigRecords (null value: deleted) and take
// effect at once.
AdminResult alter_topic_configs(BrokerState& state, std::string_view topic,
                                const std::vector<ConfigChange>& changes, bool validate_only);
// AlterConfigs: the topic's configs become exactly `configs` (configs not
// named go back to their defaults).
AdminResult replace_topic_configs(BrokerState& state, std::string_view topic,
                                  const std::map<std::string, std::string, std::less<>>& configs,
                                  bool validate_only);

}  // namespace kb::cluster
