#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kb/protocol/api_key.hpp"

namespace kb::protocol {

// FindCoordinator: one key up to v3, a batch of keys from v4.
struct FindCoordinatorSchema {
  static constexpr ApiKey kApiKey = ApiKey::kFindCoordinator;
  static constexpr VersionRange kVersions{0, 6};  // validVersions "0-6"
  static constexpr int16_t kFirstFlexible = 3;
};

struct FindCoordinatorRequest : FindCoordinatorSchema {
  std::string_view key;                            // v0-3
  int8_t key_type = 0;                             // v1+ (0 group, 1 transaction)
  std::vector<std::string_view> coordinator_keys;  // v4+

  template <class Io>
  void fields(Io& io) {
    if (io.version <= 3) io(key);
    if (io.version >= 1) io(key_type);
    if (io.version >= 4) io(coordinator_keys);
  }
};

struct FindCoordinatorResponse : FindCoordinatorSchema {
  struct Coordinator {
    std::string key;
    int32_t node_id = 0;
    std::string host;
    int32_t port = 0;
    int16_t error_code = 0;
    std::optional<std::string> error_message;
    template <class Io>
    void fields(Io& io) {
      io(key);
      io(node_id);
      io(host);
      io(port);
      io(error_code);
      io(error_message);
    }
  };

  int32_t throttle_time_ms = 0;              // v1+
  int16_t error_code = 0;                    // v0-3
  std::optional<std::string> error_message;  // v1-3
  int32_t node_id = 0;                       // v0-3
  std::string host;                          // v0-3
  int32_t port = 0;                          // v0-3
  std::vector<Coordinator> coordinators;     // v4+

  template <class Io>
  void fields(Io& io) {
    if (io.version >= 1) io(throttle_time_ms);
    if (io.version <= 3) {
      io(error_code);
      if (io.version >= 1) io(error_message);
      io(node_id);
      io(host);
      io(port);
    }
    if (io.version >= 4) io(coordinators);
  }
};

}  // namespace kb::protocol
