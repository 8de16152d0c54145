#include "kb/cluster/topic_admin.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "kb/cluster/config_catalog.hpp"
#include "kb/cluster/features.hpp"
#include "kb/cluster/metadata_image.hpp"
#include "kb/cluster/metadata_snapshots.hpp"
#include "kb/cluster/startup.hpp"
#include "kb/storage/meta_properties.hpp"
#include "kb/storage/metadata_log.hpp"
#include "kb/storage/metadata_records.hpp"
#include "kb/storage/partition_creator.hpp"
#include "kb/storage/record_batch.hpp"

namespace kb::cluster {

namespace {

constexpr size_t kMaxTopicNameLength = 249;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

LeaderElection elect_leaderless_partitions(BrokerState& state) {
  LeaderElection result;
  const int32_t node = state.node_id;
  auto has = [](const std::vector<int32_t>& ids, int32_t id) {
    return std::find(ids.begin(), ids.end(), id) != ids.end();
  };
  std::vector<storage::MetadataRecord> changes;
  for (const auto& [name, topic] : state.topics.topics()) {
    for (const PartitionInfo& p : topic.partitions) {
      if (p.leader >= 0) continue;
      const bool eligible =
          has(p.replicas, node) &&
          (has(p.isr, node) || (p.isr.empty() && has(p.eligible_leader_replicas, node)));
      if (!eligible) {
        result.offline.push_back(fmt::format("{}-{}", name, p.partition_index));
        continue;
      }
      storage::PartitionChangeRecord change;
      change.partition_id = p.partition_index;
      change.topic_id = topic.id;
      change.leader = node;
      change.isr = std::vector<int32_t>{node};
      if (!p.eligible_leader_replicas.empty()) change.eligible_leader_replicas.emplace();
      if (!p.last_known_elr.empty()) change.last_known_elr.emplace();
      changes.emplace_back(std::move(change));
    }
  }
  // Kafka's controller writes an unfencing's leader changes as one operation;
  // past one operation's bound, in several.
  for (size_t at = 0; at < changes.size(); at += kMaxRecordsPerOperation) {
    const size_t end = std::min(changes.size(), at + kMaxRecordsPerOperation);
    const std::vector<storage::MetadataRecord> operation(
        changes.begin() + static_cast<std::ptrdiff_t>(at),
        changes.begin() + static_cast<std::ptrdiff_t>(end));
    if (storage::Status appended = append_metadata(state, operation); !appended.ok()) {
      result.status = std::move(appended);
      break;
    }
    result.elected += operation.size();
  }
  return result;
}

wire::Uuid metadata_topic_id() {
  wire::Uuid id;
  id.bytes[15] = 1;
  return id;
}

namespace {

int16_t record_version(const storage::MetadataRecord& record) {
  return std::visit(
      [](const auto& r) -> int16_t {
        using R = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<R, storage::UnknownMetadataRecord>)
          return 0;
        else
          return R::kMaxVersion;
      },
      record);
}

}  // namespace

MetadataAppend append_metadata_groups(
    BrokerState& state, const std::vector<std::vector<storage::MetadataRecord>>& groups) {
  MetadataAppend result;
  if (!state.metadata_log_refusal.empty()) {
    result.status = storage::Error{state.metadata_log_refusal};
    return result;
  }
  if (!state.metadata_log) {  // normally made at start-up (load_log_dir)
    if (!state.logs) {
      result.status = storage::Error{"no log directory"};
      return result;
    }
    auto created = storage::PartitionLog::create(state.logs->log_dir(), kMetadataTopicName, 0,
                                                 metadata_topic_id());
    if (!created) {
      result.status = created.error();
      return result;
    }
    state.metadata_log = std::move(created.value());
  }
  // A new metadata log starts with the metadata.version it is written in and
  // the other features Kafka 4.0 finalizes in a new cluster.
  // A directory formatted with chosen levels (its bootstrap snapshot, already
  // applied) keeps the other features' levels: they are written instead.
  std::vector<storage::MetadataRecord> bootstrap;
  if (state.metadata_log->log_end_offset() == 0) {
    if (state.features.contains("metadata.version")) {
      bootstrap.emplace_back(
          storage::FeatureLevelRecord{"metadata.version", kBootstrapMetadataVersion});
      for (const auto& [name, level] : state.features)
        if (name != "metadata.version" && level > 0)
          bootstrap.emplace_back(storage::FeatureLevelRecord{name, level});
    } else {
      bootstrap = {
          storage::FeatureLevelRecord{"metadata.version", kBootstrapMetadataVersion},
          storage::FeatureLevelRecord{"group.version", kBootstrapGroupVersion},
          storage::FeatureLevelRecord{"transaction.version", kBootstrapTransactionVersion}};
      if (kBootstrapShareVersion > 0)
        bootstrap.emplace_back(
            storage::FeatureLevelRecord{"share.version", kBootstrapShareVersion});
    }
  }

  // Each group's records encoded, then packed into batches.
  struct Encoded {
    std::vector<ByteBuffer> values;
    size_t bytes = 0;
  };
  std::vector<Encoded> encoded(groups.size());
  auto encode = [](const storage::MetadataRecord& record, Encoded& into) {
    ByteBuffer& value = into.values.emplace_back();
    storage::encode_metadata_record(record, record_version(record), value);
    into.bytes += value.size() + 32;  // and the record's framing, at most
  };
  for (size_t g = 0; g < groups.size(); ++g) {
    if (g == 0)
      for (const auto& record : bootstrap) encode(record, encoded[g]);
    for (const auto& record : groups[g]) encode(record, encoded[g]);
  }

  const int64_t timestamp = now_ms();
  size_t g = 0;
  while (g < groups.size()) {
    // Whole groups while the batch stays within Kafka's bounds (one group
    // larger than that goes alone).
    size_t end = g;
    size_t records = 0;
    size_t bytes = 0;
    while (end < groups.size()) {
      const size_t n = encoded[end].values.size();
      if (end > g && (records + n > kMaxRecordsPerOperation ||
                      bytes + encoded[end].bytes > kMaxMetadataBatchBytes))
        break;
      records += n;
      bytes += encoded[end].bytes;
      ++end;
    }
    storage::RecordBatchBuilder builder;
    builder.set_partition_leader_epoch(state.metadata_epoch);
    for (size_t i = g; i < end; ++i)
      for (const ByteBuffer& value : encoded[i].values)
        builder.add_record(std::nullopt, value.span(), timestamp);
    std::vector<uint8_t> batch = builder.build();
    auto appended = state.metadata_log->append(batch, state.metadata_epoch);
    if (!appended) {
      result.status = appended.error();
      break;
    }
    if (g == 0)
      for (const auto& record : bootstrap) apply_metadata_record(state, record);
    for (size_t i = g; i < end; ++i)
      for (const auto& record : groups[i]) apply_metadata_record(state, record);
    if (state.metadata_snapshotter != nullptr)
      state.metadata_snapshotter->appended(state, appended->last_offset + 1, state.metadata_epoch,
                                           timestamp, batch.size(), now_ms());
    result.groups_applied = end;
    g = end;
  }
  if (result.groups_applied == 0) return result;
  // What was written is synced, also when a later batch failed (it was
  // applied, and answers that depend on it wait for the sync).
  if (state.flusher != nullptr) {
    state.metadata_sync = state.flusher->request_flush(kMetadataTopicName, 0, *state.metadata_log);
  } else {
    if (auto flushed = state.metadata_log->flush(); !flushed.ok() && result.status.ok())
      result.status = flushed;
  }
  return result;
}

storage::Status append_metadata(BrokerState& state,
                                const std::vector<storage::MetadataRecord>& records) {
  return append_metadata_groups(state, {records}).status;
}

AdminResult commit_config_changes(BrokerState& state, int8_t resource_type, std::string_view kind,
                                  std::string_view name, const OwnConfigs& current,
                                  const OwnConfigs& wanted, bool validate_only) {
  std::vector<storage::MetadataRecord> records;
  for (const auto& [key, value] : wanted) {
    auto it = current.find(key);
    if (it != current.end() && it->second == value) continue;
    records.emplace_back(storage::ConfigRecord{resource_type, std::string(name), key, value});
  }
  for (const auto& [key, value] : current)
    if (!wanted.contains(key))
      records.emplace_back(
          storage::ConfigRecord{resource_type, std::string(name), key, std::nullopt});
  if (!state.logs) return {AdminError::kStorage, "no log directory"};
  if (validate_only || records.empty()) return {};
  if (auto appended = append_metadata(state, records); !appended.ok()) {
    spdlog::error("changing the configs of {} {}: {}", kind, name, appended.error().message);
    return {AdminError::kStorage, appended.error().message};
  }
  spdlog::info("{} {}: {} config(s) changed", kind, name, records.size());
  return {};
}

namespace {

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
                " cannot be reached because only 1 broker(s) are registered or some brokers have "
                "all their log directories cordoned."};
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
  // The replica's log directory, as Kafka's controller assigns it: a Kafka
  // node started on the directory finds each partition where the metadata
  // says, with no reassignment to ask its controller for.
  if (!state.directory_id.is_zero()) r.directories = {state.directory_id};
  return r;
}

// The new partitions of a topic from `first` on, for the partition logs'
// helper threads (as a Kafka broker creates a partition's directory when it
// becomes its leader). Whatever is there of an earlier topic of the same name
// is moved aside by them (NewPartition::replace_existing): the loop looks at no
// directory. Open logs and recovery points of such an earlier topic are
// forgotten here. The logs are not kept open: they open on first use.
void add_new_partitions(BrokerState& state, const TopicInfo& topic, int32_t first,
                        std::vector<storage::NewPartition>& out) {
  if (!topic_name_problem(topic.name).empty()) return;  // never a path outside the log dir
  for (const PartitionInfo& p : topic.partitions) {
    if (p.partition_index < first) continue;
    state.logs->close(topic.name, p.partition_index);
    out.push_back({topic.name, p.partition_index, topic.id, true});
  }
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
  const TopicInfo* other = topics.find_colliding(name);
  return other ? other->name : std::string();
}

namespace {

// Everything create_topics checks of one topic against the existing ones.
CreateTopicResult check_new_topic(const BrokerState& state, const NewTopic& topic) {
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
  return result;
}

}  // namespace

std::vector<CreateTopicResult> create_topics(BrokerState& state,
                                             const std::vector<NewTopic>& topics,
                                             bool validate_only, bool bounded) {
  std::vector<CreateTopicResult> results(topics.size());
  // Names that passed before in this call (and their '.'/'_'-folded forms):
  // a later one must neither repeat nor collide with them.
  std::unordered_set<std::string_view> accepted;
  std::unordered_map<std::string, std::string_view> accepted_folded;
  std::vector<size_t> passing;
  size_t record_count = 0;
  for (size_t i = 0; i < topics.size(); ++i) {
    const std::string& name = topics[i].name;
    CreateTopicResult& result = results[i];
    result = check_new_topic(state, topics[i]);
    if (result.error != AdminError::kNone) continue;
    if (accepted.contains(name)) {
      result = {};
      result.error = AdminError::kAlreadyExists;
      result.message = "Topic '" + name + "' already exists.";
      continue;
    }
    std::string folded = fold_collision_chars(name);
    if (auto it = accepted_folded.find(folded); it != accepted_folded.end()) {
      result = {};
      result.error = AdminError::kInvalidName;
      result.message =
          "Topic '" + name + "' collides with existing topic: " + std::string(it->second);
      continue;
    }
    accepted.insert(name);
    accepted_folded.emplace(std::move(folded), name);
    passing.push_back(i);
    record_count += 1 + topics[i].configs.size() + static_cast<size_t>(result.partitions);
  }
  if (bounded && record_count > kMaxRecordsPerOperation) {
    // Kafka's controller refuses the whole operation (BoundedListTooLongException).
    for (size_t i : passing) {
      results[i] = {};
      results[i].error = AdminError::kPolicyViolation;
      results[i].message = "Unable to perform excessively large batch operation.";
    }
    return results;
  }
  if (!validate_only && !passing.empty()) {
    std::vector<std::vector<storage::MetadataRecord>> groups;
    groups.reserve(passing.size());
    std::unordered_set<wire::Uuid, UuidHash> ids;
    for (size_t i : passing) {
      const NewTopic& topic = topics[i];
      wire::Uuid id;
      do {
        id = storage::random_uuid();
      } while (id == wire::Uuid{} || state.topics.find(id) != nullptr || ids.contains(id));
      ids.insert(id);
      auto& records = groups.emplace_back();
      records.reserve(1 + topic.configs.size() + static_cast<size_t>(results[i].partitions));
      // Kafka's controller order: the topic, its configs, its partitions.
      records.emplace_back(storage::TopicRecord{topic.name, id});
      for (const auto& [key, value] : topic.configs)
        records.emplace_back(storage::ConfigRecord{kTopicResource, topic.name, key, value});
      for (int32_t p = 0; p < results[i].partitions; ++p)
        records.emplace_back(partition_record(state, id, p));
    }
    const MetadataAppend appended = append_metadata_groups(state, groups);
    if (!appended.ok()) {
      spdlog::error("creating {} topic(s): {}", passing.size() - appended.groups_applied,
                    appended.status.error().message);
      for (size_t k = appended.groups_applied; k < passing.size(); ++k) {
        results[passing[k]].error = AdminError::kStorage;
        results[passing[k]].message = appended.status.error().message;
      }
    }
    std::vector<storage::NewPartition> dirs;
    for (size_t k = 0; k < appended.groups_applied; ++k) {
      const TopicInfo* topic = state.topics.find(topics[passing[k]].name);
      results[passing[k]].topic = topic;
      add_new_partitions(state, *topic, 0, dirs);
    }
    const uint64_t ticket = dirs.empty() ? 0 : state.logs->create_dirs(std::move(dirs));
    for (size_t k = 0; k < appended.groups_applied; ++k) {
      CreateTopicResult& result = results[passing[k]];
      result.dirs_ticket = ticket;
      // One line a topic for a few; a summary for many.
      if (appended.groups_applied <= 16)
        spdlog::info("created topic {} with {} partitions (id {})", result.topic->name,
                     result.partitions, result.topic->id.to_base64());
    }
    if (appended.groups_applied > 16)
      spdlog::info("created {} topics ({} ... {})", appended.groups_applied,
                   topics[passing.front()].name, topics[passing[appended.groups_applied - 1]].name);
  }
  // An existing topic is named in its refusal.
  for (size_t i = 0; i < topics.size(); ++i)
    if (results[i].error == AdminError::kAlreadyExists)
      results[i].topic = state.topics.find(topics[i].name);
  return results;
}

CreateTopicResult create_topic(BrokerState& state, const NewTopic& topic, bool validate_only) {
  return create_topics(state, {topic}, validate_only, true).front();
}

CreateTopicResult create_topic(BrokerState& state, std::string_view name, int32_t partitions) {
  NewTopic topic;
  topic.name = std::string(name);
  topic.partitions = partitions;
  return create_topic(state, topic, false);
}

std::vector<AdminResult> delete_topics(BrokerState& state,
                                       const std::vector<wire::Uuid>& topic_ids) {
  std::vector<AdminResult> results(topic_ids.size());
  struct Doomed {
    size_t index;
    std::string name;
    std::vector<int32_t> partitions;
  };
  std::vector<Doomed> doomed;
  std::unordered_set<wire::Uuid, UuidHash> seen;
  std::vector<std::vector<storage::MetadataRecord>> groups;
  for (size_t i = 0; i < topic_ids.size(); ++i) {
    const TopicInfo* topic = state.topics.find(topic_ids[i]);
    if (topic == nullptr || !seen.insert(topic_ids[i]).second) {
      results[i] = {AdminError::kUnknownTopic, "This server does not host this topic ID."};
      continue;
    }
    if (!state.logs) {
      results[i] = {AdminError::kStorage, "no log directory"};
      continue;
    }
    Doomed& d = doomed.emplace_back(Doomed{i, topic->name, {}});
    d.partitions.reserve(topic->partitions.size());
    for (const auto& p : topic->partitions) d.partitions.push_back(p.partition_index);
    groups.push_back({storage::RemoveTopicRecord{topic_ids[i]}});
  }
  if (doomed.empty()) return results;
  const MetadataAppend appended = append_metadata_groups(state, groups);
  if (!appended.ok()) {
    spdlog::error("deleting {} topic(s): {}", doomed.size() - appended.groups_applied,
                  appended.status.error().message);
    for (size_t k = appended.groups_applied; k < doomed.size(); ++k)
      results[doomed[k].index] = {AdminError::kStorage, appended.status.error().message};
  }
  std::vector<std::filesystem::path> marked_dirs;
  for (size_t k = 0; k < appended.groups_applied; ++k) {
    const Doomed& d = doomed[k];
    // A name from a damaged or foreign metadata log never becomes a path.
    if (!topic_name_problem(d.name).empty()) {
      spdlog::warn("deleted topic {}: its partition directories are left alone", d.name);
      continue;
    }
    // Renamed here (the name is free for a new topic at once), removed on a
    // helper thread.
    for (int32_t p : d.partitions) {
      state.logs->close(d.name, p);
      auto marked = storage::move_partition_dir_aside(
          state.logs->log_dir() / storage::partition_dir_name(d.name, p), "delete");
      if (!marked.empty()) marked_dirs.push_back(std::move(marked));
    }
    spdlog::info("deleted topic {} (id {})", d.name, topic_ids[d.index].to_base64());
  }
  state.logs->remove_dirs(std::move(marked_dirs));
  // Requests waiting on its partitions (long-poll fetches) look again now
  // and answer that the topic is gone, rather than at their deadline.
  if (appended.groups_applied > 0) ++state.data_generation;
  return results;
}

AdminResult delete_topic(BrokerState& state, wire::Uuid topic_id) {
  return delete_topics(state, {topic_id}).front();
}

AdminResult create_partitions(BrokerState& state, std::string_view name, int32_t count,
                              const std::optional<std::vector<std::vector<int32_t>>>& assignments,
                              bool validate_only) {
  const TopicInfo* topic = state.topics.find(name);
  // Kafka's controller gives no message here (clients show the error's own).
  if (topic == nullptr) return {AdminError::kUnknownTopic, ""};
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
  std::vector<storage::NewPartition> dirs;
  add_new_partitions(state, *topic, current, dirs);
  result.dirs_ticket = dirs.empty() ? 0 : state.logs->create_dirs(std::move(dirs));
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

bool is_deleted_partition_dir_name(std::string_view name) {
  // "<topic>-<partition>.<32 hex digits>-delete"
  constexpr std::string_view kSuffix = "-delete";
  if (name.size() < kSuffix.size() + 34 || !name.ends_with(kSuffix)) return false;
  const std::string_view stem = name.substr(0, name.size() - kSuffix.size());
  const size_t dot = stem.size() - 33;
  if (stem[dot] != '.' || !storage::parse_partition_dir_name(stem.substr(0, dot))) return false;
  return stem.substr(dot + 1).find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

size_t remove_deleted_partition_dirs(const std::filesystem::path& log_dir) {
  size_t removed = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(log_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (!is_deleted_partition_dir_name(name)) continue;
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
