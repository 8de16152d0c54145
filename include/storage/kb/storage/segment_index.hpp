#pragma once

// Kafka's per-segment sparse indexes, next to each <base offset:20>.log:
//   .index      8-byte entries: int32 offset - base offset, int32 file position
//               (big-endian). An entry (o, p) means: the batch (or batches of
//               one append) starting at byte p of the .log ends at offset o.
//   .timeindex  12-byte entries: int64 timestamp, int32 offset - base offset:
//               the largest timestamp so far and the offset where it occurs.
// An entry is added once more than index.interval.bytes were written since the
// previous one. Kafka preallocates the active segment's index files with zeros
// (and trims them on clean shutdown): all-zero entries at the end are not
// entries.

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace kb::storage {

inline constexpr size_t kOffsetIndexEntrySize = 8;
inline constexpr size_t kTimeIndexEntrySize = 12;

struct OffsetPosition {
  int64_t offset = 0;     // absolute
  uint32_t position = 0;  // byte position in the segment's .log
  friend bool operator==(const OffsetPosition&, const OffsetPosition&) = default;
};

struct TimestampOffset {
  int64_t timestamp = -1;
  int64_t offset = -1;  // absolute
  friend bool operator==(const TimestampOffset&, const TimestampOffset&) = default;
};

// Decodes an .index file. nullopt when it cannot be trusted (size not a whole
// number of entries, offsets or positions not strictly increasing, a negative
// relative offset, or a position at/after `log_size`): rebuild it then.
std::optional<std::vector<OffsetPosition>> parse_offset_index(std::span<const uint8_t> bytes,
                                                              int64_t base_offset,
                                                              uint64_t log_size);
// Decodes a .timeindex file; nullopt when it cannot be trusted (size, or
// timestamps/offsets going backwards).
std::optional<std::vector<TimestampOffset>> parse_time_index(std::span<const uint8_t> bytes,
                                                             int64_t base_offset);

void encode_offset_index_entry(const OffsetPosition& entry, int64_t base_offset,
                               uint8_t (&out)[kOffsetIndexEntrySize]);
void encode_time_index_entry(const TimestampOffset& entry, int64_t base_offset,
                             uint8_t (&out)[kTimeIndexEntrySize]);

// The entry with the largest offset <= target (where a scan for `target`
// starts), or nullopt when every entry is larger (scan from position 0).
std::optional<OffsetPosition> lookup_offset_index(std::span<const OffsetPosition> index,
                                                  int64_t target);
// The first entry whose timestamp >= target, or nullopt.
std::optional<TimestampOffset> lookup_time_index(std::span<const TimestampOffset> index,
                                                 int64_t target);

// Builds index entries the way Kafka does while appending or recovering a
// segment: feed every batch in file order.
class SegmentIndexBuilder {
 public:
  explicit SegmentIndexBuilder(uint32_t index_interval_bytes) : interval_(index_interval_bytes) {}

  // Continues an existing index (the active segment after a restart).
  void resume(uint64_t bytes_since_last_entry, TimestampOffset max_timestamp) {
    bytes_since_last_entry_ = bytes_since_last_entry;
    max_timestamp_ = max_timestamp;
  }

  // A batch at `position` whose last offset is `last_offset`. Returns the
  // entries to append (either may be absent).
  struct Added {
    std::optional<OffsetPosition> offset_entry;
    std::optional<TimestampOffset> time_entry;
  };
  Added add_batch(uint32_t position, uint32_t size, int64_t last_offset, int64_t max_timestamp,
                  const std::optional<TimestampOffset>& last_time_entry);

  // The entry Kafka appends when a segment stops being active (or after
  // recovery): the max timestamp, unless the time index already has it.
  std::optional<TimestampOffset> final_time_entry(
      const std::optional<TimestampOffset>& last_time_entry) const;

  uint64_t bytes_since_last_entry() const { return bytes_since_last_entry_; }
  TimestampOffset max_timestamp() const { return max_timestamp_; }

 private:
  uint32_t interval_;
  uint64_t bytes_since_last_entry_ = 0;
  TimestampOffset max_timestamp_;
};

}  // namespace kb::storage
