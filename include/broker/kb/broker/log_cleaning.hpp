#pragma once

// Kafka's LogCleanerManager for this broker: every log.cleaner.backoff.ms
// (at once again after a clean), the compacted logs (cleanup.policy has
// "compact") are weighed on the loop, a slice of the topics per turn; the
// dirtiest one worth cleaning (min.cleanable.dirty.ratio,
// max.compaction.lag.ms) goes to the cleaner's
// helper thread (storage::CleanerWorker), and its cleaned segments are
// swapped in here when it is done. First dirty offsets are kept in the log
// directory's cleaner-offset-checkpoint, written by the helper thread.
//
// __consumer_offsets and __transaction_state are compacted by their
// coordinators (cluster/coordinator_topic.hpp), not here.
//
// Broker settings (server.properties): log.cleaner.enable,
// log.cleaner.backoff.ms, log.cleaner.dedupe.buffer.size,
// log.cleaner.io.buffer.load.factor, log.cleaner.io.max.bytes.per.second.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "kb/cluster/broker_state.hpp"
#include "kb/net/event_loop.hpp"
#include "kb/storage/cleaner_worker.hpp"
#include "kb/storage/offset_checkpoint.hpp"

namespace kb::broker {

struct LogCleaningOptions {
  bool enabled = true;
  int64_t backoff_ms = 15'000;
  size_t dedupe_buffer_bytes = 128ull * 1024 * 1024;
  double load_factor = 0.9;
  double io_bytes_per_second = 1.7976931348623157e308;  // Double.MaxValue
  // A loop turn's share of the walk that weighs every topic's configs.
  std::chrono::microseconds scan_slice_budget{250};
  // From server.properties (the static configs), Kafka's defaults otherwise.
  static LogCleaningOptions from(const cluster::BrokerState& state);
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
  std::optional<storage::CleanStats> last_clean;  // the last finished clean's figures
  double last_buffer_utilization = 0;             // its offset map's keys over the map's slots
  double dirtiest_ratio = 0;          // the last walk's dirtiest log worth cleaning, or 0
  size_t uncleanable_partitions = 0;  // logs the last walk could not plan (damaged)
  std::optional<std::chrono::steady_clock::time_point> last_run;  // a walk or clean ended
};

class LogCleaning : public net::IoHandler {
 public:
  LogCleaning(net::EventLoop& loop, cluster::BrokerState& state,
              LogCleaningOptions options = LogCleaningOptions{});
  ~LogCleaning() override;
  LogCleaning(const LogCleaning&) = delete;
  LogCleaning& operator=(const LogCleaning&) = delete;

  void on_io(uint32_t events) override;
  size_t cleans_completed() const { return cleans_completed_; }
  // The loop turns the last finished walk over the topics took.
  size_t last_scan_slices() const { return last_scan_slices_; }
  const CleanerActivity& activity() const { return activity_; }
  const LogCleaningOptions& options() const { return options_; }

 private:
  struct InFlight {
    std::string topic;
    int32_t partition = 0;
    std::filesystem::path dir;
  };
  void check();
  // False when the deadline came first (the walk goes on in a later turn).
  bool scan_slice(std::chrono::steady_clock::time_point deadline);
  void start_cleaning(const std::string& topic, int32_t partition);
  void arm(std::chrono::milliseconds delay);
  void finish(storage::CleanerJob& job);
  void write_checkpoint();
  storage::CompactionSettings settings_for(std::string_view topic) const;

  net::EventLoop& loop_;
  cluster::BrokerState& state_;
  LogCleaningOptions options_;
  std::unique_ptr<storage::CleanerWorker> worker_;
  storage::OffsetCheckpoint checkpoints_;
  bool checkpoints_loaded_ = false;
  std::optional<InFlight> in_flight_;
  std::optional<CleaningScan> scan_;  // a walk under way
  uint64_t next_job_ = 1;
  net::EventLoop::TimerId timer_ = 0;
  size_t cleans_completed_ = 0;
  size_t last_scan_slices_ = 0;
  CleanerActivity activity_;
};

}  // namespace kb::broker
