#include "kb/handlers/sasl.hpp"

#include <spdlog/spdlog.h>

#include "kb/protocol/error_code.hpp"

namespace kb::handlers {

using protocol::ApiKey;
using protocol::ErrorCode;
using protocol::SaslAuthenticateRequest;
using protocol::SaslAuthenticateResponse;
using protocol::SaslHandshakeRequest;
using protocol::SaslHandshakeResponse;
using protocol::to_wire;
using security::SaslStep;

namespace {

constexpr auto kApiVersions = static_cast<int16_t>(ApiKey::kApiVersions);
constexpr auto kSaslHandshake = static_cast<int16_t>(ApiKey::kSaslHandshake);
constexpr auto kSaslAuthenticate = static_cast<int16_t>(ApiKey::kSaslAuthenticate);

}  // namespace

SaslConnection::Admit SaslConnection::admit(int16_t api_key, bool version_supported,
                                            size_t frame_size, Clock::time_point now) {
  if (state_ != State::kComplete && frame_size > static_cast<size_t>(mechanisms_.max_receive_size))
    return Admit::kClose;  // Kafka: "invalid receive size" before authentication
  switch (state_) {
    case State::kHandshakeOrVersions:
      if (api_key == kApiVersions) {
        if (version_supported) state_ = State::kHandshake;
        return Admit::kServe;
      }
      return api_key == kSaslHandshake ? Admit::kServe : Admit::kClose;
    case State::kHandshake:
      return api_key == kSaslHandshake ? Admit::kServe : Admit::kClose;
    case State::kAuthenticate:
      return api_key == kSaslAuthenticate ? Admit::kServe : Admit::kClose;
    case State::kReauthBadMechanism:
    case State::kFailed:
      return Admit::kClose;
    case State::kComplete:
      if (api_key == kSaslHandshake && client_reauthenticates_) {
        reauthenticating_ = true;
        return Admit::kServe;
      }
      if (session_expires_ && now >= *session_expires_) {
        spdlog::debug("SASL session of {} expired, closing the connection", principal_);
        return Admit::kClose;
      }
      return Admit::kServe;
  }
  return Admit::kClose;
}

SaslHandshakeResponse SaslConnection::handshake(const SaslHandshakeRequest& request,
                                                int16_t version, bool& close) {
  SaslHandshakeResponse response;
  if (state_ == State::kComplete && !reauthenticating_) {
    response.error_code = to_wire(ErrorCode::kIllegalSaslState);
    return response;
  }
  response.mechanisms = mechanisms_.enabled;
  const std::string requested(request.mechanism);
  if (!mechanisms_.is_enabled(requested)) {
    spdlog::debug("SASL mechanism '{}' asked for is not enabled", requested);
    response.error_code = to_wire(ErrorCode::kUnsupportedSaslMechanism);
    state_ = State::kFailed;
    close = true;
    return response;
  }
  if (reauthenticating_ && requested != mechanism_) {
    // Answered as a success; the next token fails.
    bad_mechanism_message_ = "SASL mechanism '" + requested +
                             "' requested by client is not supported for re-authentication of "
                             "mechanism '" +
                             mechanism_ + "'";
    state_ = State::kReauthBadMechanism;
    return response;
  }
  bare_tokens_ = version == 0;
  mechanism_ = requested;
  server_ = mechanisms_.create_server(requested);
  state_ = State::kAuthenticate;
  return response;
}

SaslStep SaslConnection::evaluate(std::span<const uint8_t> token, Clock::time_point now) {
  SaslStep step = server_->evaluate(token);
  if (step.outcome != SaslStep::Outcome::kComplete) return step;
  std::string principal = "User:" + server_->authorization_id();
  if (reauthenticating_ && principal != principal_) {
    step.outcome = SaslStep::Outcome::kFailed;
    step.error = "Cannot change principals during re-authentication from User." +
                 principal_.substr(5) + ": User." + server_->authorization_id();
    return step;
  }
  principal_ = std::move(principal);
  const int64_t lifetime = mechanisms_.session_lifetime_ms(mechanism_);
  if (lifetime > 0)
    session_expires_ = now + std::chrono::milliseconds(lifetime);
  else
    session_expires_.reset();
  return step;
}

bool SaslConnection::handle_bare_token(std::span<const uint8_t> token, ByteBuffer& out,
                                       Clock::time_point now) {
  const SaslStep step = evaluate(token, now);
  if (step.outcome == SaslStep::Outcome::kFailed) {
    spdlog::info("SASL {} authentication failed: {}", mechanism_, step.error);
    state_ = State::kFailed;
    return false;
  }
  const auto size = static_cast<uint32_t>(step.response.size());
  const uint8_t prefix[4] = {static_cast<uint8_t>(size >> 24), static_cast<uint8_t>(size >> 16),
                             static_cast<uint8_t>(size >> 8), static_cast<uint8_t>(size)};
  out.append(std::span<const uint8_t>(prefix, 4));
  out.append(step.response);
  if (step.outcome == SaslStep::Outcome::kComplete) {
    state_ = State::kComplete;
    reauthenticating_ = false;
    server_.reset();
  }
  return true;
}

SaslAuthenticateResponse SaslConnection::authenticate(const SaslAuthenticateRequest& request,
                                                      int16_t version, Clock::time_point now,
                                                      bool& close) {
  SaslAuthenticateResponse response;
  if (state_ == State::kComplete) {
    response.error_code = to_wire(ErrorCode::kIllegalSaslState);
    response.error_message = "SaslAuthenticate request received after successful authentication";
    return response;
  }
  if (!client_reauthenticates_) client_reauthenticates_ = version > 0;
  const SaslStep step = evaluate(request.auth_bytes, now);
  if (step.outcome == SaslStep::Outcome::kFailed) {
    spdlog::info("SASL {} {} failed: {}", mechanism_,
                 reauthenticating_ ? "re-authentication" : "authentication", step.error);
    response.error_code = to_wire(ErrorCode::kSaslAuthenticationFailed);
    response.error_message =
        step.hide_error
            ? "Authentication failed during " +
                  std::string(reauthenticating_ ? "re-authentication" : "authentication") +
                  " due to invalid credentials with SASL mechanism " + mechanism_
            : step.error;
    state_ = State::kFailed;
    close = true;
    return response;
  }
  response.auth_bytes = step.response;
  if (step.outcome == SaslStep::Outcome::kComplete) {
    if (session_expires_)
      response.session_lifetime_ms = mechanisms_.session_lifetime_ms(mechanism_);
    state_ = State::kComplete;
    reauthenticating_ = false;
    server_.reset();
  }
  return response;
}

namespace {

std::optional<SaslHandshakeResponse> handle_sasl_handshake(RequestContext& ctx,
                                                           const SaslHandshakeRequest& request,
                                                           int16_t version) {
  if (ctx.sasl == nullptr) {
    // Not a SASL listener (or already authenticated): Kafka answers so.
    SaslHandshakeResponse response;
    response.error_code = to_wire(ErrorCode::kIllegalSaslState);
    return response;
  }
  return ctx.sasl->handshake(request, version, ctx.close_connection);
}

std::optional<SaslAuthenticateResponse> handle_sasl_authenticate(
    RequestContext& ctx, const SaslAuthenticateRequest& request, int16_t version) {
  if (ctx.sasl == nullptr) {
    SaslAuthenticateResponse response;
    response.error_code = to_wire(ErrorCode::kIllegalSaslState);
    response.error_message = "SaslAuthenticate request received after successful authentication";
    return response;
  }
  return ctx.sasl->authenticate(request, version, ctx.now, ctx.close_connection);
}

}  // namespace

ApiEntry sasl_handshake_entry() {
  return make_entry<SaslHandshakeRequest, SaslHandshakeResponse, &handle_sasl_handshake>(
      "SaslHandshake", SaslHandshakeRequest::kVersions);
}

ApiEntry sasl_authenticate_entry() {
  return make_entry<SaslAuthenticateRequest, SaslAuthenticateResponse, &handle_sasl_authenticate>(
      "SaslAuthenticate", SaslAuthenticateRequest::kVersions);
}

}  // namespace kb::handlers
