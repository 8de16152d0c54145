#pragma once

// KRaft metadata snapshots as Kafka writes them into __cluster_metadata-0:
// "<end offset:20>-<epoch:10>.checkpoint" holds the records that rebuild the
// metadata image of every offset below its end offset, as record batches (v2,
// uncompressed) numbered from offset 0: first a control batch with a
// SnapshotHeader record, then the image's records, last a control batch with a
// SnapshotFooter record. A snapshot is written to
// "<end offset:20>-<epoch:10>-<random>.checkpoint.part", synced, made read-only
// and renamed into place (the directory synced), so a crash leaves the old
// snapshots and at most a partial file, which start-up removes.
//
// Also here: what start-up does to a metadata log whose tail is damaged (the
// damaged bytes are kept beside it, then the log is cut where the damage
// starts) or that ends before its newest snapshot (it restarts at the
// snapshot's end, as Kafka's truncateFullyAndStartAt).

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "kb/storage/metadata_log.hpp"
#include "kb/storage/result.hpp"

namespace kb::storage {

inline constexpr std::string_view kSnapshotSuffix = ".checkpoint";
inline constexpr std::string_view kPartialSnapshotSuffix = ".checkpoint.part";
inline constexpr std::string_view kDeletedSnapshotSuffix = ".checkpoint.deleted";
// Records per data batch (Kafka's snapshot emitter appends them 1,024 at a time).
inline constexpr size_t kSnapshotRecordsPerBatch = 1024;
// The suffix of the copies start-up keeps of damaged metadata log bytes.
inline constexpr std::string_view kDamagedSuffix = ".damaged";

// The whole snapshot file for `values` (framed metadata record values, in the
// order they are to be replayed). Every batch carries id.epoch as its
// partition leader epoch.
std::vector<uint8_t> encode_metadata_snapshot(const SnapshotId& id,
                                              int64_t last_contained_log_timestamp, int64_t now_ms,
                                              std::span<const std::vector<uint8_t>> values);

// Writes `bytes` as <dir>/<snapshot_file_name(id)> atomically (see above).
Status write_metadata_snapshot(const std::filesystem::path& dir, const SnapshotId& id,
                               std::span<const uint8_t> bytes);

struct SnapshotFileInfo {
  SnapshotId id;
  std::filesystem::path path;
  uint64_t size = 0;
};
// The snapshot files of `dir`, oldest (lowest end offset, then epoch) first.
std::vector<SnapshotFileInfo> list_metadata_snapshots(const std::filesystem::path& dir);

// Reads the whole file without applying it: empty when it is a whole
// snapshot (every batch intact and CRC-checked, offsets counting up from 0, a
// SnapshotHeader first and a SnapshotFooter last); else "<file> at byte <n>:
// <why>".
std::string metadata_snapshot_problem(const std::filesystem::path& file);
// The SnapshotHeader's last contained log timestamp (retention by time).
Result<int64_t> snapshot_last_contained_timestamp(const std::filesystem::path& file);

// Removes the partial snapshots (".checkpoint.part") and the ones marked for
// deletion (".checkpoint.deleted") a crash left in `dir`, as Kafka does when it
// opens the metadata log. Returns how many were removed.
size_t remove_partial_snapshots(const std::filesystem::path& dir);

// Writes one snapshot at a time on a helper thread, so the event loop never
// waits for the write or the syncs. The owner starts a write and later asks
// for its outcome from its own thread.
class SnapshotFileWriter {
 public:
  SnapshotFileWriter() = default;
  ~SnapshotFileWriter();  // waits for a write in progress
  SnapshotFileWriter(const SnapshotFileWriter&) = delete;
  SnapshotFileWriter& operator=(const SnapshotFileWriter&) = delete;

  // A write was started and its outcome not taken yet.
  bool busy() const { return started_; }
  // Starts making the snapshot's bytes with `make_bytes` and writing them,
  // both on a helper thread (busy() must be false). An error from
  // `make_bytes` is the write's outcome.
  void start(std::filesystem::path dir, SnapshotId id,
             std::function<Result<std::vector<uint8_t>>()> make_bytes);
  // The finished write's id and outcome; nullopt while it runs or when none ran.
  std::optional<std::pair<SnapshotId, Status>> take_result();
  // Blocks until the write in progress is done (its outcome is kept for
  // take_result).
  void wait();

 private:
  std::thread thread_;
  bool started_ = false;
  std::atomic<bool> done_{false};
  SnapshotId id_;
  Status status_;
};

// Start-up, on the metadata log directory only. The bytes of `file` from
// `position` on (a damaged batch and everything after it) are copied to
// "<file name>.at-<position>.damaged" beside it (synced), the segments after
// `file` are renamed "<name>.damaged" (their index files removed), and `file`
// is cut at `position` (its index files removed, to be rebuilt), so the log
// ends with its last valid batch and appends continue from there.
struct MetadataLogCut {
  std::filesystem::path preserved;  // the copy of the damaged bytes (empty: none)
  uint64_t bytes_cut = 0;
  std::vector<std::filesystem::path> set_aside;  // later segments, renamed
};
Result<MetadataLogCut> cut_metadata_log(const std::filesystem::path& dir,
                                        const std::filesystem::path& file, uint64_t position);

}  // namespace kb::storage
