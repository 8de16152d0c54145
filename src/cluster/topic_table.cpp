#include "kb/cluster/topic_table.hpp"

#include <algorithm>

namespace kb::cluster {

const PartitionInfo* TopicInfo::partition(int32_t index) const {
  auto it =
      std::lower_bound(partitions.begin(), partitions.end(), index,
                       [](const PartitionInfo& p, int32_t i) { return p.partition_index < i; });
  return it != partitions.end() && it->partition_index == index ? &*it : nullptr;
}

void TopicTable::add_topic(std::string name, const Uuid& id) {
  if (auto old = name_by_id_.find(id); old != name_by_id_.end()) by_name_.erase(old->second);
  if (auto old = by_name_.find(name); old != by_name_.end()) name_by_id_.erase(old->second.id);
  name_by_id_[id] = name;
  TopicInfo& t = by_name_[name];
  t = TopicInfo{};
  t.name = std::move(name);
  t.id = id;
}

bool TopicTable::set_partition(const Uuid& topic_id, PartitionInfo partition) {
  auto it = name_by_id_.find(topic_id);
  if (it == name_by_id_.end()) return false;
  auto& parts = by_name_.find(it->second)->second.partitions;
  auto at =
      std::lower_bound(parts.begin(), parts.end(), partition.partition_index,
                       [](const PartitionInfo& p, int32_t i) { return p.partition_index < i; });
  if (at != parts.end() && at->partition_index == partition.partition_index)
    *at = std::move(partition);
  else
    parts.insert(at, std::move(partition));
  return true;
}

PartitionInfo* TopicTable::mutable_partition(const Uuid& topic_id, int32_t index) {
  auto it = name_by_id_.find(topic_id);
  if (it == name_by_id_.end()) return nullptr;
  TopicInfo& t = by_name_.find(it->second)->second;
  return const_cast<PartitionInfo*>(t.partition(index));
}

bool TopicTable::remove_topic(const Uuid& topic_id) {
  auto it = name_by_id_.find(topic_id);
  if (it == name_by_id_.end()) return false;
  by_name_.erase(it->second);
  name_by_id_.erase(it);
  return true;
}

const TopicInfo* TopicTable::find(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &it->second;
}

const TopicInfo* TopicTable::find(const Uuid& id) const {
  auto it = name_by_id_.find(id);
  return it == name_by_id_.end() ? nullptr : find(it->second);
}

}  // namespace kb::cluster
