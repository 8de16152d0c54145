#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "kb/group/coordinator.hpp"
#include "kb/group/records.hpp"

namespace kb::group::test {

// What the group tests share. MemoryStore keeps what the coordinator writes, per partition, like
// __consumer_offsets; `fail` makes every append fail.
class MemoryStore final : public GroupStore {
 public:
  bool ready() override { return true; }
  bool append(int32_t partition, std::span<const CoordinatorRecord> records) override {
    if (fail) return false;
    for (const auto& r : records) log[partition].push_back(r);
    return true;
  }
  std::map<int32_t, std::vector<CoordinatorRecord>> log;
  bool fail = false;
};

// A coordinator rebuilt from what `store` holds, as start-up replays
// __consumer_offsets: every record must be one it uses.
inline std::unique_ptr<GroupCoordinator> replayed(MemoryStore& store, GroupConfig config = {}) {
  auto coordinator = std::make_unique<GroupCoordinator>(std::move(config), &store);
  for (const auto& [partition, records] : store.log)
    for (const auto& r : records) {
      std::optional<std::span<const uint8_t>> value;
      if (r.value) value = std::span<const uint8_t>(*r.value);
      EXPECT_EQ(coordinator->load(r.key, value), GroupCoordinator::Loaded::kUsed);
    }
  coordinator->finish_load(0);
  return coordinator;
}

// A topic id whose last byte is `n`.
inline wire::Uuid topic_id(uint8_t n) {
  wire::Uuid id;
  id.bytes[15] = n;
  return id;
}

// How many partitions the set holds.
inline size_t count(const TopicPartitionSet& set) {
  size_t n = 0;
  for (const auto& [t, p] : set) n += p.size();
  return n;
}

// The set as a heartbeat's owned partitions.
inline std::vector<ConsumerGroupTopicPartitions> owned_of(const TopicPartitionSet& set) {
  std::vector<ConsumerGroupTopicPartitions> out;
  for (const auto& [t, p] : set) out.push_back({t, std::vector<int32_t>(p.begin(), p.end())});
  return out;
}

}  // namespace kb::group::test
