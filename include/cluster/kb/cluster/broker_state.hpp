#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kb/cluster/client_quotas.hpp"
#include "kb/cluster/partition_logs.hpp"
#include "kb/cluster/producers.hpp"
#include "kb/cluster/topic_table.hpp"
#include "kb/security/acl.hpp"
#include "kb/security/scram.hpp"

namespace kb::cluster {

// A listener as announced to clients (Metadata, DescribeCluster).
struct AdvertisedEndpoint {
  std::string name;
  std::string host;
  uint16_t port = 0;
};

// Log settings from server.properties (Kafka's keys and defaults). Topic
// configs in BrokerState::configs (message.timestamp.type, max.message.bytes,
// flush.messages) override the first three per topic.
struct LogConfig {
  int32_t max_message_bytes = 1048588;  // message.max.bytes: largest accepted batch
  bool log_append_time = false;         // log.message.timestamp.type=LogAppendTime
  int64_t flush_interval_messages = std::numeric_limits<int64_t>::max();  // never forced
  uint64_t segment_bytes = 1024ull * 1024 * 1024;                         // log.segment.bytes
  uint32_t index_interval_bytes = 4096;  // log.index.interval.bytes
  // log.flush.interval.ms: logs with data older than this unsynced are flushed
  // (default: never, as Kafka's).
  int64_t flush_interval_ms = std::numeric_limits<int64_t>::max();
  int64_t flush_scheduler_interval_ms = std::numeric_limits<int64_t>::max();  // how often to check
  int64_t flush_checkpoint_interval_ms = 60000;  // log.flush.offset.checkpoint.interval.ms
  int64_t roll_ms = 7LL * 24 * 60 * 60 * 1000;   // log.roll.ms / log.roll.hours
  // How often segments past retention are looked for (retention.ms and
  // retention.bytes themselves are topic configs, read when checking).
  int64_t retention_check_interval_ms = 300000;  // log.retention.check.interval.ms
  // log.message.timestamp.before.max.ms / after.max.ms: CreateTime timestamps
  // further from the broker's clock are refused (INVALID_TIMESTAMP).
  int64_t timestamp_before_max_ms = std::numeric_limits<int64_t>::max();
  int64_t timestamp_after_max_ms = 3600000;
  // Not Kafka's (0 turns each off): kb.log.writeback.interval.bytes, how much a
  // partition appends before the kernel is asked to start writing it to disk
  // (as RocksDB's bytes_per_sync and PostgreSQL's *_flush_after do: the disk
  // works while data arrives instead of all at the next flush, and dirty
  // pages do not pile up); kb.log.segment.preallocate.bytes, how far ahead of the
  // active segment's end disk space is reserved.
  uint64_t writeback_interval_bytes = uint64_t{4} * 1024 * 1024;
  uint64_t segment_preallocate_bytes = uint64_t{8} * 1024 * 1024;
};

// The KRaft metadata topic; its one partition is BrokerState::metadata_log.
inline constexpr std::string_view kMetadataTopicName = "__cluster_metadata";

// A flush asked for by a handler: done once partition `slot`'s flushes have
// reached `generation`.
struct FlushTicket {
  uint32_t slot = 0;
  uint64_t generation = 0;
};

// Syncs appended data off the event loop (the broker's flusher). Requests made
// in one loop turn are grouped: one sync per partition.
class LogFlushScheduler {
 public:
  virtual ~LogFlushScheduler() = default;
  // Asks for `log` to be synced up to its current end.
  virtual FlushTicket request_flush(std::string_view topic, int32_t partition,
                                    storage::PartitionLog& log) = 0;
  // After an append: hands what `log` appended to the kernel's writeback once
  // there is enough of it (kb.log.writeback.interval.bytes).
  virtual void start_writeback(storage::PartitionLog& log) = 0;
};

// Partition directories of a topic the metadata log does not know (its
// records were lost to damage, or the directory came from elsewhere): kept as
// they are, and a topic of that name cannot be created over them.
struct OrphanedTopic {
  std::optional<Uuid> topic_id;  // from partition.metadata; none when unreadable
  bool mixed_ids = false;        // its directories name different topic ids
  std::vector<int32_t> partitions;
};

class MetadataSnapshotter;
class BrokerReconfigurable;

// What handlers read and change: the broker's identity, the topics from the
// metadata log, and a counter of appended data that wakes waiting fetches.
struct BrokerState {
  int32_t node_id = 1;
  std::string cluster_id;
  // The log directory's directory.id (meta.properties); zero until loaded.
  wire::Uuid directory_id;
  std::vector<AdvertisedEndpoint> endpoints;
  LogConfig log_config;
  TopicTable topics;
  // The partition logs; null until the log directory is loaded.
  std::unique_ptr<PartitionLogs> logs;
  // auto.create.topics.enable and num.partitions: Metadata creates topics it
  // is asked about when both the broker and the request allow it.
  bool auto_create_topics = true;
  int32_t default_partitions = 1;
  // __cluster_metadata-0, where topic changes are appended; null until the
  // first change when the directory has no metadata log yet.
  std::unique_ptr<storage::PartitionLog> metadata_log;
  // The epoch metadata batches are appended at: kMetadataLeaderEpoch, or the
  // newest epoch the log holds when that is later (set by the load).
  int32_t metadata_epoch = 1;
  // The flusher's ticket for the newest metadata change (append_metadata):
  // until it is done the change is applied but not yet on disk, and answers
  // that depend on the metadata wait for it (handlers' wait_for_metadata).
  std::optional<FlushTicket> metadata_sync;
  // Why appends to the metadata log are refused (it holds a batch this
  // broker cannot read, so later ones would be lost at the next start);
  // empty when they are not.
  std::string metadata_log_refusal;
  // Writes snapshots of the metadata image now and then; null: none (tests).
  MetadataSnapshotter* metadata_snapshotter = nullptr;
  // Metadata records of types this broker does not act on (broker
  // registrations, ACLs, quotas, ...), as found in the log (framed values),
  // so its snapshots carry them for Apache Kafka.
  std::vector<std::vector<uint8_t>> foreign_metadata_records;
  // By topic name: directories found at start-up that the metadata log does
  // not account for.
  std::map<std::string, OrphanedTopic, std::less<>> orphaned_topics;
  // Finalized feature levels (metadata.version, ...).
  std::map<std::string, int16_t, std::less<>> features;
  // server.properties as written (key -> value), for DescribeConfigs.
  std::map<std::string, std::string, std::less<>> static_configs;
  // Dynamic configs by (resource type, resource name): 2 = topic, 4 = broker.
  std::map<std::pair<int8_t, std::string>, std::map<std::string, std::string, std::less<>>> configs;
  // Told of changes of the broker's dynamic configs, and asked before them
  // (broker_reconfigurable.hpp); each removes itself before it goes.
  std::vector<BrokerReconfigurable*> reconfigurables;
  // SCRAM users (UserScramCredentialRecord / RemoveUserScramCredentialRecord).
  security::ScramCredentialStore scram_credentials;
  // Client quotas (ClientQuotaRecord).
  ClientQuotaStore client_quotas;
  // authorizer.class.name, super.users, allow.everyone.if.no.acl.found and
  // the ACLs (AccessControlEntryRecord / RemoveAccessControlEntryRecord).
  security::Authorizer authorizer;
  // The first producer id not yet handed out (from ProducerIdsRecord).
  int64_t next_producer_id = 0;
  // The block InitProducerId hands ids out of, and each partition's
  // idempotent producers (sequence numbers).
  ProducerIdBlock producer_id_block;
  ProducerStates producer_states;
  // Bumped on every append (and topic deletion); requests waiting for data
  // re-check when it moves.
  uint64_t data_generation = 0;
  // Null: handlers flush synchronously (unit tests).
  LogFlushScheduler* flusher = nullptr;
};

}  // namespace kb::cluster
