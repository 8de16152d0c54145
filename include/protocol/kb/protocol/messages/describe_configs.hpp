#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kb/protocol/api_key.hpp"

namespace kb::protocol {

struct DescribeConfigsSchema {
  static constexpr ApiKey kApiKey = ApiKey::kDescribeConfigs;
  static constexpr VersionRange kVersions{0, 4};  // validVersions "0-4"
  static constexpr int16_t kFirstFlexible = 4;
};

struct DescribeConfigsRequest : DescribeConfigsSchema {
  struct DescribeConfigsResource {
    int8_t resource_type = 0;  // 2 = topic, 4 = broker, 8 = broker logger
    std::string_view resource_name;
    std::optional<std::vector<std::string_view>> configuration_keys;  // null: every key
    template <class Io>
    void fields(Io& io) {
      io(resource_type);
      io(resource_name);
      io(configuration_keys);
    }
  };

  std::vector<DescribeConfigsResource> resources;
  bool include_synonyms = false;       // v1+
  bool include_documentation = false;  // v3+

  template <class Io>
  void fields(Io& io) {
    io(resources);
    if (io.version >= 1) io(include_synonyms);
    if (io.version >= 3) io(include_documentation);
  }
};

struct DescribeConfigsResponse : DescribeConfigsSchema {
  struct DescribeConfigsSynonym {
    std::string name;
    std::optional<std::string> value;
    int8_t source = 0;
    template <class Io>
    void fields(Io& io) {
      io(name);
      io(value);
      io(source);
    }
  };
  struct DescribeConfigsResourceResult {
    std::string name;
    std::optional<std::string> value;
    bool read_only = false;
    bool is_default = false;    // v0 only
    int8_t config_source = -1;  // v1+
    bool is_sensitive = false;
    std::vector<DescribeConfigsSynonym> synonyms;  // v1+
    int8_t config_type = 0;                        // v3+
    std::optional<std::string> documentation;      // v3+
    template <class Io>
    void fields(Io& io) {
      io(name);
      io(value);
      io(read_only);
      if (io.version == 0) io(is_default);
      if (io.version >= 1) io(config_source);
      io(is_sensitive);
      if (io.version >= 1) io(synonyms);
      if (io.version >= 3) {
        io(config_type);
        io(documentation);
      }
    }
  };
  struct DescribeConfigsResult {
    int16_t error_code = 0;
    std::optional<std::string> error_message;
    int8_t resource_type = 0;
    std::string resource_name;
    std::vector<DescribeConfigsResourceResult> configs;
    template <class Io>
    void fields(Io& io) {
      io(error_code);
      io(error_message);
      io(resource_type);
      io(resource_name);
      io(configs);
    }
  };

  int32_t throttle_time_ms = 0;
  std::vector<DescribeConfigsResult> results;

  template <class Io>
  void fields(Io& io) {
    io(throttle_time_ms);
    io(results);
  }
};

}  // namespace kb::protocol
