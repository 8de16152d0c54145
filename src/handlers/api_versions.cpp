#include "kb/handlers/api_versions.hpp"

#include "kb/protocol/error_code.hpp"

namespace kb::handlers {

using protocol::ApiVersionsRequest;
using protocol::ApiVersionsResponse;

std::optional<ApiVersionsResponse> handle_api_versions(RequestContext& ctx,
                                                       const ApiVersionsRequest& /*request*/,
                                                       int16_t /*version*/) {
  ApiVersionsResponse response;
  response.api_keys.reserve(ctx.registry.entries().size());
  for (const ApiEntry& e : ctx.registry.entries())
    response.api_keys.push_back({static_cast<int16_t>(e.key), e.versions.min, e.versions.max});
  return response;
}

void write_api_versions_unsupported(const ApiRegistry& registry, wire::Writer& out) {
  ApiVersionsResponse response;
  response.error_code = protocol::to_wire(protocol::ErrorCode::kUnsupportedVersion);
  if (const ApiEntry* self = registry.find(static_cast<int16_t>(protocol::ApiKey::kApiVersions)))
    response.api_keys.push_back(
        {static_cast<int16_t>(self->key), self->versions.min, self->versions.max});
  wire::encode(out, response, 0, false);
}

ApiEntry api_versions_entry() {
  return make_entry<ApiVersionsRequest, ApiVersionsResponse, &handle_api_versions>(
      "ApiVersions", ApiVersionsRequest::kVersions);
}

}  // namespace kb::handlers
