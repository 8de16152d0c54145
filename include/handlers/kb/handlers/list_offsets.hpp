#pragma once

#include "kb/handlers/api_registry.hpp"
#include "kb/protocol/messages/list_offsets.hpp"

namespace kb::handlers {

std::optional<protocol::ListOffsetsResponse> handle_list_offsets(
    RequestContext& ctx, const protocol::ListOffsetsRequest& request, int16_t version);

ApiEntry list_offsets_entry();

}  // namespace kb::handlers
