#pragma once

#include <map>
#include <memory>
#include <string>

#include "kb/security/jaas.hpp"
#include "kb/security/sasl_server.hpp"

namespace kb::security {

inline constexpr std::string_view kPlainLoginModule =
    "org.apache.kafka.common.security.plain.PlainLoginModule";

// The users SASL/PLAIN accepts: PlainLoginModule's user_<name>="<password>"
// options.
class PlainUsers {
 public:
  PlainUsers() = default;
  static PlainUsers from_jaas(const std::vector<JaasEntry>& entries);
  void add(std::string name, std::string password) {
    passwords_[std::move(name)] = std::move(password);
  }
  const std::string* password(std::string_view user) const;
  size_t size() const { return passwords_.size(); }

 private:
  std::map<std::string, std::string, std::less<>> passwords_;
};

// RFC 4616 as Kafka's PlainSaslServer serves it: one message
// "[authzid] NUL authcid NUL passwd", checked against `users`.
class PlainServer final : public SaslServer {
 public:
  explicit PlainServer(const PlainUsers& users) : users_(users) {}
  std::string_view mechanism() const override { return "PLAIN"; }
  SaslStep evaluate(std::span<const uint8_t> token) override;
  const std::string& authorization_id() const override { return authorization_id_; }

 private:
  const PlainUsers& users_;
  std::string authorization_id_;
  bool complete_ = false;
};

}  // namespace kb::security
