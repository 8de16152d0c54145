#include "kb/handlers/describe_cluster.hpp"

#include "kb/handlers/announced_broker.hpp"
#include "kb/protocol/error_code.hpp"

namespace kb::handlers {

using protocol::DescribeClusterRequest;
using protocol::DescribeClusterResponse;
using protocol::ErrorCode;
using protocol::to_wire;

std::optional<DescribeClusterResponse> handle_describe_cluster(
    RequestContext& ctx, const DescribeClusterRequest& request, int16_t /*version*/) {
  const cluster::BrokerState& state = ctx.state;
  DescribeClusterResponse response;
  response.endpoint_type = request.endpoint_type;
  // Brokers describe brokers; controller endpoints are asked of controllers
  // (the KRaft quorum listener, which this broker does not serve).
  if (request.endpoint_type == protocol::kControllerEndpoints) {
    response.error_code = to_wire(ErrorCode::kUnsupportedEndpointType);
    response.error_message = "The broker does not serve controller endpoints.";
    return response;
  }
  if (request.endpoint_type != protocol::kBrokerEndpoints) {
    response.error_code = to_wire(ErrorCode::kInvalidRequest);
    response.error_message = "Unknown endpoint type " + std::to_string(request.endpoint_type) + ".";
    return response;
  }
  response.cluster_id = state.cluster_id;
  response.controller_id = state.node_id;
  // v2: the one broker, serving, is never fenced (is_fenced false), so
  // include_fenced_brokers has none to add.
  if (auto announced = announced_broker(ctx))
    response.brokers.push_back({state.node_id, std::move(announced->host), announced->port, {}});
  if (request.include_cluster_authorized_operations)
    response.cluster_authorized_operations =
        ctx.authorized_cluster(security::AclOperation::kDescribe)
            ? ctx.authorized_operations(security::ResourceType::kCluster,
                                        security::kClusterResourceName)
            : 0;
  return response;
}

ApiEntry describe_cluster_entry() {
  return make_entry<DescribeClusterRequest, DescribeClusterResponse, &handle_describe_cluster>(
      "DescribeCluster", DescribeClusterRequest::kVersions);
}

}  // namespace kb::handlers
