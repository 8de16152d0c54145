#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <vector>

#include "kb/group/coordinator.hpp"
#include "kb/group/records.hpp"

namespace kb::group::test {

// Keeps what the coordinator writes, per partition, like __consumer_offsets;
// `fail` makes every append fail.
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

}  // namespace kb::group::test
