#pragma once

// Share groups of KIP-932, their group side: ShareGroupHeartbeat and
// ShareGroupDescribe, answered by the coordinator's share groups
// (kb/group/share_group.hpp). Both answer UNSUPPORTED_VERSION until the
// share.version feature is finalized at 1, as Kafka's broker does.

#include <optional>

#include "kb/handlers/api_registry.hpp"
#include "kb/protocol/messages/share_group_describe.hpp"
#include "kb/protocol/messages/share_group_heartbeat.hpp"

namespace kb::handlers {

// Whether share groups are on: share.version finalized at 1 or more.
bool share_groups_enabled(const RequestContext& ctx);

std::optional<protocol::ShareGroupHeartbeatResponse> handle_share_group_heartbeat(
    RequestContext& ctx, const protocol::ShareGroupHeartbeatRequest& request, int16_t version);
std::optional<protocol::ShareGroupDescribeResponse> handle_share_group_describe(
    RequestContext& ctx, const protocol::ShareGroupDescribeRequest& request, int16_t version);

ApiEntry share_group_heartbeat_entry();
ApiEntry share_group_describe_entry();

}  // namespace kb::handlers
