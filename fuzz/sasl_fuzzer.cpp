// The SASL exchange's parsers on hostile bytes: a JAAS config, PLAIN's
// message, SCRAM's client-first and client-final (split at the first 0xFF
// byte), and an --add-scram argument. Any outcome but a crash or a sanitizer
// report is fine; a completed SCRAM exchange must have proved the password.

#include <cstdint>
#include <span>
#include <string_view>

#include "kb/security/jaas.hpp"
#include "kb/security/plain.hpp"
#include "kb/security/scram.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kb::security;
  const std::span<const uint8_t> bytes(data, size);
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  const JaasParseResult jaas = parse_jaas_config(text);
  const PlainUsers users = PlainUsers::from_jaas(jaas.entries);
  PlainServer plain(users);
  (void)plain.evaluate(bytes);

  static const ScramCredentialStore store = [] {
    ScramCredentialStore s;
    const std::vector<uint8_t> salt = {'s', 'a', 'l', 't'};
    for (ScramMechanism m : {ScramMechanism::kSha256, ScramMechanism::kSha512})
      s.put(m, "user",
            scram_credential(m, scram_salted_password(m, "pencil", salt, 4096), salt, 4096));
    return s;
  }();
  size_t split = 0;
  while (split < size && data[split] != 0xFF) ++split;
  for (ScramMechanism m : {ScramMechanism::kSha256, ScramMechanism::kSha512}) {
    ScramServer scram(m, &store);
    const SaslStep first = scram.evaluate(bytes.first(split));
    if (first.outcome == SaslStep::Outcome::kContinue && split < size) {
      const SaslStep final = scram.evaluate(bytes.subspan(split + 1));
      // Completing takes a proof of the password; random bytes never have one.
      if (final.outcome == SaslStep::Outcome::kComplete && scram.authorization_id() != "user")
        __builtin_trap();
    }
  }
  (void)parse_add_scram(text.substr(0, 256));  // PBKDF2 is slow: short arguments only
  return 0;
}
