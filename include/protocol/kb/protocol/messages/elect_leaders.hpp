#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kb/protocol/api_key.hpp"

namespace kb::protocol {

struct ElectLeadersSchema {
  static constexpr ApiKey kApiKey = ApiKey::kElectLeaders;
  static constexpr VersionRange kVersions{0, 2};  // validVersions "0-2"
  static constexpr int16_t kFirstFlexible = 2;
};

struct ElectLeadersRequest : ElectLeadersSchema {
  struct TopicPartitions {
    std::string_view topic;
    std::vector<int32_t> partitions;
    template <class Io>
    void fields(Io& io) {
      io(topic);
      io(partitions);
    }
  };

  int8_t election_type = 0;  // v1+: 0 preferred, 1 unclean
  // Null: every partition.
  std::optional<std::vector<TopicPartitions>> topic_partitions;
  int32_t timeout_ms = 60000;

  template <class Io>
  void fields(Io& io) {
    if (io.version >= 1) io(election_type);
    io(topic_partitions);
    io(timeout_ms);
  }
};

struct ElectLeadersResponse : ElectLeadersSchema {
  struct PartitionResult {
    int32_t partition_id = 0;
    int16_t error_code = 0;
    std::optional<std::string> error_message;
    template <class Io>
    void fields(Io& io) {
      io(partition_id);
      io(error_code);
      io(error_message);
    }
  };
  struct ReplicaElectionResult {
    std::string topic;
    std::vector<PartitionResult> partition_result;
    template <class Io>
    void fields(Io& io) {
      io(topic);
      io(partition_result);
    }
  };

  int32_t throttle_time_ms = 0;
  int16_t error_code = 0;  // v1+
  std::vector<ReplicaElectionResult> replica_election_results;

  template <class Io>
  void fields(Io& io) {
    io(throttle_time_ms);
    if (io.version >= 1) io(error_code);
    io(replica_election_results);
  }
};

}  // namespace kb::protocol
