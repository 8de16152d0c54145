#include "kb/handlers/create_partitions.hpp"

#include "kb/handlers/admin_common.hpp"

namespace kb::handlers {

using protocol::CreatePartitionsRequest;
using protocol::CreatePartitionsResponse;
using protocol::ErrorCode;
using protocol::to_wire;
using Result = CreatePartitionsResponse::CreatePartitionsTopicResult;

namespace {

Result topic_result(std::string name, ErrorCode error, std::optional<std::string> message) {
  Result r;
  r.name = std::move(name);
  r.error_code = to_wire(error);
  r.error_message = std::move(message);
  return r;
}

}  // namespace

std::optional<CreatePartitionsResponse> handle_create_partitions(
    RequestContext& ctx, const CreatePartitionsRequest& request, int16_t /*version*/) {
  CreatePartitionsResponse response;
  const auto duplicated = duplicated_names(request.topics, [](const auto& t) { return t.name; });
  for (const auto& name : duplicated)
    response.results.push_back(
        topic_result(name, ErrorCode::kInvalidRequest, std::string(kDuplicateTopicName)));
  for (const auto& t : request.topics) {
    if (duplicated.contains(t.name)) continue;
    if (!ctx.authorized(security::AclOperation::kAlter, security::ResourceType::kTopic, t.name)) {
      response.results.push_back(
          topic_result(std::string(t.name), ErrorCode::kTopicAuthorizationFailed, std::nullopt));
      continue;
    }
    std::optional<std::vector<std::vector<int32_t>>> assignments;
    if (t.assignments) {
      assignments.emplace();
      for (const auto& a : *t.assignments) assignments->push_back(a.broker_ids);
    }
    auto added =
        cluster::create_partitions(ctx.state, t.name, t.count, assignments, request.validate_only);
    if (added.dirs_ticket != 0) ctx.after_partition_dirs.push_back(added.dirs_ticket);
    response.results.push_back(
        added.ok()
            ? topic_result(std::string(t.name), ErrorCode::kNone, std::nullopt)
            : topic_result(std::string(t.name), to_error_code(added.error),
                           added.message.empty() ? std::nullopt
                                                 : std::optional<std::string>(added.message)));
  }
  wait_for_metadata(ctx);
  return response;
}

ApiEntry create_partitions_entry() {
  return make_entry<CreatePartitionsRequest, CreatePartitionsResponse, &handle_create_partitions>(
      "CreatePartitions", CreatePartitionsRequest::kVersions);
}

}  // namespace kb::handlers
