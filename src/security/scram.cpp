#include "kb/security/scram.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>
#include <charconv>
#include <stdexcept>

namespace kb::security {

namespace {

const EVP_MD* digest(ScramMechanism m) {
  return m == ScramMechanism::kSha256 ? EVP_sha256() : EVP_sha512();
}

std::vector<uint8_t> hmac(ScramMechanism m, std::span<const uint8_t> key, std::string_view data) {
  std::vector<uint8_t> out(EVP_MAX_MD_SIZE);
  unsigned int len = 0;
  if (HMAC(digest(m), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(),
           &len) == nullptr)
    throw std::runtime_error("HMAC failed");
  out.resize(len);
  return out;
}

std::vector<uint8_t> hash(ScramMechanism m, std::span<const uint8_t> data) {
  std::vector<uint8_t> out(EVP_MAX_MD_SIZE);
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, digest(m), nullptr) != 1)
    throw std::runtime_error("digest failed");
  out.resize(len);
  return out;
}

std::string_view as_text(std::span<const uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

SaslStep invalid(std::string why) {
  // The client learns only that the credentials were invalid (why is logged).
  SaslStep step;
  step.outcome = SaslStep::Outcome::kFailed;
  step.error = std::move(why);
  step.hide_error = true;
  return step;
}

// A 130-bit random number in base 36, as Kafka's secureRandomString.
std::string random_base36() {
  std::array<uint8_t, 17> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1)
    throw std::runtime_error("no random bytes");
  bytes[0] &= 0x03;  // 130 bits
  std::string digits;
  // Repeated division of the big-endian number by 36.
  while (true) {
    bool zero = true;
    uint32_t rem = 0;
    for (uint8_t& b : bytes) {
      const uint32_t cur = (rem << 8) | b;
      b = static_cast<uint8_t>(cur / 36);
      rem = cur % 36;
      if (b != 0) zero = false;
    }
    digits += "0123456789abcdefghijklmnopqrstuvwxyz"[rem];
    if (zero) break;
  }
  return {digits.rbegin(), digits.rend()};
}

bool is_value_char(char c, bool allow_equals) {
  const auto u = static_cast<unsigned char>(c);
  return u >= 0x01 && u <= 0x7F && c != ',' && (allow_equals || c != '=');
}
bool is_printable(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u >= 0x21 && u <= 0x7E && c != ',';
}

// saslname: value characters other than '=' and ',', or "=2C" / "=3D".
bool is_sasl_name(std::string_view s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '=') {
      const std::string_view esc = s.substr(i, 3);
      if (esc != "=2C" && esc != "=3D") return false;
      i += 2;
    } else if (!is_value_char(s[i], false)) {
      return false;
    }
  }
  return true;
}

std::string sasl_name_to_user(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s.substr(i, 3) == "=2C") {
      out += ',';
      i += 2;
    } else if (s.substr(i, 3) == "=3D") {
      out += '=';
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// Splits at ',' (fields never contain one).
std::vector<std::string_view> split_commas(std::string_view s) {
  std::vector<std::string_view> parts;
  while (true) {
    const size_t at = s.find(',');
    parts.push_back(s.substr(0, at));
    if (at == std::string_view::npos) break;
    s.remove_prefix(at + 1);
  }
  return parts;
}

// ",name=value" extensions: ALPHA names, values without ','.
bool are_extensions(std::span<const std::string_view> parts) {
  for (std::string_view p : parts) {
    const size_t eq = p.find('=');
    if (eq == 0 || eq == std::string_view::npos) return false;
    for (char c : p.substr(0, eq))
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) return false;
    const std::string_view v = p.substr(eq + 1);
    if (v.empty()) return false;
    for (char c : v)
      if (!is_value_char(c, true)) return false;
  }
  return true;
}

}  // namespace

std::optional<ScramMechanism> scram_mechanism(std::string_view name) {
  if (name == "SCRAM-SHA-256") return ScramMechanism::kSha256;
  if (name == "SCRAM-SHA-512") return ScramMechanism::kSha512;
  return std::nullopt;
}

std::string_view scram_name(ScramMechanism m) {
  return m == ScramMechanism::kSha256 ? "SCRAM-SHA-256" : "SCRAM-SHA-512";
}

std::vector<uint8_t> scram_salted_password(ScramMechanism m, std::string_view password,
                                           std::span<const uint8_t> salt, int32_t iterations) {
  std::vector<uint8_t> out(static_cast<size_t>(EVP_MD_get_size(digest(m))));
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), salt.data(),
                        static_cast<int>(salt.size()), iterations, digest(m),
                        static_cast<int>(out.size()), out.data()) != 1)
    throw std::runtime_error("PBKDF2 failed");
  return out;
}

ScramCredential scram_credential(ScramMechanism m, std::span<const uint8_t> salted_password,
                                 std::span<const uint8_t> salt, int32_t iterations) {
  ScramCredential c;
  c.salt.assign(salt.begin(), salt.end());
  c.stored_key = hash(m, hmac(m, salted_password, "Client Key"));
  c.server_key = hmac(m, salted_password, "Server Key");
  c.iterations = iterations;
  return c;
}

std::vector<uint8_t> scram_random_salt() {
  const std::string s = random_base36();
  return {s.begin(), s.end()};
}

std::string base64_encode(std::span<const uint8_t> bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes.data(),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::optional<std::vector<uint8_t>> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool b64 = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                     c == '+' || c == '/';
    const bool pad =
        c == '=' && i + 2 >= text.size() && (i + 1 == text.size() || text.back() == '=');
    if (!b64 && !pad) return std::nullopt;
  }
  std::vector<uint8_t> out(text.size() / 4 * 3);
  const int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  size_t len = static_cast<size_t>(n);
  if (text.ends_with("==")) {
    len -= 2;
  } else if (text.ends_with("=")) {
    len -= 1;
  }
  out.resize(len);
  return out;
}

const ScramCredential* ScramCredentialStore::find(ScramMechanism m, std::string_view user) const {
  auto it =
      credentials_.find(std::pair<int8_t, std::string>(static_cast<int8_t>(m), std::string(user)));
  return it == credentials_.end() ? nullptr : &it->second;
}

void ScramCredentialStore::put(ScramMechanism m, std::string user, ScramCredential credential) {
  credentials_[{static_cast<int8_t>(m), std::move(user)}] = std::move(credential);
}

bool ScramCredentialStore::remove(ScramMechanism m, std::string_view user) {
  auto it =
      credentials_.find(std::pair<int8_t, std::string>(static_cast<int8_t>(m), std::string(user)));
  if (it == credentials_.end()) return false;
  credentials_.erase(it);
  return true;
}

std::map<std::string, std::vector<std::pair<ScramMechanism, int32_t>>, std::less<>>
ScramCredentialStore::users() const {
  std::map<std::string, std::vector<std::pair<ScramMechanism, int32_t>>, std::less<>> out;
  for (const auto& [key, c] : credentials_)
    out[key.second].emplace_back(static_cast<ScramMechanism>(key.first), c.iterations);
  return out;
}

SaslStep ScramServer::evaluate(std::span<const uint8_t> token) {
  SaslStep step;
  switch (state_) {
    case State::kClientFirst:
      step = client_first(as_text(token));
      break;
    case State::kClientFinal:
      step = client_final(as_text(token));
      break;
    case State::kComplete:
    case State::kFailed:
      step = invalid("Unexpected challenge in Sasl server state");
      break;
  }
  if (step.outcome == SaslStep::Outcome::kFailed) {
    state_ = State::kFailed;
    credential_ = {};
  }
  return step;
}

// gs2-header "n," [ "a=" saslname ] "," [ "m=" value "," ] "n=" saslname ",r=" nonce
// [ "," extensions ]: no channel binding.
SaslStep ScramServer::client_first(std::string_view message) {
  const std::string format_error =
      "Invalid SCRAM client first message format: " + std::string(message);
  if (!message.starts_with("n,")) return invalid(format_error);
  std::string_view rest = message.substr(2);
  std::string authzid;
  if (rest.starts_with("a=")) {
    const size_t comma = rest.find(',');
    if (comma == std::string_view::npos || !is_sasl_name(rest.substr(2, comma - 2)))
      return invalid(format_error);
    authzid = std::string(rest.substr(2, comma - 2));
    rest.remove_prefix(comma + 1);
  } else if (rest.starts_with(",")) {
    rest.remove_prefix(1);
  } else {
    return invalid(format_error);
  }
  const std::string_view bare_with_reserved = rest;
  std::vector<std::string_view> parts = split_commas(rest);
  size_t i = 0;
  if (!parts.empty() && parts[0].starts_with("m=")) {
    for (char c : parts[0].substr(2))
      if (!is_value_char(c, true)) return invalid(format_error);
    if (parts[0].size() == 2) return invalid(format_error);
    ++i;
  }
  if (parts.size() < i + 2 || !parts[i].starts_with("n=") || !parts[i + 1].starts_with("r="))
    return invalid(format_error);
  const std::string_view sasl_name = parts[i].substr(2);
  const std::string_view client_nonce = parts[i + 1].substr(2);
  if (!is_sasl_name(sasl_name) || client_nonce.empty()) return invalid(format_error);
  for (char c : client_nonce)
    if (!is_printable(c)) return invalid(format_error);
  if (!are_extensions(std::span(parts).subspan(i + 2))) return invalid(format_error);
  // What the signatures cover: the message from "n=" on.
  client_first_bare_ = std::string(
      bare_with_reserved.substr(static_cast<size_t>(parts[i].data() - bare_with_reserved.data())));

  const std::string user = sasl_name_to_user(sasl_name);
  const ScramCredential* credential =
      credentials_ != nullptr ? credentials_->find(mechanism_, user) : nullptr;
  if (credential == nullptr) return invalid("Authentication failed: Invalid user credentials");
  if (!authzid.empty() && authzid != user) {
    SaslStep step;
    step.outcome = SaslStep::Outcome::kFailed;
    step.error =
        "Authentication failed: Client requested an authorization id that is different from "
        "username";
    return step;
  }
  if (credential->iterations < kScramMinIterations)
    return invalid("Iterations " + std::to_string(credential->iterations) +
                   " is less than the minimum " + std::to_string(kScramMinIterations) + " for " +
                   std::string(scram_name(mechanism_)));
  authorization_id_ = user;
  credential_ = *credential;
  if (server_nonce_.empty()) server_nonce_ = random_base36();
  nonce_ = std::string(client_nonce) + server_nonce_;
  server_first_ = "r=" + nonce_ + ",s=" + base64_encode(credential_.salt) +
                  ",i=" + std::to_string(credential_.iterations);
  state_ = State::kClientFinal;
  SaslStep step;
  step.outcome = SaslStep::Outcome::kContinue;
  step.response.assign(server_first_.begin(), server_first_.end());
  return step;
}

// "c=" base64 ",r=" nonce [ "," extensions ] ",p=" base64.
SaslStep ScramServer::client_final(std::string_view message) {
  const std::string format_error =
      "Invalid SCRAM client final message format: " + std::string(message);
  std::vector<std::string_view> parts = split_commas(message);
  if (parts.size() < 3 || !parts.front().starts_with("c=") || !parts[1].starts_with("r=") ||
      !parts.back().starts_with("p="))
    return invalid(format_error);
  const auto channel = base64_decode(parts.front().substr(2));
  const std::string_view nonce = parts[1].substr(2);
  const auto proof = base64_decode(parts.back().substr(2));
  if (!channel || !proof || nonce.empty()) return invalid(format_error);
  for (char c : nonce)
    if (!is_printable(c)) return invalid(format_error);
  if (!are_extensions(std::span(parts).subspan(2, parts.size() - 3))) return invalid(format_error);
  if (!nonce.ends_with(nonce_)) return invalid("Invalid client nonce in the final client message.");
  // The signed text has the final message without its extensions or proof.
  const std::string auth_message = client_first_bare_ + "," + server_first_ +
                                   ",c=" + base64_encode(*channel) + ",r=" + std::string(nonce);
  const std::vector<uint8_t> client_signature =
      hmac(mechanism_, credential_.stored_key, auth_message);
  if (proof->size() != client_signature.size()) return invalid("Invalid client credentials");
  std::vector<uint8_t> client_key(client_signature.size());
  for (size_t k = 0; k < client_key.size(); ++k)
    client_key[k] = static_cast<uint8_t>((*proof)[k] ^ client_signature[k]);
  if (!equal_constant_time(hash(mechanism_, client_key), credential_.stored_key))
    return invalid("Invalid client credentials");
  const std::string server_final =
      "v=" + base64_encode(hmac(mechanism_, credential_.server_key, auth_message));
  state_ = State::kComplete;
  credential_ = {};
  SaslStep step;
  step.outcome = SaslStep::Outcome::kComplete;
  step.response.assign(server_final.begin(), server_final.end());
  return step;
}

}  // namespace kb::security

namespace kb::security {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && static_cast<unsigned char>(s.front()) <= ' ') s.remove_prefix(1);
  while (!s.empty() && static_cast<unsigned char>(s.back()) <= ' ') s.remove_suffix(1);
  return s;
}

}  // namespace

AddScramResult parse_add_scram(std::string_view argument) {
  AddScramResult result;
  const std::string_view input = trim(argument);
  const size_t eq = input.find('=');
  if (eq == std::string_view::npos) {
    result.error = "Failed to find equals sign in SCRAM argument '" + std::string(input) + "'";
    return result;
  }
  const std::string_view mechanism_name = input.substr(0, eq);
  const std::string_view config = input.substr(eq + 1);
  const auto mechanism = scram_mechanism(mechanism_name);
  if (!mechanism) {
    result.error = "The add-scram mechanism " + std::string(mechanism_name) + " is not supported.";
    return result;
  }
  result.mechanism = *mechanism;
  if (!config.starts_with("[")) {
    result.error = "Expected configuration string to start with [";
    return result;
  }
  if (!config.ends_with("]")) {
    result.error = "Expected configuration string to end with ]";
    return result;
  }
  // Components split at ',' (Java's split drops trailing empty ones), later
  // keys win.
  std::map<std::string, std::string> components;
  std::vector<std::string_view> parts = split_commas(config.substr(1, config.size() - 2));
  while (parts.size() > 1 && parts.back().empty()) parts.pop_back();
  for (std::string_view part : parts) {
    const size_t at = part.find('=');
    if (at == std::string_view::npos) {
      result.error = "No equals sign found in SCRAM component: " + std::string(part);
      return result;
    }
    std::string_view value = part.substr(at + 1);
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
      value = value.substr(1, value.size() - 2);
    components[std::string(part.substr(0, at))] = std::string(value);
  }
  auto take = [&](const char* key) -> std::optional<std::string> {
    auto it = components.find(key);
    if (it == components.end()) return std::nullopt;
    std::string v = std::move(it->second);
    components.erase(it);
    return v;
  };
  const auto name = take("name");
  if (!name) {
    result.error = "You must supply 'name' to add-scram";
    return result;
  }
  result.name = *name;
  std::optional<std::vector<uint8_t>> salt;
  if (const auto s = take("salt")) {
    salt = base64_decode(*s);
    if (!salt) {
      result.error = "Failed to decode given salt: " + *s;
      return result;
    }
  }
  int32_t iterations = kScramMinIterations;
  if (const auto it = take("iterations")) {
    const char* end = it->data() + it->size();
    auto [ptr, ec] = std::from_chars(it->data(), end, iterations);
    if (it->empty() || ec != std::errc() || ptr != end) {
      result.error = "Failed to parse iterations count: " + *it;
      return result;
    }
  }
  const auto password = take("password");
  const auto salted_text = take("saltedpassword");
  std::optional<std::vector<uint8_t>> salted;
  if (!password) {
    if (!salted_text) {
      result.error = "You must supply one of 'password' or 'saltedpassword' to add-scram";
      return result;
    }
    if (!salt) {
      result.error = "You must supply 'salt' with 'saltedpassword' to add-scram";
      return result;
    }
    salted = base64_decode(*salted_text);
    if (!salted) {
      result.error = "Failed to decode given saltedPassword: " + *salted_text;
      return result;
    }
  }
  if (!components.empty()) {
    std::string keys;
    for (const auto& [k, v] : components) keys += (keys.empty() ? "" : ", ") + k;
    result.error = "Unknown SCRAM configurations: " + keys;
    return result;
  }
  if (!salt) salt = scram_random_salt();
  const std::string mech(scram_name(*mechanism));
  if (iterations < kScramMinIterations) {
    result.error = "The 'iterations' value must be >= " + std::to_string(kScramMinIterations) +
                   " for add-scram using " + mech;
    return result;
  }
  if (iterations > kScramMaxIterations) {
    result.error = "The 'iterations' value must be <= " + std::to_string(kScramMaxIterations) +
                   " for add-scram using " + mech;
    return result;
  }
  if (!salted) salted = scram_salted_password(*mechanism, *password, *salt, iterations);
  result.credential = scram_credential(*mechanism, *salted, *salt, iterations);
  return result;
}

}  // namespace kb::security
