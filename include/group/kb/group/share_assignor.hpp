#pragma once

// The share groups' assignor (KIP-932's "simple"): a pure function from the
// members' subscriptions, their target assignment so far and the partitions
// that may be assigned, to a new target assignment.
//
// Unlike a consumer group's, a partition of a share group may go to several
// members at once: with more members than partitions, each partition is
// shared by about members / partitions of them. The rules, balance first:
// - every partition is shared by the same number of members, ceil(M / P);
// - members get as many partitions as each other, within one;
// - a member keeps what it had while that stays within both (sticky).
// When all members subscribe to the same topics, the balance is over all the
// partitions together; otherwise over each topic's partitions among the
// members subscribed to it, and the topics' shares are combined.

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "kb/group/assignor.hpp"
#include "kb/wire/uuid.hpp"

namespace kb::group {

inline constexpr std::string_view kSimpleAssignor = "simple";

struct ShareAssignorMember {
  std::string member_id;
  std::set<wire::Uuid> subscribed;  // topic ids that exist
  TopicPartitionSet current;        // its target assignment so far
};

struct ShareAssignmentSpec {
  std::vector<ShareAssignorMember> members;
  // The partitions that may be assigned (those whose share state is
  // initialized), by topic id.
  TopicPartitionSet assignable;
};

// Every member of the spec has an entry (possibly empty).
GroupAssignment assign_simple(const ShareAssignmentSpec& spec);

}  // namespace kb::group
