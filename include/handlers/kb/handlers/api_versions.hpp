#pragma once

#include "kb/handlers/api_registry.hpp"
#include "kb/protocol/messages/api_versions.hpp"

namespace kb::handlers {

std::optional<protocol::ApiVersionsResponse> handle_api_versions(
    RequestContext& ctx, const protocol::ApiVersionsRequest& request, int16_t version);

// The answer to an ApiVersions request at a version the broker does not serve:
// UNSUPPORTED_VERSION in the v0 layout, listing only ApiVersions' own range so
// the client can pick a version it shares with the broker.
void write_api_versions_unsupported(const ApiRegistry& registry, wire::Writer& out);

ApiEntry api_versions_entry();

}  // namespace kb::handlers
