#include "kb/cluster/topic_configs.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "kb/cluster/config_catalog.hpp"

namespace kb::cluster {

namespace {

using ConfigMap = std::map<std::string, std::string, std::less<>>;

const ConfigMap* own_configs(const BrokerState& state, std::string_view topic) {
  auto it = state.configs.find(std::pair<int8_t, std::string>{kTopicResource, std::string(topic)});
  return it == state.configs.end() ? nullptr : &it->second;
}

// A list config's items, trimmed, empty ones dropped.
std::vector<std::string> list_items(std::string_view value) {
  std::vector<std::string> items;
  while (true) {
    const size_t comma = value.find(',');
    std::string_view item = value.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) items.emplace_back(item);
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return items;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ',';
    out += item;
  }
  return out;
}

// Checks `wanted` (the topic's whole set of own configs after the change) and
// writes the differences from the current set.
AdminResult commit_topic_configs(BrokerState& state, std::string_view topic,
                                 const ConfigMap& wanted, bool validate_only) {
  static const ConfigMap kNone;
  const ConfigMap* current_ptr = own_configs(state, topic);
  const ConfigMap& current = current_ptr ? *current_ptr : kNone;
  for (const auto& [name, value] : wanted) {
    auto it = current.find(name);
    if (it != current.end() && it->second == value) continue;
    if (auto problem = topic_config_problem(name, value); !problem.empty())
      return {AdminError::kInvalidConfig, problem};
  }
  return commit_config_changes(state, kTopicResource, "topic", topic, current, wanted,
                               validate_only);
}

AdminResult check_topic(const BrokerState& state, std::string_view topic) {
  if (state.topics.find(topic) == nullptr)
    return {AdminError::kUnknownTopic, "The topic '" + std::string(topic) + "' does not exist."};
  return {};
}

}  // namespace

storage::PartitionLogOptions topic_log_options(const BrokerState& state, std::string_view topic,
                                               storage::PartitionLogOptions base) {
  // Compacted logs may have offset gaps, which recovery must not take for
  // damage.
  if (auto policy = topic_config_value(state, topic, "cleanup.policy")) {
    auto items = list_items(*policy);
    base.compacted = std::find(items.begin(), items.end(), "compact") != items.end();
  }
  const ConfigMap* own = own_configs(state, topic);
  // The topic's own value, else the broker's dynamic one (ConfigRecords for
  // brokers), else `base` (server.properties). Values were checked when they
  // were set; one that does not parse leaves the next.
  auto number = [&](std::string_view name, std::string_view broker_name,
                    int64_t min) -> std::optional<int64_t> {
    std::optional<std::string_view> value;
    if (own != nullptr)
      if (auto it = own->find(name); it != own->end()) value = it->second;
    auto v = value ? parse_config_long(*value) : std::nullopt;
    if (v && *v >= min) return v;
    auto dynamic = dynamic_broker_config(state, broker_name);
    v = dynamic ? parse_config_long(*dynamic) : std::nullopt;
    return v && *v >= min ? v : std::nullopt;
  };
  if (auto v = number("segment.bytes", "log.segment.bytes", 14))
    base.segment_bytes = static_cast<uint64_t>(*v);
  if (auto v = number("segment.ms", "log.roll.ms", 1)) base.roll_ms = *v;
  if (auto v = number("index.interval.bytes", "log.index.interval.bytes", 0))
    base.index_interval_bytes = static_cast<uint32_t>(*v);
  return base;
}

TopicRetention topic_retention(const BrokerState& state, std::string_view topic) {
  TopicRetention r;
  if (auto policy = topic_config_value(state, topic, "cleanup.policy")) {
    auto items = list_items(*policy);
    r.deletes = std::find(items.begin(), items.end(), "delete") != items.end();
  }
  auto limit = [&](std::string_view name) -> int64_t {
    auto value = topic_config_value(state, topic, name);
    auto v = value ? parse_config_long(*value) : std::nullopt;
    return v ? *v : -1;  // unparseable: no limit (deleting nothing is safe)
  };
  r.limits.retention_ms = limit("retention.ms");
  r.limits.retention_bytes = limit("retention.bytes");
  return r;
}

size_t enforce_retention(std::string_view topic, int32_t partition, storage::PartitionLog& log,
                         const TopicRetention& retention, int64_t now_ms, size_t max_segments) {
  if (!retention.deletes) return 0;
  auto deleted = log.delete_expired_segments(retention.limits, now_ms, max_segments);
  if (!deleted) {
    spdlog::error("retention of {}-{}: {}", topic, partition, deleted.error().message);
    return 0;
  }
  return *deleted;
}

AdminResult alter_topic_configs(BrokerState& state, std::string_view topic,
                                const std::vector<ConfigChange>& changes, bool validate_only) {
  if (auto bad = check_topic(state, topic); !bad.ok()) return bad;
  std::set<std::string_view> seen;
  for (const auto& c : changes)
    if (!seen.insert(c.name).second)
      return {AdminError::kInvalidRequest, "Error due to duplicate config keys"};
  static const ConfigMap kNone;
  const ConfigMap* own = own_configs(state, topic);
  ConfigMap wanted = own ? *own : kNone;
  for (const auto& c : changes) {
    const ConfigDef* def = find_topic_config(c.name);
    if (def == nullptr) return {AdminError::kInvalidConfig, "Unknown topic config name: " + c.name};
    if (c.op != ConfigOp::kDelete && !c.value)
      return {AdminError::kInvalidRequest, "Null value not supported for : " + c.name};
    switch (c.op) {
      case ConfigOp::kSet:
        wanted[c.name] = *c.value;
        break;
      case ConfigOp::kDelete:
        wanted.erase(c.name);
        break;
      case ConfigOp::kAppend:
      case ConfigOp::kSubtract: {
        if (def->type != ConfigType::kList)
          return {AdminError::kInvalidConfig,
                  std::string("Can't ") + (c.op == ConfigOp::kAppend ? "APPEND" : "SUBTRACT") +
                      " to key " + c.name + " because its type is not LIST."};
        auto in_effect = topic_config_value(state, topic, c.name);
        std::vector<std::string> items = list_items(in_effect ? *in_effect : "");
        // Kafka's: APPEND adds each item not there yet, SUBTRACT removes the
        // first occurrence of an item once each time it is named (lookups,
        // not scans: long lists stay linear).
        std::vector<std::string> given = list_items(*c.value);
        if (c.op == ConfigOp::kAppend) {
          std::unordered_set<std::string> present(items.begin(), items.end());
          for (auto& item : given)
            if (present.insert(item).second) items.push_back(std::move(item));
        } else {
          std::unordered_map<std::string, size_t> removals;
          for (auto& item : given) ++removals[std::move(item)];
          std::erase_if(items, [&](const std::string& item) {
            auto it = removals.find(item);
            if (it == removals.end() || it->second == 0) return false;
            --it->second;
            return true;
          });
        }
        wanted[c.name] = join(items);
        break;
      }
      default:
        return {AdminError::kInvalidRequest,
                "Unknown operation type " + std::to_string(static_cast<int>(c.op))};
    }
  }
  return commit_topic_configs(state, topic, wanted, validate_only);
}

AdminResult replace_topic_configs(BrokerState& state, std::string_view topic,
                                  const ConfigMap& configs, bool validate_only) {
  if (auto bad = check_topic(state, topic); !bad.ok()) return bad;
  for (const auto& [name, value] : configs)
    if (find_topic_config(name) == nullptr)
      return {AdminError::kInvalidConfig, "Unknown topic config name: " + name};
  return commit_topic_configs(state, topic, configs, validate_only);
}

}  // namespace kb::cluster
