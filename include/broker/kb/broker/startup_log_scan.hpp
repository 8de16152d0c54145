#pragma once

// Partition logs open on first use, so that start-up stays quick with many
// partitions; their gauges (size, start and end offsets, segments) would be
// missing until then. This reads every partition directory the topic table
// names on a helper thread (storage::summarize_partition_dir: file names and
// sizes, and after an unclean shutdown the segments recovery will read), and
// hands each summary to the partition logs on the loop. While it runs it logs
// its progress (partitions done of total, bytes, rate) every few seconds, as
// Kafka's LogManager logs its loading, and a line when it is done.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "kb/cluster/broker_state.hpp"
#include "kb/net/event_loop.hpp"
#include "kb/storage/segment_check.hpp"

namespace kb::broker {

class StartupLogScan {
 public:
  // state.logs must be loaded. Starts the thread at once.
  StartupLogScan(net::EventLoop& loop, cluster::BrokerState& state,
                 std::chrono::milliseconds progress_interval = std::chrono::seconds(3));
  ~StartupLogScan();
  StartupLogScan(const StartupLogScan&) = delete;
  StartupLogScan& operator=(const StartupLogScan&) = delete;

  // Shutdown: the thread stops after the partition it is reading.
  void stop();
  size_t total() const { return jobs_.size(); }
  bool finished() const { return finished_; }

 private:
  struct Job {
    std::string topic;
    int32_t partition = 0;
    std::filesystem::path dir;
    storage::PartitionSummaryHint hint;
  };
  struct Done {
    size_t job = 0;
    storage::PartitionSummary summary;
    bool has_dir = false;
  };

  void run();           // the helper thread
  void take_results();  // on the loop, every tick
  void report(bool last);

  net::EventLoop& loop_;
  cluster::BrokerState& state_;
  std::chrono::milliseconds progress_interval_;
  std::vector<Job> jobs_;
  std::mutex mutex_;
  std::vector<Done> done_;  // under mutex_
  std::atomic<bool> stopping_{false};
  std::atomic<bool> thread_done_{false};
  std::thread thread_;
  net::EventLoop::TimerId timer_ = 0;
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point last_report_;
  size_t processed_ = 0;     // partitions whose summary the loop took
  uint64_t bytes_ = 0;       // in the segments of the partitions done
  uint64_t bytes_read_ = 0;  // read to find where logs end (after an unclean shutdown)
  bool finished_ = false;
};

}  // namespace kb::broker
