#include "kb/cluster/topic_table.hpp"

#include <algorithm>

namespace kb::cluster {

const PartitionInfo* TopicInfo::partition(int32_t index) const {
  auto it =
      std::lower_bound(partitions.begin(), partitions.end(), index,
                       [](const PartitionInfo& p, int32_t i) { return p.partition_index < i; });
  return it != partitions.end() && it->partition_index == index ? &*it : nullptr;
}

std::string fold_collision_chars(std::string_view name) {
  std::string out(name);
  std::replace(out.begin(), out.end(), '.', '_');
  return out;
}

namespace {
bool has_collision_chars(std::string_view name) {
  return name.find_first_of("._") != std::string_view::npos;
}
}  // namespace

void TopicTable::index_folded(const std::string& name) {
  if (has_collision_chars(name)) by_folded_name_.emplace(fold_collision_chars(name), name);
}

void TopicTable::unindex_folded(const std::string& name) {
  if (!has_collision_chars(name)) return;
  auto [first, last] = by_folded_name_.equal_range(fold_collision_chars(name));
  for (auto it = first; it != last; ++it)
    if (it->second == name) {
      by_folded_name_.erase(it);
      return;
    }
}

const TopicInfo* TopicTable::find_colliding(std::string_view name) const {
  if (!has_collision_chars(name)) return nullptr;
  auto [first, last] = by_folded_name_.equal_range(fold_collision_chars(name));
  for (auto it = first; it != last; ++it)
    if (it->second != name) return find(it->second);
  return nullptr;
}

void TopicTable::add_topic(std::string name, const Uuid& id) {
  if (auto old = name_by_id_.find(id); old != name_by_id_.end()) {
    unindex_folded(old->second);
    by_name_.erase(old->second);
  }
  if (auto old = by_name_.find(name); old != by_name_.end()) {
    name_by_id_.erase(old->second.id);
    unindex_folded(name);
  }
  name_by_id_[id] = name;
  index_folded(name);
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
  unindex_folded(it->second);
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
