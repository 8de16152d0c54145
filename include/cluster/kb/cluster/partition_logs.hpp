#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kb/storage/offset_checkpoint.hpp"
#include "kb/storage/partition_creator.hpp"
#include "kb/storage/partition_log.hpp"
#include "kb/storage/result.hpp"
#include "kb/storage/segment_check.hpp"

namespace kb::cluster {

// The partition logs of one log directory, opened on first use so that
// start-up stays fast with many partitions.
class PartitionLogs {
 public:
  PartitionLogs(std::filesystem::path log_dir, storage::PartitionLogOptions options)
      : log_dir_(std::move(log_dir)), options_(std::move(options)) {}

  // What start-up read from the log directory: whether the last shutdown was
  // clean, and recovery-point-offset-checkpoint. Logs opened later (on first
  // use) are recovered accordingly.
  void set_recovery_state(bool clean_shutdown, storage::OffsetCheckpoint recovery_points) {
    clean_shutdown_ = clean_shutdown;
    recovery_points_ = std::move(recovery_points);
  }

  // log-start-offset-checkpoint: a log opened later starts there (possibly
  // inside its first segment), and segments wholly below it (their deletion
  // did not reach the disk) are deleted.
  void set_log_start_offsets(storage::OffsetCheckpoint offsets) {
    log_start_offsets_ = std::move(offsets);
  }

  const std::filesystem::path& log_dir() const { return log_dir_; }
  // Options for one topic's logs opened from now on (e.g. the offsets topic's
  // smaller segments).
  void set_topic_options(std::string topic, storage::PartitionLogOptions options) {
    topic_options_[std::move(topic)] = std::move(options);
  }

  // Settings from a topic's own configs (segment.bytes, segment.ms) on top of
  // the options above: for logs opened from now on, and for open ones when
  // refresh_topic_options is called (the topic's configs changed).
  using OptionsOverride = std::function<storage::PartitionLogOptions(
      std::string_view topic, storage::PartitionLogOptions options)>;
  void set_options_override(OptionsOverride override) { override_ = std::move(override); }
  void refresh_topic_options(std::string_view topic);
  // The same for every open log (a broker-wide default changed).
  void refresh_all_options();

  // The open log, or nullptr when its directory does not exist (a topic known
  // from the metadata log whose partition holds no data yet). An error when
  // the directory exists but cannot be opened.
  storage::Result<storage::PartitionLog*> find(std::string_view topic, int32_t partition);

  // Opens the log, creating its directory and first segment when missing.
  storage::Result<storage::PartitionLog*> find_or_create(std::string_view topic, int32_t partition,
                                                         const wire::Uuid& topic_id);

  // Helper threads that create new partitions' directories (create_dirs);
  // without, create_dirs works here and now.
  void set_creator(std::unique_ptr<storage::PartitionCreator> creator) {
    creator_ = std::move(creator);
  }
  storage::PartitionCreator* creator() const { return creator_.get(); }

  // Creates the directories of new partitions of a topic (files as a new
  // replica starts with), with one sync of the log directory for all. With a
  // creator, on its threads: returns its ticket (creator()->done(ticket) once
  // they exist); until then a partition reads as one without data (find()
  // gives nullptr) and find_or_create takes it over. Without, here and now:
  // returns 0. A partition that cannot be created is logged: it is created
  // again on first use.
  uint64_t create_dirs(std::string_view topic, const wire::Uuid& topic_id,
                       const std::vector<int32_t>& partitions);
  // The same for partitions of any topics, in one batch (one ticket, one
  // sync of the log directory); see NewPartition::replace_existing.
  uint64_t create_dirs(std::vector<storage::NewPartition> partitions);
  // Removes directories (renamed aside already) on the creator's threads,
  // or here and now without one.
  void remove_dirs(std::vector<std::filesystem::path> dirs);

  // Forgets an open log (the topic was deleted); a creation still pending for
  // it is taken back first, so that the caller may move its directory.
  void close(std::string_view topic, int32_t partition);

  // Logs appended to with AppendWrite::deferred, until write_deferred()
  // writes them all (before the appends are answered).
  void note_deferred(storage::PartitionLog& log) {
    if (log.has_deferred_writes()) deferred_.push_back(&log);
  }
  storage::Status write_deferred();
  size_t open_count() const { return open_.size(); }
  // The open log, or nullptr (never opens one).
  storage::PartitionLog* find_open(std::string_view topic, int32_t partition) const;
  template <class F>  // F(const std::string& topic, int32_t partition, PartitionLog&)
  void for_each_open(F&& f) const {
    for (const auto& [key, log] : open_) f(key.first, key.second, *log);
  }
  // The open logs after `after` (from the first without it) in order, until
  // `f` returns false: false then, true once the last one was visited.
  template <class F>  // bool F(const std::string& topic, int32_t partition, PartitionLog&)
  bool for_each_open_after(const std::optional<std::pair<std::string, int32_t>>& after,
                           F&& f) const {
    for (auto it = after ? open_.upper_bound(*after) : open_.begin(); it != open_.end(); ++it)
      if (!f(it->first.first, it->first.second, *it->second)) return false;
    return true;
  }

  // Recovery points for the checkpoint file: each open log's, and for logs
  // not opened since start-up, what the file said.
  storage::OffsetCheckpoint recovery_points() const;
  // High watermarks for replication-offset-checkpoint, where Kafka starts
  // each partition's high watermark (without it, at the log start offset: a
  // consumer sees no record until the leader moves it): each open log's end
  // (one replica: everything appended is committed), and for logs not opened
  // since start-up their recovery point (the log end after a clean shutdown,
  // at most the log end otherwise; Kafka's leader raises a lower one).
  storage::OffsetCheckpoint high_watermarks() const;
  // Log start offsets for log-start-offset-checkpoint: every log that no
  // longer starts at 0 (retention deleted its first segments, or DeleteRecords
  // moved its start).
  storage::OffsetCheckpoint log_start_offsets() const;

  // The three functions above, one partition at a time, so that a walk over
  // many partitions can be spread over loop turns: `log` is the open log
  // (null when not opened since start-up), and each value is absent when
  // that file has no entry for the partition.
  struct CheckpointEntry {
    const std::string& topic;
    int32_t partition = 0;
    storage::PartitionLog* log = nullptr;
    std::optional<int64_t> recovery_point;
    std::optional<int64_t> log_start_offset;
    std::optional<int64_t> high_watermark;
  };
  using Key = std::pair<std::string, int32_t>;
  // Visits the partitions after `after` (from the first without it) in the
  // files' order until `visit` returns false: false then, true once the last
  // one was visited.
  bool walk_checkpoint(const std::optional<Key>& after,
                       const std::function<bool(const CheckpointEntry&)>& visit) const;
  // What start-up knows of a partition's log without opening it, for a
  // summary of it read on a helper thread (storage::summarize_partition_dir).
  storage::PartitionSummaryHint summary_hint(const Key& key) const;
  // Gauges of logs not opened since start-up: the summary of one (ignored
  // when its log is open by now), and the one kept, or nullptr. Opening or
  // closing the log drops it.
  void set_unopened_summary(std::string_view topic, int32_t partition,
                            const storage::PartitionSummary& summary);
  const storage::PartitionSummary* find_unopened(std::string_view topic, int32_t partition) const;

  // How many logs close() forgot so far: a walk during which this moved may
  // hold an entry of a partition deleted and then created again.
  uint64_t closes() const { return closes_; }

 private:
  std::filesystem::path log_dir_;
  storage::PartitionLogOptions options_;
  std::map<std::string, storage::PartitionLogOptions, std::less<>> topic_options_;
  storage::PartitionLogOptions options_for(std::string_view topic) const {
    auto it = topic_options_.find(topic);
    const storage::PartitionLogOptions& base = it == topic_options_.end() ? options_ : it->second;
    storage::PartitionLogOptions options = override_ ? override_(topic, base) : base;
    // Every log of the directory shares one file budget, one count of
    // reserved space and one file remover, whatever its topic's options.
    options.file_cache = options_.file_cache;
    options.disk_space = options_.disk_space;
    options.file_remover = options_.file_remover;
    return options;
  }
  OptionsOverride override_;
  storage::OffsetCheckpoint log_start_offsets_;
  std::map<Key, std::unique_ptr<storage::PartitionLog>, std::less<>> open_;
  std::vector<storage::PartitionLog*> deferred_;  // open logs (close() removes theirs)
  bool clean_shutdown_ = false;
  storage::OffsetCheckpoint recovery_points_;
  std::unique_ptr<storage::PartitionCreator> creator_;
  uint64_t closes_ = 0;
  std::map<std::string, std::map<int32_t, storage::PartitionSummary>, std::less<>> unopened_;
  void forget_unopened(std::string_view topic, int32_t partition);
  // Logs recovered on first open since start-up (after an unclean shutdown).
  struct Recovered {
    size_t logs = 0;
    uint64_t bytes = 0;
    std::chrono::steady_clock::time_point since;
    std::chrono::steady_clock::time_point last_line;
  };
  Recovered recovered_;
  void note_recovered(const storage::PartitionLog& log);
};

}  // namespace kb::cluster
