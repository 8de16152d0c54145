#include "kb/handlers/alter_configs.hpp"

#include <set>
#include <utility>

#include "kb/cluster/broker_configs.hpp"
#include "kb/cluster/config_catalog.hpp"
#include "kb/cluster/group_configs.hpp"
#include "kb/cluster/topic_configs.hpp"
#include "kb/handlers/admin_common.hpp"
#include "kb/handlers/authorized_operations.hpp"
#include "kb/handlers/broker_logger.hpp"

namespace kb::handlers {

using protocol::AlterConfigsRequest;
using protocol::AlterConfigsResponse;
using protocol::ErrorCode;
using protocol::IncrementalAlterConfigsRequest;
using protocol::IncrementalAlterConfigsResponse;
using protocol::to_wire;

namespace {

// Kafka's ConfigResource.Type id for client metrics subscriptions.
constexpr int8_t kClientMetricsResource = 16;

// Both APIs answer each resource with the same fields, in a struct of their own.
template <class Response>
typename Response::AlterConfigsResourceResponse resource_response(
    int8_t type, std::string_view name, const cluster::AdminResult& result) {
  typename Response::AlterConfigsResourceResponse r;
  r.resource_type = type;
  r.resource_name = std::string(name);
  r.error_code = to_wire(to_error_code(result.error));
  if (!result.ok()) r.error_message = result.message;
  return r;
}

// What a resource of a type not kept here gets.
cluster::AdminResult other_resource_result(int8_t type) {
  using cluster::AdminError;
  if (type == kClientMetricsResource)
    return {AdminError::kInvalidRequest,
            "Resource type " + std::to_string(type) + " is not supported by this broker"};
  return {AdminError::kInvalidRequest, "Unknown resource type " + std::to_string(type)};
}

// Kafka answers every copy of a resource named twice with INVALID_REQUEST and
// changes none of them.
template <class Resources>
std::set<std::pair<int8_t, std::string>> duplicated_resources(const Resources& resources) {
  std::set<std::pair<int8_t, std::string>> seen, duplicated;
  for (const auto& r : resources) {
    std::pair<int8_t, std::string> key{r.resource_type, std::string(r.resource_name)};
    if (!seen.insert(key).second) duplicated.insert(std::move(key));
  }
  return duplicated;
}

// Runs `alter_topic` on each topic resource, `alter_broker` on each broker
// resource and so on, answering the others; the response lists resources in
// request order.
template <class Response, class Request, class AlterTopic, class AlterBroker, class AlterLogger,
          class AlterGroup>
Response alter_each(const RequestContext& ctx, const Request& request, AlterTopic alter_topic,
                    AlterBroker alter_broker, AlterLogger alter_logger, AlterGroup alter_group) {
  Response response;
  const auto duplicated = duplicated_resources(request.resources);
  for (const auto& r : request.resources) {
    if (const ConfigDenial denied = config_denial(ctx, security::AclOperation::kAlterConfigs,
                                                  r.resource_type, r.resource_name);
        denied.error != ErrorCode::kNone) {
      auto& refused = response.responses.emplace_back(
          resource_response<Response>(r.resource_type, r.resource_name, {}));
      refused.error_code = to_wire(denied.error);
      refused.error_message = std::string(denied.message);
      continue;
    }
    cluster::AdminResult result;
    if (duplicated.contains({r.resource_type, std::string(r.resource_name)}))
      result = {cluster::AdminError::kInvalidRequest, "Duplicate resource."};
    else if (r.resource_type == cluster::kTopicResource)
      result = alter_topic(r);
    else if (r.resource_type == cluster::kBrokerResource)
      result = alter_broker(r);
    else if (r.resource_type == kBrokerLoggerResource)
      result = alter_logger(r);
    else if (r.resource_type == cluster::kGroupResource)
      result = alter_group(r);
    else
      result = other_resource_result(r.resource_type);
    response.responses.push_back(
        resource_response<Response>(r.resource_type, r.resource_name, result));
  }
  return response;
}

// A topic's or group's values as AlterConfigs names them: a null value leaves
// the config at its default, as if not named (Kafka's controller takes it so);
// a name given twice is refused.
cluster::AdminResult named_values(const AlterConfigsRequest::AlterConfigsResource& r,
                                  std::map<std::string, std::string, std::less<>>& configs) {
  for (const auto& c : r.configs) {
    if (!c.value) continue;
    if (!configs.emplace(std::string(c.name), std::string(*c.value)).second)
      return {cluster::AdminError::kInvalidRequest, "Error due to duplicate config keys"};
  }
  return {};
}

}  // namespace

std::optional<AlterConfigsResponse> handle_alter_configs(RequestContext& ctx,
                                                         const AlterConfigsRequest& request,
                                                         int16_t /*version*/) {
  auto response = alter_each<AlterConfigsResponse>(
      ctx, request,
      [&](const AlterConfigsRequest::AlterConfigsResource& r) -> cluster::AdminResult {
        std::map<std::string, std::string, std::less<>> configs;
        if (auto bad = named_values(r, configs); !bad.ok()) return bad;
        return cluster::replace_topic_configs(ctx.state, r.resource_name, configs,
                                              request.validate_only);
      },
      [&](const AlterConfigsRequest::AlterConfigsResource& r) -> cluster::AdminResult {
        // Kafka's broker refuses null values and duplicates before anything.
        std::map<std::string, std::string, std::less<>> configs;
        std::string null_names;
        for (const auto& c : r.configs) {
          if (!c.value) {
            null_names += (null_names.empty() ? "" : ", ") + std::string(c.name);
            continue;
          }
          if (!configs.emplace(std::string(c.name), std::string(*c.value)).second)
            return {cluster::AdminError::kInvalidRequest, "Error due to duplicate config keys"};
        }
        if (!null_names.empty())
          return {cluster::AdminError::kInvalidRequest,
                  "Null value not supported for : " + null_names};
        return cluster::replace_broker_configs(ctx.state, r.resource_name, configs,
                                               request.validate_only);
      },
      [](const AlterConfigsRequest::AlterConfigsResource& r) -> cluster::AdminResult {
        // Log levels change through IncrementalAlterConfigs only; Kafka's
        // AlterConfigs knows no such resource.
        return {cluster::AdminError::kInvalidRequest,
                "Unknown resource type " + std::to_string(r.resource_type)};
      },
      [&](const AlterConfigsRequest::AlterConfigsResource& r) -> cluster::AdminResult {
        std::map<std::string, std::string, std::less<>> configs;
        if (auto bad = named_values(r, configs); !bad.ok()) return bad;
        return cluster::replace_group_configs(ctx.state, r.resource_name, configs,
                                              request.validate_only);
      });
  wait_for_metadata(ctx);  // after the changes: the ticket then covers them
  return response;
}

std::optional<IncrementalAlterConfigsResponse> handle_incremental_alter_configs(
    RequestContext& ctx, const IncrementalAlterConfigsRequest& request, int16_t /*version*/) {
  auto changes_of = [](const IncrementalAlterConfigsRequest::AlterConfigsResource& r) {
    std::vector<cluster::ConfigChange> changes;
    for (const auto& c : r.configs) {
      cluster::ConfigChange change;
      change.name = std::string(c.name);
      change.op = static_cast<cluster::ConfigOp>(c.config_operation);
      if (c.value) change.value = std::string(*c.value);
      changes.push_back(std::move(change));
    }
    return changes;
  };
  auto response = alter_each<IncrementalAlterConfigsResponse>(
      ctx, request,
      [&](const IncrementalAlterConfigsRequest::AlterConfigsResource& r) {
        return cluster::alter_topic_configs(ctx.state, r.resource_name, changes_of(r),
                                            request.validate_only);
      },
      [&](const IncrementalAlterConfigsRequest::AlterConfigsResource& r) {
        return cluster::alter_broker_configs(ctx.state, r.resource_name, changes_of(r),
                                             request.validate_only);
      },
      [&](const IncrementalAlterConfigsRequest::AlterConfigsResource& r) -> cluster::AdminResult {
        std::vector<LoggerChange> changes;
        std::set<std::string_view> names;
        std::string null_names;
        for (const auto& c : r.configs) {
          if (!names.insert(c.name).second)
            return {cluster::AdminError::kInvalidRequest, "Error due to duplicate config keys"};
          if (!c.value && c.config_operation != 1)
            null_names += (null_names.empty() ? "" : ", ") + std::string(c.name);
          changes.push_back(
              {std::string(c.name), c.config_operation,
               c.value ? std::optional<std::string>(std::string(*c.value)) : std::nullopt});
        }
        if (!null_names.empty())
          return {cluster::AdminError::kInvalidRequest,
                  "Null value not supported for : " + null_names};
        return alter_broker_loggers(ctx.state.node_id, r.resource_name, changes,
                                    request.validate_only);
      },
      [&](const IncrementalAlterConfigsRequest::AlterConfigsResource& r) {
        return cluster::alter_group_configs(ctx.state, r.resource_name, changes_of(r),
                                            request.validate_only);
      });
  wait_for_metadata(ctx);
  return response;
}

ApiEntry alter_configs_entry() {
  return make_entry<AlterConfigsRequest, AlterConfigsResponse, &handle_alter_configs>(
      "AlterConfigs", AlterConfigsRequest::kVersions);
}

ApiEntry incremental_alter_configs_entry() {
  return make_entry<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse,
                    &handle_incremental_alter_configs>("IncrementalAlterConfigs",
                                                       IncrementalAlterConfigsRequest::kVersions);
}

}  // namespace kb::handlers
