// ConsumerGroupHeartbeat and ConsumerGroupDescribe: consumer groups of
// KIP-848, their assignments computed and reconciled by the coordinator.

#include <algorithm>

#include "kb/handlers/authorized_operations.hpp"
#include "kb/handlers/groups.hpp"
#include "kb/protocol/error_code.hpp"
#include "kb/storage/partition_log.hpp"

namespace kb::handlers {

using protocol::ConsumerGroupDescribeRequest;
using protocol::ConsumerGroupDescribeResponse;
using protocol::ConsumerGroupHeartbeatRequest;
using protocol::ConsumerGroupHeartbeatResponse;
using protocol::ErrorCode;
using protocol::to_wire;

group::TopicsView topics_view(const RequestContext& ctx) {
  group::TopicsView view;
  view.topics = &ctx.state.topics;
  view.version = ctx.state.metadata_log ? ctx.state.metadata_log->log_end_offset()
                                        : static_cast<int64_t>(ctx.state.topics.size());
  return view;
}

std::optional<ConsumerGroupHeartbeatResponse> handle_consumer_group_heartbeat(
    RequestContext& ctx, const ConsumerGroupHeartbeatRequest& request, int16_t version) {
  ConsumerGroupHeartbeatResponse response;
  if (!ctx.authorized(security::AclOperation::kRead, security::ResourceType::kGroup,
                      request.group_id)) {
    response.error_code = to_wire(ErrorCode::kGroupAuthorizationFailed);
    response.error_message = "Group authorization failed.";
    return response;
  }
  // Named subscriptions: every topic must be one the principal may
  // describe, or the member learns nothing about any (Kafka 4's KafkaApis,
  // KAFKA-18813: the code alone, no message naming them).
  if (request.subscribed_topic_names && !request.subscribed_topic_names->empty()) {
    const bool all_described =
        std::ranges::all_of(*request.subscribed_topic_names, [&](std::string_view topic) {
          return ctx.authorized(security::AclOperation::kDescribe, security::ResourceType::kTopic,
                                topic);
        });
    if (!all_described) {
      response.error_code = to_wire(ErrorCode::kTopicAuthorizationFailed);
      return response;
    }
  }
  if (!ctx.groups) {
    response.error_code = to_wire(ErrorCode::kCoordinatorNotAvailable);
    return response;
  }
  group::ConsumerHeartbeatParams params;
  params.group_id = request.group_id;
  params.member_id = request.member_id;
  params.member_epoch = request.member_epoch;
  params.instance_id = request.instance_id;
  params.rack_id = request.rack_id;
  params.rebalance_timeout_ms = request.rebalance_timeout_ms;
  params.subscribed_topic_names = request.subscribed_topic_names;
  params.subscribed_topic_regex = request.subscribed_topic_regex;
  params.server_assignor = request.server_assignor;
  if (request.topic_partitions) {
    auto& owned = params.owned.emplace();
    owned.reserve(request.topic_partitions->size());
    for (const auto& t : *request.topic_partitions) owned.push_back({t.topic_id, t.partitions});
  }
  params.client_id = ctx.header.client_id.value_or("");
  params.client_host = ctx.client_host;
  params.version = version;
  if (ctx.state.authorizer.enabled())
    params.may_describe = [&ctx](std::string_view topic) {
      return ctx.authorized(security::AclOperation::kDescribe, security::ResourceType::kTopic,
                            topic);
    };
  group::ConsumerHeartbeatResult r =
      ctx.groups->consumer_heartbeat(params, topics_view(ctx), group_time(ctx.now));
  fill_heartbeat_response(response, r);
  return response;
}

std::optional<ConsumerGroupDescribeResponse> handle_consumer_group_describe(
    RequestContext& ctx, const ConsumerGroupDescribeRequest& request, int16_t version) {
  ConsumerGroupDescribeResponse response;
  auto describe = [&](const group::TopicPartitionSet& set) {
    ConsumerGroupDescribeResponse::Assignment out;
    for (const auto& [topic, parts] : set) {
      auto& t = out.topic_partitions.emplace_back();
      t.topic_id = topic;
      if (const cluster::TopicInfo* info = ctx.state.topics.find(topic)) t.topic_name = info->name;
      t.partitions.assign(parts.begin(), parts.end());
    }
    return out;
  };
  if (ctx.groups) ctx.groups->advance(group_time(ctx.now));
  for (std::string_view id : request.group_ids) {
    auto& out = response.groups.emplace_back();
    out.group_id = std::string(id);
    if (!ctx.authorized(security::AclOperation::kDescribe, security::ResourceType::kGroup, id)) {
      out.error_code = to_wire(ErrorCode::kGroupAuthorizationFailed);
      continue;
    }
    if (request.include_authorized_operations)
      out.authorized_operations =
          ctx.state.authorizer.enabled()
              ? ctx.authorized_operations(security::ResourceType::kGroup, id)
              : kAllGroupOperations;
    if (!ctx.groups) {
      out.error_code = to_wire(ErrorCode::kCoordinatorNotAvailable);
      continue;
    }
    if (id.empty()) {
      out.error_code = to_wire(ErrorCode::kInvalidGroupId);
      continue;
    }
    const group::ConsumerGroup* g = ctx.groups->find_consumer(id);
    if (!g) {
      out.error_code = to_wire(ErrorCode::kGroupIdNotFound);
      out.error_message = ctx.groups->find(id)
                              ? "Group " + std::string(id) + " is not a consumer group."
                              : "Group " + std::string(id) + " not found.";
      continue;
    }
    out.group_state = std::string(g->state_name());
    out.group_epoch = g->group_epoch;
    out.assignment_epoch = g->assignment_epoch;
    out.assignor_name = g->assignor(ctx.groups->config());
    for (const auto& [member_id, m] : g->members) {
      auto& dm = out.members.emplace_back();
      dm.member_id = member_id;
      dm.instance_id = m.instance_id;
      dm.rack_id = m.rack_id;
      dm.member_epoch = m.member_epoch;
      dm.client_id = m.client_id;
      dm.client_host = m.client_host;
      dm.subscribed_topic_names = m.subscribed_topic_names;
      dm.subscribed_topic_regex = m.subscribed_topic_regex;
      dm.assignment = describe(m.assigned);
      auto target = g->target.find(member_id);
      if (target != g->target.end()) dm.target_assignment = describe(target->second);
      // Kafka's member types: 0 a classic member (the group moved to the
      // consumer protocol while it was in), 1 a consumer-protocol one.
      if (version >= 1) dm.member_type = m.uses_classic_protocol() ? 0 : 1;
    }
    // A group whose members hold or are to get a topic the principal may not
    // describe is not shown at all (Kafka 4, KAFKA-18813).
    const auto described = [&](const ConsumerGroupDescribeResponse::Assignment& a) {
      return std::ranges::all_of(a.topic_partitions, [&](const auto& t) {
        return t.topic_name.empty() || ctx.authorized(security::AclOperation::kDescribe,
                                                      security::ResourceType::kTopic, t.topic_name);
      });
    };
    const bool all_described = std::ranges::all_of(out.members, [&](const auto& m) {
      return described(m.assignment) && described(m.target_assignment);
    });
    if (!all_described) {
      ConsumerGroupDescribeResponse::DescribedGroup denied;
      denied.group_id = std::move(out.group_id);
      denied.error_code = to_wire(ErrorCode::kTopicAuthorizationFailed);
      out = std::move(denied);
    }
  }
  return response;
}

ApiEntry consumer_group_heartbeat_entry() {
  return make_entry<ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse,
                    &handle_consumer_group_heartbeat>("ConsumerGroupHeartbeat",
                                                      ConsumerGroupHeartbeatRequest::kVersions);
}
ApiEntry consumer_group_describe_entry() {
  return make_entry<ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse,
                    &handle_consumer_group_describe>("ConsumerGroupDescribe",
                                                     ConsumerGroupDescribeRequest::kVersions);
}

}  // namespace kb::handlers
