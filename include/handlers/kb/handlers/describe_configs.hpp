#pragma once

#include "kb/handlers/api_registry.hpp"
#include "kb/protocol/messages/describe_configs.hpp"

namespace kb::handlers {

std::optional<protocol::DescribeConfigsResponse> handle_describe_configs(
    RequestContext& ctx, const protocol::DescribeConfigsRequest& request, int16_t version);

ApiEntry describe_configs_entry();

}  // namespace kb::handlers
