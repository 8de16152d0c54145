#pragma once

// Dynamic broker configs (kafka-configs --entity-type brokers): changed by
// IncrementalAlterConfigs and AlterConfigs on a BROKER resource, kept as
// ConfigRecords in the metadata log (resource type 4; name: the node id, or ""
// for the cluster-wide default), checked as Kafka's broker checks them
// (ConfigAdminManager, DynamicBrokerConfig). Topic configs without their own
// value take the broker's dynamic value before server.properties.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "kb/cluster/broker_state.hpp"
#include "kb/cluster/topic_admin.hpp"
#include "kb/cluster/topic_configs.hpp"

namespace kb::cluster {

// IncrementalAlterConfigs on broker `resource_name` (this node's id or "").
// Every config named gets a record, even when unchanged (as Kafka's
// controller writes them for brokers).
AdminResult alter_broker_configs(BrokerState& state, std::string_view resource_name,
                                 const std::vector<ConfigChange>& changes, bool validate_only);
// AlterConfigs: the resource's dynamic configs become exactly `configs`.
AdminResult replace_broker_configs(BrokerState& state, std::string_view resource_name,
                                   const std::map<std::string, std::string, std::less<>>& configs,
                                   bool validate_only);

}  // namespace kb::cluster
