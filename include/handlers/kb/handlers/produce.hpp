#pragma once

#include "kb/handlers/api_registry.hpp"
#include "kb/protocol/messages/produce.hpp"

namespace kb::handlers {

// Advertised 0-13 (clients pick features by advertised ranges); versions before
// 3 carry the old message formats (magic 0/1) and are answered with
// UNSUPPORTED_VERSION per partition. From 12 a transactional batch adds its
// partition to its transaction (KIP-890's transactions v2); from 13 topics
// are named by id (KIP-516), an unknown id answering UNKNOWN_TOPIC_ID (100).
inline constexpr protocol::VersionRange kProduceAdvertised{0, 13};
inline constexpr int16_t kProduceFirstImplicitAdd = 12;
inline constexpr int16_t kProduceFirstTopicId = 13;
inline constexpr int16_t kProduceFirstServed = 3;

// Appends each partition's record batch to its log (created when missing) and
// answers per partition. Checks, each refusing only its partition with nothing
// written: unknown topic or partition (3), an internal topic (17), invalid acks
// (21), not exactly one batch, a base offset other than 0, control batches,
// inconsistent record count or offset deltas (87), a bad length, magic or CRC
// (2), a batch over max.message.bytes (10), zstd before v7 (76). A
// transactional batch needs its partition in its producer's transaction:
// verified before v12 (added by AddPartitionsToTxn), added by the produce
// itself from v12; transactional batches of more than one producer id and
// epoch in one request refuse it all (INVALID_PRODUCER_ID_MAPPING, 49).
// Idempotent batches (a producer id) are checked against the partition's
// producer state as Kafka does: a resent batch gets its original offsets and
// nothing is written, a gap OUT_OF_ORDER_SEQUENCE_NUMBER (45), an older epoch
// INVALID_PRODUCER_EPOCH (47).
// acks=0 returns nullopt (no response at all).
std::optional<protocol::ProduceResponse> handle_produce(RequestContext& ctx,
                                                        const protocol::ProduceRequest& request,
                                                        int16_t version);

ApiEntry produce_entry();

}  // namespace kb::handlers
