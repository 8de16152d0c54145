#include "kb/handlers/create_topics.hpp"

#include "kb/cluster/config_catalog.hpp"
#include "kb/handlers/admin_common.hpp"

namespace kb::handlers {

using protocol::CreateTopicsRequest;
using protocol::CreateTopicsResponse;
using protocol::ErrorCode;
using protocol::to_wire;
using Result = CreateTopicsResponse::CreatableTopicResult;

namespace {

Result topic_error(std::string name, ErrorCode error, std::string message) {
  Result r;
  r.name = std::move(name);
  r.error_code = to_wire(error);
  r.error_message = std::move(message);
  r.configs.emplace();  // Kafka answers an empty list, not null
  return r;
}

// v5+ answers say what the topic got: its configs as DescribeConfigs would
// show them (without synonyms).
std::vector<CreateTopicsResponse::CreatableTopicConfigs> describe_configs(
    const cluster::BrokerState& state, const cluster::NewTopic& topic) {
  std::vector<CreateTopicsResponse::CreatableTopicConfigs> out;
  for (const auto& c : cluster::describe_topic_configs(state, topic.configs)) {
    auto& o = out.emplace_back();
    o.name = std::string(c.def->name);
    o.value = c.value;
    o.read_only = c.read_only;
    o.config_source = static_cast<int8_t>(c.source);
    o.is_sensitive = false;
  }
  return out;
}

// The request's entry as the cluster layer takes it, or the refusal of a
// null config value (Kafka refuses it rather than guess).
std::optional<Result> to_new_topic(const CreateTopicsRequest::CreatableTopic& t,
                                   cluster::NewTopic& topic) {
  topic.name = std::string(t.name);
  topic.partitions = t.num_partitions;
  topic.replication_factor = t.replication_factor;
  for (const auto& a : t.assignments)
    topic.assignments.push_back({a.partition_index, a.broker_ids});
  for (const auto& c : t.configs) {
    if (!c.value)
      return topic_error(topic.name, ErrorCode::kInvalidConfig,
                         "Null value not supported for topic configs: " + std::string(c.name));
    topic.configs[std::string(c.name)] = std::string(*c.value);
  }
  return std::nullopt;
}

}  // namespace

std::optional<CreateTopicsResponse> handle_create_topics(RequestContext& ctx,
                                                         const CreateTopicsRequest& request,
                                                         int16_t version) {
  CreateTopicsResponse response;
  const auto duplicated = duplicated_names(request.topics, [](const auto& t) { return t.name; });
  for (const auto& name : duplicated)
    response.topics.push_back(
        topic_error(name, ErrorCode::kInvalidRequest, std::string(kDuplicateTopicName)));
  // All topics are created together (their records in one batch, one sync);
  // each is checked on its own (a refusal does not stop the others), in
  // request order, so a later name collides with an earlier one.
  std::vector<cluster::NewTopic> topics;
  std::vector<size_t> slots;  // each topic's place in the response
  // CREATE on the cluster, or else on each topic.
  const bool may_create_any = ctx.authorized_cluster(security::AclOperation::kCreate);
  for (const auto& t : request.topics) {
    if (duplicated.contains(t.name)) continue;
    if (!may_create_any &&
        !ctx.authorized(security::AclOperation::kCreate, security::ResourceType::kTopic, t.name)) {
      response.topics.push_back(topic_error(
          std::string(t.name), ErrorCode::kTopicAuthorizationFailed, "Authorization failed."));
      continue;
    }
    cluster::NewTopic topic;
    if (auto refused = to_new_topic(t, topic)) {
      response.topics.push_back(std::move(*refused));
      continue;
    }
    slots.push_back(response.topics.size());
    response.topics.emplace_back();
    topics.push_back(std::move(topic));
  }
  cluster::BrokerState& state = ctx.state;
  const auto created = cluster::create_topics(state, topics, request.validate_only, true);
  for (size_t i = 0; i < topics.size(); ++i) {
    const cluster::CreateTopicResult& c = created[i];
    Result& r = response.topics[slots[i]];
    if (c.error != cluster::AdminError::kNone) {
      r = topic_error(topics[i].name, to_error_code(c.error), c.message);
      continue;
    }
    r.name = topics[i].name;
    if (c.topic != nullptr) r.topic_id = c.topic->id;
    r.num_partitions = c.partitions;
    r.replication_factor = c.replication_factor;
    // The configs are shown only to who may describe them.
    if (version >= 5 && !ctx.authorized(security::AclOperation::kDescribeConfigs,
                                        security::ResourceType::kTopic, topics[i].name))
      r.topic_config_error_code = to_wire(ErrorCode::kTopicAuthorizationFailed);
    else if (version >= 5)
      r.configs = describe_configs(state, topics[i]);
  }
  // One PartitionCreator batch for all of them: one ticket.
  uint64_t last_ticket = 0;
  std::vector<std::pair<size_t, uint64_t>> dir_tickets;  // topic's place, its ticket
  for (size_t i = 0; i < topics.size(); ++i) {
    const uint64_t ticket = created[i].dirs_ticket;
    if (ticket == 0) continue;
    dir_tickets.emplace_back(slots[i], ticket);
    if (ticket != last_ticket) ctx.after_partition_dirs.push_back(last_ticket = ticket);
  }
  if (!dir_tickets.empty()) {
    // When the disk refused every partition directory of the batch, the
    // topics are not answered as a success: they exist, and their partitions
    // are created again on first use.
    ctx.encode_after_partition_dirs = [response, dir_tickets, version](
                                          wire::Writer& out,
                                          const RequestContext::FailedTickets& failed) mutable {
      for (const auto& [index, ticket] : dir_tickets) {
        if (!failed(ticket)) continue;
        auto& topic = response.topics[index];
        topic.error_code = to_wire(ErrorCode::kKafkaStorageError);
        topic.error_message =
            "the topic was created, but none of its partition directories could be; they are "
            "created again on first use";
      }
      wire::encode(out, response, version, version >= CreateTopicsResponse::kFirstFlexible);
    };
  }
  wait_for_metadata(ctx);
  return response;
}

ApiEntry create_topics_entry() {
  return make_entry<CreateTopicsRequest, CreateTopicsResponse, &handle_create_topics>(
      "CreateTopics", CreateTopicsRequest::kVersions);
}

}  // namespace kb::handlers
