#include "kb/storage/log_cleaner.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <new>
#include <set>
#include <string>
#include <string_view>
#include <thread>

#include "file_io.hpp"
#include "kb/storage/compression.hpp"
#include "kb/storage/partition_log.hpp"
#include "kb/storage/segment_index.hpp"
#include "kb/storage/txn_index.hpp"

namespace kb::storage {

namespace fs = std::filesystem;
using detail::FileBatchReader;
using detail::FileHandle;

namespace {

constexpr size_t kSlotBytes = 24;  // a 16-byte hash and an 8-byte offset, as Kafka counts
// Cleaned batches are written in pieces of about this size.
constexpr size_t kWriteChunk = size_t{1} << 20;

uint64_t load_le64(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v |= uint64_t{p[i]} << (8 * i);
  return v;
}

uint64_t fmix64(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

// A 128-bit hash of a key (MurmurHash3's x64 128-bit construction). Kafka
// keys its map by MD5 for the same reason: two keys that share a hash would
// be taken for one, so the hash is wide enough that they do not.
std::pair<uint64_t, uint64_t> hash_key(Bytes key) {
  constexpr uint64_t c1 = 0x87c37b91114253d5ULL;
  constexpr uint64_t c2 = 0x4cf5ad432745937fULL;
  uint64_t h1 = 0x9368e53c2f6af274ULL;
  uint64_t h2 = 0x586dcd208f7cd3fdULL;
  const size_t blocks = key.size() / 16;
  const uint8_t* data = key.data();
  for (size_t i = 0; i < blocks; ++i) {
    uint64_t k1 = load_le64(data + 16 * i, 8);
    uint64_t k2 = load_le64(data + 16 * i + 8, 8);
    k1 *= c1;
    k1 = rotl64(k1, 31);
    k1 *= c2;
    h1 ^= k1;
    h1 = rotl64(h1, 27);
    h1 += h2;
    h1 = h1 * 5 + 0x52dce729;
    k2 *= c2;
    k2 = rotl64(k2, 33);
    k2 *= c1;
    h2 ^= k2;
    h2 = rotl64(h2, 31);
    h2 += h1;
    h2 = h2 * 5 + 0x38495ab5;
  }
  const size_t tail = key.size() % 16;
  const uint8_t* rest = data + 16 * blocks;
  uint64_t k1 = load_le64(rest, std::min<size_t>(tail, 8));
  uint64_t k2 = tail > 8 ? load_le64(rest + 8, tail - 8) : 0;
  if (tail > 8) {
    k2 *= c2;
    k2 = rotl64(k2, 33);
    k2 *= c1;
    h2 ^= k2;
  }
  if (tail > 0) {
    k1 *= c1;
    k1 = rotl64(k1, 31);
    k1 *= c2;
    h1 ^= k1;
  }
  h1 ^= key.size();
  h2 ^= key.size();
  h1 += h2;
  h2 += h1;
  h1 = fmix64(h1);
  h2 = fmix64(h2);
  h1 += h2;
  h2 += h1;
  return {h1, h2};
}

}  // namespace

// ---- OffsetMap ----

OffsetMap::OffsetMap(size_t buffer_bytes, double load_factor)
    : slots_(std::max<size_t>(buffer_bytes / kSlotBytes, 2)) {
  static_assert(sizeof(Slot) == kSlotBytes);
  capacity_ = static_cast<size_t>(static_cast<double>(slots_) * load_factor);
  // At least one key, and one slot always empty (probing ends there).
  capacity_ = std::clamp<size_t>(capacity_, 1, slots_ - 1);
}

void OffsetMap::Free::operator()(Slot* slots) const { std::free(slots); }

size_t OffsetMap::find(uint64_t high, uint64_t low) const {
  const Slot* table = table_.get();
  size_t at = static_cast<size_t>(high % slots_);
  // Linear probing: the table is never full (capacity < slots).
  while (table[at].offset_plus_one != 0 &&
         (table[at].hash_high != high || table[at].hash_low != low))
    at = at + 1 == slots_ ? 0 : at + 1;
  return at;
}

void OffsetMap::put(Bytes key, int64_t offset) {
  if (!table_) {
    // calloc: large blocks come as fresh zero pages, not written here.
    table_.reset(static_cast<Slot*>(std::calloc(slots_, sizeof(Slot))));
    if (!table_) throw std::bad_alloc();
  }
  auto [high, low] = hash_key(key);
  Slot& slot = table_.get()[find(high, low)];
  if (slot.offset_plus_one == 0) {
    if (size_ >= capacity_) return;  // full: the caller stops mapping
    slot.hash_high = high;
    slot.hash_low = low;
    ++size_;
  }
  slot.offset_plus_one = std::max(slot.offset_plus_one, offset + 1);
  latest_offset_ = std::max(latest_offset_, offset);
}

int64_t OffsetMap::get(Bytes key) const {
  if (!table_) return -1;
  auto [high, low] = hash_key(key);
  return table_.get()[find(high, low)].offset_plus_one - 1;
}

void OffsetMap::clear() {
  table_.reset();
  size_ = 0;
  latest_offset_ = -1;
}

// ---- IoThrottler ----

void IoThrottler::maybe_throttle(uint64_t bytes) {
  const double rate = this->rate();
  if (!(rate > 0) || rate >= 1.7e308) return;
  // Kafka's Throttler checks every 300 ms.
  constexpr auto kCheckInterval = std::chrono::milliseconds(300);
  std::lock_guard period(period_mutex_);
  observed_ += bytes;
  const auto now = std::chrono::steady_clock::now();
  const auto elapsed = now - period_start_;
  if (elapsed <= kCheckInterval || observed_ == 0) return;
  const double elapsed_ms = std::chrono::duration<double, std::milli>(elapsed).count();
  const double allowed_ms = static_cast<double>(observed_) / rate * 1000.0;
  if (allowed_ms > elapsed_ms) {
    const auto sleep = std::chrono::milliseconds(static_cast<int64_t>(allowed_ms - elapsed_ms));
    std::unique_lock lock(wake_mutex_);
    const uint64_t generation = wake_generation_;
    const auto slept_from = std::chrono::steady_clock::now();
    woken_.wait_for(lock, sleep, [&] { return wake_generation_ != generation; });
    slept_ms_ += static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::steady_clock::now() - slept_from)
                                           .count());
  }
  period_start_ = std::chrono::steady_clock::now();
  observed_ = 0;
}

void IoThrottler::wake() {
  {
    std::lock_guard lock(wake_mutex_);
    ++wake_generation_;
  }
  woken_.notify_all();
}

uint64_t IoThrottler::slept_ms() const {
  std::lock_guard period(period_mutex_);
  return slept_ms_;
}

// ---- grouping ----

std::vector<std::vector<size_t>> group_segments_by_size(std::span<const CleanableSegment> segments,
                                                        uint64_t max_bytes,
                                                        uint64_t max_index_bytes,
                                                        int64_t first_uncleanable_offset) {
  std::vector<std::vector<size_t>> groups;
  size_t i = 0;
  while (i < segments.size()) {
    std::vector<size_t> group{i};
    uint64_t log_bytes = segments[i].size;
    uint64_t index_bytes = segments[i].offset_index_bytes;
    uint64_t time_bytes = segments[i].time_index_bytes;
    ++i;
    while (i < segments.size()) {
      const CleanableSegment& next = segments[i];
      // Its last offset, by the next segment's base (or the cleanable end).
      const int64_t last_offset =
          (i + 1 < segments.size() ? segments[i + 1].base_offset : first_uncleanable_offset) - 1;
      const bool offsets_fit =
          next.size == 0 ||
          last_offset - segments[group.front()].base_offset <= std::numeric_limits<int32_t>::max();
      if (log_bytes + next.size > max_bytes ||
          index_bytes + next.offset_index_bytes > max_index_bytes ||
          time_bytes + next.time_index_bytes > max_index_bytes || !offsets_fit)
        break;
      log_bytes += next.size;
      index_bytes += next.offset_index_bytes;
      time_bytes += next.time_index_bytes;
      group.push_back(i);
      ++i;
    }
    groups.push_back(std::move(group));
  }
  return groups;
}

Status delete_cleaned_files(const fs::path& dir) {
  std::error_code ec;
  std::vector<fs::path> found;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (entry.path().filename().string().ends_with(kCleanedSuffix)) found.push_back(entry.path());
  if (ec) return Error{fmt::format("cannot list {}: {}", dir.string(), ec.message())};
  for (const fs::path& path : found) {
    fs::remove(path, ec);
    if (ec) return Error{fmt::format("cannot delete {}: {}", path.string(), ec.message())};
  }
  return {};
}

// ---- cleaning ----

namespace {

// What a long clean logs every few seconds from its thread, so that an
// operator watching a big compacted log sees it move: bytes read of the bytes
// the clean will read (the dirty segments once to map their keys, then every
// segment up to the end of the map once more to copy them), bytes written
// and the read rate since the start.
class CleanProgress {
 public:
  CleanProgress(const std::string& name, std::chrono::microseconds every)
      : name_(name), every_(every), started_(std::chrono::steady_clock::now()), last_(started_) {}

  void set_phase(std::string_view phase, uint64_t total_bytes) {
    phase_ = phase;
    total_bytes_ = total_bytes;
  }
  // The segment being written, whose bytes are not in stats.bytes_written yet.
  void set_segment_being_written(const uint64_t* size) { writing_ = size; }

  void after_batch(const CleanStats& stats) {
    if (every_ <= std::chrono::microseconds::zero()) return;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_ < every_) return;
    last_ = now;
    constexpr double kMiB = 1024.0 * 1024.0;
    const double seconds = std::chrono::duration<double>(now - started_).count();
    const uint64_t written = stats.bytes_written + (writing_ != nullptr ? *writing_ : 0);
    spdlog::info(
        "cleaning {}: {:.1f} of {:.1f} MiB read ({:.0f}%), {:.1f} MiB written, {:.1f} MiB/s, "
        "{:.1f} s so far ({})",
        name_, static_cast<double>(stats.bytes_read) / kMiB,
        static_cast<double>(total_bytes_) / kMiB,
        total_bytes_ > 0
            ? 100.0 * static_cast<double>(stats.bytes_read) / static_cast<double>(total_bytes_)
            : 100.0,
        static_cast<double>(written) / kMiB,
        seconds > 0 ? static_cast<double>(stats.bytes_read) / kMiB / seconds : 0.0, seconds,
        phase_);
  }

 private:
  const std::string& name_;
  std::chrono::microseconds every_;
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point last_;
  std::string_view phase_;
  uint64_t total_bytes_ = 0;
  const uint64_t* writing_ = nullptr;
};

// Reads every batch of a segment whole, through its shared descriptor.
template <class Visit>
Status for_each_batch(const CleanableSegment& segment, IoThrottler& throttler,
                      const std::atomic<bool>* abort, CleanStats& stats, CleanProgress& progress,
                      Visit&& visit) {
  FileBatchReader reader(segment.file->fd(), segment.log_path, 0, segment.size);
  for (;;) {
    if (abort != nullptr && abort->load(std::memory_order_relaxed))
      return Error{"cleaning aborted"};
    auto step = reader.next(true, CrcCheck::skip);
    if (step == FileBatchReader::Step::io_error) return reader.io_error();
    if (step == FileBatchReader::Step::bad)
      return Error{fmt::format("{}: {} at byte {}: not cleaned", segment.log_path.string(),
                               to_string(reader.error()), reader.position())};
    if (step == FileBatchReader::Step::end) return {};
    auto batch = RecordBatchView::parse(reader.batch_bytes(), CrcCheck::skip);
    if (!batch) return Error{segment.log_path.string() + ": unreadable batch: not cleaned"};
    stats.bytes_read += batch->size_in_bytes();
    throttler.maybe_throttle(batch->size_in_bytes());
    Status visited = visit(*batch);
    if (!visited) return visited;
    progress.after_batch(stats);
  }
}

// The records of a batch, decompressed when it is compressed.
struct BatchRecords {
  std::vector<uint8_t> plain;
  std::optional<RecordIterator> iterator;
};
Status open_records(const RecordBatchView& batch, BatchRecords& out) {
  if (batch.compression() == Compression::none) {
    out.iterator.emplace(batch);
    return {};
  }
  auto plain = decompress(batch.compression(), batch.records_section());
  if (!plain) return plain.error();
  out.plain = std::move(*plain);
  out.iterator.emplace(batch, out.plain);
  return {};
}

// A builder for a cleaned copy of `batch`: its offsets, leader epoch,
// producer fields and timestamp type (compression, records and timestamps
// are the caller's).
RecordBatchBuilder copy_of_header(const RecordBatchView& batch) {
  RecordBatchBuilder builder;
  builder.set_base_offset(batch.base_offset())
      .set_partition_leader_epoch(batch.partition_leader_epoch())
      .set_producer_id(batch.producer_id())
      .set_producer_epoch(batch.producer_epoch())
      .set_base_sequence(batch.base_sequence())
      .set_transactional(batch.is_transactional())
      .set_timestamp_type(batch.timestamp_type())
      .set_last_offset_delta(batch.last_offset_delta());
  return builder;
}

// A batch header without records (Kafka's writeEmptyHeader): the same
// offsets, producer fields and max timestamp, uncompressed, no delete horizon.
std::vector<uint8_t> empty_batch(const RecordBatchView& batch) {
  RecordBatchBuilder builder = copy_of_header(batch);
  builder.set_control(batch.is_control()).set_max_timestamp(batch.max_timestamp());
  std::vector<uint8_t> bytes = builder.build();
  // Base timestamp: the max timestamp, as Kafka writes it.
  for (size_t i = 0; i < 8; ++i)
    bytes[batch_layout::kBaseTimestamp + i] =
        static_cast<uint8_t>(static_cast<uint64_t>(batch.max_timestamp()) >> (56 - 8 * i));
  update_batch_crc(bytes);
  return bytes;
}

// The cleaned segment being written: its .log, and its indexes as built.
struct CleanedWriter {
  fs::path log_path, index_path, time_index_path, txn_index_path;
  FileHandle file;
  uint64_t size = 0;
  std::vector<uint8_t> pending;
  SegmentIndexBuilder builder;
  std::vector<OffsetPosition> index;
  std::vector<TimestampOffset> time_index;
  int64_t base_offset = 0;

  explicit CleanedWriter(uint32_t interval) : builder(interval) {}

  Status flush(IoThrottler& throttler) {
    if (pending.empty()) return {};
    Status written = detail::pwrite_all(file.get(), size - pending.size(), pending, log_path);
    throttler.maybe_throttle(pending.size());
    pending.clear();
    return written;
  }
  Status append(Bytes batch_bytes, const RecordBatchHeader& h, IoThrottler& throttler) {
    auto added = builder.add_batch(
        static_cast<uint32_t>(size), static_cast<uint32_t>(batch_bytes.size()), h.last_offset(),
        h.max_timestamp, time_index.empty() ? std::nullopt : std::optional(time_index.back()));
    if (added.offset_entry) index.push_back(*added.offset_entry);
    if (added.time_entry) time_index.push_back(*added.time_entry);
    pending.insert(pending.end(), batch_bytes.begin(), batch_bytes.end());
    size += batch_bytes.size();
    if (pending.size() >= kWriteChunk) return flush(throttler);
    return {};
  }
};

// Which transactional batches and markers a clean may drop, as Kafka's
// CleanedTransactionMetadata decides it while walking the log from its start:
// - an aborted transaction's data batches go (its records never count);
// - its ABORT marker stays, with its .txnindex entry, while any batch of the
//   transaction was still read in this pass; a later pass that reads none
//   finds the marker droppable;
// - a COMMIT marker stays while any batch of its transaction was read in
//   this pass (a read_committed reader needs it to end the transaction);
// - a droppable marker is stamped with a delete horizon first and goes only
//   once that has passed, as tombstones do (delete.retention.ms).
class TransactionWalk {
 public:
  // `aborted`: the log's aborted transactions (its .txnindex entries).
  explicit TransactionWalk(std::vector<AbortedTxn> aborted) : aborted_(std::move(aborted)) {
    std::sort(aborted_.begin(), aborted_.end(), [](const AbortedTxn& a, const AbortedTxn& b) {
      return a.first_offset < b.first_offset;
    });
  }

  // A data batch was read: true when it belongs to an aborted transaction.
  bool on_data_batch(const RecordBatchView& batch) {
    start_aborted_up_to(batch.last_offset());
    if (!batch.is_transactional()) return false;
    if (auto it = ongoing_aborted_.find(batch.producer_id()); it != ongoing_aborted_.end()) {
      it->second.batch_seen = true;
      return true;
    }
    ongoing_committed_.insert(batch.producer_id());
    return false;
  }

  // A control batch was read (`type`: its record's, nullopt when it has
  // none): true when it may be dropped. An ABORT marker kept lists its
  // transaction in `kept_aborted`.
  bool on_control_batch(const RecordBatchView& batch, std::optional<int16_t> type,
                        std::vector<AbortedTxn>& kept_aborted) {
    start_aborted_up_to(batch.last_offset());
    if (!type) return true;  // emptied by an earlier clean
    const int64_t producer = batch.producer_id();
    if (*type == static_cast<int16_t>(ControlRecordType::abort)) {
      auto it = ongoing_aborted_.find(producer);
      if (it == ongoing_aborted_.end()) return true;
      const bool seen = it->second.batch_seen;
      if (seen) kept_aborted.push_back(it->second.txn);
      ongoing_aborted_.erase(it);
      return !seen;
    }
    if (*type == static_cast<int16_t>(ControlRecordType::commit))
      return ongoing_committed_.erase(producer) == 0;
    return false;
  }

 private:
  struct Aborted {
    AbortedTxn txn;
    bool batch_seen = false;
  };
  void start_aborted_up_to(int64_t offset) {
    while (next_ < aborted_.size() && aborted_[next_].first_offset <= offset) {
      ongoing_aborted_.try_emplace(aborted_[next_].producer_id, Aborted{aborted_[next_], false});
      ++next_;
    }
  }
  std::vector<AbortedTxn> aborted_;
  size_t next_ = 0;
  std::map<int64_t, Aborted> ongoing_aborted_;
  std::set<int64_t> ongoing_committed_;
};

// The type of a control batch's record; nullopt when it has none.
Result<std::optional<int16_t>> control_type(const RecordBatchView& batch) {
  BatchRecords records;
  if (Status opened = open_records(batch, records); !opened) return opened.error();
  RecordView record;
  if (!records.iterator->next(record) || !record.key) return std::optional<int16_t>();
  return parse_control_record_type(*record.key);
}

fs::path with_suffix(const fs::path& dir, int64_t base, std::string_view suffix,
                     std::string_view extra) {
  return dir / (segment_file_name(base, suffix) + std::string(extra));
}

Status write_synced(const fs::path& path, Bytes bytes) {
  auto file = FileHandle::open(path, O_RDWR | O_CREAT | O_TRUNC);
  if (!file) return file.error();
  if (Status written = detail::pwrite_all(file->get(), 0, bytes, path); !written) return written;
  return detail::sync_data(file->get(), path);
}

// How often a clean logs its progress (Cleaner::set_progress_interval).
std::atomic<int64_t> clean_progress_interval_us{3'000'000};

}  // namespace

void Cleaner::set_progress_interval(std::chrono::microseconds every) {
  clean_progress_interval_us.store(every.count(), std::memory_order_relaxed);
}

Cleaner::Cleaner(size_t dedupe_buffer_bytes, double io_bytes_per_second, double load_factor)
    : Cleaner(dedupe_buffer_bytes, load_factor,
              std::make_shared<IoThrottler>(io_bytes_per_second)) {}

Cleaner::Cleaner(size_t dedupe_buffer_bytes, double load_factor,
                 std::shared_ptr<IoThrottler> throttler)
    : map_(dedupe_buffer_bytes, load_factor),
      shared_throttler_(std::move(throttler)),
      throttler_(*shared_throttler_) {}

Result<CleanResult> Cleaner::clean(const CleaningPlan& plan, int64_t now_ms,
                                   const std::atomic<bool>* abort) {
  const auto started = std::chrono::steady_clock::now();
  CleanResult result;
  CleanStats& stats = result.stats;
  const CompactionSettings& settings = plan.settings;

  // Everything cleaned lies below the last stable offset: its transactions
  // are over, and the aborted ones are in the .txnindex files (a batch
  // belongs to one when it is its producer's, between its first offset and
  // its marker). Aborted records are never mapped (they must not hide a
  // committed one); committed ones count as any record. What the rewrite
  // keeps of transactions is TransactionWalk's to say.
  auto aborted_list = read_txn_indexes(plan.dir);
  if (!aborted_list) return aborted_list.error();
  std::map<int64_t, std::vector<std::pair<int64_t, int64_t>>> aborted;
  for (const AbortedTxn& txn : *aborted_list)
    aborted[txn.producer_id].emplace_back(txn.first_offset, txn.last_offset);
  auto is_aborted = [&](const RecordBatchView& batch) {
    if (!batch.is_transactional() || batch.is_control()) return false;
    auto it = aborted.find(batch.producer_id());
    if (it == aborted.end()) return false;
    return std::any_of(it->second.begin(), it->second.end(), [&](const auto& range) {
      return range.first <= batch.base_offset() && batch.base_offset() <= range.second;
    });
  };

  // 1. The offset map over the dirty range [first dirty, first uncleanable):
  // each key's latest offset, as far as the map holds keys.
  CleanProgress progress(
      plan.name,
      std::chrono::microseconds(clean_progress_interval_us.load(std::memory_order_relaxed)));
  {
    // Until the map says where the copy ends: the whole cleanable range.
    uint64_t to_map = 0;
    uint64_t to_copy = 0;
    for (const CleanableSegment& segment : plan.segments) {
      if (segment.base_offset >= plan.first_uncleanable_offset) break;
      to_copy += segment.size;
      if (segment.end_offset > plan.first_dirty_offset) to_map += segment.size;
    }
    progress.set_phase("mapping keys", to_map + to_copy);
  }
  map_.clear();
  bool full = false;
  for (const CleanableSegment& segment : plan.segments) {
    if (segment.end_offset <= plan.first_dirty_offset) continue;
    if (segment.base_offset >= plan.first_uncleanable_offset || full) break;
    Status mapped = for_each_batch(
        segment, throttler_, abort, stats, progress, [&](const RecordBatchView& batch) -> Status {
          if (full) return {};
          if (!batch.is_control() && !is_aborted(batch) &&
              batch.last_offset() >= plan.first_dirty_offset) {
            BatchRecords records;
            if (Status opened = open_records(batch, records); !opened) return opened;
            RecordView record;
            while (records.iterator->next(record)) {
              ++stats.map_records;
              if (!record.key || record.offset < plan.first_dirty_offset) continue;
              if (map_.full()) {
                full = true;
                return {};
              }
              map_.put(*record.key, record.offset);
            }
            if (!records.iterator->ok())
              return Error{fmt::format("{}: batch at offset {}: {}", segment.log_path.string(),
                                       batch.base_offset(), records.iterator->error()->what)};
          }
          if (batch.last_offset() >= plan.first_dirty_offset)
            map_.update_latest_offset(batch.last_offset());
          return {};
        });
    if (!mapped) return mapped.error();
    // Offset gaps: the segment is mapped up to the next one.
    if (!full) map_.update_latest_offset(segment.end_offset - 1);
  }
  result.end_offset = std::max(map_.latest_offset() + 1, plan.first_dirty_offset);

  // 2. Every segment up to the end of what was mapped, cleaned in groups.
  std::vector<CleanableSegment> to_clean;
  uint64_t to_copy = 0;
  for (const CleanableSegment& segment : plan.segments)
    if (segment.base_offset < result.end_offset) {
      to_clean.push_back(segment);
      to_copy += segment.size;
    }
  progress.set_phase("copying the segments", stats.bytes_read + to_copy);
  const auto groups = group_segments_by_size(
      to_clean, settings.segment_bytes, settings.max_index_bytes, plan.first_uncleanable_offset);
  TransactionWalk transactions(*aborted_list);
  std::vector<fs::path> written_files;
  auto give_up = [&](const Error& error) -> Result<CleanResult> {
    map_.clear();
    for (const fs::path& path : written_files) {
      std::error_code ec;
      fs::remove(path, ec);
    }
    return error;
  };

  for (const auto& group : groups) {
    const CleanableSegment& first = to_clean[group.front()];
    CleanedWriter out(settings.index_interval_bytes);
    out.base_offset = first.base_offset;
    out.log_path = with_suffix(plan.dir, first.base_offset, ".log", kCleanedSuffix);
    out.index_path = with_suffix(plan.dir, first.base_offset, ".index", kCleanedSuffix);
    out.time_index_path = with_suffix(plan.dir, first.base_offset, ".timeindex", kCleanedSuffix);
    out.txn_index_path = with_suffix(plan.dir, first.base_offset, kTxnIndexSuffix, kCleanedSuffix);
    auto file = FileHandle::open(out.log_path, O_RDWR | O_CREAT | O_TRUNC);
    if (!file) return give_up(file.error());
    written_files.push_back(out.log_path);
    out.file = std::move(*file);
    progress.set_segment_being_written(&out.size);
    CleanedSegment cleaned;
    cleaned.base_offset = first.base_offset;
    // The aborted transactions whose markers this segment keeps (its .txnindex).
    std::vector<AbortedTxn> kept_aborted;

    for (size_t index : group) {
      const CleanableSegment& segment = to_clean[index];
      cleaned.replaced.push_back(segment.base_offset);
      Status copied = for_each_batch(
          segment, throttler_, abort, stats, progress, [&](const RecordBatchView& batch) -> Status {
            stats.records_read += static_cast<uint64_t>(std::max(batch.record_count(), 0));
            // Kept as an empty header if nothing else of it is: an active
            // producer's last data (its sequence) or last marker (its epoch,
            // for fencing), and the round's last batch (its last offset).
            bool retain_empty = batch.next_offset() == plan.first_uncleanable_offset;
            if (batch.producer_id() >= 0) {
              auto producer = plan.active_producers.find(batch.producer_id());
              if (producer != plan.active_producers.end())
                retain_empty = retain_empty ||
                               (producer->second.last_data_offset >= 0
                                    ? producer->second.last_data_offset == batch.last_offset()
                                    : batch.is_control() && batch.producer_epoch() ==
                                                                producer->second.producer_epoch);
            }
            auto append_empty = [&]() -> Status {
              if (!retain_empty) return {};
              std::vector<uint8_t> bytes = empty_batch(batch);
              auto header = RecordBatchHeader::parse(bytes);
              return out.append(bytes, *header, throttler_);
            };
            const bool horizon_passed =
                batch.has_delete_horizon() && now_ms >= batch.base_timestamp();
            if (batch.is_control()) {
              auto type = control_type(batch);
              if (!type) return type.error();
              const bool droppable = transactions.on_control_batch(batch, *type, kept_aborted);
              if (!*type || (droppable && horizon_passed)) return append_empty();
              stats.records_kept += static_cast<uint64_t>(std::max(batch.record_count(), 0));
              if (!droppable || batch.has_delete_horizon())
                return out.append(batch.bytes(), batch.header(), throttler_);
              // Its transaction has nothing left here: the marker waits out
              // delete.retention.ms from now, then goes.
              RecordBatchBuilder builder = copy_of_header(batch);
              builder.set_control(true).set_delete_horizon(now_ms + settings.delete_retention_ms);
              BatchRecords records;
              if (Status opened = open_records(batch, records); !opened) return opened;
              RecordView record;
              while (records.iterator->next(record))
                builder.add_record_at(record.offset_delta, record.key, record.value,
                                      record.timestamp, record.headers);
              std::vector<uint8_t> bytes = builder.build();
              auto header = RecordBatchHeader::parse(bytes);
              return out.append(bytes, *header, throttler_);
            }
            // An aborted transaction's records go.
            if (transactions.on_data_batch(batch)) return append_empty();
            BatchRecords records;
            if (Status opened = open_records(batch, records); !opened) return opened;
            std::vector<RecordView> kept;
            bool all_kept = true;
            bool tombstones = false;
            RecordView record;
            while (records.iterator->next(record)) {
              bool keep = false;
              if (record.offset > map_.latest_offset()) {
                keep = true;  // not looked at this round
              } else if (record.key) {
                const bool latest = record.offset >= map_.get(*record.key);
                keep = latest && (record.value || !horizon_passed);
              }
              if (keep) {
                if (!record.value) tombstones = true;
                kept.push_back(record);
              } else {
                all_kept = false;
              }
            }
            if (!records.iterator->ok())
              return Error{fmt::format("{}: batch at offset {}: {}", segment.log_path.string(),
                                       batch.base_offset(), records.iterator->error()->what)};
            stats.records_kept += kept.size();
            if (kept.empty()) return append_empty();
            const bool stamp_horizon = tombstones && !batch.has_delete_horizon();
            if (all_kept && !stamp_horizon)
              return out.append(batch.bytes(), batch.header(), throttler_);
            RecordBatchBuilder builder = copy_of_header(batch);
            builder.set_compression(batch.compression());
            if (batch.timestamp_type() == TimestampType::log_append_time)
              builder.set_max_timestamp(batch.max_timestamp());
            if (stamp_horizon)
              builder.set_delete_horizon(now_ms + settings.delete_retention_ms);
            else if (batch.has_delete_horizon())
              builder.set_delete_horizon(batch.base_timestamp());
            for (const RecordView& r : kept)
              builder.add_record_at(r.offset_delta, r.key, r.value, r.timestamp, r.headers);
            std::vector<uint8_t> bytes;
            try {
              bytes = builder.build();
            } catch (const std::exception& e) {
              return Error{fmt::format("recompressing the batch at offset {}: {}",
                                       batch.base_offset(), e.what())};
            }
            auto header = RecordBatchHeader::parse(bytes);
            return out.append(bytes, *header, throttler_);
          });
      if (!copied) return give_up(copied.error());
    }
    if (Status flushed = out.flush(throttler_); !flushed) return give_up(flushed.error());
    if (auto final_entry = out.builder.final_time_entry(
            out.time_index.empty() ? std::nullopt : std::optional(out.time_index.back())))
      out.time_index.push_back(*final_entry);
    if (Status synced = detail::sync_data(out.file.get(), out.log_path); !synced)
      return give_up(synced.error());
    // The cleaned segment keeps the last old segment's modification time
    // (retention by time and the legacy delete horizon read it).
    const int64_t modified = to_clean[group.back()].last_modified_ms;
    const struct timespec times[2] = {
        {0, UTIME_OMIT},
        {static_cast<time_t>(modified / 1000), static_cast<long>((modified % 1000) * 1000000)}};
    (void)::futimens(out.file.get(), times);
    out.file.reset();

    std::vector<uint8_t> index_bytes, time_bytes;
    for (const auto& e : out.index) {
      uint8_t entry[kOffsetIndexEntrySize];
      encode_offset_index_entry(e, out.base_offset, entry);
      index_bytes.insert(index_bytes.end(), std::begin(entry), std::end(entry));
    }
    for (const auto& e : out.time_index) {
      uint8_t entry[kTimeIndexEntrySize];
      encode_time_index_entry(e, out.base_offset, entry);
      time_bytes.insert(time_bytes.end(), std::begin(entry), std::end(entry));
    }
    written_files.push_back(out.index_path);
    written_files.push_back(out.time_index_path);
    if (Status w = write_synced(out.index_path, index_bytes); !w) return give_up(w.error());
    if (Status w = write_synced(out.time_index_path, time_bytes); !w) return give_up(w.error());
    std::vector<uint8_t> txn_entries;
    for (const AbortedTxn& txn : kept_aborted) {
      const std::vector<uint8_t> entry = encode_aborted_txn(txn);
      txn_entries.insert(txn_entries.end(), entry.begin(), entry.end());
    }
    cleaned.aborted_kept = kept_aborted;
    cleaned.end_offset = to_clean[group.back()].end_offset;
    if (!txn_entries.empty()) {
      written_files.push_back(out.txn_index_path);
      if (Status w = write_synced(out.txn_index_path, txn_entries); !w) return give_up(w.error());
      cleaned.has_txn_index = true;
    }
    // .cleaned -> .swap, the .log last: a .log.swap says the set is whole.
    std::vector<fs::path> from = {out.index_path, out.time_index_path};
    if (cleaned.has_txn_index) from.push_back(out.txn_index_path);
    from.push_back(out.log_path);
    for (const fs::path& path : from) {
      fs::path to = path;
      to.replace_extension(kSwapSuffix);
      if (::rename(path.c_str(), to.c_str()) != 0)
        return give_up(detail::io_error("cannot rename to .swap", path, errno));
      written_files.push_back(to);
    }
    if (Status synced = detail::sync_directory(plan.dir); !synced) return give_up(synced.error());
    cleaned.size = out.size;
    stats.bytes_written += out.size;
    progress.set_segment_being_written(nullptr);
    result.segments.push_back(std::move(cleaned));
  }
  stats.elapsed_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  map_.clear();  // its memory goes back until the next clean
  return result;
}

}  // namespace kb::storage
