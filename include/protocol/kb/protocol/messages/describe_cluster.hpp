#pragma once

#include <climits>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kb/protocol/api_key.hpp"

namespace kb::protocol {

// Flexible at every version.
struct DescribeClusterSchema {
  static constexpr ApiKey kApiKey = ApiKey::kDescribeCluster;
  static constexpr VersionRange kVersions{0, 1};  // validVersions "0-1"
  static constexpr int16_t kFirstFlexible = 0;
  static constexpr int8_t kBrokerEndpoints = 1;
  static constexpr int8_t kControllerEndpoints = 2;
};

struct DescribeClusterRequest : DescribeClusterSchema {
  bool include_cluster_authorized_operations = false;
  int8_t endpoint_type = kBrokerEndpoints;  // v1+

  template <class Io>
  void fields(Io& io) {
    io(include_cluster_authorized_operations);
    if (io.version >= 1) io(endpoint_type);
  }
};

struct DescribeClusterResponse : DescribeClusterSchema {
  struct DescribeClusterBroker {
    int32_t broker_id = 0;
    std::string host;
    int32_t port = 0;
    std::optional<std::string> rack;
    template <class Io>
    void fields(Io& io) {
      io(broker_id);
      io(host);
      io(port);
      io(rack);
    }
  };

  int32_t throttle_time_ms = 0;
  int16_t error_code = 0;
  std::optional<std::string> error_message;
  int8_t endpoint_type = kBrokerEndpoints;  // v1+
  std::string cluster_id;
  int32_t controller_id = -1;
  std::vector<DescribeClusterBroker> brokers;
  int32_t cluster_authorized_operations = INT32_MIN;

  template <class Io>
  void fields(Io& io) {
    io(throttle_time_ms);
    io(error_code);
    io(error_message);
    if (io.version >= 1) io(endpoint_type);
    io(cluster_id);
    io(controller_id);
    io(brokers);
    io(cluster_authorized_operations);
  }
};

}  // namespace kb::protocol
