#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "kb/broker/tls_config.hpp"
#include "kb/cluster/broker_state.hpp"
#include "kb/cluster/quota_manager.hpp"
#include "kb/group/coordinator.hpp"
#include "kb/group/txn_offsets.hpp"
#include "kb/handlers/api_registry.hpp"
#include "kb/handlers/sasl.hpp"
#include "kb/metrics/broker_metrics.hpp"
#include "kb/net/event_loop.hpp"
#include "kb/net/tcp_server.hpp"
#include "kb/txn/coordinator.hpp"

namespace kb::broker {

// Turns request frames into response frames: reads the request header, finds
// the API in the registry, checks the version, and lets the entry decode,
// handle and encode. The three tiers of failure: an unknown API, an
// unsupported version (other than ApiVersions') or a body that does not decode
// closes the connection; ApiVersions at an unknown version gets
// UNSUPPORTED_VERSION; domain errors are the handlers' error codes.
//
// A request that waits (a long-poll Fetch) holds its connection, so later
// requests on it are answered after it, in order. Its frame is kept and handled
// again when data is appended (checked once per loop turn) or when its time is up.
// A big request handled in steps (kYield) is held the same way and handled
// again in the next loop turn (EventLoop::post), with the progress it left.
//
// A response that must wait for flushes (acks=-1 under a flush interval) is
// encoded at once but held, with its connection, until the flusher reports
// those flushes done: the request is never handled twice.
class LogFlusher;

class BrokerService final : public net::FrameHandler {
 public:
  // listener: the name of the listener this service answers (one service per
  // listener, so handlers know which advertised address to announce). With a
  // flusher, handlers' flushes go to it (state.flusher) and durable responses
  // are held for it; without, handlers flush synchronously. With a group
  // coordinator, its timers run on the loop and parked JoinGroup and
  // SyncGroup requests are asked again when its groups change.
  BrokerService(net::EventLoop& loop, const handlers::ApiRegistry& registry,
                cluster::BrokerState& state, std::string listener = {},
                LogFlusher* flusher = nullptr, group::GroupCoordinator* groups = nullptr);
  ~BrokerService() override;

  // Counts requests, their errors and times, and this listener's connections
  // there; handlers count what they count through the request context.
  void set_metrics(metrics::BrokerMetrics* m);

  // An SSL listener's ssl.principal.mapping.rules: a client certificate's
  // subject becomes the connection's principal through them.
  void set_ssl_principal_mapper(std::shared_ptr<const SslPrincipalMapper> mapper) {
    ssl_principal_mapper_ = std::move(mapper);
  }

  void on_open(net::Connection& conn) override;
  void on_frame(net::Connection& conn, std::span<const uint8_t> frame) override;
  bool on_frames_handled(net::Connection& conn) override;
  void on_close(net::Connection& conn) override;

  // Serves transactions: the coordinator and the group coordinator's pending
  // transactional offsets handlers use.
  // Serves share groups' data side (ShareFetch, ShareAcknowledge): their
  // lock timers run on the loop, and parked ShareFetches are asked again
  // when records become available.
  void serve_shares(share::ShareState* shares);
  void serve_transactions(txn::TransactionCoordinator* transactions, group::TxnOffsets* offsets) {
    transactions_ = transactions;
    txn_offsets_ = offsets;
  }

  // A SASL listener: every connection authenticates with these mechanisms
  // before anything but ApiVersions and the SASL exchange is served.
  void serve_sasl(const security::SaslMechanisms* mechanisms) { sasl_mechanisms_ = mechanisms; }

  // Client quotas: what requests use is recorded there; a client over its
  // quota gets the throttle time in its response and its connection is
  // muted for that long (KIP-219). Null: no quotas.
  void set_client_quotas(cluster::ClientQuotaManager* quotas) { quotas_ = quotas; }

  // Shutdown: answer every waiting request now.
  void complete_waiting();
  // Partition directory creations completed (or were given up): responses
  // held for them go out.
  void partition_dirs_created() { release_flushed(); }
  size_t waiting_count() const { return waiting_.size(); }
  size_t held_for_flush_count() const { return held_.size(); }

 private:
  // The connection's principal once it is open (see set_ssl_principal_mapper).
  void set_tls_principal(net::Connection& conn);
  // Where a request's time went so far (Kafka's RequestMetrics): before its
  // first handling, and in handling (every step and retry).
  struct RequestClock {
    handlers::Clock::duration queue{};
    handlers::Clock::duration local{};
  };

  struct WaitingRequest {
    net::Connection* conn = nullptr;
    std::vector<uint8_t> frame;
    handlers::Clock::time_point arrival;
    net::EventLoop::TimerId timer = 0;                    // 0: none (a request between steps)
    std::unique_ptr<handlers::RequestProgress> progress;  // views into `frame`
    bool between_steps = false;                           // kYield: its next step is posted
    RequestClock clock;
  };

  struct HeldResponse {
    net::Connection* conn = nullptr;
    std::vector<uint8_t> bytes;  // the whole response frame
    std::vector<cluster::FlushTicket> tickets;
    std::vector<uint64_t> partition_dirs;  // PartitionCreator tickets
    // Encodes the body again once partition_dirs are done (when some failed).
    int32_t correlation_id = 0;
    int16_t response_header_version = 0;
    std::function<void(wire::Writer&, const handlers::RequestContext::FailedTickets&)> encode_again;
    // Its times are counted when it goes out.
    metrics::RequestCounters* counters = nullptr;
    handlers::Clock::time_point arrival;
    RequestClock clock;
  };

  enum class Outcome { kDone, kWait, kYield };
  // `progress`: in, what the request's last step left (null at first); out,
  // what this one leaves. `frame_kept`: the frame is waiting_'s copy.
  Outcome handle(net::Connection& conn, std::span<const uint8_t> frame,
                 handlers::Clock::time_point arrival, bool may_wait,
                 handlers::Clock::time_point* wait_until, RequestClock& clock,
                 std::unique_ptr<handlers::RequestProgress>* progress = nullptr,
                 bool frame_kept = false);
  void wait(net::Connection& conn, std::span<const uint8_t> frame,
            handlers::Clock::time_point arrival, Outcome outcome, handlers::Clock::time_point until,
            std::unique_ptr<handlers::RequestProgress> progress, const RequestClock& clock);
  // A request answered (or, acks=0, done): its version, errors and times.
  static void count_request(metrics::RequestCounters& counters, int16_t version,
                            const metrics::ErrorTally& errors);
  static void count_times(metrics::RequestCounters& counters, handlers::Clock::time_point arrival,
                          const RequestClock& clock, handlers::Clock::time_point done);
  // Times the response just appended to conn's output until its last byte is written.
  static void time_response_send(net::Connection& conn, metrics::RequestCounters& counters);
  void set_wait_timer(WaitingRequest& w, handlers::Clock::time_point until);
  void post_step(WaitingRequest& w);
  void retry(uint64_t conn_id, bool may_wait);
  void retry_all(bool may_wait);
  void retry_on_new_data();
  void release_flushed();
  bool partition_dirs_done(uint64_t ticket) const;
  void drive_groups();
  void drive_shares();
  // A SASL listener's gate before a request is handled (sasl_gate.cpp):
  // false when the connection was closed or the frame was a bare SASL token.
  bool admit_sasl(net::Connection& conn, std::span<const uint8_t> frame,
                  const protocol::RequestHeader& header, bool version_supported);
  // Drops a waiting request, keeping its frame buffer as the spare.
  void finish_waiting(uint64_t conn_id);

  net::EventLoop& loop_;
  const handlers::ApiRegistry& registry_;
  cluster::BrokerState& state_;
  LogFlusher* flusher_;
  std::unordered_map<uint64_t, WaitingRequest> waiting_;  // by connection id
  // A finished waiting request's frame buffer (up to kSpareFrameBytes), for
  // the next one that waits: a big request is then copied into memory already
  // touched instead of faulting fresh pages in, in one turn.
  std::vector<uint8_t> spare_frame_;
  static constexpr size_t kSpareFrameBytes = size_t{8} << 20;
  std::unordered_map<uint64_t, HeldResponse> held_;  // by connection id
  uint64_t seen_generation_ = 0;
  metrics::BrokerMetrics* metrics_ = nullptr;
  metrics::ListenerCounters* listener_metrics_ = nullptr;
  std::shared_ptr<const SslPrincipalMapper> ssl_principal_mapper_;
  std::string listener_;
  group::GroupCoordinator* groups_ = nullptr;
  txn::TransactionCoordinator* transactions_ = nullptr;
  group::TxnOffsets* txn_offsets_ = nullptr;
  const security::SaslMechanisms* sasl_mechanisms_ = nullptr;
  cluster::ClientQuotaManager* quotas_ = nullptr;
  std::unordered_map<uint64_t, std::unique_ptr<handlers::SaslConnection>>
      sasl_;  // by connection id
  uint64_t seen_group_changes_ = 0;
  net::EventLoop::TimerId group_timer_ = 0;
  share::ShareState* shares_ = nullptr;
  uint64_t seen_share_changes_ = 0;
  net::EventLoop::TimerId share_timer_ = 0;
  std::optional<share::Clock::time_point> share_timer_at_;
  std::optional<group::Millis> group_timer_at_;
  // Connection ids are per listener: the groups' key for a connection
  // carries this service's id too.
  uint64_t service_id_ = 0;
  // Posted steps run only while this service exists.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  uint64_t connection_key(const net::Connection& conn) const {
    return (service_id_ << 48) | conn.id();
  }
};

}  // namespace kb::broker
