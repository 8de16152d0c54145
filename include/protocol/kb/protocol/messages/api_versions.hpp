#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kb/protocol/api_key.hpp"

namespace kb::protocol {

struct ApiVersionsSchema {
  static constexpr ApiKey kApiKey = ApiKey::kApiVersions;
  static constexpr VersionRange kVersions{0, 4};
  static constexpr int16_t kFirstFlexible = 3;
};

struct ApiVersionsRequest : ApiVersionsSchema {
  std::string_view client_software_name;
  std::string_view client_software_version;

  template <class Io>
  void fields(Io& io) {
    if (io.version >= 3) {
      io(client_software_name);
      io(client_software_version);
    }
  }
};

struct ApiVersionsResponse : ApiVersionsSchema {
  struct ApiVersion {
    int16_t api_key = 0;
    int16_t min_version = 0;
    int16_t max_version = 0;
    template <class Io>
    void fields(Io& io) {
      io(api_key);
      io(min_version);
      io(max_version);
    }
  };
  struct SupportedFeature {
    std::string name;
    int16_t min_version = 0;
    int16_t max_version = 0;
    template <class Io>
    void fields(Io& io) {
      io(name);
      io(min_version);
      io(max_version);
    }
    bool operator==(const SupportedFeature&) const = default;
  };
  struct FinalizedFeature {
    std::string name;
    int16_t max_version_level = 0;
    int16_t min_version_level = 0;
    template <class Io>
    void fields(Io& io) {
      io(name);
      io(max_version_level);
      io(min_version_level);
    }
    bool operator==(const FinalizedFeature&) const = default;
  };

  int16_t error_code = 0;
  std::vector<ApiVersion> api_keys;
  int32_t throttle_time_ms = 0;
  std::vector<SupportedFeature> supported_features;
  int64_t finalized_features_epoch = -1;
  std::vector<FinalizedFeature> finalized_features;
  bool zk_migration_ready = false;

  template <class Io>
  void fields(Io& io) {
    io(error_code);
    io(api_keys);
    if (io.version >= 1) io(throttle_time_ms);
  }
  template <class Tags>
  void tagged_fields(Tags& t) {
    if (t.version < 3) return;
    t(0, supported_features);
    t(1, finalized_features_epoch, int64_t{-1});
    t(2, finalized_features);
    t(3, zk_migration_ready);
  }
};

}  // namespace kb::protocol
