#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kb/protocol/api_key.hpp"
#include "kb/wire/serde.hpp"

namespace kb::protocol {

struct SyncGroupSchema {
  static constexpr ApiKey kApiKey = ApiKey::kSyncGroup;
  static constexpr VersionRange kVersions{0, 5};  // validVersions "0-5"
  static constexpr int16_t kFirstFlexible = 4;
};

struct SyncGroupRequest : SyncGroupSchema {
  struct SyncGroupRequestAssignment {
    std::string_view member_id;
    wire::Bytes assignment;
    template <class Io>
    void fields(Io& io) {
      io(member_id);
      io(assignment);
    }
  };

  std::string_view group_id;
  int32_t generation_id = 0;
  std::string_view member_id;
  std::optional<std::string_view> group_instance_id;  // v3+
  std::optional<std::string_view> protocol_type;      // v5+
  std::optional<std::string_view> protocol_name;      // v5+
  std::vector<SyncGroupRequestAssignment> assignments;

  template <class Io>
  void fields(Io& io) {
    io(group_id);
    io(generation_id);
    io(member_id);
    if (io.version >= 3) io(group_instance_id);
    if (io.version >= 5) {
      io(protocol_type);
      io(protocol_name);
    }
    io(assignments);
  }
};

struct SyncGroupResponse : SyncGroupSchema {
  int32_t throttle_time_ms = 0;  // v1+
  int16_t error_code = 0;
  std::optional<std::string> protocol_type;  // v5+
  std::optional<std::string> protocol_name;  // v5+
  std::vector<uint8_t> assignment;

  template <class Io>
  void fields(Io& io) {
    if (io.version >= 1) io(throttle_time_ms);
    io(error_code);
    if (io.version >= 5) {
      io(protocol_type);
      io(protocol_name);
    }
    io(assignment);
  }
};

}  // namespace kb::protocol
