#pragma once

// Kafka's offset checkpoint files in a log directory:
//   recovery-point-offset-checkpoint  offsets up to which each partition's log
//                                     is known to be on disk
//   log-start-offset-checkpoint       log start offsets above the first segment's
//                                     base (after DeleteRecords)
//   replication-offset-checkpoint     each partition's high watermark
// Text, as Kafka writes them: a version line "0", a count line, then one
// "<topic> <partition> <offset>" line per partition.
// And the marker a clean shutdown leaves: .kafka_cleanshutdown.

#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "kb/storage/result.hpp"

namespace kb::storage {

inline constexpr std::string_view kRecoveryPointCheckpointFile = "recovery-point-offset-checkpoint";
inline constexpr std::string_view kLogStartOffsetCheckpointFile = "log-start-offset-checkpoint";
inline constexpr std::string_view kReplicationOffsetCheckpointFile =
    "replication-offset-checkpoint";
// In a partition directory: where each leader epoch starts.
inline constexpr std::string_view kLeaderEpochCheckpointFile = "leader-epoch-checkpoint";
inline constexpr std::string_view kCleanShutdownFile = ".kafka_cleanshutdown";

// (topic, partition) -> offset, in the order Kafka's files list them.
using OffsetCheckpoint = std::map<std::pair<std::string, int32_t>, int64_t, std::less<>>;

std::string format_offset_checkpoint(const OffsetCheckpoint& offsets);
// The version and count lines that come before `entries` entry lines.
std::string format_offset_checkpoint_head(size_t entries);

// How a checkpoint file that could not be read fails in Kafka
// (CheckpointFile.CheckpointReadBuffer and OffsetCheckpointFile.Formatter).
enum class CheckpointFault : uint8_t {
  none,
  // Kafka's IOException: a byte that is not UTF-8, a version or count line
  // that is not a Java int, a version other than 0, a line that does not split
  // into three fields (a blank one too), fewer or more entries than the count,
  // or a read error. Kafka's reader then takes the log directory offline,
  // which stops a broker whose metadata log lives there (this broker's only
  // one): start-up is refused.
  malformed,
  // A partition or offset field that is not a Java int/long, or a negative
  // count (NumberFormatException, IllegalArgumentException): not an
  // IOException, so only Kafka's LogManager catches it, warns and goes on as
  // if the file had no entries.
  bad_number,
};

struct OffsetCheckpointRead {
  OffsetCheckpoint offsets;  // empty unless ok()
  CheckpointFault fault = CheckpointFault::none;
  std::string message;  // "[<file>: ]line <n>: <what was expected>" when not ok()

  bool ok() const { return fault == CheckpointFault::none; }
};

// As Kafka reads it: UTF-8, lines ending in \n, \r or \r\n; an empty text, or
// one with only the version line, has no entries; the version and count lines
// are Integer.parseInt; each later line is one entry split on whitespace runs
// (topic, Integer.parseInt partition, Long.parseLong offset; negative values
// are kept as Kafka keeps them); a repeated partition takes its last offset.
OffsetCheckpointRead parse_offset_checkpoint(std::string_view text);
// An absent file reads as no entries (Kafka creates it empty).
OffsetCheckpointRead read_offset_checkpoint(const std::filesystem::path& path);
// Atomically (a temporary file renamed over the old one, both synced).
Status write_offset_checkpoint(const std::filesystem::path& path, const OffsetCheckpoint& offsets);

// A partition's leader-epoch-checkpoint, as Kafka's LeaderEpochCheckpointFile
// writes it: version "0", the entry count, then "<epoch> <start offset>" per
// epoch, oldest first. Kafka reads it into its leader epoch cache (after a
// clean shutdown it does not rebuild that from the batches), which answers
// OffsetForLeaderEpoch and the leader epoch ListOffsets gives with the
// earliest offset: without the file, that epoch is -1 (unknown).
struct LeaderEpochEntry {
  int32_t epoch = 0;
  int64_t start_offset = 0;
};
std::string format_leader_epoch_checkpoint(std::span<const LeaderEpochEntry> entries);
Status write_leader_epoch_checkpoint(const std::filesystem::path& partition_dir,
                                     std::span<const LeaderEpochEntry> entries);

// The clean shutdown marker's content: Kafka's JSON with the broker epoch
// (-1: this broker has no controller-assigned epoch).
std::string clean_shutdown_marker_text();
Status write_clean_shutdown_marker(const std::filesystem::path& log_dir);

// fsync of a directory: entries created or removed in it are durable.
Status sync_directory(const std::filesystem::path& dir);

}  // namespace kb::storage
