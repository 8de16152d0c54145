#pragma once

#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "kb/broker/config.hpp"
#include "kb/net/tls.hpp"

namespace kb::broker {

// ssl.principal.mapping.rules as Kafka reads it: a comma-separated list of
// DEFAULT (the distinguished name as it is) and RULE:pattern/replacement/
// with an optional L or U (lower or upper case the result). The first rule
// whose pattern matches the whole name gives the name.
class SslPrincipalMapper {
 public:
  // nullopt and `error` set when the rules do not parse.
  static std::optional<SslPrincipalMapper> parse(std::string_view rules, std::string& error);

  // The short name for a certificate's subject (RFC 2253), or nullopt when
  // no rule applies (Kafka then refuses the client).
  std::optional<std::string> name_of(const std::string& distinguished_name) const;

 private:
  struct Rule {
    bool is_default = false;
    std::regex pattern;
    std::string replacement;
    bool to_lower = false;
    bool to_upper = false;
  };
  std::vector<Rule> rules_;
};

// What one TLS listener serves with.
struct ListenerTls {
  std::shared_ptr<const net::TlsContext> context;
  std::shared_ptr<const SslPrincipalMapper> principal_mapper;
};

// Reads listener `listener_name`'s ssl.* keys (listener.name.<name>.ssl.*
// wins over ssl.* key by key, as in Kafka), loads its key and trust stores
// (PEM and PKCS#12; JKS files are refused with a way out) and builds its TLS
// context. On failure returns nullopt and sets `error` to one line naming the
// key (and where it was set).
std::optional<ListenerTls> build_listener_tls(const BrokerConfig& config,
                                              const std::string& listener_name, std::string& error);

// The ssl.* keys whose values are secrets (Kafka's PASSWORD-typed keys):
// DescribeConfigs shows them as sensitive, with no value. Matches the
// listener-prefixed forms too.
bool is_sensitive_ssl_key(std::string_view key);

}  // namespace kb::broker
