#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kb/protocol/api_key.hpp"

namespace kb::protocol {

struct DescribeGroupsSchema {
  static constexpr ApiKey kApiKey = ApiKey::kDescribeGroups;
  static constexpr VersionRange kVersions{0, 5};  // validVersions "0-5"
  static constexpr int16_t kFirstFlexible = 5;
};

struct DescribeGroupsRequest : DescribeGroupsSchema {
  std::vector<std::string_view> groups;
  bool include_authorized_operations = false;  // v3+

  template <class Io>
  void fields(Io& io) {
    io(groups);
    if (io.version >= 3) io(include_authorized_operations);
  }
};

struct DescribeGroupsResponse : DescribeGroupsSchema {
  struct DescribedGroupMember {
    std::string member_id;
    std::optional<std::string> group_instance_id;  // v4+
    std::string client_id;
    std::string client_host;
    std::vector<uint8_t> member_metadata;
    std::vector<uint8_t> member_assignment;
    template <class Io>
    void fields(Io& io) {
      io(member_id);
      if (io.version >= 4) io(group_instance_id);
      io(client_id);
      io(client_host);
      io(member_metadata);
      io(member_assignment);
    }
  };
  struct DescribedGroup {
    int16_t error_code = 0;
    std::string group_id;
    std::string group_state;
    std::string protocol_type;
    std::string protocol_data;
    std::vector<DescribedGroupMember> members;
    int32_t authorized_operations = INT32_MIN;  // v3+
    template <class Io>
    void fields(Io& io) {
      io(error_code);
      io(group_id);
      io(group_state);
      io(protocol_type);
      io(protocol_data);
      io(members);
      if (io.version >= 3) io(authorized_operations);
    }
  };

  int32_t throttle_time_ms = 0;  // v1+
  std::vector<DescribedGroup> groups;

  template <class Io>
  void fields(Io& io) {
    if (io.version >= 1) io(throttle_time_ms);
    io(groups);
  }
};

}  // namespace kb::protocol
