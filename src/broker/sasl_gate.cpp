// The SASL listener's side of BrokerService: what an unauthenticated
// connection may send, and the bare tokens of SaslHandshake v0.
#include <spdlog/spdlog.h>

#include "kb/broker/broker_service.hpp"

namespace kb::broker {

bool BrokerService::admit_sasl(net::Connection& conn, std::span<const uint8_t> frame,
                               const protocol::RequestHeader& header, bool version_supported) {
  handlers::SaslConnection& sasl = *sasl_.at(conn.id());
  if (sasl.expects_bare_token()) {
    if (frame.size() > static_cast<size_t>(sasl_mechanisms_->max_receive_size) ||
        !sasl.handle_bare_token(frame, conn.output(), loop_.now())) {
      spdlog::info("connection {} ({}): SASL authentication failed, closing", conn.id(),
                   conn.peer());
      conn.close_after_flush();
    }
    return false;
  }
  const auto admitted = sasl.admit(header.api_key, version_supported, frame.size(), loop_.now());
  if (admitted == handlers::SaslConnection::Admit::kServe) return true;
  if (sasl.state() == handlers::SaslConnection::State::kComplete) {
    spdlog::info("connection {} ({}): SASL session of {} expired, closing", conn.id(), conn.peer(),
                 sasl.principal());
  } else {
    spdlog::info(
        "connection {} ({}): request of api key {} not allowed during SASL authentication "
        "(state {}), closing",
        conn.id(), conn.peer(), header.api_key, static_cast<int>(sasl.state()));
  }
  conn.close_after_flush();
  return false;
}

}  // namespace kb::broker
