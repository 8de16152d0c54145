#include "kb/handlers/acls.hpp"

#include <spdlog/spdlog.h>

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "kb/cluster/topic_admin.hpp"
#include "kb/protocol/error_code.hpp"
#include "kb/security/acl.hpp"
#include "kb/storage/meta_properties.hpp"

namespace kb::handlers {

using protocol::CreateAclsRequest;
using protocol::CreateAclsResponse;
using protocol::DeleteAclsRequest;
using protocol::DeleteAclsResponse;
using protocol::DescribeAclsRequest;
using protocol::DescribeAclsResponse;
using protocol::ErrorCode;
using protocol::kAclUnknownCode;
using protocol::to_wire;

namespace {

// Kafka's messages (AclApis): DescribeAcls has its own, CreateAcls and
// DeleteAcls that of the SecurityDisabledException they answer with.
constexpr const char* kDescribeMessage = "No Authorizer is configured on the broker";
constexpr const char* kAlterMessage = "No Authorizer is configured.";

template <class Filter>
bool names_unknown(const Filter& f) {
  return f.resource_type_filter == kAclUnknownCode || f.pattern_type_filter == kAclUnknownCode ||
         f.operation == kAclUnknownCode || f.permission_type == kAclUnknownCode;
}

bool names_unknown(const CreateAclsRequest::Creation& c) {
  return c.resource_type == kAclUnknownCode || c.resource_pattern_type == kAclUnknownCode ||
         c.operation == kAclUnknownCode || c.permission_type == kAclUnknownCode;
}

// Kafka's request constructors throw on UNKNOWN elements, which its socket
// server answers by closing the connection.
void refuse(RequestContext& ctx, const char* api) {
  spdlog::warn(
      "{} request from {} names an UNKNOWN resource, pattern, operation or permission "
      "type, closing",
      api, ctx.client_host);
  ctx.close_connection = true;
}

using security::Acl;
using security::AclFilter;
using security::AclOperation;
using security::PatternType;
using security::ResourceType;

template <class F>
AclFilter filter_of(const F& f) {
  AclFilter filter;
  filter.resource_type = security::resource_type_of(f.resource_type_filter);
  if (f.resource_name_filter) filter.resource_name = std::string(*f.resource_name_filter);
  filter.pattern_type = security::pattern_type_of(f.pattern_type_filter);
  if (f.principal_filter) filter.principal = std::string(*f.principal_filter);
  if (f.host_filter) filter.host = std::string(*f.host_filter);
  filter.operation = security::operation_of(f.operation);
  filter.permission = security::permission_of(f.permission_type);
  return filter;
}

// Kafka checks the cluster permission before anything else; a denied request
// gets the error in every result.
constexpr const char* kNotAuthorized = "Request is not authorized.";

storage::AccessControlEntryRecord record_of(const wire::Uuid& id, const Acl& acl) {
  return {id,
          static_cast<int8_t>(acl.resource_type),
          acl.resource_name,
          static_cast<int8_t>(acl.pattern_type),
          acl.principal,
          acl.host,
          static_cast<int8_t>(acl.operation),
          static_cast<int8_t>(acl.permission)};
}

wire::Uuid new_acl_id(const security::AclStore& acls, const std::set<wire::Uuid>& taken) {
  while (true) {
    const wire::Uuid id = storage::random_uuid();
    if (!id.is_zero() && !acls.by_id().contains(id) && !taken.contains(id)) return id;
  }
}

}  // namespace

std::optional<DescribeAclsResponse> handle_describe_acls(RequestContext& ctx,
                                                         const DescribeAclsRequest& request,
                                                         int16_t /*version*/) {
  if (names_unknown(request)) {
    refuse(ctx, "DescribeAcls");
    return std::nullopt;
  }
  DescribeAclsResponse response;
  if (!ctx.authorized_cluster(AclOperation::kDescribe)) {
    response.error_code = to_wire(ErrorCode::kClusterAuthorizationFailed);
    response.error_message = kNotAuthorized;
    return response;
  }
  if (!ctx.state.authorizer.enabled()) {
    response.error_code = to_wire(ErrorCode::kSecurityDisabled);
    response.error_message = kDescribeMessage;
    return response;
  }
  // One resource per pattern, its entries under it, in Kafka's ACL order.
  for (const auto& [id, acl] : ctx.state.authorizer.acls().matching(filter_of(request))) {
    if (response.resources.empty() ||
        response.resources.back().resource_type != static_cast<int8_t>(acl.resource_type) ||
        response.resources.back().resource_name != acl.resource_name ||
        response.resources.back().pattern_type != static_cast<int8_t>(acl.pattern_type)) {
      auto& r = response.resources.emplace_back();
      r.resource_type = static_cast<int8_t>(acl.resource_type);
      r.resource_name = acl.resource_name;
      r.pattern_type = static_cast<int8_t>(acl.pattern_type);
    }
    auto& entries = response.resources.back().acls;
    const DescribeAclsResponse::AclDescription entry{acl.principal, acl.host,
                                                     static_cast<int8_t>(acl.operation),
                                                     static_cast<int8_t>(acl.permission)};
    // The same ACL under two ids (a log Kafka did not write) is one entry.
    const bool listed = std::any_of(entries.begin(), entries.end(), [&](const auto& e) {
      return e.principal == entry.principal && e.host == entry.host &&
             e.operation == entry.operation && e.permission_type == entry.permission_type;
    });
    if (!listed) entries.push_back(entry);
  }
  return response;
}

std::optional<CreateAclsResponse> handle_create_acls(RequestContext& ctx,
                                                     const CreateAclsRequest& request,
                                                     int16_t /*version*/) {
  if (std::any_of(request.creations.begin(), request.creations.end(),
                  [](const auto& c) { return names_unknown(c); })) {
    refuse(ctx, "CreateAcls");
    return std::nullopt;
  }
  CreateAclsResponse response;
  if (!ctx.authorized_cluster(AclOperation::kAlter)) {
    response.results.resize(request.creations.size(),
                            {to_wire(ErrorCode::kClusterAuthorizationFailed), kNotAuthorized});
    return response;
  }
  if (!ctx.state.authorizer.enabled()) {
    response.results.resize(request.creations.size(),
                            {to_wire(ErrorCode::kSecurityDisabled), kAlterMessage});
    return response;
  }
  std::vector<Acl> acls;
  acls.reserve(request.creations.size());
  for (const auto& c : request.creations) {
    acls.push_back(Acl{security::resource_type_of(c.resource_type), std::string(c.resource_name),
                       security::pattern_type_of(c.resource_pattern_type), std::string(c.principal),
                       std::string(c.host), security::operation_of(c.operation),
                       security::permission_of(c.permission_type)});
    // Kafka cannot even build a binding of ANY or MATCH: the whole request
    // fails with an unknown server error.
    const Acl& a = acls.back();
    if (a.resource_type == ResourceType::kAny || a.pattern_type == PatternType::kAny ||
        a.pattern_type == PatternType::kMatch || a.operation == AclOperation::kAny ||
        a.permission == security::AclPermission::kAny) {
      spdlog::info("CreateAcls from {}: an ACL to create names ANY or MATCH", ctx.client_host);
      response.results.assign(request.creations.size(),
                              {to_wire(ErrorCode::kUnknownServerError), std::nullopt});
      return response;
    }
  }
  std::vector<storage::MetadataRecord> records;
  std::set<wire::Uuid> ids;
  std::set<Acl, security::AclOrder> added;
  std::vector<size_t> appended;  // the results whose ACL is in `records`
  for (const Acl& acl : acls) {
    auto& result = response.results.emplace_back();
    std::string problem;
    if (acl.resource_type == ResourceType::kCluster &&
        acl.resource_name != security::kClusterResourceName)
      problem = fmt::format("The only valid name for the CLUSTER resource is {}",
                            security::kClusterResourceName);
    else if (acl.resource_name.empty())
      problem = "Invalid empty resource name";
    else
      problem = security::new_acl_problem(acl);
    if (!problem.empty()) {
      result.error_code = to_wire(ErrorCode::kInvalidRequest);
      result.error_message = std::move(problem);
      continue;
    }
    // An ACL that exists already is a success that writes nothing.
    if (ctx.state.authorizer.acls().contains(acl) || !added.insert(acl).second) continue;
    const wire::Uuid id = new_acl_id(ctx.state.authorizer.acls(), ids);
    ids.insert(id);
    records.emplace_back(record_of(id, acl));
    appended.push_back(response.results.size() - 1);
  }
  if (!records.empty()) {
    if (storage::Status status = cluster::append_metadata(ctx.state, records); !status.ok()) {
      spdlog::error("CreateAcls: writing the metadata log failed: {}", status.error().message);
      for (size_t i : appended)
        response.results[i] = {to_wire(ErrorCode::kUnknownServerError), std::nullopt};
    }
  }
  for (const auto& r : response.results) ctx.errors.add(r.error_code);
  wait_for_metadata(ctx);
  return response;
}

std::optional<DeleteAclsResponse> handle_delete_acls(RequestContext& ctx,
                                                     const DeleteAclsRequest& request,
                                                     int16_t /*version*/) {
  if (std::any_of(request.filters.begin(), request.filters.end(),
                  [](const auto& f) { return names_unknown(f); })) {
    refuse(ctx, "DeleteAcls");
    return std::nullopt;
  }
  DeleteAclsResponse response;
  if (!ctx.authorized_cluster(AclOperation::kAlter)) {
    response.filter_results.resize(
        request.filters.size(),
        {to_wire(ErrorCode::kClusterAuthorizationFailed), kNotAuthorized, {}});
    return response;
  }
  if (!ctx.state.authorizer.enabled()) {
    response.filter_results.resize(request.filters.size(),
                                   {to_wire(ErrorCode::kSecurityDisabled), kAlterMessage, {}});
    return response;
  }
  // An ACL two filters match is removed once and reported by both, and all
  // removals are written together (Kafka's atomic controller result).
  std::set<wire::Uuid> removed;
  std::vector<storage::MetadataRecord> records;
  for (const auto& f : request.filters) {
    auto& result = response.filter_results.emplace_back();
    const AclFilter filter = filter_of(f);
    if (filter.pattern_unknown() || filter.entry_unknown()) {
      result.error_code = to_wire(ErrorCode::kInvalidRequest);
      result.error_message =
          filter.pattern_unknown() ? "Unknown patternFilter." : "Unknown entryFilter.";
      continue;
    }
    for (const auto& [id, acl] : ctx.state.authorizer.acls().matching(filter)) {
      auto& m = result.matching_acls.emplace_back();
      m.resource_type = static_cast<int8_t>(acl.resource_type);
      m.resource_name = acl.resource_name;
      m.pattern_type = static_cast<int8_t>(acl.pattern_type);
      m.principal = acl.principal;
      m.host = acl.host;
      m.operation = static_cast<int8_t>(acl.operation);
      m.permission_type = static_cast<int8_t>(acl.permission);
      if (removed.insert(id).second)
        records.emplace_back(storage::RemoveAccessControlEntryRecord{id});
    }
  }
  if (!records.empty()) {
    if (storage::Status status = cluster::append_metadata(ctx.state, records); !status.ok()) {
      spdlog::error("DeleteAcls: writing the metadata log failed: {}", status.error().message);
      for (auto& r : response.filter_results)
        if (r.error_code == 0) r = {to_wire(ErrorCode::kUnknownServerError), std::nullopt, {}};
    }
  }
  for (const auto& r : response.filter_results) ctx.errors.add(r.error_code);
  wait_for_metadata(ctx);
  return response;
}

ApiEntry describe_acls_entry() {
  return make_entry<DescribeAclsRequest, DescribeAclsResponse, &handle_describe_acls>(
      "DescribeAcls", kServedAclVersions);
}

ApiEntry create_acls_entry() {
  return make_entry<CreateAclsRequest, CreateAclsResponse, &handle_create_acls>("CreateAcls",
                                                                                kServedAclVersions);
}

ApiEntry delete_acls_entry() {
  return make_entry<DeleteAclsRequest, DeleteAclsResponse, &handle_delete_acls>("DeleteAcls",
                                                                                kServedAclVersions);
}

}  // namespace kb::handlers
