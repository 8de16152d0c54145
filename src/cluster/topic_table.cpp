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

void TopicTable::index_folded(std::string_view name) {
  if (!has_collision_chars(name)) return;
  std::string folded = fold_collision_chars(name);
  if (auto* names = by_folded_name_.find(folded))
    names->push_back(name);
  else
    by_folded_name_.insert_or_assign(folded, {name});
}

void TopicTable::unindex_folded(std::string_view name) {
  if (!has_collision_chars(name)) return;
  const std::string folded = fold_collision_chars(name);
  auto* names = by_folded_name_.find(folded);
  if (names == nullptr) return;
  std::erase(*names, name);
  if (names->empty()) by_folded_name_.erase(folded);
}

const TopicInfo* TopicTable::find_colliding(std::string_view name) const {
  if (!has_collision_chars(name)) return nullptr;
  const auto* names = by_folded_name_.find(fold_collision_chars(name));
  if (names == nullptr) return nullptr;
  for (std::string_view other : *names)
    if (other != name) return find(other);
  return nullptr;
}

void TopicTable::erase_topic(Topics::iterator it) {
  // The indexes first: their keys view the node's name.
  unindex_folded(it->first);
  by_name_index_.erase(it->first);
  by_id_.erase(it->second.id);
  by_name_.erase(it);
  ++removals_;
}

void TopicTable::add_topic(std::string name, const Uuid& id) {
  if (auto old = by_id_.find(id); old != by_id_.end() && old->second->name != name)
    erase_topic(by_name_.find(old->second->name));
  if (TopicInfo* const* existing = by_name_index_.find(name)) {
    // The same name again (with a new id, or replayed): the entry is reset in
    // place, so the name indexes stay as they are.
    TopicInfo& t = **existing;
    by_id_.erase(t.id);
    t.partitions.clear();
    t.id = id;
    by_id_[id] = &t;
    ++removals_;
    return;
  }
  auto [it, inserted] = by_name_.try_emplace(name);
  TopicInfo& t = it->second;
  t.name = std::move(name);
  t.id = id;
  by_name_index_.insert_or_assign(it->first, &t);
  by_id_[id] = &t;
  index_folded(it->first);
}

bool TopicTable::set_partition(const Uuid& topic_id, PartitionInfo partition) {
  auto it = by_id_.find(topic_id);
  if (it == by_id_.end()) return false;
  auto& parts = it->second->partitions;
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
  auto it = by_id_.find(topic_id);
  if (it == by_id_.end()) return nullptr;
  return const_cast<PartitionInfo*>(it->second->partition(index));
}

bool TopicTable::remove_topic(const Uuid& topic_id) {
  auto it = by_id_.find(topic_id);
  if (it == by_id_.end()) return false;
  erase_topic(by_name_.find(it->second->name));
  return true;
}

const TopicInfo* TopicTable::find(std::string_view name) const {
  TopicInfo* const* topic = by_name_index_.find(name);
  return topic ? *topic : nullptr;
}

const TopicInfo* TopicTable::find(const Uuid& id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second;
}

}  // namespace kb::cluster
