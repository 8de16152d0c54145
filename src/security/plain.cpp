#include "kb/security/plain.hpp"

#include <algorithm>
#include <string_view>
#include <vector>

namespace kb::security {

namespace {

constexpr std::string_view kUserPrefix = "user_";

SaslStep failed(std::string message) {
  SaslStep step;
  step.outcome = SaslStep::Outcome::kFailed;
  step.error = std::move(message);
  return step;
}

}  // namespace

bool equal_constant_time(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  // Every byte of the longer one is looked at, whatever the lengths.
  const size_t n = std::max(a.size(), b.size());
  uint8_t diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < n; ++i) {
    const uint8_t x = i < a.size() ? a[i] : 0;
    const uint8_t y = i < b.size() ? b[i] : 0;
    diff = static_cast<uint8_t>(diff | (x ^ y));
  }
  return diff == 0;
}

PlainUsers PlainUsers::from_jaas(const std::vector<JaasEntry>& entries) {
  PlainUsers users;
  for (const JaasEntry& e : entries) {
    if (e.login_module != kPlainLoginModule) continue;
    for (const auto& [key, value] : e.options)
      if (key.starts_with(kUserPrefix) && !users.password(key.substr(kUserPrefix.size())))
        users.add(key.substr(kUserPrefix.size()), value);
  }
  return users;
}

const std::string* PlainUsers::password(std::string_view user) const {
  auto it = passwords_.find(user);
  return it == passwords_.end() ? nullptr : &it->second;
}

SaslStep PlainServer::evaluate(std::span<const uint8_t> token) {
  if (complete_) return failed("Authentication failed: PLAIN exchange already complete");
  const std::string_view message(reinterpret_cast<const char*>(token.data()), token.size());
  // Up to four NUL-separated parts are looked for; exactly three are valid.
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (int i = 0; i < 4; ++i) {
    const size_t end = message.find('\0', start);
    if (end == std::string_view::npos) {
      parts.push_back(message.substr(start));
      break;
    }
    parts.push_back(message.substr(start, end - start));
    start = end + 1;
  }
  if (parts.size() != 3)
    return failed("Invalid SASL/PLAIN response: expected 3 tokens, got " +
                  std::to_string(parts.size()));
  const std::string_view authorization_id = parts[0];
  const std::string_view username = parts[1];
  const std::string_view password = parts[2];
  if (username.empty()) return failed("Authentication failed: username not specified");
  if (password.empty()) return failed("Authentication failed: password not specified");
  const std::string* expected = users_.password(username);
  const auto as_bytes = [](std::string_view s) {
    return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  };
  if (expected == nullptr || !equal_constant_time(as_bytes(password), as_bytes(*expected)))
    return failed("Authentication failed: Invalid username or password");
  if (!authorization_id.empty() && authorization_id != username)
    return failed(
        "Authentication failed: Client requested an authorization id that is different from "
        "username");
  authorization_id_ = std::string(username);
  complete_ = true;
  SaslStep step;
  step.outcome = SaslStep::Outcome::kComplete;
  return step;
}

}  // namespace kb::security
