#pragma once

#include <climits>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kb/protocol/api_key.hpp"
#include "kb/wire/uuid.hpp"

namespace kb::protocol {

struct ConsumerGroupDescribeSchema {
  static constexpr ApiKey kApiKey = ApiKey::kConsumerGroupDescribe;
  static constexpr VersionRange kVersions{0, 1};  // validVersions "0-1"
  static constexpr int16_t kFirstFlexible = 0;
};

struct ConsumerGroupDescribeRequest : ConsumerGroupDescribeSchema {
  std::vector<std::string_view> group_ids;
  bool include_authorized_operations = false;

  template <class Io>
  void fields(Io& io) {
    io(group_ids);
    io(include_authorized_operations);
  }
};

struct ConsumerGroupDescribeResponse : ConsumerGroupDescribeSchema {
  struct TopicPartitions {
    wire::Uuid topic_id;
    std::string topic_name;
    std::vector<int32_t> partitions;
    template <class Io>
    void fields(Io& io) {
      io(topic_id);
      io(topic_name);
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
  struct Member {
    std::string member_id;
    std::optional<std::string> instance_id;
    std::optional<std::string> rack_id;
    int32_t member_epoch = 0;
    std::string client_id;
    std::string client_host;
    std::vector<std::string> subscribed_topic_names;
    std::optional<std::string> subscribed_topic_regex;
    Assignment assignment;
    Assignment target_assignment;
    int8_t member_type = -1;  // v1+: 0 classic, 1 consumer protocol
    template <class Io>
    void fields(Io& io) {
      io(member_id);
      io(instance_id);
      io(rack_id);
      io(member_epoch);
      io(client_id);
      io(client_host);
      io(subscribed_topic_names);
      io(subscribed_topic_regex);
      io(assignment);
      io(target_assignment);
      if (io.version >= 1) io(member_type);
    }
  };
  struct DescribedGroup {
    int16_t error_code = 0;
    std::optional<std::string> error_message;
    std::string group_id;
    std::string group_state;
    int32_t group_epoch = 0;
    int32_t assignment_epoch = 0;
    std::string assignor_name;
    std::vector<Member> members;
    int32_t authorized_operations = INT32_MIN;
    template <class Io>
    void fields(Io& io) {
      io(error_code);
      io(error_message);
      io(group_id);
      io(group_state);
      io(group_epoch);
      io(assignment_epoch);
      io(assignor_name);
      io(members);
      io(authorized_operations);
    }
  };

  int32_t throttle_time_ms = 0;
  std::vector<DescribedGroup> groups;

  template <class Io>
  void fields(Io& io) {
    io(throttle_time_ms);
    io(groups);
  }
};

}  // namespace kb::protocol
