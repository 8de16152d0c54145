#pragma once

// One partition's log directory, <log.dir>/<topic>-<partition>/, in Kafka's
// layout:
//   <base offset:20>.log        record batches, back to back
//   <base offset:20>.index      sparse offset -> position index (segment_index.hpp)
//   <base offset:20>.timeindex  sparse timestamp -> offset index
//   partition.metadata          "version: 0" and "topic_id: <base64 uuid>" lines
//   <base offset:20>.txnindex   aborted transactions whose markers are in the
//                               segment (txn_index.hpp; written by the caller,
//                               deleted with the segment)
// Other files Kafka keeps there (leader-epoch-checkpoint, *.snapshot) are
// left alone.
//
// Opening is cheap: segment files are listed, and only the active (last)
// segment's tail after its last index entry is scanned (with CRC checks) to find
// the log end offset; a torn or corrupt tail is truncated away, as Kafka's
// recovery does. Other segments' indexes are loaded when first read; a missing
// or inconsistent index is rebuilt by scanning the segment and rewritten.
//
// Damage (batches that cannot be walked, offsets that go backwards, skip ahead
// in the active segment or reach the next segment) is the end of the valid
// log: recovery cuts it off; found while serving, it makes the log damaged
// (damage()): reads from there to the segment's end answer Outcome::corrupt,
// appends are refused while it is the active segment (no read could reach
// them), and the recovery point stays before it so that the next start
// recovers it.
//
// Not thread-safe: one owner (the partition's event loop) calls everything.

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kb/base/file_range.hpp"
#include "kb/storage/disk_space.hpp"
#include "kb/storage/log_cleaner.hpp"
#include "kb/storage/record_batch.hpp"
#include "kb/storage/result.hpp"
#include "kb/storage/segment_index.hpp"
#include "kb/wire/uuid.hpp"

namespace kb::storage {

class FileCache;
class FileRemover;
class RollWorker;
class SegmentFileWork;
class SpareSegment;

inline constexpr std::string_view kPartitionMetadataFile = "partition.metadata";

// "<topic>-<partition>" and back (the topic may itself contain '-').
std::string partition_dir_name(std::string_view topic, int32_t partition);
struct TopicPartitionName {
  std::string topic;
  int32_t partition = 0;
};
std::optional<TopicPartitionName> parse_partition_dir_name(std::string_view name);

// Segment file names: "<offset:20>.log" etc.
std::string segment_file_name(int64_t base_offset, std::string_view suffix);

struct PartitionMetadata {
  int32_t version = 0;
  kb::wire::Uuid topic_id;
};
Result<PartitionMetadata> parse_partition_metadata(std::string_view text);
std::string format_partition_metadata(const PartitionMetadata& metadata);

// Kafka's defaults.
struct PartitionLogOptions {
  uint64_t segment_bytes = 1024ull * 1024 * 1024;  // log.segment.bytes
  uint32_t index_interval_bytes = 4096;            // log.index.interval.bytes
  // log.roll.ms: a segment whose first batch is this much older than an
  // incoming batch (by batch timestamps; by creation time when it has none)
  // is rolled, as Kafka does. Default 7 days (log.roll.hours=168).
  int64_t roll_ms = 7LL * 24 * 60 * 60 * 1000;
  bool verify_crc_on_append = true;
  // cleanup.policy includes compact: batches may leave offset gaps (Kafka's
  // cleaner removes records), so offsets are only checked to increase. Without
  // it, a batch of the active segment (which no cleaner touches) starting
  // after the previous one's end is damage: a base offset, outside the CRC,
  // changed on disk.
  bool compacted = false;
  // Disk space for the active segment is reserved up to this far ahead of its
  // end, in chunks as large as the segment already is (fallocate,
  // FALLOC_FL_KEEP_SIZE: the file's size stays that of its batches), so an
  // append does not allocate blocks a page at a time; a roll gives back what
  // the segment did not use. 0: no preallocation. How much is reserved
  // follows the partition's write rate and the free space (disk_space.hpp).
  uint64_t preallocate_bytes = uint64_t{8} * 1024 * 1024;
  // Shared by the logs of one log directory: the budget of open partition
  // files (segment files are opened through it and closed again when it needs
  // room) and the free space reservations are kept within. Null: the log
  // keeps its files open, and reserves whatever the free space.
  std::shared_ptr<FileCache> file_cache;
  std::shared_ptr<DiskSpace> disk_space;
  // Deletes the files of deleted segments off the caller's thread (after
  // they are renamed to `.deleted`). Null: they are deleted at once.
  std::shared_ptr<FileRemover> file_remover;
  // Makes the next segment's files ahead of a roll (once the active segment
  // is half full) and finishes rolled segments' files, off the caller's
  // thread (roll_worker.hpp). Null: rolls do it all themselves.
  std::shared_ptr<RollWorker> roll_worker;
};

// What start-up knows about a partition from the log directory's checkpoint
// files (offset_checkpoint.hpp).
struct RecoveryHint {
  // .kafka_cleanshutdown was present: the files are as a clean shutdown left
  // them, so the active segment's end is found from its last index entry by
  // batch headers alone (no CRC scan). A structural problem still triggers
  // recovery.
  bool clean_shutdown = false;
  // The partition's entry in recovery-point-offset-checkpoint: every segment
  // holding offsets at or beyond it is scanned (CRC-checked, indexes rebuilt,
  // a torn tail or damaged batch truncated; Kafka's recovery). Absent: only
  // the active segment's tail after its last index entry is checked (Kafka
  // recovers a partition missing from the checkpoint from 0: the caller says
  // so with 0). After a clean shutdown it must equal the log end offset found
  // (a clean shutdown writes them equal); otherwise the log is recovered from
  // it.
  std::optional<int64_t> recovery_point;
};

// An open file shared by a segment and the reads handed out from it, so a read
// stays valid even if the segment is later removed.
class OpenFile {
 public:
  OpenFile(int fd, std::filesystem::path path) : fd_(fd), path_(std::move(path)) {}
  // Counted in `open_count` (a FileCache's) until closed, on whatever thread
  // lets go of it last.
  OpenFile(int fd, std::filesystem::path path, std::shared_ptr<std::atomic<size_t>> open_count)
      : fd_(fd), path_(std::move(path)), open_count_(std::move(open_count)) {
    if (open_count_) open_count_->fetch_add(1, std::memory_order_relaxed);
  }
  ~OpenFile();
  OpenFile(const OpenFile&) = delete;
  OpenFile& operator=(const OpenFile&) = delete;
  int fd() const { return fd_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  int fd_;
  std::filesystem::path path_;
  std::shared_ptr<std::atomic<size_t>> open_count_;
};

// A file to fdatasync: the shared open file when there is one, else its path,
// opened by the thread that syncs it (so nothing holds a descriptor for a
// sync that is still to come). A file removed meanwhile needs no sync.
struct FileToSync {
  FileToSync() = default;
  FileToSync(std::shared_ptr<const OpenFile> open_file)  // NOLINT: implicit by design
      : file(std::move(open_file)) {}
  FileToSync(std::shared_ptr<OpenFile> open_file)  // NOLINT: implicit by design
      : file(std::move(open_file)) {}
  explicit FileToSync(std::filesystem::path file_path) : path(std::move(file_path)) {}
  std::shared_ptr<const OpenFile> file;
  std::filesystem::path path;  // when `file` is null
};
// fdatasync of the file (opened read-only for it when it is not open; a file
// that no longer exists is skipped); a directory given by path is fsync'ed
// (its entries).
Status sync_file(const FileToSync& target);

// Appended bytes of one file that the kernel may start writing to disk now
// (take_writeback_range): the file is shared so a roll cannot close it first.
struct WritebackRange {
  std::shared_ptr<const OpenFile> file;
  uint64_t offset = 0;
  uint64_t length = 0;
};

// What read() found: whole batches as the byte range [position, position +
// length) of one segment file (ready for sendfile, or for read_bytes()).
struct LogReadResult {
  // corrupt: the log is damaged at or before this offset, in the same
  // segment (PartitionLog::damage()).
  enum class Outcome : uint8_t { ok, offset_out_of_range, corrupt };
  Outcome outcome = Outcome::ok;
  int64_t log_start_offset = 0;
  int64_t log_end_offset = 0;
  std::shared_ptr<const OpenFile> file;  // null when length == 0
  uint64_t position = 0;
  uint64_t length = 0;
  int64_t first_batch_base_offset = -1;  // -1 when empty

  bool empty() const { return length == 0; }
  // The range, to be sent from the file as it is (it keeps the file open).
  FileRange file_range() const;
  Result<std::vector<uint8_t>> read_bytes() const;
  // The headers of the batches in the range, in order (share groups acquire
  // records along batch boundaries); read from the file, never the records.
  Result<std::vector<RecordBatchHeader>> batch_headers() const;
};

// Where a log stops being readable, as found while serving it.
struct LogDamage {
  std::filesystem::path file;  // the segment file
  uint64_t position = 0;       // byte of the file where valid batches stop
  int64_t offset = 0;          // the first offset that cannot be read
  int64_t segment_base_offset = 0;
  std::string reason;
  std::string describe() const;
};

// When append() writes to the file.
enum class AppendWrite : uint8_t {
  now,
  // Possibly later, with the next write_deferred() (or anything else that
  // needs the file as the log says it is: a read, a flush, a roll, closing),
  // so that the appends of several requests go out in one write. The caller
  // keeps the appended bytes as they are until then.
  deferred,
};

struct AppendResult {
  int64_t first_offset = 0;  // base offset given to the first batch
  int64_t last_offset = 0;   // last offset of the last batch
  int64_t log_start_offset = 0;
};

class PartitionLog {
 public:
  ~PartitionLog();
  PartitionLog(const PartitionLog&) = delete;
  PartitionLog& operator=(const PartitionLog&) = delete;

  // Opens an existing partition directory.
  static Result<std::unique_ptr<PartitionLog>> open(const std::filesystem::path& dir,
                                                    PartitionLogOptions options = {},
                                                    RecoveryHint hint = {});
  // Creates <log_dir>/<topic>-<partition>/ with partition.metadata and an empty
  // first segment (as Kafka does when a replica is created), then opens it. An
  // existing directory is opened as is (its partition.metadata must name the
  // same topic id).
  static Result<std::unique_ptr<PartitionLog>> create(const std::filesystem::path& log_dir,
                                                      std::string_view topic, int32_t partition,
                                                      const kb::wire::Uuid& topic_id,
                                                      PartitionLogOptions options = {});
  // What create() puts on disk, without opening the log and without syncing
  // the log directory itself (a caller creating many partitions syncs it once
  // for all, e.g. on a helper thread: this touches nothing but the files).
  // partition.metadata is written to a synced temporary file and renamed, the
  // first segment's files are created when the directory has none (with a
  // leader-epoch-checkpoint saying epoch 0 starts at offset 0, as Kafka's
  // leader writes it, except in __cluster_metadata-0), and the
  // partition directory is synced once. Idempotent: what exists is kept (an
  // existing partition.metadata must name the same topic id).
  static Status create_files(const std::filesystem::path& log_dir, std::string_view topic,
                             int32_t partition, const kb::wire::Uuid& topic_id);

  const std::filesystem::path& dir() const { return dir_; }
  // From partition.metadata; nullopt when the file is absent.
  const std::optional<kb::wire::Uuid>& topic_id() const { return topic_id_; }

  // The first offset still in the log: the first segment's base offset, or
  // more once advance_log_start_offset moved it into that segment.
  int64_t log_start_offset() const;
  // The offset the next appended record gets.
  int64_t log_end_offset() const { return next_offset_; }
  size_t segment_count() const;
  std::vector<int64_t> segment_base_offsets() const;

  // Whole batches starting with the one that contains `fetch_offset`, adding
  // following batches of the same segment while the total stays within
  // `max_bytes`. The first batch is always returned whole, even when larger.
  // With `max_offset`, batches starting at or after it are not returned (a
  // high watermark). fetch_offset == log end offset gives an empty result;
  // outside [log start, log end] gives offset_out_of_range, a fetch_offset
  // at or past damage() in its segment (or a batch found damaged before any
  // could be returned) gives corrupt. Error: I/O only.
  Result<LogReadResult> read(int64_t fetch_offset, uint64_t max_bytes,
                             std::optional<int64_t> max_offset = std::nullopt);

  // Appends one or more concatenated batches: each is stored with the next
  // offsets as its base offset (the CRC does not cover it), when leader_epoch
  // >= 0 that partition leader epoch, and with `log_append_time` marked as
  // LogAppendTime with that max timestamp (CRC recomputed). `batches` itself
  // is not modified. Batches are checked first (structure, and CRC unless
  // disabled); on any problem nothing is written. Rolls to a new segment when
  // the active one would exceed segment_bytes. A log whose active segment is
  // damaged refuses appends: what it would acknowledge no read could reach.
  // With AppendWrite::deferred the write may wait, but only where the
  // segment's space is already reserved (preallocate_bytes): it cannot fail
  // for lack of room later.
  Result<AppendResult> append(std::span<const uint8_t> batches, int32_t leader_epoch = -1,
                              std::optional<int64_t> log_append_time = std::nullopt,
                              AppendWrite when = AppendWrite::now);
  // Writes what deferred appends left unwritten, in one write. A failure
  // leaves the log refusing appends and reads (its files no longer match
  // it); the broker treats it as a failed log directory.
  Status write_deferred();
  bool has_deferred_writes() const { return !deferred_pieces_.empty(); }

  // Deletes the oldest segment and its index files (never the active one):
  // the log then starts at the next segment's base offset. Reads already
  // handed out stay valid. For compaction that copied the segment's live
  // records forward first. The files are renamed to `<name>.deleted` here and
  // deleted by the file remover (options), as Kafka deletes them.
  Status delete_oldest_segment();

  // Moves the log start offset up to `offset` (DeleteRecords, or the
  // log-start-offset-checkpoint when a log is opened; at most the log end
  // offset, and never down): reads below it are out of range, and the
  // segments wholly below it are deleted (never the active one), as Kafka's
  // retention deletes them. Returns how many segments were deleted.
  Result<size_t> advance_log_start_offset(int64_t offset);

  // Kafka's retention (retention.ms, retention.bytes; negative: no limit).
  // Deletes whole segments from the oldest on: by time while a segment's
  // largest timestamp (the largest so far for the active one, the time
  // index's last entry for others, or the file's modification time when no
  // batch has a timestamp) is more than retention_ms before now_ms; then by
  // size while the log without its oldest segment still holds at least
  // retention_bytes. As in Kafka, the active segment goes too once it breaches
  // them (and is not empty): a new, empty one is rolled first, so the log
  // then starts (and ends) at the log end offset. Returns how many segments
  // were deleted, at most `max_segments` (the caller spreads a long backlog
  // over several calls). By time the log then starts at the next segment's
  // base offset; by size at the first segment the breach keeps, from the
  // first call on.
  struct RetentionLimits {
    int64_t retention_ms = -1;
    int64_t retention_bytes = -1;
  };
  Result<size_t> delete_expired_segments(const RetentionLimits& limits, int64_t now_ms,
                                         size_t max_segments = std::numeric_limits<size_t>::max());
  // Bytes of batches in all segments (Kafka's partition size).
  uint64_t size_bytes() const;
  // Settings for what is appended from now on (a topic's segment.bytes or
  // segment.ms changed).
  void set_options(const PartitionLogOptions& options) { options_ = options; }

  // Compaction (log_cleaner.hpp). What may be cleaned now, as Kafka's
  // LogCleanerManager works it out: the first dirty offset is `checkpoint`
  // (the cleaner-offset-checkpoint's entry; the log start offset when absent
  // or outside the log: force_checkpoint); nothing at or past the active
  // segment, `last_stable_offset`, or the first dirty segment whose largest
  // timestamp is within min.compaction.lag.ms of `now_ms` is cleaned. Damaged
  // logs are not cleaned (Error). Without `with_segments` only the figures
  // are filled in (to choose which log to clean: no file is opened).
  Result<CleaningPlan> cleaning_plan(std::optional<int64_t> checkpoint,
                                     const CompactionSettings& settings, int64_t now_ms,
                                     int64_t last_stable_offset, bool with_segments = true);
  // Swaps a cleaned segment (its .swap files, from Cleaner::clean) in for the
  // segments it replaces: renames only. false when they are no longer all
  // there (retention deleted some meanwhile): the .swap files are deleted and
  // the log is as it was. For tests, `stop_after_renames` leaves the swap
  // half done after that many renames, as a crash would.
  Result<bool> replace_segments(const CleanedSegment& cleaned,
                                std::optional<size_t> stop_after_renames = std::nullopt);

  // The first damage found while serving (reads, timestamp lookups, indexes
  // rebuilt on demand), or nullopt. Stays until the log is reopened (or
  // retention deletes the segment).
  const std::optional<LogDamage>& damage() const { return damage_; }

  // fdatasync of the active segment's files and of segments rolled since the
  // last flush, here and now; the flushed offset and the recovery point move
  // to the log end offset.
  Status flush();

  // A flush in two parts for other threads (SyncWorker), so that an
  // acknowledgement waits for one fdatasync, of the data, and the indexes are
  // synced off its path. The files are shared, or dup()ed, so that a later
  // roll cannot close them under the sync.
  //
  // The data: the .log files of the active segment and of segments rolled
  // since the last snapshot (handed over: the next snapshot has only the
  // active one), and the log end offset they cover. Once synced,
  // mark_flushed(end_offset).
  struct FlushSnapshot {
    int64_t end_offset = 0;
    // .log files: the active one shared when open, rolled ones by path (no
    // descriptor is kept for a sync still to come), and after a roll the
    // partition directory (the new segment's entry).
    std::vector<FileToSync> data_files;
  };
  Result<FlushSnapshot> flush_snapshot();
  // Segments were rolled since the last flush: they want syncing (which the
  // roll itself leaves to a flush, as Kafka does, so an append never waits).
  bool has_unsynced_rolled_segments() const { return !rolled_unsynced_data_.empty(); }
  void mark_flushed(int64_t offset);
  // Offsets below it are on disk: what acks=-1 waits for.
  int64_t flushed_offset() const { return flushed_offset_; }
  // Appended since the last flush (not yet synced).
  bool has_unflushed() const { return next_offset_ > flushed_offset_; }

  // The indexes: the .index and .timeindex files of the active segment and of
  // rolled segments not yet covered by the recovery point, and the recovery
  // point they make good once synced (the flushed offset now: the files hold
  // every entry for the data below it). Once synced,
  // mark_indexes_synced(recovery_point, rolls).
  struct IndexSyncSnapshot {
    int64_t recovery_point = 0;
    uint64_t rolls = 0;  // the segments rolled so far, whose final entries are in the files
    std::vector<FileToSync> index_files;  // by path
  };
  Result<IndexSyncSnapshot> index_sync_snapshot();
  void mark_indexes_synced(int64_t recovery_point, uint64_t rolls);
  // Kafka's recovery point: offsets below it are on disk, and so are the
  // index entries for them, so start-up recovery checks only what follows it
  // (index entries past it may be garbage or missing: they are rebuilt).
  int64_t recovery_point() const { return recovery_point_; }
  // Index files want a sync: the recovery point lags the flushed offset, or a
  // rolled segment's final entries are not synced.
  bool has_unsynced_indexes() const {
    return recovery_point_ < recovery_point_limit() || !rolled_unsynced_indexes_.empty();
  }

  // The active segment's bytes appended since the last range taken, once they
  // are at least `min_bytes` (nullopt before): handed to the kernel's
  // writeback early (sync_file_range), a flush or the final sync then has
  // little left to write, and dirty pages do not pile up between flushes.
  std::optional<WritebackRange> take_writeback_range(uint64_t min_bytes);

  // Gives back the disk space reserved past the active segment's data (a
  // clean shutdown; a partition gone quiet). Nothing while deferred appends
  // wait to be written into it.
  void release_reservation();
  // The same once nothing was appended for `quiet_ms` (steady clock); true
  // when space was given back.
  bool release_reservation_if_quiet(int64_t quiet_ms);
  // Whether space is reserved past the active segment's data.
  bool holds_reservation() const;

  // ListOffsets by time, as Kafka's LogSegment.findOffsetByTimestamp: the
  // first record at or after the log start offset whose timestamp is >=
  // `timestamp` (records of compressed batches decompressed; in a
  // LogAppendTime batch every record has the batch's max timestamp), with its
  // timestamp and its batch's leader epoch (-1: none); nullopt when there is
  // none. A batch whose records cannot be read answers with its first offset
  // and its max timestamp (logged).
  struct TimestampAndOffset {
    int64_t timestamp = kNoTimestamp;
    int64_t offset = -1;
    int32_t leader_epoch = kNoPartitionLeaderEpoch;
  };
  Result<std::optional<TimestampAndOffset>> record_for_timestamp(int64_t timestamp);
  // Its offset only.
  Result<std::optional<int64_t>> offset_for_timestamp(int64_t timestamp);

  // Kafka's leader epoch cache, from the batches' partition leader epochs:
  // each epoch (>= 0) larger than every earlier batch's, with the offset of
  // its first batch, in order; an epoch that started below the log start
  // offset starts at it, and epochs wholly below it are gone. Read from batch
  // headers once per log, then only what was appended since.
  struct EpochStart {
    int32_t epoch = 0;
    int64_t start_offset = 0;
  };
  Result<std::vector<EpochStart>> leader_epoch_starts();

 private:
  struct Segment;
  PartitionLog(std::filesystem::path dir, PartitionLogOptions options);

  Status load(const RecoveryHint& hint);
  // Finds the log end offset from the active segment's last index entry on:
  // with verify_crc, a CRC-checked scan that truncates a torn or corrupt tail;
  // without, a walk over batch headers that reports a bad tail as an error.
  Status recover_active_segment(bool verify_crc = true);
  Status recover_from(int64_t recovery_point);
  // Start-up: deletes what an unfinished clean wrote (*.cleaned) and finishes
  // a swap that a ".log.swap" file says was ready (log_loader.cpp).
  Status finish_interrupted_swaps();
  bool should_roll_for_time(Segment& segment, int64_t incoming_max_timestamp);
  Status ensure_index(Segment& segment);
  Result<int64_t> largest_timestamp(Segment& segment);
  // What rebuild_index does with bytes after the last valid batch: recovery
  // cuts them off; a rebuild for a read marks the log damaged there.
  enum class InvalidTail : uint8_t { truncate, report };
  Status rebuild_index(Segment& segment, InvalidTail invalid_tail);
  // Offsets of `segment` must stay below the next segment's base offset; in
  // the active segment of a log that is not compacted they have no gaps.
  std::optional<int64_t> next_base_offset(const Segment& segment) const;
  std::optional<int64_t> next_base_offset_after(int64_t base_offset) const;
  // `offset` lies in the damaged range: from damage() to its segment's end.
  bool damaged_at(int64_t offset) const;
  bool contiguous_offsets(const Segment& segment) const;
  // Records damage found at byte `position` of `segment`, where offset
  // `offset` would start (unknown: the segment is walked from its start to
  // the last readable batch before it), and logs it; the lowest offset wins.
  void note_damage(Segment& segment, uint64_t position, std::string_view reason,
                   std::optional<int64_t> offset = std::nullopt);
  // The recovery point may not pass the flushed offset, nor a damaged
  // segment's base offset (the next start recovers from there).
  int64_t recovery_point_limit() const {
    return damage_ ? std::min(flushed_offset_, damage_->segment_base_offset) : flushed_offset_;
  }
  Status roll(int64_t new_base_offset);
  // With `index_files_later` (a roll with a roll worker), only the .log is
  // made here and the index files follow on the worker, as a spare's do.
  Status create_segment(int64_t base_offset, bool sync_dir = true, bool index_files_later = false);
  // The spare segment's files (roll_worker.hpp) become the segment at
  // `base_offset`: true when they did, false when there is no spare ready
  // (the caller makes the files).
  Result<bool> roll_into_spare(int64_t base_offset);
  // Asks the roll worker for a spare once the active segment is half full.
  void prepare_spare_if_due();
  // Gives back the spare's descriptor and space; its files are removed.
  void drop_spare();
  // What a roll leaves to write of `rolled`'s files, handed to the roll
  // worker (null when nothing is left).
  std::shared_ptr<SegmentFileWork> finish_rolled(Segment& rolled);
  // Waits for (or does, when the worker has not started it) what the roll
  // worker still has to do to the segment's files: before anything here
  // touches them by name.
  Status settle_files(Segment& segment);
  // The same for every segment, and for deleted ones.
  void finish_rolled_segments_now();
  Status write_pending_index_entries(Segment& segment);
  void preallocate(Segment& segment, int fd, uint64_t end);
  void release_preallocation(Segment& segment);
  // Deletes files: now, or through the file remover.
  void remove_files(std::vector<std::filesystem::path> paths);
  Result<std::shared_ptr<OpenFile>> log_file(Segment& segment);

  std::filesystem::path dir_;
  PartitionLogOptions options_;
  // Before segments_: their files and reservations are counted in these.
  std::shared_ptr<FileCache> file_cache_;
  std::shared_ptr<DiskSpace> disk_space_;
  std::shared_ptr<RollWorker> roll_worker_;  // options_.roll_worker when opened
  WriteRate write_rate_;
  std::optional<kb::wire::Uuid> topic_id_;
  std::vector<std::unique_ptr<Segment>> segments_;  // by base offset
  int64_t next_offset_ = 0;
  int64_t flushed_offset_ = 0;
  int64_t recovery_point_ = 0;
  // Files of rolled segments that no sync has covered yet (by path: a
  // rolled segment holds no descriptor for them, and retention may delete
  // them first).
  std::deque<FileToSync> rolled_unsynced_data_;  // in roll order
  bool dir_unsynced_ = false;  // a roll created a segment: the directory goes with them
  struct RolledIndexes {
    uint64_t roll = 0;  // rolls_ before this one
    int64_t base_offset = 0;
    std::vector<FileToSync> files;
    // Its last entries, written by the roll worker: until they are, the
    // files are not synced and the recovery point stays below the segment.
    std::shared_ptr<SegmentFileWork> finish;
  };
  std::vector<RolledIndexes> rolled_unsynced_indexes_;
  uint64_t rolls_ = 0;
  bool preallocation_failed_ = false;    // the file system cannot (no fallocate): not tried again
  std::shared_ptr<SpareSegment> spare_;  // the next segment's files, made ahead (roll_worker)
  // Deferred appends: the pieces to write at deferred_at_ of deferred_file_
  // (the stamped headers kept here, the rest still the caller's bytes).
  std::shared_ptr<const OpenFile> deferred_file_;
  uint64_t deferred_at_ = 0;
  std::vector<std::span<const uint8_t>> deferred_pieces_;
  std::deque<std::array<uint8_t, batch_layout::kHeaderSize>> deferred_headers_;  // stable addresses
  bool write_failed_ = false;
  std::optional<LogDamage> damage_;
  // advance_log_start_offset: may lie inside the first segment.
  int64_t start_offset_floor_ = 0;
  // leader_epoch_starts(): epochs found in the batches below epochs_scanned_to_.
  std::vector<EpochStart> epoch_starts_;
  int64_t epochs_scanned_to_ = 0;
};

}  // namespace kb::storage
