// DeleteGroups and OffsetDelete: removing groups and their committed offsets.

#include "kb/handlers/groups.hpp"
#include "kb/protocol/error_code.hpp"

namespace kb::handlers {

using protocol::DeleteGroupsRequest;
using protocol::DeleteGroupsResponse;
using protocol::ErrorCode;
using protocol::OffsetDeleteRequest;
using protocol::OffsetDeleteResponse;
using protocol::to_wire;

std::optional<DeleteGroupsResponse> handle_delete_groups(RequestContext& ctx,
                                                         const DeleteGroupsRequest& request,
                                                         int16_t) {
  DeleteGroupsResponse response;
  // v3's error message stays null: Kafka fills it in only for streams groups'
  // topology deletions and for a failed write to the offsets log, neither of
  // which answers here.
  for (std::string_view id : request.groups_names) {
    auto& result = response.results.emplace_back();
    result.group_id = std::string(id);
    // DELETE on each group.
    if (!ctx.authorized(security::AclOperation::kDelete, security::ResourceType::kGroup, id)) {
      result.error_code = to_wire(ErrorCode::kGroupAuthorizationFailed);
      continue;
    }
    result.error_code = ctx.groups ? ctx.groups->delete_group(id, group_time(ctx.now))
                                   : to_wire(ErrorCode::kCoordinatorNotAvailable);
  }
  return response;
}

std::optional<OffsetDeleteResponse> handle_offset_delete(RequestContext& ctx,
                                                         const OffsetDeleteRequest& request,
                                                         int16_t) {
  OffsetDeleteResponse response;
  // DELETE on the group, then READ on each topic.
  if (!ctx.authorized(security::AclOperation::kDelete, security::ResourceType::kGroup,
                      request.group_id)) {
    response.error_code = to_wire(ErrorCode::kGroupAuthorizationFailed);
    return response;
  }
  if (!ctx.groups) {
    response.error_code = to_wire(ErrorCode::kCoordinatorNotAvailable);
    return response;
  }
  // Topics the cluster does not know are answered here, partition by
  // partition; the coordinator rules on the rest.
  std::vector<group::TopicPartitionRef> partitions;
  for (const auto& t : request.topics) {
    auto& out = response.topics.emplace_back();
    out.name = std::string(t.name);
    const bool may_read =
        ctx.authorized(security::AclOperation::kRead, security::ResourceType::kTopic, t.name);
    const bool known = may_read && ctx.state.topics.find(t.name) != nullptr;
    const int16_t refused = !may_read ? to_wire(ErrorCode::kTopicAuthorizationFailed)
                                      : to_wire(ErrorCode::kUnknownTopicOrPartition);
    for (const auto& p : t.partitions) {
      out.partitions.push_back({p.partition_index, known ? int16_t{0} : refused});
      if (known) partitions.push_back({t.name, p.partition_index});
    }
  }
  std::vector<int16_t> errors;
  response.error_code =
      ctx.groups->delete_offsets(request.group_id, partitions, errors, group_time(ctx.now));
  if (response.error_code != 0) {
    // A group-level error answers alone, as Kafka's does.
    response.topics.clear();
    return response;
  }
  auto error = errors.begin();
  for (auto& t : response.topics)
    if (ctx.state.topics.find(t.name) &&
        ctx.authorized(security::AclOperation::kRead, security::ResourceType::kTopic, t.name))
      for (auto& p : t.partitions) p.error_code = *error++;
  return response;
}

ApiEntry delete_groups_entry() {
  return make_entry<DeleteGroupsRequest, DeleteGroupsResponse, &handle_delete_groups>(
      "DeleteGroups", DeleteGroupsRequest::kVersions);
}
ApiEntry offset_delete_entry() {
  return make_entry<OffsetDeleteRequest, OffsetDeleteResponse, &handle_offset_delete>(
      "OffsetDelete", OffsetDeleteRequest::kVersions);
}

}  // namespace kb::handlers
