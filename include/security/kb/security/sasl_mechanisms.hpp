#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kb/security/plain.hpp"
#include "kb/security/sasl_server.hpp"
#include "kb/security/scram.hpp"

namespace kb::security {

// The SASL mechanisms one listener serves and what their servers need.
struct SaslMechanisms {
  // sasl.enabled.mechanisms, in the order configured (SaslHandshake lists them so).
  std::vector<std::string> enabled;
  PlainUsers plain_users;
  // SCRAM users (the broker's metadata image keeps them; null: none).
  const ScramCredentialStore* scram_credentials = nullptr;
  // connections.max.reauth.ms by mechanism (absent or 0: sessions do not expire).
  std::map<std::string, int64_t, std::less<>> max_reauth_ms;
  // sasl.server.max.receive.size: the largest frame read before authentication.
  int32_t max_receive_size = 524288;

  bool is_enabled(std::string_view mechanism) const;
  // A server for one authentication with `mechanism` (null: not enabled).
  std::unique_ptr<SaslServer> create_server(std::string_view mechanism) const;
  int64_t session_lifetime_ms(std::string_view mechanism) const;
};

// The mechanisms this broker has a server for.
bool is_supported_mechanism(std::string_view mechanism);

}  // namespace kb::security
