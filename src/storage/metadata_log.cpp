#include "kb/storage/metadata_log.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <system_error>
#include <tuple>
#include <vector>

#include "file_io.hpp"
#include "kb/base/java_number.hpp"
#include "kb/storage/metadata_snapshot.hpp"
#include "kb/storage/record_batch.hpp"

namespace kb::storage {

namespace fs = std::filesystem;
using detail::FileBatchReader;
using detail::FileHandle;

std::string_view to_string(ReplayStop stop) {
  switch (stop) {
    case ReplayStop::none:
      return "complete";
    case ReplayStop::torn_tail:
      return "torn tail";
    case ReplayStop::corrupt_batch:
      return "corrupt batch";
    case ReplayStop::compressed_batch:
      return "compressed batch";
    case ReplayStop::bad_record:
      return "undecodable record";
    case ReplayStop::io_error:
      return "I/O error";
    case ReplayStop::no_snapshot_header:
      return "no snapshot header";
  }
  return "unknown";
}

std::string snapshot_file_name(const SnapshotId& id) {
  return fmt::format("{:020d}-{:010d}.checkpoint", id.end_offset, id.epoch);
}

namespace {

// Kafka's Snapshots.parse after the suffix check: Long.parseLong of the
// first 20 characters and Integer.parseInt of characters 21 to 30; the
// character between them and anything before the suffix are not looked at.
std::optional<SnapshotId> parse_snapshot_id_prefix(std::string_view name) {
  constexpr size_t kOffsetWidth = 20;
  constexpr size_t kEpochWidth = 10;
  if (name.size() < kOffsetWidth + 1 + kEpochWidth) return std::nullopt;
  auto end_offset = kb::parse_java_long(name.substr(0, kOffsetWidth));
  auto epoch = kb::parse_java_int(name.substr(kOffsetWidth + 1, kEpochWidth));
  if (!end_offset || !epoch) return std::nullopt;
  return SnapshotId{*end_offset, *epoch};
}

}  // namespace

bool is_snapshot_file_name(std::string_view name) {
  return name.ends_with(kSnapshotSuffix) || name.ends_with(kPartialSnapshotSuffix) ||
         name.ends_with(kDeletedSnapshotSuffix);
}

std::optional<SnapshotId> parse_snapshot_file_name(std::string_view name) {
  if (!name.ends_with(kSnapshotSuffix)) return std::nullopt;
  return parse_snapshot_id_prefix(name);
}

namespace {

bool starts_with_snapshot_header(std::span<const uint8_t> batch_bytes) {
  auto view = RecordBatchView::parse(batch_bytes, CrcCheck::skip);
  if (!view || !view->header().is_control()) return false;
  RecordIterator records(*view);
  RecordView first;
  if (!records.next(first) || !first.key) return false;
  auto type = parse_control_record_type(*first.key);
  return type && *type == static_cast<int16_t>(ControlRecordType::snapshot_header);
}

struct Replayer {
  const MetadataRecordHandler& handler;
  MetadataReplaySummary summary;

  bool in_snapshot = false;  // a snapshot that cannot be read is an error, not a warning

  void stop(ReplayStop why, const fs::path& file, uint64_t position, std::string_view detail) {
    summary.stop = why;
    summary.stop_file = file;
    summary.stop_position = position;
    summary.stop_message = fmt::format("{} at byte {}: {}", file.string(), position, detail);
    if (in_snapshot) return;
    spdlog::warn("metadata log replay stopped ({}): {}; keeping the {} records before it",
                 to_string(why), summary.stop_message, summary.records_applied);
  }

  // One decoded record of the batch being replayed.
  struct Pending {
    int64_t offset;
    int64_t timestamp;
    DecodedMetadataRecord decoded;
    std::span<const uint8_t> value;
  };

  void count_control_records(std::span<const uint8_t> batch_bytes) {
    auto view = RecordBatchView::parse(batch_bytes, CrcCheck::skip);
    if (!view) return;
    RecordIterator records(*view);
    RecordView record;
    while (records.next(record)) {
      auto type = record.key ? parse_control_record_type(*record.key) : std::nullopt;
      ++summary.control_records[type ? *type : int16_t{-1}];
    }
  }

  // Replays one snapshot or segment file. Records of a log segment below
  // `skip_below` are already covered by the snapshot. False when stopped.
  bool replay_file(const fs::path& file, bool from_snapshot, int64_t segment_base,
                   int64_t skip_below) {
    auto handle = FileHandle::open(file, O_RDONLY);
    if (!handle) {
      stop(ReplayStop::io_error, file, 0, handle.error().message);
      return false;
    }
    auto size = detail::file_size(handle->get(), file);
    if (!size) {
      stop(ReplayStop::io_error, file, 0, size.error().message);
      return false;
    }
    FileBatchReader reader(handle->get(), file, 0, *size);
    // Batches never go backwards; snapshots count from 0.
    reader.check_offsets(from_snapshot ? 0 : segment_base);
    std::vector<Pending> pending;
    RecordView record;
    // Kafka's RecordsSnapshotReader: the first batch of a snapshot is a
    // control batch whose first record is the SnapshotHeader.
    bool header_seen = !from_snapshot;
    for (;;) {
      switch (reader.next(true, CrcCheck::verify)) {
        case FileBatchReader::Step::end:
          if (!header_seen) {
            stop(ReplayStop::no_snapshot_header, file, reader.position(),
                 "no batch, where a SnapshotHeader control batch was expected");
            return false;
          }
          return true;
        case FileBatchReader::Step::io_error:
          stop(ReplayStop::io_error, file, reader.position(), reader.io_error().message);
          return false;
        case FileBatchReader::Step::bad:
          stop(is_truncation(reader.error()) ? ReplayStop::torn_tail : ReplayStop::corrupt_batch,
               file, reader.position(), to_string(reader.error()));
          return false;
        case FileBatchReader::Step::batch:
          break;
      }
      const RecordBatchHeader& header = reader.header();
      const uint64_t position = reader.batch_position();
      if (!header_seen) {
        if (!starts_with_snapshot_header(reader.batch_bytes())) {
          stop(ReplayStop::no_snapshot_header, file, position,
               "the first batch is not a control batch starting with a SnapshotHeader record");
          return false;
        }
        header_seen = true;
      }
      if (header.is_control()) {
        ++summary.control_batches;
        count_control_records(reader.batch_bytes());
        note_batch_done(header, from_snapshot);
        continue;
      }
      if (header.compression() != Compression::none) {
        stop(ReplayStop::compressed_batch, file, position,
             fmt::format("batch at offset {} is compressed", header.base_offset));
        return false;
      }
      auto view = RecordBatchView::parse(reader.batch_bytes(), CrcCheck::skip);
      // Decode the whole batch before applying any of it: a batch is atomic
      // (a topic and its partitions arrive together).
      pending.clear();
      RecordIterator records(*view);
      while (records.next(record)) {
        if (!from_snapshot && record.offset < skip_below) continue;
        if (!record.value) {
          stop(ReplayStop::bad_record, file, position,
               fmt::format("record at offset {} has a null value", record.offset));
          return false;
        }
        auto decoded = decode_metadata_record(*record.value);
        if (!decoded) {
          stop(ReplayStop::bad_record, file, position,
               fmt::format("record at offset {}: {}", record.offset, decoded.error().message));
          return false;
        }
        pending.push_back({record.offset, record.timestamp, std::move(*decoded), *record.value});
      }
      if (!records.ok()) {
        stop(ReplayStop::bad_record, file, position,
             fmt::format("batch at offset {}: {} at byte {} of the batch", header.base_offset,
                         records.error()->what, records.error()->position));
        return false;
      }
      for (const Pending& p : pending) {
        MetadataLogEntry entry;
        entry.offset = p.offset;
        entry.from_snapshot = from_snapshot;
        entry.timestamp = p.timestamp;
        entry.leader_epoch = header.partition_leader_epoch;
        entry.version = p.decoded.version;
        entry.record = &p.decoded.record;
        entry.value = p.value;
        handler(entry);
        ++summary.records_applied;
        if (std::holds_alternative<UnknownMetadataRecord>(p.decoded.record))
          ++summary.unknown_records;
      }
      note_batch_done(header, from_snapshot);
    }
  }

  void note_batch_done(const RecordBatchHeader& header, bool from_snapshot) {
    if (from_snapshot) return;  // snapshot offsets are not log offsets
    summary.max_leader_epoch = std::max(summary.max_leader_epoch, header.partition_leader_epoch);
    summary.last_offset = std::max(summary.last_offset, header.last_offset());
    summary.next_offset = std::max(summary.next_offset, header.next_offset());
  }
};

}  // namespace

Result<MetadataReplaySummary> replay_metadata_log(const fs::path& partition_dir,
                                                  const MetadataRecordHandler& handler) {
  std::error_code ec;
  fs::directory_iterator entries(partition_dir, ec);
  if (ec)
    return Error{
        fmt::format("cannot list metadata log {}: {}", partition_dir.string(), ec.message())};
  std::vector<std::pair<int64_t, fs::path>> segments;
  for (const auto& entry : entries) {
    const std::string name = entry.path().filename().string();
    if (auto base = detail::parse_offset_file_name(name, ".log"))
      segments.emplace_back(*base, entry.path());
    else if (is_snapshot_file_name(name) && !parse_snapshot_id_prefix(name))
      // Kafka parses every snapshot name, partial and deleted ones too, and
      // does not start when one does not parse.
      return Error{
          fmt::format("{}: not a snapshot file name Kafka can read (expected "
                      "<end offset:20 digits>-<epoch:10 digits>.checkpoint)",
                      entry.path().string())};
  }
  std::sort(segments.begin(), segments.end());
  // Kafka's KafkaMetadataLog: snapshots ending before the log start offset
  // (the first segment's base) are dropped; a log that does not start at 0
  // needs a snapshot covering what came before, or Kafka does not start
  // ("Inconsistent snapshot state"). Of the others the newest whole one is
  // read: a damaged one is passed over for the one before it, whose following
  // records the log still holds (Kafka would stop on it).
  const int64_t log_start = segments.empty() ? 0 : segments.front().first;
  std::optional<std::pair<SnapshotId, fs::path>> newest_snapshot;
  const std::vector<SnapshotFileInfo> snapshots = list_metadata_snapshots(partition_dir);
  // The newest damaged snapshot passed over: the log must reach its end.
  std::optional<std::pair<int64_t, std::string>> passed_over;
  for (size_t i = snapshots.size(); i-- > 0;) {
    const SnapshotFileInfo& snapshot = snapshots[i];
    if (snapshot.id.end_offset < log_start) break;
    if (std::string problem = metadata_snapshot_problem(snapshot.path); !problem.empty()) {
      spdlog::warn("metadata log: passing over damaged snapshot {}", problem);
      if (!passed_over) passed_over.emplace(snapshot.id.end_offset, problem);
      continue;
    }
    newest_snapshot.emplace(snapshot.id, snapshot.path);
    break;
  }
  if (log_start > 0 && !newest_snapshot)
    return Error{fmt::format(
        "{}: the log starts at offset {}, and no snapshot covers the offsets before it (expected "
        "a <end offset>-<epoch>.checkpoint file ending at or after offset {})",
        partition_dir.string(), log_start, log_start)};

  Replayer replayer{handler, {}};
  MetadataReplaySummary& summary = replayer.summary;
  int64_t skip_below = 0;
  if (newest_snapshot) {
    summary.snapshot = newest_snapshot->first;
    // The state is the snapshot plus the log after it: without the whole
    // snapshot there is no state to serve (Kafka's metadata loader stops a
    // controller on it).
    replayer.in_snapshot = true;
    if (!replayer.replay_file(newest_snapshot->second, true, 0, 0))
      return Error{fmt::format(
          "metadata snapshot {} (the newest snapshot is the state the log continues from; it is "
          "left as it is)",
          summary.stop_message)};
    replayer.in_snapshot = false;
    skip_below = newest_snapshot->first.end_offset;
    summary.last_offset = skip_below - 1;
    summary.next_offset = skip_below;
  }
  for (size_t i = 0; i < segments.size(); ++i) {
    // A segment whose successor starts at or below the snapshot's end holds
    // only offsets the snapshot covers.
    if (i + 1 < segments.size() && segments[i + 1].first <= skip_below) continue;
    const int64_t base = segments[i].first;
    if (base > summary.next_offset && (summary.next_offset > 0 || summary.snapshot))
      spdlog::warn("metadata log: segment {} starts at offset {}, after the expected {}",
                   segments[i].second.string(), base, summary.next_offset);
    if (!replayer.replay_file(segments[i].second, false, base, skip_below)) break;
  }
  // An older snapshot stands in for a damaged newer one only when the log
  // holds every record up to the damaged one's end.
  if (passed_over && summary.next_offset < passed_over->first)
    return Error{fmt::format(
        "metadata snapshot {}; the log ends at offset {}, before its end offset {}, so the state "
        "it held cannot be rebuilt (it is left as it is)",
        passed_over->second, summary.next_offset, passed_over->first)};
  return summary;
}

Status start_metadata_log_at(const fs::path& partition_dir, int64_t offset) {
  const fs::path segment = partition_dir / (detail::offset_file_stem(offset) + ".log");
  std::error_code ec;
  if (fs::exists(segment, ec)) return {};
  spdlog::warn(
      "metadata log: {} ends before its newest snapshot's end offset {}; it continues at that "
      "offset in {} (Kafka truncates the log fully and starts it there; the older segments are "
      "left, covered by the snapshot)",
      partition_dir.string(), offset, segment.filename().string());
  return detail::write_file_atomically(segment, "");
}

}  // namespace kb::storage
