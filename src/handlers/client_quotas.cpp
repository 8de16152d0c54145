#include "kb/handlers/client_quotas.hpp"

#include <arpa/inet.h>

#include <cmath>
#include <limits>
#include <map>
#include <set>

#include <spdlog/spdlog.h>

#include "kb/cluster/client_quotas.hpp"
#include "kb/cluster/topic_admin.hpp"
#include "kb/protocol/error_code.hpp"
#include "kb/protocol/field_values.hpp"

namespace kb::handlers {

using cluster::QuotaEntity;
using protocol::AlterClientQuotasRequest;
using protocol::AlterClientQuotasResponse;
using protocol::DescribeClientQuotasRequest;
using protocol::DescribeClientQuotasResponse;
using protocol::ErrorCode;
using protocol::to_wire;

namespace {

struct ApiError {
  ErrorCode code = ErrorCode::kNone;
  std::optional<std::string> message;
  bool failed() const { return code != ErrorCode::kNone; }
};

bool is_entity_type(std::string_view type) {
  return type == cluster::kQuotaEntityUser || type == cluster::kQuotaEntityClientId ||
         type == cluster::kQuotaEntityIp;
}

// As Java prints the entity in its messages: "ClientQuotaEntity(entries={user=alice})".
std::string entity_text(const QuotaEntity& entity) {
  std::string out = "ClientQuotaEntity(entries={";
  bool first = true;
  for (const auto& [type, name] : entity) {
    if (!first) out += ", ";
    first = false;
    out += type + "=" + name.value_or("null");
  }
  return out + "})";
}

// ---------------------------------------------------------------- describe

ApiError describe_into(const cluster::ClientQuotaStore& store,
                       const DescribeClientQuotasRequest& request,
                       std::vector<DescribeClientQuotasResponse::EntryData>& out) {
  QuotaEntity exact;  // type -> name (null: the default entity)
  std::set<std::string, std::less<>> any;
  for (const auto& c : request.components) {
    if (c.entity_type.empty()) return {ErrorCode::kInvalidRequest, "Invalid empty entity type."};
    if (exact.contains(c.entity_type) || any.contains(c.entity_type))
      return {ErrorCode::kInvalidRequest, "Entity type " + std::string(c.entity_type) +
                                              " cannot appear more than once in the filter."};
    if (!is_entity_type(c.entity_type))
      return {ErrorCode::kUnsupportedVersion,
              "Unsupported entity type " + std::string(c.entity_type)};
    switch (c.match_type) {
      case protocol::kQuotaMatchExact:
        if (!c.match)
          return {ErrorCode::kInvalidRequest,
                  "Request specified MATCH_TYPE_EXACT, but set match string to null."};
        exact[std::string(c.entity_type)] = std::string(*c.match);
        break;
      case protocol::kQuotaMatchDefault:
        if (c.match)
          return {ErrorCode::kInvalidRequest,
                  "Request specified MATCH_TYPE_DEFAULT, but also specified a match string."};
        exact[std::string(c.entity_type)] = std::nullopt;
        break;
      case protocol::kQuotaMatchSpecified:
        if (c.match)
          return {ErrorCode::kInvalidRequest,
                  "Request specified MATCH_TYPE_SPECIFIED, but also specified a match string."};
        any.emplace(c.entity_type);
        break;
      default:
        return {ErrorCode::kInvalidRequest,
                "Unknown match type " + std::to_string(static_cast<int>(c.match_type))};
    }
  }
  auto filters = [&](std::string_view type) { return exact.contains(type) || any.contains(type); };
  if (filters(cluster::kQuotaEntityIp) &&
      (filters(cluster::kQuotaEntityUser) || filters(cluster::kQuotaEntityClientId)))
    return {ErrorCode::kInvalidRequest,
            "Invalid entity filter component combination. IP filter component should not be used "
            "with user or clientId filter component."};

  for (const auto& [entity, values] : store.entities()) {
    if (request.strict && entity.size() != exact.size() + any.size()) continue;
    bool matches = true;
    for (const auto& [type, name] : exact) {
      auto it = entity.find(type);
      if (it == entity.end() || it->second != name) {
        matches = false;
        break;
      }
    }
    for (const auto& type : any)
      if (matches && !entity.contains(type)) matches = false;
    if (!matches) continue;
    auto& entry = out.emplace_back();
    for (const auto& [type, name] : entity) entry.entity.push_back({type, name});
    for (const auto& [key, value] : values) entry.values.push_back({key, value});
  }
  return {};
}

std::optional<DescribeClientQuotasResponse> handle_describe(
    RequestContext& ctx, const DescribeClientQuotasRequest& request, int16_t /*version*/) {
  DescribeClientQuotasResponse response;
  // DESCRIBE_CONFIGS on the cluster, as Kafka's KafkaApis asks: else the
  // code alone (Kafka's ApiError keeps no message that only repeats it).
  if (!ctx.authorized_cluster(security::AclOperation::kDescribeConfigs)) {
    response.error_code = to_wire(ErrorCode::kClusterAuthorizationFailed);
    return response;
  }
  std::vector<DescribeClientQuotasResponse::EntryData> entries;
  ApiError error = describe_into(ctx.state.client_quotas, request, entries);
  if (error.failed()) {
    // As Kafka answers a request its image refuses: the error, and no entries.
    response.error_code = to_wire(error.code);
    response.error_message = std::move(error.message);
  } else {
    response.entries = std::move(entries);
  }
  return response;
}

// ---------------------------------------------------------------- alter

enum class QuotaValueType { kLong, kInt, kDouble };

// The keys an entity may carry: a user and/or client id take the client
// quotas, an ip only the connection rate; ip combined with the others, or no
// type at all, is refused.
ApiError keys_of(const QuotaEntity& entity, std::map<std::string_view, QuotaValueType>& keys) {
  const bool user = entity.contains(cluster::kQuotaEntityUser);
  const bool client = entity.contains(cluster::kQuotaEntityClientId);
  auto ip = entity.find(cluster::kQuotaEntityIp);
  if (ip != entity.end()) {
    if (user || client)
      return {ErrorCode::kInvalidRequest,
              "Invalid quota entity combination, IP entity shouldnot be combined with User or "
              "ClientId"};
    if (ip->second) {
      // Kafka resolves host names too; that would block the loop, so only
      // address literals are taken.
      in6_addr address{};
      if (inet_pton(AF_INET, ip->second->c_str(), &address) != 1 &&
          inet_pton(AF_INET6, ip->second->c_str(), &address) != 1)
        return {ErrorCode::kInvalidRequest, *ip->second + " is not a valid IP or resolvable host."};
    }
    keys = {{cluster::kConnectionCreationRate, QuotaValueType::kInt}};
    return {};
  }
  if (!user && !client) return {ErrorCode::kInvalidRequest, "Invalid empty client quota entity"};
  keys = {{cluster::kProducerByteRate, QuotaValueType::kLong},
          {cluster::kConsumerByteRate, QuotaValueType::kLong},
          {cluster::kRequestPercentage, QuotaValueType::kDouble},
          {cluster::kControllerMutationRate, QuotaValueType::kDouble}};
  return {};
}

ApiError validate_value(const std::map<std::string_view, QuotaValueType>& keys,
                        const std::string& key, double value) {
  auto it = keys.find(key);
  if (it == keys.end()) return {ErrorCode::kInvalidRequest, "Invalid configuration key " + key};
  if (value <= 0.0) return {ErrorCode::kInvalidRequest, "Quota " + key + " must be greater than 0"};
  if (it->second == QuotaValueType::kDouble) return {};
  if (it->second == QuotaValueType::kInt &&
      value > static_cast<double>(std::numeric_limits<int32_t>::max()))
    return {ErrorCode::kInvalidRequest, "Proposed value for " + key + " is too large for an INT."};
  if (it->second == QuotaValueType::kLong &&
      value > static_cast<double>(std::numeric_limits<int64_t>::max()))
    return {ErrorCode::kInvalidRequest, "Proposed value for " + key + " is too large for a LONG."};
  // Java's % on doubles is fmod; a NaN passes, as in Kafka.
  if (std::abs(std::fmod(value, 1.0)) > 1e-6)
    return {ErrorCode::kInvalidRequest, key + " cannot be a fractional value."};
  return {};
}

ApiError validate_entity(const QuotaEntity& entity) {
  if (entity.empty()) return {ErrorCode::kInvalidRequest, "Invalid empty client quota entity"};
  for (const auto& [type, name] : entity) {
    if (!is_entity_type(type))
      return {ErrorCode::kInvalidRequest, "Unhandled client quota entity type: " + type};
    if (name && name->empty())
      return {ErrorCode::kInvalidRequest, "Empty " + type + " not supported"};
  }
  return {};
}

// One entity's alterations (key -> value, null: remove) into records.
ApiError alter_entity(const cluster::ClientQuotaStore& store, const QuotaEntity& entity,
                      const std::map<std::string, std::optional<double>>& alterations,
                      std::vector<storage::MetadataRecord>& records) {
  if (ApiError e = validate_entity(entity); e.failed()) return e;
  std::map<std::string_view, QuotaValueType> keys;
  if (ApiError e = keys_of(entity, keys); e.failed()) return e;
  const cluster::QuotaValues* current = store.find(entity);
  std::vector<storage::MetadataRecord> added;
  auto record = [&](const std::string& key) {
    storage::ClientQuotaRecord r;
    for (const auto& [type, name] : entity) r.entity.push_back({type, name});
    r.key = key;
    return r;
  };
  for (const auto& [key, value] : alterations) {
    const auto now =
        current != nullptr ? current->find(key) : cluster::QuotaValues::const_iterator{};
    const bool present = current != nullptr && now != current->end();
    if (!value) {
      // Removing what is not set writes nothing (and is no error).
      if (present) {
        storage::ClientQuotaRecord r = record(key);
        r.remove = true;
        added.emplace_back(std::move(r));
      }
      continue;
    }
    if (ApiError e = validate_value(keys, key, *value); e.failed()) return e;
    // An unchanged value writes nothing.
    if (present && now->second == *value) continue;
    storage::ClientQuotaRecord r = record(key);
    r.value = *value;
    added.emplace_back(std::move(r));
  }
  records.insert(records.end(), std::make_move_iterator(added.begin()),
                 std::make_move_iterator(added.end()));
  return {};
}

std::optional<AlterClientQuotasResponse> handle_alter(RequestContext& ctx,
                                                      const AlterClientQuotasRequest& request,
                                                      int16_t /*version*/) {
  // ALTER_CONFIGS on the cluster (Kafka's controller asks it): else every
  // entry, as sent, gets the code and its message.
  if (!ctx.authorized_cluster(security::AclOperation::kAlterConfigs)) {
    AlterClientQuotasResponse denied;
    for (const auto& entry : request.entries) {
      auto& e = denied.entries.emplace_back();
      e.error_code = to_wire(ErrorCode::kClusterAuthorizationFailed);
      e.error_message = "Cluster authorization failed.";
      for (const auto& entity : entry.entity)
        e.entity.push_back(
            {std::string(entity.entity_type),
             entity.entity_name ? std::optional<std::string>(*entity.entity_name) : std::nullopt});
      ctx.errors.add(e.error_code);
    }
    return denied;
  }
  std::map<QuotaEntity, ApiError> results;
  std::vector<storage::MetadataRecord> records;
  for (const auto& entry : request.entries) {
    // As Kafka reads the request: a type named twice keeps its last name.
    QuotaEntity entity;
    for (const auto& e : entry.entity) {
      std::optional<std::string> name;
      if (e.entity_name) name.emplace(*e.entity_name);
      entity[std::string(e.entity_type)] = std::move(name);
    }
    std::map<std::string, std::optional<double>> alterations;
    for (const auto& op : entry.ops) {
      std::string key(op.key);
      if (alterations.contains(key)) {
        results[entity] = {ErrorCode::kInvalidRequest, "Duplicate quota key " + key +
                                                           " not updating quota for this entity " +
                                                           entity_text(entity)};
      } else {
        alterations.emplace(std::move(key),
                            op.remove ? std::nullopt : std::optional<double>(op.value));
      }
    }
    // An entity seen before (or with a key twice) is refused, as Kafka
    // refuses it; what an earlier occurrence wrote stands, as in Kafka.
    if (results.contains(entity)) {
      results[entity] = {ErrorCode::kInvalidRequest,
                         "Ignoring duplicate entity " + entity_text(entity)};
      continue;
    }
    results[entity] = alter_entity(ctx.state.client_quotas, entity, alterations, records);
  }
  if (!request.validate_only && !records.empty()) {
    if (storage::Status appended = cluster::append_metadata(ctx.state, records); !appended.ok()) {
      spdlog::error("AlterClientQuotas: writing the metadata log failed: {}",
                    appended.error().message);
      for (auto& [entity, error] : results)
        if (!error.failed()) error = {ErrorCode::kUnknownServerError, appended.error().message};
    }
  }
  AlterClientQuotasResponse response;
  for (const auto& [entity, error] : results) {
    auto& e = response.entries.emplace_back();
    e.error_code = to_wire(error.code);
    e.error_message = error.message;
    for (const auto& [type, name] : entity) e.entity.push_back({type, name});
    ctx.errors.add(e.error_code);
  }
  if (!request.validate_only) wait_for_metadata(ctx);
  return response;
}

}  // namespace

ApiEntry describe_client_quotas_entry() {
  return make_entry<DescribeClientQuotasRequest, DescribeClientQuotasResponse, &handle_describe>(
      "DescribeClientQuotas", DescribeClientQuotasRequest::kVersions);
}

ApiEntry alter_client_quotas_entry() {
  return make_entry<AlterClientQuotasRequest, AlterClientQuotasResponse, &handle_alter>(
      "AlterClientQuotas", AlterClientQuotasRequest::kVersions);
}

}  // namespace kb::handlers
