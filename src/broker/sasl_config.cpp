#include "kb/broker/sasl_config.hpp"

#include <cctype>
#include <charconv>
#include <limits>

#include <fmt/format.h>

#include "kb/base/java_text.hpp"
#include "kb/security/jaas.hpp"

namespace kb::broker {

namespace {

class SaslKeys {
 public:
  SaslKeys(const BrokerConfig& config, const std::string& listener)
      : config_(config), prefix_("listener.name." + ascii_lower(listener) + ".") {}

  // The entry for `key`, the listener's own first; with a mechanism, the
  // listener's mechanism-prefixed one before those.
  const std::pair<const std::string, PropertySource>* find(std::string_view key,
                                                           std::string_view mechanism = {}) const {
    std::string name;
    if (!mechanism.empty()) {
      name = prefix_ + ascii_lower(mechanism) + "." + std::string(key);
      if (auto it = config_.properties.find(name); it != config_.properties.end()) return &*it;
    }
    name = prefix_ + std::string(key);
    if (auto it = config_.properties.find(name); it != config_.properties.end()) return &*it;
    if (auto it = config_.properties.find(key); it != config_.properties.end()) return &*it;
    return nullptr;
  }

  std::string jaas_key(std::string_view mechanism) const {
    return prefix_ + ascii_lower(mechanism) + ".sasl.jaas.config";
  }

 private:
  const BrokerConfig& config_;
  std::string prefix_;
};

std::string key_error(const std::pair<const std::string, PropertySource>& e, std::string_view why) {
  return fmt::format("{}: key '{}': {}", e.second.origin, e.first, why);
}

bool parse_long(std::string_view v, int64_t& out) {
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  return !v.empty() && ec == std::errc() && end == v.data() + v.size();
}

std::string read_listener(BrokerConfig& config, const ListenerConfig& listener,
                          security::SaslMechanisms& out) {
  const SaslKeys keys(config, listener.name);
  // Kafka's default is GSSAPI, which this broker does not serve.
  std::string enabled_text = "GSSAPI";
  const auto* enabled_entry = keys.find("sasl.enabled.mechanisms");
  if (enabled_entry != nullptr) enabled_text = enabled_entry->second.value;
  for (size_t start = 0; start <= enabled_text.size();) {
    size_t comma = enabled_text.find(',', start);
    if (comma == std::string::npos) comma = enabled_text.size();
    const std::string_view item =
        java_trim(std::string_view(enabled_text).substr(start, comma - start));
    if (!item.empty()) out.enabled.emplace_back(item);
    start = comma + 1;
  }
  const std::string where =
      enabled_entry != nullptr
          ? fmt::format("{}: key '{}'", enabled_entry->second.origin, enabled_entry->first)
          : std::string("sasl.enabled.mechanisms (default GSSAPI)");
  if (out.enabled.empty())
    return fmt::format("{}: listener {} uses {} but no SASL mechanism is enabled", where,
                       listener.name, "SASL");
  for (const std::string& mechanism : out.enabled) {
    if (!security::is_supported_mechanism(mechanism))
      return fmt::format(
          "{}: SASL mechanism {} of listener {} is not supported by this broker (it serves "
          "PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512)",
          where, mechanism, listener.name);
    const std::string jaas_key = keys.jaas_key(mechanism);
    auto jaas = config.properties.find(jaas_key);
    if (jaas == config.properties.end())
      return fmt::format(
          "listener {}: SASL mechanism {} needs its users in '{}' (Kafka: Could not find a "
          "'KafkaServer' or '{}.KafkaServer' entry in the JAAS configuration)",
          listener.name, mechanism, jaas_key, ascii_lower(listener.name));
    const security::JaasParseResult parsed = security::parse_jaas_config(jaas->second.value);
    if (!parsed.error.empty()) return key_error(*jaas, parsed.error);
    if (parsed.entries.size() != 1)
      return key_error(*jaas, fmt::format("JAAS config property contains {} login modules, should "
                                          "be 1 module",
                                          parsed.entries.size()));
    if (mechanism == "PLAIN") {
      if (parsed.entries[0].login_module != security::kPlainLoginModule)
        return key_error(*jaas, fmt::format("PLAIN takes {}, not {}", security::kPlainLoginModule,
                                            parsed.entries[0].login_module));
      out.plain_users = security::PlainUsers::from_jaas(parsed.entries);
    }
    if (security::scram_mechanism(mechanism) &&
        parsed.entries[0].login_module != security::kScramLoginModule)
      return key_error(*jaas,
                       fmt::format("{} takes {}, not {}", mechanism, security::kScramLoginModule,
                                   parsed.entries[0].login_module));
    if (const auto* reauth = keys.find("connections.max.reauth.ms", mechanism)) {
      int64_t ms = 0;
      if (!parse_long(reauth->second.value, ms))
        return key_error(*reauth, fmt::format("'{}' is not a long", reauth->second.value));
      out.max_reauth_ms[mechanism] = ms;
    }
  }
  if (const auto* size = keys.find("sasl.server.max.receive.size")) {
    int64_t v = 0;
    if (!parse_long(size->second.value, v) || v < 0 || v > std::numeric_limits<int32_t>::max())
      return key_error(*size, fmt::format("'{}' is not an int", size->second.value));
    out.max_receive_size = static_cast<int32_t>(v);
  }
  return {};
}

}  // namespace

std::string read_sasl_config(BrokerConfig& config) {
  for (const ListenerConfig& l : config.listeners) {
    if (l.protocol != SecurityProtocol::kSaslPlaintext && l.protocol != SecurityProtocol::kSaslSsl)
      continue;
    security::SaslMechanisms mechanisms;
    std::string error = read_listener(config, l, mechanisms);
    if (!error.empty()) return error;
    config.sasl[l.name] = std::move(mechanisms);
  }
  return {};
}

}  // namespace kb::broker
