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

Result create_one(RequestContext& ctx, const CreateTopicsRequest::CreatableTopic& t,
                  bool validate_only, int16_t version) {
  cluster::BrokerState& state = ctx.state;
  cluster::NewTopic topic;
  topic.name = std::string(t.name);
  topic.partitions = t.num_partitions;
  topic.replication_factor = t.replication_factor;
  for (const auto& a : t.assignments)
    topic.assignments.push_back({a.partition_index, a.broker_ids});
  for (const auto& c : t.configs) {
    // A null value sets nothing; Kafka refuses it rather than guess.
    if (!c.value)
      return topic_error(topic.name, ErrorCode::kInvalidConfig,
                         "Null value not supported for topic configs: " + std::string(c.name));
    topic.configs[std::string(c.name)] = std::string(*c.value);
  }

  auto created = cluster::create_topic(state, topic, validate_only);
  if (created.error != cluster::AdminError::kNone)
    return topic_error(topic.name, to_error_code(created.error), created.message);
  if (created.dirs_ticket != 0) ctx.after_partition_dirs.push_back(created.dirs_ticket);
  Result r;
  r.name = topic.name;
  if (created.topic != nullptr) r.topic_id = created.topic->id;
  r.num_partitions = created.partitions;
  r.replication_factor = created.replication_factor;
  if (version >= 5) r.configs = describe_configs(state, topic);
  return r;
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
  // Each topic is created on its own (a refusal does not stop the others),
  // and in request order, so a later name collides with an earlier one.
  std::vector<std::pair<size_t, uint64_t>> dir_tickets;  // topic's place, its ticket
  for (const auto& t : request.topics) {
    if (duplicated.contains(t.name)) continue;
    const size_t tickets_before = ctx.after_partition_dirs.size();
    response.topics.push_back(create_one(ctx, t, request.validate_only, version));
    if (ctx.after_partition_dirs.size() > tickets_before)
      dir_tickets.emplace_back(response.topics.size() - 1, ctx.after_partition_dirs.back());
  }
  if (!dir_tickets.empty()) {
    // A topic none of whose partition directories could be made (the disk
    // refused every one) is not answered as a success: the topic exists,
    // and its partitions are created again on first use.
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
  return response;
}

ApiEntry create_topics_entry() {
  return make_entry<CreateTopicsRequest, CreateTopicsResponse, &handle_create_topics>(
      "CreateTopics", CreateTopicsRequest::kVersions);
}

}  // namespace kb::handlers
