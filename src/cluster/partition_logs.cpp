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
  auto opened = storage::PartitionLog::open(dir, options_);
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
  auto created = storage::PartitionLog::create(log_dir_, topic, partition, topic_id, options_);
  if (!created) return created.error();
  auto* log = created->get();
  open_.emplace(Key{std::string(topic), partition}, std::move(created.value()));
  return log;
}

void PartitionLogs::close(std::string_view topic, int32_t partition) {
  open_.erase(Key{std::string(topic), partition});
}

}  // namespace kb::cluster
