#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kb/protocol/api_key.hpp"
#include "kb/wire/uuid.hpp"

namespace kb::protocol {

struct MetadataSchema {
  static constexpr ApiKey kApiKey = ApiKey::kMetadata;
  static constexpr VersionRange kVersions{0, 12};  // validVersions "0-12"
  static constexpr int16_t kFirstFlexible = 9;
};

struct MetadataRequest : MetadataSchema {
  struct MetadataRequestTopic {
    wire::Uuid topic_id;  // v10+
    // Nullable from v10 only (a topic may then be named by id alone).
    std::optional<std::string_view> name;
    template <class Io>
    void fields(Io& io) {
      if (io.version >= 10) io(topic_id);
      io(name);
    }
  };

  // Nullable from v1 only: null asks for every topic (v0 used an empty array).
  std::optional<std::vector<MetadataRequestTopic>> topics;
  bool allow_auto_topic_creation = true;               // v4+
  bool include_cluster_authorized_operations = false;  // v8-10
  bool include_topic_authorized_operations = false;    // v8+

  template <class Io>
  void fields(Io& io) {
    io(topics);
    if (io.version >= 4) io(allow_auto_topic_creation);
    if (io.version >= 8 && io.version <= 10) io(include_cluster_authorized_operations);
    if (io.version >= 8) io(include_topic_authorized_operations);
  }
};

struct MetadataResponse : MetadataSchema {
  struct MetadataResponseBroker {
    int32_t node_id = 0;
    std::string host;
    int32_t port = 0;
    std::optional<std::string> rack;  // v1+
    template <class Io>
    void fields(Io& io) {
      io(node_id);
      io(host);
      io(port);
      if (io.version >= 1) io(rack);
    }
  };
  struct MetadataResponsePartition {
    int16_t error_code = 0;
    int32_t partition_index = 0;
    int32_t leader_id = 0;
    int32_t leader_epoch = -1;  // v7+
    std::vector<int32_t> replica_nodes;
    std::vector<int32_t> isr_nodes;
    std::vector<int32_t> offline_replicas;  // v5+
    template <class Io>
    void fields(Io& io) {
      io(error_code);
      io(partition_index);
      io(leader_id);
      if (io.version >= 7) io(leader_epoch);
      io(replica_nodes);
      io(isr_nodes);
      if (io.version >= 5) io(offline_replicas);
    }
  };
  struct MetadataResponseTopic {
    int16_t error_code = 0;
    std::optional<std::string> name;  // nullable from v12 only
    wire::Uuid topic_id;              // v10+
    bool is_internal = false;         // v1+
    std::vector<MetadataResponsePartition> partitions;
    int32_t topic_authorized_operations = INT32_MIN;  // v8+
    template <class Io>
    void fields(Io& io) {
      io(error_code);
      io(name);
      if (io.version >= 10) io(topic_id);
      if (io.version >= 1) io(is_internal);
      io(partitions);
      if (io.version >= 8) io(topic_authorized_operations);
    }
  };

  int32_t throttle_time_ms = 0;  // v3+
  std::vector<MetadataResponseBroker> brokers;
  std::optional<std::string> cluster_id;  // v2+
  int32_t controller_id = -1;             // v1+
  std::vector<MetadataResponseTopic> topics;
  int32_t cluster_authorized_operations = INT32_MIN;  // v8-10

  template <class Io>
  void fields(Io& io) {
    if (io.version >= 3) io(throttle_time_ms);
    io(brokers);
    if (io.version >= 2) io(cluster_id);
    if (io.version >= 1) io(controller_id);
    io(topics);
    if (io.version >= 8 && io.version <= 10) io(cluster_authorized_operations);
  }
};

}  // namespace kb::protocol
