#include "kb/cluster/group_configs.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "kb/base/java_duration.hpp"
#include "kb/base/java_text.hpp"

namespace kb::cluster {

namespace {

using ConfigMap = std::map<std::string, std::string, std::less<>>;

// One of Kafka 4.4's group configs, in the order its GroupConfig defines
// them (the order its checks report problems in).
struct GroupKey {
  std::string_view name;
  ConfigType type;
  std::string_view default_value;
  int64_t min;               // the config's own lower bound (ConfigDef's atLeast)
  std::string_view choices;  // a string config's accepted values
  std::string_view broker;   // the broker config a group without a value takes
  std::string_view min_key;  // the broker configs bounding a group's value
  std::string_view max_key;
  bool internal;  // not described unless set
  std::string_view doc;
};

constexpr std::string_view kAutoOffsetReset = "share.auto.offset.reset";

// Streams groups' and the share dead-letter queue's configs are left out:
// this broker serves neither.
constexpr GroupKey kGroupKeys[] = {
    {"consumer.session.timeout.ms", ConfigType::kInt, "45000", 1, "",
     "group.consumer.session.timeout.ms", "group.consumer.min.session.timeout.ms",
     "group.consumer.max.session.timeout.ms", false,
     "How long a member of this consumer group may go without a heartbeat before it is fenced."},
    {"consumer.heartbeat.interval.ms", ConfigType::kInt, "5000", 1, "",
     "group.consumer.heartbeat.interval.ms", "group.consumer.min.heartbeat.interval.ms",
     "group.consumer.max.heartbeat.interval.ms", false,
     "The heartbeat interval this consumer group's members are told to keep."},
    {"consumer.assignment.interval.ms", ConfigType::kInt, "1000", 0, "",
     "group.consumer.assignment.interval.ms", "group.consumer.min.assignment.interval.ms",
     "group.consumer.max.assignment.interval.ms", false,
     "The least time between two target assignments of this consumer group (this broker "
     "assigns at once)."},
    {"consumer.assignor.offload.enable", ConfigType::kBoolean, "true", INT64_MIN, "",
     "group.consumer.assignor.offload.enable", "", "", true,
     "Whether this consumer group's assignment runs off the coordinator's thread."},
    {"share.session.timeout.ms", ConfigType::kInt, "45000", 1, "", "group.share.session.timeout.ms",
     "group.share.min.session.timeout.ms", "group.share.max.session.timeout.ms", false,
     "How long a member of this share group may go without a heartbeat before it is fenced."},
    {"share.heartbeat.interval.ms", ConfigType::kInt, "5000", 1, "",
     "group.share.heartbeat.interval.ms", "group.share.min.heartbeat.interval.ms",
     "group.share.max.heartbeat.interval.ms", false,
     "The heartbeat interval this share group's members are told to keep."},
    {"share.record.lock.duration.ms", ConfigType::kInt, "30000", 1000, "",
     "group.share.record.lock.duration.ms", "group.share.min.record.lock.duration.ms",
     "group.share.max.record.lock.duration.ms", false,
     "How long a member of this share group holds the records it acquired."},
    {"share.delivery.count.limit", ConfigType::kInt, "5", 2, "", "group.share.delivery.count.limit",
     "group.share.min.delivery.count.limit", "group.share.max.delivery.count.limit", false,
     "How many times a record is delivered to this share group before it is archived."},
    {"share.partition.max.record.locks", ConfigType::kInt, "2000", 100, "",
     "group.share.partition.max.record.locks", "group.share.min.partition.max.record.locks",
     "group.share.max.partition.max.record.locks", false,
     "How many records of one partition this share group may have in flight."},
    {kAutoOffsetReset, ConfigType::kString, "latest", INT64_MIN, "", "", "", "", false,
     "Where this share group starts in a partition it has no state for: earliest, latest, or "
     "by_duration:<ISO-8601 duration> back from now."},
    {"share.isolation.level", ConfigType::kString, "read_uncommitted", INT64_MIN,
     "read_committed,read_uncommitted", "", "", "", false,
     "read_committed: this share group gets transactional records once committed, never aborted "
     "ones; read_uncommitted: every record."},
    {"share.renew.acknowledge.enable", ConfigType::kBoolean, "true", INT64_MIN, "", "", "", "",
     false, "Whether this share group's members may renew their acquisition locks."},
    {"share.assignment.interval.ms", ConfigType::kInt, "1000", 0, "",
     "group.share.assignment.interval.ms", "group.share.min.assignment.interval.ms",
     "group.share.max.assignment.interval.ms", false,
     "The least time between two target assignments of this share group (this broker assigns "
     "at once)."},
    {"share.assignor.offload.enable", ConfigType::kBoolean, "true", INT64_MIN, "",
     "group.share.assignor.offload.enable", "", "", true,
     "Whether this share group's assignment runs off the coordinator's thread."},
};

// Session timeouts checked against heartbeat intervals, as Kafka pairs them.
struct SessionPair {
  std::string_view session;
  std::string_view heartbeat;
  std::string_view broker_session;
  std::string_view broker_heartbeat;
};
constexpr SessionPair kSessionPairs[] = {
    {"consumer.session.timeout.ms", "consumer.heartbeat.interval.ms",
     "group.consumer.session.timeout.ms", "group.consumer.heartbeat.interval.ms"},
    {"share.session.timeout.ms", "share.heartbeat.interval.ms", "group.share.session.timeout.ms",
     "group.share.heartbeat.interval.ms"},
};

// The order Kafka checks the ranges in (validateValues).
constexpr std::string_view kRangeOrder[] = {
    "consumer.heartbeat.interval.ms",  "consumer.session.timeout.ms",
    "consumer.assignment.interval.ms", "share.heartbeat.interval.ms",
    "share.session.timeout.ms",        "share.record.lock.duration.ms",
    "share.delivery.count.limit",      "share.partition.max.record.locks",
    "share.assignment.interval.ms",
};

const GroupKey* find_key(std::string_view name) {
  for (const GroupKey& k : kGroupKeys)
    if (k.name == name) return &k;
  return nullptr;
}

// share.auto.offset.reset as Kafka's ShareGroupAutoOffsetResetStrategy takes
// it: earliest, latest or by_duration:<duration not negative>, in any case.
bool valid_auto_offset_reset(std::string_view value) {
  const std::string v = ascii_lower(value);
  if (v == "earliest" || v == "latest") return true;
  constexpr std::string_view kByDuration = "by_duration:";
  if (!std::string_view(v).starts_with(kByDuration)) return false;
  auto ms = parse_java_duration_ms(value.substr(kByDuration.size()));
  return ms && *ms >= 0;
}

// A broker setting as the coordinator has it: a dynamic value where Kafka
// takes one at run time, else server.properties, else Kafka's default.
std::optional<std::string> broker_value(const BrokerState& state, std::string_view name) {
  const KafkaBrokerConfig* k = find_kafka_broker_config(name);
  if (k != nullptr && k->mode == BrokerConfigMode::kClusterWide)
    if (auto dynamic = dynamic_broker_config(state, name)) return std::string(*dynamic);
  if (auto it = state.static_configs.find(name); it != state.static_configs.end())
    return it->second;
  if (k != nullptr && k->default_value) return std::string(*k->default_value);
  return std::nullopt;
}

std::optional<int64_t> broker_number(const BrokerState& state, std::string_view name) {
  auto value = broker_value(state, name);
  return value ? parse_config_long(java_trim(*value)) : std::nullopt;
}

const ConfigMap* own_configs(const BrokerState& state, std::string_view group) {
  auto it = state.configs.find({kGroupResource, std::string(group)});
  return it == state.configs.end() ? nullptr : &it->second;
}

ConfigDef def_of(const GroupKey& k) {
  ConfigDef d;
  d.name = k.name;
  d.type = k.type;
  d.default_value = k.default_value;
  d.doc = k.doc;
  d.min = k.min;
  d.choices = k.choices;
  if (!k.broker.empty()) d.synonyms.push_back({k.broker});
  return d;
}

// Kafka's GroupConfig.validate of a group's whole set of configs: why it is
// refused, or empty.
std::string configs_problem(const BrokerState& state, const ConfigMap& configs) {
  for (const auto& [name, value] : configs)
    if (find_key(name) == nullptr) return "Unknown group config name: " + name;
  std::map<std::string_view, int64_t> numbers;
  for (const GroupKey& k : kGroupKeys) {
    auto it = configs.find(k.name);
    if (it == configs.end()) continue;
    const ConfigDef* d = find_group_config(k.name);
    if (auto problem = config_value_problem(*d, it->second); !problem.empty()) return problem;
    // Kafka's validator sees the value trimmed, and says it twice.
    if (const std::string given(java_trim(it->second));
        k.name == kAutoOffsetReset && !valid_auto_offset_reset(given)) {
      std::string message = "Invalid value ";
      message.append(given).append(" for configuration ").append(k.name);
      message.append(": Invalid value `").append(given).append("` for configuration ");
      message.append(k.name).append(
          ". The value must be either 'earliest', 'latest' or of the format "
          "'by_duration:<PnDTnHnMn.nS>'.");
      return message;
    }
    if (k.type == ConfigType::kInt)
      if (auto v = parse_config_long(java_trim(it->second))) numbers[k.name] = *v;
  }
  for (std::string_view name : kRangeOrder) {
    auto it = numbers.find(name);
    if (it == numbers.end()) continue;
    const GroupKey* k = find_key(name);
    const int64_t min = broker_number(state, k->min_key).value_or(INT64_MIN);
    const int64_t max = broker_number(state, k->max_key).value_or(INT64_MAX);
    if (it->second < min || it->second > max)
      return std::string(name) + " must be in the range " + std::to_string(min) + " to " +
             std::to_string(max) + " inclusive.";
  }
  for (const SessionPair& p : kSessionPairs) {
    auto session = numbers.find(p.session);
    auto heartbeat = numbers.find(p.heartbeat);
    if (session == numbers.end() && heartbeat == numbers.end()) continue;
    const int64_t s = session != numbers.end() ? session->second
                                               : broker_number(state, p.broker_session).value_or(0);
    const int64_t h = heartbeat != numbers.end()
                          ? heartbeat->second
                          : broker_number(state, p.broker_heartbeat).value_or(0);
    if (s <= h) return std::string(p.session) + " must be greater than " + std::string(p.heartbeat);
  }
  return {};
}

// Checks `wanted` (the group's whole set of own configs after the change)
// and writes the differences from the current set.
AdminResult commit_group_configs(BrokerState& state, std::string_view group,
                                 const ConfigMap& wanted, bool validate_only) {
  if (group.empty())
    return {AdminError::kInvalidRequest, "Default group resources are not allowed."};
  if (auto problem = configs_problem(state, wanted); !problem.empty())
    return {AdminError::kInvalidConfig, problem};
  static const ConfigMap kNone;
  const ConfigMap* current_ptr = own_configs(state, group);
  return commit_config_changes(state, kGroupResource, "group", group,
                               current_ptr ? *current_ptr : kNone, wanted, validate_only);
}

// A value as Kafka prints it after parsing (ConfigDef.convertToString):
// numbers and booleans in their plain form, text trimmed.
std::string printed(ConfigType type, const std::string& value) {
  if (type == ConfigType::kInt || type == ConfigType::kLong)
    if (auto v = parse_config_long(java_trim(value))) return std::to_string(*v);
  if (type == ConfigType::kBoolean) return ascii_lower(java_trim(value));
  return std::string(java_trim(value));
}

}  // namespace

const std::vector<ConfigDef>& group_config_defs() {
  static const std::vector<ConfigDef> defs = [] {
    std::vector<ConfigDef> d;
    for (const GroupKey& k : kGroupKeys) d.push_back(def_of(k));
    std::sort(d.begin(), d.end(),
              [](const ConfigDef& a, const ConfigDef& b) { return a.name < b.name; });
    return d;
  }();
  return defs;
}

const ConfigDef* find_group_config(std::string_view name) {
  return find_sorted_config(group_config_defs(), name);
}

AdminResult alter_group_configs(BrokerState& state, std::string_view group,
                                const std::vector<ConfigChange>& changes, bool validate_only) {
  std::set<std::string_view> seen;
  for (const auto& c : changes)
    if (!seen.insert(c.name).second)
      return {AdminError::kInvalidRequest, "Error due to duplicate config keys"};
  static const ConfigMap kNone;
  const ConfigMap* own = own_configs(state, group);
  ConfigMap wanted = own ? *own : kNone;
  for (const auto& c : changes) {
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
      case ConfigOp::kSubtract:
        // No group config is a list.
        return {AdminError::kInvalidConfig,
                std::string("Can't ") + (c.op == ConfigOp::kAppend ? "APPEND" : "SUBTRACT") +
                    " to key " + c.name + " because its type is not LIST."};
      default:
        return {AdminError::kInvalidRequest,
                "Unknown operation type " + std::to_string(static_cast<int>(c.op))};
    }
  }
  return commit_group_configs(state, group, wanted, validate_only);
}

AdminResult replace_group_configs(BrokerState& state, std::string_view group,
                                  const ConfigMap& configs, bool validate_only) {
  return commit_group_configs(state, group, configs, validate_only);
}

std::vector<EffectiveConfig> describe_group_configs(const BrokerState& state,
                                                    std::string_view group) {
  const ConfigMap* own = own_configs(state, group);
  std::vector<EffectiveConfig> out;
  for (const ConfigDef& d : group_config_defs()) {
    const GroupKey* k = find_key(d.name);
    EffectiveConfig e;
    e.def = &d;
    const std::string* own_value = nullptr;
    if (own != nullptr)
      if (auto it = own->find(d.name); it != own->end()) own_value = &it->second;
    // The group's value, then the broker's synonym level by level (Kafka's
    // ConfigHelper), else the config's own default.
    if (own_value) e.synonyms.push_back({std::string(d.name), *own_value, ConfigSource::kGroup});
    bool broker_set = false;
    if (!k->broker.empty()) {
      const KafkaBrokerConfig* b = find_kafka_broker_config(k->broker);
      if (b != nullptr && b->mode == BrokerConfigMode::kClusterWide) {
        const std::pair<std::string, ConfigSource> levels[] = {
            {std::to_string(state.node_id), ConfigSource::kDynamicBroker},
            {std::string(), ConfigSource::kDynamicDefaultBroker}};
        for (const auto& [resource, source] : levels)
          if (auto it = state.configs.find({kBrokerResource, resource}); it != state.configs.end())
            if (auto v = it->second.find(k->broker); v != it->second.end()) {
              e.synonyms.push_back({std::string(k->broker), v->second, source});
              broker_set = true;
            }
      }
      if (auto it = state.static_configs.find(k->broker); it != state.static_configs.end()) {
        e.synonyms.push_back({std::string(k->broker), it->second, ConfigSource::kStaticBroker});
        broker_set = true;
      }
      std::optional<std::string> fallback;
      if (b != nullptr && b->default_value) fallback = std::string(*b->default_value);
      e.synonyms.push_back({std::string(k->broker), fallback, ConfigSource::kDefault});
    } else {
      e.synonyms.push_back(
          {std::string(d.name), std::string(k->default_value), ConfigSource::kDefault});
    }
    // Internal configs are described only where they are set.
    if (k->internal && !own_value && !broker_set) continue;
    for (const ConfigSynonymValue& s : e.synonyms)
      if (s.value) {
        e.value = printed(d.type, *s.value);
        break;
      }
    e.source = e.synonyms.front().source;
    out.push_back(std::move(e));
  }
  return out;
}

GroupConfigValues group_config_values(const BrokerState& state, std::string_view group) {
  GroupConfigValues v;
  const ConfigMap* own = own_configs(state, group);
  if (own == nullptr) return v;
  // An int the group set, capped to the broker's bounds now in force.
  auto number = [&](std::string_view name) -> std::optional<int32_t> {
    auto it = own->find(name);
    if (it == own->end()) return std::nullopt;
    auto parsed = parse_config_long(java_trim(it->second));
    if (!parsed || *parsed < INT32_MIN || *parsed > INT32_MAX) return std::nullopt;
    int64_t value = *parsed;
    const GroupKey* k = find_key(name);
    if (auto min = broker_number(state, k->min_key); min && value < *min) {
      spdlog::warn("group {}: {}={} is below the broker's minimum {}; {} is used", group, name,
                   value, *min, *min);
      value = *min;
    }
    if (auto max = broker_number(state, k->max_key); max && value > *max) {
      spdlog::warn("group {}: {}={} is above the broker's maximum {}; {} is used", group, name,
                   value, *max, *max);
      value = *max;
    }
    return static_cast<int32_t>(value);
  };
  auto text = [&](std::string_view name) -> std::optional<std::string> {
    auto it = own->find(name);
    if (it == own->end()) return std::nullopt;
    return std::string(java_trim(it->second));
  };
  v.consumer_session_timeout_ms = number("consumer.session.timeout.ms");
  v.consumer_heartbeat_interval_ms = number("consumer.heartbeat.interval.ms");
  v.share_session_timeout_ms = number("share.session.timeout.ms");
  v.share_heartbeat_interval_ms = number("share.heartbeat.interval.ms");
  v.share_record_lock_duration_ms = number("share.record.lock.duration.ms");
  v.share_delivery_count_limit = number("share.delivery.count.limit");
  v.share_partition_max_record_locks = number("share.partition.max.record.locks");
  v.share_auto_offset_reset = text(kAutoOffsetReset);
  v.share_isolation_level = text("share.isolation.level");
  return v;
}

std::vector<std::string> groups_with_configs(const BrokerState& state) {
  std::vector<std::string> out;
  for (auto it = state.configs.lower_bound({kGroupResource, std::string()});
       it != state.configs.end() && it->first.first == kGroupResource; ++it)
    if (!it->second.empty()) out.push_back(it->first.second);
  return out;
}

}  // namespace kb::cluster
