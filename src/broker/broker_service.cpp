#include "kb/broker/broker_service.hpp"

#include <algorithm>
#include <exception>
#include <functional>

#include <spdlog/spdlog.h>

#include "kb/broker/log_flusher.hpp"
#include "kb/handlers/api_versions.hpp"
#include "kb/protocol/header.hpp"

namespace kb::broker {

using handlers::Clock;
using protocol::ApiKey;

namespace {

using cluster::QuotaType;

// One request's use of its client's quotas, recorded once its answer is
// final: Produce's request bytes (producer_byte_rate), Fetch's response bytes
// (consumer_byte_rate) and the time spent handling it (request_percentage).
// The longest throttle wins, as in Kafka.
class RequestQuota final : public handlers::ResponseThrottle {
 public:
  RequestQuota(cluster::ClientQuotaManager& quotas, std::string_view principal,
               std::string_view client_id, ApiKey api, size_t request_bytes,
               Clock::duration handled_before, Clock::time_point started)
      : quotas_(quotas),
        // The principal's name (Kafka's KafkaPrincipal.getName), not its type.
        user_(principal.substr(
            principal.find(':') == std::string_view::npos ? 0 : principal.find(':') + 1)),
        client_id_(client_id),
        api_(api),
        request_bytes_(request_bytes),
        handled_before_(handled_before),
        started_(started) {}

  // Asked before the response is encoded; when the response has no
  // throttle field, after it.
  int32_t throttle_time_ms(handlers::RequestContext& /*ctx*/) override {
    if (asked_) return throttle_ms_;
    asked_ = true;
    const int64_t now = now_ms();
    if (quotas_.enabled(QuotaType::kRequest)) {
      // Kafka counts a request's thread time as a percentage of one thread
      // over a second: 1 ms is 0.1.
      const double nanos = static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                   handled_before_ + Clock::now() - started_)
                                                   .count());
      take(QuotaType::kRequest,
           quotas_.record(QuotaType::kRequest, user_, client_id_, nanos * 100.0 / 1e9, now));
    }
    if (api_ == ApiKey::kProduce && quotas_.enabled(QuotaType::kProduce))
      take(QuotaType::kProduce, quotas_.record(QuotaType::kProduce, user_, client_id_,
                                               static_cast<double>(request_bytes_), now));
    return throttle_ms_;
  }

  // A Produce with acks=0: no answer, so only its bytes count (as in Kafka).
  int32_t unanswered() {
    asked_ = true;
    if (api_ == ApiKey::kProduce && quotas_.enabled(QuotaType::kProduce))
      take(QuotaType::kProduce, quotas_.record(QuotaType::kProduce, user_, client_id_,
                                               static_cast<double>(request_bytes_), now_ms()));
    return throttle_ms_;
  }

  int64_t fetch_bytes_in_window() override {
    if (!quotas_.enabled(QuotaType::kFetch)) return INT64_MAX;
    const std::optional<double> bound = quotas_.limit(QuotaType::kFetch, user_, client_id_);
    if (!bound) return INT64_MAX;
    // Kafka counts the window in whole seconds and makes an int of it.
    const int64_t window_seconds = quotas_.window().window_ms / 1000;
    const double bytes =
        *bound * (quotas_.window().samples - 1) * static_cast<double>(window_seconds);
    return bytes >= static_cast<double>(INT32_MAX) ? INT32_MAX : static_cast<int64_t>(bytes);
  }

  int32_t fetch_throttle_time_ms(handlers::RequestContext& ctx,
                                 const std::function<uint64_t()>& response_bytes) override {
    throttle_time_ms(ctx);
    if (!quotas_.enabled(QuotaType::kFetch)) return throttle_ms_;
    const auto bytes = static_cast<double>(response_bytes());
    const int64_t now = now_ms();
    // The request quota wins a tie, as in Kafka.
    take(QuotaType::kFetch, quotas_.record(QuotaType::kFetch, user_, client_id_, bytes, now));
    // A throttled answer goes out empty: what it would have carried does
    // not count.
    if (throttle_ms_ > 0)
      quotas_.record_no_throttle(QuotaType::kFetch, user_, client_id_, -bytes, now);
    return throttle_ms_;
  }

  // The throttle (if any) goes into the metrics of the quota that set it.
  int32_t finish() {
    if (throttle_ms_ > 0)
      quotas_.record_throttle(decided_by_, user_, client_id_, throttle_ms_, now_ms());
    return throttle_ms_;
  }

  bool asked() const { return asked_; }

 private:
  static int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch())
        .count();
  }
  void take(QuotaType type, int32_t ms) {
    if (ms <= throttle_ms_) return;
    throttle_ms_ = ms;
    decided_by_ = type;
  }

  cluster::ClientQuotaManager& quotas_;
  std::string_view user_;
  std::string_view client_id_;
  ApiKey api_;
  size_t request_bytes_;
  Clock::duration handled_before_;
  Clock::time_point started_;
  bool asked_ = false;
  int32_t throttle_ms_ = 0;
  QuotaType decided_by_ = QuotaType::kRequest;
};

// The SASL exchange is the authenticator's, before requests are served:
// Kafka does not count it against the client.
bool counts_against_quotas(ApiKey api) {
  return api != ApiKey::kSaslHandshake && api != ApiKey::kSaslAuthenticate;
}

}  // namespace

BrokerService::BrokerService(net::EventLoop& loop, const handlers::ApiRegistry& registry,
                             cluster::BrokerState& state, std::string listener, LogFlusher* flusher,
                             group::GroupCoordinator* groups)
    : loop_(loop),
      registry_(registry),
      state_(state),
      flusher_(flusher),
      seen_generation_(state.data_generation),
      listener_(std::move(listener)),
      groups_(groups) {
  static uint64_t services = 0;  // the loop's thread creates them all
  service_id_ = ++services;
  loop_.add_before_sleep([this] { retry_on_new_data(); });
  if (flusher_ != nullptr) {
    state_.flusher = flusher_;
    flusher_->add_progress_listener(this, [this] { release_flushed(); });
  }
  if (groups_) loop_.add_before_sleep([this] { drive_groups(); });
}

BrokerService::~BrokerService() {
  for (auto& [id, w] : waiting_) loop_.cancel(w.timer);
  if (flusher_ != nullptr) {
    flusher_->remove_progress_listener(this);
    if (state_.flusher == flusher_) state_.flusher = nullptr;
  }
  if (group_timer_at_) loop_.cancel(group_timer_);
}

void BrokerService::set_metrics(metrics::BrokerMetrics* m) {
  metrics_ = m;
  listener_metrics_ = m != nullptr ? &m->listener(listener_) : nullptr;
}

void BrokerService::on_open(net::Connection& conn) {
  set_tls_principal(conn);
  if (sasl_mechanisms_ != nullptr)
    sasl_[conn.id()] = std::make_unique<handlers::SaslConnection>(*sasl_mechanisms_);
  if (listener_metrics_ == nullptr) return;
  ++listener_metrics_->connections;
  listener_metrics_->created.add();
}

void BrokerService::on_frame(net::Connection& conn, std::span<const uint8_t> frame) {
  Clock::time_point until;
  // The turn's start: what came before this request in the turn is its queue.
  const Clock::time_point arrival = loop_.now();
  std::unique_ptr<handlers::RequestProgress> progress;
  RequestClock clock;
  const Outcome outcome = handle(conn, frame, arrival, true, &until, clock, &progress);
  if (outcome != Outcome::kDone)
    wait(conn, frame, arrival, outcome, until, std::move(progress), clock);
}

void BrokerService::set_tls_principal(net::Connection& conn) {
  // Kafka's default principal builder: a client without a certificate is
  // ANONYMOUS; one with a certificate is named by the mapping rules, and a
  // subject no rule maps is refused.
  static constexpr std::string_view kAnonymous = "User:ANONYMOUS";
  const net::TlsSession* tls = conn.tls();
  if (tls == nullptr || tls->peer_subject().empty() || !ssl_principal_mapper_) {
    conn.set_principal(std::string(kAnonymous));
    return;
  }
  std::optional<std::string> name = ssl_principal_mapper_->name_of(tls->peer_subject());
  if (!name) {
    spdlog::info(
        "connection {} ({}): failed authentication: no ssl.principal.mapping.rules rule applies "
        "to {}",
        conn.id(), conn.peer(), tls->peer_subject());
    conn.close_after_flush();
    conn.flush();
    return;
  }
  conn.set_principal("User:" + *name);
}

void BrokerService::count_request(metrics::RequestCounters& counters, int16_t version,
                                  const metrics::ErrorTally& errors) {
  if (version >= 0 && static_cast<size_t>(version) < counters.by_version.size())
    counters.by_version[static_cast<size_t>(version)].add();
  if (errors.empty()) {
    counters.errors[0].add();
    return;
  }
  errors.for_each([&](int16_t code, uint32_t n) { counters.errors[code].add(n); });
}

void BrokerService::count_times(metrics::RequestCounters& counters, Clock::time_point arrival,
                                const RequestClock& clock, Clock::time_point done) {
  const Clock::duration total = done - arrival;
  counters.total_time.record(total);
  counters.request_queue_time.record(clock.queue);
  counters.local_time.record(clock.local);
  counters.remote_time.record(std::max(total - clock.queue - clock.local, Clock::duration{}));
}

void BrokerService::time_response_send(net::Connection& conn, metrics::RequestCounters& counters) {
  conn.when_output_written([&histogram = counters.response_send_time, queued = Clock::now()] {
    histogram.record(Clock::now() - queued);
  });
}

bool BrokerService::on_frames_handled(net::Connection& /*conn*/) {
  if (!state_.logs) return true;
  storage::Status written = state_.logs->write_deferred();
  if (written) return true;
  // Nothing appended since the failed write may be acknowledged: this
  // connection closes unanswered, and the failure stops the broker.
  if (flusher_ != nullptr)
    flusher_->report_disk_failure(written.error().message);
  else
    spdlog::critical("appending to the log failed: {}", written.error().message);
  return false;
}

void BrokerService::on_close(net::Connection& conn) {
  if (listener_metrics_ != nullptr && listener_metrics_->connections > 0)
    --listener_metrics_->connections;
  held_.erase(conn.id());
  sasl_.erase(conn.id());
  if (groups_) groups_->connection_closed(connection_key(conn));
  auto it = waiting_.find(conn.id());
  if (it == waiting_.end()) return;
  loop_.cancel(it->second.timer);
  finish_waiting(conn.id());
}

void BrokerService::finish_waiting(uint64_t conn_id) {
  auto it = waiting_.find(conn_id);
  if (it == waiting_.end()) return;
  std::vector<uint8_t>& frame = it->second.frame;
  if (frame.capacity() > spare_frame_.capacity() && frame.capacity() <= kSpareFrameBytes) {
    frame.clear();
    spare_frame_.swap(frame);
  }
  waiting_.erase(it);
}

BrokerService::Outcome BrokerService::handle(net::Connection& conn, std::span<const uint8_t> frame,
                                             Clock::time_point arrival, bool may_wait,
                                             Clock::time_point* wait_until, RequestClock& clock,
                                             std::unique_ptr<handlers::RequestProgress>* progress,
                                             bool frame_kept) {
  auto sasl_it = sasl_mechanisms_ != nullptr ? sasl_.find(conn.id()) : sasl_.end();
  handlers::SaslConnection* sasl = sasl_it != sasl_.end() ? sasl_it->second.get() : nullptr;
  if (sasl != nullptr && !frame_kept && sasl->expects_bare_token()) {
    admit_sasl(conn, frame, {}, false);
    return Outcome::kDone;
  }
  wire::Reader prefix_reader(frame);
  protocol::RequestHeader header = protocol::read_request_header_prefix(prefix_reader);
  if (!prefix_reader.ok()) {
    spdlog::warn("connection {} ({}): truncated request header, closing", conn.id(), conn.peer());
    conn.close_after_flush();
    return Outcome::kDone;
  }

  ByteBuffer& out = conn.output();
  const size_t start = out.size();
  // Record bytes (Fetch) stay in their files: the connection sends them from
  // there, spliced in where the response has them.
  wire::FileRanges files;
  wire::Writer writer(out, &files);
  const bool is_api_versions = header.api_key == static_cast<int16_t>(ApiKey::kApiVersions);

  const handlers::ApiEntry* entry = registry_.find(header.api_key);
  if (entry == nullptr) {
    spdlog::debug("connection {} ({}): unknown api key {}, closing", conn.id(), conn.peer(),
                  header.api_key);
    conn.close_after_flush();
    return Outcome::kDone;
  }
  // A request is gated once, when it arrives (not when a waiting one is
  // handled again).
  if (sasl != nullptr && !frame_kept &&
      !admit_sasl(conn, frame, header, entry->versions.contains(header.api_version)))
    return Outcome::kDone;
  if (!entry->versions.contains(header.api_version)) {
    if (is_api_versions) {
      size_t size_at = writer.reserve_int32();
      protocol::write_response_header(
          writer, header.correlation_id,
          protocol::response_header_version(ApiKey::kApiVersions, header.api_version));
      handlers::write_api_versions_unsupported(registry_, writer);
      writer.patch_int32(size_at, static_cast<int32_t>(out.size() - size_at - 4));
      return Outcome::kDone;
    }
    spdlog::debug("connection {} ({}): {} v{} is not served ({}-{}), closing", conn.id(),
                  conn.peer(), entry->name, header.api_version, entry->versions.min,
                  entry->versions.max);
    conn.close_after_flush();
    return Outcome::kDone;
  }

  const auto api_key = static_cast<ApiKey>(header.api_key);
  wire::Reader reader(frame);
  protocol::read_request_header(reader, header,
                                protocol::request_header_version(api_key, header.api_version));
  if (!reader.ok()) {
    spdlog::warn("connection {} ({}): malformed {} v{} header at byte {}: {}, closing", conn.id(),
                 conn.peer(), entry->name, header.api_version, reader.error()->position,
                 reader.error()->what);
    conn.close_after_flush();
    return Outcome::kDone;
  }

  size_t size_at = writer.reserve_int32();
  // ApiVersions answers with header v0 at every version, so a client can read
  // it before knowing what the broker speaks.
  const int16_t response_header_version =
      protocol::response_header_version(api_key, header.api_version);
  protocol::write_response_header(writer, header.correlation_id, response_header_version);
  handlers::RequestContext ctx{header,      registry_, state_, arrival,
                               loop_.now(), may_wait,  {},     listener_};
  ctx.connection_id = connection_key(conn);
  // Kafka reports a client's host as "/<address>".
  const std::string client_host = "/" + conn.peer().substr(0, conn.peer().rfind(':'));
  ctx.client_host = client_host;
  ctx.principal = conn.principal();
  ctx.groups = groups_;
  ctx.transactions = transactions_;
  ctx.txn_offsets = txn_offsets_;
  // Inside the server's frame loop the request's bytes stay until
  // on_frames_handled, which writes deferred appends before any answer.
  ctx.defer_log_writes = conn.in_frame_loop();
  if (progress != nullptr) ctx.progress = std::move(*progress);
  ctx.frame_kept = frame_kept;
  ctx.step_deadline = Clock::now() + handlers::kStepTime;
  ctx.metrics = metrics_;
  if (sasl != nullptr) {
    ctx.sasl = sasl;
    if (sasl->authenticated()) ctx.principal = sasl->principal();
  }
  handlers::DispatchResult result;
  const Clock::time_point started = Clock::now();
  std::optional<RequestQuota> quota;
  if (quotas_ != nullptr && counts_against_quotas(api_key)) {
    quota.emplace(*quotas_, ctx.principal, header.client_id.value_or(""), api_key, frame.size(),
                  clock.local, started);
    ctx.throttle = &*quota;
  }
  if (!frame_kept) clock.queue = std::max(started - arrival, Clock::duration{});
  try {
    result = entry->dispatch(ctx, reader, header.api_version, writer);
  } catch (const std::exception& e) {
    spdlog::error("connection {} ({}): {} v{} failed: {}, closing", conn.id(), conn.peer(),
                  entry->name, header.api_version, e.what());
    out.truncate(start);
    conn.close_after_flush();
    return Outcome::kDone;
  }
  const Clock::time_point finished = Clock::now();
  clock.local += finished - started;
  metrics::RequestCounters* counters = nullptr;
  if (metrics_ != nullptr && (result == handlers::DispatchResult::kResponded ||
                              result == handlers::DispatchResult::kNoResponse)) {
    counters = &metrics_->request(header.api_key, entry->name);
    count_request(*counters, header.api_version, ctx.errors);
  }
  // Responses without a throttle field (the handler did not ask) count their
  // request time now.
  if (quota && result == handlers::DispatchResult::kResponded) quota->throttle_time_ms(ctx);
  if (quota && result == handlers::DispatchResult::kNoResponse) quota->unanswered();
  if (quota && (result == handlers::DispatchResult::kResponded ||
                result == handlers::DispatchResult::kNoResponse)) {
    // The answer goes out now; the client's next requests wait.
    if (const int32_t throttle = quota->finish(); throttle > 0)
      conn.mute_for(std::chrono::milliseconds(throttle));
  }
  switch (result) {
    case handlers::DispatchResult::kResponded: {
      writer.patch_int32(size_at, static_cast<int32_t>(out.size() - size_at - 4 + files.bytes));
      if (flusher_ != nullptr)
        std::erase_if(ctx.durable_after,
                      [&](const cluster::FlushTicket& t) { return flusher_->done(t); });
      else
        ctx.durable_after.clear();
      std::erase_if(ctx.after_partition_dirs, [&](uint64_t t) { return partition_dirs_done(t); });
      if (ctx.durable_after.empty() && ctx.after_partition_dirs.empty()) {
        for (auto& f : files.entries) conn.add_output_file(f.at, std::move(f.range));
        if (counters != nullptr) count_times(*counters, arrival, clock, finished);
        if (counters != nullptr) time_response_send(conn, *counters);
        // A failed authentication: its answer goes out, then the connection closes.
        if (ctx.close_connection) conn.close_after_flush();
        return Outcome::kDone;
      }
      // Not yet on disk: keep the response (and the connection's later
      // requests) until the flushes or partition directory creations are
      // done. (Only Produce waits for flushes, CreateTopics and
      // CreatePartitions for directories; their responses carry no file
      // ranges.)
      HeldResponse& held = held_[conn.id()];
      held.conn = &conn;
      held.bytes.assign(out.data() + start, out.data() + out.size());
      held.tickets = std::move(ctx.durable_after);
      held.partition_dirs = std::move(ctx.after_partition_dirs);
      held.correlation_id = header.correlation_id;
      held.response_header_version = response_header_version;
      held.encode_again = std::move(ctx.encode_after_partition_dirs);
      held.counters = counters;
      held.arrival = arrival;
      held.clock = clock;
      out.truncate(start);
      conn.hold();
      return Outcome::kDone;
    }
    case handlers::DispatchResult::kNoResponse:
      if (counters != nullptr) count_times(*counters, arrival, clock, finished);
      out.truncate(start);
      if (ctx.close_connection) conn.close_after_flush();
      return Outcome::kDone;
    case handlers::DispatchResult::kWait:
      out.truncate(start);
      *wait_until = *ctx.wait_until;
      if (progress != nullptr) *progress = std::move(ctx.progress);
      return Outcome::kWait;
    case handlers::DispatchResult::kYield:
      out.truncate(start);
      if (progress != nullptr) *progress = std::move(ctx.progress);
      return Outcome::kYield;
    case handlers::DispatchResult::kDecodeFailed:
      out.truncate(start);
      spdlog::warn("connection {} ({}): malformed {} v{} request at byte {}: {}, closing",
                   conn.id(), conn.peer(), entry->name, header.api_version,
                   reader.error() ? reader.error()->position : 0,
                   reader.error() ? reader.error()->what : "unknown");
      conn.close_after_flush();
      return Outcome::kDone;
  }
  return Outcome::kDone;
}

void BrokerService::wait(net::Connection& conn, std::span<const uint8_t> frame,
                         Clock::time_point arrival, Outcome outcome, Clock::time_point until,
                         std::unique_ptr<handlers::RequestProgress> progress,
                         const RequestClock& clock) {
  conn.hold();
  WaitingRequest& w = waiting_[conn.id()];
  w.conn = &conn;
  if (w.frame.capacity() == 0) w.frame.swap(spare_frame_);
  w.frame.assign(frame.begin(), frame.end());
  w.arrival = arrival;
  w.progress = std::move(progress);
  w.clock = clock;
  if (outcome == Outcome::kWait) {
    set_wait_timer(w, until);
  } else {
    post_step(w);
  }
}

void BrokerService::post_step(WaitingRequest& w) {
  w.between_steps = true;
  const uint64_t id = w.conn->id();
  loop_.post([this, alive = std::weak_ptr<bool>(alive_), id] {
    if (!alive.expired()) retry(id, true);
  });
}

void BrokerService::set_wait_timer(WaitingRequest& w, Clock::time_point until) {
  auto delay = std::chrono::ceil<std::chrono::milliseconds>(until - loop_.now());
  const uint64_t id = w.conn->id();
  w.timer = loop_.run_after(std::max(delay, std::chrono::milliseconds(0)),
                            [this, id] { retry(id, false); });
}

void BrokerService::retry(uint64_t conn_id, bool may_wait) {
  auto it = waiting_.find(conn_id);
  if (it == waiting_.end()) return;
  WaitingRequest& w = it->second;
  w.between_steps = false;
  Clock::time_point until;
  const Outcome outcome =
      handle(*w.conn, w.frame, w.arrival, may_wait, &until, w.clock, &w.progress, true);
  if (outcome == Outcome::kYield) return post_step(w);
  // Still not enough: its deadline timer stands (set now if it came from steps).
  if (outcome == Outcome::kWait) {
    if (w.timer == 0) set_wait_timer(w, until);
    return;
  }
  net::Connection& conn = *w.conn;
  if (w.timer != 0) loop_.cancel(w.timer);  // a no-op when that timer is what fired
  finish_waiting(conn_id);
  // A response held for a sync keeps the connection held until it goes out.
  if (!held_.contains(conn_id)) conn.resume();
}

void BrokerService::retry_all(bool may_wait) {
  std::vector<uint64_t> ids;
  ids.reserve(waiting_.size());
  // A request between steps has its next one posted (at shutdown, when
  // nothing may wait, it is finished now).
  for (const auto& [id, w] : waiting_)
    if (!w.between_steps || !may_wait) ids.push_back(id);
  for (uint64_t id : ids) retry(id, may_wait);
}

void BrokerService::retry_on_new_data() {
  if (state_.data_generation == seen_generation_) return;
  seen_generation_ = state_.data_generation;
  retry_all(true);
}

// Parked JoinGroup/SyncGroup requests are asked again when a group changed,
// and one timer stands for the coordinator's next deadline.
void BrokerService::drive_groups() {
  // Answering one parked request may change the groups again (asked again
  // until they settle; asking again is idempotent).
  while (groups_->changes() != seen_group_changes_) {
    seen_group_changes_ = groups_->changes();
    retry_all(true);
  }
  const std::optional<group::Millis> next = groups_->next_deadline();
  if (next == group_timer_at_) return;
  if (group_timer_at_) loop_.cancel(group_timer_);
  group_timer_at_ = next;
  if (!next) return;
  const auto now =
      std::chrono::duration_cast<std::chrono::milliseconds>(loop_.now().time_since_epoch());
  const auto delay = std::max(std::chrono::milliseconds(*next) - now, std::chrono::milliseconds(0));
  group_timer_ = loop_.run_after(delay, [this] {
    group_timer_at_.reset();
    groups_->advance(std::chrono::duration_cast<std::chrono::milliseconds>(
                         handlers::Clock::now().time_since_epoch())
                         .count());
  });
}

void BrokerService::complete_waiting() { retry_all(false); }

bool BrokerService::partition_dirs_done(uint64_t ticket) const {
  const storage::PartitionCreator* creator = state_.logs ? state_.logs->creator() : nullptr;
  return creator == nullptr || creator->done(ticket);
}

void BrokerService::release_flushed() {
  std::vector<uint64_t> ready;
  for (const auto& [id, held] : held_) {
    if (std::all_of(held.tickets.begin(), held.tickets.end(),
                    [&](const cluster::FlushTicket& t) { return flusher_->done(t); }) &&
        std::all_of(held.partition_dirs.begin(), held.partition_dirs.end(),
                    [&](uint64_t t) { return partition_dirs_done(t); }))
      ready.push_back(id);
  }
  for (uint64_t id : ready) {
    auto it = held_.find(id);
    if (it == held_.end()) continue;
    HeldResponse held = std::move(it->second);
    held_.erase(it);
    net::Connection& conn = *held.conn;
    const bool failed =
        std::any_of(held.tickets.begin(), held.tickets.end(),
                    [&](const cluster::FlushTicket& t) { return flusher_->failed(t); });
    if (failed) {
      // The data may not be on disk: no acknowledgement. The client sees the
      // connection drop and retries.
      spdlog::error("connection {} ({}): a flush failed; closing without acknowledging", conn.id(),
                    conn.peer());
      conn.close_after_flush();
      continue;
    }
    const storage::PartitionCreator* creator = state_.logs ? state_.logs->creator() : nullptr;
    auto failed_wholly = [creator](uint64_t ticket) {
      return creator != nullptr && creator->failed_wholly(ticket);
    };
    if (held.encode_again &&
        std::any_of(held.partition_dirs.begin(), held.partition_dirs.end(), failed_wholly)) {
      ByteBuffer& out = conn.output();
      wire::Writer writer(out);
      const size_t size_at = writer.reserve_int32();
      protocol::write_response_header(writer, held.correlation_id, held.response_header_version);
      held.encode_again(writer, failed_wholly);
      writer.patch_int32(size_at, static_cast<int32_t>(out.size() - size_at - 4));
    } else {
      conn.output().append(held.bytes);
    }
    if (held.counters != nullptr)
      count_times(*held.counters, held.arrival, held.clock, Clock::now());
    if (held.counters != nullptr) time_response_send(conn, *held.counters);
    conn.flush();
    conn.resume();  // handles the requests that arrived meanwhile
  }
}

}  // namespace kb::broker
