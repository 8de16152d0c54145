#include "kb/handlers/describe_topic_partitions.hpp"

#include <algorithm>
#include <set>

#include "kb/protocol/error_code.hpp"

namespace kb::handlers {

using protocol::DescribeTopicPartitionsRequest;
using protocol::DescribeTopicPartitionsResponse;
using protocol::ErrorCode;
using protocol::to_wire;
using Response = DescribeTopicPartitionsResponse;

namespace {

Response::DescribeTopicPartitionsResponsePartition describe(const cluster::PartitionInfo& p) {
  Response::DescribeTopicPartitionsResponsePartition out;
  out.partition_index = p.partition_index;
  out.leader_id = p.leader;
  out.leader_epoch = p.leader_epoch;
  out.replica_nodes = p.replicas;
  out.isr_nodes = p.isr;
  out.eligible_leader_replicas = p.eligible_leader_replicas;
  out.last_known_elr = p.last_known_elr;
  out.offline_replicas = p.offline_replicas;
  return out;
}

}  // namespace

std::optional<Response> handle_describe_topic_partitions(
    RequestContext& ctx, const DescribeTopicPartitionsRequest& request, int16_t /*version*/) {
  const cluster::TopicTable& table = ctx.state.topics;
  Response response;
  wait_for_metadata(ctx);

  // An empty list means every topic. Either way topics go out sorted by name,
  // each once, starting at the cursor's topic.
  const bool all_topics = request.topics.empty();
  std::set<std::string_view> names;
  if (all_topics) {
    for (const auto& [name, topic] : table.topics())
      if (ctx.authorized(security::AclOperation::kDescribe, security::ResourceType::kTopic, name))
        names.insert(name);
  } else {
    for (const auto& t : request.topics) names.insert(t.name);
  }
  std::string_view cursor_topic;
  int32_t cursor_partition = 0;
  if (request.cursor) {
    cursor_topic = request.cursor->topic_name;
    cursor_partition = std::max(request.cursor->partition_index, 0);
  }

  int32_t remaining = std::clamp(request.response_partition_limit, 1, kMaxDescribePartitions);
  auto it = names.lower_bound(cursor_topic);
  for (; it != names.end() && remaining > 0; ++it) {
    std::string_view name = *it;
    const cluster::TopicInfo* topic = table.find(name);
    auto& out = response.topics.emplace_back();
    out.name = std::string(name);
    // Named topics the principal may not describe are refused, existing or not.
    if (!ctx.authorized(security::AclOperation::kDescribe, security::ResourceType::kTopic, name)) {
      out.error_code = to_wire(ErrorCode::kTopicAuthorizationFailed);
      continue;
    }
    if (topic == nullptr) {
      out.error_code = to_wire(ErrorCode::kUnknownTopicOrPartition);
      continue;
    }
    out.topic_id = topic->id;
    out.is_internal = topic->is_internal();
    out.topic_authorized_operations =
        ctx.authorized_operations(security::ResourceType::kTopic, name);
    const int32_t first = name == cursor_topic ? cursor_partition : 0;
    for (const auto& p : topic->partitions) {
      if (p.partition_index < first) continue;
      if (remaining == 0) {
        // This topic did not fit: the next page starts at this partition.
        response.next_cursor = Response::Cursor{std::string(name), p.partition_index};
        break;
      }
      out.partitions.push_back(describe(p));
      --remaining;
    }
    if (response.next_cursor) return response;
  }
  if (it != names.end()) response.next_cursor = Response::Cursor{std::string(*it), 0};
  return response;
}

ApiEntry describe_topic_partitions_entry() {
  return make_entry<DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse,
                    &handle_describe_topic_partitions>("DescribeTopicPartitions",
                                                       DescribeTopicPartitionsRequest::kVersions);
}

}  // namespace kb::handlers
