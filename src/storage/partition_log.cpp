#include "kb/storage/partition_log.hpp"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <limits>
#include <system_error>

#include "file_io.hpp"
#include "kb/base/java_number.hpp"
#include "kb/base/java_text.hpp"
#include "kb/storage/compression.hpp"
#include "kb/storage/file_cache.hpp"
#include "kb/storage/file_remover.hpp"
#include "kb/storage/metadata_log.hpp"
#include "kb/storage/offset_checkpoint.hpp"
#include "kb/storage/record_batch.hpp"
#include "kb/storage/roll_worker.hpp"

namespace kb::storage {

namespace fs = std::filesystem;
using detail::FileBatchReader;
using detail::FileHandle;
using kb::wire::Uuid;

namespace {

constexpr std::string_view kLogSuffix = ".log";
constexpr std::string_view kIndexSuffix = ".index";
constexpr std::string_view kTimeIndexSuffix = ".timeindex";
constexpr std::string_view kTxnIndexSuffix = ".txnindex";
// Kafka's suffix of files being deleted; KRaft snapshots being deleted end in
// ".checkpoint.deleted" and are the metadata log's to handle.
constexpr std::string_view kDeletedSuffix = ".deleted";
constexpr std::string_view kDeletedSnapshotSuffix = ".checkpoint.deleted";
// Header-only scans (reads, lookups) touch little of each batch.
constexpr size_t kHeaderScanReadAhead = size_t{16} * 1024;

int64_t steady_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

// ---- names and partition.metadata ----

std::string partition_dir_name(std::string_view topic, int32_t partition) {
  return fmt::format("{}-{}", topic, partition);
}

std::optional<TopicPartitionName> parse_partition_dir_name(std::string_view name) {
  const size_t dash = name.rfind('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 1 == name.size()) return std::nullopt;
  std::string_view digits = name.substr(dash + 1);
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  int32_t partition = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), partition);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return TopicPartitionName{std::string(name.substr(0, dash)), partition};
}

std::string segment_file_name(int64_t base_offset, std::string_view suffix) {
  return detail::offset_file_stem(base_offset) + std::string(suffix);
}

// As Kafka's PartitionMetadataReadBuffer: the first line's value (after ": ")
// is a version of at least 0, the second line's a topic id (Uuid.fromString,
// not zero); the names before the colons are not checked, later lines ignored.
Result<PartitionMetadata> parse_partition_metadata(std::string_view text) {
  const std::vector<std::string_view> lines = java_read_lines(text);
  auto malformed = [](int line_no, std::string_view line, std::string_view expected) {
    return Error{
        fmt::format("partition.metadata: line {} '{}': expected {}", line_no, line, expected)};
  };
  if (lines.empty()) return Error{"partition.metadata: empty, expected 'version: 0'"};
  auto version_pieces = java_split_colon_whitespace(lines[0]);
  std::optional<int32_t> version;
  if (version_pieces.size() == 2) version = parse_java_int(version_pieces[1]);
  if (!version || *version < 0) return malformed(1, lines[0], "'version: <number of at least 0>'");
  if (lines.size() < 2)
    return Error{"partition.metadata: no second line, expected 'topic_id: <id>'"};
  auto id_pieces = java_split_colon_whitespace(lines[1]);
  if (id_pieces.size() != 2) return malformed(2, lines[1], "'topic_id: <id>'");
  Uuid id;
  std::string why;
  if (!Uuid::from_base64(id_pieces[1], id, &why))
    return Error{fmt::format("partition.metadata: topic_id '{}' is not a Kafka uuid: {}",
                             id_pieces[1], why)};
  if (id.is_zero()) return Error{"partition.metadata: topic_id is the zero uuid"};
  return PartitionMetadata{*version, id};
}

std::string format_partition_metadata(const PartitionMetadata& metadata) {
  // Exactly Kafka's text: no trailing newline.
  return fmt::format("version: {}\ntopic_id: {}", metadata.version, metadata.topic_id.to_base64());
}

// ---- reads ----

OpenFile::~OpenFile() {
  if (fd_ >= 0) ::close(fd_);
  if (open_count_) open_count_->fetch_sub(1, std::memory_order_relaxed);
}

FileRange LogReadResult::file_range() const {
  return FileRange{file, file ? file->fd() : -1, position, length};
}

Result<std::vector<uint8_t>> LogReadResult::read_bytes() const {
  std::vector<uint8_t> bytes(static_cast<size_t>(length));
  if (length == 0) return bytes;
  Status read = detail::pread_exact(file->fd(), position, bytes, file->path());
  if (!read) return read.error();
  return bytes;
}

std::string LogDamage::describe() const {
  return fmt::format(
      "{}: {} at byte {}: offsets from {} to the segment's end cannot be read (fetches answer "
      "CORRUPT_MESSAGE); the next start recovers the segment, cutting it there",
      file.string(), reason, position, offset);
}

// ---- segments ----

struct PartitionLog::Segment {
  Segment(const fs::path& dir, int64_t base, uint32_t interval, FileCache& cache, DiskSpace* disk)
      : base_offset(base),
        log_path(dir / segment_file_name(base, kLogSuffix)),
        index_path(dir / segment_file_name(base, kIndexSuffix)),
        time_index_path(dir / segment_file_name(base, kTimeIndexSuffix)),
        log(cache, log_path),
        reservation(disk),
        index_builder(interval) {}

  int64_t base_offset;
  fs::path log_path;
  fs::path index_path;
  fs::path time_index_path;
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
  int64_t created_ms = wall_clock_ms();
  // What the roll worker has still to do to the files (settle_files).
  std::shared_ptr<SegmentFileWork> file_work;

  std::optional<TimestampOffset> last_time_entry() const {
    if (time_index.empty()) return std::nullopt;
    return time_index.back();
  }
};

PartitionLog::PartitionLog(fs::path dir, PartitionLogOptions options)
    : dir_(std::move(dir)),
      options_(std::move(options)),
      file_cache_(options_.file_cache
                      ? options_.file_cache
                      : std::make_shared<FileCache>(std::numeric_limits<size_t>::max())),
      disk_space_(options_.disk_space),
      roll_worker_(options_.roll_worker) {}

PartitionLog::~PartitionLog() {
  if (has_deferred_writes())
    if (Status written = write_deferred(); !written)
      spdlog::error("{}: deferred appends not written: {}", dir_.string(), written.error().message);
  drop_spare();
  // Rolled segments' last entries go in before the log lets go (a clean
  // shutdown's files are complete).
  finish_rolled_segments_now();
  // Entries not yet written cost the next start-up a longer scan only; a
  // closing log writes them when it can.
  if (segments_.empty()) return;
  if (Status written = write_pending_index_entries(*segments_.back()); !written)
    spdlog::warn("{}: index entries not written: {}", dir_.string(), written.error().message);
  release_reservation();
}

int64_t PartitionLog::log_start_offset() const {
  const int64_t first = segments_.empty() ? next_offset_ : segments_.front()->base_offset;
  return std::max(first, std::min(start_offset_floor_, next_offset_));
}

Result<size_t> PartitionLog::advance_log_start_offset(int64_t offset) {
  offset = std::min(offset, next_offset_);
  if (offset <= log_start_offset()) return size_t{0};
  start_offset_floor_ = offset;
  size_t deleted = 0;
  while (segments_.size() > 1 && segments_[1]->base_offset <= offset) {
    if (Status gone = delete_oldest_segment(); !gone) return gone.error();
    ++deleted;
  }
  return deleted;
}

size_t PartitionLog::segment_count() const { return segments_.size(); }

std::vector<int64_t> PartitionLog::segment_base_offsets() const {
  std::vector<int64_t> out;
  for (const auto& s : segments_) out.push_back(s->base_offset);
  return out;
}

Status PartitionLog::delete_oldest_segment() {
  if (segments_.size() < 2) return Error{dir_.string() + ": the active segment cannot be deleted"};
  // Its index files are renamed below: the worker's renames come first.
  if (Status settled = settle_files(*segments_.front()); !settled) return settled;
  std::unique_ptr<Segment> oldest = std::move(segments_.front());
  segments_.erase(segments_.begin());
  if (damage_ && damage_->segment_base_offset == oldest->base_offset) damage_.reset();
  // Gone: nothing of it is left to sync (without flushes, the list would
  // otherwise grow with every segment ever rolled). The list is in roll
  // order: the oldest segment's entry, if any, comes first.
  if (!rolled_unsynced_data_.empty() && !rolled_unsynced_data_.front().file &&
      rolled_unsynced_data_.front().path == oldest->log_path)
    rolled_unsynced_data_.pop_front();
  // Renamed first, as Kafka does: a rename is cheap where the unlink frees
  // the blocks, and after a crash the next load knows what to delete.
  std::vector<fs::path> renamed;
  // The aborted-transaction index goes with it when it has one.
  fs::path txn_index_path = dir_ / segment_file_name(oldest->base_offset, kTxnIndexSuffix);
  for (const fs::path* path :
       {&oldest->log_path, &oldest->index_path, &oldest->time_index_path, &txn_index_path}) {
    fs::path deleted = *path;
    deleted += kDeletedSuffix;
    if (::rename(path->c_str(), deleted.c_str()) == 0) {
      renamed.push_back(std::move(deleted));
    } else if (errno != ENOENT) {
      const int error = errno;
      remove_files(std::move(renamed));
      return Error{fmt::format("cannot rename {} to {}: {}", path->string(), deleted.string(),
                               std::strerror(error))};
    }
  }
  remove_files(std::move(renamed));
  return {};
}

void PartitionLog::remove_files(std::vector<fs::path> paths) {
  if (options_.file_remover) {
    options_.file_remover->remove(std::move(paths));
    return;
  }
  for (const fs::path& path : paths) {
    std::error_code ec;
    fs::remove(path, ec);
    if (ec) spdlog::warn("cannot delete {}: {}", path.string(), ec.message());
  }
}

uint64_t PartitionLog::size_bytes() const {
  uint64_t total = 0;
  for (const auto& s : segments_) total += s->size;
  return total;
}

Result<int64_t> PartitionLog::largest_timestamp(Segment& segment) {
  if (&segment == segments_.back().get()) {
    // The active segment's time index may lag its newest batches.
    if (segment.index_builder.max_timestamp().timestamp >= 0)
      return segment.index_builder.max_timestamp().timestamp;
  } else {
    if (Status indexed = ensure_index(segment); !indexed) return indexed.error();
    // Time index entries hold the largest timestamp so far, and a rolled
    // segment's last entry is its max timestamp.
    if (!segment.time_index.empty() && segment.time_index.back().timestamp >= 0)
      return segment.time_index.back().timestamp;
  }
  struct stat st {};
  if (::stat(segment.log_path.c_str(), &st) != 0)
    return Error{fmt::format("cannot stat {}: {}", segment.log_path.string(),
                             std::generic_category().message(errno))};
  return int64_t{st.st_mtim.tv_sec} * 1000 + st.st_mtim.tv_nsec / 1000000;
}

Result<size_t> PartitionLog::delete_expired_segments(const RetentionLimits& limits, int64_t now_ms,
                                                     size_t max_segments) {
  size_t deleted = 0;
  // An empty active segment is never deleted; a full one is, after a roll.
  auto deletable = [&] {
    return deleted < max_segments && (segments_.size() > 1 || segments_.front()->size > 0);
  };
  auto delete_oldest = [&]() -> Status {
    if (segments_.size() == 1) {
      Status rolled = roll(next_offset_);
      if (!rolled) return rolled;
    }
    return delete_oldest_segment();
  };
  while (limits.retention_ms >= 0 && !segments_.empty() && deletable()) {
    auto largest = largest_timestamp(*segments_.front());
    if (!largest) return largest.error();
    if (now_ms - *largest <= limits.retention_ms) break;
    if (Status removed = delete_oldest(); !removed) return removed.error();
    ++deleted;
  }
  if (limits.retention_bytes >= 0 && !segments_.empty()) {
    // The whole breach moves the start offset at once, as in Kafka, though
    // its files may go over several calls: a client never reads a start
    // offset that the rest of this pass then takes away.
    auto size = static_cast<int64_t>(size_bytes());
    size_t breaching = 0;
    for (int64_t left = size; breaching < segments_.size(); ++breaching) {
      const Segment& segment = *segments_[breaching];
      const bool active = breaching + 1 == segments_.size();
      if ((active && segment.size == 0) ||
          left - static_cast<int64_t>(segment.size) < limits.retention_bytes)
        break;
      left -= static_cast<int64_t>(segment.size);
    }
    if (breaching > 0) {
      const int64_t first_kept =
          breaching < segments_.size() ? segments_[breaching]->base_offset : next_offset_;
      start_offset_floor_ = std::max(start_offset_floor_, first_kept);
    }
    for (; breaching > 0 && deletable(); --breaching) {
      if (Status removed = delete_oldest(); !removed) return removed.error();
      ++deleted;
    }
  }
  return deleted;
}

Result<std::shared_ptr<OpenFile>> PartitionLog::log_file(Segment& segment) {
  return segment.log.get();
}

Result<std::unique_ptr<PartitionLog>> PartitionLog::open(const fs::path& dir,
                                                         PartitionLogOptions options,
                                                         RecoveryHint hint) {
  std::unique_ptr<PartitionLog> log(new PartitionLog(dir, std::move(options)));
  Status loaded = log->load(hint);
  if (!loaded) return loaded.error();
  return log;
}

Result<std::unique_ptr<PartitionLog>> PartitionLog::create(const fs::path& log_dir,
                                                           std::string_view topic,
                                                           int32_t partition, const Uuid& topic_id,
                                                           PartitionLogOptions options) {
  const fs::path dir = log_dir / partition_dir_name(topic, partition);
  std::error_code ec;
  const bool existed = fs::exists(dir, ec);
  if (Status created = create_files(log_dir, topic, partition, topic_id); !created)
    return created.error();
  if (!existed) {
    Status synced = detail::sync_directory(log_dir);
    if (!synced) return synced.error();
  }
  return open(dir, std::move(options));
}

namespace {

// partition.metadata of `dir`, or nullopt when there is none.
Result<std::optional<PartitionMetadata>> read_partition_metadata(const fs::path& dir) {
  const fs::path path = dir / kPartitionMetadataFile;
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::optional<PartitionMetadata>();
  auto text = detail::read_text_file(path);
  if (!text) return text.error();
  auto metadata = parse_partition_metadata(*text);
  if (!metadata) return Error{fmt::format("{}: {}", path.string(), metadata.error().message)};
  return std::optional<PartitionMetadata>(*metadata);
}

}  // namespace

Status PartitionLog::create_files(const fs::path& log_dir, std::string_view topic,
                                  int32_t partition, const Uuid& topic_id) {
  const fs::path dir = log_dir / partition_dir_name(topic, partition);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Error{fmt::format("cannot create {}: {}", dir.string(), ec.message())};
  auto existing = read_partition_metadata(dir);
  if (!existing) return existing.error();
  if (*existing && (*existing)->topic_id != topic_id)
    return Error{fmt::format("{} holds topic id {}, not {}", dir.string(),
                             (*existing)->topic_id.to_base64(), topic_id.to_base64())};
  if (!*existing) {
    // A crash leaves the whole file or none, never a torn one; the directory
    // is synced below.
    Status written = detail::write_file_atomically(dir / kPartitionMetadataFile,
                                                   format_partition_metadata({0, topic_id}), false);
    if (!written) return written;
  }
  bool has_segment = false;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (detail::parse_offset_file_name(entry.path().filename().string(), kLogSuffix))
      has_segment = true;
  if (ec) return Error{fmt::format("cannot list {}: {}", dir.string(), ec.message())};
  // A new partition's leader starts at epoch 0 from offset 0, which Kafka
  // records in its epoch cache as it becomes leader. Not for the metadata
  // log: Kafka recovers it whole at every start, its epochs with it.
  if (!has_segment && dir.filename() != fs::path(kMetadataPartitionDir) &&
      !fs::exists(dir / kLeaderEpochCheckpointFile, ec)) {
    const LeaderEpochEntry first{0, 0};
    Status written = detail::write_file_atomically(
        dir / kLeaderEpochCheckpointFile, format_leader_epoch_checkpoint({&first, 1}), false);
    if (!written) return written;
  }
  if (!has_segment) {
    // The first segment's files, empty (an index file that is there already
    // belongs to no data: kept as it is).
    for (std::string_view suffix : {kLogSuffix, kIndexSuffix, kTimeIndexSuffix}) {
      const fs::path path = dir / segment_file_name(0, suffix);
      auto file = FileHandle::open(path, O_RDWR | O_CREAT);
      if (!file) return file.error();
    }
  }
  // One sync makes the new entries durable: partition.metadata, the leader epoch
  // checkpoint and the segment files.
  return detail::sync_directory(dir);
}

Status PartitionLog::load(const RecoveryHint& hint) {
  std::error_code ec;
  fs::directory_iterator entries(dir_, ec);
  if (ec) return Error{fmt::format("cannot list {}: {}", dir_.string(), ec.message())};
  std::vector<int64_t> bases;
  std::vector<fs::path> stray_deleted;
  std::vector<fs::path> stray_spares;
  for (const auto& entry : entries) {
    const std::string name = entry.path().filename().string();
    if (auto base = detail::parse_offset_file_name(name, kLogSuffix)) bases.push_back(*base);
    // Files a deletion renamed and a crash left behind, as Kafka's LogLoader
    // deletes them (regular files only; KRaft snapshots excepted: the
    // metadata log's own).
    std::error_code type_ec;
    if (name.ends_with(kDeletedSuffix) && !name.ends_with(kDeletedSnapshotSuffix) &&
        entry.is_regular_file(type_ec))
      stray_deleted.push_back(entry.path());
    // A spare segment's files (roll_worker.hpp) that a stop left unused.
    if (is_spare_file_name(name) && entry.is_regular_file(type_ec))
      stray_spares.push_back(entry.path());
  }
  std::sort(bases.begin(), bases.end());
  if (!stray_deleted.empty()) {
    spdlog::info("{}: deleting {} files a segment deletion left (*{})", dir_.string(),
                 stray_deleted.size(), kDeletedSuffix);
    remove_files(std::move(stray_deleted));
  }
  if (!stray_spares.empty()) {
    spdlog::info("{}: deleting {} files of a segment made ahead of a roll and left unused",
                 dir_.string(), stray_spares.size());
    // Through the roll worker, in turn with the spares it makes here next.
    if (roll_worker_) {
      roll_worker_->remove(std::move(stray_spares));
    } else {
      for (const fs::path& path : stray_spares) {
        std::error_code remove_ec;
        fs::remove(path, remove_ec);
      }
    }
  }

  auto metadata = read_partition_metadata(dir_);
  if (!metadata) return metadata.error();
  if (*metadata) topic_id_ = (*metadata)->topic_id;

  for (int64_t base : bases) {
    auto segment = std::make_unique<Segment>(dir_, base, options_.index_interval_bytes,
                                             *file_cache_, disk_space_.get());
    segment->size = fs::file_size(segment->log_path, ec);
    if (ec)
      return Error{fmt::format("cannot stat {}: {}", segment->log_path.string(), ec.message())};
    segments_.push_back(std::move(segment));
  }
  if (segments_.empty()) {
    next_offset_ = 0;
    return {};
  }
  Status loaded;
  if (hint.clean_shutdown) {
    // Trust the files a clean shutdown left: read batch headers from the last
    // index entry to find the end, without checking CRCs.
    loaded = recover_active_segment(false);
    if (!loaded) {
      spdlog::warn("{}: {} despite a clean shutdown; recovering the log", dir_.string(),
                   loaded.error().message);
      loaded = hint.recovery_point ? recover_from(*hint.recovery_point) : recover_active_segment();
    } else if (hint.recovery_point && *hint.recovery_point < next_offset_) {
      // A clean shutdown writes the recovery point at the log end: offsets
      // past it are damage (a changed base offset) or a log that was never
      // recovered since an unclean stop.
      spdlog::warn(
          "{}: log end offset {} found past the recovery point {} of a clean shutdown; recovering "
          "the log from there",
          dir_.string(), next_offset_, *hint.recovery_point);
      loaded = recover_from(*hint.recovery_point);
    } else if (hint.recovery_point && *hint.recovery_point > next_offset_) {
      spdlog::error(
          "{}: the log ends at offset {}, before the recovery point {} of a clean shutdown: "
          "records were lost from its files",
          dir_.string(), next_offset_, *hint.recovery_point);
    } else {
      spdlog::debug("{}: clean shutdown, log end offset {} found without recovery", dir_.string(),
                    next_offset_);
    }
  } else if (hint.recovery_point) {
    loaded = recover_from(*hint.recovery_point);
  } else {
    // Nothing says how the files were left: the active segment's index
    // entries may name batches a crash lost (or be garbage that still looks
    // like entries), so they are rebuilt from the log before it is scanned.
    Segment& active = *segments_.back();
    loaded = ensure_index(active);
    if (loaded) loaded = rebuild_index(active, InvalidTail::truncate);
    if (loaded) loaded = recover_active_segment();
  }
  if (!loaded) return loaded;
  Segment& active = *segments_.back();
  active.writeback_end = active.size;  // written back or synced already
  // Space a reservation held past the last batch when the broker stopped
  // (a crash leaves it behind) is given back.
  if (auto file = log_file(active); file && !trim_space_past_end((*file)->fd(), active.size))
    spdlog::warn("{}: cannot give back the space reserved past its end: {}",
                 active.log_path.string(), std::strerror(errno));
  // What is in the files now was either synced before, or checked by the
  // recovery (and may be lost again to a crash only if it was never synced:
  // Kafka counts it as flushed once recovered, too).
  flushed_offset_ = recovery_point_ = next_offset_;
  return {};
}

// Kafka's recovery: every segment holding offsets at or after the recovery
// point is scanned whole with CRC checks and its indexes rebuilt, and cut at
// its first invalid batch. Kafka then deletes every later segment; here they
// are kept (each is recovered the same way, and holds acknowledged records),
// so only the damaged segment's tail is lost. Index entries name a batch's last
// offset: entries below the recovery point were synced with the data they
// name. When all of the active segment's entries are, its last offset entry is
// where the scan starts; one at or past the recovery point was maybe never
// synced, or names a batch lost since, so the segment is rebuilt.
Status PartitionLog::recover_from(int64_t recovery_point) {
  Segment& active = *segments_.back();
  for (size_t i = 0; i < segments_.size(); ++i) {
    Segment& segment = *segments_[i];
    const bool is_active = i + 1 == segments_.size();
    // Wholly before the recovery point: on disk already.
    if (!is_active && segments_[i + 1]->base_offset <= recovery_point) continue;
    if (is_active) {
      Status indexed = ensure_index(active);
      if (!indexed) return indexed;
      const bool index_trusted =
          recovery_point >= active.base_offset &&
          (active.index.empty() || active.index.back().offset < recovery_point) &&
          (active.time_index.empty() || active.time_index.back().offset < recovery_point);
      if (!index_trusted) {
        spdlog::info("{}: recovering segment {} from the recovery point {}", dir_.string(),
                     segment.log_path.filename().string(), recovery_point);
        Status rebuilt = rebuild_index(active, InvalidTail::truncate);
        if (!rebuilt) return rebuilt;
      }
      return recover_active_segment();
    }
    spdlog::info("{}: recovering segment {} (after the recovery point {})", dir_.string(),
                 segment.log_path.filename().string(), recovery_point);
    segment.index_loaded = false;
    Status rebuilt = rebuild_index(segment, InvalidTail::truncate);
    if (!rebuilt) return rebuilt;
  }
  return {};
}

namespace {

// Reads an index file; nullopt when it does not exist.
Result<std::optional<std::vector<uint8_t>>> read_optional_file(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::optional<std::vector<uint8_t>>();
  auto bytes = detail::read_file_bytes(path);
  if (!bytes) return bytes.error();
  return std::optional<std::vector<uint8_t>>(std::move(*bytes));
}

// Whether an index entry points at the start of a batch that fits it: the
// batch (first of the append the entry describes) begins at or before the
// entry's offset and the whole batch is inside the file.
bool entry_points_at_batch(const OpenFile& file, uint64_t segment_size, const OffsetPosition& e) {
  uint8_t header_bytes[batch_layout::kHeaderSize];
  if (e.position + batch_layout::kHeaderSize > segment_size) return false;
  if (!detail::pread_exact(file.fd(), e.position, header_bytes, file.path())) return false;
  auto header = RecordBatchHeader::parse(header_bytes);
  return header && header->magic == batch_layout::kMagicV2 &&
         header->batch_length >= batch_layout::kMinBatchLength &&
         e.position + header->size_in_bytes() <= segment_size && header->base_offset <= e.offset &&
         header->last_offset() <= e.offset;
}

}  // namespace

// Loads the index files of `segment` when they can be trusted.
Status PartitionLog::ensure_index(Segment& segment) {
  if (segment.index_loaded) return {};
  if (segment.size == 0) {
    // Nothing to index. Its files are not read: Kafka preallocates them
    // (10 MiB each) and a crash leaves them so, which for the many empty
    // partitions of __consumer_offsets made start-up read gigabytes of zeros.
    // Appends write entries from their start, as into preallocated space.
    segment.index.clear();
    segment.time_index.clear();
    segment.index_entries_written = 0;
    segment.time_index_entries_written = 0;
    segment.index_loaded = true;
    return {};
  }
  auto file = log_file(segment);
  if (!file) return file.error();
  auto index_bytes = read_optional_file(segment.index_path);
  if (!index_bytes) return index_bytes.error();
  auto time_bytes = read_optional_file(segment.time_index_path);
  if (!time_bytes) return time_bytes.error();

  std::optional<std::vector<OffsetPosition>> index;
  std::optional<std::vector<TimestampOffset>> time_index;
  std::string_view problem;
  if (!*index_bytes) {
    problem = "missing";
  } else {
    index = parse_offset_index(**index_bytes, segment.base_offset, segment.size);
    if (!index) {
      problem = "inconsistent";
    } else if (!index->empty() && !entry_points_at_batch(**file, segment.size, index->back())) {
      problem = "pointing at no batch";
      index.reset();
    }
  }
  if (index) {
    if (*time_bytes)
      time_index = parse_time_index(**time_bytes, segment.base_offset);
    else
      time_index.emplace();  // a missing time index only loses timestamp lookups' speed-up
    if (!time_index) {
      problem = "inconsistent (time index)";
      index.reset();
    }
  }
  if (!index) {
    // An empty segment without index files needs no warning.
    if (segment.size > 0 || *index_bytes)
      spdlog::warn("{}: index {}; rebuilding it from the log", segment.index_path.string(),
                   problem);
    // Only the active segment may end in a torn write; damage in an older one
    // found while serving is reported (the log is damaged from there) and left
    // for the next start's recovery to cut.
    return rebuild_index(
        segment, &segment == segments_.back().get() ? InvalidTail::truncate : InvalidTail::report);
  }
  segment.index = std::move(*index);
  segment.time_index = std::move(*time_index);
  segment.index_entries_written = segment.index.size();
  segment.time_index_entries_written = segment.time_index.size();
  segment.index_loaded = true;
  return {};
}

// Scans the whole segment, as Kafka's recovery does, building both indexes and
// writing them out. The bytes after the last valid batch are cut from the file
// (InvalidTail::truncate), or make the log damaged there (report).
Status PartitionLog::rebuild_index(Segment& segment, InvalidTail invalid_tail) {
  auto file = log_file(segment);
  if (!file) return file.error();
  const std::optional<int64_t> next_base = next_base_offset(segment);
  FileBatchReader reader((*file)->fd(), segment.log_path, 0, segment.size);
  reader.check_offsets(segment.base_offset, next_base, contiguous_offsets(segment));
  int64_t valid_end_offset = segment.base_offset;
  SegmentIndexBuilder builder(options_.index_interval_bytes);
  std::vector<OffsetPosition> index;
  std::vector<TimestampOffset> time_index;
  for (;;) {
    auto step = reader.next(true, CrcCheck::verify);
    if (step == FileBatchReader::Step::io_error) return reader.io_error();
    if (step != FileBatchReader::Step::batch) break;
    const RecordBatchHeader& h = reader.header();
    valid_end_offset = h.next_offset();
    auto added = builder.add_batch(
        static_cast<uint32_t>(reader.batch_position()), static_cast<uint32_t>(h.size_in_bytes()),
        h.last_offset(), h.max_timestamp,
        time_index.empty() ? std::nullopt : std::optional(time_index.back()));
    if (added.offset_entry) index.push_back(*added.offset_entry);
    if (added.time_entry) time_index.push_back(*added.time_entry);
  }
  const uint64_t valid = reader.position();
  if (reader.error() != BatchError::none) {
    if (invalid_tail == InvalidTail::truncate) {
      spdlog::warn(
          "{}: {} at byte {}; truncating the {} bytes after it (recovery): offsets from {}{} are "
          "lost",
          segment.log_path.string(), to_string(reader.error()), valid, segment.size - valid,
          valid_end_offset,
          next_base ? fmt::format(" to {} (the next segment's base offset)", *next_base - 1)
                    : std::string());
      Status truncated = detail::truncate_file((*file)->fd(), valid, segment.log_path);
      if (!truncated) return truncated;
    } else {
      note_damage(segment, valid, to_string(reader.error()), valid_end_offset);
    }
    segment.size = valid;
  }
  if (auto final_entry = builder.final_time_entry(
          time_index.empty() ? std::nullopt : std::optional(time_index.back())))
    time_index.push_back(*final_entry);

  // Write the rebuilt files; failing to (say, a read-only directory) only
  // costs the next open another scan.
  auto write_index = [&](const fs::path& path, std::vector<uint8_t> bytes) {
    Status written = detail::write_file_atomically(
        path, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
    if (!written) spdlog::warn("cannot rewrite {}: {}", path.string(), written.error().message);
  };
  std::vector<uint8_t> index_bytes, time_bytes;
  for (const auto& e : index) {
    uint8_t entry[kOffsetIndexEntrySize];
    encode_offset_index_entry(e, segment.base_offset, entry);
    index_bytes.insert(index_bytes.end(), std::begin(entry), std::end(entry));
  }
  for (const auto& e : time_index) {
    uint8_t entry[kTimeIndexEntrySize];
    encode_time_index_entry(e, segment.base_offset, entry);
    time_bytes.insert(time_bytes.end(), std::begin(entry), std::end(entry));
  }
  write_index(segment.index_path, std::move(index_bytes));
  write_index(segment.time_index_path, std::move(time_bytes));

  segment.index = std::move(index);
  segment.time_index = std::move(time_index);
  segment.index_entries_written = segment.index.size();
  segment.time_index_entries_written = segment.time_index.size();
  segment.index_builder = builder;
  segment.index_loaded = true;
  return {};
}

// Finds the log end offset: scans the active segment from its last index
// entry (CRC-checked), truncating a torn or corrupt tail.
Status PartitionLog::recover_active_segment(bool verify_crc) {
  Segment& active = *segments_.back();
  Status indexed = ensure_index(active);
  if (!indexed) return indexed;
  auto file = log_file(active);
  if (!file) return file.error();

  const uint64_t start = active.index.empty() ? 0 : active.index.back().position;
  FileBatchReader reader((*file)->fd(), active.log_path, start, active.size);
  reader.check_offsets(active.base_offset, std::nullopt, contiguous_offsets(active));
  int64_t next = active.base_offset;
  TimestampOffset max_timestamp =
      active.time_index.empty() ? TimestampOffset{} : active.time_index.back();
  bool saw_batch = false;
  for (;;) {
    auto step = reader.next(verify_crc, verify_crc ? CrcCheck::verify : CrcCheck::skip);
    if (step == FileBatchReader::Step::io_error) return reader.io_error();
    if (step != FileBatchReader::Step::batch) break;
    const RecordBatchHeader& h = reader.header();
    saw_batch = true;
    next = h.next_offset();
    if (h.max_timestamp > max_timestamp.timestamp)
      max_timestamp = {h.max_timestamp, h.last_offset()};
  }
  if (reader.error() != BatchError::none && !verify_crc)
    return Error{fmt::format("{}: {} at byte {}", active.log_path.string(),
                             to_string(reader.error()), reader.position())};
  if (reader.error() != BatchError::none) {
    if (start > 0 && !saw_batch) {
      // The indexed batch itself is bad: trust nothing, rescan everything.
      Status rebuilt = rebuild_index(active, InvalidTail::truncate);
      if (!rebuilt) return rebuilt;
      return recover_active_segment();
    }
    spdlog::warn(
        "{}: {} at byte {}; truncating the {} bytes after it (crash recovery): the log ends at "
        "offset {}",
        active.log_path.string(), to_string(reader.error()), reader.position(),
        active.size - reader.position(), next);
    Status truncated = detail::truncate_file((*file)->fd(), reader.position(), active.log_path);
    if (!truncated) return truncated;
    active.size = reader.position();
  }
  // Appends go at active.size: nothing stale may follow it in the file.
  auto on_disk = detail::file_size((*file)->fd(), active.log_path);
  if (!on_disk) return on_disk.error();
  if (*on_disk > active.size) {
    Status truncated = detail::truncate_file((*file)->fd(), active.size, active.log_path);
    if (!truncated) return truncated;
  }
  next_offset_ = next;
  const uint64_t last_entry_position = active.index.empty() ? 0 : active.index.back().position;
  active.index_builder = SegmentIndexBuilder(options_.index_interval_bytes);
  active.index_builder.resume(active.size - last_entry_position, max_timestamp);
  return {};
}

std::optional<int64_t> PartitionLog::next_base_offset(const Segment& segment) const {
  return next_base_offset_after(segment.base_offset);
}

bool PartitionLog::damaged_at(int64_t offset) const {
  if (!damage_ || offset < damage_->offset) return false;
  const auto damaged_end = next_base_offset_after(damage_->segment_base_offset);
  return !damaged_end || offset < *damaged_end;
}

std::optional<int64_t> PartitionLog::next_base_offset_after(int64_t base_offset) const {
  auto after = std::upper_bound(
      segments_.begin(), segments_.end(), base_offset,
      [](int64_t offset, const std::unique_ptr<Segment>& s) { return offset < s->base_offset; });
  if (after == segments_.end()) return std::nullopt;
  return (*after)->base_offset;
}

bool PartitionLog::contiguous_offsets(const Segment& segment) const {
  return !options_.compacted && !segments_.empty() && &segment == segments_.back().get();
}

void PartitionLog::note_damage(Segment& segment, uint64_t position, std::string_view reason,
                               std::optional<int64_t> offset) {
  LogDamage found{segment.log_path, position, segment.base_offset, segment.base_offset,
                  std::string(reason)};
  if (offset) {
    found.offset = *offset;
  } else if (auto file = log_file(segment)) {
    // The last batch readable from the segment's start: a read that started
    // at an index entry knows only where it met the damage.
    FileBatchReader reader((*file)->fd(), segment.log_path, 0, position, kHeaderScanReadAhead);
    reader.check_offsets(segment.base_offset, next_base_offset(segment),
                         contiguous_offsets(segment));
    FileBatchReader::Step step;
    while ((step = reader.next(false, CrcCheck::skip)) == FileBatchReader::Step::batch)
      found.offset = reader.header().next_offset();
    if (step == FileBatchReader::Step::bad) {
      found.position = reader.position();
      found.reason = to_string(reader.error());
    }
  }
  if (damage_ && damage_->offset <= found.offset) return;
  damage_ = std::move(found);
  recovery_point_ = std::min(recovery_point_, recovery_point_limit());
  spdlog::error("{}", damage_->describe());
}

// Can be tried again after a failure (an empty file left behind is taken).
// Without sync_dir, the caller has the directory synced later.
Status PartitionLog::create_segment(int64_t base_offset, bool sync_dir, bool index_files_later) {
  auto segment = std::make_unique<Segment>(dir_, base_offset, options_.index_interval_bytes,
                                           *file_cache_, disk_space_.get());
  auto file = file_cache_->open(segment->log_path, O_RDWR | O_CREAT);
  if (!file) return file.error();
  auto size = detail::file_size((*file)->fd(), segment->log_path);
  if (!size) return size.error();
  if (*size != 0)
    return Error{fmt::format("cannot start segment {}: the file exists and is not empty",
                             segment->log_path.string())};
  segment->log.adopt(std::move(*file));
  auto slot = index_files_later && roll_worker_ ? file_cache_->reserve_slot()
                                                : Result<FileSlot>(Error{"not asked for"});
  if (slot) {
    // A file created costs a journal update, milliseconds on a busy ext4:
    // one on the loop instead of three, the others on the worker with a
    // descriptor of the budget. Nothing opens the index files before
    // settle_files, as after a roll into a spare.
    auto work = std::make_shared<SegmentFileWork>();
    work->slot = std::move(*slot);
    work->renames.push_back({{}, segment->index_path});
    work->renames.push_back({{}, segment->time_index_path});
    segment->file_work = work;
    roll_worker_->run_later(std::move(work));
  } else {
    for (const fs::path* p : {&segment->index_path, &segment->time_index_path}) {
      auto f = FileHandle::open(*p, O_RDWR | O_CREAT | O_TRUNC);
      if (!f) return f.error();
    }
  }
  if (sync_dir) {
    Status synced = detail::sync_directory(dir_);
    if (!synced) return synced;
  }
  segment->index_loaded = true;
  segments_.push_back(std::move(segment));
  return {};
}

namespace {

// Writes entries[written..] at their place in `file`, in one write.
template <class Entry, size_t N>
Status write_entries_from(const std::vector<Entry>& entries, size_t& written, int64_t base_offset,
                          void (*encode)(const Entry&, int64_t, uint8_t (&)[N]), int fd,
                          const fs::path& path) {
  if (written >= entries.size()) return {};
  std::vector<uint8_t> bytes;
  bytes.reserve(N * (entries.size() - written));
  for (size_t i = written; i < entries.size(); ++i) {
    uint8_t entry[N];
    encode(entries[i], base_offset, entry);
    bytes.insert(bytes.end(), std::begin(entry), std::end(entry));
  }
  Status done = detail::pwrite_all(fd, written * N, bytes, path);
  if (done) written = entries.size();
  return done;
}

}  // namespace

// Opens the index files only for the write: a partition holds no descriptor
// for them between writes.
Status PartitionLog::write_pending_index_entries(Segment& segment) {
  if (segment.index_entries_written >= segment.index.size() &&
      segment.time_index_entries_written >= segment.time_index.size())
    return {};
  if (Status settled = settle_files(segment); !settled) return settled;
  Status ready = ensure_index(segment);
  if (!ready) return ready;
  if (segment.index_entries_written < segment.index.size()) {
    auto file = FileHandle::open(segment.index_path, O_RDWR | O_CREAT);
    if (!file) return file.error();
    Status written =
        write_entries_from(segment.index, segment.index_entries_written, segment.base_offset,
                           &encode_offset_index_entry, file->get(), segment.index_path);
    if (!written) return written;
  }
  if (segment.time_index_entries_written < segment.time_index.size()) {
    auto file = FileHandle::open(segment.time_index_path, O_RDWR | O_CREAT);
    if (!file) return file.error();
    return write_entries_from(segment.time_index, segment.time_index_entries_written,
                              segment.base_offset, &encode_time_index_entry, file->get(),
                              segment.time_index_path);
  }
  return {};
}

// Reserves the active segment's disk space for an append ending at `end`,
// and ahead of it as the write rate and the free space allow
// (disk_space.hpp). Only a hint: where the file system cannot (no space, no
// fallocate), appends allocate as they write and report any real shortage
// themselves.
void PartitionLog::preallocate(Segment& segment, int fd, uint64_t end) {
  if (options_.preallocate_bytes == 0 || preallocation_failed_) return;
  ReservationRequest request;
  request.size = segment.size;
  request.reserved_end = segment.reservation.end();
  request.needed_end = end;
  request.recent_bytes = write_rate_.recent(steady_clock_ms());
  request.max_ahead = options_.preallocate_bytes;
  request.segment_bytes = options_.segment_bytes;
  if (segment.reservation.reserve(fd, request) == SegmentReservation::Outcome::unsupported) {
    spdlog::debug("{}: no preallocation on this file system; appends allocate as they go",
                  segment.log_path.string());
    preallocation_failed_ = true;
  }
}

// A rolled segment gives back the space reserved past its end.
void PartitionLog::release_preallocation(Segment& segment) {
  segment.reservation.release(segment.log_path, segment.size);
}

void PartitionLog::release_reservation() {
  drop_spare();
  if (segments_.empty() || has_deferred_writes() || write_failed_) return;
  release_preallocation(*segments_.back());
}

bool PartitionLog::release_reservation_if_quiet(int64_t quiet_ms) {
  if ((!holds_reservation() && !spare_) || has_deferred_writes()) return false;
  if (auto last = write_rate_.last_append_ms(); last && steady_clock_ms() - *last < quiet_ms)
    return false;
  release_reservation();
  return !holds_reservation();
}

bool PartitionLog::holds_reservation() const {
  return !segments_.empty() &&
         segments_.back()->reservation.holds_space_past(segments_.back()->size);
}

std::optional<WritebackRange> PartitionLog::take_writeback_range(uint64_t min_bytes) {
  if (segments_.empty()) return std::nullopt;
  Segment& active = *segments_.back();
  // Whole pages written: the partial last one is still being appended to.
  constexpr uint64_t kPage = 4096;
  const uint64_t written = deferred_pieces_.empty() ? active.size : deferred_at_;
  const uint64_t end = written / kPage * kPage;
  const std::shared_ptr<OpenFile>& file = active.log.if_open();
  if (!file || end < active.writeback_end + std::max<uint64_t>(min_bytes, 1)) return std::nullopt;
  WritebackRange range{file, active.writeback_end, end - active.writeback_end};
  active.writeback_end = end;
  return range;
}

// Each step that can fail (say, for want of a descriptor) comes before
// anything that would make trying again wrong.
Status PartitionLog::roll(int64_t new_base_offset) {
  if (Status written = write_deferred(); !written) return written;
  Segment& old = *segments_.back();
  RollWorker* worker = roll_worker_.get();
  // Its index files are in place before what is left of them is written: on
  // the worker, which runs a directory's jobs in order (finish_rolled).
  if (worker == nullptr)
    if (Status settled = settle_files(old); !settled) return settled;
  Status ready = ensure_index(old);
  if (!ready) return ready;
  // Kafka closes a segment's time index with its max timestamp (added once).
  if (auto final_entry = old.index_builder.final_time_entry(old.last_time_entry()))
    old.time_index.push_back(*final_entry);
  if (worker == nullptr) {
    Status written = write_pending_index_entries(old);
    if (!written) return written;
  }
  auto into_spare = roll_into_spare(new_base_offset);
  if (!into_spare) return into_spare.error();
  if (!*into_spare) {
    Status created = create_segment(new_base_offset, false, true);
    if (!created) return created;
  }
  // The rolled segment's size is final now: what is left of its files goes
  // to the worker (index entries, space past its end), or is done here.
  std::shared_ptr<SegmentFileWork> finish;
  if (worker != nullptr)
    finish = finish_rolled(old);
  else
    release_preallocation(old);
  // Synced by the next flush (Kafka flushes a rolled segment in the
  // background too): a sync of up to a segment's worth of data must not hold
  // up the append. By path: the rolled segment keeps no descriptor for it.
  // The directory too (the new segment's entry): the flush that makes the
  // new segment's data durable makes its name durable, off the loop.
  rolled_unsynced_data_.emplace_back(old.log_path);
  dir_unsynced_ = true;
  RolledIndexes& indexes = rolled_unsynced_indexes_.emplace_back();
  indexes.roll = rolls_++;
  indexes.base_offset = old.base_offset;
  // Nothing left to write: its files may still be being made.
  indexes.finish = finish ? std::move(finish) : old.file_work;
  indexes.files.emplace_back(old.index_path);
  indexes.files.emplace_back(old.time_index_path);
  return {};
}

Result<bool> PartitionLog::roll_into_spare(int64_t base_offset) {
  if (!spare_) return false;
  if (spare_->state() != SpareSegment::State::ready) {
    // Not made yet (or it could not be): the roll never waits for it.
    drop_spare();
    return false;
  }
  auto segment = std::make_unique<Segment>(dir_, base_offset, options_.index_interval_bytes,
                                           *file_cache_, disk_space_.get());
  // Never over a file of that name: the roll then finds it as it always did.
  if (::renameat2(AT_FDCWD, spare_->log_path().c_str(), AT_FDCWD, segment->log_path.c_str(),
                  RENAME_NOREPLACE) != 0) {
    spdlog::debug("{}: cannot rename {} to {}: {}; making the segment's files instead",
                  dir_.string(), spare_->log_path().string(), segment->log_path.string(),
                  std::strerror(errno));
    drop_spare();
    return false;
  }
  std::shared_ptr<SpareSegment> spare = std::move(spare_);
  spare_.reset();
  segment->log.adopt(spare->take_log(*file_cache_, segment->log_path));
  // The spare's reservation, counted since it was asked for, is the segment's.
  if (disk_space_) disk_space_->add_reserved(-static_cast<int64_t>(spare->reserve_bytes()));
  segment->reservation.adopt(spare->reserved());
  // The index files follow on the worker: nothing here opens them before
  // their first entries are written (settle_files).
  auto work = std::make_shared<SegmentFileWork>();
  work->renames.push_back({spare->index_path(), segment->index_path});
  work->renames.push_back({spare->time_index_path(), segment->time_index_path});
  segment->file_work = work;
  roll_worker_->run_later(std::move(work));
  segment->index_loaded = true;
  segments_.push_back(std::move(segment));
  return true;
}

void PartitionLog::prepare_spare_if_due() {
  if (!roll_worker_ || spare_ || segments_.empty() ||
      segments_.back()->size < options_.segment_bytes / 2)
    return;
  // Its descriptor counts in the budget from now on; with none to spare, the
  // roll makes its files itself.
  auto slot = file_cache_->reserve_slot();
  if (!slot) return;
  // The new segment's first reservation, made with its file: as much as an
  // append would reserve (disk_space.hpp), counted from now on.
  uint64_t reserve = 0;
  if (options_.preallocate_bytes > 0 && !preallocation_failed_) {
    ReservationRequest request;
    request.needed_end = 1;
    request.recent_bytes = write_rate_.recent(steady_clock_ms());
    request.max_ahead = options_.preallocate_bytes;
    request.segment_bytes = options_.segment_bytes;
    if (auto plan = plan_reservation(request))
      reserve = disk_space_ ? disk_space_->grantable(plan->end) : plan->end;
    if (disk_space_ && reserve > 0) disk_space_->add_reserved(static_cast<int64_t>(reserve));
  }
  spare_ = std::make_shared<SpareSegment>(dir_, std::move(*slot), reserve);
  roll_worker_->prepare(spare_);
}

void PartitionLog::drop_spare() {
  if (!spare_) return;
  std::shared_ptr<SpareSegment> spare = std::move(spare_);
  spare_.reset();
  if (disk_space_) disk_space_->add_reserved(-static_cast<int64_t>(spare->reserve_bytes()));
  if (spare->drop()) roll_worker_->discard(std::move(spare));
}

namespace {

// entries[written..] as they go in the file, from `position`.
template <class Entry, size_t N>
SegmentFileWork::Entries pending_entries(const std::vector<Entry>& entries, size_t& written,
                                         int64_t base_offset,
                                         void (*encode)(const Entry&, int64_t, uint8_t (&)[N]),
                                         const fs::path& path) {
  SegmentFileWork::Entries out{path, written * N, {}};
  out.bytes.reserve(N * (entries.size() - std::min(written, entries.size())));
  for (size_t i = written; i < entries.size(); ++i) {
    uint8_t entry[N];
    encode(entries[i], base_offset, entry);
    out.bytes.insert(out.bytes.end(), std::begin(entry), std::end(entry));
  }
  written = std::max(written, entries.size());
  return out;
}

}  // namespace

std::shared_ptr<SegmentFileWork> PartitionLog::finish_rolled(Segment& rolled) {
  auto finish = std::make_shared<SegmentFileWork>();
  finish->indexes.push_back(pending_entries(rolled.index, rolled.index_entries_written,
                                            rolled.base_offset, &encode_offset_index_entry,
                                            rolled.index_path));
  finish->indexes.push_back(pending_entries(rolled.time_index, rolled.time_index_entries_written,
                                            rolled.base_offset, &encode_time_index_entry,
                                            rolled.time_index_path));
  finish->log_path = rolled.log_path;
  finish->log_size = rolled.size;
  finish->trim_log = rolled.reservation.holds_space_past(rolled.size);
  // Given back now as far as the count goes; the worker frees the blocks.
  rolled.reservation.truncated(rolled.size);
  if (!finish->trim_log && finish->indexes[0].bytes.empty() && finish->indexes[1].bytes.empty())
    return nullptr;
  // Its index files may still be being made: that comes first.
  finish->after = std::move(rolled.file_work);
  rolled.file_work = finish;
  roll_worker_->run_later(finish);
  return finish;
}

Status PartitionLog::settle_files(Segment& segment) {
  if (!segment.file_work) return {};
  Status done = segment.file_work->finish_now();
  if (!done) {
    spdlog::warn("{}: {}; trying again", segment.log_path.string(), done.error().message);
    done = segment.file_work->run_again();
  }
  if (done) segment.file_work.reset();
  return done;
}

void PartitionLog::finish_rolled_segments_now() {
  for (auto& segment : segments_)
    if (Status settled = settle_files(*segment); !settled)
      spdlog::warn("{}: {}", segment->log_path.string(), settled.error().message);
  // Deleted segments' too: nothing is written to their files after this.
  for (auto& rolled : rolled_unsynced_indexes_)
    if (rolled.finish) (void)rolled.finish->finish_now();
}

bool PartitionLog::should_roll_for_time(Segment& segment, int64_t incoming_max_timestamp) {
  if (!segment.rolling_timestamp) {
    // A segment found on disk: its first batch's max timestamp.
    segment.rolling_timestamp = -1;
    uint8_t header_bytes[batch_layout::kHeaderSize];
    auto file = segment.size >= batch_layout::kHeaderSize
                    ? log_file(segment)
                    : Result<std::shared_ptr<OpenFile>>(Error{"empty segment"});
    if (file && detail::pread_exact((*file)->fd(), 0, header_bytes, segment.log_path)) {
      if (auto header = RecordBatchHeader::parse(header_bytes))
        segment.rolling_timestamp = header->max_timestamp;
    }
  }
  const int64_t waited = *segment.rolling_timestamp >= 0
                             ? incoming_max_timestamp - *segment.rolling_timestamp
                             : wall_clock_ms() - segment.created_ms;
  return waited > options_.roll_ms;
}

Result<AppendResult> PartitionLog::append(Bytes batches, int32_t leader_epoch,
                                          std::optional<int64_t> log_append_time,
                                          AppendWrite when) {
  if (write_failed_) return Error{dir_.string() + ": an earlier write failed"};
  if (damage_ && !next_base_offset_after(damage_->segment_base_offset))
    return Error{"appends refused, no fetch could reach them: " + damage_->describe()};
  struct Incoming {
    size_t at;
    size_t size;
    int32_t last_offset_delta;
    int64_t max_timestamp;
  };
  std::vector<Incoming> incoming;
  BatchIterator it(batches, options_.verify_crc_on_append ? CrcCheck::verify : CrcCheck::skip);
  while (auto batch = it.next()) {
    if (batch->last_offset_delta() < 0)
      return Error{fmt::format("record batch at byte {} has a negative last offset delta",
                               it.position() - batch->size_in_bytes())};
    // As stored: with LogAppendTime the append time is the max timestamp.
    incoming.push_back({it.position() - batch->size_in_bytes(), batch->size_in_bytes(),
                        batch->last_offset_delta(),
                        log_append_time.value_or(batch->max_timestamp())});
  }
  if (it.error() != BatchError::none)
    return Error{
        fmt::format("invalid record batch at byte {}: {}", it.position(), to_string(it.error()))};
  if (incoming.empty()) return Error{"nothing to append"};

  if (segments_.empty()) {
    Status created = create_segment(next_offset_);
    if (!created) return created.error();
  }

  AppendResult result;
  result.first_offset = next_offset_;

  // The caller's bytes are not touched: each batch goes out as its stamped
  // header (offsets, epoch, maybe append time) followed by the rest of it in
  // place. Batches bound for the same segment are written with one pwritev;
  // their index entries follow once the data is in.
  std::vector<std::array<uint8_t, batch_layout::kHeaderSize>> headers(incoming.size());
  std::vector<Bytes> pieces;
  pieces.reserve(2 * incoming.size());
  size_t group_bytes = 0;
  int64_t group_next_offset = next_offset_;
  std::vector<OffsetPosition> new_offsets;
  std::vector<TimestampOffset> new_times;
  std::optional<SegmentIndexBuilder> builder;

  auto flush_group = [&]() -> Status {
    if (group_bytes == 0) return {};
    Segment& active = *segments_.back();
    auto active_file = log_file(active);
    if (!active_file) return active_file.error();
    const int fd = (*active_file)->fd();
    write_rate_.add(group_bytes, steady_clock_ms());
    preallocate(active, fd, active.size + group_bytes);
    Status written;
    // A deferral keeps the file open until written: within the file budget.
    if (when == AppendWrite::deferred && active.reservation.end() >= active.size + group_bytes &&
        (!deferred_pieces_.empty() || file_cache_->try_pin())) {
      // Behind what is deferred already (which ends at active.size), in
      // order: pieces are each batch's header, then the rest of it.
      if (deferred_pieces_.empty()) {
        deferred_file_ = *active_file;
        deferred_at_ = active.size;
      }
      for (size_t p = 0; p < pieces.size(); ++p) {
        if (p % 2 == 1) {
          deferred_pieces_.push_back(pieces[p]);
          continue;
        }
        auto& header = deferred_headers_.emplace_back();
        std::copy(pieces[p].begin(), pieces[p].end(), header.begin());
        deferred_pieces_.emplace_back(header);
      }
    } else {
      written = write_deferred();
      if (written) written = detail::pwrite_all(fd, active.size, pieces, active.log_path);
    }
    pieces.clear();
    if (!written) {
      // Leave the file as it was: a partial batch would be a torn tail.
      // (The truncation frees the space reserved past it too.)
      (void)detail::truncate_file(fd, active.size, active.log_path);
      active.reservation.truncated(active.size);
      return written;
    }
    active.size += group_bytes;
    active.reservation.filled(active.size);
    if (disk_space_) disk_space_->note_written(group_bytes);
    next_offset_ = group_next_offset;
    active.index_builder = *builder;
    // Written with the next index sync (write_pending_index_entries).
    active.index.insert(active.index.end(), new_offsets.begin(), new_offsets.end());
    active.time_index.insert(active.time_index.end(), new_times.begin(), new_times.end());
    new_offsets.clear();
    new_times.clear();
    group_bytes = 0;
    return {};
  };

  for (size_t i = 0; i < incoming.size(); ++i) {
    const Incoming& b = incoming[i];
    const int64_t base = group_next_offset;
    const int64_t last = base + b.last_offset_delta;
    Segment* active = segments_.back().get();
    const uint64_t active_size = active->size + group_bytes;
    const bool full = active_size > 0 && active_size + b.size > options_.segment_bytes;
    const bool offsets_overflow = last - active->base_offset > std::numeric_limits<int32_t>::max();
    const bool too_old = active_size > 0 && should_roll_for_time(*active, b.max_timestamp);
    if (full || offsets_overflow || too_old) {
      Status flushed = flush_group();
      if (!flushed) return flushed.error();
      Status rolled = roll(base);
      if (!rolled) return rolled.error();
      active = segments_.back().get();
      builder.reset();
    }
    if (!builder) {
      Status ready = ensure_index(*active);
      if (!ready) return ready.error();
      auto file = log_file(*active);
      if (!file) return file.error();
      builder = active->index_builder;
    }
    if (active->size + group_bytes == 0) active->rolling_timestamp = b.max_timestamp;

    const Bytes bytes = batches.subspan(b.at, b.size);
    std::span<uint8_t> header = headers[i];
    std::copy_n(bytes.begin(), header.size(), header.begin());
    const Bytes rest = bytes.subspan(header.size());
    set_base_offset(header, base);
    if (leader_epoch >= 0) set_partition_leader_epoch(header, leader_epoch);
    if (log_append_time) set_log_append_time(header, *log_append_time, rest);
    pieces.emplace_back(header);
    pieces.push_back(rest);

    std::optional<TimestampOffset> last_time =
        !new_times.empty() ? std::optional(new_times.back()) : active->last_time_entry();
    auto added =
        builder->add_batch(static_cast<uint32_t>(active->size + group_bytes),
                           static_cast<uint32_t>(b.size), last, b.max_timestamp, last_time);
    if (added.offset_entry) new_offsets.push_back(*added.offset_entry);
    if (added.time_entry) new_times.push_back(*added.time_entry);
    group_bytes += b.size;
    group_next_offset = last + 1;
  }
  Status flushed = flush_group();
  if (!flushed) return flushed.error();
  prepare_spare_if_due();

  result.last_offset = next_offset_ - 1;
  result.log_start_offset = log_start_offset();
  return result;
}

Status PartitionLog::write_deferred() {
  // Sticky: whoever asks next (the broker, before answering the appends)
  // hears of a failure that a read met first.
  if (write_failed_) return Error{dir_.string() + ": an earlier write failed"};
  if (deferred_pieces_.empty()) return {};
  Status written = detail::pwrite_all(deferred_file_->fd(), deferred_at_, deferred_pieces_,
                                      deferred_file_->path());
  deferred_pieces_.clear();
  deferred_headers_.clear();
  deferred_file_.reset();
  file_cache_->unpin();
  if (!written) write_failed_ = true;
  return written;
}

Status PartitionLog::flush() {
  if (segments_.empty()) return {};
  auto sync_all = [](const std::vector<FileToSync>& files) -> Status {
    for (const auto& file : files) {
      Status synced = sync_file(file);
      if (!synced) return synced;
    }
    return {};
  };
  auto data = flush_snapshot();
  if (!data) return data.error();
  Status synced = sync_all(data->data_files);
  if (!synced) return synced;
  mark_flushed(data->end_offset);
  finish_rolled_segments_now();
  auto indexes = index_sync_snapshot();
  if (!indexes) return indexes.error();
  synced = sync_all(indexes->index_files);
  if (!synced) return synced;
  mark_indexes_synced(indexes->recovery_point, indexes->rolls);
  return {};
}

Result<PartitionLog::FlushSnapshot> PartitionLog::flush_snapshot() {
  if (Status written = write_deferred(); !written) return written.error();
  FlushSnapshot snapshot;
  snapshot.end_offset = next_offset_;
  if (segments_.empty()) return snapshot;
  snapshot.data_files.assign(std::make_move_iterator(rolled_unsynced_data_.begin()),
                             std::make_move_iterator(rolled_unsynced_data_.end()));
  rolled_unsynced_data_.clear();
  if (dir_unsynced_) snapshot.data_files.emplace_back(dir_);
  dir_unsynced_ = false;
  Segment& active = *segments_.back();
  if (const auto& open = active.log.if_open())
    snapshot.data_files.emplace_back(std::shared_ptr<const OpenFile>(open));
  else if (has_unflushed())  // written, then closed by the file cache
    snapshot.data_files.emplace_back(active.log_path);
  return snapshot;
}

void PartitionLog::mark_flushed(int64_t offset) {
  flushed_offset_ = std::max(flushed_offset_, std::min(offset, next_offset_));
}

Result<PartitionLog::IndexSyncSnapshot> PartitionLog::index_sync_snapshot() {
  IndexSyncSnapshot snapshot;
  snapshot.recovery_point = recovery_point_limit();
  snapshot.rolls = rolls_;
  if (segments_.empty()) return snapshot;
  // Rolled segments' files stay listed until a recovery point covers them:
  // a failed sync leaves them for the next snapshot.
  for (auto& rolled : rolled_unsynced_indexes_) {
    if (rolled.finish && !rolled.finish->done()) {
      // Its last entries are still being written: not synced now, and the
      // recovery point stays below it.
      snapshot.recovery_point = std::min(snapshot.recovery_point, rolled.base_offset);
      snapshot.rolls = std::min(snapshot.rolls, rolled.roll);
      continue;
    }
    if (rolled.finish && rolled.finish->failed()) {
      // Tried again here (say, the worker was short of a descriptor).
      spdlog::warn("{}: writing a rolled segment's last index entries failed ({}); trying again",
                   dir_.string(), rolled.finish->status().error().message);
      if (Status again = rolled.finish->run_again(); !again) return again.error();
    }
    snapshot.index_files.insert(snapshot.index_files.end(), rolled.files.begin(),
                                rolled.files.end());
  }
  Segment& active = *segments_.back();
  if (Status written = write_pending_index_entries(active); !written) return written.error();
  snapshot.index_files.emplace_back(active.index_path);
  snapshot.index_files.emplace_back(active.time_index_path);
  return snapshot;
}

void PartitionLog::mark_indexes_synced(int64_t recovery_point, uint64_t rolls) {
  recovery_point = std::min(recovery_point, recovery_point_limit());
  // A segment rolled after the snapshot stays listed: its final time index
  // entry (written by the roll, maybe after the sync) goes with the next one.
  // Readers do without that entry meanwhile (it only speeds up lookups).
  std::erase_if(rolled_unsynced_indexes_,
                [&](const RolledIndexes& rolled) { return rolled.roll < rolls; });
  recovery_point_ = std::max(recovery_point_, recovery_point);
}

Result<LogReadResult> PartitionLog::read(int64_t fetch_offset, uint64_t max_bytes,
                                         std::optional<int64_t> max_offset) {
  if (Status written = write_deferred(); !written) return written.error();
  if (write_failed_) return Error{dir_.string() + ": an earlier write failed"};
  LogReadResult result;
  result.log_start_offset = log_start_offset();
  result.log_end_offset = next_offset_;
  if (fetch_offset < result.log_start_offset || fetch_offset > next_offset_) {
    result.outcome = LogReadResult::Outcome::offset_out_of_range;
    return result;
  }
  if (fetch_offset == next_offset_ || (max_offset && fetch_offset >= *max_offset)) return result;
  if (damaged_at(fetch_offset)) {
    result.outcome = LogReadResult::Outcome::corrupt;
    return result;
  }

  // The last segment whose base offset <= fetch_offset.
  auto first = std::upper_bound(
      segments_.begin(), segments_.end(), fetch_offset,
      [](int64_t offset, const std::unique_ptr<Segment>& s) { return offset < s->base_offset; });
  if (first == segments_.begin()) return result;  // cannot happen: fetch >= log start
  --first;

  for (auto seg_it = first; seg_it != segments_.end(); ++seg_it) {
    Segment& segment = **seg_it;
    uint64_t start = 0;
    if (seg_it == first) {
      Status indexed = ensure_index(segment);
      if (!indexed) return indexed.error();
      if (damaged_at(fetch_offset)) {  // found by rebuilding the index
        result.outcome = LogReadResult::Outcome::corrupt;
        return result;
      }
      if (auto entry = lookup_offset_index(segment.index, fetch_offset)) start = entry->position;
    }
    auto file = log_file(segment);
    if (!file) return file.error();
    const std::optional<int64_t> next_base = next_base_offset(segment);
    const bool contiguous = contiguous_offsets(segment);
    FileBatchReader reader((*file)->fd(), segment.log_path, start, segment.size,
                           kHeaderScanReadAhead);
    reader.check_offsets(segment.base_offset, next_base, contiguous);
    // Find the first batch that ends at or after fetch_offset.
    for (;;) {
      auto step = reader.next(false, CrcCheck::skip);
      if (step == FileBatchReader::Step::io_error) return reader.io_error();
      if (step == FileBatchReader::Step::bad) {
        // Every batch before it ended below fetch_offset: the damage is where
        // this read must start.
        note_damage(segment, reader.position(), to_string(reader.error()));
        result.outcome = LogReadResult::Outcome::corrupt;
        return result;
      }
      if (step == FileBatchReader::Step::end) break;
      if (reader.header().last_offset() < fetch_offset) continue;

      if (max_offset && reader.header().base_offset >= *max_offset) return result;
      result.file = *file;
      result.position = reader.batch_position();
      result.length = reader.header().size_in_bytes();
      result.first_batch_base_offset = reader.header().base_offset;
      // Jump ahead through the offset index: every batch that starts before
      // an index entry's position ends by it, so when that position is within
      // max_bytes all of them fit, without reading their headers (a header
      // scan re-reads much of each batch).
      uint64_t scan_from = reader.position();
      if (!max_offset && seg_it == first && !segment.index.empty()) {
        const auto& idx = segment.index;
        const uint64_t limit =
            result.position + std::min<uint64_t>(max_bytes, segment.size - result.position);
        auto after = std::upper_bound(
            idx.begin(), idx.end(), limit,
            [](uint64_t pos, const OffsetPosition& e) { return pos < e.position; });
        if (after != idx.begin() && std::prev(after)->position > scan_from) {
          scan_from = std::prev(after)->position;
          result.length = scan_from - result.position;
        }
      }
      FileBatchReader tail((*file)->fd(), segment.log_path, scan_from, segment.size,
                           kHeaderScanReadAhead);
      tail.check_offsets(segment.base_offset, next_base, contiguous);
      // Past the index jump, the first batch sets where the next must start.
      if (scan_from == reader.position()) tail.resume_after(reader.header().next_offset());
      // Add whole batches while they fit.
      FileBatchReader::Step tail_step;
      while ((tail_step = tail.next(false, CrcCheck::skip)) == FileBatchReader::Step::batch) {
        const RecordBatchHeader& h = tail.header();
        if (result.length + h.size_in_bytes() > max_bytes) break;
        if (max_offset && h.base_offset >= *max_offset) break;
        result.length += h.size_in_bytes();
      }
      // The batches before it are served; the next read from there answers
      // corrupt.
      if (tail_step == FileBatchReader::Step::bad)
        note_damage(segment, tail.position(), to_string(tail.error()));
      return result;
    }
  }
  return result;
}

Result<std::optional<int64_t>> PartitionLog::offset_for_timestamp(int64_t timestamp) {
  auto found = record_for_timestamp(timestamp);
  if (!found) return found.error();
  if (!found->has_value()) return std::optional<int64_t>();
  return std::optional<int64_t>((*found)->offset);
}

namespace {

// The first record of `batch` at or after `min_offset` whose timestamp is >=
// `timestamp`; nullopt when none is, an Error when the records cannot be read.
Result<std::optional<PartitionLog::TimestampAndOffset>> find_record_at_time(
    const RecordBatchView& batch, int64_t timestamp, int64_t min_offset) {
  std::vector<uint8_t> decompressed;
  std::optional<RecordIterator> records;
  if (batch.compression() == Compression::none) {
    records.emplace(batch);
  } else {
    auto plain = decompress(batch.compression(), batch.records_section());
    if (!plain) return plain.error();
    decompressed = std::move(*plain);
    records.emplace(batch, decompressed);
  }
  const bool append_time = batch.timestamp_type() == TimestampType::log_append_time;
  RecordView r;
  while (records->next(r)) {
    const int64_t at = append_time ? batch.max_timestamp() : r.timestamp;
    if (at >= timestamp && r.offset >= min_offset)
      return std::optional<PartitionLog::TimestampAndOffset>(
          PartitionLog::TimestampAndOffset{at, r.offset, batch.partition_leader_epoch()});
  }
  if (!records->ok()) return Error{std::string(records->error()->what)};
  return std::optional<PartitionLog::TimestampAndOffset>();
}

}  // namespace

Result<std::optional<PartitionLog::TimestampAndOffset>> PartitionLog::record_for_timestamp(
    int64_t timestamp) {
  using Found = std::optional<TimestampAndOffset>;
  if (Status written = write_deferred(); !written) return written.error();
  const int64_t start_offset = log_start_offset();
  for (auto& segment_ptr : segments_) {
    Segment& segment = *segment_ptr;
    Status indexed = ensure_index(segment);
    if (!indexed) return indexed.error();
    if (damage_ && damage_->segment_base_offset == segment.base_offset)
      return Error{damage_->describe()};
    // Every batch up to a time index entry older than `timestamp` is older
    // too, so the scan can start at that entry's batch (or at the log start
    // offset's, when later).
    uint64_t start = 0;
    for (const auto& e : segment.time_index) {
      if (e.timestamp >= timestamp) break;
      if (auto entry = lookup_offset_index(segment.index, e.offset)) start = entry->position;
    }
    if (auto entry = lookup_offset_index(segment.index, start_offset))
      start = std::max<uint64_t>(start, entry->position);
    auto file = log_file(segment);
    if (!file) return file.error();
    FileBatchReader reader((*file)->fd(), segment.log_path, start, segment.size);
    reader.check_offsets(segment.base_offset, next_base_offset(segment),
                         contiguous_offsets(segment));
    for (;;) {
      auto step = reader.next(true, CrcCheck::skip);
      if (step == FileBatchReader::Step::io_error) return reader.io_error();
      if (step == FileBatchReader::Step::bad) {
        note_damage(segment, reader.position(), to_string(reader.error()));
        return Error{damage_->describe()};
      }
      if (step != FileBatchReader::Step::batch) break;
      const RecordBatchHeader& h = reader.header();
      if (h.max_timestamp < timestamp || h.last_offset() < start_offset) continue;
      auto view = RecordBatchView::parse(reader.batch_bytes(), CrcCheck::skip);
      Result<Found> found =
          view ? find_record_at_time(*view, timestamp, start_offset) : Error{"unreadable batch"};
      if (!found) {
        spdlog::warn(
            "{}: records of the batch at offset {} unreadable ({}): answering its first "
            "offset for timestamp {}",
            dir_.string(), h.base_offset, found.error().message, timestamp);
        return Found(TimestampAndOffset{h.max_timestamp, std::max(h.base_offset, start_offset),
                                        h.partition_leader_epoch});
      }
      if (found->has_value()) return found;
    }
  }
  return Found();
}

Result<std::vector<PartitionLog::EpochStart>> PartitionLog::leader_epoch_starts() {
  if (Status written = write_deferred(); !written) return written.error();
  if (epochs_scanned_to_ > next_offset_) {  // the log was cut below what was read
    epoch_starts_.clear();
    epochs_scanned_to_ = 0;
  }
  for (size_t i = 0; i < segments_.size() && epochs_scanned_to_ < next_offset_; ++i) {
    Segment& segment = *segments_[i];
    // Wholly read already.
    if (i + 1 < segments_.size() && segments_[i + 1]->base_offset <= epochs_scanned_to_) continue;
    Status indexed = ensure_index(segment);
    if (!indexed) return indexed.error();
    uint64_t start = 0;
    if (auto entry = lookup_offset_index(segment.index, epochs_scanned_to_))
      start = entry->position;
    auto file = log_file(segment);
    if (!file) return file.error();
    FileBatchReader reader((*file)->fd(), segment.log_path, start, segment.size);
    for (;;) {
      auto step = reader.next(false, CrcCheck::skip);
      if (step == FileBatchReader::Step::io_error) return reader.io_error();
      if (step != FileBatchReader::Step::batch) break;
      const RecordBatchHeader& h = reader.header();
      if (h.next_offset() <= epochs_scanned_to_) continue;
      const int32_t epoch = h.partition_leader_epoch;
      if (epoch >= 0 && (epoch_starts_.empty() || epoch > epoch_starts_.back().epoch))
        epoch_starts_.push_back({epoch, h.base_offset});
      epochs_scanned_to_ = h.next_offset();
    }
  }
  epochs_scanned_to_ = std::max(epochs_scanned_to_, next_offset_);
  // Kafka's truncateFromStart: epochs that ended below the log start offset
  // go, the one holding it starts there.
  const int64_t start_offset = log_start_offset();
  std::vector<EpochStart> out;
  for (size_t i = 0; i < epoch_starts_.size(); ++i) {
    const bool ended_below =
        i + 1 < epoch_starts_.size() && epoch_starts_[i + 1].start_offset <= start_offset;
    if (ended_below) continue;
    out.push_back({epoch_starts_[i].epoch, std::max(epoch_starts_[i].start_offset, start_offset)});
  }
  return out;
}

}  // namespace kb::storage
