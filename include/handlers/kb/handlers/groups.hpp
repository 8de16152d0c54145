#pragma once

// The group coordinator's APIs: FindCoordinator, the classic group protocol
// (JoinGroup, SyncGroup, Heartbeat, LeaveGroup), ListGroups, DescribeGroups,
// OffsetCommit, OffsetFetch, DeleteGroups and OffsetDelete, and KIP-848's
// consumer groups (ConsumerGroupHeartbeat, ConsumerGroupDescribe). They turn
// requests into calls on ctx.groups (kb/group/coordinator.hpp).

#include <string>
#include <utility>
#include <vector>

#include "kb/cluster/topic_table.hpp"
#include "kb/group/coordinator.hpp"
#include "kb/handlers/api_registry.hpp"
#include "kb/protocol/error_code.hpp"
#include "kb/protocol/messages/consumer_group_describe.hpp"
#include "kb/protocol/messages/consumer_group_heartbeat.hpp"
#include "kb/protocol/messages/delete_groups.hpp"
#include "kb/protocol/messages/describe_groups.hpp"
#include "kb/protocol/messages/find_coordinator.hpp"
#include "kb/protocol/messages/heartbeat.hpp"
#include "kb/protocol/messages/join_group.hpp"
#include "kb/protocol/messages/leave_group.hpp"
#include "kb/protocol/messages/list_groups.hpp"
#include "kb/protocol/messages/offset_commit.hpp"
#include "kb/protocol/messages/offset_delete.hpp"
#include "kb/protocol/messages/offset_fetch.hpp"
#include "kb/protocol/messages/sync_group.hpp"

namespace kb::handlers {

// The coordinator's clock: the request's time in steady milliseconds.
group::Millis group_time(Clock::time_point t);
Clock::time_point from_group_time(group::Millis ms);
// The topics as the coordinator sees them, with a version that moves with
// every metadata change (topics created, deleted or grown among them).
group::TopicsView topics_view(const RequestContext& ctx);

// A heartbeat's outcome (ConsumerGroupHeartbeat, ShareGroupHeartbeat) into
// its response: the error, or the member's id, epoch, interval and the
// assignment when it changed.
template <class Response, class Result>
void fill_heartbeat_response(Response& response, Result& result) {
  response.error_code = result.error;
  response.error_message = std::move(result.error_message);
  if (result.error != 0) return;
  response.member_id = std::move(result.member_id);
  response.member_epoch = result.member_epoch;
  response.heartbeat_interval_ms = result.heartbeat_interval_ms;
  if (result.assignment) {
    auto& assignment = response.assignment.emplace();
    for (const auto& [topic, parts] : *result.assignment)
      assignment.topic_partitions.push_back(
          {topic, std::vector<int32_t>(parts.begin(), parts.end())});
  }
}

// The partitions of an OffsetCommit or TxnOffsetCommit: each gets its entry
// in the response, those of unknown topics or partitions refused there; the
// others are listed for the coordinator with where their error code goes.
// With `by_id` (OffsetCommit 10, TxnOffsetCommit 6) topics are named by id:
// an id no topic has refuses all its partitions with UNKNOWN_TOPIC_ID, as
// Kafka's KafkaApis does before the coordinator sees them; the others commit
// under the topic's name. Then partitions of topics the principal may not
// READ (`ctx` given) are refused with TOPIC_AUTHORIZATION_FAILED before their
// existence is looked at.
template <class RequestTopics, class ResponseTopics>
void sort_commit_partitions(const cluster::TopicTable& topics, const RequestTopics& requested,
                            ResponseTopics& answered,
                            std::vector<group::CommitPartition>& partitions,
                            std::vector<int16_t*>& error_slots, bool by_id = false,
                            const RequestContext* ctx = nullptr) {
  // The name each requested topic commits under (empty: refused).
  std::vector<std::string_view> names;
  names.reserve(requested.size());
  for (const auto& t : requested) {
    auto& out = answered.emplace_back();
    out.name = std::string(t.name);
    const cluster::TopicInfo* topic = nullptr;
    bool unknown_id = false;
    if constexpr (requires { t.topic_id; }) {
      out.topic_id = t.topic_id;
      topic = by_id ? topics.find(t.topic_id) : topics.find(t.name);
      unknown_id = by_id && topic == nullptr;
    } else {
      topic = topics.find(t.name);
    }
    const std::string_view name = topic ? std::string_view(topic->name) : std::string_view(t.name);
    names.push_back(topic ? name : std::string_view());
    const bool may_read =
        unknown_id || ctx == nullptr ||
        ctx->authorized(security::AclOperation::kRead, security::ResourceType::kTopic, name);
    for (const auto& p : t.partitions) {
      auto& op = out.partitions.emplace_back();
      op.partition_index = p.partition_index;
      if (unknown_id)
        op.error_code = protocol::to_wire(protocol::ErrorCode::kUnknownTopicId);
      else if (!may_read)
        op.error_code = protocol::to_wire(protocol::ErrorCode::kTopicAuthorizationFailed);
      else if (!topic || !topic->partition(p.partition_index))
        op.error_code = protocol::to_wire(protocol::ErrorCode::kUnknownTopicOrPartition);
    }
  }
  // Pointers into `answered` once it is complete (it no longer moves).
  for (size_t ti = 0; ti < requested.size(); ++ti) {
    const auto& t = requested[ti];
    for (size_t pi = 0; pi < t.partitions.size(); ++pi) {
      auto& op = answered[ti].partitions[pi];
      if (op.error_code != 0) continue;
      const auto& p = t.partitions[pi];
      partitions.push_back({names[ti], p.partition_index, p.committed_offset,
                            p.committed_leader_epoch, p.committed_metadata});
      error_slots.push_back(&op.error_code);
    }
  }
}

std::optional<protocol::FindCoordinatorResponse> handle_find_coordinator(
    RequestContext& ctx, const protocol::FindCoordinatorRequest& request, int16_t version);
std::optional<protocol::JoinGroupResponse> handle_join_group(
    RequestContext& ctx, const protocol::JoinGroupRequest& request, int16_t version);
std::optional<protocol::SyncGroupResponse> handle_sync_group(
    RequestContext& ctx, const protocol::SyncGroupRequest& request, int16_t version);
std::optional<protocol::HeartbeatResponse> handle_heartbeat(
    RequestContext& ctx, const protocol::HeartbeatRequest& request, int16_t version);
std::optional<protocol::LeaveGroupResponse> handle_leave_group(
    RequestContext& ctx, const protocol::LeaveGroupRequest& request, int16_t version);
std::optional<protocol::ListGroupsResponse> handle_list_groups(
    RequestContext& ctx, const protocol::ListGroupsRequest& request, int16_t version);
std::optional<protocol::DescribeGroupsResponse> handle_describe_groups(
    RequestContext& ctx, const protocol::DescribeGroupsRequest& request, int16_t version);
std::optional<protocol::OffsetCommitResponse> handle_offset_commit(
    RequestContext& ctx, const protocol::OffsetCommitRequest& request, int16_t version);
std::optional<protocol::OffsetFetchResponse> handle_offset_fetch(
    RequestContext& ctx, const protocol::OffsetFetchRequest& request, int16_t version);
std::optional<protocol::DeleteGroupsResponse> handle_delete_groups(
    RequestContext& ctx, const protocol::DeleteGroupsRequest& request, int16_t version);
std::optional<protocol::OffsetDeleteResponse> handle_offset_delete(
    RequestContext& ctx, const protocol::OffsetDeleteRequest& request, int16_t version);

std::optional<protocol::ConsumerGroupHeartbeatResponse> handle_consumer_group_heartbeat(
    RequestContext& ctx, const protocol::ConsumerGroupHeartbeatRequest& request, int16_t version);
std::optional<protocol::ConsumerGroupDescribeResponse> handle_consumer_group_describe(
    RequestContext& ctx, const protocol::ConsumerGroupDescribeRequest& request, int16_t version);

ApiEntry find_coordinator_entry();
ApiEntry join_group_entry();
ApiEntry sync_group_entry();
ApiEntry heartbeat_entry();
ApiEntry leave_group_entry();
ApiEntry list_groups_entry();
ApiEntry describe_groups_entry();
ApiEntry offset_commit_entry();
ApiEntry offset_fetch_entry();
ApiEntry delete_groups_entry();
ApiEntry offset_delete_entry();
ApiEntry consumer_group_heartbeat_entry();
ApiEntry consumer_group_describe_entry();

}  // namespace kb::handlers
