#include "kb/broker/config.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <type_traits>

#include <fmt/format.h>

#include "kb/base/java_properties.hpp"
#include "kb/base/java_text.hpp"
#include "kb/broker/sasl_config.hpp"
#include "kb/cluster/connection_quotas.hpp"

namespace kb::broker {

namespace {

// Used when the broker starts without a file.
constexpr std::string_view kEmbeddedDefaults =
    "listeners=PLAINTEXT://:9092\n"
    "log.dirs=/tmp/kraft-combined-logs\n"
    "node.id=1\n";

// Listener names and protocols are case-insensitive (Kafka upper-cases them).
std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  while (true) {
    size_t at = s.find(sep);
    parts.push_back(java_trim(s.substr(0, at)));
    if (at == std::string_view::npos) break;
    s.remove_prefix(at + 1);
  }
  return parts;
}

class ConfigBuilder {
 public:
  std::string error;
  BrokerConfig config;

  bool fail(const PropertySource& src, std::string_view key, std::string_view why) {
    if (error.empty()) error = fmt::format("{}: key '{}': {}", src.origin, key, why);
    return false;
  }

  bool parse_int(std::string_view key, int64_t min, int64_t max, int64_t& out) {
    auto it = config.properties.find(key);
    if (it == config.properties.end()) return true;
    const auto& v = it->second.value;
    int64_t parsed = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), parsed);
    if (v.empty() || ec != std::errc() || end != v.data() + v.size())
      return fail(it->second, key, fmt::format("'{}' is not an integer", v));
    if (parsed < min || parsed > max)
      return fail(it->second, key, fmt::format("{} is outside [{}, {}]", parsed, min, max));
    out = parsed;
    return true;
  }

  bool parse_listeners(std::string_view key, std::vector<ListenerConfig>& out) {
    auto it = config.properties.find(key);
    if (it == config.properties.end()) return true;
    out.clear();
    std::set<std::string, std::less<>> names;
    for (std::string_view item : split(it->second.value, ',')) {
      if (item.empty()) continue;
      size_t sep = item.find("://");
      if (sep == std::string_view::npos || sep == 0)
        return fail(it->second, key, fmt::format("'{}' is not NAME://host:port", item));
      ListenerConfig l;
      l.name = upper(item.substr(0, sep));
      std::string_view hostport = item.substr(sep + 3);
      size_t colon = hostport.rfind(':');
      if (colon == std::string_view::npos)
        return fail(it->second, key, fmt::format("'{}' has no port", item));
      std::string_view host = hostport.substr(0, colon);
      if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
      l.host = std::string(host);
      std::string_view port = hostport.substr(colon + 1);
      unsigned parsed = 0;
      auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), parsed);
      if (port.empty() || ec != std::errc() || end != port.data() + port.size() || parsed > 65535)
        return fail(it->second, key, fmt::format("'{}' has an invalid port", item));
      l.port = static_cast<uint16_t>(parsed);
      if (!names.insert(l.name).second)
        return fail(it->second, key, fmt::format("listener name '{}' appears twice", l.name));
      out.push_back(std::move(l));
    }
    return true;
  }

  // http://host:port/path, http://host:port (path /metrics) or host:port.
  bool parse_metrics_listener() {
    constexpr std::string_view key = "kb.metrics.listener";
    auto it = config.properties.find(key);
    if (it == config.properties.end() || it->second.value.empty()) return true;
    std::string_view v = it->second.value;
    if (v.starts_with("http://")) v.remove_prefix(7);
    BrokerConfig::MetricsListener m;
    if (size_t slash = v.find('/'); slash != std::string_view::npos) {
      m.path = std::string(v.substr(slash));
      v = v.substr(0, slash);
    }
    const size_t colon = v.rfind(':');
    if (colon == std::string_view::npos)
      return fail(it->second, key, "expected http://host:port/path");
    std::string_view host = v.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
      host = host.substr(1, host.size() - 2);
    m.host = std::string(host);
    const std::string_view port = v.substr(colon + 1);
    unsigned parsed = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), parsed);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size() || parsed > 65535)
      return fail(it->second, key, fmt::format("'{}' is not a port", port));
    m.port = static_cast<uint16_t>(parsed);
    config.metrics_listener = std::move(m);
    return true;
  }

  // PLAINTEXT and SSL client listeners are served (an SSL listener's keys
  // are read by build_listener_tls at start-up); controller listeners belong
  // to KRaft's quorum, which a single-node broker does not run.
  bool select_client_listeners(std::vector<ListenerConfig>& listeners) {
    std::set<std::string, std::less<>> controller_names;
    if (auto it = config.properties.find("controller.listener.names");
        it != config.properties.end())
      for (auto n : split(it->second.value, ',')) controller_names.emplace(upper(n));
    std::map<std::string, std::string, std::less<>> protocol_of;
    auto map_it = config.properties.find("listener.security.protocol.map");
    if (map_it != config.properties.end()) {
      for (auto pair : split(map_it->second.value, ',')) {
        if (pair.empty()) continue;
        size_t colon = pair.find(':');
        if (colon == std::string_view::npos)
          return fail(map_it->second, "listener.security.protocol.map",
                      fmt::format("'{}' is not NAME:PROTOCOL", pair));
        protocol_of[upper(java_trim(pair.substr(0, colon)))] =
            upper(java_trim(pair.substr(colon + 1)));
      }
    }
    std::vector<ListenerConfig> served;
    for (auto& l : listeners) {
      if (controller_names.contains(l.name)) continue;
      auto p = protocol_of.find(l.name);
      std::string protocol = p == protocol_of.end() ? l.name : p->second;
      const auto& src = config.properties.find("listeners")->second;
      if (protocol == "PLAINTEXT") {
        l.protocol = SecurityProtocol::kPlaintext;
      } else if (protocol == "SSL") {
        l.protocol = SecurityProtocol::kSsl;
      } else if (protocol == "SASL_PLAINTEXT") {
        l.protocol = SecurityProtocol::kSaslPlaintext;
      } else if (protocol == "SASL_SSL") {
        l.protocol = SecurityProtocol::kSaslSsl;
      } else {
        return fail(src, "listeners",
                    fmt::format("no security protocol defined for listener {}", l.name));
      }
      served.push_back(l);
    }
    if (served.empty()) {
      const auto& src = config.properties.find("listeners")->second;
      return fail(src, "listeners", "no client listener");
    }
    listeners = std::move(served);
    return true;
  }
};

// Every entry Java's Properties.load reads is one: "key value" and a key alone
// (empty value) too; values are trimmed as Kafka's ConfigDef trims them.
bool read_properties(std::string_view text, std::string_view path, BrokerConfig& config,
                     std::string& error) {
  std::string syntax_error;
  std::vector<PropertyLine> entries = parse_java_properties(text, syntax_error);
  if (!syntax_error.empty()) {
    error = fmt::format("{}: {}", path, syntax_error);
    return false;
  }
  for (PropertyLine& entry : entries) {
    config.properties[std::move(entry.key)] =
        PropertySource{std::string(java_trim(entry.value)), fmt::format("{}:{}", path, entry.line)};
  }
  return true;
}

}  // namespace

ConfigResult parse_config(std::string_view text, std::string_view path,
                          const std::vector<std::string>& overrides) {
  ConfigBuilder b;
  if (!read_properties(text, path, b.config, b.error)) return {std::nullopt, b.error};
  for (const auto& o : overrides) {
    size_t eq = o.find('=');
    if (eq == std::string::npos || eq == 0)
      return {std::nullopt, fmt::format("--override '{}': expected key=value", o)};
    b.config.properties[std::string(java_trim(std::string_view(o).substr(0, eq)))] =
        PropertySource{std::string(java_trim(std::string_view(o).substr(eq + 1))), "--override"};
  }

  auto& c = b.config;
  auto& props = c.properties;
  if (!props.contains("listeners")) props["listeners"] = {"PLAINTEXT://:9092", "default"};
  bool ok = b.parse_listeners("listeners", c.listeners);
  if (ok) ok = b.select_client_listeners(c.listeners);
  c.advertised_listeners = c.listeners;
  if (ok && props.contains("advertised.listeners")) {
    ok = b.parse_listeners("advertised.listeners", c.advertised_listeners);
  }

  if (ok) ok = b.parse_metrics_listener();
  if (ok) {
    b.error = read_sasl_config(c);
    ok = b.error.empty();
  }
  if (ok) {
    auto value = [&](std::string_view key) -> std::optional<std::string> {
      auto it = props.find(key);
      if (it == props.end()) return std::nullopt;
      return it->second.value;
    };
    // The error starts with the key it is about.
    const std::string why =
        security::parse_authorizer_config(value("authorizer.class.name"), value("super.users"),
                                          value("allow.everyone.if.no.acl.found"), c.authorizer);
    if (!why.empty()) {
      const std::string key = why.substr(0, why.find(':'));
      ok = b.fail(props.at(key), key, why.substr(std::min(why.size(), key.size() + 2)));
    }
  }

  const char* dir_key = props.contains("log.dirs") ? "log.dirs" : "log.dir";
  if (auto it = props.find(dir_key); ok && it != props.end()) {
    for (auto d : split(it->second.value, ','))
      if (!d.empty()) c.log_dirs.emplace_back(d);
    if (c.log_dirs.empty()) ok = b.fail(it->second, dir_key, "no directory given");
  }
  if (c.log_dirs.empty()) c.log_dirs.emplace_back("/tmp/kraft-combined-logs");

  int64_t v = c.node_id;
  const char* id_key = props.contains("node.id") ? "node.id" : "broker.id";
  if (ok) ok = b.parse_int(id_key, 0, std::numeric_limits<int32_t>::max(), v);
  c.node_id = static_cast<int32_t>(v);
  v = c.socket_request_max_bytes;
  if (ok) ok = b.parse_int("socket.request.max.bytes", 64, std::numeric_limits<int32_t>::max(), v);
  c.socket_request_max_bytes = static_cast<int32_t>(v);
  v = c.max_connections;
  if (ok) ok = b.parse_int("max.connections", 1, std::numeric_limits<int32_t>::max(), v);
  c.max_connections = static_cast<int32_t>(v);
  v = c.socket_output_buffer_bytes;
  if (ok)
    ok = b.parse_int("kb.socket.output.buffer.bytes", 1024, std::numeric_limits<int32_t>::max(), v);
  c.socket_output_buffer_bytes = static_cast<int32_t>(v);

  // Topics and logs.
  constexpr int64_t kIntMax = std::numeric_limits<int32_t>::max();
  auto int_key = [&](std::string_view key, int64_t min, int64_t max, auto& field) {
    int64_t value = static_cast<int64_t>(field);
    if (ok) ok = b.parse_int(key, min, max, value);
    field = static_cast<std::remove_reference_t<decltype(field)>>(value);
  };
  auto choice = [&](std::string_view key, std::string_view if_true, std::string_view if_false,
                    bool& field) {
    auto it = props.find(key);
    if (!ok || it == props.end()) return;
    if (it->second.value == if_true)
      field = true;
    else if (it->second.value == if_false)
      field = false;
    else
      ok = b.fail(it->second, key,
                  fmt::format("'{}' is not {} or {}", it->second.value, if_true, if_false));
  };
  choice("auto.create.topics.enable", "true", "false", c.auto_create_topics);
  int_key("num.partitions", 1, 10000, c.num_partitions);
  int_key("quota.window.num", 1, std::numeric_limits<int32_t>::max(), c.quota_window_num);
  int_key("quota.window.size.seconds", 1, std::numeric_limits<int32_t>::max(),
          c.quota_window_size_seconds);
  int_key("max.connection.creation.rate", 0, kIntMax, c.max_connection_creation_rate);
  for (const auto& l : c.listeners) {
    int32_t rate = c.max_connection_creation_rate;
    int_key(cluster::listener_rate_config(l.name), 0, kIntMax, rate);
    c.listener_connection_creation_rate[l.name] = rate;
  }
  if (auto it = props.find("inter.broker.listener.name"); it != props.end()) {
    c.inter_broker_listener = upper(it->second.value);
  } else if (auto p = props.find("security.inter.broker.protocol"); p != props.end()) {
    c.inter_broker_listener = upper(p->second.value);
  }
  // message.max.bytes is the broker key; max.message.bytes (the topic key) is
  // accepted too.
  int_key(props.contains("message.max.bytes") ? "message.max.bytes" : "max.message.bytes", 0,
          kIntMax, c.log.max_message_bytes);
  int_key("log.segment.bytes", 14, kIntMax, c.log.segment_bytes);
  int_key("log.index.interval.bytes", 0, kIntMax, c.log.index_interval_bytes);
  int_key("kb.log.writeback.interval.bytes", 0, std::numeric_limits<int64_t>::max(),
          c.log.writeback_interval_bytes);
  int_key("kb.log.segment.preallocate.bytes", 0, std::numeric_limits<int64_t>::max(),
          c.log.segment_preallocate_bytes);
  int_key("log.flush.interval.messages", 1, std::numeric_limits<int64_t>::max(),
          c.log.flush_interval_messages);
  choice("log.message.timestamp.type", "LogAppendTime", "CreateTime", c.log.log_append_time);
  constexpr int64_t kLongMax = std::numeric_limits<int64_t>::max();
  int_key("log.flush.interval.ms", 0, kLongMax, c.log.flush_interval_ms);
  int_key("log.flush.scheduler.interval.ms", 1, kLongMax, c.log.flush_scheduler_interval_ms);
  int_key("log.flush.offset.checkpoint.interval.ms", 1, kIntMax,
          c.log.flush_checkpoint_interval_ms);
  // log.roll.ms wins over log.roll.hours, as in Kafka.
  if (props.contains("log.roll.ms")) {
    int_key("log.roll.ms", 1, kLongMax, c.log.roll_ms);
  } else if (props.contains("log.roll.hours")) {
    int64_t hours = 168;
    int_key("log.roll.hours", 1, kIntMax, hours);
    c.log.roll_ms = hours * 60 * 60 * 1000;
  }
  int_key("log.retention.check.interval.ms", 1, kLongMax, c.log.retention_check_interval_ms);
  {
    // Read through the config catalog (they are topic defaults); checked
    // here so that a bad value stops the start, as in Kafka.
    int64_t checked = 0;
    int_key("log.retention.ms", -1, kLongMax, checked);
    int_key("log.retention.minutes", -1, kIntMax, checked);
    int_key("log.retention.hours", -1, kIntMax, checked);
    int_key("log.retention.bytes", std::numeric_limits<int64_t>::min(), kLongMax, checked);
  }
  {
    // Read by the log cleaner (log_cleaning.cpp); checked here so that a bad
    // value stops the start, as Kafka's check of the map shared out among
    // the threads does.
    int64_t threads = 1;
    int64_t dedupe_bytes = int64_t{128} * 1024 * 1024;
    int_key("log.cleaner.threads", 0, kIntMax, threads);
    int_key("log.cleaner.dedupe.buffer.size", std::numeric_limits<int64_t>::min(), kLongMax,
            dedupe_bytes);
    if (ok && threads < 1) {
      b.error = fmt::format("{}: log.cleaner.threads must be at least 1", path);
      ok = false;
    }
    if (ok && dedupe_bytes / threads <= int64_t{1024} * 1024) {
      b.error = fmt::format(
          "{}: log.cleaner.dedupe.buffer.size must be at least 1MB per cleaner thread.", path);
      ok = false;
    }
  }
  int_key("log.message.timestamp.before.max.ms", 0, kLongMax, c.log.timestamp_before_max_ms);
  int_key("log.message.timestamp.after.max.ms", 0, kLongMax, c.log.timestamp_after_max_ms);

  // KRaft metadata snapshots and their retention (Kafka's keys and ranges).
  int_key("metadata.log.max.record.bytes.between.snapshots", 1, kLongMax,
          c.metadata_snapshots.max_bytes_between);
  int_key("metadata.log.max.snapshot.interval.ms", 0, kLongMax,
          c.metadata_snapshots.max_interval_ms);
  int_key("metadata.max.retention.bytes", std::numeric_limits<int64_t>::min(), kLongMax,
          c.metadata_snapshots.retention_bytes);
  int_key("metadata.max.retention.ms", std::numeric_limits<int64_t>::min(), kLongMax,
          c.metadata_snapshots.retention_ms);

  // Groups.
  int_key("group.min.session.timeout.ms", 0, kIntMax, c.groups.min_session_timeout_ms);
  int_key("group.max.session.timeout.ms", 0, kIntMax, c.groups.max_session_timeout_ms);
  int_key("group.initial.rebalance.delay.ms", 0, kIntMax, c.groups.initial_rebalance_delay_ms);
  int_key("group.max.size", 1, kIntMax, c.groups.max_size);
  int_key("offsets.topic.num.partitions", 1, 10000, c.groups.offsets_partitions);
  int_key("offset.metadata.max.bytes", 0, kIntMax, c.groups.max_metadata_bytes);
  int_key("offsets.topic.segment.bytes", 1024, kIntMax, c.groups.offsets_segment_bytes);
  int64_t retention_minutes = c.groups.offsets_retention_ms / 60000;
  int_key("offsets.retention.minutes", 1, kIntMax, retention_minutes);
  c.groups.offsets_retention_ms = retention_minutes * 60000;
  int_key("offsets.retention.check.interval.ms", 1, std::numeric_limits<int64_t>::max(),
          c.groups.retention_check_interval_ms);
  // Consumer groups (KIP-848): Kafka's defaults and bounds.
  int_key("group.consumer.session.timeout.ms", 1, kIntMax, c.groups.consumer_session_timeout_ms);
  int_key("group.consumer.heartbeat.interval.ms", 1, kIntMax,
          c.groups.consumer_heartbeat_interval_ms);
  int_key("group.consumer.max.size", 1, kIntMax, c.groups.consumer_max_size);
  {
    // Kafka's bounds: checked against each other here, as Kafka's group
    // coordinator checks them at start-up and refuses to start otherwise;
    // group configs read them from server.properties (cluster/group_configs).
    int64_t min_heartbeat = 5000;
    int64_t max_heartbeat = 15000;
    int64_t min_session = 45000;
    int64_t max_session = 60000;
    int_key("group.consumer.min.heartbeat.interval.ms", 1, kIntMax, min_heartbeat);
    int_key("group.consumer.max.heartbeat.interval.ms", 1, kIntMax, max_heartbeat);
    int_key("group.consumer.min.session.timeout.ms", 1, kIntMax, min_session);
    int_key("group.consumer.max.session.timeout.ms", 1, kIntMax, max_session);
    const int64_t heartbeat = c.groups.consumer_heartbeat_interval_ms;
    const int64_t session = c.groups.consumer_session_timeout_ms;
    auto require = [&](bool holds, std::string_view key, std::string_view relation,
                       std::string_view other) {
      if (!ok || holds) return;
      b.error = fmt::format("{}: {} must be {} {}", path, key, relation, other);
      ok = false;
    };
    require(max_heartbeat >= min_heartbeat, "group.consumer.max.heartbeat.interval.ms",
            "greater than or equal to", "group.consumer.min.heartbeat.interval.ms");
    require(heartbeat >= min_heartbeat, "group.consumer.heartbeat.interval.ms",
            "greater than or equal to", "group.consumer.min.heartbeat.interval.ms");
    require(heartbeat <= max_heartbeat, "group.consumer.heartbeat.interval.ms",
            "less than or equal to", "group.consumer.max.heartbeat.interval.ms");
    require(max_session >= min_session, "group.consumer.max.session.timeout.ms",
            "greater than or equal to", "group.consumer.min.session.timeout.ms");
    require(session >= min_session, "group.consumer.session.timeout.ms", "greater than or equal to",
            "group.consumer.min.session.timeout.ms");
    require(session <= max_session, "group.consumer.session.timeout.ms", "less than or equal to",
            "group.consumer.max.session.timeout.ms");
    require(heartbeat < session, "group.consumer.heartbeat.interval.ms", "less than",
            "group.consumer.session.timeout.ms");
  }
  // Share groups (KIP-932): Kafka's defaults and ranges.
  int_key("group.share.delivery.count.limit", 2, 10, c.shares.delivery_count_limit);
  int_key("group.share.record.lock.duration.ms", 1000, 3600000, c.shares.record_lock_duration_ms);
  int_key("group.share.partition.max.record.locks", 100, 10000, c.shares.max_record_locks);
  int_key("group.share.max.share.sessions", 1, kIntMax, c.share_max_sessions);
  int_key("share.coordinator.state.topic.num.partitions", 1, kIntMax,
          c.share_coordinator.state_topic_partitions);
  int_key("share.coordinator.state.topic.segment.bytes", 1, kIntMax,
          c.share_coordinator.state_topic_segment_bytes);
  int_key("share.coordinator.snapshot.update.records.per.snapshot", 0, 500,
          c.share_coordinator.snapshot_update_records_per_snapshot);
  int_key("share.coordinator.state.topic.prune.interval.ms", 1, kIntMax,
          c.share_state_prune_interval_ms);
  // Share groups (KIP-932): Kafka's defaults and bounds.
  int_key("group.share.session.timeout.ms", 1, kIntMax, c.groups.share_session_timeout_ms);
  int_key("group.share.heartbeat.interval.ms", 1, kIntMax, c.groups.share_heartbeat_interval_ms);
  int_key("group.share.max.size", 1, 1000, c.groups.share_max_size);
  {
    int64_t min_heartbeat = 5000;
    int64_t max_heartbeat = 15000;
    int64_t min_session = 45000;
    int64_t max_session = 60000;
    int_key("group.share.min.heartbeat.interval.ms", 1, kIntMax, min_heartbeat);
    int_key("group.share.max.heartbeat.interval.ms", 1, kIntMax, max_heartbeat);
    int_key("group.share.min.session.timeout.ms", 1, kIntMax, min_session);
    int_key("group.share.max.session.timeout.ms", 1, kIntMax, max_session);
    const int64_t heartbeat = c.groups.share_heartbeat_interval_ms;
    const int64_t session = c.groups.share_session_timeout_ms;
    auto require = [&](bool holds, std::string_view key, std::string_view relation,
                       std::string_view other) {
      if (!ok || holds) return;
      b.error = fmt::format("{}: {} must be {} {}", path, key, relation, other);
      ok = false;
    };
    require(heartbeat >= min_heartbeat, "group.share.heartbeat.interval.ms",
            "greater than or equal to", "group.share.min.heartbeat.interval.ms");
    require(heartbeat <= max_heartbeat, "group.share.heartbeat.interval.ms",
            "less than or equal to", "group.share.max.heartbeat.interval.ms");
    require(session >= min_session, "group.share.session.timeout.ms", "greater than or equal to",
            "group.share.min.session.timeout.ms");
    require(session <= max_session, "group.share.session.timeout.ms", "less than or equal to",
            "group.share.max.session.timeout.ms");
    require(heartbeat < session, "group.share.heartbeat.interval.ms", "less than",
            "group.share.session.timeout.ms");
  }
  if (auto it = props.find("group.consumer.assignors"); ok && it != props.end()) {
    // By name, or by the class names Kafka's defaults use.
    c.groups.consumer_assignors.clear();
    for (std::string_view item : split(it->second.value, ',')) {
      while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
      while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
      if (item.empty()) continue;
      if (item == "uniform" || item.ends_with(".UniformAssignor"))
        c.groups.consumer_assignors.emplace_back("uniform");
      else if (item == "range" || item.ends_with(".RangeAssignor"))
        c.groups.consumer_assignors.emplace_back("range");
      else
        ok = b.fail(it->second, "group.consumer.assignors",
                    fmt::format("'{}' is not an assignor this broker has (uniform, range)", item));
    }
    if (ok && c.groups.consumer_assignors.empty())
      ok = b.fail(it->second, "group.consumer.assignors", "no assignor given");
  }

  if (auto it = props.find("group.consumer.migration.policy"); ok && it != props.end()) {
    if (auto policy = group::parse_migration_policy(it->second.value))
      c.groups.consumer_migration_policy = *policy;
    else
      ok = b.fail(it->second, "group.consumer.migration.policy",
                  fmt::format("'{}' is not one of bidirectional, upgrade, downgrade, disabled",
                              it->second.value));
  }

  // Transactions.
  int_key("transaction.max.timeout.ms", 1, kIntMax, c.transactions.max_timeout_ms);
  int_key("transaction.state.log.num.partitions", 1, 10000, c.transactions.log_partitions);
  int_key("transaction.state.log.segment.bytes", 1024, kIntMax, c.transactions.log_segment_bytes);
  int_key("transactional.id.expiration.ms", 1, kIntMax, c.transactions.id_expiration_ms);
  int_key("transaction.abort.timed.out.transaction.cleanup.interval.ms", 1, kIntMax,
          c.transactions.abort_timed_out_interval_ms);
  int_key("transaction.remove.expired.transaction.cleanup.interval.ms", 1, kIntMax,
          c.transactions.remove_expired_interval_ms);

  if (!ok) return {std::nullopt, b.error};
  return {std::move(b.config), {}};
}

ConfigResult load_config(const std::string& path, const std::vector<std::string>& overrides) {
  if (path.empty()) return parse_config(kEmbeddedDefaults, "<embedded defaults>", overrides);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    return {std::nullopt, fmt::format("{}: not a readable configuration file", path)};
  std::ifstream in(path);
  if (!in) return {std::nullopt, fmt::format("{}: cannot read the configuration file", path)};
  std::stringstream text;
  text << in.rdbuf();
  return parse_config(text.str(), path, overrides);
}

}  // namespace kb::broker
