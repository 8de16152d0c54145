#include "kb/cluster/partition_logs.hpp"

#include <chrono>
#include <limits>

#include <spdlog/spdlog.h>

#include "kb/cluster/topic_admin.hpp"

namespace kb::cluster {

storage::Result<storage::PartitionLog*> PartitionLogs::find(std::string_view topic,
                                                            int32_t partition) {
  Key key{std::string(topic), partition};
  if (auto it = open_.find(key); it != open_.end()) return it->second.get();
  // Being created: no data yet, and its directory is the creator's.
  if (creator_ && creator_->pending(topic, partition))
    return static_cast<storage::PartitionLog*>(nullptr);
  // Every caller checked the name already; this keeps any path that forgot
  // from reaching outside the log directory.
  if (std::string problem = topic_name_problem(topic); !problem.empty())
    return storage::Error{"invalid topic name: " + problem};
  auto dir = log_dir_ / storage::partition_dir_name(topic, partition);
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return static_cast<storage::PartitionLog*>(nullptr);
  storage::RecoveryHint hint;
  hint.clean_shutdown = clean_shutdown_;
  if (auto rp = recovery_points_.find(key); rp != recovery_points_.end())
    hint.recovery_point = rp->second;
  else if (!clean_shutdown_)
    hint.recovery_point = 0;  // not in the checkpoint (or none): Kafka recovers the whole log
  auto opened = storage::PartitionLog::open(dir, options_for(topic), hint);
  if (!opened) return opened.error();
  auto* log = opened->get();
  // The log may start inside its first segment (DeleteRecords), and segments
  // wholly below the start whose deletion a crash kept from the disk go now.
  if (auto start = log_start_offsets_.find(key); start != log_start_offsets_.end())
    if (auto moved = log->advance_log_start_offset(start->second); !moved) return moved.error();
  open_.emplace(std::move(key), std::move(opened.value()));
  forget_unopened(topic, partition);
  if (!clean_shutdown_) note_recovered(*log);
  return log;
}

void PartitionLogs::note_recovered(const storage::PartitionLog& log) {
  // After a crash every log is recovered as it is first opened: when many
  // are (a consumer of thousands of partitions), a line every few seconds
  // says how far it got.
  constexpr size_t kMany = 100;
  constexpr auto kEvery = std::chrono::seconds(3);
  ++recovered_.logs;
  recovered_.bytes += log.size_bytes();
  const auto now = std::chrono::steady_clock::now();
  if (recovered_.logs == 1) recovered_.since = recovered_.last_line = now;
  if (recovered_.logs < kMany || (recovered_.logs > kMany && now - recovered_.last_line < kEvery))
    return;
  recovered_.last_line = now;
  const double seconds = std::chrono::duration<double>(now - recovered_.since).count();
  spdlog::info(
      "recovering partition logs as they are first opened (no clean shutdown): {} recovered, "
      "{:.3f} MiB, {:.0f}/s since the first",
      recovered_.logs, static_cast<double>(recovered_.bytes) / (1024.0 * 1024.0),
      seconds > 0 ? static_cast<double>(recovered_.logs) / seconds : 0.0);
}

storage::Result<storage::PartitionLog*> PartitionLogs::find_or_create(std::string_view topic,
                                                                      int32_t partition,
                                                                      const wire::Uuid& topic_id) {
  if (creator_) {
    // Taken back before a thread reached it: done here as it was asked.
    auto taken = creator_->claim(topic, partition);
    if (taken && taken->replace_existing) {
      const auto dir = log_dir_ / storage::partition_dir_name(topic, partition);
      auto moved = storage::move_partition_dir_aside(dir, "stray");
      if (!moved.empty())
        spdlog::warn("{} belonged to an earlier topic; moved to {}", dir.string(), moved.string());
    }
  }
  auto found = find(topic, partition);
  if (!found || *found != nullptr) return found;
  auto created =
      storage::PartitionLog::create(log_dir_, topic, partition, topic_id, options_for(topic));
  if (!created) return created.error();
  auto* log = created->get();
  open_.emplace(Key{std::string(topic), partition}, std::move(created.value()));
  return log;
}

storage::PartitionLog* PartitionLogs::find_open(std::string_view topic, int32_t partition) const {
  auto it = open_.find(Key{std::string(topic), partition});
  return it == open_.end() ? nullptr : it->second.get();
}

storage::OffsetCheckpoint PartitionLogs::recovery_points() const {
  storage::OffsetCheckpoint out;
  walk_checkpoint(std::nullopt, [&out](const CheckpointEntry& e) {
    if (e.recovery_point) out.emplace_hint(out.end(), Key{e.topic, e.partition}, *e.recovery_point);
    return true;
  });
  return out;
}

storage::OffsetCheckpoint PartitionLogs::high_watermarks() const {
  storage::OffsetCheckpoint out;
  walk_checkpoint(std::nullopt, [&out](const CheckpointEntry& e) {
    if (e.high_watermark) out.emplace_hint(out.end(), Key{e.topic, e.partition}, *e.high_watermark);
    return true;
  });
  return out;
}

storage::OffsetCheckpoint PartitionLogs::log_start_offsets() const {
  storage::OffsetCheckpoint out;
  walk_checkpoint(std::nullopt, [&out](const CheckpointEntry& e) {
    if (e.log_start_offset)
      out.emplace_hint(out.end(), Key{e.topic, e.partition}, *e.log_start_offset);
    return true;
  });
  return out;
}

void PartitionLogs::refresh_topic_options(std::string_view topic) {
  const storage::PartitionLogOptions options = options_for(topic);
  for (auto it = open_.lower_bound(Key{std::string(topic), std::numeric_limits<int32_t>::min()});
       it != open_.end() && it->first.first == topic; ++it)
    it->second->set_options(options);
}

void PartitionLogs::refresh_all_options() {
  for (auto& [key, log] : open_) log->set_options(options_for(key.first));
}

uint64_t PartitionLogs::create_dirs(std::string_view topic, const wire::Uuid& topic_id,
                                    const std::vector<int32_t>& partitions) {
  std::vector<storage::NewPartition> batch;
  batch.reserve(partitions.size());
  for (int32_t p : partitions) batch.push_back({std::string(topic), p, topic_id});
  return create_dirs(std::move(batch));
}

uint64_t PartitionLogs::create_dirs(std::vector<storage::NewPartition> partitions) {
  if (creator_) return creator_->submit(std::move(partitions));
  for (const auto& p : partitions)
    if (auto created = storage::create_partition_files(log_dir_, p); !created)
      spdlog::error("creating {}: {} (created again on first use)",
                    storage::partition_dir_name(p.topic, p.partition), created.error().message);
  if (auto synced = storage::sync_directory(log_dir_); !synced)
    spdlog::error("{}", synced.error().message);
  return 0;
}

void PartitionLogs::remove_dirs(std::vector<std::filesystem::path> dirs) {
  if (creator_) return creator_->remove_later(std::move(dirs));
  for (const auto& dir : dirs) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    if (ec)
      spdlog::error("cannot remove {}: {} (removed at the next start)", dir.string(), ec.message());
  }
}

storage::Status PartitionLogs::write_deferred() {
  storage::Status first;
  for (storage::PartitionLog* log : deferred_)
    if (storage::Status written = log->write_deferred(); !written && first) first = written;
  deferred_.clear();
  return first;
}

void PartitionLogs::close(std::string_view topic, int32_t partition) {
  if (creator_) creator_->claim(topic, partition);
  if (auto it = open_.find(Key{std::string(topic), partition}); it != open_.end())
    std::erase(deferred_, it->second.get());  // its destructor writes them
  open_.erase(Key{std::string(topic), partition});
  recovery_points_.erase(Key{std::string(topic), partition});
  log_start_offsets_.erase(Key{std::string(topic), partition});
  forget_unopened(topic, partition);
  ++closes_;
}

storage::PartitionSummaryHint PartitionLogs::summary_hint(const Key& key) const {
  storage::PartitionSummaryHint hint;
  hint.clean_shutdown = clean_shutdown_;
  if (auto rp = recovery_points_.find(key); rp != recovery_points_.end())
    hint.recovery_point = rp->second;
  if (auto start = log_start_offsets_.find(key); start != log_start_offsets_.end())
    hint.log_start_offset = start->second;
  return hint;
}

void PartitionLogs::set_unopened_summary(std::string_view topic, int32_t partition,
                                         const storage::PartitionSummary& summary) {
  if (find_open(topic, partition) != nullptr) return;
  auto it = unopened_.find(topic);
  if (it == unopened_.end())
    it = unopened_.emplace(std::string(topic), decltype(it->second){}).first;
  it->second[partition] = summary;
}

const storage::PartitionSummary* PartitionLogs::find_unopened(std::string_view topic,
                                                              int32_t partition) const {
  auto it = unopened_.find(topic);
  if (it == unopened_.end()) return nullptr;
  auto p = it->second.find(partition);
  return p == it->second.end() ? nullptr : &p->second;
}

void PartitionLogs::forget_unopened(std::string_view topic, int32_t partition) {
  auto it = unopened_.find(topic);
  if (it == unopened_.end()) return;
  it->second.erase(partition);
  if (it->second.empty()) unopened_.erase(it);
}

bool PartitionLogs::walk_checkpoint(
    const std::optional<Key>& after,
    const std::function<bool(const CheckpointEntry&)>& visit) const {
  // A merge of the open logs and the two files' entries read at start-up,
  // all three ordered by (topic, partition).
  auto open = after ? open_.upper_bound(*after) : open_.begin();
  auto points = after ? recovery_points_.upper_bound(*after) : recovery_points_.begin();
  auto starts = after ? log_start_offsets_.upper_bound(*after) : log_start_offsets_.begin();
  for (;;) {
    const Key* key = nullptr;
    auto take_lowest = [&key](const Key& candidate) {
      if (key == nullptr || candidate < *key) key = &candidate;
    };
    if (open != open_.end()) take_lowest(open->first);
    if (points != recovery_points_.end()) take_lowest(points->first);
    if (starts != log_start_offsets_.end()) take_lowest(starts->first);
    if (key == nullptr) return true;
    const bool in_open = open != open_.end() && open->first == *key;
    const bool in_points = points != recovery_points_.end() && points->first == *key;
    const bool in_starts = starts != log_start_offsets_.end() && starts->first == *key;
    CheckpointEntry entry{key->first,   key->second,  nullptr,
                          std::nullopt, std::nullopt, std::nullopt};
    if (in_open) {
      storage::PartitionLog& log = *open->second;
      entry.log = &log;
      entry.recovery_point = log.recovery_point();
      entry.high_watermark = log.log_end_offset();
      if (log.log_start_offset() > 0) entry.log_start_offset = log.log_start_offset();
    } else {
      if (in_points) entry.recovery_point = entry.high_watermark = points->second;
      if (in_starts) entry.log_start_offset = starts->second;
    }
    const bool more = visit(entry);
    if (in_open) ++open;
    if (in_points) ++points;
    if (in_starts) ++starts;
    if (!more) return false;
  }
}

}  // namespace kb::cluster
