#include <spdlog/spdlog.h>

#include "kb/cluster/topic_configs.hpp"
#include "kb/handlers/log_admin.hpp"
#include "kb/protocol/error_code.hpp"

namespace kb::handlers {

using protocol::DeleteRecordsRequest;
using protocol::DeleteRecordsResponse;
using protocol::ErrorCode;
using protocol::to_wire;

namespace {

constexpr int64_t kHighWatermark = -1;  // DeleteRecordsRequest.HIGH_WATERMARK
constexpr int64_t kInvalidLowWatermark = -1;

DeleteRecordsResponse::DeleteRecordsPartitionResult delete_below(
    RequestContext& ctx, const cluster::TopicInfo* topic, bool deletes,
    const DeleteRecordsRequest::DeleteRecordsPartition& req) {
  DeleteRecordsResponse::DeleteRecordsPartitionResult out;
  out.partition_index = req.partition_index;
  out.low_watermark = kInvalidLowWatermark;
  if (topic == nullptr || topic->partition(req.partition_index) == nullptr || !ctx.state.logs) {
    out.error_code = to_wire(ErrorCode::kUnknownTopicOrPartition);
    return out;
  }
  // Kafka's Partition.deleteRecordsOnLeader.
  if (!deletes) {
    out.error_code = to_wire(ErrorCode::kPolicyViolation);
    return out;
  }
  auto found = ctx.state.logs->find(topic->name, req.partition_index);
  if (!found) {
    spdlog::error("delete records {}-{}: {}", topic->name, req.partition_index,
                  found.error().message);
    out.error_code = to_wire(ErrorCode::kKafkaStorageError);
    return out;
  }
  storage::PartitionLog* log = *found;
  // The high watermark is the log end offset here (one replica).
  const int64_t high_watermark = log ? log->log_end_offset() : 0;
  const int64_t offset = req.offset == kHighWatermark ? high_watermark : req.offset;
  if (offset < 0 || offset > high_watermark) {
    out.error_code = to_wire(ErrorCode::kOffsetOutOfRange);
    return out;
  }
  if (log == nullptr) {  // no data yet: it starts at 0 and ends there
    out.low_watermark = 0;
    return out;
  }
  const int64_t start_before = log->log_start_offset();
  auto deleted = log->advance_log_start_offset(offset);
  if (!deleted) {
    spdlog::error("delete records {}-{} below {}: {}", topic->name, req.partition_index, offset,
                  deleted.error().message);
    out.error_code = to_wire(ErrorCode::kKafkaStorageError);
    return out;
  }
  if (log->log_start_offset() != start_before)
    spdlog::info(
        "{}-{}: records deleted below {} (log start offset {} -> {}, {} segment(s) "
        "deleted)",
        topic->name, req.partition_index, offset, start_before, log->log_start_offset(), *deleted);
  out.low_watermark = log->log_start_offset();
  return out;
}

}  // namespace

std::optional<DeleteRecordsResponse> handle_delete_records(RequestContext& ctx,
                                                           const DeleteRecordsRequest& request,
                                                           int16_t /*version*/) {
  DeleteRecordsResponse response;
  for (const auto& t : request.topics) {
    auto& out = response.topics.emplace_back();
    out.name = std::string(t.name);
    const cluster::TopicInfo* topic = ctx.state.topics.find(t.name);
    const bool deletes = topic != nullptr && cluster::topic_retention(ctx.state, t.name).deletes;
    const bool may_delete =
        ctx.authorized(security::AclOperation::kDelete, security::ResourceType::kTopic, t.name);
    for (const auto& p : t.partitions) {
      if (may_delete) {
        out.partitions.push_back(delete_below(ctx, topic, deletes, p));
        continue;
      }
      auto& refused = out.partitions.emplace_back();
      refused.partition_index = p.partition_index;
      refused.low_watermark = kInvalidLowWatermark;
      refused.error_code = to_wire(ErrorCode::kTopicAuthorizationFailed);
    }
  }
  return response;
}

ApiEntry delete_records_entry() {
  return make_entry<DeleteRecordsRequest, DeleteRecordsResponse, &handle_delete_records>(
      "DeleteRecords", DeleteRecordsRequest::kVersions);
}

}  // namespace kb::handlers
