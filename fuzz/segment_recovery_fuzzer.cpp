// Opening a partition log whose segments (and the first one's offset index)
// hold arbitrary bytes: the recovery scan truncates a bad tail, a bad index is
// rebuilt. Then reads across the log must stay within the file, never hand out
// offsets at or past the log end after a recovery, and a batch appended after
// recovery must read back intact at the offset it was given (unless a read
// found the active segment damaged: then the append is refused).
//
// Input: [flags] [two segments: k, base] [recovery point: r] [index length:
// 1 byte, times 8] [index bytes] [segment bytes].
// Flag bit 0: give every batch of the segment a correct CRC first.
// Flag bit 1: the first k batches of the segment bytes are segment 0, the
//   rest segment `base` (at least 1).
// Flag bit 2: open as after a clean shutdown; bit 3: with recovery point r
//   (either bit reads r).

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <span>
#include <vector>

#include "fuzz_support.hpp"
#include "kb/storage/partition_log.hpp"
#include "kb/storage/record_batch.hpp"

namespace {

using namespace kb;
namespace fs = std::filesystem;

std::vector<uint8_t> probe_batch() {
  static const std::vector<uint8_t> batch = [] {
    const uint8_t value[] = {'p', 'r', 'o', 'b', 'e'};
    storage::RecordBatchBuilder builder;
    builder.add_record(std::nullopt, storage::Bytes(value), 1700000000000);
    return builder.build();
  }();
  return batch;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static fuzz::TempDir* root = [] {
    fuzz::quiet_logs();
    return new fuzz::TempDir("kb-fuzz-segment-");
  }();
  if (size < 2) return 0;
  const uint8_t flags = data[0];
  const bool fix_crcs = flags & 1;
  const bool two_segments = flags & 2;
  const bool clean = flags & 4;
  const bool with_recovery_point = flags & 8;
  data += 1;
  size -= 1;
  size_t first_batches = 0;
  int64_t second_base = 0;
  if (two_segments) {
    if (size < 3) return 0;
    first_batches = data[0];
    second_base = std::max<int64_t>(data[1], 1);
    data += 2;
    size -= 2;
  }
  std::optional<int64_t> recovery_point;
  if (clean || with_recovery_point) {
    if (size < 2) return 0;
    recovery_point = data[0];
    data += 1;
    size -= 1;
  }
  const size_t index_size = std::min<size_t>(size_t{data[0]} * 8, size - 1);
  std::span<const uint8_t> index(data + 1, index_size);
  std::vector<uint8_t> segment(data + 1 + index_size, data + size);
  if (fix_crcs) fuzz::fix_batch_crcs(segment);

  const fs::path dir = root->path() / "fuzz-0";
  fs::remove_all(dir);
  fs::create_directories(dir);
  if (two_segments) {
    // Cut after k batches (by their length fields, as far as they go).
    size_t cut = 0;
    for (size_t b = 0; b < first_batches && segment.size() - cut >= 12; ++b) {
      const uint8_t* p = segment.data() + cut + 8;
      const uint64_t length =
          (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
      if (length + 12 > segment.size() - cut) break;
      cut += static_cast<size_t>(length) + 12;
    }
    fuzz::write_file(dir / storage::segment_file_name(second_base, ".log"),
                     std::span<const uint8_t>(segment).subspan(cut));
    segment.resize(cut);
  }
  fuzz::write_file(dir / storage::segment_file_name(0, ".log"), segment);
  if (!index.empty()) fuzz::write_file(dir / storage::segment_file_name(0, ".index"), index);

  storage::PartitionLogOptions options;
  options.segment_bytes = 64 * 1024;
  options.index_interval_bytes = 64;
  storage::RecoveryHint hint;
  hint.clean_shutdown = clean;
  hint.recovery_point = recovery_point;
  auto opened = storage::PartitionLog::open(dir, options, hint);
  if (!opened) return 0;
  storage::PartitionLog& log = **opened;
  if (log.log_start_offset() > log.log_end_offset()) std::abort();

  // Reads from the start hand out ranges inside the file (at most one per offset).
  const int64_t end = log.log_end_offset();
  const bool whole_recovery = !clean && recovery_point.value_or(0) == 0;
  int64_t offset = log.log_start_offset();
  for (int reads = 0; offset < end && reads < 64; ++reads) {
    auto read = log.read(offset, 4096);
    if (!read || read->outcome != storage::LogReadResult::Outcome::ok || read->empty()) break;
    if (read->position + read->length > fs::file_size(read->file->path())) std::abort();
    auto bytes = read->read_bytes();
    if (!bytes) break;
    auto split = storage::split_batches(*bytes, storage::CrcCheck::skip);
    if (split.batches.empty()) break;
    // Recovery from 0 checked every batch of the active segment (whose index
    // it rebuilt), and reads keep older segments' batches below the next
    // segment's base offset: no offset at or past the end is handed out.
    if (whole_recovery && split.batches.back().last_offset() >= end) std::abort();
    const int64_t next = split.batches.back().next_offset();
    if (next <= offset) break;  // garbage in the middle of an old segment is not rescanned
    offset = next;
  }

  // An append after recovery lands at the log end and reads back unchanged.
  std::vector<uint8_t> batch = probe_batch();
  auto appended = log.append(batch);
  if (!appended) return 0;
  if (appended->first_offset != end) std::abort();
  auto back = log.read(end, 1 << 20);
  if (!back || back->empty()) std::abort();
  auto bytes = back->read_bytes();
  if (!bytes) std::abort();
  auto view = storage::RecordBatchView::parse(*bytes, storage::CrcCheck::verify);
  if (!view || view->base_offset() != end) std::abort();
  return 0;
}
