// OffsetCommit and OffsetFetch: committed offsets of groups.

#include "kb/handlers/groups.hpp"
#include "kb/protocol/error_code.hpp"

namespace kb::handlers {

using protocol::ErrorCode;
using protocol::OffsetCommitRequest;
using protocol::OffsetCommitResponse;
using protocol::OffsetFetchRequest;
using protocol::OffsetFetchResponse;
using protocol::to_wire;

std::optional<OffsetCommitResponse> handle_offset_commit(RequestContext& ctx,
                                                         const OffsetCommitRequest& request,
                                                         int16_t version) {
  OffsetCommitResponse response;
  // Partitions of unknown topics are refused one by one; the rest is committed.
  std::vector<group::CommitPartition> partitions;
  std::vector<int16_t*> error_slots;
  // READ on the group first: denied, every partition says so. v10 names
  // topics by id (KIP-848).
  const bool may_read_group = ctx.authorized(security::AclOperation::kRead,
                                             security::ResourceType::kGroup, request.group_id);
  sort_commit_partitions(ctx.state.topics, request.topics, response.topics, partitions, error_slots,
                         version >= 10, may_read_group ? &ctx : nullptr);

  int16_t group_error = 0;
  std::vector<int16_t> errors;
  if (!may_read_group) {
    for (auto& t : response.topics)
      for (auto& p : t.partitions) p.error_code = to_wire(ErrorCode::kGroupAuthorizationFailed);
    return response;
  }
  if (!ctx.groups)
    group_error = to_wire(ErrorCode::kCoordinatorNotAvailable);
  else if (request.group_id.empty())
    group_error = to_wire(ErrorCode::kInvalidGroupId);
  else {
    group::CommitParams params;
    params.group_id = request.group_id;
    // v0 commits outside group management.
    params.generation = version >= 1 ? request.generation_id_or_member_epoch : -1;
    params.member_id = request.member_id;
    params.instance_id = request.group_instance_id;
    params.unknown_group_is_not_found = version >= 9;
    params.api_version = version;
    group_error = ctx.groups->commit(params, partitions, errors, group_time(ctx.now));
  }
  for (size_t i = 0; i < error_slots.size(); ++i)
    *error_slots[i] = group_error != 0 ? group_error : errors[i];
  return response;
}

namespace {

// One group's committed offsets for the topics asked (null: every committed one).
// With `by_id` (v10), topics are named by id as Kafka's KafkaApis names them:
// an id no topic has answers UNKNOWN_TOPIC_ID for each partition asked, and
// the offsets of every committed topic leave out topics that no longer exist
// (they have no id to be named by).
template <class Topic, class RequestTopic>
std::vector<Topic> committed_offsets(const group::GroupCoordinator* groups,
                                     std::string_view group_id,
                                     const std::optional<std::vector<RequestTopic>>& topics,
                                     const cluster::TopicTable* by_id) {
  std::vector<Topic> out;
  const group::Group* g = groups ? groups->find(group_id) : nullptr;
  auto fill = [](auto& p, const group::CommittedOffset* c) {
    if (c) {
      p.committed_offset = c->offset;
      p.committed_leader_epoch = c->leader_epoch;
      p.metadata = c->metadata;
    } else {
      p.committed_offset = -1;
      p.committed_leader_epoch = -1;
      p.metadata = "";
    }
  };
  if (!topics) {
    if (!g) return out;
    for (const auto& [key, c] : g->offsets) {
      if (out.empty() || out.back().name != key.first) {
        const cluster::TopicInfo* topic = by_id ? by_id->find(key.first) : nullptr;
        if (by_id && !topic) continue;
        auto& ot = out.emplace_back();
        ot.name = key.first;
        if constexpr (requires { ot.topic_id; })
          if (topic) ot.topic_id = topic->id;
      }
      auto& p = out.back().partitions.emplace_back();
      p.partition_index = key.second;
      fill(p, &c);
    }
    return out;
  }
  for (const auto& t : *topics) {
    auto& ot = out.emplace_back();
    std::string_view name = t.name;
    if constexpr (requires { t.topic_id; }) {
      ot.topic_id = t.topic_id;
      const cluster::TopicInfo* topic = by_id ? by_id->find(t.topic_id) : nullptr;
      if (by_id && !topic) {
        for (int32_t index : t.partition_indexes) {
          auto& p = ot.partitions.emplace_back();
          p.partition_index = index;
          p.committed_offset = -1;
          p.metadata = "";
          p.error_code = to_wire(ErrorCode::kUnknownTopicId);
        }
        continue;
      }
      if (topic) name = topic->name;
    }
    ot.name = std::string(name);
    for (int32_t index : t.partition_indexes) {
      auto& p = ot.partitions.emplace_back();
      p.partition_index = index;
      const group::CommittedOffset* c = nullptr;
      if (g) {
        auto it = g->offsets.find(std::pair<std::string, int32_t>(std::string(name), index));
        if (it != g->offsets.end()) c = &it->second;
      }
      fill(p, c);
    }
  }
  return out;
}

// With `pending` (require_stable), a partition with an offset committed in
// a transaction still open answers UNSTABLE_OFFSET_COMMIT, as Kafka's.
template <class Topic, class RequestTopic>
std::vector<Topic> fetched_offsets(const group::GroupCoordinator* groups, std::string_view group_id,
                                   const std::optional<std::vector<RequestTopic>>& topics,
                                   const group::TxnOffsets* pending,
                                   const cluster::TopicTable* by_id = nullptr) {
  std::vector<Topic> out = committed_offsets<Topic>(groups, group_id, topics, by_id);
  if (!pending) return out;
  for (auto& t : out)
    for (auto& p : t.partitions)
      if (p.error_code == 0 && pending->is_pending(group_id, t.name, p.partition_index)) {
        p.committed_offset = -1;
        p.committed_leader_epoch = -1;
        p.metadata = "";
        p.error_code = to_wire(ErrorCode::kUnstableOffsetCommit);
      }
  return out;
}

// Offsets of topics the principal may not DESCRIBE: left out of "all", and
// refused by partition when named.
template <class Topic>
void hide_undescribable(const RequestContext& ctx, std::vector<Topic>& topics, bool all) {
  auto may_describe = [&](std::string_view name) {
    return ctx.authorized(security::AclOperation::kDescribe, security::ResourceType::kTopic, name);
  };
  if (all) {
    std::erase_if(topics, [&](const Topic& t) { return !may_describe(t.name); });
    return;
  }
  for (auto& t : topics) {
    // An unknown topic id (v10) stays UNKNOWN_TOPIC_ID: there is no name to check.
    const bool unknown_id = !t.partitions.empty() &&
                            t.partitions.front().error_code == to_wire(ErrorCode::kUnknownTopicId);
    if (unknown_id || may_describe(t.name)) continue;
    for (auto& p : t.partitions) {
      p.committed_offset = -1;
      p.committed_leader_epoch = -1;
      p.metadata = "";
      p.error_code = to_wire(ErrorCode::kTopicAuthorizationFailed);
    }
  }
}

bool may_describe_group(const RequestContext& ctx, std::string_view group_id) {
  return ctx.authorized(security::AclOperation::kDescribe, security::ResourceType::kGroup,
                        group_id);
}

}  // namespace

std::optional<OffsetFetchResponse> handle_offset_fetch(RequestContext& ctx,
                                                       const OffsetFetchRequest& request,
                                                       int16_t version) {
  OffsetFetchResponse response;
  const int16_t unavailable = ctx.groups ? 0 : to_wire(ErrorCode::kCoordinatorNotAvailable);
  if (version <= 7) {
    if (!may_describe_group(ctx, request.group_id)) {
      response.error_code = to_wire(ErrorCode::kGroupAuthorizationFailed);
      return response;
    }
    response.error_code = unavailable;
    response.topics = fetched_offsets<OffsetFetchResponse::OffsetFetchResponseTopic>(
        ctx.groups, request.group_id, request.topics,
        request.require_stable ? ctx.txn_offsets : nullptr);
    hide_undescribable(ctx, response.topics, !request.topics.has_value());
    return response;
  }
  for (const auto& g : request.groups) {
    auto& out = response.groups.emplace_back();
    out.group_id = std::string(g.group_id);
    if (!may_describe_group(ctx, g.group_id)) {
      out.error_code = to_wire(ErrorCode::kGroupAuthorizationFailed);
      continue;
    }
    out.error_code = unavailable;
    // v9+: a consumer group's member says who it is (its epoch checked).
    if (ctx.groups && version >= 9) {
      out.error_code =
          ctx.groups->validate_fetch(g.group_id, g.member_id, g.member_epoch, group_time(ctx.now));
      if (out.error_code != 0) continue;
    }
    out.topics = fetched_offsets<OffsetFetchResponse::OffsetFetchResponseTopics>(
        ctx.groups, g.group_id, g.topics, request.require_stable ? ctx.txn_offsets : nullptr,
        version >= 10 ? &ctx.state.topics : nullptr);
    hide_undescribable(ctx, out.topics, !g.topics.has_value());
  }
  return response;
}

ApiEntry offset_commit_entry() {
  return make_entry<OffsetCommitRequest, OffsetCommitResponse, &handle_offset_commit>(
      "OffsetCommit", OffsetCommitRequest::kVersions);
}
ApiEntry offset_fetch_entry() {
  return make_entry<OffsetFetchRequest, OffsetFetchResponse, &handle_offset_fetch>(
      "OffsetFetch", OffsetFetchRequest::kVersions);
}

}  // namespace kb::handlers
