#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kb/protocol/api_key.hpp"

namespace kb::protocol {

struct ListGroupsSchema {
  static constexpr ApiKey kApiKey = ApiKey::kListGroups;
  static constexpr VersionRange kVersions{0, 5};  // validVersions "0-5"
  static constexpr int16_t kFirstFlexible = 3;
};

struct ListGroupsRequest : ListGroupsSchema {
  std::vector<std::string_view> states_filter;  // v4+; empty: any state
  std::vector<std::string_view> types_filter;   // v5+; empty: any type

  template <class Io>
  void fields(Io& io) {
    if (io.version >= 4) io(states_filter);
    if (io.version >= 5) io(types_filter);
  }
};

struct ListGroupsResponse : ListGroupsSchema {
  struct ListedGroup {
    std::string group_id;
    std::string protocol_type;
    std::string group_state;  // v4+
    std::string group_type;   // v5+
    template <class Io>
    void fields(Io& io) {
      io(group_id);
      io(protocol_type);
      if (io.version >= 4) io(group_state);
      if (io.version >= 5) io(group_type);
    }
  };

  int32_t throttle_time_ms = 0;  // v1+
  int16_t error_code = 0;
  std::vector<ListedGroup> groups;

  template <class Io>
  void fields(Io& io) {
    if (io.version >= 1) io(throttle_time_ms);
    io(error_code);
    io(groups);
  }
};

}  // namespace kb::protocol
