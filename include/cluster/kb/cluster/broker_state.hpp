#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "kb/cluster/partition_logs.hpp"
#include "kb/cluster/topic_table.hpp"

namespace kb::cluster {

// A listener as announced to clients (Metadata, DescribeCluster).
struct AdvertisedEndpoint {
  std::string name;
  std::string host;
  uint16_t port = 0;
};

// What handlers read and change: the broker's identity, the topics from the
// metadata log, and a counter of appended data that wakes waiting fetches.
struct BrokerState {
  int32_t node_id = 1;
  std::string cluster_id;
  std::vector<AdvertisedEndpoint> endpoints;
  TopicTable topics;
  // The partition logs; null until the log directory is loaded.
  std::unique_ptr<PartitionLogs> logs;
  // Finalized feature levels (metadata.version, ...).
  std::map<std::string, int16_t, std::less<>> features;
  // Dynamic configs by (resource type, resource name): 2 = topic, 4 = broker.
  std::map<std::pair<int8_t, std::string>, std::map<std::string, std::string, std::less<>>> configs;
  // The first producer id not yet handed out (from ProducerIdsRecord).
  int64_t next_producer_id = 0;
  // Bumped on every append; requests waiting for data re-check when it moves.
  uint64_t data_generation = 0;
};

}  // namespace kb::cluster
