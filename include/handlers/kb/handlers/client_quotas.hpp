#pragma once

#include "kb/handlers/api_registry.hpp"
#include "kb/protocol/messages/client_quotas.hpp"

namespace kb::handlers {

// DescribeClientQuotas filters the metadata image's client quotas as Kafka's
// ClientQuotasImage does (exact name, default entity, any entity; strict);
// AlterClientQuotas validates entities, keys and values as Kafka's
// ClientQuotaControlManager does and writes one ClientQuotaRecord per changed
// key to __cluster_metadata (none with validate_only).
ApiEntry describe_client_quotas_entry();
ApiEntry alter_client_quotas_entry();

}  // namespace kb::handlers
