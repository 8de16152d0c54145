#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kb/protocol/api_key.hpp"

namespace kb::protocol {

struct AlterConfigsSchema {
  static constexpr ApiKey kApiKey = ApiKey::kAlterConfigs;
  static constexpr VersionRange kVersions{0, 2};  // validVersions "0-2"
  static constexpr int16_t kFirstFlexible = 2;
};

// The request body AlterConfigs and IncrementalAlterConfigs share; each has
// its own config entry (`Config`).
template <class Config>
struct AlterConfigsRequestBody {
  struct AlterConfigsResource {
    int8_t resource_type = 0;
    std::string_view resource_name;
    std::vector<Config> configs;
    template <class Io>
    void fields(Io& io) {
      io(resource_type);
      io(resource_name);
      io(configs);
    }
  };

  std::vector<AlterConfigsResource> resources;
  bool validate_only = false;

  template <class Io>
  void fields(Io& io) {
    io(resources);
    io(validate_only);
  }
};

struct AlterableConfig {
  std::string_view name;
  std::optional<std::string_view> value;
  template <class Io>
  void fields(Io& io) {
    io(name);
    io(value);
  }
};

struct AlterConfigsRequest : AlterConfigsSchema, AlterConfigsRequestBody<AlterableConfig> {};

// One resource's outcome; AlterConfigs and IncrementalAlterConfigs answer
// with the same fields.
struct AlterConfigsResourceResponse {
  int16_t error_code = 0;
  std::optional<std::string> error_message;
  int8_t resource_type = 0;
  std::string resource_name;
  template <class Io>
  void fields(Io& io) {
    io(error_code);
    io(error_message);
    io(resource_type);
    io(resource_name);
  }
};

// The response body both APIs share.
struct AlterConfigsResponseBody {
  int32_t throttle_time_ms = 0;
  std::vector<AlterConfigsResourceResponse> responses;

  template <class Io>
  void fields(Io& io) {
    io(throttle_time_ms);
    io(responses);
  }
};

struct AlterConfigsResponse : AlterConfigsSchema, AlterConfigsResponseBody {};

}  // namespace kb::protocol
