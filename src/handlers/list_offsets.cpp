#include "kb/handlers/list_offsets.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <set>
#include <utility>
#include <vector>

#include "kb/protocol/error_code.hpp"
#include "kb/storage/compression.hpp"
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
constexpr int64_t kLatestTiered = -5;  // tiered storage's end: none here
// The first offset not yet in tiered storage (KIP-1023): Kafka answers -1
// for a topic without remote storage, as here.
constexpr int64_t kEarliestPendingUpload = -6;

struct Found {
  int64_t offset = -1;
  int64_t timestamp = -1;
  int32_t leader_epoch = -1;
};

// The first version that may ask for each special timestamp (Kafka's
// ReplicaManager.timestampMinSupportedVersion); other negative ones: none.
bool timestamp_unsupported(int64_t timestamp, int16_t version) {
  switch (timestamp) {
    case kEarliest:
    case kLatest:
      return false;  // v0 asks for them too, in its own layout
    case kMaxTimestamp:
      return version < 7;
    case kEarliestLocal:
      return version < 8;
    case kLatestTiered:
      return version < 9;
    case kEarliestPendingUpload:
      return version < 11;
    default:
      return timestamp < 0;
  }
}

// The record with the largest timestamp: Kafka's first batch with the largest
// max timestamp (batch headers carry it, so the log is walked header by
// header), then in it the first record with that timestamp (every record of a
// LogAppendTime batch has it); none found: -1, -1.
storage::Result<Found> find_max_timestamp(storage::PartitionLog& log) {
  Found best;
  int64_t best_batch = -1;
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
        best_batch = header->base_offset;
      }
      offset = header->next_offset();
      rest = rest.subspan(header->size_in_bytes());
    }
  }
  if (best_batch < 0) return Found{};
  auto read = log.read(std::max(best_batch, log.log_start_offset()), 1);
  if (!read) return read.error();
  auto bytes = read->read_bytes();
  if (!bytes) return bytes.error();
  auto batch = storage::RecordBatchView::parse(*bytes, storage::CrcCheck::skip);
  if (!batch) return Found{};
  std::vector<uint8_t> plain;
  if (batch->compression() != storage::Compression::none) {
    auto decompressed = storage::decompress(batch->compression(), batch->records_section());
    if (!decompressed) {
      spdlog::warn("{}: batch at {} unreadable ({}): its last offset answers the max timestamp",
                   log.dir().string(), batch->base_offset(), decompressed.error().message);
      return Found{batch->last_offset(), best.timestamp, batch->partition_leader_epoch()};
    }
    plain = std::move(*decompressed);
  }
  storage::RecordIterator records = batch->compression() == storage::Compression::none
                                        ? storage::RecordIterator(*batch)
                                        : storage::RecordIterator(*batch, plain);
  const bool append_time = batch->timestamp_type() == storage::TimestampType::log_append_time;
  storage::RecordView r;
  while (records.next(r))
    if (append_time || r.timestamp == best.timestamp)
      return Found{r.offset, best.timestamp, batch->partition_leader_epoch()};
  return Found{};
}

// Kafka's leader epoch of the log start offset: the earliest epoch, when it
// started at or before it.
int32_t earliest_epoch(storage::PartitionLog& log, int32_t current) {
  auto epochs = log.leader_epoch_starts();
  if (!epochs) {
    spdlog::error("{}: leader epochs unreadable: {}", log.dir().string(), epochs.error().message);
    return -1;
  }
  // No batch carries one: Kafka's cache has the current epoch from the log
  // end offset on.
  if (epochs->empty()) return log.log_end_offset() <= log.log_start_offset() ? current : -1;
  return epochs->front().start_offset <= log.log_start_offset() ? epochs->front().epoch : -1;
}

ListOffsetsResponse::ListOffsetsPartitionResponse lookup(
    RequestContext& ctx, const cluster::TopicInfo& topic,
    const ListOffsetsRequest::ListOffsetsPartition& req, int16_t version, bool read_committed) {
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
  // Kafka's checkCurrentLeaderEpoch (-1: the client does not say).
  if (req.current_leader_epoch >= 0 && req.current_leader_epoch != info->leader_epoch) {
    out.error_code =
        to_wire(req.current_leader_epoch < info->leader_epoch ? ErrorCode::kFencedLeaderEpoch
                                                              : ErrorCode::kUnknownLeaderEpoch);
    return out;
  }

  // Kafka's last fetchable offset: read_committed stops at the last stable
  // offset (the first offset of the earliest ongoing transaction).
  int64_t fetchable = end;
  if (read_committed && log) {
    auto lso = ctx.state.producer_states.last_stable_offset(
        topic.id, req.partition_index, *log,
        std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::system_clock::now().time_since_epoch())
            .count());
    if (!lso) {
      spdlog::error("list offsets {}-{}: {}", topic.name, req.partition_index, lso.error().message);
      out.error_code = to_wire(ErrorCode::kKafkaStorageError);
      return out;
    }
    fetchable = *lso;
  }

  Found found;
  switch (req.timestamp) {
    case kLatest:
      found = {fetchable, -1, info->leader_epoch};
      break;
    case kEarliest:
    case kEarliestLocal:
      found = {start, -1, log ? earliest_epoch(*log, info->leader_epoch) : info->leader_epoch};
      break;
    case kLatestTiered:
    case kEarliestPendingUpload:
      break;  // no tiered storage: -1, -1
    case kMaxTimestamp: {
      if (!log) break;
      auto max = find_max_timestamp(*log);
      if (!max) {
        spdlog::error("list offsets {}-{}: {}", topic.name, req.partition_index,
                      max.error().message);
        out.error_code = to_wire(ErrorCode::kKafkaStorageError);
        return out;
      }
      found = *max;
      break;
    }
    default: {
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
      if (at->has_value() && (*at)->offset < fetchable)
        found = {(*at)->offset, (*at)->timestamp, (*at)->leader_epoch};
    }
  }
  out.leader_epoch = found.leader_epoch;
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
  // A partition named twice is refused each time (Kafka's
  // ListOffsetsRequest.duplicatePartitions).
  std::set<std::pair<std::string_view, int32_t>> seen, duplicated;
  if (version >= 1)
    for (const auto& t : request.topics)
      for (const auto& p : t.partitions)
        if (!seen.insert({t.name, p.partition_index}).second)
          duplicated.insert({t.name, p.partition_index});
  for (const auto& t : request.topics) {
    auto& out = response.topics.emplace_back();
    out.name = std::string(t.name);
    const cluster::TopicInfo* topic = ctx.state.topics.find(t.name);
    const bool may_describe =
        ctx.authorized(security::AclOperation::kDescribe, security::ResourceType::kTopic, t.name);
    for (const auto& p : t.partitions) {
      ErrorCode refused = ErrorCode::kNone;
      if (!may_describe)
        refused = ErrorCode::kTopicAuthorizationFailed;
      else if (duplicated.contains({t.name, p.partition_index}))
        refused = ErrorCode::kInvalidRequest;
      else if (timestamp_unsupported(p.timestamp, version))
        refused = ErrorCode::kUnsupportedVersion;
      else if (topic == nullptr)
        refused = ErrorCode::kUnknownTopicOrPartition;
      if (refused != ErrorCode::kNone) {
        auto& e = out.partitions.emplace_back();
        e.partition_index = p.partition_index;
        e.error_code = to_wire(refused);
        continue;
      }
      out.partitions.push_back(lookup(ctx, *topic, p, version, request.isolation_level == 1));
    }
  }
  wait_for_metadata(ctx);
  return response;
}

ApiEntry list_offsets_entry() {
  return make_entry<ListOffsetsRequest, ListOffsetsResponse, &handle_list_offsets>(
      "ListOffsets", ListOffsetsRequest::kVersions);
}

}  // namespace kb::handlers
