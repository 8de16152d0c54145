#include "kb/storage/partition_log.hpp"

#include "log_segment.hpp"

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
#include "kb/storage/log_validator.hpp"
#include "kb/storage/record_batch.hpp"
#include "kb/storage/roll_worker.hpp"

namespace kb::storage {

namespace fs = std::filesystem;
using namespace detail;  // suffixes and clocks (log_segment.hpp)
using detail::FileBatchReader;
using detail::FileHandle;
using kb::wire::Uuid;

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

Result<std::vector<RecordBatchHeader>> LogReadResult::batch_headers() const {
  std::vector<RecordBatchHeader> headers;
  if (length == 0) return headers;
  FileBatchReader reader(file->fd(), file->path(), position, position + length,
                         kHeaderScanReadAhead);
  for (;;) {
    const FileBatchReader::Step step = reader.next(false, CrcCheck::skip);
    if (step == FileBatchReader::Step::batch) {
      headers.push_back(reader.header());
      continue;
    }
    if (step == FileBatchReader::Step::io_error) return reader.io_error();
    // The range was read as whole batches: bad bytes here mean they changed.
    if (step == FileBatchReader::Step::bad)
      return Error{file->path().string() + ": batch headers changed under a read"};
    return headers;
  }
}

std::string LogDamage::describe() const {
  return fmt::format(
      "{}: {} at byte {}: offsets from {} to the segment's end cannot be read (fetches answer "
      "CORRUPT_MESSAGE); the next start recovers the segment, cutting it there",
      file.string(), reason, position, offset);
}

// ---- segments ----

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

Result<AppendResult> PartitionLog::append(Bytes batches, int32_t leader_epoch,
                                          std::optional<int64_t> log_append_time,
                                          AppendWrite when) {
  if (write_failed_) return Error{dir_.string() + ": an earlier write failed"};
  if (damage_ && !next_base_offset_after(damage_->segment_base_offset))
    return Error{"appends refused, no fetch could reach them: " + damage_->describe()};
  auto checked = check_append_batches(
      batches, options_.verify_crc_on_append ? CrcCheck::verify : CrcCheck::skip, log_append_time);
  if (!checked) return checked.error();
  const std::vector<AppendBatch>& incoming = *checked;

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
    const AppendBatch& b = incoming[i];
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
