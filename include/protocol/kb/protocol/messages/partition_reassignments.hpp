#pragma once

// AlterPartitionReassignments (45) and ListPartitionReassignments (46).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kb/protocol/api_key.hpp"

namespace kb::protocol {

struct AlterPartitionReassignmentsSchema {
  static constexpr ApiKey kApiKey = ApiKey::kAlterPartitionReassignments;
  static constexpr VersionRange kVersions{0, 0};  // validVersions "0"
  static constexpr int16_t kFirstFlexible = 0;
};

struct AlterPartitionReassignmentsRequest : AlterPartitionReassignmentsSchema {
  struct ReassignablePartition {
    int32_t partition_index = 0;
    // Null: cancel the partition's reassignment.
    std::optional<std::vector<int32_t>> replicas;
    template <class Io>
    void fields(Io& io) {
      io(partition_index);
      io(replicas);
    }
  };
  struct ReassignableTopic {
    std::string_view name;
    std::vector<ReassignablePartition> partitions;
    template <class Io>
    void fields(Io& io) {
      io(name);
      io(partitions);
    }
  };

  int32_t timeout_ms = 60000;
  std::vector<ReassignableTopic> topics;

  template <class Io>
  void fields(Io& io) {
    io(timeout_ms);
    io(topics);
  }
};

struct AlterPartitionReassignmentsResponse : AlterPartitionReassignmentsSchema {
  struct ReassignablePartitionResponse {
    int32_t partition_index = 0;
    int16_t error_code = 0;
    std::optional<std::string> error_message;
    template <class Io>
    void fields(Io& io) {
      io(partition_index);
      io(error_code);
      io(error_message);
    }
  };
  struct ReassignableTopicResponse {
    std::string name;
    std::vector<ReassignablePartitionResponse> partitions;
    template <class Io>
    void fields(Io& io) {
      io(name);
      io(partitions);
    }
  };

  int32_t throttle_time_ms = 0;
  int16_t error_code = 0;
  std::optional<std::string> error_message;
  std::vector<ReassignableTopicResponse> responses;

  template <class Io>
  void fields(Io& io) {
    io(throttle_time_ms);
    io(error_code);
    io(error_message);
    io(responses);
  }
};

struct ListPartitionReassignmentsSchema {
  static constexpr ApiKey kApiKey = ApiKey::kListPartitionReassignments;
  static constexpr VersionRange kVersions{0, 0};  // validVersions "0"
  static constexpr int16_t kFirstFlexible = 0;
};

struct ListPartitionReassignmentsRequest : ListPartitionReassignmentsSchema {
  struct ListPartitionReassignmentsTopics {
    std::string_view name;
    std::vector<int32_t> partition_indexes;
    template <class Io>
    void fields(Io& io) {
      io(name);
      io(partition_indexes);
    }
  };

  int32_t timeout_ms = 60000;
  // Null: every partition.
  std::optional<std::vector<ListPartitionReassignmentsTopics>> topics;

  template <class Io>
  void fields(Io& io) {
    io(timeout_ms);
    io(topics);
  }
};

struct ListPartitionReassignmentsResponse : ListPartitionReassignmentsSchema {
  struct OngoingPartitionReassignment {
    int32_t partition_index = 0;
    std::vector<int32_t> replicas;
    std::vector<int32_t> adding_replicas;
    std::vector<int32_t> removing_replicas;
    template <class Io>
    void fields(Io& io) {
      io(partition_index);
      io(replicas);
      io(adding_replicas);
      io(removing_replicas);
    }
  };
  struct OngoingTopicReassignment {
    std::string name;
    std::vector<OngoingPartitionReassignment> partitions;
    template <class Io>
    void fields(Io& io) {
      io(name);
      io(partitions);
    }
  };

  int32_t throttle_time_ms = 0;
  int16_t error_code = 0;
  std::optional<std::string> error_message;
  std::vector<OngoingTopicReassignment> topics;

  template <class Io>
  void fields(Io& io) {
    io(throttle_time_ms);
    io(error_code);
    io(error_message);
    io(topics);
  }
};

}  // namespace kb::protocol
