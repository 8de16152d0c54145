#include "kb/handlers/acls.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "kb/protocol/error_code.hpp"

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

}  // namespace

std::optional<DescribeAclsResponse> handle_describe_acls(RequestContext& ctx,
                                                         const DescribeAclsRequest& request,
                                                         int16_t /*version*/) {
  if (names_unknown(request)) {
    refuse(ctx, "DescribeAcls");
    return std::nullopt;
  }
  DescribeAclsResponse response;
  response.error_code = to_wire(ErrorCode::kSecurityDisabled);
  response.error_message = kDescribeMessage;
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
  response.results.resize(request.creations.size(),
                          {to_wire(ErrorCode::kSecurityDisabled), kAlterMessage});
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
  response.filter_results.resize(request.filters.size(),
                                 {to_wire(ErrorCode::kSecurityDisabled), kAlterMessage, {}});
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
