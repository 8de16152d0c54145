#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kb/protocol/api_key.hpp"
#include "kb/wire/uuid.hpp"

namespace kb::protocol {

// DescribeTopicPartitions: every version is flexible.
struct DescribeTopicPartitionsSchema {
  static constexpr ApiKey kApiKey = ApiKey::kDescribeTopicPartitions;
  static constexpr VersionRange kVersions{0, 0};  // validVersions "0"
  static constexpr int16_t kFirstFlexible = 0;
};

struct DescribeTopicPartitionsRequest : DescribeTopicPartitionsSchema {
  struct TopicRequest {
    std::string_view name;
    template <class Io>
    void fields(Io& io) {
      io(name);
    }
  };
  struct Cursor {
    std::string_view topic_name;
    int32_t partition_index = 0;
    template <class Io>
    void fields(Io& io) {
      io(topic_name);
      io(partition_index);
    }
  };

  std::vector<TopicRequest> topics;
  int32_t response_partition_limit = 2000;
  std::optional<Cursor> cursor;  // null: start from the first topic

  template <class Io>
  void fields(Io& io) {
    io(topics);
    io(response_partition_limit);
    io(cursor);
  }
};

struct DescribeTopicPartitionsResponse : DescribeTopicPartitionsSchema {
  struct DescribeTopicPartitionsResponsePartition {
    int16_t error_code = 0;
    int32_t partition_index = 0;
    int32_t leader_id = 0;
    int32_t leader_epoch = -1;
    std::vector<int32_t> replica_nodes;
    std::vector<int32_t> isr_nodes;
    std::optional<std::vector<int32_t>> eligible_leader_replicas;
    std::optional<std::vector<int32_t>> last_known_elr;
    std::vector<int32_t> offline_replicas;
    template <class Io>
    void fields(Io& io) {
      io(error_code);
      io(partition_index);
      io(leader_id);
      io(leader_epoch);
      io(replica_nodes);
      io(isr_nodes);
      io(eligible_leader_replicas);
      io(last_known_elr);
      io(offline_replicas);
    }
  };
  struct DescribeTopicPartitionsResponseTopic {
    int16_t error_code = 0;
    std::optional<std::string> name;
    wire::Uuid topic_id;
    bool is_internal = false;
    std::vector<DescribeTopicPartitionsResponsePartition> partitions;
    int32_t topic_authorized_operations = INT32_MIN;
    template <class Io>
    void fields(Io& io) {
      io(error_code);
      io(name);
      io(topic_id);
      io(is_internal);
      io(partitions);
      io(topic_authorized_operations);
    }
  };
  struct Cursor {
    std::string topic_name;
    int32_t partition_index = 0;
    template <class Io>
    void fields(Io& io) {
      io(topic_name);
      io(partition_index);
    }
  };

  int32_t throttle_time_ms = 0;
  std::vector<DescribeTopicPartitionsResponseTopic> topics;
  std::optional<Cursor> next_cursor;  // null: nothing left to describe

  template <class Io>
  void fields(Io& io) {
    io(throttle_time_ms);
    io(topics);
    io(next_cursor);
  }
};

}  // namespace kb::protocol
