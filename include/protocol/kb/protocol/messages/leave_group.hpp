#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kb/protocol/api_key.hpp"

namespace kb::protocol {

// LeaveGroup: one member up to v2, a batch of members from v3.
struct LeaveGroupSchema {
  static constexpr ApiKey kApiKey = ApiKey::kLeaveGroup;
  static constexpr VersionRange kVersions{0, 5};  // validVersions "0-5"
  static constexpr int16_t kFirstFlexible = 4;
};

struct LeaveGroupRequest : LeaveGroupSchema {
  struct MemberIdentity {
    std::string_view member_id;
    std::optional<std::string_view> group_instance_id;
    std::optional<std::string_view> reason;  // v5+
    template <class Io>
    void fields(Io& io) {
      io(member_id);
      io(group_instance_id);
      if (io.version >= 5) io(reason);
    }
  };

  std::string_view group_id;
  std::string_view member_id;           // v0-2
  std::vector<MemberIdentity> members;  // v3+

  template <class Io>
  void fields(Io& io) {
    io(group_id);
    if (io.version <= 2) io(member_id);
    if (io.version >= 3) io(members);
  }
};

struct LeaveGroupResponse : LeaveGroupSchema {
  struct MemberResponse {
    std::string member_id;
    std::optional<std::string> group_instance_id;
    int16_t error_code = 0;
    template <class Io>
    void fields(Io& io) {
      io(member_id);
      io(group_instance_id);
      io(error_code);
    }
  };

  int32_t throttle_time_ms = 0;  // v1+
  int16_t error_code = 0;
  std::vector<MemberResponse> members;  // v3+

  template <class Io>
  void fields(Io& io) {
    if (io.version >= 1) io(throttle_time_ms);
    io(error_code);
    if (io.version >= 3) io(members);
  }
};

}  // namespace kb::protocol
