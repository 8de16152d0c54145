#pragma once

// Shared by the topic admin handlers (CreateTopics, DeleteTopics,
// CreatePartitions): error mapping and Kafka's duplicate-name rule.

#include <set>
#include <string>
#include <string_view>

#include "kb/cluster/topic_admin.hpp"
#include "kb/protocol/error_code.hpp"

namespace kb::handlers {

inline protocol::ErrorCode to_error_code(cluster::AdminError error) {
  using cluster::AdminError;
  using protocol::ErrorCode;
  switch (error) {
    case AdminError::kNone:
      return ErrorCode::kNone;
    case AdminError::kInvalidName:
      return ErrorCode::kInvalidTopicException;
    case AdminError::kAlreadyExists:
      return ErrorCode::kTopicAlreadyExists;
    case AdminError::kInvalidPartitions:
      return ErrorCode::kInvalidPartitions;
    case AdminError::kInvalidReplicationFactor:
      return ErrorCode::kInvalidReplicationFactor;
    case AdminError::kInvalidReplicaAssignment:
      return ErrorCode::kInvalidReplicaAssignment;
    case AdminError::kInvalidConfig:
      return ErrorCode::kInvalidConfig;
    case AdminError::kInvalidRequest:
      return ErrorCode::kInvalidRequest;
    case AdminError::kUnknownTopic:
      return ErrorCode::kUnknownTopicOrPartition;
    case AdminError::kStorage:
      return ErrorCode::kKafkaStorageError;
    case AdminError::kPolicyViolation:
      return ErrorCode::kPolicyViolation;
  }
  return ErrorCode::kUnknownServerError;
}

inline constexpr std::string_view kDuplicateTopicName = "Duplicate topic name.";

// Names that appear more than once in a request: Kafka answers each of them
// once with INVALID_REQUEST and acts on none of them.
template <class Range, class NameOf>
std::set<std::string, std::less<>> duplicated_names(const Range& items, NameOf name_of) {
  std::set<std::string, std::less<>> seen, duplicated;
  for (const auto& item : items) {
    std::string name(name_of(item));
    if (!seen.insert(name).second) duplicated.insert(std::move(name));
  }
  return duplicated;
}

}  // namespace kb::handlers
