#include "kb/cluster/startup.hpp"

#include <spdlog/spdlog.h>

#include "kb/cluster/metadata_image.hpp"
#include "kb/cluster/topic_admin.hpp"
#include "kb/cluster/topic_configs.hpp"
#include "kb/storage/meta_properties.hpp"
#include "kb/storage/metadata_log.hpp"
#include "kb/storage/offset_checkpoint.hpp"

namespace kb::cluster {

namespace {

// What Kafka keeps at the top of a log directory besides partition directories.
bool is_kafka_log_dir_file(std::string_view name) {
  return name == storage::kMetaPropertiesFile || name == storage::kMetadataPartitionDir ||
         name.ends_with("-offset-checkpoint") || name == ".lock" ||
         name == "bootstrap.checkpoint" || name == storage::kCleanShutdownFile;
}

// One pass over the directory, so that what the broker ignores is said at
// start-up rather than discovered later: files it does not know, and
// partition directories of topics the metadata log does not have.
void report_unknown_entries(const std::filesystem::path& log_dir, const TopicTable& topics) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(log_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (is_kafka_log_dir_file(name)) continue;
    auto partition = storage::parse_partition_dir_name(name);
    if (partition && entry.is_directory(ec)) {
      const TopicInfo* topic = topics.find(partition->topic);
      if (topic == nullptr || topic->partition(partition->partition) == nullptr)
        spdlog::warn("log directory: skipping {}: no such partition in the metadata log", name);
      continue;
    }
    spdlog::warn("log directory: skipping unknown entry {}", name);
  }
}

}  // namespace

storage::Status load_log_dir(const LogDirOptions& options, BrokerState& state) {
  std::error_code ec;
  std::filesystem::create_directories(options.log_dir, ec);
  if (ec)
    return storage::Error{"cannot create log directory " + options.log_dir.string() + ": " +
                          ec.message()};
  auto meta = storage::ensure_meta_properties(options.log_dir, options.node_id);
  if (!meta) return meta.error();
  state.node_id = options.node_id;
  state.cluster_id = meta->cluster_id;

  auto metadata_dir = options.log_dir / storage::kMetadataPartitionDir;
  if (std::filesystem::is_directory(metadata_dir, ec)) {
    auto summary = storage::replay_metadata_log(
        metadata_dir,
        [&](const storage::MetadataLogEntry& e) { apply_metadata_record(state, *e.record); });
    if (!summary) return summary.error();
    if (summary->stopped_early())
      spdlog::warn("metadata log: replay stopped early ({}): {}; serving what was valid",
                   storage::to_string(summary->stop), summary->stop_message);
    spdlog::info("metadata log: {} records replayed up to offset {}, {} topics",
                 summary->records_applied, summary->last_offset, state.topics.size());
    // Keep it open for appends (topic creation). A replay that stopped early
    // leaves a damaged tail, which opening truncates as Kafka's recovery does.
    auto opened = storage::PartitionLog::open(metadata_dir, options.partition_options);
    if (!opened) return opened.error();
    state.metadata_log = std::move(opened.value());
  } else {
    spdlog::info("metadata log: {} not found, starting with no topics", metadata_dir.string());
  }
  // Directories a topic deletion marked but a crash kept from removing.
  remove_deleted_partition_dirs(options.log_dir);
  report_unknown_entries(options.log_dir, state.topics);
  state.logs = std::make_unique<PartitionLogs>(options.log_dir, options.partition_options);
  state.logs->set_options_override(
      [&state](std::string_view topic, storage::PartitionLogOptions base) {
        return topic_log_options(state, topic, std::move(base));
      });
  auto log_start_offsets =
      storage::read_offset_checkpoint(options.log_dir / storage::kLogStartOffsetCheckpointFile);
  if (log_start_offsets)
    state.logs->set_log_start_offsets(std::move(*log_start_offsets));
  else
    spdlog::warn("{}; log start offsets are taken from the segments",
                 log_start_offsets.error().message);

  // Kafka's marker of a clean shutdown: partition logs can be opened without
  // recovery. It is removed now, so that a crash from here on is recovered.
  const auto marker = options.log_dir / storage::kCleanShutdownFile;
  const bool clean = std::filesystem::exists(marker, ec);
  auto recovery_points =
      storage::read_offset_checkpoint(options.log_dir / storage::kRecoveryPointCheckpointFile);
  if (!recovery_points) {
    spdlog::warn("{}; partition logs will be recovered whole", recovery_points.error().message);
    recovery_points = storage::OffsetCheckpoint{};
  }
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
  if (!result) return result;
  // Only once everything above is on disk.
  return storage::write_clean_shutdown_marker(dir);
}

}  // namespace kb::cluster
