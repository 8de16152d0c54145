#include "kb/storage/segment_index.hpp"

#include <algorithm>
#include <limits>

namespace kb::storage {

namespace {

uint32_t load_be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

uint64_t load_be64(const uint8_t* p) { return (uint64_t{load_be32(p)} << 32) | load_be32(p + 4); }

void store_be32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (24 - 8 * i));
}

bool all_zero(std::span<const uint8_t> b) {
  return std::all_of(b.begin(), b.end(), [](uint8_t x) { return x == 0; });
}

// The bytes up to the end of the last entry that is not all zeros: what
// follows is space Kafka preallocated (an index file of an active segment is
// as large as segment.index.bytes until the segment rolls). An all-zero entry
// before a real one is an entry: {timestamp 0, base offset} in a time index,
// which Kafka writes for a segment whose records carry timestamp 0.
size_t used_entry_bytes(std::span<const uint8_t> bytes, size_t entry_size) {
  size_t used = bytes.size() - bytes.size() % entry_size;
  while (used > 0 && all_zero(bytes.subspan(used - entry_size, entry_size))) used -= entry_size;
  return used;
}

bool time_entry_due(const TimestampOffset& candidate,
                    const std::optional<TimestampOffset>& last_entry) {
  if (candidate.timestamp < 0) return false;  // no timestamp seen yet
  return !last_entry || candidate.timestamp > last_entry->timestamp;
}

}  // namespace

std::optional<std::vector<OffsetPosition>> parse_offset_index(std::span<const uint8_t> bytes,
                                                              int64_t base_offset,
                                                              uint64_t log_size) {
  if (bytes.size() % kOffsetIndexEntrySize != 0) return std::nullopt;
  std::vector<OffsetPosition> entries;
  const size_t used = used_entry_bytes(bytes, kOffsetIndexEntrySize);
  for (size_t at = 0; at < used; at += kOffsetIndexEntrySize) {
    auto entry = bytes.subspan(at, kOffsetIndexEntrySize);
    const auto relative = static_cast<int32_t>(load_be32(entry.data()));
    const uint32_t position = load_be32(entry.data() + 4);
    if (relative < 0 || position >= log_size) return std::nullopt;
    OffsetPosition e{base_offset + relative, position};
    if (!entries.empty() &&
        (e.offset <= entries.back().offset || e.position <= entries.back().position))
      return std::nullopt;
    entries.push_back(e);
  }
  return entries;
}

std::optional<std::vector<TimestampOffset>> parse_time_index(std::span<const uint8_t> bytes,
                                                             int64_t base_offset) {
  if (bytes.size() % kTimeIndexEntrySize != 0) return std::nullopt;
  std::vector<TimestampOffset> entries;
  const size_t used = used_entry_bytes(bytes, kTimeIndexEntrySize);
  for (size_t at = 0; at < used; at += kTimeIndexEntrySize) {
    auto entry = bytes.subspan(at, kTimeIndexEntrySize);
    const auto timestamp = static_cast<int64_t>(load_be64(entry.data()));
    const auto relative = static_cast<int32_t>(load_be32(entry.data() + 8));
    if (relative < 0) return std::nullopt;
    TimestampOffset e{timestamp, base_offset + relative};
    if (!entries.empty() &&
        (e.timestamp < entries.back().timestamp || e.offset < entries.back().offset))
      return std::nullopt;
    entries.push_back(e);
  }
  return entries;
}

void encode_offset_index_entry(const OffsetPosition& entry, int64_t base_offset,
                               uint8_t (&out)[kOffsetIndexEntrySize]) {
  store_be32(out, static_cast<uint32_t>(entry.offset - base_offset));
  store_be32(out + 4, entry.position);
}

void encode_time_index_entry(const TimestampOffset& entry, int64_t base_offset,
                             uint8_t (&out)[kTimeIndexEntrySize]) {
  store_be32(out, static_cast<uint32_t>(static_cast<uint64_t>(entry.timestamp) >> 32));
  store_be32(out + 4, static_cast<uint32_t>(entry.timestamp));
  store_be32(out + 8, static_cast<uint32_t>(entry.offset - base_offset));
}

std::optional<OffsetPosition> lookup_offset_index(std::span<const OffsetPosition> index,
                                                  int64_t target) {
  auto it = std::upper_bound(index.begin(), index.end(), target,
                             [](int64_t t, const OffsetPosition& e) { return t < e.offset; });
  if (it == index.begin()) return std::nullopt;
  return *(it - 1);
}

std::optional<TimestampOffset> lookup_time_index(std::span<const TimestampOffset> index,
                                                 int64_t target) {
  auto it = std::lower_bound(index.begin(), index.end(), target,
                             [](const TimestampOffset& e, int64_t t) { return e.timestamp < t; });
  if (it == index.end()) return std::nullopt;
  return *it;
}

SegmentIndexBuilder::Added SegmentIndexBuilder::add_batch(
    uint32_t position, uint32_t size, int64_t last_offset, int64_t max_timestamp,
    const std::optional<TimestampOffset>& last_time_entry) {
  Added added;
  if (max_timestamp > max_timestamp_.timestamp) max_timestamp_ = {max_timestamp, last_offset};
  if (bytes_since_last_entry_ > interval_) {
    added.offset_entry = OffsetPosition{last_offset, position};
    if (time_entry_due(max_timestamp_, last_time_entry)) added.time_entry = max_timestamp_;
    bytes_since_last_entry_ = 0;
  }
  bytes_since_last_entry_ += size;
  return added;
}

std::optional<TimestampOffset> SegmentIndexBuilder::final_time_entry(
    const std::optional<TimestampOffset>& last_time_entry) const {
  if (time_entry_due(max_timestamp_, last_time_entry)) return max_timestamp_;
  return std::nullopt;
}

}  // namespace kb::storage
