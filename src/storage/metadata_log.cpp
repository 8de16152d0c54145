#include "kb/storage/metadata_log.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <system_error>
#include <tuple>
#include <vector>

#include "file_io.hpp"
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
  }
  return "unknown";
}

std::string snapshot_file_name(const SnapshotId& id) {
  return fmt::format("{:020d}-{:010d}.checkpoint", id.end_offset, id.epoch);
}

std::optional<SnapshotId> parse_snapshot_file_name(std::string_view name) {
  constexpr std::string_view kSuffix = ".checkpoint";
  if (name.size() != 20 + 1 + 10 + kSuffix.size() || name[20] != '-') return std::nullopt;
  if (name.substr(31) != kSuffix) return std::nullopt;
  auto end_offset = detail::parse_offset_file_name(name.substr(0, 20), "");
  if (!end_offset) return std::nullopt;
  int64_t epoch = 0;
  for (char c : name.substr(21, 10)) {
    if (c < '0' || c > '9') return std::nullopt;
    epoch = epoch * 10 + (c - '0');
  }
  if (epoch > INT32_MAX) return std::nullopt;
  return SnapshotId{*end_offset, static_cast<int32_t>(epoch)};
}

namespace {

struct Replayer {
  const MetadataRecordHandler& handler;
  MetadataReplaySummary summary;

  void stop(ReplayStop why, const fs::path& file, uint64_t position, std::string_view detail) {
    summary.stop = why;
    summary.stop_file = file;
    summary.stop_position = position;
    summary.stop_message = fmt::format("{} at byte {}: {}", file.string(), position, detail);
    spdlog::warn("metadata log replay stopped ({}): {}; keeping the {} records before it",
                 to_string(why), summary.stop_message, summary.records_applied);
  }

  // One decoded record of the batch being replayed.
  struct Pending {
    int64_t offset;
    int64_t timestamp;
    DecodedMetadataRecord decoded;
  };

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
    for (;;) {
      switch (reader.next(true, CrcCheck::verify)) {
        case FileBatchReader::Step::end:
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
      if (header.is_control()) {
        ++summary.control_batches;
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
        pending.push_back({record.offset, record.timestamp, std::move(*decoded)});
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
  }
  std::sort(segments.begin(), segments.end());
  // The newest snapshot that is whole: a damaged one is passed over for the
  // one before it (the log still holds what follows that one, unless
  // retention removed it).
  std::optional<std::pair<SnapshotId, fs::path>> newest_snapshot;
  const std::vector<SnapshotFileInfo> snapshots = list_metadata_snapshots(partition_dir);
  for (size_t i = snapshots.size(); i-- > 0;) {
    const SnapshotFileInfo& snapshot = snapshots[i];
    if (std::string problem = metadata_snapshot_problem(snapshot.path); !problem.empty()) {
      spdlog::warn("metadata log: passing over damaged snapshot {}", problem);
      continue;
    }
    newest_snapshot.emplace(snapshot.id, snapshot.path);
    break;
  }

  Replayer replayer{handler, {}};
  MetadataReplaySummary& summary = replayer.summary;
  int64_t skip_below = 0;
  if (newest_snapshot) {
    summary.snapshot = newest_snapshot->first;
    if (!replayer.replay_file(newest_snapshot->second, true, 0, 0)) return summary;
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
  return summary;
}

}  // namespace kb::storage
