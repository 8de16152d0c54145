#pragma once

#include "kb/handlers/api_registry.hpp"
#include "kb/protocol/messages/metadata.hpp"

namespace kb::handlers {

std::optional<protocol::MetadataResponse> handle_metadata(RequestContext& ctx,
                                                          const protocol::MetadataRequest& request,
                                                          int16_t version);

ApiEntry metadata_entry();

}  // namespace kb::handlers
