#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kb/cluster/broker_state.hpp"
#include "kb/storage/metadata_records.hpp"
#include "kb/storage/result.hpp"

namespace kb::cluster {

// Kafka's bounds on metadata writes: the records one controller operation may
// write (QuorumController's MAX_RECORDS_PER_USER_OP; CreateTopics past it is
// refused with POLICY_VIOLATION) and the bytes of one metadata batch
// (KafkaRaftClient's MAX_BATCH_SIZE_BYTES).
inline constexpr size_t kMaxRecordsPerOperation = 10000;
inline constexpr size_t kMaxMetadataBatchBytes = size_t{8} * 1024 * 1024;

// The KRaft epoch this broker, the metadata log's one voter and leader,
// writes its metadata batches at (their partition leader epoch), and which
// quorum-state names, on a new log; a log with a later epoch in it (Apache
// Kafka's elections) is continued at that epoch (BrokerState::metadata_epoch).
inline constexpr int32_t kMetadataLeaderEpoch = 1;

// What append_metadata did: the first `groups_applied` groups were written and
// applied (all of them unless `status` failed).
struct MetadataAppend {
  size_t groups_applied = 0;
  storage::Status status;
  bool ok() const { return status.ok(); }
};

// Appends groups of records to __cluster_metadata-0 in as few batches as
// Kafka's bounds allow (up to kMaxRecordsPerOperation records and
// kMaxMetadataBatchBytes a batch; a group is never split, so a crash leaves
// each group whole or absent), creating the log (with a metadata.version
// record first) when the directory has none, and applies each batch's records
// to the state once it is written. The sync: with state.flusher, on its helper
// threads, and state.metadata_sync is the ticket that answers depending on the
// change wait for (wait_for_metadata in the handlers); without, here and now.
MetadataAppend append_metadata_groups(
    BrokerState& state, const std::vector<std::vector<storage::MetadataRecord>>& groups);
// One group.
storage::Status append_metadata(BrokerState& state,
                                const std::vector<storage::MetadataRecord>& records);

// What start-up's leader election did (elect_leaderless_partitions).
struct LeaderElection {
  size_t elected = 0;  // partitions this node now leads
  // Partitions left without a leader, as "<topic>-<p>": this node is not
  // among their replicas, or neither in their ISR nor their eligible leader
  // replicas (Kafka elects none there without unclean leader election).
  std::vector<std::string> offline;
  storage::Status status;  // the append's, when it failed
};

// Kafka's controller when this node's broker is unfenced: partitions without
// a leader (an Apache Kafka node's controlled shutdown leaves every partition
// so, its ISR empty and the node among the eligible leader replicas) get this
// node as leader where it is in the ISR or, with an empty ISR, in the
// eligible leader replicas: one PartitionChangeRecord each (leader and ISR
// this node, eligible and last known leader replicas emptied where set, the
// leader epoch one up), appended together as one operation.
LeaderElection elect_leaderless_partitions(BrokerState& state);

// Kafka's fixed id of the __cluster_metadata topic.
wire::Uuid metadata_topic_id();

// Why a topic name is refused, empty when it is valid. Kafka's rules: 1 to 249
// characters of [a-zA-Z0-9._-], not "." or "..". The name never reaches the
// file system before this check passes.
std::string topic_name_problem(std::string_view name);

// A name that collides with an existing topic once '.' and '_' are treated as
// equal (Kafka refuses such pairs: their metric names would clash), or empty.
// A lookup in the topic table's index, not a scan.
std::string colliding_topic(const TopicTable& topics, std::string_view name);

// What a topic change can fail with; the handlers map these to Kafka's codes.
enum class AdminError {
  kNone,
  kInvalidName,               // INVALID_TOPIC_EXCEPTION
  kAlreadyExists,             // TOPIC_ALREADY_EXISTS
  kInvalidPartitions,         // INVALID_PARTITIONS
  kInvalidReplicationFactor,  // INVALID_REPLICATION_FACTOR
  kInvalidReplicaAssignment,  // INVALID_REPLICA_ASSIGNMENT
  kInvalidConfig,             // INVALID_CONFIG
  kInvalidRequest,            // INVALID_REQUEST
  kUnknownTopic,              // UNKNOWN_TOPIC_OR_PARTITION
  kStorage,                   // KAFKA_STORAGE_ERROR
  kPolicyViolation,           // POLICY_VIOLATION
};
using CreateTopicError = AdminError;

// The most partitions one request may create (Kafka's controller bounds the
// records one operation writes the same way).
inline constexpr int32_t kMaxPartitionsPerRequest = 10000;

struct AdminResult {
  AdminError error = AdminError::kNone;
  std::string message;
  // New partitions' directories are being created on helper threads: done
  // once state.logs->creator()->done(dirs_ticket). 0: nothing to wait for.
  uint64_t dirs_ticket = 0;
  bool ok() const { return error == AdminError::kNone; }
};

struct CreateTopicResult {
  AdminError error = AdminError::kNone;
  std::string message;
  const TopicInfo* topic = nullptr;  // the created (or, when it exists, the existing) topic
  // What the topic gets (or, validating only, would get).
  int32_t partitions = -1;
  int16_t replication_factor = -1;
  uint64_t dirs_ticket = 0;  // as AdminResult's
};

// A CreateTopics entry. -1 partitions / replication factor take the broker
// defaults (num.partitions, default.replication.factor); with assignments
// both must be -1.
struct NewTopic {
  struct Assignment {
    int32_t partition_index = 0;
    std::vector<int32_t> broker_ids;
  };
  std::string name;
  int32_t partitions = -1;
  int16_t replication_factor = -1;
  std::vector<Assignment> assignments;
  std::map<std::string, std::string, std::less<>> configs;
};

// Creates topics the way a KRaft controller does: per topic a TopicRecord, a
// ConfigRecord per config and a PartitionRecord per partition, all topics'
// records appended to __cluster_metadata together (append_metadata_groups:
// one batch for up to kMaxRecordsPerOperation records, one sync), applied to
// the topic table, then the partition directories are created (one
// PartitionCreator batch for all). Each topic is checked before anything is
// written, against the existing topics and the ones before it in `topics` (a
// later name collides with an earlier one); a refusal does not stop the others.
// validate_only stops after the checks. With `bounded` (CreateTopics), more
// than kMaxRecordsPerOperation records refuse every topic that passed its checks
// with kPolicyViolation, as Kafka's controller does; without (auto-creation),
// they are written in several batches. This broker leads every partition;
// replicas and ISR are this node. Results are in the order of `topics`.
std::vector<CreateTopicResult> create_topics(BrokerState& state,
                                             const std::vector<NewTopic>& topics,
                                             bool validate_only, bool bounded);
CreateTopicResult create_topic(BrokerState& state, const NewTopic& topic, bool validate_only);
// Auto-creation: default replication, no configs.
CreateTopicResult create_topic(BrokerState& state, std::string_view name, int32_t partitions);

// One resource's own configs by name.
using OwnConfigs = std::map<std::string, std::string, std::less<>>;

// Writes the ConfigRecords that turn a resource's own configs from `current`
// into `wanted`: a record per new or changed value, a deletion per name no
// longer wanted; nothing when validate_only or nothing changes. `kind` names
// the resource in the log ("topic", "group").
AdminResult commit_config_changes(BrokerState& state, int8_t resource_type, std::string_view kind,
                                  std::string_view name, const OwnConfigs& current,
                                  const OwnConfigs& wanted, bool validate_only);

// Deletes a topic: a RemoveTopicRecord is appended (replaying it drops the
// topic and its configs), the open partition logs are closed, and each
// partition directory is renamed to "<topic>-<p>.<uuid>-delete" (Kafka's
// marker) and removed. A crash in between leaves marked directories, removed
// at the next start-up (remove_deleted_partition_dirs). The id is a copy: the
// caller may name it from the topic table entry this removes.
AdminResult delete_topic(BrokerState& state, wire::Uuid topic_id);
// Several topics, their RemoveTopicRecords in one append (one sync); results
// in the order of `topic_ids`.
std::vector<AdminResult> delete_topics(BrokerState& state,
                                       const std::vector<wire::Uuid>& topic_ids);

// Grows a topic to `count` partitions: a PartitionRecord per new partition.
// assignments (when given) name the replicas of each new partition.
AdminResult create_partitions(BrokerState& state, std::string_view topic, int32_t count,
                              const std::optional<std::vector<std::vector<int32_t>>>& assignments,
                              bool validate_only);

// Start-up: the partitions the metadata log names whose directories are
// missing (a crash, or a shutdown, came before their creation) are created
// (state.logs->create_dirs, one batch per topic); a directory a crash left
// without partition.metadata gets it, here and now. Returns how many
// partitions were missing.
size_t create_missing_partition_dirs(BrokerState& state);

// Start-up: removes partition directories a deletion marked but did not
// finish removing. Returns how many were removed.
// A deletion's mark, Kafka's: "<topic>-<partition>.<32 hex digits>-delete".
bool is_deleted_partition_dir_name(std::string_view name);
size_t remove_deleted_partition_dirs(const std::filesystem::path& log_dir);

}  // namespace kb::cluster
