#pragma once

#include "kb/handlers/api_registry.hpp"
#include "kb/protocol/messages/fetch.hpp"

namespace kb::handlers {

// Advertised 0-16 (old librdkafka enables features by advertised ranges);
// versions before 4 predate record batch v2 and are answered with
// UNSUPPORTED_VERSION per partition.
inline constexpr protocol::VersionRange kFetchAdvertised{0, 16};
inline constexpr int16_t kFetchFirstServed = 4;

std::optional<protocol::FetchResponse> handle_fetch(RequestContext& ctx,
                                                    const protocol::FetchRequest& request,
                                                    int16_t version);

ApiEntry fetch_entry();

}  // namespace kb::handlers
