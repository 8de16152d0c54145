#include <spdlog/spdlog.h>

#include <vector>

#include "kb/handlers/log_admin.hpp"
#include "kb/protocol/error_code.hpp"

namespace kb::handlers {

using protocol::ErrorCode;
using protocol::OffsetForLeaderEpochRequest;
using protocol::OffsetForLeaderEpochResponse;
using protocol::to_wire;

namespace {

using EpochStart = storage::PartitionLog::EpochStart;

// Kafka's LeaderEpochFileCache.endOffsetFor: the requested epoch's end is
// where the next larger epoch starts (the log end offset for the latest
// epoch), answered with the largest epoch at or below the requested one.
// Nothing known: -1, -1.
void end_offset_for(const std::vector<EpochStart>& epochs, int32_t requested, int64_t log_end,
                    OffsetForLeaderEpochResponse::EpochEndOffset& out) {
  if (requested < 0 || epochs.empty()) return;
  if (epochs.back().epoch == requested) {
    out.leader_epoch = requested;
    out.end_offset = log_end;
    return;
  }
  const EpochStart* floor = nullptr;
  const EpochStart* higher = nullptr;
  for (const EpochStart& e : epochs) {
    if (e.epoch <= requested) floor = &e;
    if (e.epoch > requested) {
      higher = &e;
      break;
    }
  }
  if (higher == nullptr) return;  // above every known epoch
  // Below every known epoch: the first later epoch's start (the log start).
  out.leader_epoch = floor != nullptr ? floor->epoch : requested;
  out.end_offset = higher->start_offset;
}

OffsetForLeaderEpochResponse::EpochEndOffset look_up(
    RequestContext& ctx, const cluster::TopicInfo* topic,
    const OffsetForLeaderEpochRequest::OffsetForLeaderPartition& req) {
  OffsetForLeaderEpochResponse::EpochEndOffset out;
  out.partition = req.partition;
  const cluster::PartitionInfo* info = topic ? topic->partition(req.partition) : nullptr;
  if (info == nullptr || !ctx.state.logs) {
    out.error_code = to_wire(ErrorCode::kUnknownTopicOrPartition);
    return out;
  }
  // Kafka's checkCurrentLeaderEpoch (-1: the client does not say).
  if (req.current_leader_epoch >= 0 && req.current_leader_epoch < info->leader_epoch) {
    out.error_code = to_wire(ErrorCode::kFencedLeaderEpoch);
    return out;
  }
  if (req.current_leader_epoch > info->leader_epoch) {
    out.error_code = to_wire(ErrorCode::kUnknownLeaderEpoch);
    return out;
  }
  auto found = ctx.state.logs->find(topic->name, req.partition);
  std::vector<EpochStart> epochs;
  int64_t log_end = 0;
  if (found && *found != nullptr) {
    auto read = (*found)->leader_epoch_starts();
    if (!read) {
      found = read.error();
    } else {
      epochs = std::move(*read);
      log_end = (*found)->log_end_offset();
    }
  }
  if (!found) {
    spdlog::error("offset for leader epoch {}-{}: {}", topic->name, req.partition,
                  found.error().message);
    out.error_code = to_wire(ErrorCode::kKafkaStorageError);
    return out;
  }
  // This broker has led the partition at its current epoch since before its
  // newest batch that has a smaller one: Kafka's cache gets that epoch at the
  // log end offset when leadership starts.
  if (epochs.empty() || epochs.back().epoch < info->leader_epoch)
    epochs.push_back({info->leader_epoch, log_end});
  end_offset_for(epochs, req.leader_epoch, log_end, out);
  return out;
}

}  // namespace

std::optional<OffsetForLeaderEpochResponse> handle_offset_for_leader_epoch(
    RequestContext& ctx, const OffsetForLeaderEpochRequest& request, int16_t /*version*/) {
  OffsetForLeaderEpochResponse response;
  for (const auto& t : request.topics) {
    auto& out = response.topics.emplace_back();
    out.topic = std::string(t.topic);
    const cluster::TopicInfo* topic = ctx.state.topics.find(t.topic);
    const bool may_describe =
        ctx.authorized(security::AclOperation::kDescribe, security::ResourceType::kTopic, t.topic);
    for (const auto& p : t.partitions) {
      out.partitions.push_back(look_up(ctx, may_describe ? topic : nullptr, p));
      if (!may_describe)
        out.partitions.back().error_code = to_wire(ErrorCode::kTopicAuthorizationFailed);
    }
  }
  return response;
}

ApiEntry offset_for_leader_epoch_entry() {
  return make_entry<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse,
                    &handle_offset_for_leader_epoch>("OffsetForLeaderEpoch",
                                                     OffsetForLeaderEpochRequest::kVersions);
}

}  // namespace kb::handlers
