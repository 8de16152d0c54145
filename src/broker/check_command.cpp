#include "kb/broker/check_command.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <string>
#include <system_error>
#include <unordered_set>
#include <utility>
#include <variant>

#include <fmt/format.h>

#include "kb/cluster/metadata_image.hpp"
#include "kb/cluster/startup.hpp"
#include "kb/cluster/topic_configs.hpp"
#include "kb/storage/log_cleaner.hpp"
#include "kb/storage/meta_properties.hpp"
#include "kb/storage/metadata_log.hpp"
#include "kb/storage/metadata_snapshot.hpp"
#include "kb/storage/offset_checkpoint.hpp"
#include "kb/storage/partition_log.hpp"
#include "kb/storage/segment_check.hpp"

namespace kb::broker {

namespace fs = std::filesystem;

namespace {

// Collects the report: findings (exit status 1), notes and passed checks.
class Report {
 public:
  explicit Report(std::FILE* out) : out_(out) {}
  template <class... Args>
  void damage(fmt::format_string<Args...> format, Args&&... args) {
    ++damage_;
    line("DAMAGE  ", fmt::format(format, std::forward<Args>(args)...));
  }
  template <class... Args>
  void note(fmt::format_string<Args...> format, Args&&... args) {
    line("note    ", fmt::format(format, std::forward<Args>(args)...));
  }
  template <class... Args>
  void ok(fmt::format_string<Args...> format, Args&&... args) {
    line("ok      ", fmt::format(format, std::forward<Args>(args)...));
  }
  size_t damage_count() const { return damage_; }

 private:
  void line(std::string_view kind, const std::string& text) {
    fmt::print(out_, "{}{}\n", kind, text);
  }
  std::FILE* out_;
  size_t damage_ = 0;
};

using TopicPartition = std::pair<std::string, int32_t>;

struct MetadataCheck {
  cluster::BrokerState state;
  std::unordered_set<cluster::Uuid, cluster::UuidHash> removed_topic_ids;
};

// Whether a running broker holds the directory (its flock on .lock), probed
// with a shared lock that is let go at once; an absent .lock is not created.
bool held_by_a_broker(const fs::path& log_dir) {
  const fs::path path = log_dir / ".lock";
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool held = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);  // releases the probe's lock, if it got one
  return held;
}

void check_meta_properties(const fs::path& log_dir, Report& report) {
  auto meta = storage::read_meta_properties(log_dir);
  if (!meta) {
    report.damage("{}", meta.error().message);
  } else if (!*meta) {
    report.note("meta.properties: absent (written at the next start)");
  } else {
    const storage::MetaProperties& m = **meta;
    report.ok("meta.properties: version {}, cluster.id {}, node.id {}{}", m.version,
              m.cluster_id.value_or("(none)"),
              m.node_id ? std::to_string(*m.node_id) : std::string("(none)"),
              m.directory_id ? ", directory.id " + m.directory_id->to_base64() : std::string());
  }
}

void check_metadata_log(const fs::path& log_dir, Report& report, MetadataCheck& metadata) {
  const fs::path dir = log_dir / storage::kMetadataPartitionDir;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    report.note("{}: no metadata log (no topics)", dir.string());
    return;
  }
  for (const auto& snapshot : storage::list_metadata_snapshots(dir)) {
    if (std::string problem = storage::metadata_snapshot_problem(snapshot.path); !problem.empty())
      report.damage("metadata snapshot {}", problem);
    else
      report.ok("metadata snapshot {} ({} bytes)", snapshot.path.filename().string(),
                snapshot.size);
  }
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.ends_with(storage::kDamagedSuffix))
      report.note(
          "{}: damaged bytes an earlier start cut from the metadata log, kept for "
          "inspection",
          entry.path().string());
    if (name.ends_with(storage::kPartialSnapshotSuffix))
      report.note("{}: an unfinished snapshot (removed at the next start)", entry.path().string());
  }
  // Every record decoded and applied, as the start replays them.
  auto summary = storage::replay_metadata_log(dir, [&](const storage::MetadataLogEntry& e) {
    cluster::apply_metadata_record(metadata.state, *e.record);
    if (const auto* removed = std::get_if<storage::RemoveTopicRecord>(e.record))
      metadata.removed_topic_ids.insert(removed->topic_id);
  });
  if (!summary) {
    report.damage("metadata log: {}", summary.error().message);
    return;
  }
  if (summary->stopped_early())
    report.damage("metadata log: {} ({}); the records after it are not read", summary->stop_message,
                  storage::to_string(summary->stop));
  else
    report.ok("metadata log: {} records up to offset {} ({}), {} topics", summary->records_applied,
              summary->last_offset,
              summary->snapshot ? "from snapshot " + storage::snapshot_file_name(*summary->snapshot)
                                : std::string("no snapshot"),
              metadata.state.topics.size());
}

// A partition directory's segments and indexes, and what the next start's
// recovery does with the damage found.
void report_partition_dir(const std::string& name, const storage::PartitionDirCheck& check,
                          const storage::RecoveryHintSeen& hint, Report& report, size_t& indexes) {
  const size_t scanned_from = storage::first_segment_recovery_scans(check, hint);
  for (size_t i = 0; i < check.segments.size(); ++i) {
    const storage::SegmentCheck& segment = check.segments[i];
    if (!segment.problem.empty() && segment.error == storage::BatchError::none) {
      report.damage("partition log {}", segment.problem);  // could not be read
    } else if (!segment.problem.empty() && i >= scanned_from) {
      report.damage(
          "partition log {}; the next start's recovery cuts the segment there: {} bytes, offsets "
          "{} and later of this segment",
          segment.problem, segment.size - segment.valid_bytes, segment.next_offset);
    } else if (!segment.problem.empty()) {
      report.damage(
          "partition log {}; the next start does not scan this segment ({}), so a fetch reaching "
          "the damage reports it",
          segment.problem,
          hint.clean_shutdown
              ? "a clean shutdown's files are trusted"
              : fmt::format("below the recovery point {}", hint.recovery_point.value_or(0)));
    }
    const storage::IndexCheck indexed = storage::check_segment_indexes(segment);
    for (const std::string& finding : indexed.findings) report.damage("index {}", finding);
    for (const std::string& note : indexed.notes) report.note("index {}", note);
    if (segment.size > 0) ++indexes;
  }
  if (check.segments.empty() && !check.problems.empty())
    for (const std::string& problem : check.problems) report.damage("{}: {}", name, problem);
}

using CheckedDirs = std::map<TopicPartition, storage::PartitionDirCheck>;

// A checkpoint file of the log directory against the logs it names.
// `past_end_is_damage`: an offset past the valid log's end is a finding (the
// cleaner's first dirty offset is only a note: it starts over from the log
// start then, as Kafka's does).
void check_checkpoint(const fs::path& log_dir, std::string_view file, const CheckedDirs& checked,
                      bool past_end_is_damage, Report& report) {
  const fs::path path = log_dir / file;
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    report.note("{}: absent", path.string());
    return;
  }
  storage::OffsetCheckpointRead read = storage::read_offset_checkpoint(path);
  if (!read.ok()) {
    report.damage("{} ({})", read.message,
                  read.fault == storage::CheckpointFault::malformed
                      ? "Kafka takes the log directory offline for it"
                      : "Kafka ignores its entries");
    return;
  }
  size_t findings = 0;
  for (const auto& [tp, offset] : read.offsets) {
    auto it = checked.find(tp);
    if (it == checked.end()) {
      report.note("{}: names {}-{}, which has no directory", path.string(), tp.first, tp.second);
      continue;
    }
    const int64_t end = it->second.log_end_offset;
    if (offset > end && past_end_is_damage) {
      ++findings;
      report.damage("{}: {}-{} at offset {}, past the end of its valid log ({})", path.string(),
                    tp.first, tp.second, offset, end);
    } else if (offset > end) {
      report.note(
          "{}: {}-{} at offset {}, past the end of its valid log ({}): cleaned again from "
          "the log start",
          path.string(), tp.first, tp.second, offset, end);
    } else if (offset < 0) {
      ++findings;
      report.damage("{}: {}-{} at offset {}, negative", path.string(), tp.first, tp.second, offset);
    }
  }
  if (findings == 0) report.ok("{}: {} entries", path.string(), read.offsets.size());
}

void check_partition_dirs(const fs::path& log_dir, Report& report, const MetadataCheck& metadata) {
  cluster::PartitionDirScan scan =
      cluster::scan_partition_dirs(log_dir, metadata.state.topics, metadata.removed_topic_ids);
  for (const auto& [name, orphan] : scan.orphans)
    report.damage("orphaned partition directories: {}",
                  cluster::orphaned_topic_message(name, orphan));
  for (const auto& dir : scan.deletion_leftovers)
    report.note("{}: of a deleted topic (removed at the next start)", dir.string());
  for (const auto& name : scan.empty_unknown_dirs)
    report.note("{}: no partition.metadata and no data (left alone)", name);
  for (const auto& name : scan.unknown_entries) report.note("{}: not Kafka's (left alone)", name);

  std::error_code ec;
  const bool clean = fs::exists(log_dir / storage::kCleanShutdownFile, ec);
  report.note("{}", clean ? "the last shutdown was clean (.kafka_cleanshutdown present)"
                          : "no clean shutdown marker: the next start recovers the logs from "
                            "their recovery points");
  const storage::OffsetCheckpointRead recovery_points =
      storage::read_offset_checkpoint(log_dir / storage::kRecoveryPointCheckpointFile);

  // Every partition directory's segments and indexes, the metadata log's too.
  CheckedDirs checked;
  size_t batches = 0;
  size_t indexes = 0;
  for (const auto& entry : fs::directory_iterator(log_dir, ec)) {
    const std::string name = entry.path().filename().string();
    auto partition = storage::parse_partition_dir_name(name);
    std::error_code dir_ec;
    if (!partition || !entry.is_directory(dir_ec)) continue;
    const bool is_metadata = name == storage::kMetadataPartitionDir;
    const bool compacted =
        !is_metadata && cluster::topic_log_options(metadata.state, partition->topic, {}).compacted;
    storage::PartitionDirCheck check = storage::check_partition_dir(entry.path(), compacted);
    // How the broker opens it (PartitionLogs::open and the metadata log's
    // open): a partition the checkpoint lacks is recovered whole after an
    // unclean stop.
    storage::RecoveryHintSeen hint;
    if (!is_metadata) {
      hint.clean_shutdown = clean;
      const TopicPartition key{partition->topic, partition->partition};
      if (auto rp = recovery_points.offsets.find(key); rp != recovery_points.offsets.end())
        hint.recovery_point = rp->second;
      else if (!clean)
        hint.recovery_point = 0;
    }
    report_partition_dir(name, check, hint, report, indexes);
    for (const auto& segment : check.segments) batches += segment.batches;
    if (!is_metadata)
      checked.emplace(TopicPartition{partition->topic, partition->partition}, std::move(check));
  }
  report.ok("{} partition directories read, {} batches CRC-checked, {} segments' indexes checked",
            checked.size(), batches, indexes);

  check_checkpoint(log_dir, storage::kRecoveryPointCheckpointFile, checked, true, report);
  if (!clean && recovery_points.ok()) {
    size_t missing = 0;
    for (const auto& [tp, check] : checked)
      if (!recovery_points.offsets.contains(tp) && check.log_end_offset > check.log_start_offset)
        ++missing;
    if (missing > 0)
      report.note("{}: {} partitions with data have no entry (recovered whole at the next start)",
                  storage::kRecoveryPointCheckpointFile, missing);
  }
  check_checkpoint(log_dir, storage::kLogStartOffsetCheckpointFile, checked, true, report);
  check_checkpoint(log_dir, storage::kReplicationOffsetCheckpointFile, checked, true, report);
  check_checkpoint(log_dir, storage::kCleanerCheckpointFile, checked, false, report);
}

}  // namespace

int run_check(const fs::path& log_dir, std::FILE* out) {
  Report report(out);
  std::error_code ec;
  if (!fs::is_directory(log_dir, ec)) {
    fmt::print(out, "{}: no such log directory\n", log_dir.string());
    return 2;
  }
  fmt::print(out, "checking {} (changing nothing)\n", log_dir.string());
  if (held_by_a_broker(log_dir))
    report.note("a running broker holds this directory: its files may change while read");
  check_meta_properties(log_dir, report);
  MetadataCheck metadata;
  check_metadata_log(log_dir, report, metadata);
  check_partition_dirs(log_dir, report, metadata);
  if (report.damage_count() == 0) {
    fmt::print(out, "clean\n");
    return 0;
  }
  fmt::print(out, "{} problems found\n", report.damage_count());
  return 1;
}

}  // namespace kb::broker
