#pragma once

#include "kb/handlers/api_registry.hpp"
#include "kb/protocol/messages/create_topics.hpp"

namespace kb::handlers {

std::optional<protocol::CreateTopicsResponse> handle_create_topics(
    RequestContext& ctx, const protocol::CreateTopicsRequest& request, int16_t version);

ApiEntry create_topics_entry();

}  // namespace kb::handlers
