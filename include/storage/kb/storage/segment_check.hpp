#pragma once

// Offline checks of a partition directory (kafka-broker check), reading only:
// every batch read whole and CRC-checked by the reader recovery uses, with the
// offset rules recovery applies (offsets increasing, below the next segment's
// base, contiguous in the active segment of a log that is not compacted); the
// indexes judged as Kafka's DumpLogSegments judges them (--index-sanity-check
// and --verify-index-only) and as the loader decides whether to trust them;
// and which damaged bytes the next start's recovery would cut.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "kb/storage/record_batch.hpp"

namespace kb::storage {

// A valid batch of a checked segment: where it starts, its last offset and
// its max timestamp (what index entries are checked against).
struct CheckedBatch {
  uint64_t position = 0;
  int64_t last_offset = 0;
  int64_t max_timestamp = 0;
};

struct SegmentCheck {
  std::filesystem::path file;
  int64_t base_offset = 0;
  uint64_t size = 0;
  uint64_t valid_bytes = 0;  // whole, valid batches from the start
  int64_t next_offset = 0;   // after the last valid batch (base_offset when none)
  uint64_t batches = 0;
  BatchError error = BatchError::none;  // why the valid bytes end before `size`
  std::string problem;  // "<file> at byte <n>: <why>", empty when the segment is sound
  std::vector<CheckedBatch> valid_batches;  // in file order
};

struct SegmentCheckOptions {
  std::optional<int64_t> next_segment_base;  // the next segment's base offset, if any
  bool contiguous = false;                   // offsets without gaps (active, not compacted)
};

struct PartitionDirCheck {
  std::vector<SegmentCheck> segments;  // by base offset
  // Where the valid log ends (the last segment's next offset), and the first
  // segment's base.
  int64_t log_start_offset = 0;
  int64_t log_end_offset = 0;
  std::vector<std::string> problems;  // every segment problem
};

SegmentCheck check_segment_file(const std::filesystem::path& file, int64_t base_offset,
                                const SegmentCheckOptions& options = {});
// `compacted`: the topic's cleanup.policy includes compact (offset gaps are
// not damage then).
PartitionDirCheck check_partition_dir(const std::filesystem::path& dir, bool compacted = false);

// What a segment's .index and .timeindex hold against its batches, one line
// each: findings (damage), and notes (a missing index: the loader rebuilds it
// from the log, losing nothing; this broker writes the active segment's
// lazily). An empty segment's index files are not read (the loader does not
// read them either: Kafka preallocates them).
struct IndexCheck {
  std::vector<std::string> findings;
  std::vector<std::string> notes;
};
IndexCheck check_segment_indexes(const SegmentCheck& segment);

// How the next start treats a partition's files (PartitionLog::load).
struct RecoveryHintSeen {
  bool clean_shutdown = false;            // .kafka_cleanshutdown present
  std::optional<int64_t> recovery_point;  // the recovery-point checkpoint's entry
  bool whole = false;                     // recovered whole at every start (metadata log)
};

// The index of the first segment the next start scans with CRC checks and
// cuts at its first invalid batch (every later one is scanned too), or
// segments.size() when the start trusts every segment as it is.
size_t first_segment_recovery_scans(const PartitionDirCheck& check, const RecoveryHintSeen& hint);

// A partition's log gauges without opening its log (logs open on first use):
// the segments' names and sizes, and where the log ends. After a clean
// shutdown the recovery point is the end; otherwise the segments recovery
// would read (from the one holding the recovery point, or all without one)
// are read here, and the end is where their valid batches end.
struct PartitionSummary {
  uint64_t size_bytes = 0;  // of the segments (.log), up to where recovery would cut
  int64_t log_start_offset = 0;
  int64_t log_end_offset = 0;
  size_t segments = 0;
  uint64_t bytes_read = 0;  // of segments read to find the end
};
struct PartitionSummaryHint {
  bool clean_shutdown = false;
  std::optional<int64_t> recovery_point;    // recovery-point-offset-checkpoint's entry
  std::optional<int64_t> log_start_offset;  // log-start-offset-checkpoint's entry
  bool compacted = false;                   // offset gaps are no damage
};
PartitionSummary summarize_partition_dir(const std::filesystem::path& dir,
                                         const PartitionSummaryHint& hint);

}  // namespace kb::storage
