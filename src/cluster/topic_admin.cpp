#include "kb/cluster/topic_admin.hpp"

#include <charconv>
#include <chrono>
#include <set>

#include <spdlog/spdlog.h>

#include "kb/cluster/config_catalog.hpp"
#include "kb/cluster/metadata_image.hpp"
#include "kb/cluster/metadata_snapshots.hpp"
#include "kb/cluster/startup.hpp"
#include "kb/storage/meta_properties.hpp"
#include "kb/storage/metadata_log.hpp"
#include "kb/storage/metadata_records.hpp"
#include "kb/storage/record_batch.hpp"

namespace kb::cluster {

namespace {

constexpr size_t kMaxTopicNameLength = 249;
// metadata.version written into a metadata log this broker starts (4.0-IV3).
constexpr int16_t kBootstrapMetadataVersion = 25;

std::string fold_dots(std::string_view name) {
  std::string out(name);
  for (char& c : out)
    if (c == '.') c = '_';
  return out;
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

constexpr std::string_view kMetadataTopicName = "__cluster_metadata";

// Kafka's fixed id of the __cluster_metadata topic.
wire::Uuid metadata_topic_id() {
  wire::Uuid id;
  id.bytes[15] = 1;
  return id;
}

}  // namespace

storage::Status append_metadata(BrokerState& state,
                                const std::vector<storage::MetadataRecord>& records) {
  if (!state.metadata_log_refusal.empty()) return storage::Error{state.metadata_log_refusal};
  std::vector<storage::MetadataRecord> all;
  if (!state.metadata_log) {
    if (!state.logs) return storage::Error{"no log directory"};
    auto created = storage::PartitionLog::create(state.logs->log_dir(), kMetadataTopicName, 0,
                                                 metadata_topic_id());
    if (!created) return created.error();
    state.metadata_log = std::move(created.value());
    if (state.metadata_log->log_end_offset() == 0)
      all.emplace_back(storage::FeatureLevelRecord{"metadata.version", kBootstrapMetadataVersion});
  }
  all.insert(all.end(), records.begin(), records.end());

  storage::RecordBatchBuilder builder;
  builder.set_partition_leader_epoch(1);
  std::vector<ByteBuffer> values(all.size());
  const int64_t timestamp = now_ms();
  for (size_t i = 0; i < all.size(); ++i) {
    const int16_t version = std::visit(
        [](const auto& r) -> int16_t {
          using R = std::decay_t<decltype(r)>;
          if constexpr (std::is_same_v<R, storage::UnknownMetadataRecord>)
            return 0;
          else
            return R::kMaxVersion;
        },
        all[i]);
    storage::encode_metadata_record(all[i], version, values[i]);
    builder.add_record(std::nullopt, values[i].span(), timestamp);
  }
  std::vector<uint8_t> batch = builder.build();
  auto appended = state.metadata_log->append(batch, 1);
  if (!appended) return appended.error();
  if (auto flushed = state.metadata_log->flush(); !flushed.ok()) return flushed;
  for (const auto& r : all) apply_metadata_record(state, r);
  if (state.metadata_snapshotter != nullptr)
    state.metadata_snapshotter->appended(state, appended->last_offset + 1, 1, timestamp,
                                         batch.size(), now_ms());
  return {};
}

namespace {

// Kafka's directory-name id: a random UUID as 32 hex digits.
std::string unique_dir_suffix() {
  static constexpr char kHex[] = "0123456789abcdef";
  const wire::Uuid id = storage::random_uuid();
  std::string out;
  for (uint8_t b : id.bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

// Moves a partition directory aside as "<dir>.<uuid>-<suffix>" (Kafka's
// marked-directory names), returning the new path, or empty when there was
// no directory.
std::filesystem::path move_aside(const std::filesystem::path& dir, std::string_view suffix) {
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) return {};
  std::filesystem::path target = dir;
  target += "." + unique_dir_suffix() + "-" + std::string(suffix);
  std::filesystem::rename(dir, target, ec);
  if (ec) {
    spdlog::error("cannot rename {} to {}: {}", dir.string(), target.string(), ec.message());
    return {};
  }
  return target;
}

int32_t default_replication_factor(const BrokerState& state) {
  auto it = state.static_configs.find("default.replication.factor");
  if (it == state.static_configs.end()) return 1;
  int32_t v = 1;
  auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
  return ec == std::errc() && end == it->second.data() + it->second.size() ? v : 1;
}

// One replica list of a manual assignment: a single node owns everything, so
// the only valid list is this node alone.
AdminResult check_replicas(const BrokerState& state, int32_t partition,
                           const std::vector<int32_t>& replicas) {
  if (replicas.empty())
    return {AdminError::kInvalidReplicaAssignment,
            "The manual partition assignment includes an empty replica list."};
  for (size_t i = 0; i < replicas.size(); ++i) {
    if (replicas[i] != state.node_id)
      return {AdminError::kInvalidReplicaAssignment,
              "The manual partition assignment includes broker " + std::to_string(replicas[i]) +
                  ", but no such broker is registered."};
    for (size_t j = 0; j < i; ++j)
      if (replicas[j] == replicas[i])
        return {AdminError::kInvalidReplicaAssignment,
                "The manual partition assignment includes the broker " +
                    std::to_string(replicas[i]) + " more than once (partition " +
                    std::to_string(partition) + ")."};
  }
  return {};
}

AdminResult check_replication_factor(int32_t factor) {
  if (factor <= 0)
    return {AdminError::kInvalidReplicationFactor,
            "Replication factor must be larger than 0, or -1 to use the default value."};
  if (factor > 1)
    return {AdminError::kInvalidReplicationFactor,
            "Unable to replicate the partition " + std::to_string(factor) +
                " time(s): The target replication factor of " + std::to_string(factor) +
                " cannot be reached because only 1 broker(s) are registered."};
  return {};
}

storage::PartitionRecord partition_record(const BrokerState& state, const wire::Uuid& id,
                                          int32_t index) {
  storage::PartitionRecord r;
  r.partition_id = index;
  r.topic_id = id;
  r.replicas = {state.node_id};
  r.isr = {state.node_id};
  r.leader = state.node_id;
  r.leader_epoch = 0;
  r.partition_epoch = 0;
  return r;
}

// Creates the directories of new partitions, as a Kafka broker does when it
// becomes their leader: on the partition logs' helper threads when they have
// them (returns the ticket to wait for), else here and now (returns 0). A
// directory left by an earlier topic of the same name (a deletion interrupted
// by a crash) is moved aside as "-stray", as Kafka does with logs the metadata
// does not know, never reused. The logs are not kept open: they open on first
// use.
uint64_t create_partition_dirs(BrokerState& state, const TopicInfo& topic, int32_t first) {
  if (!topic_name_problem(topic.name).empty()) return 0;  // never a path outside the log dir
  std::vector<int32_t> partitions;
  for (const PartitionInfo& p : topic.partitions) {
    if (p.partition_index < first) continue;
    const auto dir =
        state.logs->log_dir() / storage::partition_dir_name(topic.name, p.partition_index);
    std::error_code ec;
    if (std::filesystem::exists(dir, ec)) {
      state.logs->close(topic.name, p.partition_index);
      auto moved = move_aside(dir, "stray");
      if (!moved.empty())
        spdlog::warn("{} belonged to an earlier topic; moved to {}", dir.string(), moved.string());
    }
    partitions.push_back(p.partition_index);
  }
  return state.logs->create_dirs(topic.name, topic.id, partitions);
}

}  // namespace

std::string topic_name_problem(std::string_view name) {
  if (name.empty()) return "the topic name is empty";
  if (name.size() > kMaxTopicNameLength)
    return "the topic name is longer than " + std::to_string(kMaxTopicNameLength) + " characters";
  if (name == "." || name == "..") return "the topic name cannot be '.' or '..'";
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return "the topic name may only contain ASCII letters, digits, '.', '_' and '-'";
  }
  return {};
}

std::string colliding_topic(const TopicTable& topics, std::string_view name) {
  const std::string folded = fold_dots(name);
  for (const auto& [existing, topic] : topics.topics())
    if (existing != name && fold_dots(existing) == folded) return existing;
  return {};
}

CreateTopicResult create_topic(BrokerState& state, const NewTopic& topic, bool validate_only) {
  const std::string& name = topic.name;
  CreateTopicResult result;
  auto fail = [&](AdminError error, std::string message) {
    result.error = error;
    result.message = std::move(message);
    return result;
  };
  if (auto problem = topic_name_problem(name); !problem.empty())
    return fail(AdminError::kInvalidName, problem);
  // The KRaft metadata topic's directory is __cluster_metadata-0: a topic of
  // that name would take it over.
  if (name == kMetadataTopicName)
    return fail(AdminError::kInvalidRequest,
                "Creation of internal topic " + name + " is prohibited.");
  if (const TopicInfo* existing = state.topics.find(name)) {
    result.topic = existing;
    return fail(AdminError::kAlreadyExists, "Topic '" + name + "' already exists.");
  }
  // Directories of a topic the metadata lost are never replaced.
  if (auto orphan = state.orphaned_topics.find(name); orphan != state.orphaned_topics.end())
    return fail(AdminError::kAlreadyExists, "Topic '" + name + "' cannot be created: " +
                                                orphaned_topic_message(name, orphan->second));
  if (auto other = colliding_topic(state.topics, name); !other.empty())
    return fail(AdminError::kInvalidName,
                "Topic '" + name + "' collides with existing topic: " + other);

  int32_t partitions = 0;
  int32_t replication_factor = 0;
  if (!topic.assignments.empty()) {
    if (topic.partitions != -1)
      return fail(AdminError::kInvalidRequest,
                  "A manual partition assignment was specified, but numPartitions was not set "
                  "to -1.");
    if (topic.replication_factor != -1)
      return fail(AdminError::kInvalidRequest,
                  "A manual partition assignment was specified, but replicationFactor was not "
                  "set to -1.");
    if (topic.assignments.size() > static_cast<size_t>(kMaxPartitionsPerRequest))
      return fail(AdminError::kInvalidPartitions,
                  "Excessively large number of partitions per request.");
    std::vector<bool> seen(topic.assignments.size(), false);
    for (const auto& a : topic.assignments) {
      if (a.partition_index < 0 || static_cast<size_t>(a.partition_index) >= seen.size() ||
          seen[static_cast<size_t>(a.partition_index)])
        return fail(AdminError::kInvalidReplicaAssignment,
                    "Partitions should be a consecutive 0-based integer sequence, but the "
                    "assignment names partition " +
                        std::to_string(a.partition_index) + ".");
      seen[static_cast<size_t>(a.partition_index)] = true;
      if (auto bad = check_replicas(state, a.partition_index, a.broker_ids); !bad.ok())
        return fail(bad.error, bad.message);
      if (replication_factor != 0 && static_cast<size_t>(replication_factor) != a.broker_ids.size())
        return fail(AdminError::kInvalidReplicaAssignment,
                    "All partitions should have the same number of replicas.");
      replication_factor = static_cast<int32_t>(a.broker_ids.size());
    }
    partitions = static_cast<int32_t>(topic.assignments.size());
  } else {
    partitions = topic.partitions == -1 ? state.default_partitions : topic.partitions;
    if (partitions <= 0)
      return fail(AdminError::kInvalidPartitions,
                  "Number of partitions was set to an invalid non-positive value.");
    if (partitions > kMaxPartitionsPerRequest)
      return fail(AdminError::kInvalidPartitions,
                  "Excessively large number of partitions per request.");
    replication_factor = topic.replication_factor == -1 ? default_replication_factor(state)
                                                        : topic.replication_factor;
    if (auto bad = check_replication_factor(replication_factor); !bad.ok())
      return fail(bad.error, bad.message);
  }
  for (const auto& [key, value] : topic.configs)
    if (auto problem = topic_config_problem(key, value); !problem.empty())
      return fail(AdminError::kInvalidConfig, problem);
  result.partitions = partitions;
  result.replication_factor = static_cast<int16_t>(replication_factor);
  if (!state.logs) return fail(AdminError::kStorage, "no log directory");
  if (validate_only) return result;

  wire::Uuid id;
  do {
    id = storage::random_uuid();
  } while (id == wire::Uuid{} || state.topics.find(id) != nullptr);

  std::vector<storage::MetadataRecord> records;
  // Kafka's controller order: the topic, its configs, its partitions.
  records.emplace_back(storage::TopicRecord{name, id});
  for (const auto& [key, value] : topic.configs)
    records.emplace_back(storage::ConfigRecord{kTopicResource, name, key, value});
  for (int32_t p = 0; p < partitions; ++p) records.emplace_back(partition_record(state, id, p));
  if (auto appended = append_metadata(state, records); !appended.ok()) {
    spdlog::error("creating topic {}: {}", name, appended.error().message);
    return fail(AdminError::kStorage, appended.error().message);
  }
  result.topic = state.topics.find(name);
  result.dirs_ticket = create_partition_dirs(state, *result.topic, 0);
  spdlog::info("created topic {} with {} partitions (id {})", name, partitions, id.to_base64());
  return result;
}

CreateTopicResult create_topic(BrokerState& state, std::string_view name, int32_t partitions) {
  NewTopic topic;
  topic.name = std::string(name);
  topic.partitions = partitions;
  return create_topic(state, topic, false);
}

AdminResult delete_topic(BrokerState& state, wire::Uuid topic_id) {
  const TopicInfo* topic = state.topics.find(topic_id);
  if (topic == nullptr)
    return {AdminError::kUnknownTopic, "This server does not host this topic ID."};
  if (!state.logs) return {AdminError::kStorage, "no log directory"};
  const std::string name = topic->name;
  std::vector<int32_t> partitions;
  for (const auto& p : topic->partitions) partitions.push_back(p.partition_index);

  if (auto appended = append_metadata(state, {storage::RemoveTopicRecord{topic_id}});
      !appended.ok()) {
    spdlog::error("deleting topic {}: {}", name, appended.error().message);
    return {AdminError::kStorage, appended.error().message};
  }
  // A name from a damaged or foreign metadata log never becomes a path.
  if (!topic_name_problem(name).empty()) {
    spdlog::warn("deleted topic {}: its partition directories are left alone", name);
    return {};
  }
  for (int32_t p : partitions) {
    state.logs->close(name, p);
    auto marked =
        move_aside(state.logs->log_dir() / storage::partition_dir_name(name, p), "delete");
    if (marked.empty()) continue;
    std::error_code ec;
    std::filesystem::remove_all(marked, ec);
    if (ec)
      spdlog::error("cannot remove {}: {} (removed at the next start)", marked.string(),
                    ec.message());
  }
  // Requests waiting on its partitions (long-poll fetches) look again now
  // and answer that the topic is gone, rather than at their deadline.
  ++state.data_generation;
  spdlog::info("deleted topic {} (id {})", name, topic_id.to_base64());
  return {};
}

AdminResult create_partitions(BrokerState& state, std::string_view name, int32_t count,
                              const std::optional<std::vector<std::vector<int32_t>>>& assignments,
                              bool validate_only) {
  const TopicInfo* topic = state.topics.find(name);
  if (topic == nullptr)
    return {AdminError::kUnknownTopic, "The topic '" + std::string(name) + "' does not exist."};
  if (auto orphan = state.orphaned_topics.find(name); orphan != state.orphaned_topics.end())
    return {AdminError::kInvalidPartitions,
            "Partitions of '" + std::string(name) +
                "' cannot be created: " + orphaned_topic_message(name, orphan->second)};
  const auto current = static_cast<int32_t>(topic->partitions.size());
  if (count < current)
    return {AdminError::kInvalidPartitions,
            "The topic " + std::string(name) + " currently has " + std::to_string(current) +
                " partition(s); " + std::to_string(count) + " would not be an increase."};
  if (count == current)
    return {AdminError::kInvalidPartitions,
            "Topic already has " + std::to_string(current) + " partition(s)."};
  if (count - current > kMaxPartitionsPerRequest)
    return {AdminError::kInvalidPartitions, "Excessively large number of partitions per request."};
  if (assignments) {
    if (static_cast<int64_t>(assignments->size()) != static_cast<int64_t>(count) - current)
      return {AdminError::kInvalidReplicaAssignment,
              "Attempted to add " + std::to_string(count - current) +
                  " additional partition(s), but only " + std::to_string(assignments->size()) +
                  " assignment(s) were specified."};
    const size_t existing_replicas =
        topic->partitions.empty() ? 1 : topic->partitions.front().replicas.size();
    for (size_t i = 0; i < assignments->size(); ++i) {
      const auto index = static_cast<int32_t>(current + static_cast<int32_t>(i));
      if (auto bad = check_replicas(state, index, (*assignments)[i]); !bad.ok()) return bad;
      if ((*assignments)[i].size() != existing_replicas)
        return {AdminError::kInvalidReplicaAssignment,
                "The manual partition assignment includes a partition with " +
                    std::to_string((*assignments)[i].size()) +
                    " replica(s), but this is not consistent with previous partitions, which "
                    "have " +
                    std::to_string(existing_replicas) + " replica(s)."};
    }
  }
  if (!state.logs) return {AdminError::kStorage, "no log directory"};
  if (validate_only) return {};

  const wire::Uuid id = topic->id;
  std::vector<storage::MetadataRecord> records;
  for (int32_t p = current; p < count; ++p) records.emplace_back(partition_record(state, id, p));
  if (auto appended = append_metadata(state, records); !appended.ok()) {
    spdlog::error("adding partitions to {}: {}", name, appended.error().message);
    return {AdminError::kStorage, appended.error().message};
  }
  topic = state.topics.find(id);
  AdminResult result;
  result.dirs_ticket = create_partition_dirs(state, *topic, current);
  spdlog::info("topic {} now has {} partitions", name, count);
  return result;
}

size_t create_missing_partition_dirs(BrokerState& state) {
  if (!state.logs) return 0;
  const auto& log_dir = state.logs->log_dir();
  std::set<std::string, std::less<>> present;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(log_dir, ec))
    present.insert(entry.path().filename().string());
  size_t missing = 0;
  for (const auto& [name, topic] : state.topics.topics()) {
    if (!topic_name_problem(name).empty()) continue;  // never a path outside the log dir
    std::vector<int32_t> partitions;
    for (const PartitionInfo& p : topic.partitions) {
      const std::string dir_name = storage::partition_dir_name(name, p.partition_index);
      if (!present.contains(dir_name)) {
        partitions.push_back(p.partition_index);
        continue;
      }
      // A creation cut short by a crash: partition.metadata is written
      // before any data, so such a directory holds none.
      if (std::filesystem::exists(log_dir / dir_name / storage::kPartitionMetadataFile, ec))
        continue;
      if (auto created =
              storage::PartitionLog::create_files(log_dir, name, p.partition_index, topic.id);
          !created)
        spdlog::error("completing {}: {}", dir_name, created.error().message);
    }
    if (partitions.empty()) continue;
    missing += partitions.size();
    state.logs->create_dirs(name, topic.id, partitions);
  }
  return missing;
}

size_t remove_deleted_partition_dirs(const std::filesystem::path& log_dir) {
  size_t removed = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(log_dir, ec)) {
    const std::string name = entry.path().filename().string();
    // "<topic>-<partition>.<32 hex digits>-delete"
    constexpr std::string_view kSuffix = "-delete";
    if (name.size() < kSuffix.size() + 34 || !name.ends_with(kSuffix)) continue;
    const std::string_view stem = std::string_view(name).substr(0, name.size() - kSuffix.size());
    const size_t dot = stem.size() - 33;
    if (stem[dot] != '.' || !storage::parse_partition_dir_name(stem.substr(0, dot))) continue;
    if (stem.substr(dot + 1).find_first_not_of("0123456789abcdef") != std::string_view::npos)
      continue;
    std::error_code remove_ec;
    std::filesystem::remove_all(entry.path(), remove_ec);
    if (remove_ec) {
      spdlog::error("cannot remove {}: {}", entry.path().string(), remove_ec.message());
      continue;
    }
    spdlog::info("removed {}, left by a topic deletion", entry.path().string());
    ++removed;
  }
  return removed;
}

}  // namespace kb::cluster
