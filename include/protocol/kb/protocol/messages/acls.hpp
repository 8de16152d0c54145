#pragma once

// The ACL APIs: DescribeAcls (29), CreateAcls (30), DeleteAcls (31). Kafka
// 4.x serves versions 1-3 (KIP-896 removed 0); the messages define 0-3.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kb/protocol/api_key.hpp"

namespace kb::protocol {

// The UNKNOWN code of Kafka's ResourceType, PatternType, AclOperation and
// AclPermissionType: a request carrying it is refused at parsing.
inline constexpr int8_t kAclUnknownCode = 0;
inline constexpr int8_t kLiteralPatternType = 3;  // PatternType.LITERAL, v0's only type

struct DescribeAclsSchema {
  static constexpr ApiKey kApiKey = ApiKey::kDescribeAcls;
  static constexpr VersionRange kVersions{0, 3};  // validVersions "0-3"
  static constexpr int16_t kFirstFlexible = 2;
};

struct DescribeAclsRequest : DescribeAclsSchema {
  int8_t resource_type_filter = 0;
  std::optional<std::string_view> resource_name_filter;  // null: any name
  int8_t pattern_type_filter = kLiteralPatternType;      // v1+
  std::optional<std::string_view> principal_filter;      // null: any principal
  std::optional<std::string_view> host_filter;           // null: any host
  int8_t operation = 0;
  int8_t permission_type = 0;

  template <class Io>
  void fields(Io& io) {
    io(resource_type_filter);
    io(resource_name_filter);
    if (io.version >= 1) io(pattern_type_filter);
    io(principal_filter);
    io(host_filter);
    io(operation);
    io(permission_type);
  }
};

struct DescribeAclsResponse : DescribeAclsSchema {
  struct AclDescription {
    std::string principal;
    std::string host;
    int8_t operation = 0;
    int8_t permission_type = 0;
    template <class Io>
    void fields(Io& io) {
      io(principal);
      io(host);
      io(operation);
      io(permission_type);
    }
  };
  struct Resource {
    int8_t resource_type = 0;
    std::string resource_name;
    int8_t pattern_type = kLiteralPatternType;  // v1+
    std::vector<AclDescription> acls;
    template <class Io>
    void fields(Io& io) {
      io(resource_type);
      io(resource_name);
      if (io.version >= 1) io(pattern_type);
      io(acls);
    }
  };

  int32_t throttle_time_ms = 0;
  int16_t error_code = 0;
  std::optional<std::string> error_message;
  std::vector<Resource> resources;

  template <class Io>
  void fields(Io& io) {
    io(throttle_time_ms);
    io(error_code);
    io(error_message);
    io(resources);
  }
};

struct CreateAclsSchema {
  static constexpr ApiKey kApiKey = ApiKey::kCreateAcls;
  static constexpr VersionRange kVersions{0, 3};  // validVersions "0-3"
  static constexpr int16_t kFirstFlexible = 2;
};

struct CreateAclsRequest : CreateAclsSchema {
  struct Creation {
    int8_t resource_type = 0;
    std::string_view resource_name;
    int8_t resource_pattern_type = kLiteralPatternType;  // v1+
    std::string_view principal;
    std::string_view host;
    int8_t operation = 0;
    int8_t permission_type = 0;
    template <class Io>
    void fields(Io& io) {
      io(resource_type);
      io(resource_name);
      if (io.version >= 1) io(resource_pattern_type);
      io(principal);
      io(host);
      io(operation);
      io(permission_type);
    }
  };

  std::vector<Creation> creations;

  template <class Io>
  void fields(Io& io) {
    io(creations);
  }
};

struct CreateAclsResponse : CreateAclsSchema {
  struct Result {
    int16_t error_code = 0;
    std::optional<std::string> error_message;
    template <class Io>
    void fields(Io& io) {
      io(error_code);
      io(error_message);
    }
  };

  int32_t throttle_time_ms = 0;
  std::vector<Result> results;

  template <class Io>
  void fields(Io& io) {
    io(throttle_time_ms);
    io(results);
  }
};

struct DeleteAclsSchema {
  static constexpr ApiKey kApiKey = ApiKey::kDeleteAcls;
  static constexpr VersionRange kVersions{0, 3};  // validVersions "0-3"
  static constexpr int16_t kFirstFlexible = 2;
};

struct DeleteAclsRequest : DeleteAclsSchema {
  struct Filter {
    int8_t resource_type_filter = 0;
    std::optional<std::string_view> resource_name_filter;
    int8_t pattern_type_filter = kLiteralPatternType;  // v1+
    std::optional<std::string_view> principal_filter;
    std::optional<std::string_view> host_filter;
    int8_t operation = 0;
    int8_t permission_type = 0;
    template <class Io>
    void fields(Io& io) {
      io(resource_type_filter);
      io(resource_name_filter);
      if (io.version >= 1) io(pattern_type_filter);
      io(principal_filter);
      io(host_filter);
      io(operation);
      io(permission_type);
    }
  };

  std::vector<Filter> filters;

  template <class Io>
  void fields(Io& io) {
    io(filters);
  }
};

struct DeleteAclsResponse : DeleteAclsSchema {
  struct MatchingAcl {
    int16_t error_code = 0;
    std::optional<std::string> error_message;
    int8_t resource_type = 0;
    std::string resource_name;
    int8_t pattern_type = kLiteralPatternType;  // v1+
    std::string principal;
    std::string host;
    int8_t operation = 0;
    int8_t permission_type = 0;
    template <class Io>
    void fields(Io& io) {
      io(error_code);
      io(error_message);
      io(resource_type);
      io(resource_name);
      if (io.version >= 1) io(pattern_type);
      io(principal);
      io(host);
      io(operation);
      io(permission_type);
    }
  };
  struct FilterResult {
    int16_t error_code = 0;
    std::optional<std::string> error_message;
    std::vector<MatchingAcl> matching_acls;
    template <class Io>
    void fields(Io& io) {
      io(error_code);
      io(error_message);
      io(matching_acls);
    }
  };

  int32_t throttle_time_ms = 0;
  std::vector<FilterResult> filter_results;

  template <class Io>
  void fields(Io& io) {
    io(throttle_time_ms);
    io(filter_results);
  }
};

}  // namespace kb::protocol
