#include "kb/storage/segment_check.hpp"

#include <fcntl.h>
#include <fmt/format.h>

#include <algorithm>
#include <system_error>
#include <utility>

#include "file_io.hpp"
#include "kb/storage/partition_log.hpp"
#include "kb/storage/segment_index.hpp"

namespace kb::storage {

namespace fs = std::filesystem;
using detail::FileBatchReader;
using detail::FileHandle;

SegmentCheck check_segment_file(const fs::path& file, int64_t base_offset,
                                const SegmentCheckOptions& options) {
  SegmentCheck check;
  check.file = file;
  check.base_offset = base_offset;
  check.next_offset = base_offset;
  auto handle = FileHandle::open(file, O_RDONLY | O_CLOEXEC);
  if (!handle) {
    check.problem = handle.error().message;
    return check;
  }
  auto size = detail::file_size(handle->get(), file);
  if (!size) {
    check.problem = size.error().message;
    return check;
  }
  check.size = *size;
  FileBatchReader reader(handle->get(), file, 0, *size);
  reader.check_offsets(base_offset, options.next_segment_base, options.contiguous);
  for (;;) {
    switch (reader.next(true, CrcCheck::verify)) {
      case FileBatchReader::Step::end:
        return check;
      case FileBatchReader::Step::io_error:
        check.problem = reader.io_error().message;
        return check;
      case FileBatchReader::Step::bad:
        check.error = reader.error();
        check.problem =
            fmt::format("{} at byte {}: {} ({} bytes after it not readable)", file.string(),
                        reader.position(), to_string(reader.error()), *size - reader.position());
        return check;
      case FileBatchReader::Step::batch:
        break;
    }
    ++check.batches;
    check.valid_bytes = reader.position();
    check.next_offset = reader.header().next_offset();
    check.valid_batches.push_back(
        {reader.batch_position(), reader.header().last_offset(), reader.header().max_timestamp});
  }
}

PartitionDirCheck check_partition_dir(const fs::path& dir, bool compacted) {
  PartitionDirCheck out;
  std::vector<std::pair<int64_t, fs::path>> segments;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (auto base = detail::parse_offset_file_name(entry.path().filename().string(), ".log"))
      segments.emplace_back(*base, entry.path());
  if (ec) out.problems.push_back(fmt::format("cannot list {}: {}", dir.string(), ec.message()));
  std::sort(segments.begin(), segments.end());
  for (size_t i = 0; i < segments.size(); ++i) {
    // The rules recovery reads a segment with (PartitionLog::rebuild_index).
    SegmentCheckOptions options;
    const bool last = i + 1 == segments.size();
    if (!last) options.next_segment_base = segments[i + 1].first;
    options.contiguous = last && !compacted;
    SegmentCheck check = check_segment_file(segments[i].second, segments[i].first, options);
    if (!check.problem.empty()) out.problems.push_back(check.problem);
    out.segments.push_back(std::move(check));
  }
  if (!out.segments.empty()) {
    out.log_start_offset = out.segments.front().base_offset;
    out.log_end_offset = out.segments.back().next_offset;
  }
  return out;
}

PartitionSummary summarize_partition_dir(const fs::path& dir, const PartitionSummaryHint& hint) {
  struct Segment {
    int64_t base = 0;
    fs::path file;
    uint64_t size = 0;
  };
  std::vector<Segment> segments;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    auto base = detail::parse_offset_file_name(entry.path().filename().string(), ".log");
    if (!base) continue;
    std::error_code size_ec;
    const uintmax_t size = entry.file_size(size_ec);
    segments.push_back({*base, entry.path(), size_ec ? 0 : static_cast<uint64_t>(size)});
  }
  std::sort(segments.begin(), segments.end(),
            [](const Segment& a, const Segment& b) { return a.base < b.base; });
  PartitionSummary out;
  if (segments.empty()) {
    out.log_start_offset = out.log_end_offset = hint.log_start_offset.value_or(0);
    return out;
  }
  out.segments = segments.size();
  // Where recovery would start reading: nothing after a clean shutdown that
  // checkpointed the log's end (the last segment otherwise), the segment
  // holding the recovery point after a crash, everything without one.
  size_t first_read = 0;
  if (hint.clean_shutdown) {
    first_read = hint.recovery_point ? segments.size() : segments.size() - 1;
  } else if (hint.recovery_point) {
    while (first_read + 1 < segments.size() &&
           segments[first_read + 1].base <= *hint.recovery_point)
      ++first_read;
  }
  out.log_end_offset = hint.recovery_point.value_or(segments.front().base);
  for (size_t i = 0; i < first_read; ++i) out.size_bytes += segments[i].size;
  for (size_t i = first_read; i < segments.size(); ++i) {
    SegmentCheckOptions options;
    const bool last = i + 1 == segments.size();
    if (!last) options.next_segment_base = segments[i + 1].base;
    options.contiguous = last && !hint.compacted;
    const SegmentCheck check = check_segment_file(segments[i].file, segments[i].base, options);
    out.bytes_read += check.size;
    out.size_bytes += check.valid_bytes;
    out.log_end_offset = check.next_offset;
    // Recovery cuts the log at the first invalid batch: later segments go.
    if (check.error != BatchError::none || check.valid_bytes < check.size) {
      out.segments = i + 1;
      break;
    }
  }
  out.log_start_offset = std::max(segments.front().base, hint.log_start_offset.value_or(0));
  out.log_end_offset = std::max(out.log_end_offset, out.log_start_offset);
  return out;
}

namespace {

fs::path sibling_file(const SegmentCheck& segment, std::string_view suffix) {
  return segment.file.parent_path() / segment_file_name(segment.base_offset, suffix);
}

int64_t relative_offset_at(const std::vector<uint8_t>& bytes, size_t at) {
  const auto raw = (uint32_t{bytes[at]} << 24) | (uint32_t{bytes[at + 1]} << 16) |
                   (uint32_t{bytes[at + 2]} << 8) | uint32_t{bytes[at + 3]};
  return static_cast<int32_t>(raw);
}

// Kafka's sanity check of an index at start-up (AbstractIndex.sanityCheck):
// a whole number of entries, and a last entry not below the base offset. The
// entry count is the file's size over the entry size, as Kafka counts a
// reopened file (preallocated zeros included).
std::optional<std::string> sanity_problem(const std::vector<uint8_t>& bytes, size_t entry_size,
                                          size_t offset_at, int64_t base) {
  const size_t entries = bytes.size() / entry_size;
  if (entries > 0) {
    const int64_t last = base + relative_offset_at(bytes, (entries - 1) * entry_size + offset_at);
    if (last < base)
      return fmt::format("its last entry's offset {} is below the base offset {}", last, base);
  }
  if (bytes.size() % entry_size != 0)
    return fmt::format("{} bytes, not a multiple of {}", bytes.size(), entry_size);
  return std::nullopt;
}

// The valid batch that starts at `position`, or nullptr.
const CheckedBatch* batch_at(const SegmentCheck& segment, uint64_t position) {
  const auto& batches = segment.valid_batches;
  auto it = std::lower_bound(batches.begin(), batches.end(), position,
                             [](const CheckedBatch& b, uint64_t p) { return b.position < p; });
  return it != batches.end() && it->position == position ? &*it : nullptr;
}

// The first valid batch holding `offset` or any later offset, or nullptr.
const CheckedBatch* batch_reaching(const SegmentCheck& segment, int64_t offset) {
  const auto& batches = segment.valid_batches;
  auto it = std::lower_bound(batches.begin(), batches.end(), offset,
                             [](const CheckedBatch& b, int64_t o) { return b.last_offset < o; });
  return it != batches.end() ? &*it : nullptr;
}

void check_offset_index(const SegmentCheck& segment, IndexCheck& check) {
  std::vector<std::string>& findings = check.findings;
  const fs::path path = sibling_file(segment, ".index");
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    check.notes.push_back(
        fmt::format("{}: missing (the next start rebuilds it from the log)", path.string()));
    return;
  }
  auto bytes = detail::read_file_bytes(path);
  if (!bytes) {
    findings.push_back(bytes.error().message);
    return;
  }
  if (auto problem = sanity_problem(*bytes, kOffsetIndexEntrySize, 0, segment.base_offset)) {
    findings.push_back(fmt::format("{}: fails Kafka's sanity check: {}", path.string(), *problem));
    return;
  }
  auto entries = parse_offset_index(*bytes, segment.base_offset, segment.size);
  if (!entries) {
    findings.push_back(fmt::format(
        "{}: offsets or positions not increasing, or a position past the log's end (the next "
        "start rebuilds it)",
        path.string()));
    return;
  }
  // Each entry names the last offset of the batch at its position
  // (DumpLogSegments --verify-index-only).
  for (const OffsetPosition& entry : *entries) {
    if (entry.position >= segment.valid_bytes) {
      findings.push_back(fmt::format(
          "{}: entry offset {} position {} is in the bytes after the log's valid end ({})",
          path.string(), entry.offset, entry.position, segment.valid_bytes));
      break;
    }
    const CheckedBatch* batch = batch_at(segment, entry.position);
    if (batch == nullptr)
      findings.push_back(fmt::format("{}: entry offset {} position {}: no batch starts there",
                                     path.string(), entry.offset, entry.position));
    else if (batch->last_offset != entry.offset)
      findings.push_back(
          fmt::format("{}: entry offset {} position {}: the batch there ends at offset {}",
                      path.string(), entry.offset, entry.position, batch->last_offset));
  }
}

void check_time_index(const SegmentCheck& segment, IndexCheck& check) {
  std::vector<std::string>& findings = check.findings;
  const fs::path path = sibling_file(segment, ".timeindex");
  std::error_code ec;
  // A missing time index costs timestamp lookups their speed-up only: the
  // loader goes on without one.
  if (!fs::exists(path, ec)) return;
  auto bytes = detail::read_file_bytes(path);
  if (!bytes) {
    findings.push_back(bytes.error().message);
    return;
  }
  if (auto problem = sanity_problem(*bytes, kTimeIndexEntrySize, 8, segment.base_offset)) {
    findings.push_back(fmt::format("{}: fails Kafka's sanity check: {}", path.string(), *problem));
    return;
  }
  auto entries = parse_time_index(*bytes, segment.base_offset);
  if (!entries) {
    findings.push_back(fmt::format(
        "{}: timestamps or offsets going backwards (the next start rebuilds the indexes)",
        path.string()));
    return;
  }
  // Each entry names a batch's last offset and that batch's max timestamp
  // (DumpLogSegments --verify-index-only).
  for (const TimestampOffset& entry : *entries) {
    const CheckedBatch* batch = batch_reaching(segment, entry.offset);
    if (batch == nullptr) {
      findings.push_back(fmt::format("{}: entry offset {} is past the log's valid end ({})",
                                     path.string(), entry.offset, segment.next_offset));
      break;
    }
    if (batch->last_offset != entry.offset)
      findings.push_back(
          fmt::format("{}: entry offset {} ends no batch (the batch holding it ends "
                      "at {})",
                      path.string(), entry.offset, batch->last_offset));
    else if (batch->max_timestamp != entry.timestamp)
      findings.push_back(
          fmt::format("{}: entry offset {} has timestamp {}, its batch's max timestamp is {}",
                      path.string(), entry.offset, entry.timestamp, batch->max_timestamp));
  }
}

}  // namespace

IndexCheck check_segment_indexes(const SegmentCheck& segment) {
  IndexCheck check;
  if (segment.size == 0) return check;
  check_offset_index(segment, check);
  check_time_index(segment, check);
  return check;
}

size_t first_segment_recovery_scans(const PartitionDirCheck& check, const RecoveryHintSeen& hint) {
  const auto& segments = check.segments;
  if (segments.empty() || hint.whole) return 0;
  const size_t active = segments.size() - 1;
  // recover_from: segments wholly below the recovery point are skipped.
  auto from_recovery_point = [&](int64_t recovery_point) {
    for (size_t i = 0; i < active; ++i)
      if (segments[i + 1].base_offset > recovery_point) return i;
    return active;
  };
  if (!hint.clean_shutdown)
    return hint.recovery_point ? from_recovery_point(*hint.recovery_point) : active;
  // After a clean shutdown the active segment's batch headers are read from
  // its last index entry without CRCs: only a header that does not fit, or a
  // log end past the recovery point, makes the start recover.
  const BatchError error = segments[active].error;
  const bool header_damage = error != BatchError::none && error != BatchError::crc_mismatch;
  const bool past_recovery_point =
      hint.recovery_point && *hint.recovery_point < check.log_end_offset;
  if (!header_damage && !past_recovery_point) return segments.size();
  return hint.recovery_point ? from_recovery_point(*hint.recovery_point) : active;
}

}  // namespace kb::storage
