#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "kb/cluster/broker_state.hpp"
#include "kb/group/coordinator.hpp"
#include "kb/group/txn_offsets.hpp"
#include "kb/metrics/broker_metrics.hpp"
#include "kb/protocol/api_key.hpp"
#include "kb/protocol/header.hpp"
#include "kb/txn/coordinator.hpp"
#include "kb/wire/reader.hpp"
#include "kb/wire/serde.hpp"
#include "kb/wire/writer.hpp"

namespace kb::handlers {

class ApiRegistry;
class SaslConnection;

using Clock = std::chrono::steady_clock;

// What a request handled over several loop turns has done so far (see
// DispatchResult::kYield): the handler's own subclass, kept by the broker with
// the request's frame between turns and handed back in RequestContext. What a
// first step (ctx.frame_kept false) leaves holds no view into the frame, which
// moves to the broker's copy after it; offsets into it are fine.
struct RequestProgress {
  virtual ~RequestProgress() = default;
};

// How much of a big request one loop turn handles: a step ends after this
// long, or after kMaxStepItems items (topics, protocols), whichever comes
// first, and the other connections are served before the next step.
inline constexpr auto kStepTime = std::chrono::microseconds(200);
inline constexpr size_t kMaxStepItems = 4096;

struct RequestContext;

// Client quotas (set by the broker, which records what requests use): asked
// once a response is final, just before it is encoded; a response with a
// throttle_time_ms field carries the answer (at least what the handler set).
class ResponseThrottle {
 public:
  virtual ~ResponseThrottle() = default;
  virtual int32_t throttle_time_ms(RequestContext& ctx) = 0;
  // Fetch decides for itself, as Kafka's KafkaApis does. The most a fetch
  // may answer without certainly being throttled: consumer_byte_rate times
  // the quota windows but one (INT64_MAX without a consumer quota).
  virtual int64_t fetch_bytes_in_window() = 0;
  // A final Fetch answer, `response_bytes` its size (body and size field,
  // asked only under a consumer quota): counted against consumer_byte_rate
  // with the request's time. Returns the throttle; when it is not 0 the bytes
  // are taken back out of the rate, since the answer then goes out empty.
  virtual int32_t fetch_throttle_time_ms(RequestContext& ctx,
                                         const std::function<uint64_t()>& response_bytes) = 0;
};

// What a handler sees besides its request.
struct RequestContext {
  // A constructor (not an aggregate) so that fields added at the end with
  // defaults leave every existing `RequestContext ctx{...}` valid.
  RequestContext(const protocol::RequestHeader& request_header, const ApiRegistry& api_registry,
                 cluster::BrokerState& broker_state, Clock::time_point arrived,
                 Clock::time_point now_time, bool may_wait_later = true,
                 std::optional<Clock::time_point> wait_deadline = {},
                 std::string_view listener_name = {})
      : header(request_header),
        registry(api_registry),
        state(broker_state),
        arrival(arrived),
        now(now_time),
        may_wait(may_wait_later),
        wait_until(wait_deadline),
        listener(listener_name) {}

  const protocol::RequestHeader& header;
  const ApiRegistry& registry;
  cluster::BrokerState& state;
  Clock::time_point arrival;  // when the request first arrived
  Clock::time_point now;
  // A handler that would rather answer later (a Fetch below min_bytes) may,
  // while this is true, set wait_until and return kWait. The request is then
  // handled again when data is appended or at wait_until, with may_wait
  // false the last time.
  bool may_wait = true;
  std::optional<Clock::time_point> wait_until;
  // The listener the request came through (its name, as in listeners=);
  // Metadata announces the advertised address of the same name. Empty when
  // unknown.
  std::string_view listener;
  // A response that may go out only once these flushes are done (Produce
  // acks=-1 under a flush interval): it is held, not handled again.
  std::vector<cluster::FlushTicket> durable_after;
  // A response that may go out only once these partition directory creations
  // (state.logs->creator() tickets) are done: CreateTopics and
  // CreatePartitions answer when the new partitions exist on disk. Held like
  // durable_after.
  std::vector<uint64_t> after_partition_dirs;
  // With after_partition_dirs: the response body encoded again once they are
  // done, given which tickets' partitions all failed to be created
  // (CreateTopics then answers an error for those topics). Null: the first
  // encoding stands.
  using FailedTickets = std::function<bool(uint64_t ticket)>;
  std::function<void(wire::Writer& out, const FailedTickets& failed)> encode_after_partition_dirs;
  // Close the connection after this request (an acks=0 Produce that failed:
  // no response tells the client, so Kafka drops the connection).
  bool close_connection = false;
  // The connection: groups tell a request asked again from a new one by it.
  uint64_t connection_id = 0;
  std::string_view client_host{};  // the peer's address, as Kafka reports it ("/127.0.0.1")
  group::GroupCoordinator* groups = nullptr;  // null: no group coordinator
  // The transaction coordinator and the group coordinator's pending
  // transactional offsets; null: transactions are not served.
  txn::TransactionCoordinator* transactions = nullptr;
  group::TxnOffsets* txn_offsets = nullptr;
  // The request's bytes outlive the handler until the broker writes deferred
  // appends (PartitionLogs::write_deferred) before answering: Produce may
  // then join its appends to a partition with the next requests' in one write.
  bool defer_log_writes = false;
  // A big request's progress (kYield): null at its first step; what the
  // handler left here is handed back at the next step (and at a retry after
  // kWait), and dropped once it answers.
  std::unique_ptr<RequestProgress> progress;
  // The frame is the broker's kept copy (a step after the first, or a retry):
  // views into it stay valid for as long as the request waits, so a decoded
  // request may be kept in `progress`.
  bool frame_kept = false;
  // When this step's time is up (see kStepTime).
  Clock::time_point step_deadline = Clock::time_point::max();
  // Where handlers count what Kafka's BrokerTopicMetrics count (null: not
  // counted), and the error codes of the response (Kafka's errorCounts():
  // Produce and Fetch tally each partition's; other responses their top-level
  // error_code, or NONE).
  metrics::BrokerMetrics* metrics = nullptr;
  metrics::ErrorTally errors;
  // Who sent the request, as Kafka names principals: "User:ANONYMOUS" on a
  // PLAINTEXT listener or without a client certificate, "User:" and the name
  // an SSL client certificate maps to, "User:<name>" once SASL authenticated
  // the connection.
  std::string_view principal = "User:ANONYMOUS";
  // The connection's SASL authentication (null: not a SASL listener).
  SaslConnection* sasl = nullptr;
  // Null: no client quotas.
  ResponseThrottle* throttle = nullptr;

  // Whether the request's principal, from its host, may do `op` on the
  // resource (always, without an authorizer): the checks Kafka's KafkaApis
  // makes, one call each.
  bool authorized(security::AclOperation op, security::ResourceType type,
                  std::string_view name) const {
    return state.authorizer.authorize({principal, client_host}, op, type, name);
  }
  bool authorized_cluster(security::AclOperation op) const {
    return authorized(op, security::ResourceType::kCluster, security::kClusterResourceName);
  }
  // `op` on at least one resource of `type` (Kafka's authorizeByResourceType).
  bool authorized_any(security::AclOperation op, security::ResourceType type) const {
    return state.authorizer.authorize_any({principal, client_host}, op, type);
  }
  // The authorized operations field of a resource: Kafka's bit set.
  int32_t authorized_operations(security::ResourceType type, std::string_view name) const {
    return state.authorizer.authorized_operations({principal, client_host}, type, name);
  }

  // Whether a step that has handled `items` items (counting from 0 at its
  // start) should stop and yield now (it reads the clock: a caller with cheap
  // items asks every few dozen). Never when the request may not wait.
  bool step_done(size_t items) const {
    if (!may_wait || items == 0) return false;
    return items >= kMaxStepItems || Clock::now() >= step_deadline;
  }
};

// The progress a handler left at its last step (see kYield), if any.
template <class Progress>
std::unique_ptr<Progress> take_progress(RequestContext& ctx) {
  if (dynamic_cast<Progress*>(ctx.progress.get()) == nullptr) return nullptr;
  return std::unique_ptr<Progress>(static_cast<Progress*>(ctx.progress.release()));
}

// The answer waits until the newest metadata change is on disk (its records
// are synced off the loop, and a topic the answer names or writes to may be
// that new): held like durable_after, not at all once that sync is done. Every
// handler whose answer depends on topics or configs calls it (Fetch does not:
// its answer carries file ranges and reading a partition promises nothing).
inline void wait_for_metadata(RequestContext& ctx) {
  if (ctx.state.metadata_sync) ctx.durable_after.push_back(*ctx.state.metadata_sync);
}

enum class DispatchResult {
  kResponded,     // the response body was written
  kNoResponse,    // nothing is sent back (Produce with acks=0)
  kWait,          // nothing yet: handle the request again later (see RequestContext)
  kDecodeFailed,  // the body did not decode: the connection is closed
  // A step of a big request is done (its progress in ctx.progress): handle it
  // again in the next loop turn, after other connections' requests. Later
  // requests of its connection wait, as behind kWait.
  kYield,
};

// One API the broker serves: dispatch and the ApiVersions answer both come
// from these entries, so what is advertised is exactly what is served.
struct ApiEntry {
  using Dispatch = DispatchResult (*)(RequestContext& ctx, wire::Reader& body, int16_t version,
                                      wire::Writer& out);
  protocol::ApiKey key{};
  std::string_view name;
  protocol::VersionRange versions;
  int16_t first_flexible = 0;
  Dispatch dispatch = nullptr;

  bool flexible(int16_t version) const { return version >= first_flexible; }
};

// A handler turns a decoded request into a response (or nothing: no response
// for acks=0, or wait when it set ctx.wait_until). The adapter decodes the
// body with the message's own definition, calls it, and encodes the result.
template <class Request, class Response>
using Handler = std::optional<Response> (*)(RequestContext&, const Request&, int16_t version);

// A decoded request kept between the steps of a request handled over several
// turns (its views point into the broker's kept frame), with the handler's
// own progress.
template <class Request>
struct DecodedRequest final : RequestProgress {
  Request request;
  std::unique_ptr<RequestProgress> handler_progress;
};

// A handler that yields (kYield) leaves its progress in ctx.progress; the
// request is then decoded once more, from the kept frame, and from then on
// kept decoded.
template <class Request, class Response, Handler<Request, Response> Handle>
DispatchResult dispatch_message(RequestContext& ctx, wire::Reader& body, int16_t version,
                                wire::Writer& out) {
  const bool flexible = version >= Request::kFirstFlexible;
  std::unique_ptr<DecodedRequest<Request>> decoded = take_progress<DecodedRequest<Request>>(ctx);
  if (decoded) {
    ctx.progress = std::move(decoded->handler_progress);
  } else {
    decoded = std::make_unique<DecodedRequest<Request>>();
    wire::decode(body, decoded->request, version, flexible);
    if (!body.ok()) return DispatchResult::kDecodeFailed;
  }
  std::optional<Response> response = Handle(ctx, decoded->request, version);
  if (!response) {
    if (!ctx.wait_until && !ctx.progress) return DispatchResult::kNoResponse;
    if (ctx.frame_kept) {
      decoded->handler_progress = std::move(ctx.progress);
      ctx.progress = std::move(decoded);
    }
    return ctx.wait_until ? DispatchResult::kWait : DispatchResult::kYield;
  }
  ctx.progress.reset();
  if constexpr (requires { response->error_code; }) {
    if (ctx.errors.empty()) ctx.errors.add(response->error_code);
  }
  if constexpr (requires { response->throttle_time_ms; }) {
    if (ctx.throttle != nullptr)
      response->throttle_time_ms =
          std::max(response->throttle_time_ms, ctx.throttle->throttle_time_ms(ctx));
  }
  wire::encode(out, *response, version, flexible);
  return DispatchResult::kResponded;
}

template <class Request, class Response, Handler<Request, Response> Handle>
ApiEntry make_entry(std::string_view name, protocol::VersionRange served) {
  return ApiEntry{Request::kApiKey, name, served, Request::kFirstFlexible,
                  &dispatch_message<Request, Response, Handle>};
}

class ApiRegistry {
 public:
  static constexpr size_t kMaxApiKey = 127;

  void add(const ApiEntry& entry);
  const ApiEntry* find(int16_t api_key) const;
  // Entries in ascending api key order.
  const std::vector<ApiEntry>& entries() const { return entries_; }

 private:
  std::vector<ApiEntry> entries_;
  std::array<int16_t, kMaxApiKey + 1> index_ = filled_index();

  static constexpr std::array<int16_t, kMaxApiKey + 1> filled_index() {
    std::array<int16_t, kMaxApiKey + 1> a{};
    a.fill(-1);
    return a;
  }
};

// The registry of every API this broker serves.
ApiRegistry make_broker_registry();

}  // namespace kb::handlers
