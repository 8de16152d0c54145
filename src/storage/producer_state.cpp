#include "kb/storage/producer_state.hpp"

#include <algorithm>
#include <limits>
#include <map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "file_io.hpp"
#include "kb/storage/crc32c.hpp"
#include "kb/storage/partition_log.hpp"
#include "kb/wire/reader.hpp"
#include "kb/wire/writer.hpp"

namespace kb::storage {

namespace {

constexpr int32_t kMaxSequence = std::numeric_limits<int32_t>::max();
// Each read() during a load covers at most this much of a segment.
constexpr uint64_t kLoadChunkBytes = uint64_t{8} * 1024 * 1024;
constexpr size_t kLoadReadAhead = size_t{16} * 1024;

constexpr int16_t kSnapshotVersion = 1;
constexpr size_t kSnapshotCrcAt = 2;
constexpr size_t kSnapshotEntriesAt = 6;
constexpr size_t kSnapshotEntrySize = 8 + 2 + 4 + 8 + 4 + 8 + 4 + 8;

// The first sequence of a batch from its last one (the inverse of
// increment_sequence).
int32_t decrement_sequence(int32_t sequence, int32_t decrement) {
  if (sequence < decrement) return kMaxSequence - (decrement - sequence) + 1;
  return sequence - decrement;
}

// The producer snapshots in a partition directory, by offset.
std::map<int64_t, std::filesystem::path> list_snapshots(const std::filesystem::path& dir) {
  std::map<int64_t, std::filesystem::path> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    auto offset =
        detail::parse_offset_file_name(e.path().filename().string(), kProducerSnapshotSuffix);
    if (offset) out.emplace(*offset, e.path());
  }
  return out;
}

bool in_sequence(int32_t last, int32_t next) {
  return static_cast<int64_t>(next) == static_cast<int64_t>(last) + 1 ||
         (next == 0 && last == kMaxSequence);
}

}  // namespace

int32_t increment_sequence(int32_t sequence, int32_t increment) {
  if (sequence > kMaxSequence - increment) return increment - (kMaxSequence - sequence) - 1;
  return sequence + increment;
}

int32_t last_sequence(const RecordBatchHeader& batch) {
  if (batch.base_sequence == kNoSequence) return kNoSequence;
  return increment_sequence(batch.base_sequence, batch.last_offset_delta);
}

SequenceCheck ProducerStateTable::check(const RecordBatchHeader& batch) const {
  SequenceCheck result;
  auto it = producers_.find(batch.producer_id);
  if (it == producers_.end()) return result;
  const ProducerEntry& entry = it->second;
  const int32_t first = batch.base_sequence;

  if (batch.producer_epoch == entry.epoch) {
    const int32_t last = last_sequence(batch);
    for (const auto& b : entry.batches) {
      if (b.first_sequence == first && b.last_sequence == last) {
        result.verdict = SequenceVerdict::duplicate;
        result.duplicate = b;
        return result;
      }
    }
  }
  if (batch.producer_epoch < entry.epoch) {
    result.verdict = SequenceVerdict::old_epoch;
    result.message = fmt::format("epoch {} of producer {} is older than its current epoch {}",
                                 batch.producer_epoch, batch.producer_id, entry.epoch);
    return result;
  }
  if (entry.epoch == kNoProducerEpoch) return result;  // nothing known to continue from
  if (batch.producer_epoch != entry.epoch) {
    if (first != 0) {
      result.verdict = SequenceVerdict::out_of_order;
      result.message =
          fmt::format("new epoch {} of producer {} starts at sequence {}, not 0 (epoch was {})",
                      batch.producer_epoch, batch.producer_id, first, entry.epoch);
    }
    return result;
  }
  if (!in_sequence(entry.last_sequence(), first)) {
    result.verdict = SequenceVerdict::out_of_order;
    result.message = fmt::format(
        "out of order sequence number for producer {}: {} (incoming), {} (current end sequence)",
        batch.producer_id, first, entry.last_sequence());
  }
  return result;
}

std::optional<AbortedTxn> ProducerStateTable::update(const RecordBatchHeader& batch,
                                                     std::optional<bool> marker_commit,
                                                     int32_t coordinator_epoch) {
  end_offset_ = std::max(end_offset_, batch.next_offset());
  if (batch.producer_id == kNoProducerId) return std::nullopt;
  ProducerEntry& entry = producers_[batch.producer_id];
  if (batch.producer_epoch != entry.epoch) {
    entry.epoch = batch.producer_epoch;
    entry.batches.clear();
  }
  entry.last_timestamp = batch.max_timestamp;
  if (batch.is_control()) {
    std::optional<AbortedTxn> aborted;
    if (!marker_commit) return aborted;  // not a transaction marker
    entry.coordinator_epoch = coordinator_epoch;
    if (entry.current_txn_first_offset < 0) return aborted;  // nothing ongoing here
    const int64_t first = entry.current_txn_first_offset;
    for (auto [it, end] = ongoing_.equal_range(first); it != end; ++it) {
      if (it->second == batch.producer_id) {
        ongoing_.erase(it);
        break;
      }
    }
    entry.current_txn_first_offset = -1;
    if (!*marker_commit) {
      // Kafka's lastStableOffset(completedTxn): the next transaction still
      // undecided, or just past the marker.
      const int64_t last_stable =
          ongoing_.empty() ? batch.base_offset + 1 : ongoing_.begin()->first;
      aborted = AbortedTxn{batch.producer_id, first, batch.base_offset, last_stable};
    }
    return aborted;
  }
  if (batch.is_transactional() && entry.current_txn_first_offset < 0) {
    entry.current_txn_first_offset = batch.base_offset;
    ongoing_.emplace(batch.base_offset, batch.producer_id);
  }
  if (entry.batches.size() == kProducerBatchesRetained) entry.batches.pop_front();
  entry.batches.push_back(ProducerBatchMetadata{batch.base_sequence, last_sequence(batch),
                                                batch.base_offset, batch.last_offset(),
                                                batch.max_timestamp});
  return std::nullopt;
}

std::optional<int64_t> ProducerStateTable::first_unstable_offset() const {
  if (ongoing_.empty()) return std::nullopt;
  return ongoing_.begin()->first;
}

std::map<int64_t, int64_t> ProducerStateTable::ongoing_transactions() const {
  std::map<int64_t, int64_t> out;
  for (const auto& [first, producer_id] : ongoing_) out[producer_id] = first;
  return out;
}

size_t ProducerStateTable::remove_expired(int64_t now_ms, int64_t expiration_ms) {
  // A producer with an ongoing transaction stays (Kafka's rule): its
  // transaction holds the last stable offset until its marker.
  return std::erase_if(producers_, [&](const auto& entry) {
    return entry.second.current_txn_first_offset < 0 &&
           now_ms - entry.second.last_timestamp >= expiration_ms;
  });
}

const ProducerEntry* ProducerStateTable::find(int64_t producer_id) const {
  auto it = producers_.find(producer_id);
  return it == producers_.end() ? nullptr : &it->second;
}

std::vector<uint8_t> encode_producer_snapshot(const ProducerStateTable& table) {
  ByteBuffer out;
  wire::Writer w(out);
  w.int16(kSnapshotVersion);
  w.uint32(0);  // the CRC, filled in below
  size_t entries = 0;
  for (const auto& [id, entry] : table.producers())
    entries += std::max<size_t>(entry.batches.size(), 1);
  w.int32(static_cast<int32_t>(entries));
  for (const auto& producer : table.producers()) {
    // Named, not a structured binding: clang 14 (the fuzz build) cannot capture those.
    const auto& id = producer.first;
    const auto& entry = producer.second;
    auto write = [&](int32_t last_sequence, int64_t last_offset, int32_t offset_delta,
                     int64_t timestamp) {
      w.int64(id);
      w.int16(entry.epoch);
      w.int32(last_sequence);
      w.int64(last_offset);
      w.int32(offset_delta);
      w.int64(timestamp);
      w.int32(entry.coordinator_epoch);
      w.int64(entry.current_txn_first_offset);
    };
    if (entry.batches.empty()) write(kNoSequence, -1, 0, entry.last_timestamp);
    for (const auto& b : entry.batches)
      write(b.last_sequence, b.last_offset, static_cast<int32_t>(b.last_offset - b.first_offset),
            b.timestamp);
  }
  std::vector<uint8_t> bytes(out.data(), out.data() + out.size());
  const uint32_t crc = crc32c(std::span<const uint8_t>(bytes).subspan(kSnapshotEntriesAt));
  for (int i = 0; i < 4; ++i)
    bytes[kSnapshotCrcAt + static_cast<size_t>(i)] = static_cast<uint8_t>(crc >> (24 - 8 * i));
  return bytes;
}

Status decode_producer_snapshot(std::span<const uint8_t> bytes, ProducerStateTable& table) {
  wire::Reader r(bytes);
  const int16_t version = r.int16();
  const uint32_t crc = r.uint32();
  const int32_t count = r.int32();
  if (!r.ok()) return Error{"producer snapshot is truncated"};
  if (version != kSnapshotVersion)
    return Error{fmt::format("producer snapshot version {} is not supported", version)};
  if (crc32c(bytes.subspan(kSnapshotEntriesAt)) != crc)
    return Error{"producer snapshot CRC mismatch"};
  // Kafka's generated ProducerSnapshot reader takes `count` entries and
  // ignores bytes after them (the CRC covers them all).
  if (count < 0 || r.remaining() < static_cast<size_t>(count) * kSnapshotEntrySize)
    return Error{
        fmt::format("producer snapshot has {} bytes for {} entries", r.remaining(), count)};
  std::unordered_map<int64_t, ProducerEntry> producers;
  for (int32_t i = 0; i < count; ++i) {
    const int64_t id = r.int64();
    const int16_t epoch = r.int16();
    const int32_t last_seq = r.int32();
    const int64_t last_offset = r.int64();
    const int32_t offset_delta = r.int32();
    const int64_t timestamp = r.int64();
    const int32_t coordinator_epoch = r.int32();
    const int64_t txn_first_offset = r.int64();
    ProducerEntry& entry = producers[id];
    if (entry.epoch != epoch) entry.batches.clear();
    entry.epoch = epoch;
    entry.last_timestamp = timestamp;
    entry.coordinator_epoch = coordinator_epoch;
    entry.current_txn_first_offset = txn_first_offset < 0 ? -1 : txn_first_offset;
    if (last_offset < 0 || offset_delta < 0) continue;
    if (entry.batches.size() == kProducerBatchesRetained) entry.batches.pop_front();
    entry.batches.push_back({decrement_sequence(last_seq, offset_delta), last_seq,
                             last_offset - offset_delta, last_offset, timestamp});
  }
  for (auto& [id, entry] : producers) table.restore(id, std::move(entry));
  return {};
}

Status write_producer_snapshot(const std::filesystem::path& dir, const ProducerStateTable& table) {
  const std::vector<uint8_t> bytes = encode_producer_snapshot(table);
  const auto path =
      dir / (detail::offset_file_stem(table.end_offset()) + std::string(kProducerSnapshotSuffix));
  if (auto written = detail::write_file_atomically(
          path, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
      !written)
    return written;
  for (const auto& [offset, older] : list_snapshots(dir)) {
    if (offset >= table.end_offset()) continue;
    std::error_code ec;
    std::filesystem::remove(older, ec);
  }
  return {};
}

Result<std::optional<bool>> read_marker(PartitionLog& log, int64_t offset) {
  auto read = log.read(offset, 256, offset + 1);
  if (!read) return read.error();
  if (read->outcome != LogReadResult::Outcome::ok || read->empty()) return std::optional<bool>{};
  auto bytes = read->read_bytes();
  if (!bytes) return bytes.error();
  BatchIterator batches(*bytes, CrcCheck::skip);
  auto batch = batches.next();
  if (!batch || !batch->is_control() || batch->base_offset() != offset)
    return std::optional<bool>{};
  RecordIterator records(*batch);
  RecordView record;
  if (!records.next(record) || !record.key || record.key->size() < 4) return std::optional<bool>{};
  // [int16 version][int16 type]: 0 ABORT, 1 COMMIT.
  const int type = ((*record.key)[2] << 8) | (*record.key)[3];
  if (type != 0 && type != 1) return std::optional<bool>{};
  return std::optional<bool>(type == 1);
}

Result<LoadedProducerState> load_producer_state(PartitionLog& log) {
  LoadedProducerState loaded;
  ProducerStateTable& table = loaded.table;
  const std::vector<int64_t> bases = log.segment_base_offsets();
  int64_t offset = log.log_start_offset();
  if (bases.size() > 2) offset = bases[bases.size() - 2];
  // The newest snapshot inside the log; one beyond its end (a lost tail) or
  // before its start is useless.
  auto snapshots = list_snapshots(log.dir());
  // NOLINTNEXTLINE(modernize-loop-convert): newest first, and the iterator names the snapshot
  for (auto it = snapshots.rbegin(); it != snapshots.rend(); ++it) {
    if (it->first > log.log_end_offset() || it->first < log.log_start_offset()) continue;
    auto bytes = detail::read_file_bytes(it->second);
    if (!bytes) {
      spdlog::warn("{}; producer snapshot not used", bytes.error().message);
      continue;
    }
    ProducerStateTable restored;
    if (auto decoded = decode_producer_snapshot(*bytes, restored); !decoded) {
      spdlog::warn("{}: {}; not used", it->second.string(), decoded.error().message);
      continue;
    }
    table = std::move(restored);
    offset = it->first;
    break;
  }
  table.set_end_offset(offset);

  // The aborted transactions the indexes hold, within the log (an entry past
  // its end is of a tail recovery cut off).
  auto indexed = read_txn_indexes(log.dir());
  if (!indexed) return indexed.error();
  for (const AbortedTxn& txn : *indexed)
    if (txn.last_offset < log.log_end_offset()) loaded.aborted.push_back(txn);
  std::vector<AbortedTxn> found_aborted;

  while (offset < log.log_end_offset()) {
    auto read = log.read(offset, kLoadChunkBytes);
    if (!read) return read.error();
    if (read->outcome != LogReadResult::Outcome::ok || read->empty()) break;
    detail::FileBatchReader reader(read->file->fd(), read->file->path(), read->position,
                                   read->position + read->length, kLoadReadAhead);
    int64_t next = offset;
    for (;;) {
      auto step = reader.next(false, CrcCheck::skip);
      if (step == detail::FileBatchReader::Step::io_error) return reader.io_error();
      if (step == detail::FileBatchReader::Step::bad)
        return Error{fmt::format("{}: {} at byte {} while loading producer state",
                                 read->file->path().string(), to_string(reader.error()),
                                 reader.position())};
      if (step == detail::FileBatchReader::Step::end) break;
      const RecordBatchHeader header = reader.header();
      std::optional<bool> marker;
      if (header.is_control() && header.is_transactional()) {
        auto read_back = read_marker(log, header.base_offset);
        if (!read_back) return read_back.error();
        marker = *read_back;
      }
      if (auto aborted = table.update(header, marker)) found_aborted.push_back(*aborted);
      next = header.next_offset();
    }
    if (next <= offset) break;  // no progress: never loop on a strange log
    offset = next;
  }
  table.set_end_offset(std::max(table.end_offset(), log.log_end_offset()));
  // An abort whose marker was appended but whose index entry was not (a
  // crash in between) is indexed now.
  const std::vector<int64_t> segments = log.segment_base_offsets();
  for (const AbortedTxn& txn : found_aborted) {
    const bool known =
        std::any_of(loaded.aborted.begin(), loaded.aborted.end(), [&](const auto& a) {
          return a.producer_id == txn.producer_id && a.last_offset == txn.last_offset;
        });
    if (known) continue;
    auto segment = std::upper_bound(segments.begin(), segments.end(), txn.last_offset);
    if (segment != segments.begin()) {
      if (auto added = append_aborted_txn(log.dir(), *std::prev(segment), txn); !added)
        spdlog::warn("{}: aborted transaction not indexed: {}", log.dir().string(),
                     added.error().message);
    }
    loaded.aborted.push_back(txn);
  }
  std::sort(loaded.aborted.begin(), loaded.aborted.end(),
            [](const AbortedTxn& a, const AbortedTxn& b) { return a.last_offset < b.last_offset; });
  return loaded;
}

}  // namespace kb::storage
