#pragma once

// The server-side assignors of consumer groups (KIP-848): pure functions from
// a group's members, their subscriptions and current target assignment, and
// the subscribed topics' partition counts, to a new target assignment.
//
// - uniform: every member gets as many partitions as the others, within one,
//   among the topics it subscribes to; a member keeps what it has while that
//   stays fair (sticky), so a rebalance moves as few partitions as it can.
// - range: per topic, the members subscribed to it (static members first, by
//   instance id, then the others by member id) get contiguous ranges of its
//   partitions, the first ones one more when they do not divide evenly.
// Both give what Kafka's UniformAssignor and RangeAssignor give when Kafka
// meets the members in member id order (it walks them in hash map order).

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "kb/wire/uuid.hpp"

namespace kb::group {

// Partitions by topic id.
using TopicPartitionSet = std::map<wire::Uuid, std::set<int32_t>>;

struct AssignorMember {
  std::string member_id;
  std::set<wire::Uuid> subscribed;         // topic ids that exist
  TopicPartitionSet current;               // its target assignment so far
  std::optional<std::string> instance_id;  // a static member's group.instance.id
};

struct AssignmentSpec {
  std::vector<AssignorMember> members;
  std::map<wire::Uuid, int32_t> partitions;  // partition count by topic id
};

// Member id -> partitions.
using GroupAssignment = std::map<std::string, TopicPartitionSet, std::less<>>;

inline constexpr std::string_view kUniformAssignor = "uniform";
inline constexpr std::string_view kRangeAssignor = "range";

GroupAssignment assign_uniform(const AssignmentSpec& spec);
GroupAssignment assign_range(const AssignmentSpec& spec);
// By name; nullopt for an assignor this broker does not have.
std::optional<GroupAssignment> assign(std::string_view assignor, const AssignmentSpec& spec);

}  // namespace kb::group
