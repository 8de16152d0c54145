// ListGroups and DescribeGroups.

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "kb/handlers/authorized_operations.hpp"
#include "kb/handlers/groups.hpp"
#include "kb/protocol/error_code.hpp"

namespace kb::handlers {

using protocol::DescribeGroupsRequest;
using protocol::DescribeGroupsResponse;
using protocol::ErrorCode;
using protocol::ListGroupsRequest;
using protocol::ListGroupsResponse;
using protocol::to_wire;

std::optional<ListGroupsResponse> handle_list_groups(RequestContext& ctx,
                                                     const ListGroupsRequest& request, int16_t) {
  ListGroupsResponse response;
  if (!ctx.groups) {
    response.error_code = to_wire(ErrorCode::kCoordinatorNotAvailable);
    return response;
  }
  // Filters match case-insensitively, as Kafka's do; an empty filter takes all.
  // The types asked for, read once (not once a group).
  std::set<group::GroupType> types;
  for (std::string_view f : request.types_filter)
    if (auto t = group::parse_group_type(f)) types.insert(*t);
  auto state_wanted = [&](std::string_view s) {
    return request.states_filter.empty() ||
           std::any_of(request.states_filter.begin(), request.states_filter.end(),
                       [&](std::string_view f) { return group::equals_ignore_case(f, s); });
  };
  // DESCRIBE on the cluster lists every group; without it, only the groups
  // the principal may describe.
  const bool all_groups = ctx.authorized_cluster(security::AclOperation::kDescribe);
  for (const auto& [id, g] : ctx.groups->groups()) {
    if (g->is_dead() || !state_wanted(g->state_name())) continue;
    if (!all_groups &&
        !ctx.authorized(security::AclOperation::kDescribe, security::ResourceType::kGroup, id))
      continue;
    if (!request.types_filter.empty() && !types.contains(g->type())) continue;
    auto& listed = response.groups.emplace_back();
    listed.group_id = id;
    listed.protocol_type = std::string(g->listed_protocol_type());
    listed.group_state = std::string(g->state_name());
    listed.group_type = std::string(group::to_string(g->type()));
  }
  return response;
}

std::optional<DescribeGroupsResponse> handle_describe_groups(RequestContext& ctx,
                                                             const DescribeGroupsRequest& request,
                                                             int16_t version) {
  DescribeGroupsResponse response;
  for (std::string_view id : request.groups) {
    auto& out = response.groups.emplace_back();
    out.group_id = std::string(id);
    if (!ctx.authorized(security::AclOperation::kDescribe, security::ResourceType::kGroup, id)) {
      out.error_code = to_wire(ErrorCode::kGroupAuthorizationFailed);
      continue;
    }
    if (version >= 3 && request.include_authorized_operations)
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
    const group::ClassicGroup* g = ctx.groups->find_classic(id);
    if (!g) {
      out.group_state = std::string(group::to_string(group::ClassicGroupState::kDead));
      // v6 (KIP-1043) says why, as Kafka's coordinator does: no such group,
      // or a group of another kind (a KIP-848 consumer group).
      if (version >= 6) {
        out.error_code = to_wire(ErrorCode::kGroupIdNotFound);
        out.error_message = ctx.groups->find(id) != nullptr
                                ? fmt::format("Group {} is not a classic group.", id)
                                : fmt::format("Group {} not found.", id);
      }
      continue;
    }
    out.group_state = std::string(group::to_string(g->state));
    out.protocol_type = g->protocol_type;
    // Members' metadata and assignments only once they are settled (Stable).
    const bool stable = g->state == group::ClassicGroupState::kStable;
    if (stable) out.protocol_data = g->protocol.value_or("");
    for (const auto& [member_id, m] : g->members) {
      auto& dm = out.members.emplace_back();
      dm.member_id = member_id;
      dm.group_instance_id = m.instance_id;
      dm.client_id = m.client_id;
      dm.client_host = m.client_host;
      if (!stable) continue;
      if (const auto metadata = m.metadata_for(out.protocol_data))
        dm.member_metadata.assign(metadata->begin(), metadata->end());
      dm.member_assignment = m.assignment;
    }
  }
  return response;
}

ApiEntry list_groups_entry() {
  return make_entry<ListGroupsRequest, ListGroupsResponse, &handle_list_groups>(
      "ListGroups", ListGroupsRequest::kVersions);
}
ApiEntry describe_groups_entry() {
  return make_entry<DescribeGroupsRequest, DescribeGroupsResponse, &handle_describe_groups>(
      "DescribeGroups", DescribeGroupsRequest::kVersions);
}

}  // namespace kb::handlers
