#include "kb/security/sasl_mechanisms.hpp"

#include <algorithm>

namespace kb::security {

bool is_supported_mechanism(std::string_view mechanism) {
  return mechanism == "PLAIN" || scram_mechanism(mechanism).has_value();
}

bool SaslMechanisms::is_enabled(std::string_view mechanism) const {
  return std::find(enabled.begin(), enabled.end(), mechanism) != enabled.end();
}

std::unique_ptr<SaslServer> SaslMechanisms::create_server(std::string_view mechanism) const {
  if (!is_enabled(mechanism)) return nullptr;
  if (mechanism == "PLAIN") return std::make_unique<PlainServer>(plain_users);
  if (auto scram = scram_mechanism(mechanism))
    return std::make_unique<ScramServer>(*scram, scram_credentials);
  return nullptr;
}

int64_t SaslMechanisms::session_lifetime_ms(std::string_view mechanism) const {
  auto it = max_reauth_ms.find(mechanism);
  return it == max_reauth_ms.end() ? 0 : std::max<int64_t>(it->second, 0);
}

}  // namespace kb::security
