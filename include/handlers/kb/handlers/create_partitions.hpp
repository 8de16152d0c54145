#pragma once

#include "kb/handlers/api_registry.hpp"
#include "kb/protocol/messages/create_partitions.hpp"

namespace kb::handlers {

std::optional<protocol::CreatePartitionsResponse> handle_create_partitions(
    RequestContext& ctx, const protocol::CreatePartitionsRequest& request, int16_t version);

ApiEntry create_partitions_entry();

}  // namespace kb::handlers
