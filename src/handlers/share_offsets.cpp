// The share groups' offset admin APIs (KIP-932): a share group's "offset" in
// a partition is its share-partition's start offset.

#include <algorithm>
#include <chrono>

#include "kb/handlers/share.hpp"
#include "kb/handlers/share_groups.hpp"
#include "kb/protocol/error_code.hpp"
#include "kb/share/share_state.hpp"

namespace kb::handlers {

using protocol::AlterShareGroupOffsetsRequest;
using protocol::AlterShareGroupOffsetsResponse;
using protocol::DeleteShareGroupOffsetsRequest;
using protocol::DeleteShareGroupOffsetsResponse;
using protocol::DescribeShareGroupOffsetsRequest;
using protocol::DescribeShareGroupOffsetsResponse;
using protocol::ErrorCode;
using protocol::to_wire;
using security::AclOperation;
using security::ResourceType;
using share::SharePartitionKey;

namespace {

// Whether the group is a share group the broker knows: the group side says
// so when wired, else it is one with share-partition state.
bool known_share_group(const share::ShareState& shares, std::string_view group) {
  if (const share::ShareGroupView* view = shares.group_view())
    return view->share_group_size(group).has_value();
  return !shares.partitions(group).empty();
}

// Members in the group (0 without the group side).
size_t share_group_members(const share::ShareState& shares, std::string_view group) {
  const share::ShareGroupView* view = shares.group_view();
  if (view == nullptr) return 0;
  return view->share_group_size(group).value_or(0);
}

DescribeShareGroupOffsetsResponse::DescribeShareGroupOffsetsResponsePartition describe_partition(
    RequestContext& ctx, const cluster::TopicInfo& topic, std::string_view group,
    int32_t partition) {
  DescribeShareGroupOffsetsResponse::DescribeShareGroupOffsetsResponsePartition p;
  p.partition_index = partition;
  p.start_offset = -1;
  p.leader_epoch = -1;
  p.lag = -1;
  if (topic.partition(partition) == nullptr) {
    p.error_code = to_wire(ErrorCode::kUnknownTopicOrPartition);
    return p;
  }
  const share::SharePartition* sp =
      ctx.shares->find(SharePartitionKey{std::string(group), topic.id, partition});
  if (sp == nullptr) return p;  // not initialized: no offset
  p.start_offset = sp->start_offset();
  if (const cluster::PartitionInfo* info = topic.partition(partition))
    p.leader_epoch = info->leader_epoch;
  // The records after the start offset not yet delivered for good.
  if (ctx.state.logs != nullptr) {
    auto log = ctx.state.logs->find(topic.name, partition);
    if (log) {
      const int64_t end = *log != nullptr ? (*log)->log_end_offset() : 0;
      p.lag = std::max<int64_t>(end - sp->start_offset() - sp->done_count(), 0);
    }
  }
  return p;
}

}  // namespace

std::optional<DescribeShareGroupOffsetsResponse> handle_describe_share_group_offsets(
    RequestContext& ctx, const DescribeShareGroupOffsetsRequest& request, int16_t /*version*/) {
  DescribeShareGroupOffsetsResponse response;
  for (const auto& g : request.groups) {
    auto& out = response.groups.emplace_back();
    out.group_id = std::string(g.group_id);
    if (ctx.shares == nullptr) {
      out.error_code = to_wire(ErrorCode::kUnsupportedVersion);
      continue;
    }
    if (!ctx.authorized(AclOperation::kDescribe, ResourceType::kGroup, g.group_id)) {
      out.error_code = to_wire(ErrorCode::kGroupAuthorizationFailed);
      continue;
    }
    if (!known_share_group(*ctx.shares, g.group_id)) {
      out.error_code = to_wire(ErrorCode::kGroupIdNotFound);
      continue;
    }
    if (!g.topics) {
      // Every partition the group has state for.
      for (const auto& [key, sp] : ctx.shares->partitions(g.group_id)) {
        const cluster::TopicInfo* topic = ctx.state.topics.find(key.topic_id);
        if (topic == nullptr ||
            !ctx.authorized(AclOperation::kDescribe, ResourceType::kTopic, topic->name))
          continue;
        auto it = std::find_if(out.topics.begin(), out.topics.end(),
                               [&](const auto& t) { return t.topic_id == topic->id; });
        if (it == out.topics.end()) {
          it = out.topics.emplace(out.topics.end());
          it->topic_name = topic->name;
          it->topic_id = topic->id;
        }
        it->partitions.push_back(describe_partition(ctx, *topic, g.group_id, key.partition));
      }
      continue;
    }
    for (const auto& t : *g.topics) {
      auto& ot = out.topics.emplace_back();
      ot.topic_name = std::string(t.topic_name);
      const cluster::TopicInfo* topic = ctx.state.topics.find(t.topic_name);
      const bool allowed =
          ctx.authorized(AclOperation::kDescribe, ResourceType::kTopic, t.topic_name);
      if (topic != nullptr && allowed) ot.topic_id = topic->id;
      for (int32_t index : t.partitions) {
        if (topic == nullptr || !allowed) {
          auto& p = ot.partitions.emplace_back();
          p.partition_index = index;
          p.start_offset = -1;
          p.leader_epoch = -1;
          p.lag = -1;
          p.error_code = to_wire(allowed ? ErrorCode::kUnknownTopicOrPartition
                                         : ErrorCode::kTopicAuthorizationFailed);
          continue;
        }
        ot.partitions.push_back(describe_partition(ctx, *topic, g.group_id, index));
      }
    }
  }
  for (const auto& g : response.groups) ctx.errors.add(g.error_code);
  return response;
}

std::optional<AlterShareGroupOffsetsResponse> handle_alter_share_group_offsets(
    RequestContext& ctx, const AlterShareGroupOffsetsRequest& request, int16_t /*version*/) {
  AlterShareGroupOffsetsResponse response;
  auto error = [&](ErrorCode e) {
    response.error_code = to_wire(e);
    return response;
  };
  if (ctx.shares == nullptr || !share_groups_enabled(ctx))
    return error(ErrorCode::kUnsupportedVersion);
  if (!ctx.authorized(AclOperation::kRead, ResourceType::kGroup, request.group_id))
    return error(ErrorCode::kGroupAuthorizationFailed);
  // Only a group no member consumes from may be moved.
  if (share_group_members(*ctx.shares, request.group_id) > 0)
    return error(ErrorCode::kNonEmptyGroup);
  for (const auto& t : request.topics) {
    auto& ot = response.responses.emplace_back();
    ot.topic_name = std::string(t.topic_name);
    const cluster::TopicInfo* topic = ctx.state.topics.find(t.topic_name);
    const bool allowed = ctx.authorized(AclOperation::kRead, ResourceType::kTopic, t.topic_name);
    if (topic != nullptr && allowed) ot.topic_id = topic->id;
    for (const auto& p : t.partitions) {
      auto& op = ot.partitions.emplace_back();
      op.partition_index = p.partition_index;
      if (!allowed) {
        op.error_code = to_wire(ErrorCode::kTopicAuthorizationFailed);
      } else if (topic == nullptr || topic->partition(p.partition_index) == nullptr) {
        op.error_code = to_wire(ErrorCode::kUnknownTopicOrPartition);
      } else if (p.start_offset < 0) {
        op.error_code = to_wire(ErrorCode::kInvalidRequest);
      } else {
        // The partition's state starts over at the new offset.
        const SharePartitionKey key{std::string(request.group_id), topic->id, p.partition_index};
        ctx.shares->erase(key);
        ctx.shares->initialize(key, p.start_offset);
        ctx.shares->touched(key, true);
        if (share::ShareGroupView* view = ctx.shares->group_view())
          view->share_state_initialized(request.group_id, topic->id,
                                        std::span<const int32_t>(&p.partition_index, 1));
      }
      ctx.errors.add(op.error_code);
    }
  }
  wait_for_metadata(ctx);
  return response;
}

std::optional<DeleteShareGroupOffsetsResponse> handle_delete_share_group_offsets(
    RequestContext& ctx, const DeleteShareGroupOffsetsRequest& request, int16_t /*version*/) {
  DeleteShareGroupOffsetsResponse response;
  auto error = [&](ErrorCode e) {
    response.error_code = to_wire(e);
    return response;
  };
  if (ctx.shares == nullptr || !share_groups_enabled(ctx))
    return error(ErrorCode::kUnsupportedVersion);
  if (!ctx.authorized(AclOperation::kDelete, ResourceType::kGroup, request.group_id))
    return error(ErrorCode::kGroupAuthorizationFailed);
  if (!known_share_group(*ctx.shares, request.group_id)) return error(ErrorCode::kGroupIdNotFound);
  if (share_group_members(*ctx.shares, request.group_id) > 0)
    return error(ErrorCode::kNonEmptyGroup);
  for (const auto& t : request.topics) {
    auto& ot = response.responses.emplace_back();
    ot.topic_name = std::string(t.topic_name);
    const cluster::TopicInfo* topic = ctx.state.topics.find(t.topic_name);
    const bool allowed = ctx.authorized(AclOperation::kRead, ResourceType::kTopic, t.topic_name);
    if (!allowed) {
      ot.error_code = to_wire(ErrorCode::kTopicAuthorizationFailed);
    } else if (topic == nullptr) {
      ot.error_code = to_wire(ErrorCode::kUnknownTopicOrPartition);
    } else {
      ot.topic_id = topic->id;
      for (const auto& [key, sp] : ctx.shares->partitions(request.group_id))
        if (key.topic_id == topic->id) ctx.shares->erase(key);
      if (share::ShareGroupView* view = ctx.shares->group_view())
        view->share_state_deleted(request.group_id, topic->id);
    }
    ctx.errors.add(ot.error_code);
  }
  return response;
}

ApiEntry describe_share_group_offsets_entry() {
  return make_entry<DescribeShareGroupOffsetsRequest, DescribeShareGroupOffsetsResponse,
                    &handle_describe_share_group_offsets>("DescribeShareGroupOffsets",
                                                          kDescribeShareGroupOffsetsServed);
}
ApiEntry alter_share_group_offsets_entry() {
  return make_entry<AlterShareGroupOffsetsRequest, AlterShareGroupOffsetsResponse,
                    &handle_alter_share_group_offsets>("AlterShareGroupOffsets",
                                                       kAlterShareGroupOffsetsServed);
}
ApiEntry delete_share_group_offsets_entry() {
  return make_entry<DeleteShareGroupOffsetsRequest, DeleteShareGroupOffsetsResponse,
                    &handle_delete_share_group_offsets>("DeleteShareGroupOffsets",
                                                        kDeleteShareGroupOffsetsServed);
}

}  // namespace kb::handlers
