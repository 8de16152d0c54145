#pragma once

#include "kb/handlers/api_registry.hpp"
#include "kb/protocol/messages/describe_cluster.hpp"

namespace kb::handlers {

std::optional<protocol::DescribeClusterResponse> handle_describe_cluster(
    RequestContext& ctx, const protocol::DescribeClusterRequest& request, int16_t version);

ApiEntry describe_cluster_entry();

}  // namespace kb::handlers
