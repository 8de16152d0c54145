#pragma once

#include "kb/handlers/api_registry.hpp"
#include "kb/protocol/messages/fetch.hpp"

namespace kb::handlers {

// Advertised from 0 (old librdkafka enables features by advertised ranges)
// to 18, as Kafka 4.4 (v17 only adds a replica's directory id and v18 a
// follower's high watermark, tags of replica fetches that consumers do not
// send and this broker, which has no followers, reads and leaves); versions
// before 4 predate record batch v2 and are answered with UNSUPPORTED_VERSION
// per partition.
inline constexpr protocol::VersionRange kFetchAdvertised{0, 18};
inline constexpr int16_t kFetchFirstServed = 4;

std::optional<protocol::FetchResponse> handle_fetch(RequestContext& ctx,
                                                    const protocol::FetchRequest& request,
                                                    int16_t version);

ApiEntry fetch_entry();

}  // namespace kb::handlers
