#include "kb/handlers/broker_logger.hpp"

#include <array>
#include <charconv>

#include <spdlog/spdlog.h>

namespace kb::handlers {

using cluster::AdminError;
using cluster::AdminResult;

namespace {

// Kafka's log levels (LogLevelConfig.VALID_LOG_LEVELS) and spdlog's for them.
struct Level {
  std::string_view kafka;
  spdlog::level::level_enum spd;
};
constexpr std::array<Level, 6> kLevels = {{
    {"FATAL", spdlog::level::critical},
    {"ERROR", spdlog::level::err},
    {"WARN", spdlog::level::warn},
    {"INFO", spdlog::level::info},
    {"DEBUG", spdlog::level::debug},
    {"TRACE", spdlog::level::trace},
}};
// How Kafka lists them in its refusal: sorted.
constexpr std::string_view kValidLevels = "DEBUG, ERROR, FATAL, INFO, TRACE, WARN";

std::optional<spdlog::level::level_enum> level_of(std::string_view kafka) {
  for (const Level& l : kLevels)
    if (l.kafka == kafka) return l.spd;
  return std::nullopt;
}

std::string_view kafka_name(spdlog::level::level_enum spd) {
  for (const Level& l : kLevels)
    if (l.spd == spd) return l.kafka;
  return "OFF";
}

// The level the broker started with: what DELETE of a logger would return
// to (root itself cannot be deleted, as in Kafka).
bool logger_exists(std::string_view name) { return name == kRootLogger; }

std::optional<int32_t> parse_id(std::string_view name) {
  int32_t id = 0;
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), id);
  if (name.empty() || ec != std::errc() || end != name.data() + name.size()) return std::nullopt;
  return id;
}

}  // namespace

AdminResult alter_broker_loggers(int32_t node_id, std::string_view resource_name,
                                 std::span<const LoggerChange> changes, bool validate_only) {
  const std::optional<int32_t> id = parse_id(resource_name);
  if (!id)
    return {AdminError::kInvalidRequest,
            "Node id must be an integer, but it is: " + std::string(resource_name)};
  // Kafka's message names its own id twice.
  if (*id != node_id)
    return {AdminError::kInvalidRequest, "Unexpected node id. Expected " + std::to_string(node_id) +
                                             ", but received " + std::to_string(node_id)};
  for (const LoggerChange& c : changes) {
    switch (c.op) {
      case 0: {  // SET
        if (!logger_exists(c.name))
          return {AdminError::kInvalidConfig, "Logger " + c.name + " does not exist!"};
        if (!c.value || !level_of(*c.value))
          return {AdminError::kInvalidConfig,
                  "Cannot set the log level of " + c.name + " to " + c.value.value_or("null") +
                      " as it is not a supported log level. Valid log levels are " +
                      std::string(kValidLevels)};
        break;
      }
      case 1:  // DELETE
        if (!logger_exists(c.name))
          return {AdminError::kInvalidConfig, "Logger " + c.name + " does not exist!"};
        if (c.name == kRootLogger)
          return {AdminError::kInvalidRequest,
                  "Removing the log level of the root logger is not allowed"};
        break;
      case 2:
        return {AdminError::kInvalidRequest,
                "APPEND operation is not allowed for the BROKER_LOGGER resource"};
      case 3:
        return {AdminError::kInvalidRequest,
                "SUBTRACT operation is not allowed for the BROKER_LOGGER resource"};
      default:
        return {AdminError::kInvalidRequest, "Unknown operation type " + std::to_string(c.op) +
                                                 " is not allowed for the BROKER_LOGGER resource"};
    }
  }
  if (validate_only) return {};
  for (const LoggerChange& c : changes) {
    // Only SET of root passes the checks above.
    const auto level = level_of(*c.value);
    spdlog::set_level(*level);
    // Logged at WARN, as Kafka logs it, so the change shows at most levels.
    spdlog::warn("Updated the log level of {} to {}", c.name, *c.value);
  }
  return {};
}

LoggerLevels describe_broker_loggers(int32_t node_id, std::string_view resource_name) {
  LoggerLevels out;
  if (resource_name.empty()) {
    out.error = {AdminError::kInvalidRequest, "Broker id must not be empty"};
    return out;
  }
  const std::optional<int32_t> id = parse_id(resource_name);
  if (!id) {
    out.error = {AdminError::kInvalidRequest,
                 "Broker id must be an integer, but it is: " + std::string(resource_name)};
    return out;
  }
  if (*id != node_id) {
    out.error = {AdminError::kInvalidRequest, "Unexpected broker id, expected " +
                                                  std::to_string(node_id) + " but received " +
                                                  std::string(resource_name)};
    return out;
  }
  out.levels.emplace_back(std::string(kRootLogger), std::string(kafka_name(spdlog::get_level())));
  return out;
}

}  // namespace kb::handlers
