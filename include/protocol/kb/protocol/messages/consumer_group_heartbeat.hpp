#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kb/protocol/api_key.hpp"
#include "kb/wire/uuid.hpp"

namespace kb::protocol {

struct ConsumerGroupHeartbeatSchema {
  static constexpr ApiKey kApiKey = ApiKey::kConsumerGroupHeartbeat;
  static constexpr VersionRange kVersions{0, 1};  // validVersions "0-1"
  static constexpr int16_t kFirstFlexible = 0;
};

struct ConsumerGroupHeartbeatRequest : ConsumerGroupHeartbeatSchema {
  struct TopicPartitions {
    wire::Uuid topic_id;
    std::vector<int32_t> partitions;
    template <class Io>
    void fields(Io& io) {
      io(topic_id);
      io(partitions);
    }
  };

  std::string_view group_id;
  std::string_view member_id;
  int32_t member_epoch = 0;
  std::optional<std::string_view> instance_id;
  std::optional<std::string_view> rack_id;
  int32_t rebalance_timeout_ms = -1;
  std::optional<std::vector<std::string_view>> subscribed_topic_names;
  std::optional<std::string_view> subscribed_topic_regex;  // v1+
  std::optional<std::string_view> server_assignor;
  std::optional<std::vector<TopicPartitions>> topic_partitions;

  template <class Io>
  void fields(Io& io) {
    io(group_id);
    io(member_id);
    io(member_epoch);
    io(instance_id);
    io(rack_id);
    io(rebalance_timeout_ms);
    io(subscribed_topic_names);
    if (io.version >= 1) io(subscribed_topic_regex);
    io(server_assignor);
    io(topic_partitions);
  }
};

struct ConsumerGroupHeartbeatResponse : ConsumerGroupHeartbeatSchema {
  struct TopicPartitions {
    wire::Uuid topic_id;
    std::vector<int32_t> partitions;
    template <class Io>
    void fields(Io& io) {
      io(topic_id);
      io(partitions);
    }
  };
  struct Assignment {
    std::vector<TopicPartitions> topic_partitions;
    template <class Io>
    void fields(Io& io) {
      io(topic_partitions);
    }
  };

  int32_t throttle_time_ms = 0;
  int16_t error_code = 0;
  std::optional<std::string> error_message;
  std::optional<std::string> member_id;
  int32_t member_epoch = 0;
  int32_t heartbeat_interval_ms = 0;
  std::optional<Assignment> assignment;

  template <class Io>
  void fields(Io& io) {
    io(throttle_time_ms);
    io(error_code);
    io(error_message);
    io(member_id);
    io(member_epoch);
    io(heartbeat_interval_ms);
    io(assignment);
  }
};

}  // namespace kb::protocol
