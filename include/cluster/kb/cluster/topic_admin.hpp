#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kb/cluster/broker_state.hpp"
#include "kb/storage/metadata_records.hpp"
#include "kb/storage/result.hpp"

namespace kb::cluster {

// Appends records as one batch to __cluster_metadata-0 (synced), creating the
// log (with a metadata.version record first) when the directory has none, then
// applies them to the state.
storage::Status append_metadata(BrokerState& state,
                                const std::vector<storage::MetadataRecord>& records);

// Why a topic name is refused, empty when it is valid. Kafka's rules: 1 to 249
// characters of [a-zA-Z0-9._-], not "." or "..". The name never reaches the
// file system before this check passes.
std::string topic_name_problem(std::string_view name);

// A name that collides with an existing topic once '.' and '_' are treated as
// equal (Kafka refuses such pairs: their metric names would clash), or empty.
std::string colliding_topic(const TopicTable& topics, std::string_view name);

enum class CreateTopicError { kNone, kInvalidName, kAlreadyExists, kInvalidPartitions, kStorage };

struct CreateTopicResult {
  CreateTopicError error = CreateTopicError::kNone;
  std::string message;
  const TopicInfo* topic = nullptr;
};

// Creates a topic the way a KRaft controller does: a TopicRecord and one
// PartitionRecord per partition appended to __cluster_metadata (one batch, so
// a crash leaves all or nothing), then applied to the topic table. This broker
// leads every partition; replicas and ISR are this node.
CreateTopicResult create_topic(BrokerState& state, std::string_view name, int32_t partitions);

}  // namespace kb::cluster
