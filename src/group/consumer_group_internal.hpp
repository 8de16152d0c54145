#pragma once

// What the consumer group's files share (consumer_group.cpp, the classic
// protocol served by consumer groups, and the changes of protocol): how
// members become records.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kb/group/consumer_group.hpp"

namespace kb::group::consumer_detail {

using TargetTopicPartition = ConsumerGroupTargetAssignmentMemberValue::TopicPartition;

// The record structs of a target assignment and of a current one each have
// their own (generated) type of topic partitions.
template <class TopicPartitions>
std::vector<TopicPartitions> to_records(const TopicPartitionSet& set) {
  std::vector<TopicPartitions> out;
  out.reserve(set.size());
  for (const auto& [topic, parts] : set) {
    if (parts.empty()) continue;
    TopicPartitions& t = out.emplace_back();
    t.topic_id = topic;
    t.partitions.assign(parts.begin(), parts.end());
  }
  return out;
}

template <class TopicPartitions>
TopicPartitionSet from_records(const std::vector<TopicPartitions>& records) {
  TopicPartitionSet out;
  for (const auto& t : records)
    if (!t.partitions.empty()) out[t.topic_id].insert(t.partitions.begin(), t.partitions.end());
  return out;
}

// Kafka's member ids (KIP-1082 lets clients make them): a random UUID's
// text form.
std::string random_member_id();
ConsumerGroupMemberMetadataValue metadata_value(const ConsumerMember& m);
ConsumerGroupCurrentMemberAssignmentValue assignment_value(const ConsumerMember& m);
ConsumerGroupChange change(int16_t type, std::string member_id,
                           std::optional<ConsumerGroupChange::Value> value);
// The name of a topic by id: from the group's subscription metadata (what it
// assigned from), else from the topic table; none when neither knows it.
std::optional<std::string> topic_name(const ConsumerGroup& group, const wire::Uuid& id,
                                      const cluster::TopicTable* topics);
// The record a change is written as.
CoordinatorRecord to_record(std::string_view group_id, const ConsumerGroupChange& change);
bool same_metadata(const ConsumerMember& a, const ConsumerMember& b);
bool same_reconciliation(const ConsumerMember& a, const ConsumerMember& b);

}  // namespace kb::group::consumer_detail
