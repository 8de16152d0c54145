#pragma once

// Named values of message fields whose meaning is one of Kafka's Java enums
// (the schemas carry them as plain int8). The generated message headers that
// use them include this file.

#include <cstdint>

namespace kb::protocol {

// The UNKNOWN code of Kafka's ResourceType, PatternType, AclOperation and
// AclPermissionType: a request carrying it is refused at parsing.
inline constexpr int8_t kAclUnknownCode = 0;
inline constexpr int8_t kLiteralPatternType = 3;  // PatternType.LITERAL, v0's only type

// DescribeCluster's EndpointType.
inline constexpr int8_t kBrokerEndpoints = 1;
inline constexpr int8_t kControllerEndpoints = 2;

// DescribeClientQuotas' MatchType (ClientQuotaFilterComponent): a name, the
// default entity of the type, or any entity of the type.
inline constexpr int8_t kQuotaMatchExact = 0;
inline constexpr int8_t kQuotaMatchDefault = 1;
inline constexpr int8_t kQuotaMatchSpecified = 2;

}  // namespace kb::protocol
