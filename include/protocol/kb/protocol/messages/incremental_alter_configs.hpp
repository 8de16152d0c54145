#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "kb/protocol/api_key.hpp"
#include "kb/protocol/messages/alter_configs.hpp"

namespace kb::protocol {

struct IncrementalAlterConfigsSchema {
  static constexpr ApiKey kApiKey = ApiKey::kIncrementalAlterConfigs;
  static constexpr VersionRange kVersions{0, 1};  // validVersions "0-1"
  static constexpr int16_t kFirstFlexible = 1;
};

struct IncrementalAlterableConfig {
  std::string_view name;
  int8_t config_operation = 0;  // 0 SET, 1 DELETE, 2 APPEND, 3 SUBTRACT
  std::optional<std::string_view> value;
  template <class Io>
  void fields(Io& io) {
    io(name);
    io(config_operation);
    io(value);
  }
};

struct IncrementalAlterConfigsRequest : IncrementalAlterConfigsSchema,
                                        AlterConfigsRequestBody<IncrementalAlterableConfig> {};

struct IncrementalAlterConfigsResponse : IncrementalAlterConfigsSchema, AlterConfigsResponseBody {};

}  // namespace kb::protocol
