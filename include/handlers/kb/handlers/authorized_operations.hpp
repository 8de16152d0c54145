#pragma once

#include <cstdint>
#include <string_view>

#include "kb/handlers/api_registry.hpp"
#include "kb/protocol/error_code.hpp"

namespace kb::handlers {

// Without an authorizer every operation is allowed, and Kafka reports the
// full bit sets of its ACL operations.
// Topic: READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS.
inline constexpr int32_t kAllTopicOperations =
    (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 10) | (1 << 11);
// Cluster: CREATE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS,
// IDEMPOTENT_WRITE.
inline constexpr int32_t kAllClusterOperations =
    (1 << 5) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 12);

// Group: READ, DELETE, DESCRIBE.
inline constexpr int32_t kAllGroupOperations = (1 << 3) | (1 << 6) | (1 << 8);

// DescribeConfigs and the AlterConfigs APIs: `op` (DESCRIBE_CONFIGS or
// ALTER_CONFIGS) on the topic or group named, or on the cluster for a broker,
// broker logger or client metrics resource. The error Kafka answers when it
// is denied, with its message, or kNone.
struct ConfigDenial {
  protocol::ErrorCode error = protocol::ErrorCode::kNone;
  std::string_view message;
};
inline ConfigDenial config_denial(const RequestContext& ctx, security::AclOperation op,
                                  int8_t resource_type, std::string_view name) {
  using protocol::ErrorCode;
  constexpr int8_t kTopic = 2, kGroup = 32;
  if (resource_type == kTopic) {
    if (!ctx.authorized(op, security::ResourceType::kTopic, name))
      return {ErrorCode::kTopicAuthorizationFailed, "Topic authorization failed."};
  } else if (resource_type == kGroup) {
    if (!ctx.authorized(op, security::ResourceType::kGroup, name))
      return {ErrorCode::kGroupAuthorizationFailed, "Group authorization failed."};
  } else if (!ctx.authorized_cluster(op)) {
    return {ErrorCode::kClusterAuthorizationFailed, "Cluster authorization failed."};
  }
  return {};
}

}  // namespace kb::handlers
