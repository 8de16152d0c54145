#pragma once

// `kafka-broker format`: what Kafka's `kafka-storage.sh format` does for this
// broker's log directory, so that it (or Apache Kafka) starts on it with a
// chosen cluster id and feature levels:
//   kafka-broker format -t <cluster id> [-c] [server.properties]
//       [--override key=value ...] [--feature name=level ...]
//       [--release-version 4.0-IV3] [--ignore-formatted]
// Each log directory gets meta.properties (version 1, cluster.id, node.id, a
// new directory.id); the metadata log's gets the bootstrap snapshot
// __cluster_metadata-0/00000000000000000000-0000000000.checkpoint holding a
// FeatureLevelRecord per feature, as Kafka 4's format writes it.

#include <cstdio>
#include <string>
#include <vector>

namespace kb::broker {

// Exit status: 0 formatted (or, with --ignore-formatted, nothing to do), 1 a
// directory already formatted or not writable, 2 bad arguments.
int run_format(const std::vector<std::string>& args, std::FILE* out, std::FILE* err);

}  // namespace kb::broker
