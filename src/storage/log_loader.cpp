// Opening a partition log (Kafka's LogLoader): creating its files, listing
// its segments, finishing or undoing what a crash left (renamed files, spare
// segments), and recovering the segments past the recovery point.

#include "log_segment.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "file_io.hpp"
#include "kb/storage/file_cache.hpp"
#include "kb/storage/file_remover.hpp"
#include "kb/storage/log_cleaner.hpp"
#include "kb/storage/metadata_log.hpp"
#include "kb/storage/offset_checkpoint.hpp"
#include "kb/storage/record_batch.hpp"
#include "kb/storage/roll_worker.hpp"

namespace kb::storage {

namespace fs = std::filesystem;
using detail::FileBatchReader;
using detail::FileHandle;
using namespace detail;  // suffixes and clocks (log_segment.hpp)

using kb::wire::Uuid;

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

Status PartitionLog::finish_interrupted_swaps() {
  std::error_code ec;
  std::vector<fs::path> cleaned, swaps;
  std::vector<int64_t> log_swaps;
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.ends_with(kCleanedSuffix)) cleaned.push_back(entry.path());
    if (!name.ends_with(kSwapSuffix)) continue;
    const std::string unswapped = name.substr(0, name.size() - kSwapSuffix.size());
    if (auto base = detail::parse_offset_file_name(unswapped, kLogSuffix))
      log_swaps.push_back(*base);
    else
      swaps.push_back(entry.path());
  }
  if (ec) return Error{fmt::format("cannot list {}: {}", dir_.string(), ec.message())};
  auto remove = [&](const fs::path& path) {
    std::error_code remove_ec;
    fs::remove(path, remove_ec);
    if (remove_ec) spdlog::warn("cannot delete {}: {}", path.string(), remove_ec.message());
  };
  // A clean that did not finish writing: the old segments are whole.
  if (!cleaned.empty())
    spdlog::info("{}: deleting {} files of an unfinished clean", dir_.string(), cleaned.size());
  for (const fs::path& path : cleaned) remove(path);
  std::sort(log_swaps.begin(), log_swaps.end());
  for (int64_t base : log_swaps) {
    const auto name = [&](std::string_view suffix, std::string_view extra = {}) {
      return dir_ / (segment_file_name(base, suffix) + std::string(extra));
    };
    // Its offsets: the old segments in them are what it replaces.
    auto file = FileHandle::open(name(kLogSuffix, kSwapSuffix), O_RDONLY);
    if (!file) return file.error();
    auto size = detail::file_size(file->get(), name(kLogSuffix, kSwapSuffix));
    if (!size) return size.error();
    FileBatchReader reader(file->get(), name(kLogSuffix, kSwapSuffix), 0, *size);
    int64_t end = base + 1;
    while (reader.next(false, CrcCheck::skip) == FileBatchReader::Step::batch)
      end = std::max(end, reader.header().next_offset());
    spdlog::info("{}: finishing the swap of a cleaned segment ({} to {})", dir_.string(), base,
                 end);
    for (const auto& entry : fs::directory_iterator(dir_, ec)) {
      auto old = detail::parse_offset_file_name(entry.path().filename().string(), kLogSuffix);
      if (!old || *old < base || *old >= end) continue;
      const fs::path stem = dir_ / detail::offset_file_stem(*old);
      for (std::string_view suffix : {kTxnIndexSuffix, kIndexSuffix, kTimeIndexSuffix, kLogSuffix})
        remove(fs::path(stem.string() + std::string(suffix)));
    }
    if (ec) return Error{fmt::format("cannot list {}: {}", dir_.string(), ec.message())};
    if (fs::exists(name(kTxnIndexSuffix, kSwapSuffix), ec))
      if (::rename(name(kTxnIndexSuffix, kSwapSuffix).c_str(), name(kTxnIndexSuffix).c_str()) != 0)
        return detail::io_error("cannot rename", name(kTxnIndexSuffix, kSwapSuffix), errno);
    // Its indexes are rebuilt from the log.
    for (std::string_view suffix : {kIndexSuffix, kTimeIndexSuffix}) {
      remove(name(suffix, kSwapSuffix));
      remove(name(suffix));
    }
    if (::rename(name(kLogSuffix, kSwapSuffix).c_str(), name(kLogSuffix).c_str()) != 0)
      return detail::io_error("cannot rename", name(kLogSuffix, kSwapSuffix), errno);
  }
  // Index .swap files without their .log.swap: a clean that stopped while
  // renaming; the old segments are whole.
  for (const fs::path& path : swaps)
    if (fs::exists(path, ec)) remove(path);
  if (!cleaned.empty() || !log_swaps.empty() || !swaps.empty()) return detail::sync_directory(dir_);
  return {};
}

Status PartitionLog::load(const RecoveryHint& hint) {
  if (Status swapped = finish_interrupted_swaps(); !swapped) return swapped;
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

}  // namespace kb::storage
