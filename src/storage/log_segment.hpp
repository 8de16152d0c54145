#pragma once

// One segment of a partition log (Kafka's LogSegment): its three files, its
// size, its indexes as loaded, and the append state of the active segment.
// Private to src/storage: PartitionLog owns its segments, and the member
// functions that work on one segment's files live in log_segment.cpp;
// recovery at start in log_loader.cpp.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "kb/storage/disk_space.hpp"
#include "kb/storage/file_cache.hpp"
#include "kb/storage/partition_log.hpp"
#include "kb/storage/roll_worker.hpp"
#include "kb/storage/segment_index.hpp"
#include "kb/storage/txn_index.hpp"

namespace kb::storage {

namespace detail {

inline constexpr std::string_view kLogSuffix = ".log";
inline constexpr std::string_view kIndexSuffix = ".index";
inline constexpr std::string_view kTimeIndexSuffix = ".timeindex";
// Kafka's suffix of files being deleted; KRaft snapshots being deleted end in
// ".checkpoint.deleted" and are the metadata log's to handle.
inline constexpr std::string_view kDeletedSuffix = ".deleted";
inline constexpr std::string_view kDeletedSnapshotSuffix = ".checkpoint.deleted";
// Header-only scans (reads, lookups) touch little of each batch.
inline constexpr size_t kHeaderScanReadAhead = size_t{16} * 1024;

inline int64_t steady_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

inline int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace detail

struct PartitionLog::Segment {
  Segment(const std::filesystem::path& dir, int64_t base, uint32_t interval, FileCache& cache,
          DiskSpace* disk)
      : base_offset(base),
        log_path(dir / segment_file_name(base, detail::kLogSuffix)),
        index_path(dir / segment_file_name(base, detail::kIndexSuffix)),
        time_index_path(dir / segment_file_name(base, detail::kTimeIndexSuffix)),
        log(cache, log_path),
        reservation(disk),
        index_builder(interval) {}

  int64_t base_offset;
  std::filesystem::path log_path;
  std::filesystem::path index_path;
  std::filesystem::path time_index_path;
  // Opened on first use, closed again when the cache needs room. The index
  // files are opened only to be read or written, and closed at once.
  CachedFile log;
  uint64_t size = 0;  // bytes of the .log holding valid batches
  bool index_loaded = false;
  std::vector<OffsetPosition> index;
  std::vector<TimestampOffset> time_index;
  // Append state, only for the active segment.
  // Entries of `index` and `time_index` in the files: the rest were added
  // since and are written before the files are synced (index_sync_snapshot)
  // or the segment is rolled. Until then they are past the recovery point,
  // where start-up rebuilds entries anyway.
  size_t index_entries_written = 0;
  size_t time_index_entries_written = 0;
  // Disk space reserved past the .log's end (preallocate), and the bytes
  // handed to writeback (take_writeback_range).
  SegmentReservation reservation;
  uint64_t writeback_end = 0;
  SegmentIndexBuilder index_builder;
  // log.roll.ms: the first batch's max timestamp (-1 when it has none), read
  // on first need; and when the segment was started.
  std::optional<int64_t> rolling_timestamp;
  int64_t created_ms = detail::wall_clock_ms();
  // What the roll worker has still to do to the files (settle_files).
  std::shared_ptr<SegmentFileWork> file_work;

  std::optional<TimestampOffset> last_time_entry() const {
    if (time_index.empty()) return std::nullopt;
    return time_index.back();
  }
};

}  // namespace kb::storage
