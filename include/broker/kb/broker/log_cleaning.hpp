#pragma once

// Kafka's LogCleaner and LogCleanerManager for this broker: every
// log.cleaner.backoff.ms (at once again after a clean), the compacted logs
// (cleanup.policy has "compact") are weighed on the loop, a slice of the
// topics per turn; the dirtiest one worth cleaning (min.cleanable.dirty.ratio,
// max.compaction.lag.ms) that no thread is cleaning goes to an idle cleaner
// thread (storage::CleanerWorker, log.cleaner.threads of them), and its
// cleaned segments are swapped in here when it is done. A log is never
// cleaned by two threads at once. First dirty offsets are kept in the log
// directory's cleaner-offset-checkpoint, written by a cleaner thread.
//
// __consumer_offsets and __transaction_state are cleaned here too, as any
// compacted topic (their coordinators only append).
//
// Broker settings (server.properties, and the dynamic broker configs, which
// take effect while it runs as Kafka's reconfigure does): log.cleaner.enable
// (static), log.cleaner.threads, log.cleaner.backoff.ms,
// log.cleaner.dedupe.buffer.size (shared out among the threads),
// log.cleaner.io.buffer.load.factor, log.cleaner.io.max.bytes.per.second (one
// budget for all threads). A change of the thread count or of the map's size
// or load factor restarts the threads (a clean under way is abandoned and
// taken up again by the new ones); the rate and the backoff apply at once.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kb/cluster/broker_reconfigurable.hpp"
#include "kb/cluster/broker_state.hpp"
#include "kb/net/event_loop.hpp"
#include "kb/storage/cleaner_worker.hpp"
#include "kb/storage/offset_checkpoint.hpp"

namespace kb::broker {

struct LogCleaningOptions {
  bool enabled = true;
  int32_t threads = 1;
  int64_t backoff_ms = 15'000;
  size_t dedupe_buffer_bytes = 128ull * 1024 * 1024;  // all threads' maps together
  double load_factor = 0.9;
  double io_bytes_per_second = 1.7976931348623157e308;  // Double.MaxValue
  // A loop turn's share of the walk that weighs every topic's configs.
  std::chrono::microseconds scan_slice_budget{250};
  // From server.properties (the static configs), Kafka's defaults otherwise.
  static LogCleaningOptions from(const cluster::BrokerState& state);
  // These options with the log.cleaner.* values `lookup` has (a value that
  // does not parse, or is out of range, leaves the option as it is).
  LogCleaningOptions with(const cluster::BrokerConfigLookup& lookup) const;
  // One thread's offset map, as Kafka shares the buffer out (at most 2 GiB).
  size_t dedupe_bytes_per_thread() const;
};

// A walk over the topics for the dirtiest log worth cleaning.
struct CleaningScan {
  struct Candidate {
    std::string topic;
    int32_t partition = 0;
    double ratio = 0;
  };
  std::optional<std::string> last_topic;  // weighed last: the next slice starts after it
  std::optional<Candidate> best;
  size_t uncleanable = 0;  // logs no plan could be made for (damaged)
  bool checkpoint_changed = false;
  size_t slices = 0;
};

// What the cleaner did lately, read by its metrics (Kafka's LogCleaner and
// LogCleanerManager gauges).
struct CleanerActivity {
  struct LastClean {
    storage::CleanStats stats;
    double buffer_utilization = 0;  // its offset map's keys over the map's slots
  };
  // Each cleaner thread's last finished clean (new threads start without
  // one, as Kafka's do after a restart).
  std::vector<std::optional<LastClean>> threads;
  double dirtiest_ratio = 0;          // the last walk's dirtiest log worth cleaning, or 0
  size_t uncleanable_partitions = 0;  // logs the last walk could not plan (damaged)
  std::optional<std::chrono::steady_clock::time_point> last_run;  // a walk or clean ended
};

class LogCleaning : public net::IoHandler, public cluster::BrokerReconfigurable {
 public:
  // `options`: server.properties' values; the broker's dynamic configs
  // (state.configs) go over them, now and whenever they change.
  LogCleaning(net::EventLoop& loop, cluster::BrokerState& state,
              LogCleaningOptions options = LogCleaningOptions{});
  ~LogCleaning() override;
  LogCleaning(const LogCleaning&) = delete;
  LogCleaning& operator=(const LogCleaning&) = delete;

  void on_io(uint32_t events) override;
  std::string reconfiguration_problem(const cluster::BrokerConfigLookup& lookup) const override;
  void broker_configs_changed() override;

  size_t cleans_completed() const { return cleans_completed_; }
  // The loop turns the last finished walk over the topics took.
  size_t last_scan_slices() const { return last_scan_slices_; }
  const CleanerActivity& activity() const { return activity_; }
  // The options in force (server.properties' with the dynamic configs).
  const LogCleaningOptions& options() const { return options_; }
  // Cleaner threads running now (threads stopped by a restart not counted).
  size_t thread_count() const { return threads_.size(); }
  // Logs being cleaned now, and the most cleaned at the same time so far.
  size_t cleans_under_way() const { return cleans_.size(); }
  size_t most_concurrent_cleans() const { return most_concurrent_cleans_; }
  // Times the threads were restarted for a config change.
  size_t restarts() const { return restarts_; }

 private:
  struct InFlight {
    std::string topic;
    int32_t partition = 0;
    std::filesystem::path dir;
  };
  struct CleanerThread {
    std::unique_ptr<storage::CleanerWorker> worker;
    std::optional<uint64_t> clean_job;  // the clean it runs, if any
    size_t index = 0;                   // in activity_.threads
  };
  void check();
  // False when the deadline came first (the walk goes on in a later turn).
  bool scan_slice(std::chrono::steady_clock::time_point deadline);
  void start_cleaning(CleanerThread& thread, const std::string& topic, int32_t partition);
  // Sooner than a timer already set only.
  void arm(std::chrono::milliseconds delay);
  void take_completed(CleanerThread& thread, bool retiring);
  void finish(CleanerThread& thread, storage::CleanerJob& job, bool retiring);
  void write_checkpoint();
  void maybe_write_checkpoint();
  storage::CompactionSettings settings_for(std::string_view topic) const;
  bool cleaning(std::string_view topic, int32_t partition) const;
  CleanerThread* idle_thread();
  void start_threads();
  void apply_dynamic_configs();
  // Kafka's checks of a reconfiguration against the options in force: the
  // reason, or empty.
  std::string problem_with(const LogCleaningOptions& wanted) const;

  net::EventLoop& loop_;
  cluster::BrokerState& state_;
  const LogCleaningOptions base_options_;  // server.properties'
  LogCleaningOptions options_;             // in force
  std::shared_ptr<storage::IoThrottler> throttler_;
  std::vector<CleanerThread> threads_;
  // Threads a restart stopped, until their last jobs have come back.
  std::vector<CleanerThread> retiring_;
  std::map<uint64_t, InFlight> cleans_;  // by job id
  storage::OffsetCheckpoint checkpoints_;
  bool checkpoints_loaded_ = false;
  bool checkpoint_wanted_ = false;          // checkpoints_ changed since the last write
  std::optional<uint64_t> checkpoint_job_;  // a write under way (one at a time)
  std::optional<CleaningScan> scan_;        // a walk under way
  uint64_t next_job_ = 1;
  net::EventLoop::TimerId timer_ = 0;
  std::chrono::steady_clock::time_point timer_due_;
  net::EventLoop::TimerId reconfigure_timer_ = 0;
  size_t cleans_completed_ = 0;
  size_t last_scan_slices_ = 0;
  size_t most_concurrent_cleans_ = 0;
  size_t restarts_ = 0;
  CleanerActivity activity_;
};

}  // namespace kb::broker
