#pragma once

#include "kb/handlers/api_registry.hpp"
#include "kb/protocol/messages/fetch.hpp"

namespace kb::handlers {

// Advertised from 0 (old librdkafka enables features by advertised ranges)
// to 17, as Kafka 4.x (v17 only adds a replica's directory id, a tag that
// consumers do not send); versions before 4 predate record batch v2 and are
// answered with UNSUPPORTED_VERSION per partition.
inline constexpr protocol::VersionRange kFetchAdvertised{0, 17};
inline constexpr int16_t kFetchFirstServed = 4;

std::optional<protocol::FetchResponse> handle_fetch(RequestContext& ctx,
                                                    const protocol::FetchRequest& request,
                                                    int16_t version);

ApiEntry fetch_entry();

}  // namespace kb::handlers
