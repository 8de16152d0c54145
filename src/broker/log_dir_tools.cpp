#include "kb/broker/log_dir_tools.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <system_error>
#include <unordered_set>
#include <vector>

#include <fmt/format.h>

#include "kb/cluster/config_catalog.hpp"
#include "kb/cluster/metadata_image.hpp"
#include "kb/cluster/startup.hpp"
#include "kb/cluster/topic_admin.hpp"
#include "kb/group/offsets_topic.hpp"
#include "kb/storage/meta_properties.hpp"
#include "kb/storage/metadata_log.hpp"
#include "kb/storage/metadata_snapshot.hpp"
#include "kb/storage/offset_checkpoint.hpp"
#include "kb/storage/segment_check.hpp"

namespace kb::broker {

namespace fs = std::filesystem;

int lock_log_dir(const fs::path& log_dir) {
  const fs::path path = log_dir / ".lock";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    ::close(fd);
    errno = error;
    return -1;
  }
  return fd;
}

namespace {

// Collects the report: damage (exit status 1) and notes.
class Report {
 public:
  explicit Report(std::FILE* out) : out_(out) {}
  template <class... Args>
  void damage(fmt::format_string<Args...> format, Args&&... args) {
    ++damage_;
    std::fputs(("DAMAGE  " + fmt::format(format, std::forward<Args>(args)...) + "\n").c_str(),
               out_);
  }
  template <class... Args>
  void note(fmt::format_string<Args...> format, Args&&... args) {
    std::fputs(("note    " + fmt::format(format, std::forward<Args>(args)...) + "\n").c_str(),
               out_);
  }
  template <class... Args>
  void ok(fmt::format_string<Args...> format, Args&&... args) {
    std::fputs(("ok      " + fmt::format(format, std::forward<Args>(args)...) + "\n").c_str(),
               out_);
  }
  size_t damage_count() const { return damage_; }

 private:
  std::FILE* out_;
  size_t damage_ = 0;
};

struct MetadataCheck {
  cluster::BrokerState state;
  std::unordered_set<cluster::Uuid, cluster::UuidHash> removed_topic_ids;
};

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

  // Every partition directory's segments, and the checkpoints against them.
  std::map<std::pair<std::string, int32_t>, storage::PartitionDirCheck> checked;
  std::error_code ec;
  size_t batches = 0;
  for (const auto& entry : fs::directory_iterator(log_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name == storage::kMetadataPartitionDir) continue;
    auto partition = storage::parse_partition_dir_name(name);
    std::error_code dir_ec;
    if (!partition || !entry.is_directory(dir_ec)) continue;
    storage::PartitionDirCheck check = storage::check_partition_dir(entry.path());
    for (const auto& problem : check.problems) report.damage("partition log {}", problem);
    for (const auto& segment : check.segments) batches += segment.batches;
    checked.emplace(std::make_pair(partition->topic, partition->partition), std::move(check));
  }
  report.ok("{} partition directories read, {} batches CRC-checked", checked.size(), batches);

  const bool clean = fs::exists(log_dir / storage::kCleanShutdownFile, ec);
  report.note("{}", clean ? "the last shutdown was clean (.kafka_cleanshutdown present)"
                          : "no clean shutdown marker: the next start recovers the logs from "
                            "their recovery points");
  for (std::string_view file :
       {storage::kRecoveryPointCheckpointFile, storage::kLogStartOffsetCheckpointFile}) {
    const fs::path path = log_dir / file;
    if (!fs::exists(path, ec)) {
      report.note("{}: absent", path.string());
      continue;
    }
    storage::OffsetCheckpointRead read = storage::read_offset_checkpoint(path);
    if (!read.ok()) {
      report.damage("{}", read.message);
      continue;
    }
    const storage::OffsetCheckpoint* offsets = &read.offsets;
    size_t beyond = 0;
    for (const auto& [tp, offset] : *offsets) {
      auto it = checked.find(tp);
      if (it == checked.end()) {
        report.note("{}: names {}-{}, which has no directory", path.string(), tp.first, tp.second);
        continue;
      }
      if (offset > it->second.log_end_offset) {
        ++beyond;
        report.damage("{}: {}-{} at offset {}, past the end of its valid log ({})", path.string(),
                      tp.first, tp.second, offset, it->second.log_end_offset);
      }
    }
    if (file == storage::kRecoveryPointCheckpointFile && !clean) {
      size_t missing = 0;
      for (const auto& [tp, check] : checked)
        if (!offsets->contains(tp) && check.log_end_offset > check.log_start_offset) ++missing;
      if (missing > 0)
        report.note("{}: {} partitions with data have no entry (recovered whole at the next start)",
                    path.string(), missing);
    }
    if (beyond == 0) report.ok("{}: {} entries", path.string(), offsets->size());
  }
}

storage::PartitionRecord recovered_partition(int32_t node_id, const cluster::Uuid& topic_id,
                                             int32_t index) {
  storage::PartitionRecord r;
  r.partition_id = index;
  r.topic_id = topic_id;
  r.replicas = {node_id};
  r.isr = {node_id};
  r.leader = node_id;
  r.leader_epoch = 0;
  r.partition_epoch = 0;
  return r;
}

}  // namespace

int run_check(const BrokerConfig& config, std::FILE* out) {
  const fs::path log_dir = config.log_dirs.front();
  Report report(out);
  std::error_code ec;
  if (!fs::is_directory(log_dir, ec)) {
    std::fprintf(out, "%s: no such log directory\n", log_dir.c_str());
    return 2;
  }
  std::fprintf(out, "checking %s (changing nothing)\n", log_dir.c_str());
  auto meta = storage::read_meta_properties(log_dir);
  if (!meta)
    report.damage("{}", meta.error().message);
  else if (!*meta)
    report.note("meta.properties: absent (written at the next start)");
  MetadataCheck metadata;
  check_metadata_log(log_dir, report, metadata);
  check_partition_dirs(log_dir, report, metadata);
  if (report.damage_count() == 0) {
    std::fprintf(out, "clean\n");
    return 0;
  }
  std::fprintf(out, "%zu problems found\n", report.damage_count());
  return 1;
}

int run_recover_topics(const BrokerConfig& config, std::FILE* out) {
  const fs::path log_dir = config.log_dirs.front();
  std::error_code ec;
  if (!fs::is_directory(log_dir, ec)) {
    std::fprintf(out, "%s: no such log directory\n", log_dir.c_str());
    return 2;
  }
  const int lock = lock_log_dir(log_dir);
  if (lock < 0) {
    std::fprintf(out, "%s: locked by another process (stop the broker first): %s\n",
                 log_dir.c_str(), std::strerror(errno));
    return 2;
  }
  struct Unlock {
    int fd;
    ~Unlock() { ::close(fd); }
  } unlock{lock};

  cluster::BrokerState state;
  state.node_id = config.node_id;
  storage::PartitionLogOptions options;
  options.segment_bytes = config.log.segment_bytes;
  options.index_interval_bytes = config.log.index_interval_bytes;
  options.preallocate_bytes = 0;
  cluster::MetadataLogLoad load;
  const fs::path metadata_dir = log_dir / storage::kMetadataPartitionDir;
  if (fs::is_directory(metadata_dir, ec)) {
    if (auto opened = cluster::open_metadata_log(metadata_dir, options, state, load); !opened) {
      std::fprintf(out, "metadata log: %s\n", opened.error().message.c_str());
      return 2;
    }
  }
  if (!state.metadata_log_refusal.empty()) {
    std::fprintf(out, "cannot append to the metadata log: %s\n",
                 state.metadata_log_refusal.c_str());
    return 1;
  }
  state.logs = std::make_unique<cluster::PartitionLogs>(log_dir, options);
  cluster::PartitionDirScan scan =
      cluster::scan_partition_dirs(log_dir, state.topics, load.removed_topic_ids);
  if (scan.orphans.empty()) {
    std::fprintf(out, "no orphaned partition directories: nothing to recover\n");
    return 0;
  }
  size_t failed = 0;
  for (const auto& [topic_name, orphan] : scan.orphans) {
    const std::string& name = topic_name;  // a lambda cannot capture a structured binding
    auto refuse = [&](const std::string& why) {
      ++failed;
      std::fprintf(out, "not recovered: %s: %s\n", name.c_str(), why.c_str());
    };
    if (!orphan.topic_id || orphan.mixed_ids) {
      refuse("its directories do not name one topic id (partition.metadata missing or differing)");
      continue;
    }
    const cluster::Uuid id = *orphan.topic_id;
    const cluster::TopicInfo* by_name = state.topics.find(name);
    const cluster::TopicInfo* by_id = state.topics.find(id);
    if (by_name != nullptr && by_name->id != id) {
      refuse(fmt::format("a topic of that name with another id ({}) exists now",
                         by_name->id.to_base64()));
      continue;
    }
    if (by_name == nullptr && by_id != nullptr) {
      refuse(fmt::format("its id {} belongs to topic '{}' now", id.to_base64(), by_id->name));
      continue;
    }
    std::vector<storage::MetadataRecord> records;
    if (by_name == nullptr) {
      records.emplace_back(storage::TopicRecord{name, id});
      // The internal offsets topic gets the configs Kafka gives it; other
      // topics' configs set after the damage are not known.
      if (name == group::kOffsetsTopic) {
        records.emplace_back(
            storage::ConfigRecord{cluster::kTopicResource, name, "cleanup.policy", "compact"});
        records.emplace_back(
            storage::ConfigRecord{cluster::kTopicResource, name, "compression.type", "producer"});
        records.emplace_back(
            storage::ConfigRecord{cluster::kTopicResource, name, "segment.bytes",
                                  std::to_string(config.groups.offsets_segment_bytes)});
      }
    }
    const int32_t count = orphan.partitions.back() + 1;
    for (int32_t p = 0; p < count; ++p)
      if (by_name == nullptr || by_name->partition(p) == nullptr)
        records.emplace_back(recovered_partition(config.node_id, id, p));
    if (auto appended = cluster::append_metadata(state, records); !appended.ok()) {
      refuse(appended.error().message);
      continue;
    }
    std::fprintf(out, "recovered: %s (topic id %s), %d partitions%s\n", name.c_str(),
                 id.to_base64().c_str(), count,
                 by_name == nullptr ? "; topic configs are the broker defaults" : "");
  }
  if (auto flushed = state.metadata_log ? state.metadata_log->flush() : storage::Status{};
      !flushed.ok()) {
    std::fprintf(out, "metadata log: %s\n", flushed.error().message.c_str());
    return 2;
  }
  return failed == 0 ? 0 : 1;
}

}  // namespace kb::broker
