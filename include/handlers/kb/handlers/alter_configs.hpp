#pragma once

#include "kb/handlers/api_registry.hpp"
#include "kb/protocol/messages/alter_configs.hpp"
#include "kb/protocol/messages/incremental_alter_configs.hpp"

namespace kb::handlers {

// Topic, broker and group resources change through ConfigRecords in the
// metadata log (broker resources: Kafka's cluster-wide dynamic configs, see
// kb/cluster/broker_configs.hpp; groups: kb/cluster/group_configs.hpp);
// broker loggers change the log levels; other resource types are refused.
std::optional<protocol::AlterConfigsResponse> handle_alter_configs(
    RequestContext& ctx, const protocol::AlterConfigsRequest& request, int16_t version);
std::optional<protocol::IncrementalAlterConfigsResponse> handle_incremental_alter_configs(
    RequestContext& ctx, const protocol::IncrementalAlterConfigsRequest& request, int16_t version);

ApiEntry alter_configs_entry();
ApiEntry incremental_alter_configs_entry();

}  // namespace kb::handlers
