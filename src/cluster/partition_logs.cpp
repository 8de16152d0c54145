#include "kb/cluster/partition_logs.hpp"

#include "kb/cluster/topic_admin.hpp"

namespace kb::cluster {

storage::Result<storage::PartitionLog*> PartitionLogs::find(std::string_view topic,
                                                            int32_t partition) {
  Key key{std::string(topic), partition};
  if (auto it = open_.find(key); it != open_.end()) return it->second.get();
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
  else if (!clean_shutdown_ && !recovery_points_.empty())
    hint.recovery_point = 0;  // not in the checkpoint: Kafka recovers the whole log
  auto opened = storage::PartitionLog::open(dir, options_for(topic), hint);
  if (!opened) return opened.error();
  auto* log = opened->get();
  open_.emplace(std::move(key), std::move(opened.value()));
  return log;
}

storage::Result<storage::PartitionLog*> PartitionLogs::find_or_create(std::string_view topic,
                                                                      int32_t partition,
                                                                      const wire::Uuid& topic_id) {
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
  storage::OffsetCheckpoint out = recovery_points_;
  for (const auto& [key, log] : open_) out[key] = log->recovery_point();
  return out;
}

void PartitionLogs::close(std::string_view topic, int32_t partition) {
  open_.erase(Key{std::string(topic), partition});
  recovery_points_.erase(Key{std::string(topic), partition});
}

}  // namespace kb::cluster
