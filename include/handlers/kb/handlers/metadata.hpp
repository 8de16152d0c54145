#pragma once

#include "kb/handlers/api_registry.hpp"
#include "kb/protocol/messages/metadata.hpp"

namespace kb::handlers {

// Clients connect to what is announced (Metadata, FindCoordinator), so a
// wildcard bind address is never announced: it becomes localhost.
std::string announced_host(const std::string& host);

std::optional<protocol::MetadataResponse> handle_metadata(RequestContext& ctx,
                                                          const protocol::MetadataRequest& request,
                                                          int16_t version);

ApiEntry metadata_entry();

}  // namespace kb::handlers
