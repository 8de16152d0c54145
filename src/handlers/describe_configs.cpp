#include "kb/handlers/describe_configs.hpp"

#include <charconv>
#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "kb/cluster/config_catalog.hpp"
#include "kb/cluster/group_configs.hpp"
#include "kb/cluster/topic_admin.hpp"
#include "kb/handlers/admin_common.hpp"
#include "kb/handlers/authorized_operations.hpp"
#include "kb/handlers/broker_logger.hpp"
#include "kb/protocol/error_code.hpp"

namespace kb::handlers {

using cluster::ConfigSource;
using protocol::DescribeConfigsRequest;
using protocol::DescribeConfigsResponse;
using protocol::ErrorCode;
using protocol::to_wire;
using Result = DescribeConfigsResponse::DescribeConfigsResult;
using Entry = DescribeConfigsResponse::DescribeConfigsResourceResult;

namespace {

// Kafka's ConfigSource.DYNAMIC_BROKER_LOGGER_CONFIG.
constexpr int8_t kDynamicBrokerLoggerSource = 6;

struct Options {
  bool synonyms = false;
  bool documentation = false;
  std::optional<std::unordered_set<std::string_view>> keys;  // none: every key
};

bool wanted(const Options& options, std::string_view name) {
  return !options.keys || options.keys->contains(name);
}

Entry to_entry(const cluster::EffectiveConfig& c, const Options& options) {
  Entry e;
  e.name = std::string(c.def->name);
  // Passwords (sasl.jaas.config, ssl.*.password, their listener overrides)
  // are never shown, as Kafka hides them: sensitive, with null values,
  // synonyms too.
  const bool secret = c.def->type == cluster::ConfigType::kPassword;
  e.value = secret ? std::nullopt : c.value;
  e.read_only = c.read_only;
  e.is_default = c.source == ConfigSource::kDefault;
  e.config_source = static_cast<int8_t>(c.source);
  e.is_sensitive = secret;
  if (options.synonyms)
    for (const auto& s : c.synonyms)
      e.synonyms.push_back(
          {s.name, secret ? std::nullopt : s.value, static_cast<int8_t>(s.source)});
  e.config_type = static_cast<int8_t>(c.def->type);
  if (options.documentation) e.documentation = std::string(c.def->doc);
  return e;
}

void add_entries(Result& result, const std::vector<cluster::EffectiveConfig>& configs,
                 const Options& options) {
  for (const auto& c : configs)
    if (wanted(options, c.def->name)) result.configs.push_back(to_entry(c, options));
}

Result resource_error(Result result, ErrorCode error, std::string message) {
  result.error_code = to_wire(error);
  result.error_message = std::move(message);
  result.configs.clear();
  return result;
}

Result describe_topic(const cluster::BrokerState& state, Result result, const Options& options) {
  const std::string& name = result.resource_name;
  if (auto problem = cluster::topic_name_problem(name); !problem.empty())
    return resource_error(std::move(result), ErrorCode::kInvalidTopicException, problem);
  // Kafka answers an unknown topic with an empty message.
  if (state.topics.find(name) == nullptr)
    return resource_error(std::move(result), ErrorCode::kUnknownTopicOrPartition, "");
  add_entries(result, cluster::describe_topic_configs(state, name), options);
  return result;
}

// A broker is named by its id; the empty name stands for the cluster-wide
// dynamic defaults (ConfigRecords for broker ""), the only configs it has.
Result describe_broker(const cluster::BrokerState& state, Result result, const Options& options) {
  const std::string& name = result.resource_name;
  if (name.empty()) {
    add_entries(result, cluster::describe_default_broker_configs(state), options);
    return result;
  }
  int32_t id = 0;
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), id);
  if (ec != std::errc() || end != name.data() + name.size())
    return resource_error(std::move(result), ErrorCode::kInvalidRequest,
                          "Broker id must be an integer, but it is: " + name);
  if (id != state.node_id)
    return resource_error(std::move(result), ErrorCode::kInvalidRequest,
                          "Unexpected broker id, expected " + std::to_string(state.node_id) +
                              " or empty string, but received " + name);
  add_entries(result, cluster::describe_broker_configs(state), options);
  return result;
}

// A group's configs whether or not the group exists, as Kafka describes
// them; only the empty name is refused.
Result describe_group(const cluster::BrokerState& state, Result result, const Options& options) {
  if (result.resource_name.empty())
    return resource_error(std::move(result), ErrorCode::kInvalidRequest,
                          "Group name must not be empty");
  add_entries(result, cluster::describe_group_configs(state, result.resource_name), options);
  return result;
}

// A request naming many resources is answered in steps, one per loop turn
// (DispatchResult::kYield), so other clients are served meanwhile. A topic or
// broker named again with every key is answered with a copy of its first
// answer: describing it costs a hundred times more than copying.
struct DescribeConfigsProgress final : RequestProgress {
  DescribeConfigsResponse response;
  // The resource type's byte and its name -> its answer's index in
  // response.results (copies: the frame moves after the first step).
  std::unordered_map<std::string, size_t> described;
};

}  // namespace

std::optional<DescribeConfigsResponse> handle_describe_configs(
    RequestContext& ctx, const DescribeConfigsRequest& request, int16_t version) {
  std::unique_ptr<DescribeConfigsProgress> progress = take_progress<DescribeConfigsProgress>(ctx);
  if (!progress) progress = std::make_unique<DescribeConfigsProgress>();
  DescribeConfigsResponse& response = progress->response;
  size_t work = 0;  // configs this step made or copied
  for (size_t at = response.results.size(); at < request.resources.size(); ++at, work += 64) {
    if (ctx.step_done(work / 64)) {
      ctx.progress = std::move(progress);
      return std::nullopt;
    }
    const auto& resource = request.resources[at];
    const bool every_key =
        !resource.configuration_keys && (resource.resource_type == cluster::kTopicResource ||
                                         resource.resource_type == cluster::kBrokerResource);
    if (every_key) {
      std::string key(1, static_cast<char>(resource.resource_type));
      key += resource.resource_name;
      auto [seen, first] = progress->described.try_emplace(std::move(key), response.results.size());
      if (!first) {
        // Copied out first: the push may move the vector it is in.
        Result copy = response.results[seen->second];
        response.results.push_back(std::move(copy));
        work += response.results.back().configs.size() / 8;
        continue;
      }
    }
    Options options;
    options.synonyms = version >= 1 && request.include_synonyms;
    options.documentation = version >= 3 && request.include_documentation;
    if (resource.configuration_keys)
      options.keys.emplace(resource.configuration_keys->begin(),
                           resource.configuration_keys->end());
    Result result;
    result.resource_type = resource.resource_type;
    result.resource_name = std::string(resource.resource_name);
    if (const ConfigDenial denied = config_denial(ctx, security::AclOperation::kDescribeConfigs,
                                                  resource.resource_type, resource.resource_name);
        denied.error != ErrorCode::kNone) {
      response.results.push_back(
          resource_error(std::move(result), denied.error, std::string(denied.message)));
      continue;
    }
    switch (resource.resource_type) {
      case cluster::kTopicResource:
        response.results.push_back(describe_topic(ctx.state, std::move(result), options));
        break;
      case cluster::kBrokerResource:
        response.results.push_back(describe_broker(ctx.state, std::move(result), options));
        break;
      case cluster::kGroupResource:
        response.results.push_back(describe_group(ctx.state, std::move(result), options));
        break;
      case kBrokerLoggerResource: {
        LoggerLevels loggers = describe_broker_loggers(ctx.state.node_id, result.resource_name);
        if (!loggers.error.ok()) {
          response.results.push_back(resource_error(
              std::move(result), to_error_code(loggers.error.error), loggers.error.message));
          break;
        }
        for (auto& [name, level] : loggers.levels) {
          if (!wanted(options, name)) continue;
          Entry& e = result.configs.emplace_back();
          e.name = name;
          e.value = level;
          e.config_source = kDynamicBrokerLoggerSource;
        }
        response.results.push_back(std::move(result));
        break;
      }
      default:
        // Client metrics and other kinds are not kept by this broker.
        response.results.push_back(
            resource_error(std::move(result), ErrorCode::kInvalidRequest,
                           "Unsupported resource type: " + std::to_string(resource.resource_type)));
    }
    work += response.results.back().configs.size();
  }
  wait_for_metadata(ctx);
  return std::move(response);
}

ApiEntry describe_configs_entry() {
  return make_entry<DescribeConfigsRequest, DescribeConfigsResponse, &handle_describe_configs>(
      "DescribeConfigs", DescribeConfigsRequest::kVersions);
}

}  // namespace kb::handlers
