#include "kb/broker/log_flusher.hpp"

#include <sys/epoll.h>

#include <algorithm>
#include <limits>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "kb/storage/offset_checkpoint.hpp"

namespace kb::broker {

using cluster::FlushTicket;

namespace {
constexpr int kWritebackNice = 10;
// A sync or checkpoint job that found no descriptor free is tried again after
// this long, up to this many times (a minute) before it counts as a failed disk.
constexpr auto kRetryDelay = std::chrono::milliseconds(100);
constexpr int kMaxRetries = 600;
// Partitions with nothing appended for this long give back the disk space
// reserved ahead of their data; checked this often.
constexpr int64_t kQuietMs = 10'000;
constexpr auto kQuietCheckInterval = std::chrono::milliseconds(2000);
constexpr size_t kQuietLogsPerTurn = 4096;
// A loop turn's share of the checkpoint's walk over every partition, and how
// many partitions go between looks at the clock.
constexpr auto kCheckpointSliceBudget = std::chrono::microseconds(250);
constexpr size_t kCheckpointClockEvery = 32;
// Walks started over because partitions were deleted meanwhile, before the
// checkpoint waits for its next interval.
constexpr int kMaxCheckpointRestarts = 3;
}  // namespace

LogFlusher::LogFlusher(net::EventLoop& loop, cluster::BrokerState& state, size_t max_threads)
    : loop_(loop),
      state_(state),
      worker_(max_threads),
      writeback_worker_(1, kWritebackNice),
      started_(loop.now()) {
  loop_.watch(worker_.completion_fd(), EPOLLIN, this);
  loop_.add_before_sleep([this] { submit_pending(); });
  const auto& config = state_.log_config;
  constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
  if (config.flush_interval_ms != kNever) {
    // Kafka checks every log.flush.scheduler.interval.ms; here the check runs
    // at the flush interval itself (at least every second for long ones).
    const int64_t period = std::clamp<int64_t>(config.flush_scheduler_interval_ms != kNever
                                                   ? config.flush_scheduler_interval_ms
                                                   : config.flush_interval_ms,
                                               1, 1000);
    schedule(std::chrono::milliseconds(period), &LogFlusher::flush_old_logs);
  }
  schedule(std::chrono::milliseconds(std::max<int64_t>(config.flush_checkpoint_interval_ms, 1)),
           &LogFlusher::write_checkpoint);
  schedule(kQuietCheckInterval, &LogFlusher::release_quiet_reservations);
}

LogFlusher::~LogFlusher() {
  for (const auto& p : periodic_) loop_.cancel(p.timer);
  if (checkpoint_walk_timer_ != 0) loop_.cancel(checkpoint_walk_timer_);
  if (quiet_walk_timer_ != 0) loop_.cancel(quiet_walk_timer_);
  if (retry_timer_ != 0) loop_.cancel(retry_timer_);
  loop_.unwatch(worker_.completion_fd());
}

void LogFlusher::schedule(std::chrono::milliseconds period, void (LogFlusher::*task)()) {
  periodic_.push_back({period, task, 0});
  arm(periodic_.size() - 1);
}

void LogFlusher::arm(size_t index) {
  periodic_[index].timer = loop_.run_after(periodic_[index].period, [this, index] {
    (this->*periodic_[index].task)();
    arm(index);
  });
}

uint32_t LogFlusher::slot_for(std::string_view topic, int32_t partition) {
  auto it = slot_of_.find(std::pair<std::string, int32_t>(topic, partition));
  if (it != slot_of_.end()) return it->second;
  const auto slot = static_cast<uint32_t>(slots_.size());
  PartitionFlush& flush = slots_.emplace_back();
  flush.topic = std::string(topic);
  flush.partition = partition;
  flush.last_flush = started_;
  slot_of_.emplace(std::pair(flush.topic, partition), slot);
  return slot;
}

storage::PartitionLog* LogFlusher::log_of(const PartitionFlush& flush) const {
  if (flush.topic == cluster::kMetadataTopicName && flush.partition == 0)
    return state_.metadata_log.get();
  return state_.logs ? state_.logs->find_open(flush.topic, flush.partition) : nullptr;
}

FlushTicket LogFlusher::request_flush(std::string_view topic, int32_t partition,
                                      storage::PartitionLog& /*log*/) {
  const uint32_t slot = slot_for(topic, partition);
  PartitionFlush& flush = slots_[slot];
  // A sync already submitted may have started before this append: the ticket
  // waits for the next one.
  if (flush.requested <= flush.submitted) {
    flush.requested = flush.submitted + 1;
    pending_.push_back(slot);
  }
  return {slot, flush.requested};
}

bool LogFlusher::done(const FlushTicket& ticket) const {
  return slots_.at(ticket.slot).completed >= ticket.generation;
}

bool LogFlusher::failed(const FlushTicket& ticket) const {
  return slots_.at(ticket.slot).failed >= ticket.generation;
}

void LogFlusher::start_writeback(storage::PartitionLog& log) {
  const uint64_t interval = state_.log_config.writeback_interval_bytes;
  if (interval == 0) return;
  if (auto range = log.take_writeback_range(interval)) writebacks_.push_back(std::move(*range));
}

void LogFlusher::submit_pending() {
  if (!writebacks_.empty()) {
    // Finished writeback jobs hold nothing (the worker let go of their
    // files): dropped when the next one goes out, not every loop turn.
    (void)writeback_worker_.take_completed();
    // One job for the turn's ranges; nothing waits for its completion.
    storage::SyncJob job;
    job.id = next_job_id_++;
    job.writebacks = std::move(writebacks_);
    writebacks_.clear();
    writeback_worker_.submit(std::move(job));
  }
  if (pending_.empty()) return;
  std::vector<uint32_t> waiting;
  for (uint32_t slot : pending_) {
    PartitionFlush& flush = slots_[slot];
    if (flush.requested <= flush.submitted) continue;  // listed twice
    if (flush.in_flight) {
      waiting.push_back(slot);  // submitted when the running sync completes
      continue;
    }
    flush.submitted = flush.requested;
    storage::PartitionLog* log = log_of(flush);
    if (log == nullptr) {
      // The log is gone (topic deleted): nothing left to sync.
      flush.completed = flush.submitted;
      continue;
    }
    auto snapshot = log->flush_snapshot();
    if (!snapshot) {
      spdlog::error("flush {}-{}: {}", flush.topic, flush.partition, snapshot.error().message);
      flush.completed = flush.failed = flush.submitted;
      continue;
    }
    if (snapshot->data_files.empty()) {  // nothing written yet
      flush.completed = flush.submitted;
      continue;
    }
    // Only the data: an acknowledgement waits for this one fdatasync. The
    // indexes are synced with the checkpoint (write_checkpoint).
    storage::SyncJob job;
    job.id = next_job_id_++;
    job.files = std::move(snapshot->data_files);
    Job waiting_job{slot, flush.submitted, snapshot->end_offset, std::nullopt,
                    std::chrono::steady_clock::now()};
    if (log == state_.metadata_log.get()) {
      // After the data, in the same job (the worker syncs a job's files in
      // order): index entries never reach the disk before their batches.
      auto indexes = log->index_sync_snapshot();
      if (indexes) {
        job.files.insert(job.files.end(), indexes->index_files.begin(), indexes->index_files.end());
        waiting_job.indexes = std::move(*indexes);
      }
    }
    jobs_.emplace(job.id, std::move(waiting_job));
    flush.in_flight = true;
    worker_.submit(std::move(job));
  }
  pending_ = std::move(waiting);
}

void LogFlusher::on_io(uint32_t /*events*/) { apply_completions(); }

void LogFlusher::apply_completions() {
  bool progressed = false;
  for (storage::SyncJob& job : worker_.take_completed()) {
    if (!job.status && storage::out_of_descriptors(job.status.error()) && retry_later(job))
      continue;
    retries_.erase(job.id);
    if (job.id == checkpoint_job_) {
      checkpoint_job_ = 0;
      checkpoint_done(job);
      continue;
    }
    auto it = jobs_.find(job.id);
    if (it == jobs_.end()) continue;
    const Job done_job = std::move(it->second);
    jobs_.erase(it);
    PartitionFlush& flush = slots_[done_job.slot];
    flush.in_flight = false;
    flush.completed = std::max(flush.completed, done_job.generation);
    flush.last_flush = loop_.now();
    ++syncs_completed_;
    if (flush_time_ != nullptr && job.status)
      flush_time_->record(std::chrono::steady_clock::now() - done_job.submitted);
    progressed = true;
    if (!job.status) {
      flush.failed = done_job.generation;
      fail(fmt::format("flush {}-{} failed: {}", flush.topic, flush.partition,
                       job.status.error().message));
    } else if (disk_failed_) {
      // After a failed sync nothing counts as durable any more (a retried
      // fdatasync can succeed without the lost pages ever reaching the disk).
      flush.failed = done_job.generation;
    } else if (auto* log = log_of(flush)) {
      log->mark_flushed(done_job.end_offset);
      if (done_job.indexes)
        log->mark_indexes_synced(done_job.indexes->recovery_point, done_job.indexes->rolls);
    }
    if (flush.requested > flush.submitted) pending_.push_back(done_job.slot);
  }
  // Requests that waited for a running sync go out at once.
  submit_pending();
  if (progressed) {
    // A listener may remove itself while being called: iterate over a copy.
    auto listeners = progress_listeners_;
    for (auto& [owner, callback] : listeners) callback();
  }
}

void LogFlusher::flush_old_logs() {
  if (!state_.logs) return;
  const auto now = loop_.now();
  const auto interval = std::chrono::milliseconds(state_.log_config.flush_interval_ms);
  state_.logs->for_each_open(
      [&](const std::string& topic, int32_t partition, storage::PartitionLog& log) {
        if (!log.has_unflushed()) return;
        PartitionFlush& flush = slots_[slot_for(topic, partition)];
        if (now - flush.last_flush >= interval) request_flush(topic, partition, log);
      });
}

// Kafka's flush syncs a log's indexes with its data, and the recovery point
// moves with both. Here a flush syncs the data alone (that is what acks=-1
// waits for: one fdatasync, not three journal commits one after another), and
// the indexes of every log whose data moved on are synced now, in one job that
// then writes the checkpoint: each recovery point moves to where the data was
// synced once its indexes are too, so below it the index entries are on disk
// and start-up recovery rebuilds the entries past it.
void LogFlusher::write_checkpoint() {
  if (!state_.logs || checkpoint_job_ != 0 || checkpoint_walk_ || disk_failed_) return;
  checkpoint_walk_.emplace();
  checkpoint_walk_->closes = state_.logs->closes();
  continue_checkpoint();
}

void LogFlusher::continue_checkpoint() {
  checkpoint_walk_timer_ = 0;
  if (!state_.logs || disk_failed_) {
    checkpoint_walk_.reset();
    return;
  }
  CheckpointWalk& walk = *checkpoint_walk_;
  const auto deadline = std::chrono::steady_clock::now() + kCheckpointSliceBudget;
  size_t visited = 0;
  // Appends an entry line, noting whether the file still reads as last time.
  auto add = [this](size_t file, CheckpointWalk::Text& text, const std::string& topic,
                    int32_t partition, int64_t offset) {
    const size_t at = text.body.size();
    fmt::format_to(std::back_inserter(text.body), "{} {} {}\n", topic, partition, offset);
    ++text.entries;
    const std::string& last = last_checkpoint_[file];
    if (text.unchanged)
      text.unchanged = last.size() >= text.body.size() &&
                       last.compare(at, text.body.size() - at, text.body, at) == 0;
  };
  const bool finished = state_.logs->walk_checkpoint(
      walk.last, [&](const cluster::PartitionLogs::CheckpointEntry& entry) {
        std::optional<int64_t> recovery_point = entry.recovery_point;
        if (entry.log != nullptr && entry.log->has_unsynced_indexes()) {
          auto snapshot = entry.log->index_sync_snapshot();
          if (!snapshot) {  // its recovery point stays where it is
            spdlog::error("index sync {}-{}: {}", entry.topic, entry.partition,
                          snapshot.error().message);
          } else {
            walk.index_files.insert(walk.index_files.end(), snapshot->index_files.begin(),
                                    snapshot->index_files.end());
            recovery_point = snapshot->recovery_point;
            walk.indexes.push_back({entry.topic, entry.partition, entry.log,
                                    snapshot->recovery_point, snapshot->rolls});
          }
        }
        if (recovery_point) add(0, walk.files[0], entry.topic, entry.partition, *recovery_point);
        if (entry.log_start_offset)
          add(1, walk.files[1], entry.topic, entry.partition, *entry.log_start_offset);
        if (entry.high_watermark)
          add(2, walk.files[2], entry.topic, entry.partition, *entry.high_watermark);
        if (++visited % kCheckpointClockEvery != 0 || std::chrono::steady_clock::now() < deadline)
          return true;
        walk.last = cluster::PartitionLogs::Key{entry.topic, entry.partition};  // resume after it
        return false;
      });
  if (!finished) {
    checkpoint_walk_timer_ =
        loop_.run_after(std::chrono::milliseconds(0), [this] { continue_checkpoint(); });
    return;
  }
  if (state_.logs->closes() != walk.closes) {
    // A partition deleted during the walk may be back under the same name,
    // with the old log's entry: the walk starts over (the recovery points on
    // disk stay as they are until one completes).
    const int restarts = walk.restarts + 1;
    checkpoint_walk_.reset();
    if (restarts > kMaxCheckpointRestarts) return;  // the next interval tries again
    checkpoint_walk_.emplace();
    checkpoint_walk_->closes = state_.logs->closes();
    checkpoint_walk_->restarts = restarts;
    checkpoint_walk_timer_ =
        loop_.run_after(std::chrono::milliseconds(0), [this] { continue_checkpoint(); });
    return;
  }
  submit_checkpoint();
}

void LogFlusher::submit_checkpoint() {
  CheckpointWalk walk = std::move(*checkpoint_walk_);
  checkpoint_walk_.reset();
  bool unchanged = walk.index_files.empty();
  for (size_t i = 0; i < kCheckpointFiles; ++i)
    unchanged = unchanged && walk.files[i].unchanged &&
                walk.files[i].body.size() == last_checkpoint_[i].size();
  if (unchanged) return;
  storage::SyncJob job;
  job.id = next_job_id_++;
  job.files = std::move(walk.index_files);
  const auto& dir = state_.logs->log_dir();
  constexpr std::array<std::string_view, kCheckpointFiles> kNames = {
      storage::kRecoveryPointCheckpointFile, storage::kLogStartOffsetCheckpointFile,
      storage::kReplicationOffsetCheckpointFile};
  for (size_t i = 0; i < kCheckpointFiles; ++i)
    job.writes.push_back({dir / kNames[i], std::move(walk.files[i].body),
                          storage::format_offset_checkpoint_head(walk.files[i].entries)});
  checkpoint_indexes_ = std::move(walk.indexes);
  checkpoint_job_ = job.id;
  worker_.submit(std::move(job));
}

void LogFlusher::checkpoint_done(storage::SyncJob& job) {
  if (!job.status) return fail("recovery point checkpoint: " + job.status.error().message);
  if (disk_failed_) return;
  // The job gives its texts back: what the next checkpoint compares with.
  for (size_t i = 0; i < kCheckpointFiles && i < job.writes.size(); ++i)
    last_checkpoint_[i] = std::move(job.writes[i].body);
  if (!state_.logs) return;
  for (const auto& synced : checkpoint_indexes_) {
    // Not a log of the same name created since (its files were not synced).
    auto* log = state_.logs->find_open(synced.topic, synced.partition);
    if (log == synced.log) log->mark_indexes_synced(synced.recovery_point, synced.rolls);
  }
  checkpoint_indexes_.clear();
}

// Running short of descriptors is not a failed disk: the job (its files
// and writes as they were) goes again a little later, and what waits for it
// keeps waiting. False when it was tried too often already.
bool LogFlusher::retry_later(storage::SyncJob& job) {
  int& attempts = retries_[job.id];
  if (++attempts > kMaxRetries) return false;
  if (attempts == 1)
    spdlog::warn("{}; trying again every {} ms", job.status.error().message, kRetryDelay.count());
  job.status = {};
  to_retry_.push_back(std::move(job));
  if (retry_timer_ == 0)
    retry_timer_ = loop_.run_after(kRetryDelay, [this] {
      retry_timer_ = 0;
      resubmit_retries();
    });
  return true;
}

void LogFlusher::resubmit_retries() {
  std::vector<storage::SyncJob> jobs = std::move(to_retry_);
  to_retry_.clear();
  for (auto& job : jobs) worker_.submit(std::move(job));
}

void LogFlusher::release_quiet_reservations() {
  if (quiet_walk_timer_ != 0) return;  // the last walk is still under way
  if (state_.metadata_log) state_.metadata_log->release_reservation_if_quiet(kQuietMs);
  quiet_walk_last_.reset();
  continue_quiet_walk();
}

// A slice of open logs per loop turn: with hundreds of thousands of them one
// walk would hold the loop for milliseconds.
void LogFlusher::continue_quiet_walk() {
  quiet_walk_timer_ = 0;
  if (!state_.logs) return;
  size_t visited = 0;
  const bool finished = state_.logs->for_each_open_after(
      quiet_walk_last_,
      [&](const std::string& topic, int32_t partition, storage::PartitionLog& log) {
        log.release_reservation_if_quiet(kQuietMs);
        if (++visited < kQuietLogsPerTurn) return true;
        quiet_walk_last_ = cluster::PartitionLogs::Key{topic, partition};  // resume after it
        return false;
      });
  if (!finished)
    quiet_walk_timer_ =
        loop_.run_after(std::chrono::milliseconds(0), [this] { continue_quiet_walk(); });
}

void LogFlusher::fail(const std::string& what) {
  if (disk_failed_) return;
  disk_failed_ = true;
  spdlog::critical("log directory failed: {}", what);
  if (on_disk_failure_) on_disk_failure_(what);
}

void LogFlusher::finish() {
  for (;;) {
    submit_pending();
    if (jobs_.empty() && checkpoint_job_ == 0 && pending_.empty()) return;
    if (!to_retry_.empty()) {
      // The loop no longer runs the retry timer.
      std::this_thread::sleep_for(kRetryDelay);
      if (retry_timer_ != 0) loop_.cancel(retry_timer_);
      retry_timer_ = 0;
      resubmit_retries();
    }
    worker_.wait_idle();
    apply_completions();
  }
}

}  // namespace kb::broker
