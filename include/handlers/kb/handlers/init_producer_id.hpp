#pragma once

#include "kb/handlers/api_registry.hpp"
#include "kb/protocol/messages/init_producer_id.hpp"

namespace kb::handlers {

// InitProducerId (22) 0-5 for idempotent producers. Like Kafka, a null
// transactional id always gets a fresh producer id with epoch 0 (the producer
// id and epoch a v3+ request carries are only checked for consistency: both
// -1 or neither, else INVALID_REQUEST); ids come from blocks persisted in the
// metadata log. Transactions are not served: an empty transactional id is
// INVALID_REQUEST (42) as in Kafka, any other is refused with
// TRANSACTIONAL_ID_AUTHORIZATION_FAILED (53), which clients treat as fatal
// instead of retrying.
std::optional<protocol::InitProducerIdResponse> handle_init_producer_id(
    RequestContext& ctx, const protocol::InitProducerIdRequest& request, int16_t version);

ApiEntry init_producer_id_entry();

}  // namespace kb::handlers
