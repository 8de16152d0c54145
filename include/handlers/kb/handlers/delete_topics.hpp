#pragma once

#include "kb/handlers/api_registry.hpp"
#include "kb/protocol/messages/delete_topics.hpp"

namespace kb::handlers {

std::optional<protocol::DeleteTopicsResponse> handle_delete_topics(
    RequestContext& ctx, const protocol::DeleteTopicsRequest& request, int16_t version);

ApiEntry delete_topics_entry();

}  // namespace kb::handlers
