#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "kb/handlers/api_registry.hpp"

namespace kb::handlers {

struct AnnouncedBroker {
  std::string host;
  int32_t port = 0;
};

// Where clients reach this broker (Metadata, DescribeCluster): the advertised
// listener named like the one the request came through, as Kafka answers
// each listener with its own addresses; the first advertised listener when
// the request's listener is unknown or not advertised. A wildcard host is
// never announced (clients could not connect to it): it becomes localhost.
std::optional<AnnouncedBroker> announced_broker(const RequestContext& ctx);

}  // namespace kb::handlers
