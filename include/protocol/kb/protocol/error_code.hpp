#pragma once

#include <cstdint>

namespace kb::protocol {

// Kafka protocol error codes (the subset this broker returns).
enum class ErrorCode : int16_t {
  kUnknownServerError = -1,
  kNone = 0,
  kOffsetOutOfRange = 1,
  kCorruptMessage = 2,
  kUnknownTopicOrPartition = 3,
  kLeaderNotAvailable = 5,
  kNotLeaderOrFollower = 6,
  kRequestTimedOut = 7,
  kMessageTooLarge = 10,
  kOffsetMetadataTooLarge = 12,
  kCoordinatorLoadInProgress = 14,
  kCoordinatorNotAvailable = 15,
  kNotCoordinator = 16,
  kInvalidTopicException = 17,
  kRecordListTooLarge = 18,
  kInvalidRequiredAcks = 21,
  kIllegalGeneration = 22,
  kInconsistentGroupProtocol = 23,
  kInvalidGroupId = 24,
  kUnknownMemberId = 25,
  kInvalidSessionTimeout = 26,
  kRebalanceInProgress = 27,
  kInvalidTimestamp = 32,
  kUnsupportedVersion = 35,
  kTopicAlreadyExists = 36,
  kInvalidPartitions = 37,
  kInvalidReplicationFactor = 38,
  kInvalidReplicaAssignment = 39,
  kInvalidConfig = 40,
  kInvalidRequest = 42,
  kPolicyViolation = 44,
  kTransactionalIdAuthorizationFailed = 53,
  kSecurityDisabled = 54,
  kFetchSessionIdNotFound = 70,
  kTopicDeletionDisabled = 73,
  kUnsupportedCompressionType = 76,
  kInvalidRecord = 87,
  kUnknownTopicId = 100,
  kKafkaStorageError = 56,
  kLogDirNotFound = 57,
  kFencedLeaderEpoch = 74,
  kUnknownLeaderEpoch = 75,
  kPreferredLeaderNotAvailable = 80,
  kEligibleLeadersNotAvailable = 83,
  kElectionNotNeeded = 84,
  kNoReassignmentInProgress = 85,
  kOutOfOrderSequenceNumber = 45,
  kDuplicateSequenceNumber = 46,
  kInvalidProducerEpoch = 47,
  kMemberIdRequired = 79,
  kNonEmptyGroup = 68,
  kGroupIdNotFound = 69,
  kGroupSubscribedToTopic = 86,
  kGroupMaxSizeReached = 81,
  kFencedInstanceId = 82,
  kUnsupportedEndpointType = 115,
};

constexpr int16_t to_wire(ErrorCode e) { return static_cast<int16_t>(e); }

}  // namespace kb::protocol
