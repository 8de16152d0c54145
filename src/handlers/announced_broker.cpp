#include "kb/handlers/announced_broker.hpp"

namespace kb::handlers {

std::optional<AnnouncedBroker> announced_broker(const RequestContext& ctx) {
  const auto& endpoints = ctx.state.endpoints;
  if (endpoints.empty()) return std::nullopt;
  const cluster::AdvertisedEndpoint* chosen = &endpoints.front();
  for (const auto& e : endpoints)
    if (!ctx.listener.empty() && e.name == ctx.listener) chosen = &e;
  AnnouncedBroker b;
  const std::string& host = chosen->host;
  b.host = host.empty() || host == "0.0.0.0" || host == "::" ? "localhost" : host;
  b.port = chosen->port;
  return b;
}

}  // namespace kb::handlers
