#pragma once

// The configs the broker knows, as DescribeConfigs and CreateTopics see them:
// every topic config (with its server default property) and the broker
// configs of this broker, each with Kafka's name, type, default and a short
// description. Values are checked the way Kafka's ConfigDef checks them.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kb/cluster/broker_state.hpp"

namespace kb::cluster {

// Kafka's ConfigResource.Type ids.
inline constexpr int8_t kTopicResource = 2;
inline constexpr int8_t kBrokerResource = 4;

// DescribeConfigs ConfigType ids.
enum class ConfigType : int8_t {
  kUnknown = 0,
  kBoolean = 1,
  kString = 2,
  kInt = 3,
  kShort = 4,
  kLong = 5,
  kDouble = 6,
  kList = 7,
  kClass = 8,
  kPassword = 9,
};

// DescribeConfigs ConfigSource ids.
enum class ConfigSource : int8_t {
  kUnknown = 0,
  kTopic = 1,
  kDynamicBroker = 2,
  kDynamicDefaultBroker = 3,
  kStaticBroker = 4,
  kDefault = 5,
  kGroup = 8,  // GROUP_CONFIG: a group's own value
};

// A broker property that supplies a topic config's default; `scale` turns its
// unit into the topic config's (log.retention.hours -> retention.ms).
struct BrokerSynonym {
  std::string_view name;
  int64_t scale = 1;
};

struct ConfigDef {
  std::string_view name;
  ConfigType type = ConfigType::kString;
  std::optional<std::string_view> default_value;  // nullopt: no default (null)
  std::string_view doc;
  // Numbers: the accepted range. Strings and lists: the accepted values
  // (comma-separated; empty accepts anything).
  int64_t min = INT64_MIN;
  int64_t max = INT64_MAX;
  std::string_view choices;
  // Topic configs: the broker properties that give the default, most
  // specific first (Kafka's order of precedence).
  std::vector<BrokerSynonym> synonyms;
};

// How Apache Kafka lets a broker config change at run time
// (DynamicBrokerConfig's update modes).
enum class BrokerConfigMode : int8_t { kReadOnly, kPerBroker, kClusterWide };

// A broker config as Apache Kafka 4.4 defines it (KafkaConfig's ConfigDef):
// generated into kafka_broker_configs.cpp, see scripts/gen_kafka_broker_configs.py.
struct KafkaBrokerConfig {
  std::string_view name;
  BrokerConfigMode mode = BrokerConfigMode::kReadOnly;
  ConfigType type = ConfigType::kString;
  std::optional<std::string_view> default_value;
  int64_t min = INT64_MIN;
  int64_t max = INT64_MAX;
  std::string_view choices;  // comma-separated; empty accepts anything
};
std::span<const KafkaBrokerConfig> kafka_broker_configs();
// Null for a name Kafka does not know (a custom config, which Kafka keeps).
const KafkaBrokerConfig* find_kafka_broker_config(std::string_view name);

const std::vector<ConfigDef>& topic_config_defs();
const std::vector<ConfigDef>& broker_config_defs();
const ConfigDef* find_topic_config(std::string_view name);

// A whole decimal number (a long config's value), or nullopt.
std::optional<int64_t> parse_config_long(std::string_view value);
// The definition named `name` among `defs`, which are sorted by name; nullptr
// when there is none.
const ConfigDef* find_sorted_config(const std::vector<ConfigDef>& defs, std::string_view name);

// Why a value is refused for a topic config (unknown name, wrong type, out of
// range), in Kafka's words, or empty when it is accepted.
std::string topic_config_problem(std::string_view name, std::string_view value);
// Why `value` does not fit `def` (type, range, choices), or empty: Kafka's
// ConfigException message ("Invalid value x for configuration name: ...").
std::string config_value_problem(const ConfigDef& def, std::string_view value);

struct ConfigSynonymValue {
  std::string name;
  std::optional<std::string> value;
  ConfigSource source = ConfigSource::kDefault;
};

// One config as it applies: its value, where the value comes from, and every
// place that sets it in precedence order (the first is the one in effect).
struct EffectiveConfig {
  const ConfigDef* def = nullptr;
  std::optional<std::string> value;
  ConfigSource source = ConfigSource::kDefault;
  bool read_only = false;
  std::vector<ConfigSynonymValue> synonyms;
};

// Every topic config of `topic`: its own configs (ConfigRecords), else the
// broker's server.properties, else Kafka's default.
std::vector<EffectiveConfig> describe_topic_configs(const BrokerState& state,
                                                    std::string_view topic);
// The topic configs a topic would get with `own` set on it (CreateTopics
// validate_only and v5+ responses describe a topic before it exists).
std::vector<EffectiveConfig> describe_topic_configs(
    const BrokerState& state, const std::map<std::string, std::string, std::less<>>& own);
// One topic config's value in effect for `topic` (its own, else the broker's,
// else the default, in topic units); nullopt for an unknown name or no value.
std::optional<std::string> topic_config_value(const BrokerState& state, std::string_view topic,
                                              std::string_view name);
// This broker's configs: its dynamic configs (ConfigRecords for this broker,
// then for the cluster default ""), else server.properties, else the
// default; read-only unless Kafka changes them at run time.
std::vector<EffectiveConfig> describe_broker_configs(const BrokerState& state);
// The cluster-wide dynamic defaults (broker resource ""), as Kafka describes
// them: only their DYNAMIC_DEFAULT_BROKER_CONFIG values.
std::vector<EffectiveConfig> describe_default_broker_configs(const BrokerState& state);
// A broker config's dynamic value: this broker's, else the cluster default's.
std::optional<std::string_view> dynamic_broker_config(const BrokerState& state,
                                                      std::string_view name);

}  // namespace kb::cluster
