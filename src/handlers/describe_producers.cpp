#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "kb/handlers/log_admin.hpp"
#include "kb/protocol/error_code.hpp"

namespace kb::handlers {

using protocol::DescribeProducersRequest;
using protocol::DescribeProducersResponse;
using protocol::ErrorCode;
using protocol::to_wire;

namespace {

int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

DescribeProducersResponse::PartitionResponse describe(RequestContext& ctx,
                                                      const cluster::TopicInfo* topic,
                                                      int32_t index) {
  DescribeProducersResponse::PartitionResponse out;
  out.partition_index = index;
  if (topic == nullptr || topic->partition(index) == nullptr || !ctx.state.logs) {
    out.error_code = to_wire(ErrorCode::kUnknownTopicOrPartition);
    return out;
  }
  auto found = ctx.state.logs->find(topic->name, index);
  if (found && *found == nullptr) return out;  // no data yet: no producers
  storage::Result<storage::ProducerStateTable*> table =
      found ? ctx.state.producer_states.find_or_load(topic->id, index, **found, wall_clock_ms())
            : storage::Result<storage::ProducerStateTable*>(found.error());
  if (!table) {
    spdlog::error("describe producers {}-{}: {}", topic->name, index, table.error().message);
    out.error_code = to_wire(ErrorCode::kKafkaStorageError);
    return out;
  }
  for (const auto& [producer_id, entry] : (*table)->producers()) {
    DescribeProducersResponse::ProducerState p;
    p.producer_id = producer_id;
    p.producer_epoch = entry.epoch;
    p.last_sequence = entry.last_sequence();
    p.last_timestamp = entry.last_timestamp;
    p.coordinator_epoch = entry.coordinator_epoch;
    p.current_txn_start_offset = entry.current_txn_first_offset;
    out.active_producers.push_back(p);
  }
  std::sort(out.active_producers.begin(), out.active_producers.end(),
            [](const auto& a, const auto& b) { return a.producer_id < b.producer_id; });
  return out;
}

}  // namespace

std::optional<DescribeProducersResponse> handle_describe_producers(
    RequestContext& ctx, const DescribeProducersRequest& request, int16_t /*version*/) {
  DescribeProducersResponse response;
  for (const auto& t : request.topics) {
    auto& out = response.topics.emplace_back();
    out.name = std::string(t.name);
    const cluster::TopicInfo* topic = ctx.state.topics.find(t.name);
    const bool may_read =
        ctx.authorized(security::AclOperation::kRead, security::ResourceType::kTopic, t.name);
    for (int32_t index : t.partition_indexes) {
      out.partitions.push_back(describe(ctx, may_read ? topic : nullptr, index));
      if (!may_read)
        out.partitions.back().error_code = to_wire(ErrorCode::kTopicAuthorizationFailed);
    }
  }
  return response;
}

ApiEntry describe_producers_entry() {
  return make_entry<DescribeProducersRequest, DescribeProducersResponse,
                    &handle_describe_producers>("DescribeProducers",
                                                DescribeProducersRequest::kVersions);
}

}  // namespace kb::handlers
