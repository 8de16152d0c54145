#pragma once

// The broker binary's offline subcommands, run with the broker stopped:
//   kafka-broker check: check_command.hpp.
//   kafka-broker recover-topics <server.properties>
//       brings back topics whose partition directories outlived their
//       metadata records: a TopicRecord with the id their partition.metadata
//       names and a PartitionRecord per partition are appended to the
//       metadata log; exit status 0 when every such topic was brought back.

#include <cstdio>
#include <filesystem>

#include "kb/broker/config.hpp"

namespace kb::broker {

int run_recover_topics(const BrokerConfig& config, std::FILE* out);

// Kafka's lock of a log directory (an flock on <log dir>/.lock), so two
// processes never use it at once. Returns the descriptor to keep open, or -1
// (errno set) when another process holds it or it cannot be made.
int lock_log_dir(const std::filesystem::path& log_dir);

}  // namespace kb::broker
