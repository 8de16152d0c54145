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
