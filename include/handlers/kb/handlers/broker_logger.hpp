#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kb/cluster/topic_admin.hpp"

namespace kb::handlers {

// Kafka's BROKER_LOGGER resource (type 8): a broker's log levels, changed at
// run time by IncrementalAlterConfigs and listed by DescribeConfigs, in
// memory only, as Kafka keeps them. This broker has one logger, Kafka's
// "root": its level is the level of everything the broker logs.
inline constexpr int8_t kBrokerLoggerResource = 8;
inline constexpr std::string_view kRootLogger = "root";

struct LoggerChange {
  std::string name;
  int8_t op = 0;  // Kafka's AlterConfigOp: 0 SET, 1 DELETE, 2 APPEND, 3 SUBTRACT
  std::optional<std::string> value;
};

// Checks every change as Kafka's RuntimeLoggerManager does (the resource names
// this node; SET to one of Kafka's levels of a logger that exists; DELETE not
// of root; no APPEND or SUBTRACT), then, unless validate_only, applies them.
cluster::AdminResult alter_broker_loggers(int32_t node_id, std::string_view resource_name,
                                          std::span<const LoggerChange> changes,
                                          bool validate_only);

// The loggers and their levels as Kafka names them ("INFO"), or the error
// DescribeConfigs answers for the resource name.
struct LoggerLevels {
  cluster::AdminResult error;
  std::vector<std::pair<std::string, std::string>> levels;
};
LoggerLevels describe_broker_loggers(int32_t node_id, std::string_view resource_name);

}  // namespace kb::handlers
