#pragma once

#include <cstdint>
#include <filesystem>

#include "kb/cluster/broker_state.hpp"
#include "kb/storage/partition_log.hpp"
#include "kb/storage/result.hpp"

namespace kb::cluster {

struct LogDirOptions {
  std::filesystem::path log_dir;
  int32_t node_id = 1;
  storage::PartitionLogOptions partition_options;
};

// Loads a log directory as Kafka leaves it: meta.properties (created when the
// directory is new), then the __cluster_metadata log replayed into the topic
// table. Damage in the metadata log stops the replay with a warning and the
// broker serves what was valid; only an unusable directory is an error.
// Then, from Kafka's files in the directory: .kafka_cleanshutdown (removed
// once read) and recovery-point-offset-checkpoint decide how much of each
// partition log is recovered when it is opened.
storage::Status load_log_dir(const LogDirOptions& options, BrokerState& state);

// Clean shutdown: syncs every open log, writes the checkpoint files (recovery
// points at the log ends) and then the clean shutdown marker.
storage::Status close_log_dir(BrokerState& state);

}  // namespace kb::cluster
