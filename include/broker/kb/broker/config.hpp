#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kb/cluster/broker_state.hpp"
#include "kb/cluster/metadata_snapshots.hpp"
#include "kb/group/coordinator.hpp"
#include "kb/security/sasl_mechanisms.hpp"
#include "kb/txn/coordinator.hpp"

namespace kb::broker {

// One key=value as written, with where it came from for error messages.
struct PropertySource {
  std::string value;
  std::string origin;  // "path:line" or "--override"
};

// Kafka's security protocols (listener.security.protocol.map's values).
enum class SecurityProtocol { kPlaintext, kSsl, kSaslPlaintext, kSaslSsl };

struct ListenerConfig {
  std::string name;  // PLAINTEXT, or a name mapped by listener.security.protocol.map
  SecurityProtocol protocol = SecurityProtocol::kPlaintext;
  std::string host;  // empty: every interface
  uint16_t port = 0;
};

// Everything the broker reads from server.properties. Keys the broker does
// not use yet are kept in `properties` for later features.
struct BrokerConfig {
  std::vector<ListenerConfig> listeners;             // served client listeners
  std::vector<ListenerConfig> advertised_listeners;  // what Metadata will announce
  std::vector<std::string> log_dirs;
  int32_t node_id = 1;
  int32_t socket_request_max_bytes = 104857600;
  int32_t max_connections = 100000;
  // Unsent responses one connection may queue before the broker stops
  // reading its requests (kb.socket.output.buffer.bytes, this broker's own key).
  int32_t socket_output_buffer_bytes = 4 * 1024 * 1024;
  // kb.metrics.listener (this broker's own key): where Prometheus scrapes its
  // metrics, as http://host:port/path (no key: no endpoint).
  struct MetricsListener {
    std::string host;  // empty: every interface
    uint16_t port = 0;
    std::string path = "/metrics";
  };
  std::optional<MetricsListener> metrics_listener;
  bool auto_create_topics = true;  // auto.create.topics.enable
  int32_t num_partitions = 1;      // num.partitions
  cluster::LogConfig log;          // message.max.bytes, log.segment.bytes, log.flush.*, ...
  group::GroupConfig groups;       // group.*.session.timeout.ms, offsets.topic.num.partitions, ...
  txn::TxnConfig transactions;     // transaction.max.timeout.ms, transaction.state.log.*, ...
  // Client quotas are measured over quota.window.num windows of
  // quota.window.size.seconds.
  int32_t quota_window_num = 11;
  int32_t quota_window_size_seconds = 1;
  // max.connection.creation.rate, and each listener's
  // listener.name.<l>.max.connection.creation.rate (by listener name; the
  // broker's value where not set), as Kafka's ConnectionQuotas reads them.
  int32_t max_connection_creation_rate = INT32_MAX;
  std::map<std::string, int32_t, std::less<>> listener_connection_creation_rate;
  // The listener Kafka would use between brokers (inter.broker.listener.name,
  // else the one named for security.inter.broker.protocol): with several
  // listeners, the broker-wide connection rate leaves it alone.
  std::string inter_broker_listener = "PLAINTEXT";
  // metadata.log.max.record.bytes.between.snapshots, metadata.log.max.snapshot.interval.ms,
  // metadata.max.retention.bytes, metadata.max.retention.ms
  cluster::MetadataSnapshotOptions metadata_snapshots;
  // The SASL mechanisms of each SASL listener, by listener name (sasl_config.hpp).
  std::map<std::string, security::SaslMechanisms, std::less<>> sasl;
  // authorizer.class.name, super.users, allow.everyone.if.no.acl.found.
  security::AuthorizerConfig authorizer;
  std::map<std::string, PropertySource, std::less<>> properties;
};

struct ConfigResult {
  std::optional<BrokerConfig> config;
  std::string error;  // one line naming the file, line and key
};

// Reads a Kafka server.properties text (key=value or key: value, '#' and '!'
// comments, blank lines, trailing-backslash continuations). `overrides` are
// "key=value" strings from the command line and win over the file.
ConfigResult parse_config(std::string_view text, std::string_view path,
                          const std::vector<std::string>& overrides);

// Reads the file at path (or, when path is empty, uses the embedded defaults).
ConfigResult load_config(const std::string& path, const std::vector<std::string>& overrides);

}  // namespace kb::broker
