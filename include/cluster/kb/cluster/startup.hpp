#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "kb/cluster/broker_state.hpp"
#include "kb/storage/metadata_log.hpp"
#include "kb/storage/metadata_snapshot.hpp"
#include "kb/storage/partition_log.hpp"
#include "kb/storage/result.hpp"

namespace kb::cluster {

struct LogDirOptions {
  std::filesystem::path log_dir;
  int32_t node_id = 1;
  storage::PartitionLogOptions partition_options;
};

// Loads a log directory as Kafka leaves it: meta.properties (created when the
// directory is new), then the __cluster_metadata log replayed into the topic
// table. Damage in the metadata log stops the replay with a warning and the
// broker serves what was valid; only an unusable directory is an error.
// Then, from Kafka's files in the directory: .kafka_cleanshutdown (removed
// once read) and recovery-point-offset-checkpoint decide how much of each
// partition log is recovered when it is opened.
//
// Partition directories the metadata does not account for are sorted out
// (scan_partition_dirs): those of topics a RemoveTopicRecord deleted are
// removed (a deletion a crash interrupted), those of unknown topics are kept
// untouched and listed in state.orphaned_topics (creating their topic name is
// refused), the rest are named in the log.
storage::Status load_log_dir(const LogDirOptions& options, BrokerState& state);

// What opening the metadata log found.
struct MetadataLogLoad {
  storage::MetadataReplaySummary summary;
  std::optional<storage::MetadataLogCut> cut;            // a damaged tail was cut off
  std::unordered_set<Uuid, UuidHash> removed_topic_ids;  // RemoveTopicRecords replayed
  int32_t last_epoch = 0;                                // of the last record replayed
  int64_t last_timestamp = -1;
  // Records replayed that the broker does not act on, by record type: kept
  // (carried into its snapshots as read: broker and controller registrations,
  // quotas, ...) and skipped (no state: NoOpRecord, transaction markers).
  std::map<uint32_t, uint64_t> kept_records;
  std::map<uint32_t, uint64_t> skipped_records;
};

// One record replayed from __cluster_metadata into `state`: applied, and
// kept as it is when its type is one the broker keeps for Kafka but does
// not interpret (state.foreign_metadata_records, written into snapshots),
// byte for byte as read: fields of versions newer than this broker's too.
void apply_replayed_metadata(BrokerState& state, const storage::MetadataLogEntry& entry);

// What start-up says about a replayed metadata log besides topics: the
// records and control records it does not act on (named, with counts; the
// log is left as it is), and the finalized features (each at a level above
// what this broker implements is named: read anyway, its records are read by
// their own versions). One line each; none when there is nothing to say.
std::vector<std::string> metadata_load_report(
    const MetadataLogLoad& load, const std::map<std::string, int16_t, std::less<>>& features);

// Replays __cluster_metadata-0 into `state` (the newest whole snapshot, then
// the log after it) and opens it for appends as state.metadata_log. A damaged
// tail (torn or corrupt batch) is copied aside and cut off
// (storage::cut_metadata_log), so appends continue after the last valid
// batch; intact bytes that cannot be read leave the log as it is and refuse
// appends (state.metadata_log_refusal). A log that ends before the snapshot
// restarts at the snapshot's end. Partial snapshot files are removed first.
storage::Status open_metadata_log(const std::filesystem::path& metadata_dir,
                                  const storage::PartitionLogOptions& options, BrokerState& state,
                                  MetadataLogLoad& load);

struct PartitionDirScan {
  std::map<std::string, OrphanedTopic, std::less<>> orphans;  // by topic name
  // Directories of topics the metadata log deleted.
  std::vector<std::filesystem::path> deletion_leftovers;
  // Partition-like directories with neither partition.metadata nor data.
  std::vector<std::string> empty_unknown_dirs;
  std::vector<std::string> unknown_entries;  // anything else Kafka would not have there
};
// Sorts the log directory's entries against the topic table, reading only
// (partition.metadata of the directories the table does not name).
PartitionDirScan scan_partition_dirs(const std::filesystem::path& log_dir, const TopicTable& topics,
                                     const std::unordered_set<Uuid, UuidHash>& removed_topic_ids);
// What the log says about an orphaned topic, and how to bring it back.
std::string orphaned_topic_message(std::string_view name, const OrphanedTopic& orphan);

// Clean shutdown: syncs every open log, writes the checkpoint files (recovery
// points at the log ends) and then the clean shutdown marker.
storage::Status close_log_dir(BrokerState& state);

}  // namespace kb::cluster
