#pragma once

#include <cstdint>

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

}  // namespace kb::handlers
