#include "kb/handlers/metadata.hpp"

#include <string_view>
#include <unordered_map>

#include "kb/cluster/topic_admin.hpp"
#include "kb/handlers/announced_broker.hpp"
#include "kb/handlers/authorized_operations.hpp"
#include "kb/protocol/error_code.hpp"

namespace kb::handlers {

using protocol::ErrorCode;
using protocol::MetadataRequest;
using protocol::MetadataResponse;
using protocol::to_wire;

namespace {

MetadataResponse::MetadataResponseTopic describe(const cluster::TopicInfo& topic,
                                                 bool with_operations) {
  MetadataResponse::MetadataResponseTopic out;
  out.name = topic.name;
  out.topic_id = topic.id;
  out.is_internal = topic.is_internal();
  if (with_operations) out.topic_authorized_operations = kAllTopicOperations;
  for (const auto& p : topic.partitions) {
    auto& part = out.partitions.emplace_back();
    part.partition_index = p.partition_index;
    part.leader_id = p.leader;
    part.leader_epoch = p.leader_epoch;
    part.replica_nodes = p.replicas;
    part.isr_nodes = p.isr;
    part.offline_replicas = p.offline_replicas;
    if (p.leader < 0) part.error_code = to_wire(ErrorCode::kLeaderNotAvailable);
  }
  return out;
}

MetadataResponse::MetadataResponseTopic topic_error(std::optional<std::string> name,
                                                    const wire::Uuid& id, ErrorCode error) {
  MetadataResponse::MetadataResponseTopic out;
  out.name = std::move(name);
  out.topic_id = id;
  out.error_code = to_wire(error);
  return out;
}

}  // namespace

std::optional<MetadataResponse> handle_metadata(RequestContext& ctx, const MetadataRequest& request,
                                                int16_t version) {
  cluster::BrokerState& state = ctx.state;
  MetadataResponse response;
  if (auto announced = announced_broker(ctx)) {
    auto& b = response.brokers.emplace_back();
    b.node_id = state.node_id;
    b.host = std::move(announced->host);
    b.port = announced->port;
  }
  response.cluster_id = state.cluster_id;
  response.controller_id = state.node_id;
  if (version >= 8 && version <= 10 && request.include_cluster_authorized_operations)
    response.cluster_authorized_operations = kAllClusterOperations;
  const bool with_operations = version >= 8 && request.include_topic_authorized_operations;

  // v0: an empty list means every topic. v1+: null means every topic, empty
  // means none.
  const bool all_topics = !request.topics || (version == 0 && request.topics->empty());
  if (all_topics) {
    for (const auto& [name, topic] : state.topics.topics())
      response.topics.push_back(describe(topic, with_operations));
    wait_for_metadata(ctx);
    return response;
  }

  // Versions before 4 have no allow flag and always allowed creation.
  const bool may_create =
      state.auto_create_topics && (version < 4 || request.allow_auto_topic_creation);
  // The topics to create, each once, all together: their records in as few
  // batches as Kafka's bounds allow, one sync, one batch of directories.
  std::vector<cluster::NewTopic> new_topics;
  std::unordered_map<std::string_view, size_t> new_index;  // name -> index in new_topics
  if (may_create) {
    for (const auto& t : *request.topics) {
      if (!t.name || state.topics.find(*t.name) != nullptr) continue;
      if (!cluster::topic_name_problem(*t.name).empty()) continue;
      if (!new_index.emplace(*t.name, new_topics.size()).second) continue;
      cluster::NewTopic& topic = new_topics.emplace_back();
      topic.name = std::string(*t.name);
      topic.partitions = state.default_partitions;
    }
  }
  // Answered once the records are synced, not waiting for the directories:
  // a partition reads as empty until its directory exists, and a write
  // creates it on the spot.
  const auto created = cluster::create_topics(state, new_topics, false, false);

  for (const auto& t : *request.topics) {
    if (!t.name) {
      const cluster::TopicInfo* topic = state.topics.find(t.topic_id);
      response.topics.push_back(
          topic ? describe(*topic, with_operations)
                : topic_error(std::nullopt, t.topic_id, ErrorCode::kUnknownTopicId));
      continue;
    }
    const std::string_view name = *t.name;
    if (auto it = new_index.find(name); it != new_index.end()) {
      const cluster::CreateTopicResult& c = created[it->second];
      if (c.error == cluster::AdminError::kInvalidName) {
        response.topics.push_back(
            topic_error(std::string(name), {}, ErrorCode::kInvalidTopicException));
        continue;
      }
    }
    const cluster::TopicInfo* topic = state.topics.find(name);
    if (topic == nullptr && !cluster::topic_name_problem(name).empty()) {
      response.topics.push_back(
          topic_error(std::string(name), {}, ErrorCode::kInvalidTopicException));
      continue;
    }
    response.topics.push_back(
        topic ? describe(*topic, with_operations)
              : topic_error(std::string(name), {}, ErrorCode::kUnknownTopicOrPartition));
  }
  wait_for_metadata(ctx);
  return response;
}

ApiEntry metadata_entry() {
  return make_entry<MetadataRequest, MetadataResponse, &handle_metadata>(
      "Metadata", MetadataRequest::kVersions);
}

}  // namespace kb::handlers
