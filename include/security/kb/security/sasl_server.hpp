#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kb::security {

// What a mechanism's server made of one token of the client's.
struct SaslStep {
  enum class Outcome { kContinue, kComplete, kFailed };
  Outcome outcome = Outcome::kFailed;
  std::vector<uint8_t> response;  // the server's token for the client (may be empty)
  std::string error;              // kFailed: what went wrong
  // The client is told only that its credentials were invalid (Kafka's
  // SaslException); `error` is logged. Otherwise `error` is what it is told.
  bool hide_error = false;
};

// The server side of one SASL mechanism for one authentication: tokens in,
// tokens out, no sockets. Failures carry the message Kafka's server of the
// same mechanism gives.
class SaslServer {
 public:
  virtual ~SaslServer() = default;
  virtual std::string_view mechanism() const = 0;
  virtual SaslStep evaluate(std::span<const uint8_t> token) = 0;
  // Once complete: the authenticated user's name (the principal's name).
  virtual const std::string& authorization_id() const = 0;
};

// Compares secrets in time that does not depend on where they differ.
bool equal_constant_time(std::span<const uint8_t> a, std::span<const uint8_t> b);

}  // namespace kb::security
