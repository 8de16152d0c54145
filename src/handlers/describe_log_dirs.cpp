#include <spdlog/spdlog.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "kb/handlers/log_admin.hpp"
#include "kb/protocol/error_code.hpp"

namespace kb::handlers {

using protocol::DescribeLogDirsRequest;
using protocol::DescribeLogDirsResponse;
using protocol::ErrorCode;
using protocol::to_wire;

namespace {

// The size of a partition's log: its open log knows it; otherwise the sum of
// its segment files (their sizes are their batches': preallocation keeps the
// file size). nullopt when the partition has no directory (no data yet; Kafka
// lists only the logs it has).
std::optional<int64_t> partition_size(cluster::PartitionLogs& logs, std::string_view topic,
                                      int32_t partition) {
  if (storage::PartitionLog* open = logs.find_open(topic, partition))
    return static_cast<int64_t>(open->size_bytes());
  std::error_code ec;
  const auto dir = logs.log_dir() / storage::partition_dir_name(topic, partition);
  if (!std::filesystem::is_directory(dir, ec)) return std::nullopt;
  int64_t total = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() != ".log") continue;
    std::error_code size_ec;
    const auto size = entry.file_size(size_ec);
    if (!size_ec) total += static_cast<int64_t>(size);
  }
  return total;
}

void add_topic(cluster::PartitionLogs& logs, const cluster::TopicInfo& topic,
               const std::unordered_set<int32_t>* only,
               DescribeLogDirsResponse::DescribeLogDirsResult& out) {
  DescribeLogDirsResponse::DescribeLogDirsTopic t;
  t.name = topic.name;
  for (const auto& p : topic.partitions) {
    // A set: the partitions asked for are looked up, never scanned per partition.
    if (only && !only->contains(p.partition_index)) continue;
    auto size = partition_size(logs, topic.name, p.partition_index);
    if (!size) continue;
    // The current replica: no lag (Kafka's offset lag counts for future
    // replicas, which a single log directory never has).
    t.partitions.push_back({p.partition_index, *size, 0, false});
  }
  if (!t.partitions.empty()) out.topics.push_back(std::move(t));
}

}  // namespace

std::optional<DescribeLogDirsResponse> handle_describe_log_dirs(
    RequestContext& ctx, const DescribeLogDirsRequest& request, int16_t /*version*/) {
  DescribeLogDirsResponse response;
  if (!ctx.authorized_cluster(security::AclOperation::kDescribe)) {
    response.error_code = to_wire(ErrorCode::kClusterAuthorizationFailed);
    return response;
  }
  if (!ctx.state.logs) return response;  // no log directory loaded: none to describe
  cluster::PartitionLogs& logs = *ctx.state.logs;
  auto& dir = response.results.emplace_back();
  std::error_code ec;
  dir.log_dir = std::filesystem::absolute(logs.log_dir(), ec).string();
  if (ec) dir.log_dir = logs.log_dir().string();
  if (request.topics) {
    // The partitions asked for, as Kafka takes them: a set, so a topic or
    // partition named again is described once (each naming cost a walk of
    // the topic's partitions and a look at the disk, thousands per request).
    std::vector<std::pair<const cluster::TopicInfo*, std::unordered_set<int32_t>>> wanted;
    std::unordered_map<const cluster::TopicInfo*, size_t> wanted_at;
    for (const auto& named : *request.topics) {
      const cluster::TopicInfo* topic = ctx.state.topics.find(named.topic);
      if (topic == nullptr) continue;
      auto [at, first] = wanted_at.try_emplace(topic, wanted.size());
      if (first) wanted.emplace_back(topic, std::unordered_set<int32_t>{});
      wanted[at->second].second.insert(named.partitions.begin(), named.partitions.end());
    }
    for (const auto& [topic, partitions] : wanted) add_topic(logs, *topic, &partitions, dir);
  } else {
    for (const auto& [name, topic] : ctx.state.topics.topics())
      add_topic(logs, topic, nullptr, dir);
  }
  // v5's is_cordoned stays false: Kafka reports cordoned directories only from
  // metadata.version 4.3-IV0, above the levels this broker serves.
  struct statvfs fs {};
  if (statvfs(logs.log_dir().c_str(), &fs) == 0) {
    dir.total_bytes = static_cast<int64_t>(fs.f_blocks) * static_cast<int64_t>(fs.f_frsize);
    dir.usable_bytes = static_cast<int64_t>(fs.f_bavail) * static_cast<int64_t>(fs.f_frsize);
  } else {
    // Kafka reports a directory it cannot read as offline.
    spdlog::error("describe log dirs: statvfs {}: {}", logs.log_dir().string(),
                  std::generic_category().message(errno));
    dir.error_code = to_wire(ErrorCode::kKafkaStorageError);
    dir.topics.clear();
  }
  return response;
}

ApiEntry describe_log_dirs_entry() {
  return make_entry<DescribeLogDirsRequest, DescribeLogDirsResponse, &handle_describe_log_dirs>(
      "DescribeLogDirs", DescribeLogDirsRequest::kVersions);
}

}  // namespace kb::handlers
