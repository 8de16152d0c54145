#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "kb/cluster/broker_state.hpp"
#include "kb/cluster/partition_logs.hpp"
#include "kb/metrics/metrics.hpp"
#include "kb/net/event_loop.hpp"
#include "kb/storage/sync_worker.hpp"

namespace kb::broker {

// Keeps the disk off the event loop. Flushes asked for during a loop turn
// (request_flush) are submitted before the loop sleeps, one per partition, to
// a SyncWorker; while a partition's sync is running, further requests for it
// wait and are covered by the next one (group commit). Completions come back
// through the worker's eventfd: the log's flushed offset moves, and the
// progress callback releases responses that waited for them.
//
// A flush syncs a partition's .log files only; its index files are synced
// every log.flush.offset.checkpoint.interval.ms, when the recovery points move
// and the recovery-point-offset-checkpoint is written (write_checkpoint).
//
// The metadata log (__cluster_metadata-0) is flushed the same way: a topic
// change is answered once its records are synced.
//
// Also Kafka's timed work: log.flush.interval.ms (logs with unsynced data
// older than that are flushed); and partitions that went quiet give back the
// disk space reserved ahead of their data.
//
// A job that found no file descriptor free (the files of rolled segments are
// opened by path on the helper thread) is tried again shortly: a shortage of
// descriptors delays syncs and checkpoints, it never fails the log directory.
// The checkpoint files, in their order: recovery points, log start offsets,
// high watermarks.
inline constexpr size_t kCheckpointFiles = 3;

// A checkpoint gathered over loop turns (LogFlusher::continue_checkpoint).
struct CheckpointWalk {
  struct Text {
    std::string body;  // the entry lines
    size_t entries = 0;
    bool unchanged = true;  // so far, the same as the last written
  };
  // What the checkpoint's job makes good for one log once it is done.
  struct IndexSync {
    std::string topic;
    int32_t partition = 0;
    const storage::PartitionLog* log = nullptr;  // compared, never used
    int64_t recovery_point = 0;
    uint64_t rolls = 0;
  };
  std::optional<cluster::PartitionLogs::Key> last;  // visited last: the next slice follows it
  uint64_t closes = 0;                              // PartitionLogs::closes() when the walk started
  int restarts = 0;
  std::array<Text, kCheckpointFiles> files;
  std::vector<storage::FileToSync> index_files;
  std::vector<IndexSync> indexes;
};

class LogFlusher final : public cluster::LogFlushScheduler, public net::IoHandler {
 public:
  LogFlusher(net::EventLoop& loop, cluster::BrokerState& state, size_t max_threads);
  ~LogFlusher() override;
  LogFlusher(const LogFlusher&) = delete;
  LogFlusher& operator=(const LogFlusher&) = delete;

  cluster::FlushTicket request_flush(std::string_view topic, int32_t partition,
                                     storage::PartitionLog& log) override;
  void start_writeback(storage::PartitionLog& log) override;
  bool done(const cluster::FlushTicket& ticket) const;
  // Done, but the sync failed: the data may not be on disk.
  bool failed(const cluster::FlushTicket& ticket) const;
  // `callback` runs after completions were applied, until removed with the
  // same owner (one listener per BrokerService: there is one per listener).
  void add_progress_listener(const void* owner, std::function<void()> callback) {
    progress_listeners_.emplace_back(owner, std::move(callback));
  }
  // Each partition flush's time, submit to synced, goes here (null: nowhere).
  void set_flush_time_histogram(metrics::Histogram* histogram) { flush_time_ = histogram; }
  void remove_progress_listener(const void* owner) {
    std::erase_if(progress_listeners_, [owner](const auto& l) { return l.first == owner; });
  }

  // A data sync or the checkpoint failed. As Kafka takes a failed log
  // directory offline (and stops a broker left without one), from then on
  // nothing more is counted as flushed and no checkpoint is written; the
  // handler (the broker's) stops the broker without a clean shutdown, so the
  // next start recovers from the last recovery point.
  void on_disk_failure(std::function<void(const std::string& what)> handler) {
    on_disk_failure_ = std::move(handler);
  }
  bool disk_failed() const { return disk_failed_; }
  // A write to a log failed: the same as a failed sync.
  void report_disk_failure(const std::string& what) { fail(what); }

  // Shutdown: submits what is pending and waits until every flush is done.
  void finish();
  size_t syncs_completed() const { return syncs_completed_; }
  // The checkpoint's walk over the partitions has started and not ended.
  bool checkpoint_walk_under_way() const { return checkpoint_walk_.has_value(); }

  void on_io(uint32_t events) override;

 private:
  struct PartitionFlush {
    std::string topic;
    int32_t partition = 0;
    uint64_t requested = 0;  // the generation the newest ticket waits for
    uint64_t submitted = 0;  // the generation of the last submitted sync
    uint64_t completed = 0;
    uint64_t failed = 0;  // the last generation whose sync failed
    bool in_flight = false;
    net::EventLoop::Clock::time_point last_flush;
  };
  struct Job {
    uint32_t slot = 0;
    uint64_t generation = 0;
    int64_t end_offset = 0;
    // The metadata log's flush syncs its indexes too (as its own flush()
    // does: it has no checkpoint): they are good up to here once synced.
    std::optional<storage::PartitionLog::IndexSyncSnapshot> indexes;
    std::chrono::steady_clock::time_point submitted{};
  };

  uint32_t slot_for(std::string_view topic, int32_t partition);
  // The open log a slot syncs (the metadata log for __cluster_metadata-0),
  // or nullptr when it is gone.
  storage::PartitionLog* log_of(const PartitionFlush& flush) const;
  void submit_pending();
  void apply_completions();
  void flush_old_logs();
  // The checkpoint: write_checkpoint starts a walk over every partition,
  // continue_checkpoint does a slice of it per loop turn (each partition's
  // entries stand alone, so a checkpoint gathered over several turns is as
  // good as one taken at once), submit_checkpoint hands the files to the
  // worker.
  void write_checkpoint();
  void continue_checkpoint();
  void submit_checkpoint();
  void checkpoint_done(storage::SyncJob& job);
  bool retry_later(storage::SyncJob& job);
  void resubmit_retries();
  void release_quiet_reservations();
  void continue_quiet_walk();
  void fail(const std::string& what);
  void schedule(std::chrono::milliseconds period, void (LogFlusher::*task)());
  void arm(size_t index);

  net::EventLoop& loop_;
  cluster::BrokerState& state_;
  storage::SyncWorker worker_;
  // Writeback (kb.log.writeback.interval.bytes) on its own thread at a lower
  // priority: nothing waits for it, so it must not take the CPU from the
  // loop or delay the syncs acknowledgements wait for.
  storage::SyncWorker writeback_worker_;
  std::vector<PartitionFlush> slots_;
  std::map<std::pair<std::string, int32_t>, uint32_t, std::less<>> slot_of_;
  std::vector<uint32_t> pending_;                    // slots with requested > submitted
  std::vector<storage::WritebackRange> writebacks_;  // submitted before the loop sleeps
  std::unordered_map<uint64_t, Job> jobs_;
  uint64_t next_job_id_ = 1;
  metrics::Histogram* flush_time_ = nullptr;
  uint64_t checkpoint_job_ = 0;  // the index syncs and checkpoint write in flight, 0 when none
  std::vector<CheckpointWalk::IndexSync> checkpoint_indexes_;  // what the checkpoint job makes good
  std::optional<CheckpointWalk> checkpoint_walk_;
  net::EventLoop::TimerId checkpoint_walk_timer_ = 0;
  // The walk that gives back quiet logs' reservations: the log visited last.
  std::optional<cluster::PartitionLogs::Key> quiet_walk_last_;
  net::EventLoop::TimerId quiet_walk_timer_ = 0;
  std::array<std::string, kCheckpointFiles> last_checkpoint_;  // the bodies last written
  std::vector<std::pair<const void*, std::function<void()>>> progress_listeners_;
  // Jobs that found no descriptor free, submitted again by a timer.
  std::vector<storage::SyncJob> to_retry_;
  std::unordered_map<uint64_t, int> retries_;  // by job id: attempts so far
  net::EventLoop::TimerId retry_timer_ = 0;
  size_t syncs_completed_ = 0;
  bool disk_failed_ = false;
  std::function<void(const std::string&)> on_disk_failure_;
  struct Periodic {
    std::chrono::milliseconds period;
    void (LogFlusher::*task)();
    net::EventLoop::TimerId timer = 0;
  };
  std::vector<Periodic> periodic_;
  net::EventLoop::Clock::time_point started_;
};

}  // namespace kb::broker
