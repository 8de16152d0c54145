#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kb/protocol/api_key.hpp"

namespace kb::protocol {

struct DeleteGroupsSchema {
  static constexpr ApiKey kApiKey = ApiKey::kDeleteGroups;
  static constexpr VersionRange kVersions{0, 2};  // validVersions "0-2"
  static constexpr int16_t kFirstFlexible = 2;
};

struct DeleteGroupsRequest : DeleteGroupsSchema {
  std::vector<std::string_view> groups_names;

  template <class Io>
  void fields(Io& io) {
    io(groups_names);
  }
};

struct DeleteGroupsResponse : DeleteGroupsSchema {
  struct DeletableGroupResult {
    std::string group_id;
    int16_t error_code = 0;
    template <class Io>
    void fields(Io& io) {
      io(group_id);
      io(error_code);
    }
  };

  int32_t throttle_time_ms = 0;
  std::vector<DeletableGroupResult> results;

  template <class Io>
  void fields(Io& io) {
    io(throttle_time_ms);
    io(results);
  }
};

}  // namespace kb::protocol
