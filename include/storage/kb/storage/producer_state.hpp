#pragma once

// The idempotent producers of one partition, as Kafka's ProducerStateManager
// tracks them: per producer id, its current epoch and the metadata of its last
// five batches (sequence range, offsets, max timestamp). A producer keeps at
// most five requests in flight, so a resent batch is always one of those five
// and can be answered with its original offsets instead of being appended
// again.
//
// Kafka's rules (ProducerAppendInfo, UnifiedLog.analyzeAndValidateProducerState):
//   - a batch with the producer's current epoch and the exact sequence range of
//     a retained batch is a duplicate;
//   - an epoch older than the producer's is refused (INVALID_PRODUCER_EPOCH);
//   - a newer epoch must start at sequence 0;
//   - the same epoch must continue at last sequence + 1 (INT32_MAX wraps to 0);
//   - a producer with no state (never seen, or its batches are gone from the
//     log) is accepted at any sequence.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "kb/storage/record_batch.hpp"
#include "kb/storage/result.hpp"
#include "kb/storage/txn_index.hpp"

namespace kb::storage {

class PartitionLog;

inline constexpr size_t kProducerBatchesRetained = 5;

// `sequence` advanced by `increment`, wrapping past INT32_MAX to 0 as
// producers do.
int32_t increment_sequence(int32_t sequence, int32_t increment);

// The last sequence number of a batch (base sequence + last offset delta,
// wrapped).
int32_t last_sequence(const RecordBatchHeader& batch);

struct ProducerBatchMetadata {
  int32_t first_sequence = kNoSequence;
  int32_t last_sequence = kNoSequence;
  int64_t first_offset = -1;
  int64_t last_offset = -1;
  int64_t timestamp = kNoTimestamp;  // the batch's max timestamp as stored
};

struct ProducerEntry {
  int16_t epoch = kNoProducerEpoch;
  std::deque<ProducerBatchMetadata> batches;  // oldest first, at most five
  int64_t last_timestamp = kNoTimestamp;
  // The offset of the first batch of its ongoing transaction; -1: none.
  int64_t current_txn_first_offset = -1;
  // The coordinator epoch of its last marker; -1: none.
  int32_t coordinator_epoch = -1;

  int32_t last_sequence() const {
    return batches.empty() ? kNoSequence : batches.back().last_sequence;
  }
};

enum class SequenceVerdict : uint8_t {
  append,        // in sequence (or a producer without state): append it
  duplicate,     // a retained batch sent again: answer with its offsets
  out_of_order,  // a gap, or a new epoch not starting at sequence 0
  old_epoch,     // an epoch older than the producer's current one
};

struct SequenceCheck {
  SequenceVerdict verdict = SequenceVerdict::append;
  ProducerBatchMetadata duplicate;  // for duplicate
  std::string message;              // why, for out_of_order and old_epoch
};

class ProducerStateTable {
 public:
  // Checks a batch a client sent (its producer id must be >= 0) against the
  // producer's state. Changes nothing.
  SequenceCheck check(const RecordBatchHeader& batch) const;

  // Records a batch as it is stored (with its assigned base offset), after
  // an append or while loading from the log. Batches without a producer id
  // are ignored. A transactional batch starts the producer's ongoing
  // transaction if it has none; a control batch (transaction marker: its
  // COMMIT or ABORT given in `marker_commit`) moves the epoch and ends the
  // ongoing transaction: an aborted one is returned, for the partition's
  // aborted-transaction index, with the last stable offset once it ended.
  std::optional<AbortedTxn> update(const RecordBatchHeader& batch,
                                   std::optional<bool> marker_commit = std::nullopt,
                                   int32_t coordinator_epoch = -1);

  // The first offset of the earliest ongoing transaction: the last stable
  // offset is never past it. nullopt: none is ongoing.
  std::optional<int64_t> first_unstable_offset() const;
  // Ongoing transactions: producer id -> first offset.
  std::map<int64_t, int64_t> ongoing_transactions() const;

  // Forgets producers whose last batch's timestamp is `expiration_ms` or more
  // before `now_ms`, as Kafka does (producer.id.expiration.ms); returns how
  // many. A resend from such a producer is then accepted at any sequence.
  size_t remove_expired(int64_t now_ms, int64_t expiration_ms);

  const ProducerEntry* find(int64_t producer_id) const;
  size_t size() const { return producers_.size(); }
  const std::unordered_map<int64_t, ProducerEntry>& producers() const { return producers_; }

  // The log offset below which every batch is accounted for: where a
  // snapshot of this table may be taken.
  int64_t end_offset() const { return end_offset_; }
  void set_end_offset(int64_t offset) { end_offset_ = offset; }

  // Restores a producer (from a snapshot) as it was.
  void restore(int64_t producer_id, ProducerEntry entry) {
    if (entry.current_txn_first_offset >= 0)
      ongoing_.emplace(entry.current_txn_first_offset, producer_id);
    producers_[producer_id] = std::move(entry);
  }

 private:
  std::unordered_map<int64_t, ProducerEntry> producers_;
  // Ongoing transactions by first offset (first offset -> producer id).
  std::multimap<int64_t, int64_t> ongoing_;
  int64_t end_offset_ = 0;
};

// Kafka's producer state snapshot, "<offset:20>.snapshot" in the partition
// directory: version int16 (1), CRC-32C uint32 of what follows, then an int32
// count of entries {producer id int64, epoch int16, last sequence int32, last
// offset int64, offset delta int32, timestamp int64, coordinator epoch int32,
// current transaction first offset int64}, big-endian. Kafka writes one entry
// per producer (its last batch); this broker writes one per retained batch,
// oldest first, which Kafka reads as the last one (later entries of a
// producer replace earlier ones), and reads back as all five.
inline constexpr std::string_view kProducerSnapshotSuffix = ".snapshot";
std::vector<uint8_t> encode_producer_snapshot(const ProducerStateTable& table);
// Decodes a snapshot into `table` (which should be empty), as Kafka's
// readSnapshot: version 1 only, the CRC over everything after it, `count`
// entries (bytes after them are ignored, as Kafka's reader does).
Status decode_producer_snapshot(std::span<const uint8_t> bytes, ProducerStateTable& table);

// Writes the table as <dir>/<end offset:20>.snapshot (synced, atomically) and
// removes older snapshots there.
Status write_producer_snapshot(const std::filesystem::path& dir, const ProducerStateTable& table);

// A partition's producer state and the aborted transactions of its log (its
// .txnindex files), as load_producer_state finds them.
struct LoadedProducerState {
  ProducerStateTable table;
  std::vector<AbortedTxn> aborted;  // in marker order
};

// Rebuilds a partition's producer state: from the newest valid snapshot
// within the log (a corrupt one is skipped with a warning) and the batches
// after it, reading only batch headers. Without a snapshot, like Kafka after
// a clean shutdown with none, only the last two segments are scanned:
// producers whose batches are all older are treated as unknown (accepted at
// any sequence). An Error when the log cannot be read. Aborted transactions
// come from the .txnindex files; an ABORT marker found in the batches read
// whose entry is missing (a crash before it was written) is added to its
// segment's file.
Result<LoadedProducerState> load_producer_state(PartitionLog& log);
// The ABORT (false) or COMMIT (true) of the control batch at `offset`;
// nullopt when it is not a transaction marker.
Result<std::optional<bool>> read_marker(PartitionLog& log, int64_t offset);

}  // namespace kb::storage
