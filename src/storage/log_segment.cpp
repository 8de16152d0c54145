// The member functions of PartitionLog that work on one segment's files:
// its indexes (loaded, rebuilt, written), creating it, its disk reservation,
// and what a roll leaves to the roll worker.

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
#include "kb/storage/record_batch.hpp"
#include "kb/storage/roll_worker.hpp"

namespace kb::storage {

namespace fs = std::filesystem;
using detail::FileBatchReader;
using detail::FileHandle;
using namespace detail;  // suffixes and clocks (log_segment.hpp)

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

}  // namespace kb::storage
