#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "kb/cluster/broker_state.hpp"
#include "kb/cluster/quota_manager.hpp"
#include "kb/group/coordinator.hpp"
#include "kb/metrics/broker_metrics.hpp"
#include "kb/net/event_loop.hpp"
#include "kb/net/http_server.hpp"

namespace kb::broker {

class LogCleaning;
class LogRetention;

// The gauges read from the broker's state at each scrape: every open
// partition's log size and offsets (kafka.log:type=Log), the classic groups by
// state (kafka.coordinator.group:type=GroupMetadataManager), each group's lag
// per partition (kafka_exporter's kafka_consumergroup_lag), retention's
// deletions, and the process's CPU time and memory (the Prometheus client's
// process_* series). The objects must outlive `metrics`' scrapes.
void add_broker_collectors(metrics::BrokerMetrics& metrics, const cluster::BrokerState& state,
                           const group::GroupCoordinator* groups, const LogRetention* retention,
                           const LogCleaning* cleaning = nullptr);

// The log cleaner's gauges as the JMX exporter names Kafka's
// (kafka.log:type=LogCleaner and type=LogCleanerManager): the last clean's
// time, offset map use and recopy share, the dirtiest log's ratio, the time
// since the cleaner last ran, and logs it cannot clean.
void collect_cleaner(metrics::TextWriter& w, const LogCleaning& cleaning,
                     const std::filesystem::path& log_dir,
                     std::chrono::steady_clock::time_point since,
                     std::chrono::steady_clock::time_point now);

// Client quota sensors as Kafka's JMX beans name them through the Prometheus
// JMX exporter: kafka.server:type=Produce|Fetch,user=,client-id= byte-rate and
// throttle-time, type=Request request-time and throttle-time (one series per
// user and client id pair the quotas measure). `quotas` must outlive the
// scrapes.
void add_client_quota_collector(metrics::BrokerMetrics& metrics,
                                cluster::ClientQuotaManager& quotas);

// The event loop's longest turn since the previous scrape (of any scraper):
// how long a client may have waited for the broker to look at it. `loop` must
// outlive the scrapes.
void add_event_loop_collector(metrics::BrokerMetrics& metrics, net::EventLoop& loop);

// What a scrape may do in one loop turn: the page of 10,000 partitions
// (about 3 MB) goes out in pieces, and every other client is served between
// two of them.
inline constexpr auto kScrapeStepTime = std::chrono::microseconds(500);
inline constexpr size_t kScrapeStepBytes = size_t{256} * 1024;

// The metrics endpoint's answers on one connection: the page at `path`
// (rendered in steps of kScrapeStepTime, sent in chunks), a 404 elsewhere.
// `metrics` and `loop` must outlive the responder.
std::unique_ptr<net::HttpResponder> make_metrics_responder(metrics::BrokerMetrics& metrics,
                                                           net::EventLoop& loop, std::string path);

// Reads this process's CPU seconds, resident and virtual bytes and start time
// from /proc (false when it cannot).
struct ProcessStats {
  double cpu_seconds = 0;
  uint64_t resident_bytes = 0;
  uint64_t virtual_bytes = 0;
  double start_time_seconds = 0;  // since the epoch
};
bool read_process_stats(ProcessStats& out);

}  // namespace kb::broker
