#pragma once

// Leadership and replica placement, answered as a single node answers them
// (Kafka's controller rules): ElectLeaders (43), AlterPartitionReassignments
// (45) and ListPartitionReassignments (46). Every partition is led by this
// broker, its only replica, so nothing is ever elected or moved.

#include "kb/handlers/api_registry.hpp"
#include "kb/protocol/messages/elect_leaders.hpp"
#include "kb/protocol/messages/partition_reassignments.hpp"

namespace kb::handlers {

std::optional<protocol::ElectLeadersResponse> handle_elect_leaders(
    RequestContext& ctx, const protocol::ElectLeadersRequest& request, int16_t version);
ApiEntry elect_leaders_entry();

std::optional<protocol::AlterPartitionReassignmentsResponse> handle_alter_partition_reassignments(
    RequestContext& ctx, const protocol::AlterPartitionReassignmentsRequest& request,
    int16_t version);
ApiEntry alter_partition_reassignments_entry();

std::optional<protocol::ListPartitionReassignmentsResponse> handle_list_partition_reassignments(
    RequestContext& ctx, const protocol::ListPartitionReassignmentsRequest& request,
    int16_t version);
ApiEntry list_partition_reassignments_entry();

}  // namespace kb::handlers
