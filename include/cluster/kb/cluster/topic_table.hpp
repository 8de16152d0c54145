#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

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

 private:
  std::map<std::string, TopicInfo, std::less<>> by_name_;
  // Ordered, not hashed: a hash table grown past its buckets moves every
  // entry in one go (25 ms at 200,000 topics, in one loop turn); a tree
  // never does, and a lookup costs what the lookup by name after it does.
  std::map<Uuid, std::string> name_by_id_;
  // Names holding '.' or '_' by their folded form ('.' -> '_'), as Kafka's
  // topicsWithCollisionChars: only those can collide with another name.
  std::multimap<std::string, std::string, std::less<>> by_folded_name_;
  void index_folded(const std::string& name);
  void unindex_folded(const std::string& name);
};

// `name` with every '.' as '_'.
std::string fold_collision_chars(std::string_view name);

}  // namespace kb::cluster
