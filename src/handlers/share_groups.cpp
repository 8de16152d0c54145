// ShareGroupHeartbeat and ShareGroupDescribe: share groups of KIP-932, their
// membership and assignments kept by the coordinator.

#include "kb/handlers/share_groups.hpp"

#include <set>

#include <fmt/format.h>

#include "kb/cluster/features.hpp"
#include "kb/group/share_assignor.hpp"
#include "kb/handlers/authorized_operations.hpp"
#include "kb/handlers/groups.hpp"
#include "kb/protocol/error_code.hpp"
#include "kb/storage/partition_log.hpp"

namespace kb::handlers {

using protocol::ErrorCode;
using protocol::ShareGroupDescribeRequest;
using protocol::ShareGroupDescribeResponse;
using protocol::ShareGroupHeartbeatRequest;
using protocol::ShareGroupHeartbeatResponse;
using protocol::to_wire;

namespace {

// Kafka's messages for the errors it answers with their default text.
constexpr std::string_view kUnsupportedVersionMessage = "The version of API is not supported.";
constexpr std::string_view kGroupAuthorizationMessage = "Group authorization failed.";
// Kafka's longest member id: a UUID's text.
constexpr size_t kMaxMemberIdLength = 36;

}  // namespace

bool share_groups_enabled(const RequestContext& ctx) {
  const auto& features = ctx.state.features;
  int16_t level = 0;
  if (auto it = features.find("share.version"); it != features.end())
    level = cluster::served_level(it->first, it->second);
  else if (!features.contains("metadata.version"))
    level = cluster::kBootstrapShareVersion;  // nothing applied yet: what will be written
  return level >= 1;
}

std::optional<ShareGroupHeartbeatResponse> handle_share_group_heartbeat(
    RequestContext& ctx, const ShareGroupHeartbeatRequest& request, int16_t) {
  ShareGroupHeartbeatResponse response;
  // Kafka's order: the feature, READ on the group, the member id's form,
  // DESCRIBE on every subscribed topic.
  if (!share_groups_enabled(ctx)) {
    response.error_code = to_wire(ErrorCode::kUnsupportedVersion);
    response.error_message = std::string(kUnsupportedVersionMessage);
    return response;
  }
  if (!ctx.authorized(security::AclOperation::kRead, security::ResourceType::kGroup,
                      request.group_id)) {
    response.error_code = to_wire(ErrorCode::kGroupAuthorizationFailed);
    response.error_message = std::string(kGroupAuthorizationMessage);
    return response;
  }
  if (request.member_id.empty() || request.member_id.size() > kMaxMemberIdLength) {
    response.error_code = to_wire(ErrorCode::kInvalidRequest);
    response.error_message = "Invalid member id in the request.";
    return response;
  }
  if (request.subscribed_topic_names) {
    for (std::string_view topic : *request.subscribed_topic_names) {
      if (!ctx.authorized(security::AclOperation::kDescribe, security::ResourceType::kTopic,
                          topic)) {
        response.error_code = to_wire(ErrorCode::kTopicAuthorizationFailed);
        return response;
      }
    }
  }
  if (!ctx.groups) {
    response.error_code = to_wire(ErrorCode::kCoordinatorNotAvailable);
    return response;
  }
  group::ShareHeartbeatParams params;
  params.group_id = request.group_id;
  params.member_id = request.member_id;
  params.member_epoch = request.member_epoch;
  params.rack_id = request.rack_id;
  params.subscribed_topic_names = request.subscribed_topic_names;
  params.client_id = ctx.header.client_id.value_or("");
  params.client_host = ctx.client_host;
  group::ShareHeartbeatResult r =
      ctx.groups->share_heartbeat(params, topics_view(ctx), group_time(ctx.now));
  fill_heartbeat_response(response, r);
  return response;
}

std::optional<ShareGroupDescribeResponse> handle_share_group_describe(
    RequestContext& ctx, const ShareGroupDescribeRequest& request, int16_t) {
  ShareGroupDescribeResponse response;
  if (!share_groups_enabled(ctx)) {
    // Kafka's error response: every group named, with the error.
    for (std::string_view id : request.group_ids) {
      auto& out = response.groups.emplace_back();
      out.group_id = std::string(id);
      out.error_code = to_wire(ErrorCode::kUnsupportedVersion);
      out.error_message = std::string(kUnsupportedVersionMessage);
    }
    return response;
  }
  if (ctx.groups) ctx.groups->advance(group_time(ctx.now));
  for (std::string_view id : request.group_ids) {
    auto& out = response.groups.emplace_back();
    out.group_id = std::string(id);
    if (!ctx.authorized(security::AclOperation::kDescribe, security::ResourceType::kGroup, id)) {
      out.error_code = to_wire(ErrorCode::kGroupAuthorizationFailed);
      continue;
    }
    if (!ctx.groups) {
      out.error_code = to_wire(ErrorCode::kCoordinatorNotAvailable);
      continue;
    }
    if (id.empty()) {
      out.error_code = to_wire(ErrorCode::kInvalidGroupId);
      continue;
    }
    const group::ShareGroup* g = ctx.groups->find_share(id);
    if (!g) {
      out.error_code = to_wire(ErrorCode::kGroupIdNotFound);
      out.error_message = ctx.groups->find(id) != nullptr
                              ? fmt::format("Group {} is not a share group.", id)
                              : fmt::format("Group {} not found.", id);
      continue;
    }
    if (request.include_authorized_operations)
      out.authorized_operations =
          ctx.state.authorizer.enabled()
              ? ctx.authorized_operations(security::ResourceType::kGroup, id)
              : kAllGroupOperations;
    out.group_state = std::string(g->state_name());
    out.group_epoch = g->group_epoch;
    out.assignment_epoch = g->assignment_epoch;
    out.assignor_name = std::string(group::kSimpleAssignor);
    std::set<std::string> topics;  // those the members are assigned, by name
    for (const auto& [member_id, m] : g->members) {
      auto& dm = out.members.emplace_back();
      dm.member_id = member_id;
      dm.rack_id = m.rack_id;
      dm.member_epoch = m.member_epoch;
      dm.client_id = m.client_id;
      dm.client_host = m.client_host;
      dm.subscribed_topic_names = m.subscribed_topic_names;
      for (const auto& [topic, parts] : m.assigned) {
        auto& t = dm.assignment.topic_partitions.emplace_back();
        t.topic_id = topic;
        if (const cluster::TopicInfo* info = ctx.state.topics.find(topic))
          t.topic_name = info->name;
        t.partitions.assign(parts.begin(), parts.end());
        topics.insert(t.topic_name);
      }
    }
    // Clients may not see topics they may not describe: such a group is
    // refused whole, as Kafka does when an authorizer is configured.
    if (ctx.state.authorizer.enabled()) {
      for (const std::string& topic : topics) {
        if (ctx.authorized(security::AclOperation::kDescribe, security::ResourceType::kTopic,
                           topic))
          continue;
        const std::string group_id = out.group_id;
        out = {};
        out.group_id = group_id;
        out.error_code = to_wire(ErrorCode::kTopicAuthorizationFailed);
        out.error_message =
            "The group has described topic(s) that the client is not authorized to describe.";
        break;
      }
    }
  }
  return response;
}

ApiEntry share_group_heartbeat_entry() {
  return make_entry<ShareGroupHeartbeatRequest, ShareGroupHeartbeatResponse,
                    &handle_share_group_heartbeat>("ShareGroupHeartbeat",
                                                   ShareGroupHeartbeatRequest::kVersions);
}
ApiEntry share_group_describe_entry() {
  return make_entry<ShareGroupDescribeRequest, ShareGroupDescribeResponse,
                    &handle_share_group_describe>("ShareGroupDescribe",
                                                  ShareGroupDescribeRequest::kVersions);
}

}  // namespace kb::handlers
