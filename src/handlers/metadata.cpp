#include "kb/handlers/metadata.hpp"

#include <algorithm>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "kb/cluster/topic_admin.hpp"
#include "kb/handlers/announced_broker.hpp"
#include "kb/protocol/error_code.hpp"

namespace kb::handlers {

using protocol::ErrorCode;
using protocol::MetadataRequest;
using protocol::MetadataResponse;
using protocol::to_wire;

namespace {

using security::AclOperation;
using security::ResourceType;

MetadataResponse::MetadataResponseTopic describe(const RequestContext& ctx,
                                                 const cluster::TopicInfo& topic,
                                                 bool with_operations) {
  MetadataResponse::MetadataResponseTopic out;
  out.name = topic.name;
  out.topic_id = topic.id;
  out.is_internal = topic.is_internal();
  if (with_operations)
    out.topic_authorized_operations = ctx.authorized_operations(ResourceType::kTopic, topic.name);
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

// A Metadata request naming many new topics is handled in steps, one per
// loop turn (DispatchResult::kYield): each creates some of them (their
// records in one batch), then the answer is built a part per step.
struct MetadataProgress final : RequestProgress {
  size_t examined = 0;  // request topics looked at for creation
  // Names whose creation was refused (a collision with another topic's).
  std::unordered_set<std::string> refused_names;
  // Each named topic once found or created, remembered for the answer (valid
  // while no topic was removed since, which `removals` tells).
  std::vector<const cluster::TopicInfo*> found;
  uint64_t removals = 0;
  bool created = false;
  MetadataResponse response;
};

// Topics created together: their records in one batch, one sync asked for.
constexpr size_t kTopicsPerBatch = 8;

}  // namespace

std::optional<MetadataResponse> handle_metadata(RequestContext& ctx, const MetadataRequest& request,
                                                int16_t version) {
  cluster::BrokerState& state = ctx.state;
  // v0: an empty list means every topic. v1+: null means every topic, empty
  // means none.
  const bool all_topics = !request.topics || (version == 0 && request.topics->empty());
  std::unique_ptr<MetadataProgress> progress = take_progress<MetadataProgress>(ctx);
  if (!progress) {
    progress = std::make_unique<MetadataProgress>();
    MetadataResponse& response = progress->response;
    if (auto announced = announced_broker(ctx)) {
      auto& b = response.brokers.emplace_back();
      b.node_id = state.node_id;
      b.host = std::move(announced->host);
      b.port = announced->port;
    }
    response.cluster_id = state.cluster_id;
    response.controller_id = state.node_id;
    // v13's top-level error code (KIP-1102, for REBOOTSTRAP_REQUIRED) stays
    // NONE: Kafka 4.4's broker never sets it.
    if (version >= 8 && version <= 10 && request.include_cluster_authorized_operations)
      response.cluster_authorized_operations =
          ctx.authorized_cluster(AclOperation::kDescribe)
              ? ctx.authorized_operations(ResourceType::kCluster, security::kClusterResourceName)
              : 0;
  }
  MetadataResponse& response = progress->response;
  const bool with_operations = version >= 8 && request.include_topic_authorized_operations;

  // Topics the principal may not describe are left out of "all topics", and
  // named ones answer TOPIC_AUTHORIZATION_FAILED whether they exist or not.
  auto may_describe = [&](std::string_view name) {
    return ctx.authorized(AclOperation::kDescribe, ResourceType::kTopic, name);
  };
  if (all_topics) {
    for (const auto& [name, topic] : state.topics.topics())
      if (may_describe(name)) response.topics.push_back(describe(ctx, topic, with_operations));
    wait_for_metadata(ctx);
    return std::move(response);
  }
  const auto& topics = *request.topics;

  // Versions before 4 have no allow flag and always allowed creation.
  const bool may_create =
      state.auto_create_topics && (version < 4 || request.allow_auto_topic_creation);
  // Creation needs CREATE on the cluster or on the topic.
  auto may_create_topic = [&](std::string_view name) {
    return ctx.authorized_cluster(AclOperation::kCreate) ||
           ctx.authorized(AclOperation::kCreate, ResourceType::kTopic, name);
  };
  size_t work = 0;  // items this step
  if (progress->found.size() != topics.size()) {
    progress->found.assign(topics.size(), nullptr);
    progress->removals = state.topics.removals();
  }
  if (progress->removals != state.topics.removals()) {
    // A topic was removed between steps: what was found may be gone.
    std::fill(progress->found.begin(), progress->found.end(), nullptr);
    progress->removals = state.topics.removals();
  }
  auto lookup = [&](size_t i) {
    if (progress->found[i] == nullptr) progress->found[i] = state.topics.find(*topics[i].name);
    return progress->found[i];
  };
  // The topics to create, each once, some per step: their records in as few
  // batches as Kafka's bounds allow, one sync, one batch of directories.
  while (may_create && !progress->created) {
    std::vector<cluster::NewTopic> new_topics;
    std::vector<size_t> named_at;  // for each of new_topics, its index in the request
    std::unordered_map<std::string_view, size_t> new_index;  // name -> index in new_topics
    size_t& i = progress->examined;
    for (; i < topics.size() && new_topics.size() < kTopicsPerBatch; ++i, ++work) {
      const auto& t = topics[i];
      if (!t.name || lookup(i) != nullptr) continue;
      if (!may_describe(*t.name) || !may_create_topic(*t.name)) continue;
      if (!cluster::topic_name_problem(*t.name).empty()) continue;
      if (!new_index.emplace(*t.name, new_topics.size()).second) continue;
      cluster::NewTopic& topic = new_topics.emplace_back();
      topic.name = std::string(*t.name);
      topic.partitions = state.default_partitions;
      named_at.push_back(i);
    }
    // Answered once the records are synced, not waiting for the
    // directories: a partition reads as empty until its directory exists,
    // and a write creates it on the spot.
    const auto created = cluster::create_topics(state, new_topics, false, false);
    for (size_t k = 0; k < created.size(); ++k) {
      if (created[k].error == cluster::AdminError::kInvalidName)
        progress->refused_names.insert(new_topics[k].name);
      if (created[k].error == cluster::AdminError::kNone && created[k].topic != nullptr)
        progress->found[named_at[k]] = created[k].topic;
    }
    work += new_topics.size() * 8;  // creating a topic weighs more than looking at one
    progress->created = i == topics.size();
    if (!progress->created && ctx.step_done(work)) {
      ctx.progress = std::move(progress);
      return std::nullopt;
    }
  }

  for (size_t i = response.topics.size(); i < topics.size(); ++i, ++work) {
    if (ctx.step_done(work)) {
      ctx.progress = std::move(progress);
      return std::nullopt;
    }
    const auto& t = topics[i];
    if (!t.name) {
      const cluster::TopicInfo* topic = state.topics.find(t.topic_id);
      if (topic != nullptr && !may_describe(topic->name))
        // Ids are not secret: the id is answered, the name is not.
        response.topics.push_back(
            topic_error(std::nullopt, t.topic_id, ErrorCode::kTopicAuthorizationFailed));
      else
        response.topics.push_back(
            topic ? describe(ctx, *topic, with_operations)
                  : topic_error(std::nullopt, t.topic_id, ErrorCode::kUnknownTopicId));
      continue;
    }
    const std::string_view name = *t.name;
    if (!may_describe(name)) {
      response.topics.push_back(
          topic_error(std::string(name), {}, ErrorCode::kTopicAuthorizationFailed));
      continue;
    }
    if (progress->refused_names.contains(std::string(name))) {
      response.topics.push_back(
          topic_error(std::string(name), {}, ErrorCode::kInvalidTopicException));
      continue;
    }
    const cluster::TopicInfo* topic = lookup(i);
    if (topic == nullptr && may_create && !may_create_topic(name)) {
      response.topics.push_back(
          topic_error(std::string(name), {}, ErrorCode::kTopicAuthorizationFailed));
      continue;
    }
    if (topic == nullptr && !cluster::topic_name_problem(name).empty()) {
      response.topics.push_back(
          topic_error(std::string(name), {}, ErrorCode::kInvalidTopicException));
      continue;
    }
    response.topics.push_back(
        topic ? describe(ctx, *topic, with_operations)
              : topic_error(std::string(name), {}, ErrorCode::kUnknownTopicOrPartition));
  }
  wait_for_metadata(ctx);
  return std::move(response);
}

ApiEntry metadata_entry() {
  return make_entry<MetadataRequest, MetadataResponse, &handle_metadata>(
      "Metadata", MetadataRequest::kVersions);
}

}  // namespace kb::handlers
