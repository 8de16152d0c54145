#include "kb/handlers/list_offsets.hpp"

#include <spdlog/spdlog.h>

#include "kb/protocol/error_code.hpp"
#include "kb/storage/record_batch.hpp"

namespace kb::handlers {

using protocol::ErrorCode;
using protocol::ListOffsetsRequest;
using protocol::ListOffsetsResponse;
using protocol::to_wire;

namespace {

// Kafka's special timestamps.
constexpr int64_t kLatest = -1;
constexpr int64_t kEarliest = -2;
constexpr int64_t kMaxTimestamp = -3;
constexpr int64_t kEarliestLocal = -4;
constexpr int64_t kEarliestPendingUpload = -5;

struct Found {
  int64_t offset = -1;
  int64_t timestamp = -1;
};

// The record with the largest timestamp: batch headers carry their max
// timestamp, so the log is walked header by header (no record is parsed).
storage::Result<Found> find_max_timestamp(storage::PartitionLog& log) {
  Found best;
  int64_t offset = log.log_start_offset();
  while (offset < log.log_end_offset()) {
    auto read = log.read(offset, 1 << 20);
    if (!read) return read.error();
    if (read->empty()) break;
    auto bytes = read->read_bytes();
    if (!bytes) return bytes.error();
    storage::Bytes rest(*bytes);
    while (!rest.empty()) {
      auto header = storage::RecordBatchHeader::parse(rest);
      if (!header || header->size_in_bytes() == 0 || header->size_in_bytes() > rest.size()) break;
      if (header->max_timestamp > best.timestamp) {
        best.timestamp = header->max_timestamp;
        best.offset = header->last_offset();
      }
      offset = header->next_offset();
      rest = rest.subspan(header->size_in_bytes());
    }
  }
  return best;
}

ListOffsetsResponse::ListOffsetsPartitionResponse lookup(
    RequestContext& ctx, const cluster::TopicInfo& topic,
    const ListOffsetsRequest::ListOffsetsPartition& req, int16_t version) {
  ListOffsetsResponse::ListOffsetsPartitionResponse out;
  out.partition_index = req.partition_index;
  const cluster::PartitionInfo* info = topic.partition(req.partition_index);
  if (info == nullptr || !ctx.state.logs) {
    out.error_code = to_wire(ErrorCode::kUnknownTopicOrPartition);
    return out;
  }
  auto found_log = ctx.state.logs->find(topic.name, req.partition_index);
  if (!found_log) {
    spdlog::error("list offsets {}-{}: {}", topic.name, req.partition_index,
                  found_log.error().message);
    out.error_code = to_wire(ErrorCode::kKafkaStorageError);
    return out;
  }
  storage::PartitionLog* log = *found_log;
  const int64_t start = log ? log->log_start_offset() : 0;
  const int64_t end = log ? log->log_end_offset() : 0;  // also the high watermark
  out.leader_epoch = info->leader_epoch;

  Found found;
  switch (req.timestamp) {
    case kLatest:
      found.offset = end;
      break;
    case kEarliest:
    case kEarliestLocal:
    case kEarliestPendingUpload:
      found.offset = start;
      break;
    case kMaxTimestamp: {
      if (!log) break;
      auto max = find_max_timestamp(*log);
      if (!max) {
        out.error_code = to_wire(ErrorCode::kKafkaStorageError);
        return out;
      }
      found = *max;
      break;
    }
    default: {
      if (req.timestamp < 0) {
        out.error_code = to_wire(ErrorCode::kInvalidRequest);
        return out;
      }
      if (!log) break;
      auto at = log->record_for_timestamp(req.timestamp);
      if (!at) {
        spdlog::error("list offsets {}-{}: {}", topic.name, req.partition_index,
                      at.error().message);
        out.error_code = to_wire(ErrorCode::kKafkaStorageError);
        return out;
      }
      // Kafka answers the record found: its offset, its timestamp, and its
      // batch's leader epoch (-1 when the batch has none).
      if (at->has_value()) {
        found.offset = (*at)->offset;
        found.timestamp = (*at)->timestamp;
        out.leader_epoch = (*at)->leader_epoch;
      } else {
        out.leader_epoch = -1;
      }
    }
  }
  if (version == 0) {
    // v0 answers a list of offsets (at most max_num_offsets); the one found.
    if (found.offset >= 0 && req.max_num_offsets > 0) out.old_style_offsets.push_back(found.offset);
  } else {
    out.offset = found.offset;
    out.timestamp = found.timestamp;
  }
  return out;
}

}  // namespace

std::optional<ListOffsetsResponse> handle_list_offsets(RequestContext& ctx,
                                                       const ListOffsetsRequest& request,
                                                       int16_t version) {
  ListOffsetsResponse response;
  for (const auto& t : request.topics) {
    auto& out = response.topics.emplace_back();
    out.name = std::string(t.name);
    const cluster::TopicInfo* topic = ctx.state.topics.find(t.name);
    for (const auto& p : t.partitions) {
      if (topic == nullptr) {
        auto& e = out.partitions.emplace_back();
        e.partition_index = p.partition_index;
        e.error_code = to_wire(ErrorCode::kUnknownTopicOrPartition);
        continue;
      }
      out.partitions.push_back(lookup(ctx, *topic, p, version));
    }
  }
  return response;
}

ApiEntry list_offsets_entry() {
  return make_entry<ListOffsetsRequest, ListOffsetsResponse, &handle_list_offsets>(
      "ListOffsets", ListOffsetsRequest::kVersions);
}

}  // namespace kb::handlers
