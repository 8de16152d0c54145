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

}  // namespace

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
    if (summary->snapshot && (*opened)->log_end_offset() < summary->snapshot->end_offset) {
      opened->reset();  // closes its files before the directory changes
      if (auto started =
              storage::start_metadata_log_at(metadata_dir, summary->snapshot->end_offset);
          !started)
        return started.error();
      opened = storage::PartitionLog::open(metadata_dir, options.partition_options);
      if (!opened) return opened.error();
    }
    state.metadata_log = std::move(opened.value());
  } else {
    spdlog::info("metadata log: {} not found, starting with no topics", metadata_dir.string());
    // Made now, as a Kafka node's metadata log exists from its first start:
    // the first topic change then waits for no directory on the event loop.
    auto created = storage::PartitionLog::create(options.log_dir, kMetadataTopicName, 0,
                                                 metadata_topic_id(), options.partition_options);
    if (!created) return created.error();
    state.metadata_log = std::move(created.value());
  }
  // Directories a topic deletion marked but a crash kept from removing.
  remove_deleted_partition_dirs(options.log_dir);
  report_unknown_entries(options.log_dir, state.topics);
  state.logs = std::make_unique<PartitionLogs>(options.log_dir, options.partition_options);
  state.logs->set_options_override(
      [&state](std::string_view topic, storage::PartitionLogOptions base) {
        return topic_log_options(state, topic, base);
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
