#pragma once

#include <span>

#include "kb/handlers/api_registry.hpp"
#include "kb/net/tcp_server.hpp"

namespace kb::broker {

// Turns request frames into response frames: reads the request header, finds
// the API in the registry, checks the version, and lets the entry decode,
// handle and encode. The three tiers of failure: an unknown API, an
// unsupported version (other than ApiVersions') or a body that does not decode
// closes the connection; ApiVersions at an unknown version gets
// UNSUPPORTED_VERSION; domain errors are the handlers' error codes.
class BrokerService final : public net::FrameHandler {
 public:
  explicit BrokerService(const handlers::ApiRegistry& registry) : registry_(registry) {}

  void on_frame(net::Connection& conn, std::span<const uint8_t> frame) override;

 private:
  const handlers::ApiRegistry& registry_;
};

}  // namespace kb::broker
