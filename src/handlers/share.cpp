#include "kb/handlers/share.hpp"
#include "kb/handlers/share_groups.hpp"

#include <algorithm>
#include <chrono>
#include <map>

#include <spdlog/spdlog.h>

#include "kb/base/wall_clock.hpp"
#include "kb/protocol/error_code.hpp"
#include "kb/share/share_state.hpp"

namespace kb::handlers {

using protocol::ErrorCode;
using protocol::ShareAcknowledgeRequest;
using protocol::ShareAcknowledgeResponse;
using protocol::ShareFetchRequest;
using protocol::ShareFetchResponse;
using protocol::to_wire;
using share::SharePartitionKey;
using share::TopicPartition;

namespace {

// Kafka's bound on a member id in share requests (a UUID's text).
constexpr size_t kMaxMemberIdLength = 36;

// The checks both requests begin with, in Kafka's order; kNone when they pass.
template <class Request>
ErrorCode check_request(RequestContext& ctx, const Request& request) {
  // As Kafka 4.4: share groups on (share.version 1) or nothing is served.
  if (ctx.shares == nullptr || !share_groups_enabled(ctx)) return ErrorCode::kUnsupportedVersion;
  if (!request.group_id || request.group_id->empty()) return ErrorCode::kInvalidRequest;
  if (!ctx.authorized(security::AclOperation::kRead, security::ResourceType::kGroup,
                      *request.group_id))
    return ErrorCode::kGroupAuthorizationFailed;
  if (!request.member_id || request.member_id->empty() ||
      request.member_id->size() > kMaxMemberIdLength)
    return ErrorCode::kInvalidRequest;
  // Membership is not asked of the group: as in Kafka 4.4, the share session
  // (group, member) is what a member's records are held under, and a member
  // the group fenced loses them with its session or their locks.
  return ErrorCode::kNone;
}

// Whether the request's principal may read the topic (by id: an unknown id
// is told so first, there being no name to ask about).
bool may_read(RequestContext& ctx, const cluster::TopicInfo* topic) {
  return topic == nullptr ||
         ctx.authorized(security::AclOperation::kRead, security::ResourceType::kTopic, topic->name);
}

// One partition's acknowledgements, applied all or none; the partition's
// error.
template <class Batches>
ErrorCode acknowledge(RequestContext& ctx, std::string_view group, std::string_view member,
                      const wire::Uuid& topic_id, int32_t partition, const Batches& batches,
                      bool renew_allowed) {
  const cluster::TopicInfo* topic = ctx.state.topics.find(topic_id);
  if (!may_read(ctx, topic)) return ErrorCode::kTopicAuthorizationFailed;
  if (topic == nullptr) return ErrorCode::kUnknownTopicId;
  std::vector<share::AckBatch> acks;
  acks.reserve(batches.size());
  for (const auto& b : batches) {
    share::AckBatch& a = acks.emplace_back();
    a.first_offset = b.first_offset;
    a.last_offset = b.last_offset;
    a.types.reserve(b.acknowledge_types.size());
    for (int8_t t : b.acknowledge_types) {
      if (t < 0 || t > static_cast<int8_t>(share::AckType::kRenew))
        return ErrorCode::kInvalidRequest;
      if (t == static_cast<int8_t>(share::AckType::kRenew) && !renew_allowed)
        return ErrorCode::kInvalidRequest;
      a.types.push_back(static_cast<share::AckType>(t));
    }
  }
  const SharePartitionKey key{std::string(group), topic_id, partition};
  share::SharePartition* p = ctx.shares->find(key);
  if (p == nullptr) return ErrorCode::kUnknownTopicOrPartition;
  const ErrorCode error = p->acknowledge(member, acks, ctx.now);
  ctx.shares->touched(key, true);
  return error;
}

// What a ShareFetch did before it waited: the session's change and the
// acknowledgements happen once, whatever the waits.
struct ShareFetchProgress final : RequestProgress {
  std::map<TopicPartition, ErrorCode> ack_errors;
  std::vector<TopicPartition> to_fetch;
  bool full = false;  // a new session: every partition it names is answered
};

ShareFetchResponse::PartitionData empty_partition(int32_t index) {
  ShareFetchResponse::PartitionData p;
  p.partition_index = index;
  p.records = wire::Bytes{};
  p.current_leader.leader_id = -1;
  p.current_leader.leader_epoch = -1;
  return p;
}

// The batches a consumer must not get: control batches, and under
// read_committed those of aborted transactions. Their records are archived.
bool skipped(const storage::RecordBatchHeader& h, std::span<const storage::AbortedTxn> aborted) {
  if (h.is_control()) return true;
  if (!h.is_transactional()) return false;
  return std::any_of(aborted.begin(), aborted.end(), [&](const storage::AbortedTxn& t) {
    return t.producer_id == h.producer_id && t.first_offset <= h.base_offset &&
           h.base_offset <= t.last_offset;
  });
}

// Acquired ranges without the offsets in [first, last].
void cut(std::vector<share::AcquiredRange>& ranges, int64_t first, int64_t last) {
  std::vector<share::AcquiredRange> out;
  for (const auto& r : ranges) {
    if (r.last_offset < first || r.first_offset > last) {
      out.push_back(r);
      continue;
    }
    if (r.first_offset < first) out.push_back({r.first_offset, first - 1, r.delivery_count});
    if (r.last_offset > last) out.push_back({last + 1, r.last_offset, r.delivery_count});
  }
  ranges = std::move(out);
}

struct FetchBudget {
  int64_t bytes = 0;
  int64_t records = 0;
  size_t bytes_found = 0;
};

// Reads one partition for the member and acquires what it may of it. The
// records stay in the segment file, sent as they are (as Fetch sends them).
ShareFetchResponse::PartitionData fetch_partition(RequestContext& ctx, std::string_view group,
                                                  std::string_view member, const TopicPartition& tp,
                                                  FetchBudget& budget) {
  ShareFetchResponse::PartitionData p = empty_partition(tp.second);
  auto fail = [&](ErrorCode e) {
    p.error_code = to_wire(e);
    return p;
  };
  const cluster::TopicInfo* topic = ctx.state.topics.find(tp.first);
  if (!may_read(ctx, topic)) return fail(ErrorCode::kTopicAuthorizationFailed);
  if (topic == nullptr) return fail(ErrorCode::kUnknownTopicId);
  if (topic->partition(tp.second) == nullptr) return fail(ErrorCode::kUnknownTopicOrPartition);
  if (ctx.state.logs == nullptr) return fail(ErrorCode::kKafkaStorageError);
  auto found = ctx.state.logs->find(topic->name, tp.second);
  if (!found) {
    spdlog::error("share fetch {}-{}: {}", topic->name, tp.second, found.error().message);
    return fail(ErrorCode::kKafkaStorageError);
  }
  storage::PartitionLog* log = *found;

  const SharePartitionKey key{std::string(group), tp.first, tp.second};
  share::SharePartition& sp = ctx.shares->initialize(key, share_log_bounds(log), wall_ms());
  if (log == nullptr) return p;
  // Records retention or DeleteRecords removed are done.
  sp.on_log_start_offset(log->log_start_offset());
  if (budget.records <= 0 || (budget.bytes_found > 0 && budget.bytes <= 0) || !sp.can_acquire()) {
    ctx.shares->touched(key, false);
    return p;
  }

  const share::ShareGroupSettings settings = ctx.shares->group_settings(group);
  std::optional<int64_t> max_offset;
  if (settings.read_committed) {
    auto lso = ctx.state.producer_states.last_stable_offset(topic->id, tp.second, *log, wall_ms());
    if (!lso) {
      spdlog::error("share fetch {}-{}: {}", topic->name, tp.second, lso.error().message);
      return fail(ErrorCode::kKafkaStorageError);
    }
    max_offset = *lso;
  }
  const int64_t offset = sp.next_fetch_offset();
  uint64_t limit = static_cast<uint64_t>(std::max<int64_t>(budget.bytes, 1));
  auto read = log->read(offset, limit, max_offset);
  if (!read) {
    spdlog::error("share fetch {}-{} at {}: {}", topic->name, tp.second, offset,
                  read.error().message);
    return fail(ErrorCode::kKafkaStorageError);
  }
  if (read->outcome == storage::LogReadResult::Outcome::corrupt)
    return fail(ErrorCode::kCorruptMessage);
  if (read->outcome != storage::LogReadResult::Outcome::ok || read->empty()) return p;
  auto headers = read->batch_headers();
  if (!headers) {
    spdlog::error("share fetch {}-{} at {}: {}", topic->name, tp.second, offset,
                  headers.error().message);
    return fail(ErrorCode::kKafkaStorageError);
  }
  std::vector<storage::AbortedTxn> aborted;
  if (settings.read_committed) {
    auto found_aborted = ctx.state.producer_states.aborted_between(
        topic->id, tp.second, *log, read->first_batch_base_offset, *max_offset, wall_ms());
    if (!found_aborted) {
      spdlog::error("share fetch {}-{}: {}", topic->name, tp.second, found_aborted.error().message);
      return fail(ErrorCode::kKafkaStorageError);
    }
    aborted = std::move(*found_aborted);
  }
  std::vector<share::LogBatchSpan> spans;
  spans.reserve(headers->size());
  for (const auto& h : *headers)
    spans.push_back(share::LogBatchSpan{h.base_offset, h.last_offset()});
  auto acquired = sp.acquire(
      member, spans, static_cast<int32_t>(std::min<int64_t>(budget.records, INT32_MAX)), ctx.now);
  for (const auto& h : *headers) {
    if (!skipped(h, aborted)) continue;
    sp.archive(h.base_offset, h.last_offset());
    cut(acquired, h.base_offset, h.last_offset());
  }
  ctx.shares->touched(key, false);
  if (acquired.empty()) return p;
  for (const auto& r : acquired) {
    p.acquired_records.push_back({r.first_offset, r.last_offset, r.delivery_count});
    budget.records -= r.last_offset - r.first_offset + 1;
  }
  budget.bytes -= static_cast<int64_t>(read->length);
  budget.bytes_found += read->length;
  p.records.file = read->file_range();
  return p;
}

ShareFetchResponse fetch_error(ErrorCode e) {
  ShareFetchResponse r;
  r.error_code = to_wire(e);
  return r;
}

}  // namespace

share::LogBounds share_log_bounds(storage::PartitionLog* log) {
  share::LogBounds bounds;
  if (log != nullptr) {
    bounds.log_start_offset = log->log_start_offset();
    bounds.log_end_offset = log->log_end_offset();
    bounds.offset_for_time = [log](int64_t ts) -> std::optional<int64_t> {
      auto at = log->offset_for_timestamp(ts);
      return at ? *at : std::nullopt;
    };
  }
  return bounds;
}

std::optional<ShareFetchResponse> handle_share_fetch(RequestContext& ctx,
                                                     const ShareFetchRequest& request,
                                                     int16_t version) {
  std::unique_ptr<ShareFetchProgress> progress = take_progress<ShareFetchProgress>(ctx);
  if (!progress) {
    if (ErrorCode e = check_request(ctx, request); e != ErrorCode::kNone) return fetch_error(e);
    // A renewal carries acknowledgements only.
    if (version >= 2 && request.is_renew_ack &&
        (request.max_bytes != 0 || request.min_bytes != 0 || request.max_records != 0 ||
         request.max_wait_ms != 0))
      return fetch_error(ErrorCode::kInvalidRequest);
  }
  share::ShareState& shares = *ctx.shares;
  const std::string_view group = *request.group_id;
  const std::string_view member = *request.member_id;
  const int32_t epoch = request.share_session_epoch;

  if (!progress) {
    progress = std::make_unique<ShareFetchProgress>();
    const bool has_acks =
        std::any_of(request.topics.begin(), request.topics.end(), [](const auto& t) {
          return std::any_of(t.partitions.begin(), t.partitions.end(),
                             [](const auto& p) { return !p.acknowledgement_batches.empty(); });
        });
    std::set<TopicPartition> named;
    for (const auto& t : request.topics)
      for (const auto& p : t.partitions) named.insert({t.topic_id, p.partition_index});
    share::ShareSession* session = nullptr;
    if (epoch == share::kFinalEpoch) {
      session = shares.sessions().find(group, member);
      if (session == nullptr) return fetch_error(ErrorCode::kShareSessionNotFound);
    } else if (epoch == share::kInitialEpoch) {
      if (has_acks) return fetch_error(ErrorCode::kInvalidRequest);
      // A member opening a new session gives back what the old one held.
      if (share::ShareSession* old = shares.sessions().find(group, member)) {
        const std::set<TopicPartition> held = old->partitions;
        shares.sessions().close(group, member);
        shares.release(group, member, held);
      }
      session = shares.sessions().open(group, member, ctx.connection_id, named);
      if (session == nullptr) return fetch_error(ErrorCode::kShareSessionLimitReached);
      progress->full = true;
    } else {
      session = shares.sessions().find(group, member);
      if (session == nullptr) return fetch_error(ErrorCode::kShareSessionNotFound);
      if (session->epoch != epoch) return fetch_error(ErrorCode::kInvalidShareSessionEpoch);
      session->partitions.insert(named.begin(), named.end());
      for (const auto& f : request.forgotten_topics_data)
        for (int32_t index : f.partitions) session->partitions.erase({f.topic_id, index});
      session->epoch = share::next_epoch(session->epoch);
    }

    const bool renew = version >= 2 && request.is_renew_ack;
    for (const auto& t : request.topics)
      for (const auto& p : t.partitions)
        if (!p.acknowledgement_batches.empty())
          progress->ack_errors[{t.topic_id, p.partition_index}] = acknowledge(
              ctx, group, member, t.topic_id, p.partition_index, p.acknowledgement_batches, renew);

    if (epoch == share::kFinalEpoch) {
      // The session ends: what the member still holds goes back.
      const std::set<TopicPartition> held = session->partitions;
      shares.sessions().close(group, member);
      shares.release(group, member, held);
    } else if (!renew) {
      // The full request's order, else the session's.
      if (progress->full) {
        for (const auto& t : request.topics)
          for (const auto& p : t.partitions) {
            TopicPartition tp{t.topic_id, p.partition_index};
            if (std::find(progress->to_fetch.begin(), progress->to_fetch.end(), tp) ==
                progress->to_fetch.end())
              progress->to_fetch.push_back(tp);
          }
      } else {
        progress->to_fetch.assign(session->partitions.begin(), session->partitions.end());
      }
    }
  }

  ShareFetchResponse response;
  response.acquisition_lock_timeout_ms = shares.options().record_lock_duration_ms;
  FetchBudget budget;
  budget.bytes = std::max<int32_t>(request.max_bytes, 0);
  budget.records = request.max_records > 0 ? request.max_records : 0;
  std::map<TopicPartition, ShareFetchResponse::PartitionData> answered;
  bool any_error = false;
  for (const TopicPartition& tp : progress->to_fetch) {
    auto p = fetch_partition(ctx, group, member, tp, budget);
    any_error = any_error || p.error_code != 0;
    if (p.error_code != 0 || !p.acquired_records.empty() || progress->full)
      answered.emplace(tp, std::move(p));
  }

  // Long poll: nothing acquired yet, wait for records until max_wait_ms.
  const auto deadline = ctx.arrival + std::chrono::milliseconds(std::max(request.max_wait_ms, 0));
  if (ctx.may_wait && !any_error && budget.bytes_found == 0 && !progress->to_fetch.empty() &&
      request.min_bytes > 0 && ctx.now < deadline) {
    ctx.wait_until = deadline;
    ctx.progress = std::move(progress);
    return std::nullopt;
  }

  for (const auto& [tp, error] : progress->ack_errors) {
    auto it = answered.find(tp);
    if (it == answered.end()) it = answered.emplace(tp, empty_partition(tp.second)).first;
    it->second.acknowledge_error_code = to_wire(error);
  }
  // Grouped by topic, in the order the partitions were first answered.
  std::vector<TopicPartition> order = progress->to_fetch;
  for (const auto& [tp, error] : progress->ack_errors)
    if (std::find(order.begin(), order.end(), tp) == order.end()) order.push_back(tp);
  for (const TopicPartition& tp : order) {
    auto it = answered.find(tp);
    if (it == answered.end()) continue;
    auto topic_it = std::find_if(response.responses.begin(), response.responses.end(),
                                 [&](const auto& t) { return t.topic_id == tp.first; });
    if (topic_it == response.responses.end()) {
      topic_it = response.responses.emplace(response.responses.end());
      topic_it->topic_id = tp.first;
    }
    topic_it->partitions.push_back(std::move(it->second));
  }
  wait_for_metadata(ctx);  // __share_group_state may have been created just now
  for (const auto& t : response.responses)
    for (const auto& p : t.partitions) {
      ctx.errors.add(p.error_code);
      if (p.acknowledge_error_code != 0) ctx.errors.add(p.acknowledge_error_code);
    }
  return response;
}

std::optional<ShareAcknowledgeResponse> handle_share_acknowledge(
    RequestContext& ctx, const ShareAcknowledgeRequest& request, int16_t version) {
  ShareAcknowledgeResponse response;
  auto error = [&](ErrorCode e) {
    response.error_code = to_wire(e);
    return response;
  };
  if (ErrorCode e = check_request(ctx, request); e != ErrorCode::kNone) return error(e);
  share::ShareState& shares = *ctx.shares;
  response.acquisition_lock_timeout_ms = shares.options().record_lock_duration_ms;
  const std::string_view group = *request.group_id;
  const std::string_view member = *request.member_id;
  const int32_t epoch = request.share_session_epoch;
  // Acknowledgements need a session: epoch 0 would open one.
  if (epoch == share::kInitialEpoch) return error(ErrorCode::kInvalidShareSessionEpoch);
  share::ShareSession* session = shares.sessions().find(group, member);
  if (session == nullptr) return error(ErrorCode::kShareSessionNotFound);
  if (epoch != share::kFinalEpoch) {
    if (session->epoch != epoch) return error(ErrorCode::kInvalidShareSessionEpoch);
    session->epoch = share::next_epoch(session->epoch);
  }
  const bool renew = version >= 2 && request.is_renew_ack;
  for (const auto& t : request.topics) {
    auto& out = response.responses.emplace_back();
    out.topic_id = t.topic_id;
    for (const auto& p : t.partitions) {
      auto& op = out.partitions.emplace_back();
      op.partition_index = p.partition_index;
      op.current_leader.leader_id = -1;
      op.current_leader.leader_epoch = -1;
      op.error_code = to_wire(acknowledge(ctx, group, member, t.topic_id, p.partition_index,
                                          p.acknowledgement_batches, renew));
      ctx.errors.add(op.error_code);
    }
  }
  if (epoch == share::kFinalEpoch) {
    const std::set<TopicPartition> held = session->partitions;
    shares.sessions().close(group, member);
    shares.release(group, member, held);
  }
  wait_for_metadata(ctx);
  return response;
}

ApiEntry share_fetch_entry() {
  return make_entry<ShareFetchRequest, ShareFetchResponse, &handle_share_fetch>("ShareFetch",
                                                                                kShareFetchServed);
}

ApiEntry share_acknowledge_entry() {
  return make_entry<ShareAcknowledgeRequest, ShareAcknowledgeResponse, &handle_share_acknowledge>(
      "ShareAcknowledge", kShareAcknowledgeServed);
}

}  // namespace kb::handlers
