#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kb/security/sasl_server.hpp"

namespace kb::security {

// SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677) as Kafka serves them.
enum class ScramMechanism : int8_t { kSha256 = 1, kSha512 = 2 };  // Kafka's type ids

std::optional<ScramMechanism> scram_mechanism(std::string_view name);
std::string_view scram_name(ScramMechanism m);
inline constexpr std::string_view kScramLoginModule =
    "org.apache.kafka.common.security.scram.ScramLoginModule";
inline constexpr int32_t kScramMinIterations = 4096;
inline constexpr int32_t kScramMaxIterations = 16384;

// What the broker keeps of a SCRAM user: never the password.
struct ScramCredential {
  std::vector<uint8_t> salt;
  std::vector<uint8_t> stored_key;
  std::vector<uint8_t> server_key;
  int32_t iterations = 0;
};

// Hi(password, salt, i) of RFC 5802 (PBKDF2 with the mechanism's HMAC).
std::vector<uint8_t> scram_salted_password(ScramMechanism m, std::string_view password,
                                           std::span<const uint8_t> salt, int32_t iterations);
// StoredKey and ServerKey from a salted password.
ScramCredential scram_credential(ScramMechanism m, std::span<const uint8_t> salted_password,
                                 std::span<const uint8_t> salt, int32_t iterations);
// A random salt as Kafka makes one: the text of a 130-bit random number in base 36.
std::vector<uint8_t> scram_random_salt();

std::string base64_encode(std::span<const uint8_t> bytes);
// nullopt: not canonical base64 (padding required).
std::optional<std::vector<uint8_t>> base64_decode(std::string_view text);

// The SCRAM credentials of every user, by mechanism and name.
class ScramCredentialStore {
 public:
  const ScramCredential* find(ScramMechanism m, std::string_view user) const;
  void put(ScramMechanism m, std::string user, ScramCredential credential);
  bool remove(ScramMechanism m, std::string_view user);
  template <class F>
  void for_each(F&& f) const {
    for (const auto& [key, c] : credentials_)
      f(static_cast<ScramMechanism>(key.first), key.second, c);
  }
  // Every (user, mechanism) with its iterations, by user name.
  std::map<std::string, std::vector<std::pair<ScramMechanism, int32_t>>, std::less<>> users() const;

 private:
  std::map<std::pair<int8_t, std::string>, ScramCredential> credentials_;
};

// The server side of one SCRAM authentication: client-first, then
// client-final; every failure but a foreign authorization id is reported to
// the client only as invalid credentials (Kafka's SaslException).
class ScramServer final : public SaslServer {
 public:
  ScramServer(ScramMechanism m, const ScramCredentialStore* credentials)
      : mechanism_(m), credentials_(credentials) {}
  std::string_view mechanism() const override { return scram_name(mechanism_); }
  SaslStep evaluate(std::span<const uint8_t> token) override;
  const std::string& authorization_id() const override { return authorization_id_; }

  // Tests: the server nonce to use instead of a random one.
  void set_nonce_for_test(std::string nonce) { server_nonce_ = std::move(nonce); }

 private:
  SaslStep client_first(std::string_view message);
  SaslStep client_final(std::string_view message);

  enum class State { kClientFirst, kClientFinal, kComplete, kFailed };
  ScramMechanism mechanism_;
  const ScramCredentialStore* credentials_;
  State state_ = State::kClientFirst;
  std::string authorization_id_;
  std::string server_nonce_;
  std::string client_first_bare_;
  std::string server_first_;
  std::string nonce_;  // client's and server's together
  ScramCredential credential_;
};

}  // namespace kb::security

namespace kb::security {

// One `--add-scram` argument of kafka-storage format, read as Kafka's
// ScramParser reads it: 'SCRAM-SHA-256=[name=alice,password=alice-secret]',
// also with iterations= (default 4096), salt= (base64; default random) or
// saltedpassword= (base64, with salt); values may be in double quotes.
struct AddScramResult {
  ScramMechanism mechanism = ScramMechanism::kSha256;
  std::string name;
  ScramCredential credential;
  std::string error;  // Kafka's message when the argument is refused
};
AddScramResult parse_add_scram(std::string_view argument);

}  // namespace kb::security
