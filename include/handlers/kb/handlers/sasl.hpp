#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "kb/base/byte_buffer.hpp"
#include "kb/handlers/api_registry.hpp"
#include "kb/protocol/messages/sasl.hpp"
#include "kb/security/sasl_mechanisms.hpp"

namespace kb::handlers {

// Where one connection of a SASL listener is in its authentication, as
// Kafka's SaslServerAuthenticator keeps it: before success only ApiVersions
// (once, first), SaslHandshake and then SaslAuthenticate are served; anything
// else closes the connection. After success every API is served until the
// session's lifetime (connections.max.reauth.ms) is over: then the next
// request closes the connection unless it is a SaslHandshake beginning a
// re-authentication (KIP-368), which must keep the mechanism and principal.
class SaslConnection {
 public:
  enum class State {
    kHandshakeOrVersions,  // nothing yet: ApiVersions or SaslHandshake
    kHandshake,            // after ApiVersions: SaslHandshake
    kAuthenticate,         // after SaslHandshake: the mechanism's tokens
    kReauthBadMechanism,   // a re-authentication asked for another mechanism
    kComplete,
    kFailed,
  };
  enum class Admit { kServe, kClose };

  explicit SaslConnection(const security::SaslMechanisms& mechanisms) : mechanisms_(mechanisms) {}

  // Before the request `api_key` (its frame `frame_size` bytes) is handled:
  // whether it is served or the connection closes. `version_supported`: the
  // broker serves its version (an ApiVersions that is not moves no state).
  Admit admit(int16_t api_key, bool version_supported, size_t frame_size, Clock::time_point now);

  // After SaslHandshake v0 the client sends the mechanism's tokens as bare
  // frames, without a request header (Kafka still serves it).
  bool expects_bare_token() const { return state_ == State::kAuthenticate && bare_tokens_; }
  // One bare token: the server's token goes out as a size-prefixed frame.
  // false: authentication failed, the connection closes (nothing is sent).
  bool handle_bare_token(std::span<const uint8_t> token, ByteBuffer& out, Clock::time_point now);

  protocol::SaslHandshakeResponse handshake(const protocol::SaslHandshakeRequest& request,
                                            int16_t version, bool& close);
  protocol::SaslAuthenticateResponse authenticate(const protocol::SaslAuthenticateRequest& request,
                                                  int16_t version, Clock::time_point now,
                                                  bool& close);

  State state() const { return state_; }
  bool authenticated() const { return state_ == State::kComplete || reauthenticating_; }
  // "User:<name>" once authenticated.
  const std::string& principal() const { return principal_; }
  const std::string& mechanism() const { return mechanism_; }

 private:
  // Runs the mechanism on one token; fills `error` on failure.
  security::SaslStep evaluate(std::span<const uint8_t> token, Clock::time_point now);

  const security::SaslMechanisms& mechanisms_;
  State state_ = State::kHandshakeOrVersions;
  bool bare_tokens_ = false;
  bool reauthenticating_ = false;
  bool client_reauthenticates_ = false;  // it used SaslAuthenticate v1+
  std::string mechanism_;
  std::string principal_;
  std::string bad_mechanism_message_;
  std::unique_ptr<security::SaslServer> server_;
  std::optional<Clock::time_point> session_expires_;
};

// SaslHandshake and SaslAuthenticate. On a SASL listener's connection they
// drive its SaslConnection (ctx.sasl); elsewhere, or after authentication,
// they answer ILLEGAL_SASL_STATE as Kafka does.
ApiEntry sasl_handshake_entry();
ApiEntry sasl_authenticate_entry();

}  // namespace kb::handlers
