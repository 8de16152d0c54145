#pragma once

#include <cstdint>
#include <string>
#include <vector>

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
  // Bumped on every append; requests waiting for data re-check when it moves.
  uint64_t data_generation = 0;
};

}  // namespace kb::cluster
