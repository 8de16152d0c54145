#include "kb/cluster/config_catalog.hpp"

#include <algorithm>
#include <charconv>
#include <deque>
#include <limits>
#include <map>
#include <set>

namespace kb::cluster {

namespace {

constexpr std::string_view kLongMax = "9223372036854775807";
constexpr int64_t kInt32Max = std::numeric_limits<int32_t>::max();
constexpr int64_t kInt32Min = std::numeric_limits<int32_t>::min();

ConfigDef def(std::string_view name, ConfigType type, std::optional<std::string_view> value,
              std::string_view doc, std::vector<BrokerSynonym> synonyms = {},
              int64_t min = INT64_MIN, int64_t max = INT64_MAX, std::string_view choices = {}) {
  ConfigDef d;
  d.name = name;
  d.type = type;
  d.default_value = value;
  d.doc = doc;
  d.synonyms = std::move(synonyms);
  d.min = min;
  d.max = max;
  d.choices = choices;
  return d;
}

std::vector<ConfigDef> make_topic_defs() {
  using T = ConfigType;
  std::vector<ConfigDef> d;
  d.push_back(def("cleanup.policy", T::kList, "delete",
                  "How old segments are disposed of: 'delete' removes them once past retention, "
                  "'compact' keeps the latest record per key; both may be listed.",
                  {{"log.cleanup.policy"}}, INT64_MIN, INT64_MAX, "compact,delete"));
  d.push_back(def("compression.gzip.level", T::kInt, "-1",
                  "Compression level used when compression.type is gzip.",
                  {{"compression.gzip.level"}}, -1, 9));
  d.push_back(def("compression.lz4.level", T::kInt, "9",
                  "Compression level used when compression.type is lz4.",
                  {{"compression.lz4.level"}}, 1, 17));
  d.push_back(def("compression.type", T::kString, "producer",
                  "The codec the topic's batches are stored with; 'producer' keeps the codec the "
                  "producer used, 'uncompressed' stores them uncompressed.",
                  {{"compression.type"}}, INT64_MIN, INT64_MAX,
                  "uncompressed,zstd,lz4,snappy,gzip,producer"));
  d.push_back(def("compression.zstd.level", T::kInt, "3",
                  "Compression level used when compression.type is zstd.",
                  {{"compression.zstd.level"}}, -131072, 22));
  d.push_back(def("delete.retention.ms", T::kLong, "86400000",
                  "How long tombstones are kept in a compacted topic.",
                  {{"log.cleaner.delete.retention.ms"}}, 0));
  d.push_back(def("errors.deadletterqueue.group.enable", T::kBoolean, "false",
                  "Whether share groups may use the topic as their dead letter queue.", {}));
  d.push_back(def("file.delete.delay.ms", T::kLong, "60000",
                  "How long a deleted segment's files stay on disk before removal.",
                  {{"log.segment.delete.delay.ms"}}, 0));
  d.push_back(def("flush.messages", T::kLong, kLongMax,
                  "Records appended between forced flushes to disk.",
                  {{"log.flush.interval.messages"}}, 1));
  // Kafka's flush.ms falls back to log.flush.scheduler.interval.ms, which
  // carries the default (log.flush.interval.ms has none).
  d.push_back(def("flush.ms", T::kLong, kLongMax, "Milliseconds between forced flushes to disk.",
                  {{"log.flush.interval.ms"}, {"log.flush.scheduler.interval.ms"}}, 0));
  d.push_back(def("follower.replication.throttled.replicas", T::kList, "",
                  "Replicas whose follower replication is throttled (partition:broker pairs, or "
                  "'*').",
                  {}));
  d.push_back(def("index.interval.bytes", T::kInt, "4096",
                  "Bytes of records between two offset index entries.",
                  {{"log.index.interval.bytes"}}, 0, kInt32Max));
  d.push_back(def("leader.replication.throttled.replicas", T::kList, "",
                  "Replicas whose leader replication is throttled (partition:broker pairs, or "
                  "'*').",
                  {}));
  d.push_back(def("local.retention.bytes", T::kLong, "-2",
                  "Bytes kept locally when tiered storage is on; -2 follows retention.bytes.",
                  {{"log.local.retention.bytes"}}, -2));
  d.push_back(def("local.retention.ms", T::kLong, "-2",
                  "Time kept locally when tiered storage is on; -2 follows retention.ms.",
                  {{"log.local.retention.ms"}}, -2));
  d.push_back(def("max.compaction.lag.ms", T::kLong, kLongMax,
                  "The longest a record stays uncompacted.",
                  {{"log.cleaner.max.compaction.lag.ms"}}, 1));
  d.push_back(def("max.decompressed.message.bytes", T::kInt, "2147483639",
                  "The largest a record batch may be once decompressed.",
                  {{"max.decompressed.message.bytes"}}, 1, 2147483639));
  d.push_back(def("max.message.bytes", T::kInt, "1048588",
                  "The largest record batch the topic accepts.", {{"message.max.bytes"}}, 0,
                  kInt32Max));
  d.push_back(def("message.timestamp.after.max.ms", T::kLong, "3600000",
                  "How far in the future a record's timestamp may be (CreateTime).",
                  {{"log.message.timestamp.after.max.ms"}}, 0));
  d.push_back(def("message.timestamp.before.max.ms", T::kLong, kLongMax,
                  "How far in the past a record's timestamp may be (CreateTime).",
                  {{"log.message.timestamp.before.max.ms"}}, 0));
  d.push_back(def("message.timestamp.type", T::kString, "CreateTime",
                  "Whether record timestamps are the producer's (CreateTime) or the broker's "
                  "append time (LogAppendTime).",
                  {{"log.message.timestamp.type"}}, INT64_MIN, INT64_MAX,
                  "CreateTime,LogAppendTime"));
  d.push_back(def("min.cleanable.dirty.ratio", T::kDouble, "0.5",
                  "The share of uncompacted log that makes the log eligible for compaction.",
                  {{"log.cleaner.min.cleanable.ratio"}}, 0, 1));
  d.push_back(def("min.compaction.lag.ms", T::kLong, "0",
                  "The shortest a record stays uncompacted.",
                  {{"log.cleaner.min.compaction.lag.ms"}}, 0));
  d.push_back(def("min.insync.replicas", T::kInt, "1",
                  "Replicas that must acknowledge an acks=all write.", {{"min.insync.replicas"}}, 1,
                  kInt32Max));
  d.push_back(def("preallocate", T::kBoolean, "false",
                  "Whether segment files are preallocated when created.", {{"log.preallocate"}}));
  d.push_back(def("remote.copy.lag.bytes", T::kLong, "-1",
                  "Bytes a partition may lag behind before copying to remote storage is forced "
                  "(tiered storage); -1 is no limit.",
                  {{"log.remote.copy.lag.bytes"}}, -1));
  d.push_back(def("remote.copy.lag.ms", T::kLong, "0",
                  "How long a segment may wait before it is copied to remote storage (tiered "
                  "storage).",
                  {{"log.remote.copy.lag.ms"}}, -1));
  d.push_back(def("remote.log.copy.disable", T::kBoolean, "false",
                  "Stops copying segments to remote storage (tiered storage).", {}));
  d.push_back(def("remote.log.delete.on.disable", T::kBoolean, "false",
                  "Deletes remote data when tiered storage is turned off for the topic.", {}));
  d.push_back(def("remote.storage.enable", T::kBoolean, "false",
                  "Whether the topic uses tiered storage.", {}));
  d.push_back(def("retention.bytes", T::kLong, "-1",
                  "The size a partition may grow to before old segments are deleted; -1 is no "
                  "limit.",
                  {{"log.retention.bytes"}}));
  d.push_back(def(
      "retention.ms", T::kLong, "604800000",
      "How long records are kept before old segments are deleted; -1 is no limit.",
      {{"log.retention.ms"}, {"log.retention.minutes", 60000}, {"log.retention.hours", 3600000}},
      -1));
  d.push_back(def("segment.bytes", T::kInt, "1073741824", "The size of one segment file.",
                  {{"log.segment.bytes"}}, 14, kInt32Max));
  d.push_back(def("segment.index.bytes", T::kInt, "10485760",
                  "The size of the offset and time index files.", {{"log.index.size.max.bytes"}}, 4,
                  kInt32Max));
  d.push_back(def("segment.jitter.ms", T::kLong, "0",
                  "Random jitter subtracted from segment.ms so segments do not all roll at once.",
                  {{"log.roll.jitter.ms"}, {"log.roll.jitter.hours", 3600000}}, 0));
  d.push_back(def("segment.ms", T::kLong, "604800000",
                  "The time after which a segment is rolled even if not full.",
                  {{"log.roll.ms"}, {"log.roll.hours", 3600000}}, 1));
  d.push_back(def("unclean.leader.election.enable", T::kBoolean, "false",
                  "Whether a replica outside the ISR may become leader.",
                  {{"unclean.leader.election.enable"}}));
  return d;
}

// The broker's own configs, then the broker properties that give topic
// configs their defaults.
std::vector<ConfigDef> make_broker_defs() {
  using T = ConfigType;
  std::vector<ConfigDef> d;
  d.push_back(def("node.id", T::kInt, "-1", "The id of this node in the cluster.", {}, 0));
  d.push_back(
      def("process.roles", T::kList, "", "The KRaft roles of this node (broker, controller).", {}));
  d.push_back(def("listeners", T::kString, "PLAINTEXT://:9092",
                  "The addresses the broker listens on, as NAME://host:port.", {}));
  d.push_back(def("advertised.listeners", T::kString, std::nullopt,
                  "The addresses clients are told to connect to; the listeners when unset.", {}));
  d.push_back(def("controller.listener.names", T::kString, std::nullopt,
                  "Listeners used by the KRaft controller quorum.", {}));
  d.push_back(def("listener.security.protocol.map", T::kString,
                  "SASL_SSL:SASL_SSL,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT",
                  "The security protocol of each listener name.", {}));
  d.push_back(def("log.dirs", T::kString, std::nullopt,
                  "The directories where the logs are kept; log.dir when unset.", {}));
  d.push_back(def("log.dir", T::kString, "/tmp/kafka-logs",
                  "The directory where the logs are kept when log.dirs is unset.", {}));
  d.push_back(
      def("num.partitions", T::kInt, "1", "Partitions of a topic created by default.", {}, 1));
  d.push_back(def("default.replication.factor", T::kInt, "1",
                  "Replication factor of a topic created by default.", {}));
  d.push_back(def("auto.create.topics.enable", T::kBoolean, "true",
                  "Whether Metadata requests create the topics they ask about.", {}));
  d.push_back(def("delete.topic.enable", T::kBoolean, "true",
                  "Whether DeleteTopics may delete topics.", {}));
  d.push_back(def("socket.request.max.bytes", T::kInt, "104857600",
                  "The largest request the broker reads.", {}, 1));
  d.push_back(def("max.connections", T::kInt, "2147483647",
                  "The most client connections the broker keeps at once.", {}, 0));
  d.push_back(
      def("log.index.size.max.bytes", T::kInt, "10485760", "Default of segment.index.bytes.", {}));

  // Each topic config's server default property, typed as Kafka types it: a
  // unit variant (hours, minutes) is an int, and only the last one of a
  // family carries the default.
  static std::deque<std::string> docs;
  for (const ConfigDef& topic : topic_config_defs()) {
    for (size_t i = 0; i < topic.synonyms.size(); ++i) {
      const BrokerSynonym& s = topic.synonyms[i];
      if (std::any_of(d.begin(), d.end(), [&](const ConfigDef& b) { return b.name == s.name; }))
        continue;
      ConfigDef b = topic;
      b.name = s.name;
      b.synonyms.clear();
      docs.push_back("The default of the topic config " + std::string(topic.name) + ". " +
                     std::string(topic.doc));
      b.doc = docs.back();
      // Only the last of a family has a default (Kafka's null for the others).
      const bool last = i + 1 == topic.synonyms.size();
      if (!last) b.default_value = std::nullopt;
      if (s.scale != 1) {
        b.type = T::kInt;
        b.min = topic.min < 0 ? -1 : 0;
        b.max = kInt32Max;
        if (last && topic.default_value) {
          int64_t v = 0;
          std::from_chars(topic.default_value->data(),
                          topic.default_value->data() + topic.default_value->size(), v);
          docs.push_back(std::to_string(v / s.scale));
          b.default_value = docs.back();
        }
      }
      d.push_back(std::move(b));
    }
  }
  std::sort(d.begin(), d.end(),
            [](const ConfigDef& a, const ConfigDef& b) { return a.name < b.name; });
  return d;
}

std::optional<int64_t> parse_int64(std::string_view s) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<double> parse_double(std::string_view s) {
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

bool is_choice(std::string_view choices, std::string_view value) {
  while (!choices.empty()) {
    size_t comma = choices.find(',');
    if (choices.substr(0, comma) == value) return true;
    if (comma == std::string_view::npos) break;
    choices.remove_prefix(comma + 1);
  }
  return false;
}

bool equals_ignore_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x | 0x20) == (y | 0x20);
         });
}

const char* type_name(ConfigType type) {
  switch (type) {
    case ConfigType::kInt:
      return "INT";
    case ConfigType::kShort:
      return "SHORT";
    case ConfigType::kLong:
      return "LONG";
    default:
      return "DOUBLE";
  }
}

// A number as Java's Double.toString prints one in the ordinary range
// ("2.0", "0.75"): Kafka's messages show a double config's value so.
std::string java_double(double v) {
  char text[64];
  auto [end, ec] = std::to_chars(text, text + sizeof text, v);
  std::string out(text, ec == std::errc() ? end : text);
  if (out.find_first_of(".en") == std::string::npos) out += ".0";
  return out;
}

// Kafka's ConfigException text: "Invalid value <value> for configuration <name>: <why>".
std::string invalid(const ConfigDef& d, std::string_view value, std::string_view why) {
  std::string message = "Invalid value ";
  message.append(value).append(" for configuration ").append(d.name).append(": ").append(why);
  return message;
}

// "String must be one of: a, b" (ConfigDef.ValidString), for one value.
std::string choice_problem(const ConfigDef& d, std::string_view value) {
  if (d.choices.empty() || is_choice(d.choices, value)) return {};
  std::string listed;
  for (char c : d.choices) listed += c == ',' ? std::string(", ") : std::string(1, c);
  return invalid(d, value, "String must be one of: " + listed);
}

// What Kafka's ConfigDef says when it parses and validates `raw` for `d`:
// a value of the wrong type (as given), out of range (the parsed number),
// not among the choices (the trimmed value, or the list item).
std::string value_problem(const ConfigDef& d, std::string_view raw) {
  const std::string_view value = trim(raw);
  switch (d.type) {
    case ConfigType::kBoolean:
      if (!equals_ignore_case(value, "true") && !equals_ignore_case(value, "false"))
        return invalid(d, raw, "Expected value to be either true or false");
      return {};
    case ConfigType::kInt:
    case ConfigType::kShort:
    case ConfigType::kLong: {
      auto v = parse_int64(value);
      const int64_t lo = d.type == ConfigType::kLong    ? INT64_MIN
                         : d.type == ConfigType::kShort ? INT16_MIN
                                                        : kInt32Min;
      const int64_t hi = d.type == ConfigType::kLong    ? INT64_MAX
                         : d.type == ConfigType::kShort ? INT16_MAX
                                                        : kInt32Max;
      if (!v || *v < lo || *v > hi)
        return invalid(d, raw, std::string("Not a number of type ") + type_name(d.type));
      if (*v < d.min)
        return invalid(d, std::to_string(*v), "Value must be at least " + std::to_string(d.min));
      if (*v > d.max)
        return invalid(d, std::to_string(*v),
                       "Value must be no more than " + std::to_string(d.max));
      return {};
    }
    case ConfigType::kDouble: {
      auto v = parse_double(value);
      if (!v) return invalid(d, raw, "Not a number of type DOUBLE");
      if (d.min != INT64_MIN && *v < static_cast<double>(d.min))
        return invalid(d, java_double(*v), "Value must be at least " + std::to_string(d.min));
      if (d.max != INT64_MAX && *v > static_cast<double>(d.max))
        return invalid(d, java_double(*v), "Value must be no more than " + std::to_string(d.max));
      return {};
    }
    case ConfigType::kList: {
      if (d.choices.empty()) return {};
      std::string_view rest = value;
      while (true) {
        size_t comma = rest.find(',');
        if (auto problem = choice_problem(d, trim(rest.substr(0, comma))); !problem.empty())
          return problem;
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
      return {};
    }
    default:
      return choice_problem(d, value);
  }
}

// A broker property in topic units (hours -> ms); the text as is when it is
// not a whole number.
std::string scaled(std::string_view value, int64_t scale) {
  if (scale == 1) return std::string(value);
  auto v = parse_int64(trim(value));
  if (!v) return std::string(value);
  if (*v < 0) return std::to_string(*v);  // -1 means unlimited in every unit
  if (*v > INT64_MAX / scale) return std::string(kLongMax);
  return std::to_string(*v * scale);
}

using ConfigMap = std::map<std::string, std::string, std::less<>>;

const ConfigMap* dynamic_configs(const BrokerState& state, int8_t type, const std::string& name) {
  auto it = state.configs.find({type, name});
  return it == state.configs.end() ? nullptr : &it->second;
}

// Fills synonyms (precedence order) and the value in effect.
void resolve(EffectiveConfig& out) {
  if (out.synonyms.empty()) return;
  out.value = out.synonyms.front().value;
  out.source = out.synonyms.front().source;
}

// The default a topic config's broker property has in Kafka's KafkaConfig:
// only the last of a family carries one, in its own unit
// (log.retention.hours=168); the others have none.
std::optional<std::string> broker_property_default(const ConfigDef& d, size_t synonym) {
  if (synonym + 1 != d.synonyms.size() || !d.default_value) return std::nullopt;
  const int64_t scale = d.synonyms[synonym].scale;
  if (scale == 1) return std::string(*d.default_value);
  auto v = parse_int64(*d.default_value);
  return v ? std::to_string(*v / scale) : std::string(*d.default_value);
}

EffectiveConfig effective_topic_config(const BrokerState& state, const ConfigDef& d,
                                       const ConfigMap* own) {
  EffectiveConfig e;
  e.def = &d;
  const ConfigMap* per_broker =
      dynamic_configs(state, kBrokerResource, std::to_string(state.node_id));
  const ConfigMap* cluster_default = dynamic_configs(state, kBrokerResource, "");
  const std::pair<const ConfigMap*, ConfigSource> broker_levels[] = {
      {per_broker, ConfigSource::kDynamicBroker},
      {cluster_default, ConfigSource::kDynamicDefaultBroker},
      {&state.static_configs, ConfigSource::kStaticBroker}};
  const std::string* own_value = nullptr;
  if (own)
    if (auto it = own->find(d.name); it != own->end()) own_value = &it->second;

  // The value in effect, in topic units: the topic's own, else the first
  // broker property of the family set at the most specific level, else the
  // default.
  if (own_value) {
    e.value = *own_value;
  } else {
    for (const auto& [configs, source] : broker_levels) {
      if (configs == nullptr || e.value) continue;
      for (const BrokerSynonym& s : d.synonyms)
        if (auto it = configs->find(s.name); it != configs->end()) {
          e.value = scaled(it->second, s.scale);
          break;
        }
    }
    if (!e.value && d.default_value) e.value = std::string(*d.default_value);
  }

  // The synonyms as Kafka lists them (ConfigHelper): the topic's own value,
  // then the family's broker properties as set (in their own units) level by
  // level down to KafkaConfig's defaults, from the first entry that names
  // the family's first property on; what comes before it is left out, so
  // log.retention.hours alone (set or default) is not listed for
  // retention.ms. A topic-only config (no family) lists only its own value.
  // The source is the first synonym's, DEFAULT_CONFIG when none is listed.
  if (own_value) e.synonyms.push_back({std::string(d.name), *own_value, ConfigSource::kTopic});
  if (!d.synonyms.empty()) {
    std::vector<ConfigSynonymValue> family;
    for (const auto& [configs, source] : broker_levels) {
      if (configs == nullptr) continue;
      for (const BrokerSynonym& s : d.synonyms)
        if (auto it = configs->find(s.name); it != configs->end())
          family.push_back({std::string(s.name), it->second, source});
    }
    for (size_t i = 0; i < d.synonyms.size(); ++i)
      if (auto value = broker_property_default(d, i))
        family.push_back(
            {std::string(d.synonyms[i].name), std::move(value), ConfigSource::kDefault});
    auto first = std::find_if(family.begin(), family.end(), [&](const ConfigSynonymValue& s) {
      return s.name == d.synonyms.front().name;
    });
    e.synonyms.insert(e.synonyms.end(), std::make_move_iterator(first),
                      std::make_move_iterator(family.end()));
  }
  e.source = e.synonyms.empty() ? ConfigSource::kDefault : e.synonyms.front().source;
  return e;
}

}  // namespace

const std::vector<ConfigDef>& topic_config_defs() {
  static const std::vector<ConfigDef> defs = make_topic_defs();
  return defs;
}

const std::vector<ConfigDef>& broker_config_defs() {
  static const std::vector<ConfigDef> defs = make_broker_defs();
  return defs;
}

const ConfigDef* find_topic_config(std::string_view name) {
  const auto& defs = topic_config_defs();
  auto it =
      std::find_if(defs.begin(), defs.end(), [&](const ConfigDef& d) { return d.name == name; });
  return it == defs.end() ? nullptr : &*it;
}

std::optional<int64_t> parse_config_long(std::string_view value) { return parse_int64(value); }

const ConfigDef* find_sorted_config(const std::vector<ConfigDef>& defs, std::string_view name) {
  auto it = std::lower_bound(defs.begin(), defs.end(), name,
                             [](const ConfigDef& d, std::string_view n) { return d.name < n; });
  return it != defs.end() && it->name == name ? &*it : nullptr;
}

std::string topic_config_problem(std::string_view name, std::string_view value) {
  const ConfigDef* d = find_topic_config(name);
  if (d == nullptr) return "Unknown topic config name: " + std::string(name);
  return value_problem(*d, value);
}

std::vector<EffectiveConfig> describe_topic_configs(const BrokerState& state,
                                                    std::string_view topic) {
  return describe_topic_configs(state, [&]() -> const ConfigMap& {
    static const ConfigMap kNone;
    const ConfigMap* own = dynamic_configs(state, kTopicResource, std::string(topic));
    return own ? *own : kNone;
  }());
}

std::vector<EffectiveConfig> describe_topic_configs(const BrokerState& state,
                                                    const ConfigMap& own) {
  std::vector<EffectiveConfig> out;
  out.reserve(topic_config_defs().size());
  for (const ConfigDef& d : topic_config_defs())
    out.push_back(effective_topic_config(state, d, &own));
  return out;
}

std::optional<std::string> topic_config_value(const BrokerState& state, std::string_view topic,
                                              std::string_view name) {
  const ConfigDef* d = find_topic_config(name);
  if (d == nullptr) return std::nullopt;
  return effective_topic_config(state, *d,
                                dynamic_configs(state, kTopicResource, std::string(topic)))
      .value;
}

namespace {

ConfigDef def_of(const KafkaBrokerConfig& k) {
  ConfigDef d;
  d.name = k.name;
  d.type = k.type;
  d.default_value = k.default_value;
  d.doc = "A broker config of Apache Kafka.";
  d.min = k.min;
  d.max = k.max;
  d.choices = k.choices;
  return d;
}

// The definition DescribeConfigs shows a broker config with: the broker's
// own, else Kafka's, else (a custom name Kafka keeps) an untyped one. Kept
// for good: the names are bounded by Kafka's and the ones stored.
const ConfigDef* catalog_broker_def(std::string_view name) {
  return find_sorted_config(broker_config_defs(), name);
}

// The Kafka config a listener override stands for, as Kafka types it:
// listener.name.<listener>.<config>, or for SASL settings
// listener.name.<listener>.<mechanism>.<config>.
const KafkaBrokerConfig* listener_override_base(std::string_view name) {
  constexpr std::string_view kListenerPrefix = "listener.name.";
  if (!name.starts_with(kListenerPrefix)) return nullptr;
  auto past_first_part = [](std::string_view n) {
    const size_t dot = n.find('.');
    return dot == std::string_view::npos ? std::string_view{} : n.substr(dot + 1);
  };
  const std::string_view config = past_first_part(name.substr(kListenerPrefix.size()));
  if (const KafkaBrokerConfig* k = find_kafka_broker_config(config)) return k;
  return find_kafka_broker_config(past_first_part(config));
}

const ConfigDef* broker_def_for(std::string_view name) {
  if (const ConfigDef* d = catalog_broker_def(name)) return d;
  static std::map<std::string, ConfigDef, std::less<>> others;
  if (auto found = others.find(name); found != others.end()) return &found->second;
  auto [added, inserted] = others.emplace(std::string(name), ConfigDef{});
  ConfigDef& d = added->second;
  if (const KafkaBrokerConfig* k = find_kafka_broker_config(name)) {
    d = def_of(*k);
  } else if (const KafkaBrokerConfig* base = listener_override_base(name)) {
    // Typed as the config it overrides (a password stays a password); no
    // default of its own.
    d.type = def_of(*base).type;
    d.default_value = std::nullopt;
  } else {
    d.type = ConfigType::kUnknown;
    d.default_value = std::nullopt;
  }
  d.name = added->first;
  return &d;
}

// Whether this broker takes the config at run time: Kafka's cluster-wide
// dynamic configs. Per-broker ones (listeners, TLS and SASL settings) are
// static here.
bool changeable(std::string_view name) {
  const KafkaBrokerConfig* k = find_kafka_broker_config(name);
  return k != nullptr && k->mode == BrokerConfigMode::kClusterWide;
}

}  // namespace

std::string config_value_problem(const ConfigDef& def, std::string_view value) {
  return value_problem(def, value);
}

std::optional<std::string_view> dynamic_broker_config(const BrokerState& state,
                                                      std::string_view name) {
  for (const std::string& resource : {std::to_string(state.node_id), std::string()})
    if (const ConfigMap* configs = dynamic_configs(state, kBrokerResource, resource))
      if (auto it = configs->find(name); it != configs->end()) return it->second;
  return std::nullopt;
}

std::vector<EffectiveConfig> describe_broker_configs(const BrokerState& state) {
  const ConfigMap* per_broker =
      dynamic_configs(state, kBrokerResource, std::to_string(state.node_id));
  const ConfigMap* cluster_default = dynamic_configs(state, kBrokerResource, "");
  auto describe = [&](const ConfigDef& d) {
    EffectiveConfig e;
    e.def = &d;
    e.read_only = !changeable(d.name);
    const std::pair<const ConfigMap*, ConfigSource> levels[] = {
        {per_broker, ConfigSource::kDynamicBroker},
        {cluster_default, ConfigSource::kDynamicDefaultBroker},
        {&state.static_configs, ConfigSource::kStaticBroker}};
    for (const auto& [configs, source] : levels)
      if (configs != nullptr)
        if (auto it = configs->find(d.name); it != configs->end())
          e.synonyms.push_back({std::string(d.name), it->second, source});
    std::optional<std::string> fallback;
    if (d.default_value) fallback = std::string(*d.default_value);
    // The node id in effect is the broker's, whichever key set it (broker.id).
    if (d.name == "node.id") fallback = std::to_string(state.node_id);
    e.synonyms.push_back({std::string(d.name), fallback, ConfigSource::kDefault});
    resolve(e);
    return e;
  };
  std::vector<EffectiveConfig> out;
  for (const ConfigDef& d : broker_config_defs()) out.push_back(describe(d));
  // Dynamic configs the catalog above does not describe (Kafka's others, and
  // custom names), and TLS listener keys set in server.properties (their
  // secrets are shown as sensitive, without values), once each.
  std::set<std::string_view> extra;
  for (const auto& [name, value] : state.static_configs)
    if ((name.starts_with("ssl.") || name.starts_with("listener.name.")) &&
        catalog_broker_def(name) == nullptr)
      extra.insert(name);
  for (const ConfigMap* configs : {per_broker, cluster_default})
    if (configs != nullptr)
      for (const auto& [name, value] : *configs)
        if (catalog_broker_def(name) == nullptr) extra.insert(name);
  for (std::string_view name : extra) out.push_back(describe(*broker_def_for(name)));
  return out;
}

std::vector<EffectiveConfig> describe_default_broker_configs(const BrokerState& state) {
  std::vector<EffectiveConfig> out;
  const ConfigMap* cluster_default = dynamic_configs(state, kBrokerResource, "");
  if (cluster_default == nullptr) return out;
  for (const auto& [name, value] : *cluster_default) {
    EffectiveConfig e;
    e.def = broker_def_for(name);
    e.read_only = !changeable(name);
    e.synonyms.push_back({name, value, ConfigSource::kDynamicDefaultBroker});
    resolve(e);
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace kb::cluster
