#pragma once

// Snapshots of the metadata image in __cluster_metadata-0, as a KRaft node's
// snapshot generator makes them: after at least
// metadata.log.max.record.bytes.between.snapshots of new records, or when
// metadata.log.max.snapshot.interval.ms have passed since the last one and a
// record arrives. The snapshot is made on a helper thread from the files
// alone (the newest snapshot and the log after it, replayed into an image of
// its own up to the snapshot's end offset), then written and synced there:
// the event loop never walks the whole image, however many topics there are
// (a second image lives while a snapshot is made). Once written, retention
// (metadata.max.retention.bytes/.ms) removes the oldest snapshots and the log segments wholly below
// the oldest snapshot kept, more cautiously than Kafka: the two newest snapshots always stay, so a
// damaged newest one still has one before it with the log after it.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <vector>

#include "kb/cluster/broker_state.hpp"
#include "kb/storage/metadata_snapshot.hpp"

namespace kb::cluster {

struct MetadataSnapshotOptions {
  uint64_t max_bytes_between = uint64_t{20} * 1024 * 1024;  // 0: never by size
  int64_t max_interval_ms = 3600000;                        // 0: never by time
  int64_t retention_bytes = int64_t{100} * 1024 * 1024;     // negative: no limit
  int64_t retention_ms = int64_t{7} * 24 * 3600 * 1000;     // negative: no limit
  // Snapshots kept whatever retention says.
  size_t min_snapshots_kept = 2;
};

// The records that rebuild `state`'s metadata image, in Kafka's image order:
// feature levels, the records of other types found in the log, topics with
// their partitions, configs, the producer id block. Framed record values.
std::vector<std::vector<uint8_t>> metadata_image_records(const BrokerState& state);

// The bytes of snapshot `id` of the metadata log in `dir`, from the files
// alone: the newest snapshot and the log after it replayed into an image of
// its own, up to id.end_offset. Records appended past that end meanwhile are
// not applied (a batch still being written there is where the replay stops).
// An error when the log cannot be read up to the end. Any thread.
storage::Result<std::vector<uint8_t>> make_metadata_snapshot(const std::filesystem::path& dir,
                                                             storage::SnapshotId id,
                                                             int64_t last_timestamp,
                                                             int64_t now_ms);

class MetadataSnapshotter {
 public:
  explicit MetadataSnapshotter(MetadataSnapshotOptions options) : options_(options) {}

  // Start-up, after the replay: where the applied log ends, the epoch and
  // timestamp of its last batch, and the snapshot replayed (if any).
  void loaded(int64_t applied_end_offset, int32_t last_epoch, int64_t last_timestamp,
              std::optional<storage::SnapshotId> snapshot, int64_t now_ms);

  // After a batch of `bytes` was appended to the metadata log and applied to
  // `state`: the log now ends at `end_offset`. Starts a snapshot when due.
  void appended(BrokerState& state, int64_t end_offset, int32_t epoch, int64_t timestamp,
                uint64_t bytes, int64_t now_ms);

  // From the owner's loop (while writing(), now and then): a finished
  // snapshot's outcome, then retention, then the next snapshot if one is due.
  void poll(BrokerState& state, int64_t now_ms);
  // Shutdown: waits for a snapshot being written and takes its outcome.
  void finish(BrokerState& state, int64_t now_ms);

  // Writes a snapshot now if the log has records past the last one (tests,
  // tools). False when nothing was started.
  bool snapshot_now(BrokerState& state, int64_t now_ms);

  bool writing() const { return writer_.busy(); }
  std::optional<storage::SnapshotId> latest() const { return latest_; }
  uint64_t bytes_since_last() const { return bytes_since_; }

 private:
  void take_result(BrokerState& state, int64_t now_ms);
  void start_if_due(BrokerState& state, int64_t now_ms);
  void retain(BrokerState& state, int64_t now_ms);

  MetadataSnapshotOptions options_;
  storage::SnapshotFileWriter writer_;
  std::optional<storage::SnapshotId> latest_;
  int64_t applied_end_ = 0;
  int32_t epoch_ = 0;
  int64_t last_timestamp_ = -1;
  uint64_t bytes_since_ = 0;
  int64_t last_snapshot_ms_ = 0;
  bool failed_ = false;  // a write failed: no further attempts (logged)
};

}  // namespace kb::cluster
