#include "kb/cluster/startup.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>

#include "kb/cluster/features.hpp"
#include "kb/cluster/metadata_image.hpp"
#include "kb/cluster/metadata_snapshots.hpp"
#include "kb/cluster/topic_admin.hpp"
#include "kb/cluster/topic_configs.hpp"
#include "kb/storage/meta_properties.hpp"
#include "kb/storage/metadata_log.hpp"
#include "kb/storage/metadata_snapshot.hpp"
#include "kb/storage/offset_checkpoint.hpp"
#include "kb/storage/quorum_state.hpp"

namespace kb::cluster {

namespace {

// Metadata record types that change no state (Kafka's NoOpRecord and
// transaction markers): not carried into snapshots.
constexpr uint32_t kNoOpRecordType = 20;
constexpr uint32_t kBeginTransactionRecordType = 23;
constexpr uint32_t kEndTransactionRecordType = 24;
constexpr uint32_t kAbortTransactionRecordType = 25;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// What Kafka keeps at the top of a log directory besides partition directories.
bool is_kafka_log_dir_file(std::string_view name) {
  return name == storage::kMetaPropertiesFile || name == storage::kMetadataPartitionDir ||
         name == storage::kCleanShutdownFile || name.ends_with("-offset-checkpoint") ||
         name == ".lock" || name == "bootstrap.checkpoint";
}

// Reads a partition directory's topic id; nullopt when partition.metadata is
// missing or unreadable.
std::optional<Uuid> partition_dir_topic_id(const std::filesystem::path& dir) {
  std::ifstream in(dir / storage::kPartitionMetadataFile);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  auto parsed = storage::parse_partition_metadata(text.str());
  if (!parsed) return std::nullopt;
  return parsed->topic_id;
}

// Whether the directory holds any record bytes (a non-empty segment).
bool holds_data(const std::filesystem::path& dir) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() != ".log") continue;
    std::error_code size_ec;
    if (entry.file_size(size_ec) > 0 && !size_ec) return true;
  }
  return false;
}

bool is_foreign_record_type(const storage::MetadataRecord& record, uint32_t type) {
  if (std::holds_alternative<storage::RegisterBrokerRecord>(record)) return true;
  if (!std::holds_alternative<storage::UnknownMetadataRecord>(record)) return false;
  // NoOpRecord and the transaction markers change no state.
  return type != kNoOpRecordType && type != kBeginTransactionRecordType &&
         type != kEndTransactionRecordType && type != kAbortTransactionRecordType;
}

// The type of a record this broker may keep without acting on it (0 for
// the types it acts on, whose number is not needed).
uint32_t record_type(const storage::MetadataRecord& record) {
  if (const auto* unknown = std::get_if<storage::UnknownMetadataRecord>(&record))
    return unknown->type;
  return std::holds_alternative<storage::RegisterBrokerRecord>(record)
             ? storage::RegisterBrokerRecord::kType
             : 0;
}

template <class Map, class Name>
std::string counted_names(const Map& counts, Name name) {
  std::string text;
  for (const auto& [type, count] : counts)
    text += fmt::format("{}{} ({}: {})", text.empty() ? "" : ", ", name(type), type, count);
  return text;
}

std::string_view level_name(std::string_view feature, int16_t level) {
  // Kafka's MetadataVersion names of the levels this broker writes and Kafka
  // 4.x writes by default; others are shown by number.
  if (feature != "metadata.version") return {};
  switch (level) {
    case kBootstrapMetadataVersion:
      return "4.0-IV3";
    case 33:
      return "4.4-IV2";
    default:
      return {};
  }
}

}  // namespace

void apply_replayed_metadata(BrokerState& state, const storage::MetadataLogEntry& entry) {
  apply_metadata_record(state, *entry.record);
  if (is_foreign_record_type(*entry.record, record_type(*entry.record)))
    state.foreign_metadata_records.emplace_back(entry.value.begin(), entry.value.end());
}

std::vector<std::string> metadata_load_report(
    const MetadataLogLoad& load, const std::map<std::string, int16_t, std::less<>>& features) {
  std::vector<std::string> lines;
  if (!load.kept_records.empty())
    lines.push_back(fmt::format(
        "records kept as read but not acted on (no other brokers, controllers, quotas or "
        "credentials here; snapshots carry them): {}",
        counted_names(load.kept_records, storage::metadata_record_type_name)));
  if (!load.skipped_records.empty())
    lines.push_back(
        fmt::format("records that change no state, skipped: {}",
                    counted_names(load.skipped_records, storage::metadata_record_type_name)));
  if (!load.summary.control_records.empty())
    lines.push_back(fmt::format(
        "control records skipped (no KRaft quorum here; quorum-state and the voters are left as "
        "they are): {}",
        counted_names(load.summary.control_records, storage::control_record_type_name)));
  std::string levels;
  std::string beyond;
  for (const auto& [name, level] : features) {
    std::string_view known = level_name(name, level);
    levels += fmt::format("{}{} {}{}", levels.empty() ? "" : ", ", name, level,
                          known.empty() ? "" : fmt::format(" ({})", known));
    if (const int16_t served = served_level(name, level); served < level)
      beyond += fmt::format("{}{} {} (implemented here: up to {})", beyond.empty() ? "" : ", ",
                            name, level, served);
  }
  if (!levels.empty()) lines.push_back("finalized features " + levels);
  if (!beyond.empty())
    lines.push_back(
        "finalized above what this broker implements, read anyway: " + beyond +
        "; records are read by their own versions (a record version this broker does not know "
        "stops the replay there, named), and what these levels switch on in Kafka is not served; "
        "the levels are kept (and written back), but announced to clients at the level served "
        "here, so that none uses what is not served (Apache Kafka refuses to start on a level it "
        "does not know)");
  return lines;
}

PartitionDirScan scan_partition_dirs(const std::filesystem::path& log_dir, const TopicTable& topics,
                                     const std::unordered_set<Uuid, UuidHash>& removed_topic_ids) {
  PartitionDirScan scan;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(log_dir, ec)) {
    const std::string name = entry.path().filename().string();
    // Marked by a topic deletion (Kafka's or this broker's): removed below.
    if (is_kafka_log_dir_file(name) || is_deleted_partition_dir_name(name)) continue;
    auto partition = storage::parse_partition_dir_name(name);
    std::error_code dir_ec;
    if (!partition || !entry.is_directory(dir_ec)) {
      scan.unknown_entries.push_back(name);
      continue;
    }
    const TopicInfo* topic = topics.find(partition->topic);
    if (topic != nullptr && topic->partition(partition->partition) != nullptr) continue;
    const std::optional<Uuid> id = partition_dir_topic_id(entry.path());
    if (id && removed_topic_ids.contains(*id)) {
      scan.deletion_leftovers.push_back(entry.path());
      continue;
    }
    // A directory with neither an id nor data is what a creation cut short
    // leaves: nothing to keep.
    if (!id && !holds_data(entry.path())) {
      scan.empty_unknown_dirs.push_back(name);
      continue;
    }
    // Never a path made from an invalid name (they cannot be created anyway).
    if (!topic_name_problem(partition->topic).empty()) {
      scan.unknown_entries.push_back(name);
      continue;
    }
    OrphanedTopic& orphan = scan.orphans[partition->topic];
    if (id && !orphan.topic_id) orphan.topic_id = id;
    if (id && orphan.topic_id && *orphan.topic_id != *id) orphan.mixed_ids = true;
    orphan.partitions.push_back(partition->partition);
  }
  for (auto& [name, orphan] : scan.orphans)
    std::sort(orphan.partitions.begin(), orphan.partitions.end());
  return scan;
}

// A checkpoint file read as Kafka's LogManager reads it at start-up. What
// Kafka's reader fails with an IOException takes the log directory offline in
// Kafka, which stops the broker (its metadata log is there): refused here, the
// file untouched. A bad number is only caught by LogManager, which warns and
// goes on without the file's entries; so does this broker.
storage::Result<storage::OffsetCheckpoint> read_checkpoint(const std::filesystem::path& path,
                                                           std::string_view without_it) {
  storage::OffsetCheckpointRead read = storage::read_offset_checkpoint(path);
  switch (read.fault) {
    case storage::CheckpointFault::none:
      return std::move(read.offsets);
    case storage::CheckpointFault::bad_number:
      spdlog::warn("{}; not used, as Kafka does: {}", read.message, without_it);
      return storage::OffsetCheckpoint{};
    case storage::CheckpointFault::malformed:
      break;
  }
  return storage::Error{read.message +
                        " (Kafka takes the log directory offline for this; the file is left as it "
                        "is: correct or remove it)"};
}

std::string orphaned_topic_message(std::string_view name, const OrphanedTopic& orphan) {
  std::string partitions;
  for (int32_t p : orphan.partitions)
    partitions += (partitions.empty() ? "" : ",") + std::to_string(p);
  return fmt::format(
      "partition directories {}-{{{}}} hold topic '{}' (topic id {}) but the metadata log does "
      "not have it (its records were lost, e.g. to damage); they are kept untouched and '{}' "
      "cannot be created over them; to bring the topic back, stop the broker and run "
      "'kafka-broker recover-topics <server.properties>' (README: Bringing topics back)",
      name, partitions, name, orphan.topic_id ? orphan.topic_id->to_base64() : "unknown", name);
}

storage::Status open_metadata_log(const std::filesystem::path& metadata_dir,
                                  const storage::PartitionLogOptions& options, BrokerState& state,
                                  MetadataLogLoad& load) {
  storage::remove_partial_snapshots(metadata_dir);
  int32_t last_epoch = 0;
  int64_t last_timestamp = -1;
  auto summary =
      storage::replay_metadata_log(metadata_dir, [&](const storage::MetadataLogEntry& e) {
        apply_replayed_metadata(state, e);
        const uint32_t type = record_type(*e.record);
        if (is_foreign_record_type(*e.record, type))
          ++load.kept_records[type];
        else if (std::holds_alternative<storage::UnknownMetadataRecord>(*e.record))
          ++load.skipped_records[type];
        if (const auto* removed = std::get_if<storage::RemoveTopicRecord>(e.record))
          load.removed_topic_ids.insert(removed->topic_id);
        if (!e.from_snapshot) {
          last_epoch = e.leader_epoch;
          last_timestamp = e.timestamp;
        }
      });
  if (!summary) return summary.error();
  load.summary = *summary;
  if (summary->snapshot && last_timestamp < 0) last_epoch = summary->snapshot->epoch;
  if (summary->stopped_early()) {
    const bool damaged = summary->stop == storage::ReplayStop::torn_tail ||
                         summary->stop == storage::ReplayStop::corrupt_batch;
    const bool in_segment = summary->stop_file.parent_path() == metadata_dir &&
                            summary->stop_file.extension() == ".log";
    if (damaged && in_segment) {
      auto cut =
          storage::cut_metadata_log(metadata_dir, summary->stop_file, summary->stop_position);
      if (!cut) return cut.error();
      load.cut = *cut;
      spdlog::error(
          "metadata log damaged, replay stopped early ({}): {}; what came before it is served "
          "(snapshot {}, then {} "
          "records); the {} bytes from there are kept in {}{}; topics created or changed after "
          "the damage are not known now, and their partition directories are kept untouched",
          storage::to_string(summary->stop), summary->stop_message,
          summary->snapshot ? storage::snapshot_file_name(*summary->snapshot) : "none",
          summary->records_applied, cut->bytes_cut,
          cut->preserved.empty() ? "(nothing)" : cut->preserved.string(),
          cut->set_aside.empty()
              ? std::string()
              : fmt::format(" and {} later segments are renamed *.damaged", cut->set_aside.size()));
    } else {
      // Intact bytes this broker cannot read (a newer record version, a
      // compressed batch) or an I/O error: nothing is cut, and nothing is
      // appended after them, where a restart would not find it.
      state.metadata_log_refusal =
          fmt::format("the metadata log cannot be read past {} ({})", summary->stop_message,
                      storage::to_string(summary->stop));
      spdlog::error(
          "metadata log: replay stopped ({}): {}; serving what came before it; topic "
          "changes are refused until it is readable",
          storage::to_string(summary->stop), summary->stop_message);
    }
  }
  spdlog::info("metadata log: {} records replayed up to offset {} ({}), {} topics",
               summary->records_applied, summary->last_offset,
               summary->snapshot
                   ? "from snapshot " + storage::snapshot_file_name(*summary->snapshot)
                   : std::string("no snapshot"),
               state.topics.size());
  for (const std::string& line : metadata_load_report(load, state.features))
    spdlog::info("metadata log: {}", line);
  auto opened = storage::PartitionLog::open(metadata_dir, options);
  if (!opened) return opened.error();
  if (summary->snapshot && opened.value()->log_end_offset() < summary->snapshot->end_offset) {
    // The log ends inside what the snapshot holds: it continues after it.
    const int64_t end = summary->snapshot->end_offset;
    opened.value().reset();  // closes its files before the directory changes
    if (auto restarted = storage::start_metadata_log_at(metadata_dir, end); !restarted)
      return restarted;
    opened = storage::PartitionLog::open(metadata_dir, options);
    if (!opened) return opened.error();
  }
  state.metadata_log = std::move(opened.value());
  load.last_epoch = last_epoch;
  load.last_timestamp = last_timestamp;
  return {};
}

storage::Status load_log_dir(const LogDirOptions& options, BrokerState& state) {
  std::error_code ec;
  std::filesystem::create_directories(options.log_dir, ec);
  if (ec)
    return storage::Error{"cannot create log directory " + options.log_dir.string() + ": " +
                          ec.message()};
  // The checkpoints are read before anything in the directory changes, so
  // that a refusal leaves it as it was.
  auto recovery_points = read_checkpoint(options.log_dir / storage::kRecoveryPointCheckpointFile,
                                         "partition logs are recovered whole (recovery point 0)");
  if (!recovery_points) return recovery_points.error();
  auto log_start_offsets =
      read_checkpoint(options.log_dir / storage::kLogStartOffsetCheckpointFile,
                      "log start offsets are the first segments' base offsets");
  if (!log_start_offsets) return log_start_offsets.error();

  auto meta = storage::ensure_meta_properties(options.log_dir, options.node_id);
  if (!meta) return meta.error();
  state.node_id = options.node_id;
  state.cluster_id = *meta->cluster_id;
  if (meta->directory_id) state.directory_id = *meta->directory_id;

  auto metadata_dir = options.log_dir / storage::kMetadataPartitionDir;
  MetadataLogLoad load;
  if (std::filesystem::is_directory(metadata_dir, ec)) {
    if (auto opened = open_metadata_log(metadata_dir, options.partition_options, state, load);
        !opened)
      return opened;
  } else {
    spdlog::info("metadata log: {} not found, starting with no topics", metadata_dir.string());
    // Made now, as a Kafka node's metadata log exists from its first start:
    // the first topic change then waits for no directory on the event loop.
    auto created = storage::PartitionLog::create(options.log_dir, kMetadataTopicName, 0,
                                                 metadata_topic_id(), options.partition_options);
    if (!created) return created.error();
    state.metadata_log = std::move(created.value());
  }
  // Kafka's election state beside the log, naming this broker the leader of
  // the epoch its batches carry (quorum_state.hpp); Kafka's own is kept.
  state.metadata_epoch =
      std::max({kMetadataLeaderEpoch, load.last_epoch, load.summary.max_leader_epoch,
                load.summary.snapshot ? load.summary.snapshot->epoch : 0});
  auto quorum =
      storage::write_quorum_state_if_absent(metadata_dir, options.node_id, state.metadata_epoch);
  if (!quorum) spdlog::warn("metadata log: {}", quorum.error().message);
  if (state.metadata_snapshotter != nullptr)
    state.metadata_snapshotter->loaded(
        state.metadata_log ? state.metadata_log->log_end_offset() : 0, load.last_epoch,
        load.last_timestamp, load.summary.snapshot, now_ms());
  // What the directory holds that the metadata does not account for.
  PartitionDirScan scan =
      scan_partition_dirs(options.log_dir, state.topics, load.removed_topic_ids);
  for (const auto& dir : scan.deletion_leftovers) {
    // A deletion the metadata log records but a crash kept from finishing.
    std::filesystem::path marked = dir;
    marked += ".00000000000000000000000000000000-delete";
    std::filesystem::rename(dir, marked, ec);
    if (ec) spdlog::error("cannot rename {}: {}", dir.string(), ec.message());
  }
  for (const auto& name : scan.unknown_entries)
    spdlog::warn("log directory: skipping unknown entry {}", name);
  for (const auto& name : scan.empty_unknown_dirs)
    spdlog::warn("log directory: skipping {}: no such partition in the metadata log", name);
  for (const auto& [name, orphan] : scan.orphans)
    spdlog::error("log directory: {}", orphaned_topic_message(name, orphan));
  state.orphaned_topics = std::move(scan.orphans);
  // Directories a topic deletion marked but a crash kept from removing.
  remove_deleted_partition_dirs(options.log_dir);
  state.logs = std::make_unique<PartitionLogs>(options.log_dir, options.partition_options);
  state.logs->set_options_override(
      [&state](std::string_view topic, storage::PartitionLogOptions base) {
        return topic_log_options(state, topic, std::move(base));
      });
  state.logs->set_log_start_offsets(std::move(*log_start_offsets));

  // Kafka's marker of a clean shutdown: partition logs can be opened without
  // recovery. It is removed now, so that a crash from here on is recovered.
  // Only its existence counts, as in Kafka's LogManager: the broker epoch
  // Kafka writes in it is for broker registration, which this broker lacks.
  const auto marker = options.log_dir / storage::kCleanShutdownFile;
  const bool clean = std::filesystem::exists(marker, ec);
  if (clean) {
    std::filesystem::remove(marker, ec);
    if (ec) return storage::Error{"cannot remove " + marker.string() + ": " + ec.message()};
    if (auto synced = storage::sync_directory(options.log_dir); !synced) return synced;
    spdlog::info("clean shutdown marker found: partition logs are opened without recovery");
  } else {
    spdlog::info(
        "no clean shutdown marker: partition logs are recovered from their recovery points "
        "({} in {})",
        recovery_points->size(), storage::kRecoveryPointCheckpointFile);
  }
  state.logs->set_recovery_state(clean, std::move(*recovery_points));
  return {};
}

storage::Status close_log_dir(BrokerState& state) {
  if (!state.logs) return {};
  storage::Status result;
  auto keep_first = [&](storage::Status status) {
    if (!status && result) result = std::move(status);
  };
  // The space reserved ahead of the logs' data goes back first: on a full
  // disk, that is where the checkpoints and the marker are written.
  if (state.metadata_log) state.metadata_log->release_reservation();
  state.logs->for_each_open(
      [](const std::string&, int32_t, storage::PartitionLog& log) { log.release_reservation(); });
  if (state.metadata_log) keep_first(state.metadata_log->flush());
  state.logs->for_each_open(
      [&](const std::string&, int32_t, storage::PartitionLog& log) { keep_first(log.flush()); });
  if (!result) return result;
  const auto& dir = state.logs->log_dir();
  keep_first(storage::write_offset_checkpoint(dir / storage::kRecoveryPointCheckpointFile,
                                              state.logs->recovery_points()));
  keep_first(storage::write_offset_checkpoint(dir / storage::kLogStartOffsetCheckpointFile,
                                              state.logs->log_start_offsets()));
  keep_first(storage::write_offset_checkpoint(dir / storage::kReplicationOffsetCheckpointFile,
                                              state.logs->high_watermarks()));
  if (!result) return result;
  // Only once everything above is on disk.
  return storage::write_clean_shutdown_marker(dir);
}

}  // namespace kb::cluster
