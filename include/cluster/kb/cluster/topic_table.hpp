#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "kb/base/incremental_hash_map.hpp"
#include "kb/wire/uuid.hpp"

namespace kb::cluster {

using wire::Uuid;

struct UuidHash {
  size_t operator()(const Uuid& u) const noexcept {
    uint64_t a = 0, b = 0;
    for (int i = 0; i < 8; ++i) a = (a << 8) | u.bytes[static_cast<size_t>(i)];
    for (int i = 8; i < 16; ++i) b = (b << 8) | u.bytes[static_cast<size_t>(i)];
    return std::hash<uint64_t>{}(a ^ (b * 0x9e3779b97f4a7c15ULL));
  }
};

// What the metadata log says about one partition.
struct PartitionInfo {
  int32_t partition_index = 0;
  int32_t leader = -1;
  int32_t leader_epoch = 0;
  int32_t partition_epoch = 0;
  std::vector<int32_t> replicas;
  std::vector<int32_t> isr;
  std::vector<int32_t> removing_replicas;
  std::vector<int32_t> adding_replicas;
  std::vector<int32_t> eligible_leader_replicas;
  std::vector<int32_t> last_known_elr;
  std::vector<int32_t> offline_replicas;
  std::vector<Uuid> directories;
};

struct TopicInfo {
  std::string name;
  Uuid id;
  std::vector<PartitionInfo> partitions;  // ascending partition index

  bool is_internal() const {
    return name == "__consumer_offsets" || name == "__transaction_state" ||
           name == "__share_group_state";
  }
  const PartitionInfo* partition(int32_t index) const;
};

// Topics by name (sorted, for listings and paging) and by id.
class TopicTable {
 public:
  TopicTable() = default;
  TopicTable(const TopicTable&) = delete;  // the indexes point into the topics
  TopicTable& operator=(const TopicTable&) = delete;
  TopicTable(TopicTable&&) = default;  // map nodes keep their addresses
  TopicTable& operator=(TopicTable&&) = default;

  // Adds a topic (a TopicRecord). A name or id seen before replaces the old one.
  void add_topic(std::string name, const Uuid& id);
  // Sets a partition of a known topic (a PartitionRecord); false when the
  // topic id is unknown.
  bool set_partition(const Uuid& topic_id, PartitionInfo partition);
  // For PartitionChangeRecord: the partition to update, or nullptr.
  PartitionInfo* mutable_partition(const Uuid& topic_id, int32_t index);
  bool remove_topic(const Uuid& topic_id);

  const TopicInfo* find(std::string_view name) const;
  const TopicInfo* find(const Uuid& id) const;
  // A topic whose name differs from `name` but equals it once '.' and '_'
  // are taken as the same character (Kafka refuses such pairs), or nullptr.
  // A lookup, not a scan: creating many topics stays linear.
  const TopicInfo* find_colliding(std::string_view name) const;
  size_t size() const { return by_name_.size(); }
  const std::map<std::string, TopicInfo, std::less<>>& topics() const { return by_name_; }
  // How many topics were removed or replaced so far: a TopicInfo pointer a
  // caller kept is still the topic it found while this has not changed.
  uint64_t removals() const { return removals_; }

 private:
  using Topics = std::map<std::string, TopicInfo, std::less<>>;
  // The topics, sorted by name: listings, paging and the scans that resume
  // after a name walk this.
  Topics by_name_;
  // Lookups by name go through a hash index (keys view by_name_'s keys): a
  // lookup in the tree compared the name with about twenty others, and in
  // floods of new topics these compares were a quarter of the loop's time.
  // It grows a few buckets per insert, never with one long rehash.
  base::IncrementalHashMap<std::string_view, TopicInfo*> by_name_index_;
  // Ordered, not hashed: it never rehashes, and compares 16 bytes a step.
  std::map<Uuid, TopicInfo*> by_id_;
  // Names holding '.' or '_' by their folded form ('.' -> '_'), as Kafka's
  // topicsWithCollisionChars: only those can collide with another name.
  base::IncrementalHashMap<std::string, std::vector<std::string_view>> by_folded_name_;
  uint64_t removals_ = 0;

  void index_folded(std::string_view name);
  void unindex_folded(std::string_view name);
  void erase_topic(Topics::iterator it);
};

// `name` with every '.' as '_'.
std::string fold_collision_chars(std::string_view name);

}  // namespace kb::cluster
