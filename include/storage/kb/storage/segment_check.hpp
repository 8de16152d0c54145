#pragma once

// Offline checks of a partition directory's segments (kafka-broker check):
// every batch read whole and CRC-checked, offsets increasing within a segment
// and staying below the next segment's base offset. Reads only.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace kb::storage {

struct SegmentCheck {
  std::filesystem::path file;
  int64_t base_offset = 0;
  uint64_t size = 0;
  uint64_t valid_bytes = 0;  // whole, valid batches from the start
  int64_t next_offset = 0;   // after the last valid batch (base_offset when none)
  uint64_t batches = 0;
  std::string problem;  // "<file> at byte <n>: <why>", empty when the segment is sound
};

struct PartitionDirCheck {
  std::vector<SegmentCheck> segments;  // by base offset
  // Where the valid log ends (the last segment's next offset), and the first
  // segment's base.
  int64_t log_start_offset = 0;
  int64_t log_end_offset = 0;
  std::vector<std::string> problems;  // every segment problem, then order problems
};

SegmentCheck check_segment_file(const std::filesystem::path& file, int64_t base_offset);
PartitionDirCheck check_partition_dir(const std::filesystem::path& dir);

}  // namespace kb::storage
