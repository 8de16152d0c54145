#include "kb/handlers/fetch.hpp"

#include <algorithm>
#include <chrono>

#include <spdlog/spdlog.h>

#include "kb/base/byte_buffer.hpp"
#include "kb/base/wall_clock.hpp"
#include "kb/protocol/error_code.hpp"

namespace kb::handlers {

using protocol::ErrorCode;
using protocol::FetchRequest;
using protocol::FetchResponse;
using protocol::to_wire;

namespace {

constexpr int8_t kReadCommitted = 1;

FetchResponse::PartitionData partition_error(int32_t index, ErrorCode error) {
  FetchResponse::PartitionData p;
  p.partition_index = index;
  p.error_code = to_wire(error);
  p.high_watermark = -1;
  p.last_stable_offset = -1;
  p.log_start_offset = -1;
  p.records = wire::Bytes{};
  return p;
}

// Reads one partition. `budget` is what is left of the request's max_bytes;
// the first batch found in the whole response is returned even when larger,
// so a consumer never stalls on a big batch. The records stay in the segment
// file: the response carries the file range, sent from the page cache as is.
FetchResponse::PartitionData read_partition(RequestContext& ctx, const cluster::TopicInfo& topic,
                                            const FetchRequest::FetchPartition& req,
                                            int8_t isolation_level, int64_t& budget,
                                            size_t& bytes_found) {
  if (topic.partition(req.partition) == nullptr)
    return partition_error(req.partition, ErrorCode::kUnknownTopicOrPartition);

  FetchResponse::PartitionData p;
  p.partition_index = req.partition;
  p.high_watermark = 0;
  p.last_stable_offset = 0;
  p.log_start_offset = 0;
  p.records = wire::Bytes{};

  auto found = ctx.state.logs->find(topic.name, req.partition);
  if (!found) {
    spdlog::error("fetch {}-{}: {}", topic.name, req.partition, found.error().message);
    return partition_error(req.partition, ErrorCode::kKafkaStorageError);
  }
  storage::PartitionLog* log = *found;
  if (log == nullptr) {
    // Known partition with no data on disk yet: an empty log.
    if (req.fetch_offset != 0) p.error_code = to_wire(ErrorCode::kOffsetOutOfRange);
    return p;
  }

  p.high_watermark = log->log_end_offset();
  p.log_start_offset = log->log_start_offset();
  // The last stable offset: read_committed reads stop there, and it needs the
  // partition's producer state (loaded for it); otherwise it is answered from
  // the state when loaded.
  const bool read_committed = isolation_level == kReadCommitted;
  if (read_committed) {
    auto lso =
        ctx.state.producer_states.last_stable_offset(topic.id, req.partition, *log, wall_ms());
    if (!lso) {
      spdlog::error("fetch {}-{}: {}", topic.name, req.partition, lso.error().message);
      return partition_error(req.partition, ErrorCode::kKafkaStorageError);
    }
    p.last_stable_offset = *lso;
    p.aborted_transactions.emplace();
  } else {
    const auto unstable =
        ctx.state.producer_states.loaded_first_unstable_offset(topic.id, req.partition);
    p.last_stable_offset = unstable ? std::min(*unstable, p.high_watermark) : p.high_watermark;
  }

  // As Kafka's ReplicaManager: each partition reads at most what is left of
  // max_bytes, and the first batch of the response goes out whole.
  const uint64_t limit =
      std::min<uint64_t>(static_cast<uint64_t>(std::max<int32_t>(req.partition_max_bytes, 0)),
                         static_cast<uint64_t>(std::max<int64_t>(budget, 0)));
  const bool have_data = bytes_found > 0;
  if (limit == 0 && have_data) return p;
  std::optional<int64_t> max_offset;
  if (read_committed) max_offset = p.last_stable_offset;
  auto read = log->read(req.fetch_offset, std::max<uint64_t>(limit, 1), max_offset);
  if (!read) {
    spdlog::error("fetch {}-{} at {}: {}", topic.name, req.partition, req.fetch_offset,
                  read.error().message);
    return partition_error(req.partition, ErrorCode::kKafkaStorageError);
  }
  if (read->outcome == storage::LogReadResult::Outcome::offset_out_of_range) {
    p.error_code = to_wire(ErrorCode::kOffsetOutOfRange);
    return p;
  }
  if (read->outcome == storage::LogReadResult::Outcome::corrupt) {
    // As Kafka answers a CorruptRecordException from the log: consumers stop
    // with an error instead of retrying a KAFKA_STORAGE_ERROR forever. The
    // damage was logged when found.
    spdlog::debug("fetch {}-{} at {}: the log is damaged there", topic.name, req.partition,
                  req.fetch_offset);
    p.error_code = to_wire(ErrorCode::kCorruptMessage);
    return p;
  }
  if (read->empty()) return p;
  // Only the response's first batch may go over: a later partition whose
  // next batch does not fit answers no records (Kafka's minOneMessage).
  if (have_data && read->length > limit) return p;
  if (read_committed) {
    // The aborted transactions a consumer needs to skip in what it reads.
    auto aborted = ctx.state.producer_states.aborted_between(
        topic.id, req.partition, *log, req.fetch_offset, p.last_stable_offset, wall_ms());
    if (!aborted) {
      spdlog::error("fetch {}-{}: {}", topic.name, req.partition, aborted.error().message);
      return partition_error(req.partition, ErrorCode::kKafkaStorageError);
    }
    for (const auto& txn : *aborted)
      p.aborted_transactions->push_back({txn.producer_id, txn.first_offset});
  }
  budget -= static_cast<int64_t>(read->length);
  bytes_found += read->length;
  p.records.file = read->file_range();
  return p;
}

// What Kafka counts of a response against consumer_byte_rate: the body at
// `version`, records included, and four bytes for its size.
uint64_t encoded_size(const FetchResponse& response, int16_t version) {
  ByteBuffer scratch;
  wire::FileRanges files;
  wire::Writer writer(scratch, &files);
  wire::encode(writer, response, version, version >= FetchResponse::kFirstFlexible);
  return 4 + writer.written() + files.bytes;
}

}  // namespace

std::optional<FetchResponse> handle_fetch(RequestContext& ctx, const FetchRequest& request,
                                          int16_t version) {
  FetchResponse response;
  const bool by_id = version >= 13;

  // Sessions are not kept: a request naming an existing session (id != 0)
  // is told so, and full fetches (id 0) always work.
  if (request.session_id != 0) {
    response.error_code = to_wire(ErrorCode::kFetchSessionIdNotFound);
    return response;
  }

  // Under a consumer quota, a fetch asks for no more than the quota's
  // windows could ever let through (Kafka's getMaxValueInQuotaWindow): more
  // would be throttled even from a standstill, and the consumer would stall.
  int64_t max_bytes = std::max<int32_t>(request.max_bytes, 0);
  if (ctx.throttle != nullptr)
    max_bytes = std::min(max_bytes, std::max<int64_t>(ctx.throttle->fetch_bytes_in_window(), 0));
  const int64_t min_bytes = std::min<int64_t>(request.min_bytes, max_bytes);
  int64_t budget = max_bytes;
  size_t bytes_found = 0;
  for (const auto& t : request.topics) {
    auto& out = response.responses.emplace_back();
    out.topic = std::string(t.topic);
    out.topic_id = t.topic_id;
    const cluster::TopicInfo* topic =
        by_id ? ctx.state.topics.find(t.topic_id) : ctx.state.topics.find(t.topic);
    // READ on the topic, asked of a name even when no topic has it (an
    // unknown id is told so first: there is no name to ask about).
    const bool may_read =
        (by_id && topic == nullptr) ||
        ctx.authorized(security::AclOperation::kRead, security::ResourceType::kTopic,
                       topic != nullptr ? std::string_view(topic->name) : t.topic);
    for (const auto& req : t.partitions) {
      if (version < kFetchFirstServed) {
        out.partitions.push_back(partition_error(req.partition, ErrorCode::kUnsupportedVersion));
      } else if (!may_read) {
        out.partitions.push_back(
            partition_error(req.partition, ErrorCode::kTopicAuthorizationFailed));
      } else if (topic == nullptr) {
        out.partitions.push_back(
            partition_error(req.partition, by_id ? ErrorCode::kUnknownTopicId
                                                 : ErrorCode::kUnknownTopicOrPartition));
      } else if (ctx.state.logs == nullptr) {
        out.partitions.push_back(partition_error(req.partition, ErrorCode::kKafkaStorageError));
      } else {
        out.partitions.push_back(
            read_partition(ctx, *topic, req, request.isolation_level, budget, bytes_found));
      }
    }
  }

  // Long poll: with less than min_bytes, wait for more data until max_wait_ms.
  const auto deadline = ctx.arrival + std::chrono::milliseconds(std::max(request.max_wait_ms, 0));
  const bool any_error =
      std::any_of(response.responses.begin(), response.responses.end(), [](const auto& t) {
        return std::any_of(t.partitions.begin(), t.partitions.end(),
                           [](const auto& p) { return p.error_code != 0; });
      });
  if (ctx.may_wait && !any_error && !request.topics.empty() &&
      bytes_found < static_cast<size_t>(std::max<int64_t>(min_bytes, 0)) && ctx.now < deadline) {
    ctx.wait_until = deadline;
    return std::nullopt;
  }

  // What Kafka's BrokerTopicMetrics count, once the answer is final.
  if (response.error_code != 0) ctx.errors.add(response.error_code);
  for (const auto& t : response.responses) {
    metrics::TopicCounters* counters = nullptr;
    if (ctx.metrics != nullptr) {
      const cluster::TopicInfo* topic =
          by_id ? ctx.state.topics.find(t.topic_id) : ctx.state.topics.find(t.topic);
      if (topic != nullptr) counters = &ctx.metrics->topic(topic->name);
    }
    for (const auto& p : t.partitions) {
      ctx.errors.add(p.error_code);
      if (counters == nullptr) continue;
      metrics::TopicCounters& all = ctx.metrics->all_topics();
      counters->total_fetch.add();
      all.total_fetch.add();
      // Kafka counts a fetch failure only when it is unexpected (a corrupt
      // batch here), not an unknown partition or an offset out of range.
      if (p.error_code == to_wire(ErrorCode::kCorruptMessage)) {
        counters->failed_fetch.add();
        all.failed_fetch.add();
      }
      const uint64_t bytes =
          p.records.file ? p.records.file->length : (p.records ? p.records->size() : 0);
      counters->bytes_out.add(bytes);
      all.bytes_out.add(bytes);
    }
  }

  // Over a quota (consumer bytes or request time), Kafka answers empty:
  // no partitions, no session, only the throttle. The client asks again
  // after it, from the same offsets.
  if (ctx.throttle != nullptr) {
    const int32_t throttle =
        ctx.throttle->fetch_throttle_time_ms(ctx, [&] { return encoded_size(response, version); });
    if (throttle > 0) {
      FetchResponse throttled;
      throttled.throttle_time_ms = throttle;
      ctx.errors.clear();
      ctx.errors.add(throttled.error_code);
      return throttled;
    }
  }
  return response;
}

ApiEntry fetch_entry() {
  return make_entry<FetchRequest, FetchResponse, &handle_fetch>("Fetch", kFetchAdvertised);
}

}  // namespace kb::handlers
