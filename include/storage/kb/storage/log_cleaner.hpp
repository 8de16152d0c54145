#pragma once

// Log compaction (Kafka's LogCleaner, Cleaner and OffsetMap): the latest
// record of each key is kept, older ones go, tombstones go once their delete
// horizon has passed.
//
// The work is split by thread. On the log's owner (the event loop):
// PartitionLog::cleaning_plan() says which segments may be cleaned (cheap:
// sizes, offsets, timestamps already known), and
// PartitionLog::replace_segments() swaps finished segments in (renames only).
// On a helper thread: Cleaner::clean() reads the segments through the plan's
// shared open files and writes the cleaned ones, which no reader sees until
// the swap.
//
// On disk, as Kafka does it: a cleaned segment is written as
// "<base>.log.cleaned" (with .index, .timeindex and, when the old segments had
// aborted transactions, .txnindex), synced, and renamed to "*.swap" (the .log
// last). The swap renames each old segment's files to "*.deleted" (the .log
// last), then the .swap files to their names (the .log last). Start-up
// deletes "*.cleaned" files (the old segments are whole), and finishes a swap
// whose ".log.swap" it finds: old segments within the swap file's offsets are
// deleted, the .swap files renamed (log_loader.cpp).
//
// What a clean keeps, as Kafka's cleaner:
// - a record whose key's latest offset (in the map) is its own, or that lies
//   past the map's last offset (not looked at this round);
// - a tombstone (null value) until the delete horizon of its batch: the first
//   clean that keeps it stamps the batch with now + delete.retention.ms
//   (KIP-534: the delete-horizon attribute, the base timestamp holding it);
//   later cleans drop it once that time has passed;
// - committed transactional records as any other (everything cleaned is
//   below the last stable offset); the batches of aborted transactions
//   (listed in the .txnindex files) go, and their keys are never mapped, so
//   an aborted record never hides a committed one;
// - a transaction marker while a batch of its transaction was read in the
//   same clean (an ABORT keeps its .txnindex entry in the cleaned segment);
//   one whose transaction has nothing left is stamped with a delete horizon
//   and goes once it has passed (Kafka's two passes for markers);
// - a batch emptied of its records as an empty header when it holds the last
//   data of an active idempotent producer (its sequence numbers) or, with no
//   data since, its last marker (its epoch), or when it is the last batch of
//   the cleaned range (its last offset);
// - records without a key: none (Kafka drops them).
// Kept records keep their offsets, timestamps and batch (base offset, last
// offset, producer fields); a batch that lost records is rebuilt with the same
// compression.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "kb/storage/record_batch.hpp"
#include "kb/storage/result.hpp"
#include "kb/storage/txn_index.hpp"

namespace kb::storage {

class OpenFile;

inline constexpr std::string_view kCleanedSuffix = ".cleaned";
inline constexpr std::string_view kSwapSuffix = ".swap";
// The log directory's file of first dirty offsets per partition (Kafka's
// format: offset_checkpoint.hpp).
inline constexpr std::string_view kCleanerCheckpointFile = "cleaner-offset-checkpoint";

// Kafka's SkimpyOffsetMap: key hash -> latest offset, in a fixed buffer
// (log.cleaner.dedupe.buffer.size), 24 bytes a slot (a 16-byte hash and the
// offset), filled to the load factor (log.cleaner.io.buffer.load.factor).
class OffsetMap {
 public:
  explicit OffsetMap(size_t buffer_bytes, double load_factor = 0.9);
  // The key's latest offset so far is `offset`.
  void put(Bytes key, int64_t offset);
  // -1 when the key was not put.
  int64_t get(Bytes key) const;
  // Empties the map and gives its memory back: the buffer is taken (as
  // zeroed pages, touched only where keys land) by the first put after.
  void clear();
  size_t size() const { return size_; }
  size_t slots() const { return slots_; }
  // Keys it takes before cleaning stops mapping (and cleans only what it mapped).
  size_t capacity() const { return capacity_; }
  bool full() const { return size_ >= capacity_; }
  // The last offset looked at: records after it are not in the map.
  int64_t latest_offset() const { return latest_offset_; }
  void update_latest_offset(int64_t offset) { latest_offset_ = std::max(latest_offset_, offset); }

 private:
  struct Slot {
    uint64_t hash_high;
    uint64_t hash_low;
    int64_t offset_plus_one;  // 0: empty (calloc'ed memory is empty slots)
  };
  struct Free {
    void operator()(Slot* slots) const;
  };
  size_t find(uint64_t high, uint64_t low) const;
  std::unique_ptr<Slot, Free> table_;
  size_t slots_ = 0;
  size_t capacity_ = 0;
  size_t size_ = 0;
  int64_t latest_offset_ = -1;
};

// Kafka's Throttler for the cleaners' reads and writes
// (log.cleaner.io.max.bytes.per.second): one budget for all cleaner threads.
// Once the bytes of a check period run above the rate, the thread that sees
// it sleeps them off while holding the others back, so the threads together
// stay under the rate. Thread-safe; the rate may change at any time (a
// dynamic config change), and wake() cuts a sleep short (a cleaner stopping).
class IoThrottler {
 public:
  explicit IoThrottler(double bytes_per_second) : rate_(bytes_per_second) {}
  void maybe_throttle(uint64_t bytes);
  double rate() const { return rate_.load(std::memory_order_relaxed); }
  void set_rate(double bytes_per_second) {
    rate_.store(bytes_per_second, std::memory_order_relaxed);
  }
  void wake();
  uint64_t slept_ms() const;

 private:
  std::atomic<double> rate_;
  // Held through a check and its sleep: a period is counted by one thread.
  mutable std::mutex period_mutex_;
  std::chrono::steady_clock::time_point period_start_ = std::chrono::steady_clock::now();
  uint64_t observed_ = 0;
  uint64_t slept_ms_ = 0;
  // What a sleep waits on, besides the time.
  std::mutex wake_mutex_;
  std::condition_variable woken_;
  uint64_t wake_generation_ = 0;
};

// A topic's compaction settings (its configs, else the broker's).
struct CompactionSettings {
  int64_t delete_retention_ms = 24LL * 60 * 60 * 1000;                  // delete.retention.ms
  int64_t min_compaction_lag_ms = 0;                                    // min.compaction.lag.ms
  int64_t max_compaction_lag_ms = std::numeric_limits<int64_t>::max();  // max.compaction.lag.ms
  double min_cleanable_ratio = 0.5;                                     // min.cleanable.dirty.ratio
  uint64_t segment_bytes = 1024ull * 1024 * 1024;  // segment.bytes: groups' size
  uint64_t max_index_bytes = 10ull * 1024 * 1024;  // segment.index.bytes
  uint32_t index_interval_bytes = 4096;            // index.interval.bytes
};

// One segment as the plan hands it to the cleaner: read through the shared
// file, never by name (retention may delete it meanwhile).
struct CleanableSegment {
  int64_t base_offset = 0;
  int64_t end_offset = 0;  // the next segment's base offset
  std::filesystem::path log_path;
  std::shared_ptr<const OpenFile> file;
  uint64_t size = 0;
  uint64_t offset_index_bytes = 0;
  uint64_t time_index_bytes = 0;
  int64_t last_modified_ms = 0;  // the .log's mtime, given to its cleaned copy
};

// What a log has to clean (Kafka's LogToClean with its OffsetsToClean).
struct CleaningPlan {
  std::filesystem::path dir;
  std::string name;  // for logs
  int64_t first_dirty_offset = 0;
  int64_t first_uncleanable_offset = 0;
  // The checkpointed offset was outside the log: the checkpoint wants the
  // first dirty offset written.
  bool force_checkpoint = false;
  uint64_t clean_bytes = 0;      // below the first dirty offset
  uint64_t cleanable_bytes = 0;  // from it to the first uncleanable segment
  // max.compaction.lag.ms passed for a dirty segment: cleaned whatever the ratio.
  bool needs_compaction_now = false;
  // The segments from the log start to the first uncleanable offset.
  std::vector<CleanableSegment> segments;
  // Active idempotent producers' last data offsets (or -1 when their last
  // entry is a marker, with that producer epoch): the batches that hold them
  // are kept, empty if need be.
  struct ProducerLast {
    int64_t last_data_offset = -1;
    int16_t producer_epoch = -1;
  };
  std::map<int64_t, ProducerLast> active_producers;
  CompactionSettings settings;

  uint64_t total_bytes() const { return clean_bytes + cleanable_bytes; }
  double cleanable_ratio() const {
    return total_bytes() == 0
               ? 0.0
               : static_cast<double>(cleanable_bytes) / static_cast<double>(total_bytes());
  }
  // Kafka's test: worth cleaning now.
  bool worth_cleaning() const {
    return (needs_compaction_now && cleanable_bytes > 0) ||
           cleanable_ratio() > settings.min_cleanable_ratio;
  }
};

// One cleaned segment, as .swap files, replacing `replaced` (base offsets of
// consecutive old segments, the first equal to the cleaned one's).
struct CleanedSegment {
  int64_t base_offset = 0;
  // The end of the last segment it replaces.
  int64_t end_offset = 0;
  std::vector<int64_t> replaced;
  uint64_t size = 0;
  bool has_txn_index = false;
  // The aborted transactions its .txnindex lists: once it is swapped in, the
  // partition's list of aborted transactions in [base_offset, end_offset) is
  // this one (each segment on its own, so a swap that stops part way leaves
  // the list right for what it swapped).
  std::vector<AbortedTxn> aborted_kept;
};

struct CleanStats {
  uint64_t bytes_read = 0;
  uint64_t bytes_written = 0;
  uint64_t records_read = 0;
  uint64_t records_kept = 0;
  uint64_t map_records = 0;
  double elapsed_seconds = 0;
};

struct CleanResult {
  // Offsets below it are clean (the next first dirty offset).
  int64_t end_offset = 0;
  std::vector<CleanedSegment> segments;  // in offset order
  CleanStats stats;
};

// A cleaner thread's state: its offset map, and the I/O budget it shares
// with the other cleaner threads. Not thread-safe: one per helper thread.
class Cleaner {
 public:
  // With a budget of its own.
  Cleaner(size_t dedupe_buffer_bytes, double io_bytes_per_second, double load_factor = 0.9);
  Cleaner(size_t dedupe_buffer_bytes, double load_factor, std::shared_ptr<IoThrottler> throttler);

  // Cleans what `plan` covers at time `now_ms`, leaving .swap files in the
  // plan's directory for PartitionLog::replace_segments. `abort` is checked
  // between batches: set, the clean stops, its files are deleted, and the
  // answer is an Error.
  Result<CleanResult> clean(const CleaningPlan& plan, int64_t now_ms,
                            const std::atomic<bool>* abort = nullptr);

  const OffsetMap& offset_map() const { return map_; }
  IoThrottler& throttler() { return throttler_; }
  // How often a clean under way logs how far it got (bytes read of total,
  // written, rate), in every cleaner of the process: 3 s unless set (tests
  // set it shorter); zero: never.
  static void set_progress_interval(std::chrono::microseconds every);

 private:
  OffsetMap map_;
  std::shared_ptr<IoThrottler> shared_throttler_;
  IoThrottler& throttler_;
};

// Groups consecutive segments whose sizes (log, and each index) add up to at
// most the limits, and whose offsets fit one segment's 32-bit relative
// offsets (Kafka's groupSegmentsBySize). Indexes into `segments`.
std::vector<std::vector<size_t>> group_segments_by_size(std::span<const CleanableSegment> segments,
                                                        uint64_t max_bytes,
                                                        uint64_t max_index_bytes,
                                                        int64_t first_uncleanable_offset);

// Removes the files a clean left half-written ("*.cleaned") in `dir`.
Status delete_cleaned_files(const std::filesystem::path& dir);

}  // namespace kb::storage
