#pragma once

// Kafka's offset checkpoint files in a log directory:
//   recovery-point-offset-checkpoint  offsets up to which each partition's log
//                                     is known to be on disk
//   log-start-offset-checkpoint       log start offsets above the first segment's
//                                     base (after DeleteRecords)
// Text, as Kafka writes them: a version line "0", a count line, then one
// "<topic> <partition> <offset>" line per partition.
// And the marker a clean shutdown leaves: .kafka_cleanshutdown.

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "kb/storage/result.hpp"

namespace kb::storage {

inline constexpr std::string_view kRecoveryPointCheckpointFile = "recovery-point-offset-checkpoint";
inline constexpr std::string_view kLogStartOffsetCheckpointFile = "log-start-offset-checkpoint";
inline constexpr std::string_view kCleanShutdownFile = ".kafka_cleanshutdown";

// (topic, partition) -> offset, in the order Kafka's files list them.
using OffsetCheckpoint = std::map<std::pair<std::string, int32_t>, int64_t, std::less<>>;

std::string format_offset_checkpoint(const OffsetCheckpoint& offsets);
Result<OffsetCheckpoint> parse_offset_checkpoint(std::string_view text);
// An absent file reads as no entries.
Result<OffsetCheckpoint> read_offset_checkpoint(const std::filesystem::path& path);
// Atomically (a temporary file renamed over the old one, both synced).
Status write_offset_checkpoint(const std::filesystem::path& path, const OffsetCheckpoint& offsets);

// The clean shutdown marker's content: Kafka's JSON with the broker epoch
// (-1: this broker has no controller-assigned epoch).
std::string clean_shutdown_marker_text();
Status write_clean_shutdown_marker(const std::filesystem::path& log_dir);

// fsync of a directory: entries created or removed in it are durable.
Status sync_directory(const std::filesystem::path& dir);

}  // namespace kb::storage
