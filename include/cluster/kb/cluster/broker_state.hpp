#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "kb/base/byte_buffer.hpp"
#include "kb/cluster/partition_logs.hpp"
#include "kb/cluster/producers.hpp"
#include "kb/cluster/topic_table.hpp"

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
};

// What handlers read and change: the broker's identity, the topics from the
// metadata log, and a counter of appended data that wakes waiting fetches.
struct BrokerState {
  int32_t node_id = 1;
  std::string cluster_id;
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
  // Finalized feature levels (metadata.version, ...).
  std::map<std::string, int16_t, std::less<>> features;
  // server.properties as written (key -> value), for DescribeConfigs.
  std::map<std::string, std::string, std::less<>> static_configs;
  // Dynamic configs by (resource type, resource name): 2 = topic, 4 = broker.
  std::map<std::pair<int8_t, std::string>, std::map<std::string, std::string, std::less<>>> configs;
  // The first producer id not yet handed out (from ProducerIdsRecord).
  int64_t next_producer_id = 0;
  // The block InitProducerId hands ids out of, and each partition's
  // idempotent producers (sequence numbers).
  ProducerIdBlock producer_id_block;
  ProducerStates producer_states;
  // Fetch responses' records are copied here (reused, so no request touches
  // fresh memory); valid until the next Fetch is handled.
  ByteBuffer fetch_buffer;
  // Bumped on every append (and topic deletion); requests waiting for data
  // re-check when it moves.
  uint64_t data_generation = 0;
};

}  // namespace kb::cluster
