#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "kb/protocol/api_key.hpp"

namespace kb::protocol {

struct HeartbeatSchema {
  static constexpr ApiKey kApiKey = ApiKey::kHeartbeat;
  static constexpr VersionRange kVersions{0, 4};  // validVersions "0-4"
  static constexpr int16_t kFirstFlexible = 4;
};

struct HeartbeatRequest : HeartbeatSchema {
  std::string_view group_id;
  int32_t generation_id = 0;
  std::string_view member_id;
  std::optional<std::string_view> group_instance_id;  // v3+

  template <class Io>
  void fields(Io& io) {
    io(group_id);
    io(generation_id);
    io(member_id);
    if (io.version >= 3) io(group_instance_id);
  }
};

struct HeartbeatResponse : HeartbeatSchema {
  int32_t throttle_time_ms = 0;  // v1+
  int16_t error_code = 0;

  template <class Io>
  void fields(Io& io) {
    if (io.version >= 1) io(throttle_time_ms);
    io(error_code);
  }
};

}  // namespace kb::protocol
