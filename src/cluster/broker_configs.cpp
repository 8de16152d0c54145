#include "kb/cluster/broker_configs.hpp"

#include <spdlog/spdlog.h>

#include <charconv>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "kb/cluster/broker_reconfigurable.hpp"
#include "kb/cluster/config_catalog.hpp"

namespace kb::cluster {

namespace {

using ConfigMap = std::map<std::string, std::string, std::less<>>;

// Kafka prints a set of names as Java's Set.toString: "[a, b]".
std::string name_set(const std::set<std::string>& names) {
  std::string out = "[";
  for (const auto& n : names) out += (out.size() > 1 ? ", " : "") + n;
  return out + "]";
}

// A listener's config name without its "listener.name.<l>." prefix (Kafka's
// ListenerConfigRegex); other names as they are.
std::string_view without_listener_prefix(std::string_view name) {
  constexpr std::string_view kPrefix = "listener.name.";
  if (!name.starts_with(kPrefix)) return name;
  const size_t dot = name.find('.', kPrefix.size());
  return dot == std::string_view::npos ? name : name.substr(dot + 1);
}

// TLS keystore and truststore settings: Kafka takes them only with a
// listener prefix (DynamicBrokerConfig's DYNAMIC_SECURITY_CONFIGS).
bool security_config(std::string_view name) {
  static const std::set<std::string_view> kNames = {
      "ssl.keystore.type",          "ssl.keystore.location", "ssl.keystore.password",
      "ssl.key.password",           "ssl.truststore.type",   "ssl.truststore.location",
      "ssl.truststore.password",    "ssl.keystore.key",      "ssl.keystore.certificate.chain",
      "ssl.truststore.certificates"};
  return kNames.contains(name);
}

// ConfigAdminManager.validateResourceNameIsCurrentNodeId.
AdminResult check_resource_name(const BrokerState& state, std::string_view name) {
  if (name.empty()) return {};
  int32_t id = 0;
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), id);
  if (ec != std::errc() || end != name.data() + name.size())
    return {AdminError::kInvalidRequest,
            "Node id must be an integer, but it is: " + std::string(name)};
  if (id != state.node_id)
    return {AdminError::kInvalidRequest, "Unexpected broker id, expected " +
                                             std::to_string(state.node_id) + ", but received " +
                                             std::string(name)};
  return {};
}

// DynamicBrokerConfig.validateConfigs on the resource's whole set of configs
// after the change (Kafka answers each ConfigException as INVALID_REQUEST),
// then what this broker cannot take at run time.
AdminResult check_broker_configs(const ConfigMap& configs, bool per_broker) {
  std::set<std::string> read_only, security, per_broker_only, static_here;
  for (const auto& [name, value] : configs) {
    if (name.starts_with("listener.name.")) {
      // A listener's connection creation rate changes at run time, at either
      // level (one of Kafka's cluster-level listener configs); its other
      // configs are read at start-up here.
      if (without_listener_prefix(name) != "max.connection.creation.rate") static_here.insert(name);
      continue;
    }
    const KafkaBrokerConfig* k = find_kafka_broker_config(name);
    if (k == nullptr) continue;  // a custom config: Kafka keeps it as it is
    if (k->mode == BrokerConfigMode::kReadOnly) read_only.insert(name);
    if (security_config(name)) security.insert(name);
    if (k->mode == BrokerConfigMode::kPerBroker) per_broker_only.insert(name);
  }
  if (!read_only.empty())
    return {AdminError::kInvalidRequest,
            "Cannot update these configs dynamically: " + name_set(read_only)};
  if (!security.empty())
    return {AdminError::kInvalidRequest,
            "These security configs can be dynamically updated only per-listener using the "
            "listener prefix: " +
                name_set(security)};
  for (const auto& [name, value] : configs) {
    // A listener's config is checked as the broker config it overrides.
    const KafkaBrokerConfig* k = find_kafka_broker_config(without_listener_prefix(name));
    if (k == nullptr) continue;
    ConfigDef def;
    def.name = k->name;
    def.type = k->type;
    def.min = k->min;
    def.max = k->max;
    def.choices = k->choices;
    if (auto problem = config_value_problem(def, value); !problem.empty())
      return {AdminError::kInvalidRequest, std::move(problem)};
  }
  if (!per_broker && !per_broker_only.empty())
    return {AdminError::kInvalidRequest,
            "Cannot update these configs at default cluster level, broker id must be "
            "specified: " +
                name_set(per_broker_only)};
  // Kafka changes these per broker (listeners, TLS, SASL); this broker's
  // listeners and security are fixed at start-up.
  static_here.insert(per_broker_only.begin(), per_broker_only.end());
  if (!static_here.empty())
    return {AdminError::kInvalidRequest,
            "Cannot update these configs dynamically: " + name_set(static_here) +
                " (this broker's listeners and security settings "
                "are read at start-up only)"};
  return {};
}

const ConfigMap& current_configs(const BrokerState& state, std::string_view resource_name) {
  static const ConfigMap kNone;
  auto it = state.configs.find({kBrokerResource, std::string(resource_name)});
  return it == state.configs.end() ? kNone : it->second;
}

// Kafka's BrokerReconfigurables' validateReconfiguration, on the broker's
// configs as they would be once `wanted` is resource `resource_name`'s.
AdminResult check_reconfigurables(const BrokerState& state, std::string_view resource_name,
                                  const ConfigMap& wanted) {
  if (state.reconfigurables.empty()) return {};
  const bool per_broker = !resource_name.empty();
  const ConfigMap& other =
      current_configs(state, per_broker ? std::string_view() : std::to_string(state.node_id));
  const ConfigMap* levels[] = {per_broker ? &wanted : &other, per_broker ? &other : &wanted,
                               &state.static_configs};
  const BrokerConfigLookup lookup = [&](std::string_view name) -> std::optional<std::string_view> {
    for (const ConfigMap* level : levels)
      if (auto it = level->find(name); it != level->end()) return std::string_view(it->second);
    return std::nullopt;
  };
  for (const BrokerReconfigurable* reconfigurable : state.reconfigurables)
    if (std::string problem = reconfigurable->reconfiguration_problem(lookup); !problem.empty())
      return {AdminError::kInvalidRequest, std::move(problem)};
  return {};
}

AdminResult write(BrokerState& state, std::string_view resource_name,
                  const std::vector<storage::MetadataRecord>& records, bool validate_only) {
  if (!state.logs) return {AdminError::kStorage, "no log directory"};
  if (validate_only || records.empty()) return {};
  if (auto appended = append_metadata(state, records); !appended.ok()) {
    spdlog::error("changing the configs of broker '{}': {}", resource_name,
                  appended.error().message);
    return {AdminError::kStorage, appended.error().message};
  }
  spdlog::info("broker '{}': {} dynamic config(s) changed", resource_name, records.size());
  return {};
}

// A list config's items as Kafka's ConfigAdminManager splits them (on ",",
// no trimming); an absent value starts from Kafka's default.
std::vector<std::string> split_list(std::string_view value) {
  std::vector<std::string> items;
  if (value.empty()) return items;
  while (true) {
    const size_t comma = value.find(',');
    items.emplace_back(value.substr(0, comma));
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return items;
}

}  // namespace

AdminResult alter_broker_configs(BrokerState& state, std::string_view resource_name,
                                 const std::vector<ConfigChange>& changes, bool validate_only) {
  std::set<std::string_view> seen;
  std::vector<std::string> null_values;
  for (const auto& c : changes) {
    if (!seen.insert(c.name).second)
      return {AdminError::kInvalidRequest, "Error due to duplicate config keys"};
    if (c.op != ConfigOp::kDelete && !c.value) null_values.push_back(c.name);
  }
  if (!null_values.empty()) {
    std::string names;
    for (const auto& n : null_values) names += (names.empty() ? "" : ", ") + n;
    return {AdminError::kInvalidRequest, "Null value not supported for : " + names};
  }
  if (auto bad = check_resource_name(state, resource_name); !bad.ok()) return bad;
  ConfigMap wanted = current_configs(state, resource_name);
  for (const auto& c : changes) {
    switch (c.op) {
      case ConfigOp::kSet:
        wanted[c.name] = *c.value;
        break;
      case ConfigOp::kDelete:
        wanted.erase(c.name);
        break;
      case ConfigOp::kAppend:
      case ConfigOp::kSubtract: {
        const bool append = c.op == ConfigOp::kAppend;
        const KafkaBrokerConfig* k = find_kafka_broker_config(c.name);
        if (k == nullptr) return {AdminError::kInvalidConfig, "Unknown config name: " + c.name};
        if (k->type != ConfigType::kList)
          return {AdminError::kInvalidConfig, std::string("Config value ") +
                                                  (append ? "append" : "subtract") +
                                                  " is not allowed for config key: " + c.name};
        auto it = wanted.find(c.name);
        std::vector<std::string> items =
            split_list(it != wanted.end() ? std::string_view(it->second)
                                          : k->default_value.value_or(std::string_view()));
        // APPEND adds the items not there yet; SUBTRACT removes one
        // occurrence per item named (Scala's diff). Lookups, not scans.
        if (append) {
          std::unordered_set<std::string> present(items.begin(), items.end());
          for (auto& item : split_list(*c.value))
            if (present.insert(item).second) items.push_back(std::move(item));
        } else {
          std::unordered_map<std::string, size_t> removals;
          for (auto& item : split_list(*c.value)) ++removals[std::move(item)];
          std::erase_if(items, [&](const std::string& item) {
            auto left = removals.find(item);
            if (left == removals.end() || left->second == 0) return false;
            --left->second;
            return true;
          });
        }
        std::string joined;
        for (const auto& item : items) joined += (joined.empty() ? "" : ",") + item;
        wanted[c.name] = std::move(joined);
        break;
      }
      default:
        return {AdminError::kInvalidRequest,
                "Unknown operations type " + std::to_string(static_cast<int>(c.op))};
    }
  }
  if (auto bad = check_broker_configs(wanted, !resource_name.empty()); !bad.ok()) return bad;
  if (auto bad = check_reconfigurables(state, resource_name, wanted); !bad.ok()) return bad;
  std::vector<storage::MetadataRecord> records;
  for (const auto& c : changes) {
    auto it = wanted.find(c.name);
    records.emplace_back(storage::ConfigRecord{
        kBrokerResource, std::string(resource_name), c.name,
        it == wanted.end() ? std::nullopt : std::optional<std::string>(it->second)});
  }
  return write(state, resource_name, records, validate_only);
}

AdminResult replace_broker_configs(BrokerState& state, std::string_view resource_name,
                                   const ConfigMap& configs, bool validate_only) {
  if (auto bad = check_resource_name(state, resource_name); !bad.ok()) return bad;
  if (auto bad = check_broker_configs(configs, !resource_name.empty()); !bad.ok()) return bad;
  if (auto bad = check_reconfigurables(state, resource_name, configs); !bad.ok()) return bad;
  std::vector<storage::MetadataRecord> records;
  for (const auto& [name, value] : configs)
    records.emplace_back(
        storage::ConfigRecord{kBrokerResource, std::string(resource_name), name, value});
  for (const auto& [name, value] : current_configs(state, resource_name))
    if (!configs.contains(name))
      records.emplace_back(
          storage::ConfigRecord{kBrokerResource, std::string(resource_name), name, std::nullopt});
  return write(state, resource_name, records, validate_only);
}

}  // namespace kb::cluster
