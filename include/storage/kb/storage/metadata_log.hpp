#pragma once

// Replays the KRaft metadata partition <log.dir>/__cluster_metadata-0/ as
// Kafka loads it: the newest whole snapshot "<end offset:20>-<epoch:10>.checkpoint"
// (see metadata_snapshot.hpp; it holds the state of every offset below its end
// offset; a damaged one is passed over for the one before it) and then the
// records of the "<base offset:20>.log" segments from that end offset on.
// Records of control batches (leader changes, snapshot header/footer, voter
// sets) are skipped; every other record value is decoded and handed to the caller.
//
// What Kafka refuses to start with is an Error here, and nothing is changed
// on disk: a snapshot file name Kafka cannot parse, and a log that starts
// after offset 0 with no whole snapshot ending at or after its start.
// Snapshots ending before the log start are not read (Kafka deletes them),
// nor are partial (.checkpoint.part) or deleted (.checkpoint.deleted) ones
// (start-up removes those, as Kafka does).
//
// In the log segments, a torn tail, a bad CRC, a compressed batch or an
// undecodable record ends the replay: what was applied before it stands, a
// warning names the file and byte position, and the summary says why it
// stopped.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>

#include "kb/storage/metadata_records.hpp"
#include "kb/storage/result.hpp"

namespace kb::storage {

inline constexpr std::string_view kMetadataPartitionDir = "__cluster_metadata-0";

struct SnapshotId {
  int64_t end_offset = 0;  // the snapshot covers offsets below this
  int32_t epoch = 0;
  friend bool operator==(const SnapshotId&, const SnapshotId&) = default;
};

// "<end offset:20>-<epoch:10>.checkpoint" and back. Parsing is Kafka's
// Snapshots.parse: Long.parseLong of the first 20 characters, Integer.parseInt
// of characters 21 to 30, the rest up to the suffix unchecked; nullopt when
// that fails or the name does not end in ".checkpoint".
std::string snapshot_file_name(const SnapshotId& id);
std::optional<SnapshotId> parse_snapshot_file_name(std::string_view name);
// Names Kafka takes for snapshots: ending in ".checkpoint", ".checkpoint.part"
// or ".checkpoint.deleted".
bool is_snapshot_file_name(std::string_view name);

struct MetadataLogEntry {
  // The record's log offset; for a snapshot's records, their offset within the
  // snapshot file (snapshots number their batches from 0).
  int64_t offset = 0;
  bool from_snapshot = false;
  int64_t timestamp = 0;
  int32_t leader_epoch = 0;  // the batch's partition leader epoch
  int16_t version = 0;
  // Unknown record types arrive as UnknownMetadataRecord; skip them.
  const MetadataRecord* record = nullptr;
  // The record value as written (valid during the call): what a caller keeps
  // of a record it does not act on, byte for byte.
  std::span<const uint8_t> value;
};

enum class ReplayStop : uint8_t {
  none,              // everything was read
  torn_tail,         // a batch is cut short (a crash during a write)
  corrupt_batch,     // bad CRC, length or magic
  compressed_batch,  // metadata batches are expected uncompressed
  bad_record,        // a record inside a valid batch does not decode
  io_error,
  no_snapshot_header,  // a snapshot's first batch is not its SnapshotHeader
};
std::string_view to_string(ReplayStop stop);

struct MetadataReplaySummary {
  std::optional<SnapshotId> snapshot;  // the snapshot replayed first, if any
  uint64_t records_applied = 0;        // records handed to the callback
  uint64_t unknown_records = 0;        // of which of unknown type
  uint64_t control_batches = 0;        // skipped
  // The control records of those batches by type (ControlRecordType: leader
  // changes, snapshot headers and footers, KRaft versions and voter sets);
  // -1 counts records whose key is malformed.
  std::map<int16_t, uint64_t> control_records;
  // The last log offset covered (a log record's, or the snapshot's end - 1);
  // -1 when nothing was read.
  int64_t last_offset = -1;
  // Where the log continues: the next offset after the last valid batch.
  int64_t next_offset = 0;
  // The highest partition leader epoch of the log's batches, control batches
  // too (a Kafka controller's election leaves a LeaderChange at its epoch);
  // -1 when the log has none.
  int32_t max_leader_epoch = -1;
  ReplayStop stop = ReplayStop::none;
  std::string stop_message;  // "<file> at byte <n>: <why>" when stopped early
  std::filesystem::path stop_file;
  uint64_t stop_position = 0;

  bool stopped_early() const { return stop != ReplayStop::none; }
};

using MetadataRecordHandler = std::function<void(const MetadataLogEntry&)>;

// Replays `partition_dir` (normally <log.dir>/__cluster_metadata-0): the
// newest snapshot, then the log records after it. An Error when the directory
// cannot be listed or for what Kafka does not start with (above); damage in
// log segments is reported in the summary.
Result<MetadataReplaySummary> replay_metadata_log(const std::filesystem::path& partition_dir,
                                                  const MetadataRecordHandler& handler);

// Kafka's KafkaMetadataLog.truncateToLatestSnapshot, without deleting: when
// the log ends before the newest snapshot's end offset, it must continue at
// that offset (records appended below it would be covered by the snapshot, so
// never replayed). Creates the empty segment "<offset:20>.log" (synced, with
// its directory) unless it exists; older segments are left as they are, and
// a replay skips them.
Status start_metadata_log_at(const std::filesystem::path& partition_dir, int64_t offset);

}  // namespace kb::storage
