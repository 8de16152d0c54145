#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kb/protocol/api_key.hpp"
#include "kb/wire/serde.hpp"

namespace kb::protocol {

struct JoinGroupSchema {
  static constexpr ApiKey kApiKey = ApiKey::kJoinGroup;
  static constexpr VersionRange kVersions{0, 9};  // validVersions "0-9"
  static constexpr int16_t kFirstFlexible = 6;
};

struct JoinGroupRequest : JoinGroupSchema {
  struct JoinGroupRequestProtocol {
    std::string_view name;
    wire::Bytes metadata;
    template <class Io>
    void fields(Io& io) {
      io(name);
      io(metadata);
    }
  };

  std::string_view group_id;
  int32_t session_timeout_ms = 0;
  int32_t rebalance_timeout_ms = -1;  // v1+
  std::string_view member_id;
  std::optional<std::string_view> group_instance_id;  // v5+
  std::string_view protocol_type;
  std::vector<JoinGroupRequestProtocol> protocols;
  std::optional<std::string_view> reason;  // v8+

  template <class Io>
  void fields(Io& io) {
    io(group_id);
    io(session_timeout_ms);
    if (io.version >= 1) io(rebalance_timeout_ms);
    io(member_id);
    if (io.version >= 5) io(group_instance_id);
    io(protocol_type);
    io(protocols);
    if (io.version >= 8) io(reason);
  }
};

struct JoinGroupResponse : JoinGroupSchema {
  struct JoinGroupResponseMember {
    std::string member_id;
    std::optional<std::string> group_instance_id;  // v5+
    std::vector<uint8_t> metadata;
    template <class Io>
    void fields(Io& io) {
      io(member_id);
      if (io.version >= 5) io(group_instance_id);
      io(metadata);
    }
  };

  int32_t throttle_time_ms = 0;  // v2+
  int16_t error_code = 0;
  int32_t generation_id = -1;
  std::optional<std::string> protocol_type;  // v7+
  std::optional<std::string> protocol_name;  // nullable from v7 only
  std::string leader;
  bool skip_assignment = false;  // v9+
  std::string member_id;
  std::vector<JoinGroupResponseMember> members;

  template <class Io>
  void fields(Io& io) {
    if (io.version >= 2) io(throttle_time_ms);
    io(error_code);
    io(generation_id);
    if (io.version >= 7) io(protocol_type);
    io(protocol_name);
    io(leader);
    if (io.version >= 9) io(skip_assignment);
    io(member_id);
    io(members);
  }
};

}  // namespace kb::protocol
