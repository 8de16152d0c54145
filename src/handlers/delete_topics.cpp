#include "kb/handlers/delete_topics.hpp"

#include <algorithm>
#include <unordered_set>

#include "kb/handlers/admin_common.hpp"

namespace kb::handlers {

using protocol::DeleteTopicsRequest;
using protocol::DeleteTopicsResponse;
using protocol::ErrorCode;
using protocol::to_wire;
using Result = DeleteTopicsResponse::DeletableTopicResult;

namespace {

Result topic_error(std::optional<std::string> name, const wire::Uuid& id, ErrorCode error,
                   std::string message) {
  Result r;
  r.name = std::move(name);
  r.topic_id = id;
  r.error_code = to_wire(error);
  r.error_message = std::move(message);
  return r;
}

bool deletion_disabled(const cluster::BrokerState& state) {
  auto it = state.static_configs.find("delete.topic.enable");
  return it != state.static_configs.end() && it->second == "false";
}

}  // namespace

std::optional<DeleteTopicsResponse> handle_delete_topics(RequestContext& ctx,
                                                         const DeleteTopicsRequest& request,
                                                         int16_t version) {
  cluster::BrokerState& state = ctx.state;
  DeleteTopicsResponse response;

  // Up to v5 topics are named; v6 names each by name or by id, never both.
  std::vector<std::string_view> names;
  std::vector<wire::Uuid> ids;
  if (version <= 5) {
    names = request.topic_names;
  } else {
    for (const auto& t : request.topics) {
      if (!t.name && t.topic_id == wire::Uuid{})
        response.responses.push_back(topic_error(std::nullopt, {}, ErrorCode::kInvalidRequest,
                                                 "Neither topic name nor id were specified."));
      else if (t.name && t.topic_id != wire::Uuid{})
        response.responses.push_back(
            topic_error(std::string(*t.name), t.topic_id, ErrorCode::kInvalidRequest,
                        "You may not specify both topic name and topic id."));
      else if (t.name)
        names.push_back(*t.name);
      else
        ids.push_back(t.topic_id);
    }
  }

  const bool disabled = deletion_disabled(state);
  // DELETE on the cluster, or else on each topic; a topic the principal may
  // not describe is not said to exist or not.
  const bool may_delete_any = ctx.authorized_cluster(security::AclOperation::kDelete);
  auto may = [&](security::AclOperation op, std::string_view name) {
    return may_delete_any || ctx.authorized(op, security::ResourceType::kTopic, name);
  };
  constexpr const char* kDenied = "Topic authorization failed.";
  // Deletions are collected and made together (their records in one append,
  // one sync); their answers keep their places.
  std::vector<wire::Uuid> doomed;
  std::vector<size_t> doomed_slot;
  std::unordered_set<wire::Uuid, cluster::UuidHash> queued;
  auto queue_deletion = [&](const cluster::TopicInfo& topic) {
    queued.insert(topic.id);
    doomed.push_back(topic.id);
    doomed_slot.push_back(response.responses.size());
    Result& r = response.responses.emplace_back();
    r.name = topic.name;
    r.topic_id = topic.id;
  };
  const auto duplicated = duplicated_names(names, [](std::string_view n) { return n; });
  for (const auto& name : duplicated)
    response.responses.push_back(
        topic_error(name, {}, ErrorCode::kInvalidRequest, std::string(kDuplicateTopicName)));
  for (std::string_view name : names) {
    if (duplicated.contains(name)) continue;
    const cluster::TopicInfo* topic = state.topics.find(name);
    if (!may(security::AclOperation::kDescribe, name) ||
        (topic != nullptr && !may(security::AclOperation::kDelete, name)))
      response.responses.push_back(
          topic_error(std::string(name), {}, ErrorCode::kTopicAuthorizationFailed, kDenied));
    else if (topic == nullptr || queued.contains(topic->id))
      response.responses.push_back(topic_error(std::string(name), {},
                                               ErrorCode::kUnknownTopicOrPartition,
                                               "This server does not host this topic-partition."));
    else if (disabled)
      response.responses.push_back(topic_error(std::string(name), topic->id,
                                               ErrorCode::kTopicDeletionDisabled,
                                               "Topic deletion is disabled."));
    else
      queue_deletion(*topic);
  }

  const auto duplicated_ids =
      duplicated_names(ids, [](const wire::Uuid& id) { return id.to_base64(); });
  std::unordered_set<wire::Uuid, cluster::UuidHash> answered_duplicates;
  for (const wire::Uuid& id : ids) {
    const std::string key = id.to_base64();
    if (duplicated_ids.contains(key)) {
      // Answered once per id, like a duplicated name.
      if (answered_duplicates.insert(id).second)
        response.responses.push_back(
            topic_error(std::nullopt, id, ErrorCode::kInvalidRequest, "Duplicate topic id."));
      continue;
    }
    const cluster::TopicInfo* topic = state.topics.find(id);
    if (topic == nullptr || queued.contains(id))
      response.responses.push_back(topic_error(std::nullopt, id, ErrorCode::kUnknownTopicId,
                                               "This server does not host this topic ID."));
    else if (!may(security::AclOperation::kDelete, topic->name))
      response.responses.push_back(topic_error(may(security::AclOperation::kDescribe, topic->name)
                                                   ? std::optional(topic->name)
                                                   : std::nullopt,
                                               id, ErrorCode::kTopicAuthorizationFailed, kDenied));
    else if (disabled)
      response.responses.push_back(topic_error(topic->name, id, ErrorCode::kTopicDeletionDisabled,
                                               "Topic deletion is disabled."));
    else
      queue_deletion(*topic);
  }
  if (!doomed.empty()) {
    const auto results = cluster::delete_topics(state, doomed);
    for (size_t k = 0; k < results.size(); ++k) {
      if (results[k].ok()) continue;
      Result& r = response.responses[doomed_slot[k]];
      r.error_code = to_wire(to_error_code(results[k].error));
      r.error_message = results[k].message;
    }
  }
  wait_for_metadata(ctx);
  // Before v5 there is no message field; from v5 a success carries none.
  return response;
}

ApiEntry delete_topics_entry() {
  return make_entry<DeleteTopicsRequest, DeleteTopicsResponse, &handle_delete_topics>(
      "DeleteTopics", DeleteTopicsRequest::kVersions);
}

}  // namespace kb::handlers
