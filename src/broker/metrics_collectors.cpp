#include "kb/broker/metrics_collectors.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>

#include "kb/broker/log_cleaning.hpp"
#include "kb/broker/log_retention.hpp"

namespace kb::broker {

namespace {

// Reads a small /proc file into `buf` (no allocation); the length, 0 on failure.
size_t read_proc(const char* path, char* buf, size_t size) {
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  size_t used = 0;
  while (used + 1 < size) {
    const ssize_t n = ::read(fd, buf + used, size - 1 - used);
    if (n <= 0) break;
    used += static_cast<size_t>(n);
  }
  ::close(fd);
  buf[used] = '\0';
  return used;
}

// Seconds since the epoch at which the machine booted (btime in /proc/stat).
double boot_time_seconds() {
  static double boot = [] {
    char buf[8192];
    if (read_proc("/proc/stat", buf, sizeof(buf)) == 0) return 0.0;
    const char* at = std::strstr(buf, "\nbtime ");
    return at != nullptr ? std::strtod(at + 7, nullptr) : 0.0;
  }();
  return boot;
}

// Each partition's log gauges (kafka.log:type=Log), in steps: the topic
// table in order, resumed after the last partition written (a topic deleted
// or created between two steps is simply missing or there).
bool collect_logs(metrics::TextWriter& w, const cluster::BrokerState& state,
                  metrics::CollectorPlace& place, metrics::StepBudget& budget) {
  if (!state.logs) return true;
  struct Gauge {
    std::string_view name;
    std::string_view help;
  };
  static constexpr Gauge kGauges[] = {
      {"kafka_log_log_size", "Bytes of a partition's log segments (Log Size)"},
      {"kafka_log_log_logstartoffset", "A partition's log start offset (Log LogStartOffset)"},
      {"kafka_log_log_logendoffset", "A partition's log end offset (Log LogEndOffset)"},
      {"kafka_log_log_numlogsegments", "A partition's segments (Log NumLogSegments)"},
  };
  const auto& topics = state.topics.topics();
  for (; place.family < std::size(kGauges); place.next_family()) {
    const Gauge& gauge = kGauges[place.family];
    if (!place.family_begun) {
      w.family(gauge.name, "gauge", gauge.help);
      place.family_begun = true;
    }
    auto it = place.has_key ? topics.lower_bound(place.partition.first) : topics.begin();
    for (; it != topics.end(); ++it) {
      const cluster::TopicInfo& topic = it->second;
      const bool resumed = place.has_key && it->first == place.partition.first;
      for (const cluster::PartitionInfo& p : topic.partitions) {
        if (resumed && p.partition_index <= place.partition.second) continue;
        // An open log's own figures; else what start-up read of its files.
        const storage::PartitionLog* log = state.logs->find_open(topic.name, p.partition_index);
        const storage::PartitionSummary* unopened =
            log == nullptr ? state.logs->find_unopened(topic.name, p.partition_index) : nullptr;
        if (log == nullptr && unopened == nullptr) continue;
        int64_t value = 0;
        switch (place.family) {
          case 0:
            value = static_cast<int64_t>(log ? log->size_bytes() : unopened->size_bytes);
            break;
          case 1:
            value = log ? log->log_start_offset() : unopened->log_start_offset;
            break;
          case 2:
            value = log ? log->log_end_offset() : unopened->log_end_offset;
            break;
          default:
            value = static_cast<int64_t>(log ? log->segment_count() : unopened->segments);
        }
        w.sample(gauge.name, {{"topic", topic.name}, {"partition", int64_t{p.partition_index}}},
                 value);
        if (!place.has_key || place.partition.first != topic.name)
          place.partition.first = topic.name;
        place.partition.second = p.partition_index;
        place.has_key = true;
        if (budget.spent()) return false;
      }
    }
  }
  return true;
}

void collect_groups(metrics::TextWriter& w, const group::GroupCoordinator& groups) {
  // Kafka's GroupMetadataManager gauges count classic groups by state.
  int64_t classic = 0, preparing = 0, completing = 0, stable = 0, dead = 0, empty = 0;
  int64_t offsets = 0;
  for (const auto& [id, group] : groups.groups()) {
    offsets += static_cast<int64_t>(group->offsets.size());
    if (group->type() != group::GroupType::kClassic) continue;
    ++classic;
    const std::string_view s = group->state_name();
    if (s == "PreparingRebalance") ++preparing;
    if (s == "CompletingRebalance") ++completing;
    if (s == "Stable") ++stable;
    if (s == "Dead") ++dead;
    if (s == "Empty") ++empty;
  }
  const std::pair<std::string_view, int64_t> kCounts[] = {
      {"kafka_coordinator_group_groupmetadatamanager_numgroups", classic},
      {"kafka_coordinator_group_groupmetadatamanager_numgroupspreparingrebalance", preparing},
      {"kafka_coordinator_group_groupmetadatamanager_numgroupscompletingrebalance", completing},
      {"kafka_coordinator_group_groupmetadatamanager_numgroupsstable", stable},
      {"kafka_coordinator_group_groupmetadatamanager_numgroupsdead", dead},
      {"kafka_coordinator_group_groupmetadatamanager_numgroupsempty", empty},
      {"kafka_coordinator_group_groupmetadatamanager_numoffsets", offsets},
  };
  for (const auto& [name, value] : kCounts) {
    w.family(name, "gauge", "Classic consumer groups (GroupMetadataManager)");
    w.sample(name, {}, value);
  }

  // Kafka 4's group coordinator (group-coordinator-metrics): groups by
  // protocol, and KIP-848 consumer groups by state.
  int64_t consumer = 0;
  std::pair<std::string_view, int64_t> by_state[] = {
      {"Empty", 0}, {"Assigning", 0}, {"Reconciling", 0}, {"Stable", 0}, {"Dead", 0}};
  for (const auto& [id, group] : groups.groups()) {
    if (group->type() != group::GroupType::kConsumer) continue;
    ++consumer;
    for (auto& [name, count] : by_state)
      if (group->state_name() == name) ++count;
  }
  w.family("kafka_server_group_coordinator_metrics_group_count", "gauge",
           "Groups by protocol (group-coordinator-metrics group-count)");
  w.sample("kafka_server_group_coordinator_metrics_group_count", {{"protocol", "classic"}},
           classic);
  w.sample("kafka_server_group_coordinator_metrics_group_count", {{"protocol", "consumer"}},
           consumer);
  w.family("kafka_server_group_coordinator_metrics_consumer_group_count", "gauge",
           "Consumer groups (KIP-848) by state (group-coordinator-metrics consumer-group-count)");
  for (const auto& [name, count] : by_state)
    w.sample("kafka_server_group_coordinator_metrics_consumer_group_count", {{"state", name}},
             count);
}

// Each group's committed offset and lag per partition, as kafka_exporter
// reports them (lag: the partition's end offset less the committed offset,
// for partitions whose log is open), in steps: groups and their partitions
// in order, resumed after the last one written.
bool collect_group_offsets(metrics::TextWriter& w, const cluster::BrokerState& state,
                           const group::GroupCoordinator& groups, metrics::CollectorPlace& place,
                           metrics::StepBudget& budget) {
  struct Family {
    std::string_view name;
    std::string_view help;
  };
  static constexpr Family kFamilies[] = {
      {"kafka_consumergroup_current_offset",
       "A group's committed offset per partition (as kafka_exporter names it)"},
      {"kafka_consumergroup_lag",
       "Records a group has yet to read per partition: end offset less committed offset"},
  };
  const group::GroupMap& all = groups.groups();
  for (; place.family < std::size(kFamilies); place.next_family()) {
    const Family& family = kFamilies[place.family];
    const bool lag = place.family == 1;
    if (!place.family_begun) {
      w.family(family.name, "gauge", family.help);
      place.family_begun = true;
    }
    if (lag && !state.logs) continue;
    auto it = place.has_key ? all.lower_bound(place.name) : all.begin();
    for (; it != all.end(); ++it) {
      const auto& [id, group] = *it;
      const bool resumed = place.has_key && id == place.name;
      auto offset = resumed ? group->offsets.upper_bound(place.partition) : group->offsets.begin();
      for (; offset != group->offsets.end(); ++offset) {
        const auto& [tp, committed] = *offset;
        const std::initializer_list<metrics::Label> labels = {
            {"consumergroup", id}, {"topic", tp.first}, {"partition", int64_t{tp.second}}};
        if (!lag) {
          w.sample(family.name, labels, committed.offset);
        } else {
          const storage::PartitionLog* log = state.logs->find_open(tp.first, tp.second);
          if (log == nullptr || committed.offset < 0) continue;
          w.sample(family.name, labels,
                   std::max<int64_t>(log->log_end_offset() - committed.offset, 0));
        }
        if (!place.has_key || place.name != id) place.name = id;
        place.partition = tp;
        place.has_key = true;
        if (budget.spent()) return false;
      }
    }
  }
  return true;
}

void collect_process(metrics::TextWriter& w) {
  ProcessStats stats;
  if (!read_process_stats(stats)) return;
  w.family("process_cpu_seconds_total", "counter", "User and system CPU time spent in seconds.");
  w.sample("process_cpu_seconds_total", {}, stats.cpu_seconds);
  w.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
  w.sample("process_resident_memory_bytes", {}, stats.resident_bytes);
  w.family("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
  w.sample("process_virtual_memory_bytes", {}, stats.virtual_bytes);
  w.family("process_start_time_seconds", "gauge",
           "Start time of the process since unix epoch in seconds.");
  w.sample("process_start_time_seconds", {}, stats.start_time_seconds);
}

}  // namespace

bool read_process_stats(ProcessStats& out) {
  char buf[1024];
  if (read_proc("/proc/self/stat", buf, sizeof(buf)) == 0) return false;
  // The command name (field 2) may hold spaces: the fields after it start
  // past its closing parenthesis.
  const char* p = std::strrchr(buf, ')');
  if (p == nullptr) return false;
  ++p;
  // Fields 3.. : state ppid pgrp session tty tpgid flags minflt cminflt majflt
  // cmajflt utime(14) stime(15) cutime cstime priority nice threads
  // itrealvalue starttime(22) vsize(23) rss(24).
  unsigned long long field[25] = {};
  char state = 0;
  int fields = 0;
  const char* at = p;
  while (*at == ' ') ++at;
  state = *at++;
  (void)state;
  for (int i = 4; i <= 24; ++i) {
    char* end = nullptr;
    field[i] = std::strtoull(at, &end, 10);
    if (end == at) break;
    at = end;
    fields = i;
  }
  if (fields < 24) return false;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const auto page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  out.cpu_seconds = static_cast<double>(field[14] + field[15]) / ticks;
  out.start_time_seconds = boot_time_seconds() + static_cast<double>(field[22]) / ticks;
  out.virtual_bytes = field[23];
  out.resident_bytes = field[24] * page;
  return true;
}

void collect_cleaner(metrics::TextWriter& w, const LogCleaning& cleaning,
                     const std::filesystem::path& log_dir,
                     std::chrono::steady_clock::time_point since,
                     std::chrono::steady_clock::time_point now) {
  const CleanerActivity& a = cleaning.activity();
  // Kafka reports these as whole numbers (its gauges truncate to Int).
  auto whole = [](double v) { return static_cast<int64_t>(v); };
  // Over the threads' last cleans: the longest, the fullest map, and the
  // bytes written over the bytes read of all of them.
  double max_seconds = 0;
  double max_utilization = 0;
  uint64_t read = 0;
  uint64_t written = 0;
  for (const auto& last : a.threads) {
    if (!last) continue;
    max_seconds = std::max(max_seconds, last->stats.elapsed_seconds);
    max_utilization = std::max(max_utilization, last->buffer_utilization);
    read += last->stats.bytes_read;
    written += last->stats.bytes_written;
  }
  const std::pair<std::string_view, int64_t> kCleaner[] = {
      {"kafka_log_logcleaner_max_clean_time_secs", whole(max_seconds)},
      {"kafka_log_logcleaner_max_buffer_utilization_percent", whole(100 * max_utilization)},
      {"kafka_log_logcleaner_cleaner_recopy_percent",
       whole(100 * static_cast<double>(written) /
             static_cast<double>(std::max<uint64_t>(read, 1)))},
      {"kafka_log_logcleanermanager_max_dirty_percent", whole(100 * a.dirtiest_ratio)},
      {"kafka_log_logcleanermanager_time_since_last_run_ms",
       std::chrono::duration_cast<std::chrono::milliseconds>(now - a.last_run.value_or(since))
           .count()},
  };
  for (const auto& [name, value] : kCleaner) {
    w.family(name, "gauge", "The log cleaner (LogCleaner, LogCleanerManager)");
    w.sample(name, {}, value);
  }
  w.family("kafka_log_logcleanermanager_uncleanable_partitions_count", "gauge",
           "Compacted logs the cleaner cannot clean (damaged), per log directory");
  w.sample("kafka_log_logcleanermanager_uncleanable_partitions_count",
           {{"logDirectory", log_dir.native()}}, static_cast<int64_t>(a.uncleanable_partitions));
}

void add_broker_collectors(metrics::BrokerMetrics& metrics, const cluster::BrokerState& state,
                           const group::GroupCoordinator* groups, const LogRetention* retention,
                           const LogCleaning* cleaning) {
  metrics.set_topic_exists(
      [&state](std::string_view topic) { return state.topics.find(topic) != nullptr; });
  metrics.add_stepped_collector(
      [&state](metrics::TextWriter& w, metrics::CollectorPlace& place,
               metrics::StepBudget& budget) { return collect_logs(w, state, place, budget); });
  if (groups != nullptr) {
    metrics.add_collector([groups](metrics::TextWriter& w) { collect_groups(w, *groups); });
    metrics.add_stepped_collector([&state, groups](metrics::TextWriter& w,
                                                   metrics::CollectorPlace& place,
                                                   metrics::StepBudget& budget) {
      return collect_group_offsets(w, state, *groups, place, budget);
    });
  }
  if (retention != nullptr)
    metrics.add_collector([retention](metrics::TextWriter& w) {
      w.family("kb_log_retention_deleted_segments_total", "counter",
               "Segments deleted by time or size retention (this broker's own series)");
      w.sample("kb_log_retention_deleted_segments_total", {},
               static_cast<uint64_t>(retention->segments_deleted()));
      w.family("kb_log_retention_passes_total", "counter",
               "Retention passes over every partition (this broker's own series)");
      w.sample("kb_log_retention_passes_total", {},
               static_cast<uint64_t>(retention->passes_completed()));
    });
  if (cleaning != nullptr && state.logs)
    metrics.add_collector([cleaning, &state,
                           since = std::chrono::steady_clock::now()](metrics::TextWriter& w) {
      collect_cleaner(w, *cleaning, state.logs->log_dir(), since, std::chrono::steady_clock::now());
    });
  metrics.add_collector([](metrics::TextWriter& w) { collect_process(w); });
}

namespace {

class MetricsResponder final : public net::HttpResponder {
 public:
  MetricsResponder(metrics::BrokerMetrics& metrics, net::EventLoop& loop, std::string path)
      : metrics_(metrics), loop_(loop), path_(std::move(path)) {}

  net::HttpAnswer start(std::string_view path, ByteBuffer& body) override {
    if (path != path_) {
      constexpr std::string_view kNotFound = "not found: the metrics are at ";
      body.append(kNotFound.data(), kNotFound.size());
      body.append(path_.data(), path_.size());
      body.push_back('\n');
      return {404};
    }
    metrics_.start(scrape_, loop_.now());
    return {200, "text/plain; version=0.0.4; charset=utf-8", !next(body)};
  }

  bool next(ByteBuffer& body) override {
    metrics::StepBudget budget(kScrapeStepTime, kScrapeStepBytes, body);
    return metrics_.step(scrape_, body, budget);
  }

 private:
  metrics::BrokerMetrics& metrics_;
  net::EventLoop& loop_;
  std::string path_;
  metrics::Scrape scrape_;
};

}  // namespace

std::unique_ptr<net::HttpResponder> make_metrics_responder(metrics::BrokerMetrics& metrics,
                                                           net::EventLoop& loop, std::string path) {
  return std::make_unique<MetricsResponder>(metrics, loop, std::move(path));
}

void add_event_loop_collector(metrics::BrokerMetrics& metrics, net::EventLoop& loop) {
  metrics.add_collector([&loop](metrics::TextWriter& w) {
    w.family("kb_event_loop_longest_turn_seconds", "gauge",
             "The event loop's longest turn (its work, not its sleep) since the previous scrape "
             "(this broker's own series)");
    w.sample("kb_event_loop_longest_turn_seconds", {},
             std::chrono::duration<double>(loop.take_longest_turn()).count());
  });
}

void add_client_quota_collector(metrics::BrokerMetrics& metrics,
                                cluster::ClientQuotaManager& quotas) {
  metrics.add_collector([&quotas](metrics::TextWriter& w) {
    const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now().time_since_epoch())
                            .count();
    const auto sensors = quotas.sensors(now);
    struct Family {
      cluster::QuotaType type;
      bool throttle;
      std::string_view name;
      std::string_view help;
    };
    static constexpr Family kFamilies[] = {
        {cluster::QuotaType::kProduce, false, "kafka_server_produce_byte_rate",
         "Produced bytes per second of a user / client id (Produce byte-rate)"},
        {cluster::QuotaType::kProduce, true, "kafka_server_produce_throttle_time",
         "Average Produce throttle in ms (Produce throttle-time)"},
        {cluster::QuotaType::kFetch, false, "kafka_server_fetch_byte_rate",
         "Fetched bytes per second of a user / client id (Fetch byte-rate)"},
        {cluster::QuotaType::kFetch, true, "kafka_server_fetch_throttle_time",
         "Average Fetch throttle in ms (Fetch throttle-time)"},
        {cluster::QuotaType::kRequest, false, "kafka_server_request_request_time",
         "Request handling time in percent of a thread (Request request-time)"},
        {cluster::QuotaType::kRequest, true, "kafka_server_request_throttle_time",
         "Average request-time throttle in ms (Request throttle-time)"},
    };
    for (const Family& f : kFamilies) {
      bool any = false;
      for (const auto& s : sensors) {
        if (s.type != f.type) continue;
        if (!any) w.family(f.name, "gauge", f.help);
        any = true;
        w.sample(f.name, {{"client_id", s.client_id}, {"user", s.user}},
                 f.throttle ? s.throttle_avg_ms : s.rate);
      }
    }
  });
}

}  // namespace kb::broker
