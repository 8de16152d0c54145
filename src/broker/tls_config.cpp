#include "kb/broker/tls_config.hpp"

#include <openssl/ssl.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "kb/base/java_text.hpp"

namespace kb::broker {

namespace {

// The keys whose values are secrets (Kafka types them PASSWORD).
constexpr std::string_view kSensitiveKeys[] = {
    "ssl.keystore.password",          "ssl.key.password",
    "ssl.truststore.password",        "ssl.keystore.key",
    "ssl.keystore.certificate.chain", "ssl.truststore.certificates"};

std::vector<std::string> split_list(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    size_t at = s.find(',');
    std::string_view item = java_trim(s.substr(0, at));
    if (!item.empty()) out.emplace_back(item);
    if (at == std::string_view::npos) break;
    s.remove_prefix(at + 1);
  }
  return out;
}

// One listener's view of the ssl.* keys: the listener-prefixed key first.
class ListenerKeys {
 public:
  ListenerKeys(const BrokerConfig& config, const std::string& listener)
      : config_(config), prefix_("listener.name." + ascii_lower(listener) + ".") {}

  struct Found {
    const PropertySource* source = nullptr;
    std::string key;  // as written (with its prefix, if it had one)
  };

  Found find(std::string_view key) const {
    std::string prefixed = prefix_ + std::string(key);
    if (auto it = config_.properties.find(prefixed); it != config_.properties.end())
      return {&it->second, prefixed};
    if (auto it = config_.properties.find(key); it != config_.properties.end())
      return {&it->second, std::string(key)};
    return {nullptr, std::string(key)};
  }

  // Kafka treats an empty value of these keys as unset.
  std::optional<std::string> value(std::string_view key) const {
    Found f = find(key);
    if (f.source == nullptr || f.source->value.empty()) return std::nullopt;
    return f.source->value;
  }

  std::string where(std::string_view key) const {
    Found f = find(key);
    if (f.source == nullptr) return fmt::format("key '{}'", key);
    return fmt::format("{}: key '{}'", f.source->origin, f.key);
  }

 private:
  const BrokerConfig& config_;
  std::string prefix_;
};

bool read_whole_file(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::stringstream s;
  s << in.rdbuf();
  out = s.str();
  return !in.bad();
}

enum class StoreType { kPem, kPkcs12, kJks };

// Kafka compares PEM exactly; other types go to Java's KeyStore, which
// ignores case. A JKS key store in Java reads PKCS#12 files too.
bool store_type(std::string_view text, StoreType& out) {
  if (text == "PEM") {
    out = StoreType::kPem;
    return true;
  }
  std::string l = ascii_lower(text);
  if (l == "pkcs12") {
    out = StoreType::kPkcs12;
    return true;
  }
  if (l == "jks") {
    out = StoreType::kJks;
    return true;
  }
  return false;
}

// The format of a key or trust store file named PKCS12 or JKS, by its first
// bytes (Java reads either under either name).
bool binary_store_is_pkcs12(const std::string& bytes, std::string& error) {
  if (bytes.size() >= 4 && static_cast<uint8_t>(bytes[0]) == 0xFE &&
      static_cast<uint8_t>(bytes[1]) == 0xED && static_cast<uint8_t>(bytes[2]) == 0xFE &&
      static_cast<uint8_t>(bytes[3]) == 0xED) {
    error =
        "JKS key stores are not supported; convert it to PKCS12 (keytool -importkeystore "
        "-srckeystore <file> -destkeystore <file>.p12 -deststoretype PKCS12) or use PEM";
    return false;
  }
  if (bytes.empty() || static_cast<uint8_t>(bytes[0]) != 0x30) {
    error = "neither a PKCS12 nor a JKS file";
    return false;
  }
  return true;
}

bool parse_versions(const std::vector<std::string>& names, std::vector<int>& out,
                    std::string& error) {
  for (const std::string& name : names) {
    if (name == "TLSv1.3") {
      out.push_back(TLS1_3_VERSION);
    } else if (name == "TLSv1.2") {
      out.push_back(TLS1_2_VERSION);
    } else if (name == "TLSv1.1") {
      out.push_back(TLS1_1_VERSION);
    } else if (name == "TLSv1") {
      out.push_back(TLS1_VERSION);
    } else {
      error = fmt::format("unsupported protocol '{}' (TLSv1.3, TLSv1.2, TLSv1.1, TLSv1)", name);
      return false;
    }
  }
  return true;
}

}  // namespace

// ---------------------------------------------------------- principal mapping

std::optional<SslPrincipalMapper> SslPrincipalMapper::parse(std::string_view rules_text,
                                                            std::string& error) {
  // A rule: DEFAULT, or RULE:pattern/replacement/ with an optional L or U;
  // pattern and replacement may hold escaped characters (\/ and \\).
  SslPrincipalMapper mapper;
  std::string text(java_trim(rules_text));
  size_t at = 0;
  auto skip_spaces = [&] {
    while (at < text.size() && std::isspace(static_cast<unsigned char>(text[at]))) ++at;
  };
  // Up to the next unescaped '/'.
  auto read_part = [&](std::string& part) {
    while (at < text.size() && text[at] != '/') {
      if (text[at] == '\\' && at + 1 < text.size()) {
        part.push_back(text[at]);
        ++at;
      }
      part.push_back(text[at]);
      ++at;
    }
    if (at >= text.size()) return false;
    ++at;  // the '/'
    return true;
  };
  while (at < text.size()) {
    skip_spaces();
    const size_t start = at;
    if (text.compare(at, 7, "DEFAULT") == 0) {
      at += 7;
      mapper.rules_.push_back(Rule{true, {}, {}, false, false});
    } else if (text.compare(at, 5, "RULE:") == 0) {
      at += 5;
      std::string pattern;
      std::string replacement;
      if (!read_part(pattern) || !read_part(replacement)) {
        error = fmt::format("Invalid rule: {}", text.substr(start));
        return std::nullopt;
      }
      Rule rule;
      if (at < text.size() && (text[at] == 'L' || text[at] == 'U')) {
        rule.to_lower = text[at] == 'L';
        rule.to_upper = text[at] == 'U';
        ++at;
      }
      try {
        rule.pattern = std::regex(pattern);
      } catch (const std::regex_error& e) {
        error = fmt::format("Invalid rule pattern '{}': {}", pattern, e.what());
        return std::nullopt;
      }
      // Java's "\$" (a literal dollar) is "$$" in this replacement syntax.
      for (size_t i = 0; i < replacement.size(); ++i) {
        if (replacement[i] == '\\' && i + 1 < replacement.size()) {
          ++i;
          if (replacement[i] == '$') rule.replacement += '$';
        }
        rule.replacement += replacement[i];
      }
      mapper.rules_.push_back(std::move(rule));
    }
    // Whatever else up to the next comma makes the rule invalid (Kafka's
    // parser takes anything there and then refuses the unmatched rest).
    skip_spaces();
    if (at < text.size() && text[at] != ',') {
      size_t end = text.find(',', at);
      std::string rule = text.substr(start, end == std::string::npos ? end : end - start);
      error = fmt::format("Invalid rule: `{}`, unmatched substring: `{}`", java_trim(rule),
                          java_trim(text.substr(at, end == std::string::npos ? end : end - at)));
      return std::nullopt;
    }
    if (at < text.size()) ++at;  // the ','
  }
  return mapper;
}

std::optional<std::string> SslPrincipalMapper::name_of(
    const std::string& distinguished_name) const {
  for (const Rule& rule : rules_) {
    if (rule.is_default) return distinguished_name;
    if (!std::regex_match(distinguished_name, rule.pattern)) continue;
    std::string name = std::regex_replace(distinguished_name, rule.pattern, rule.replacement);
    if (rule.to_lower)
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (rule.to_upper)
      for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return name;
  }
  return std::nullopt;
}

bool is_sensitive_ssl_key(std::string_view key) {
  if (key.starts_with("listener.name.")) {
    key.remove_prefix(14);
    size_t dot = key.find('.');
    if (dot == std::string_view::npos) return false;
    key.remove_prefix(dot + 1);
  }
  return std::find(std::begin(kSensitiveKeys), std::end(kSensitiveKeys), key) !=
         std::end(kSensitiveKeys);
}

// ------------------------------------------------------------ listener TLS

std::optional<ListenerTls> build_listener_tls(const BrokerConfig& config,
                                              const std::string& listener_name,
                                              std::string& error) {
  const ListenerKeys keys(config, listener_name);
  auto fail = [&](std::string_view key, std::string_view why) {
    error = fmt::format("{}: {} (listener {})", keys.where(key), why, listener_name);
    return std::nullopt;
  };
  net::TlsOptions options;

  // ssl.client.auth
  const std::string client_auth = keys.value("ssl.client.auth").value_or("none");
  if (client_auth == "none") {
    options.client_auth = net::TlsClientAuth::kNone;
  } else if (client_auth == "requested") {
    options.client_auth = net::TlsClientAuth::kRequested;
  } else if (client_auth == "required") {
    options.client_auth = net::TlsClientAuth::kRequired;
  } else {
    return fail("ssl.client.auth",
                fmt::format("Invalid value {} for configuration ssl.client.auth: String must be "
                            "one of: required, requested, none",
                            client_auth));
  }

  // ssl.protocol names the context Java creates; ssl.enabled.protocols the
  // versions it speaks.
  const std::string protocol = keys.value("ssl.protocol").value_or("TLSv1.3");
  if (protocol != "TLS" && protocol != "TLSv1.3" && protocol != "TLSv1.2" &&
      protocol != "TLSv1.1" && protocol != "TLSv1")
    return fail("ssl.protocol", fmt::format("{} SSLContext not available", protocol));
  std::vector<std::string> enabled =
      split_list(keys.value("ssl.enabled.protocols").value_or("TLSv1.2,TLSv1.3"));
  if (enabled.empty()) enabled = {"TLSv1.2", "TLSv1.3"};
  std::string why;
  if (!parse_versions(enabled, options.versions, why)) return fail("ssl.enabled.protocols", why);

  // ssl.cipher.suites: IANA (Java) names, split by TLS version.
  if (auto suites = keys.value("ssl.cipher.suites")) {
    std::vector<std::string> tls12, tls13;
    for (const std::string& name : split_list(*suites)) {
      if (net::is_tls13_suite(name)) {
        tls13.push_back(name);
        continue;
      }
      std::string converted = net::openssl_cipher_name(name);
      if (converted.empty())
        return fail("ssl.cipher.suites", fmt::format("Unsupported CipherSuite: {}", name));
      tls12.push_back(converted);
    }
    auto join = [](const std::vector<std::string>& names, char sep) {
      std::string out;
      for (const auto& n : names) out += (out.empty() ? "" : std::string(1, sep)) + n;
      return out;
    };
    // A version left with no suite of its own offers none: OpenSSL's empty
    // TLS 1.3 list turns 1.3 off, as Java's engine would.
    options.cipher_list = tls12.empty() ? "" : join(tls12, ':');
    options.cipher_suites = join(tls13, ':');
    if (tls12.empty() && !tls13.empty())
      options.versions.erase(std::remove_if(options.versions.begin(), options.versions.end(),
                                            [](int v) { return v < TLS1_3_VERSION; }),
                             options.versions.end());
    if (tls13.empty() && !tls12.empty())
      options.versions.erase(
          std::remove(options.versions.begin(), options.versions.end(), TLS1_3_VERSION),
          options.versions.end());
    if (options.cipher_suites.empty()) options.cipher_suites = "TLS_AES_128_GCM_SHA256";
    if (options.versions.empty())
      return fail("ssl.cipher.suites", "no cipher suite for any enabled protocol");
  }

  // Key store.
  const std::string keystore_type_text = keys.value("ssl.keystore.type").value_or("JKS");
  StoreType keystore_type{};
  if (!store_type(keystore_type_text, keystore_type))
    return fail("ssl.keystore.type", fmt::format("{} not found", keystore_type_text));
  const auto keystore_location = keys.value("ssl.keystore.location");
  const auto keystore_password = keys.value("ssl.keystore.password");
  const auto key_password = keys.value("ssl.key.password");
  const auto inline_key = keys.value("ssl.keystore.key");
  const auto inline_chain = keys.value("ssl.keystore.certificate.chain");
  if (inline_key) {
    if (keystore_type != StoreType::kPem)
      return fail("ssl.keystore.key",
                  fmt::format("SSL private key can be specified only for PEM, but key store type "
                              "is {}.",
                              keystore_type_text));
    if (!inline_chain)
      return fail("ssl.keystore.key",
                  "SSL private key is specified, but certificate chain is not specified.");
    if (keystore_location)
      return fail("ssl.keystore.location",
                  "Both SSL key store location and separate private key are specified.");
    if (keystore_password)
      return fail("ssl.keystore.password",
                  "SSL key store password cannot be specified with PEM format, only key password "
                  "may be specified.");
    options.key_store.format = net::TlsKeyStore::Format::kPem;
    options.key_store.certificate_chain = *inline_chain;
    options.key_store.private_key = *inline_key;
    options.key_store.key_password = key_password;
  } else if (inline_chain) {
    return fail("ssl.keystore.certificate.chain",
                "SSL certificate chain is specified, but private key is not specified");
  } else if (!keystore_location) {
    if (keystore_password)
      return fail("ssl.keystore.password",
                  "SSL key store is not specified, but key store password is specified.");
    return fail("ssl.keystore.location",
                "an SSL listener needs a key store: set ssl.keystore.location (or "
                "ssl.keystore.key and ssl.keystore.certificate.chain)");
  } else {
    std::string bytes;
    if (!read_whole_file(*keystore_location, bytes))
      return fail("ssl.keystore.location",
                  fmt::format("Failed to load SSL keystore {} of type {}: cannot read the file",
                              *keystore_location, keystore_type_text));
    if (keystore_type == StoreType::kPem) {
      if (keystore_password)
        return fail("ssl.keystore.password",
                    "SSL key store password cannot be specified with PEM format, only key "
                    "password may be specified");
      options.key_store.format = net::TlsKeyStore::Format::kPem;
      options.key_store.certificate_chain = bytes;
      options.key_store.private_key = bytes;
      options.key_store.key_password = key_password;
    } else {
      if (!keystore_password)
        return fail("ssl.keystore.password",
                    "SSL key store is specified, but key store password is not specified.");
      if (!binary_store_is_pkcs12(bytes, why))
        return fail("ssl.keystore.location",
                    fmt::format("Failed to load SSL keystore {} of type {}: {}", *keystore_location,
                                keystore_type_text, why));
      options.key_store.format = net::TlsKeyStore::Format::kPkcs12;
      options.key_store.pkcs12 = std::move(bytes);
      options.key_store.password = keystore_password;
      options.key_store.key_password = key_password ? key_password : keystore_password;
    }
  }

  // Trust store.
  const std::string truststore_type_text = keys.value("ssl.truststore.type").value_or("JKS");
  StoreType truststore_type{};
  if (!store_type(truststore_type_text, truststore_type))
    return fail("ssl.truststore.type", fmt::format("{} not found", truststore_type_text));
  const auto truststore_location = keys.value("ssl.truststore.location");
  const auto truststore_password = keys.value("ssl.truststore.password");
  if (auto certificates = keys.value("ssl.truststore.certificates")) {
    if (truststore_type != StoreType::kPem)
      return fail("ssl.truststore.certificates",
                  fmt::format("SSL trust store certs can be specified only for PEM, but trust "
                              "store type is {}.",
                              truststore_type_text));
    if (truststore_location)
      return fail("ssl.truststore.location",
                  "Both SSL trust store location and separate trust certificates are specified.");
    if (truststore_password)
      return fail("ssl.truststore.password",
                  "SSL trust store password cannot be specified for PEM format.");
    options.trust_store.format = net::TlsTrustStore::Format::kPem;
    options.trust_store.certificates = *certificates;
  } else if (truststore_location) {
    std::string bytes;
    if (!read_whole_file(*truststore_location, bytes))
      return fail("ssl.truststore.location",
                  fmt::format("Failed to load SSL keystore {} of type {}: cannot read the file",
                              *truststore_location, truststore_type_text));
    if (truststore_type == StoreType::kPem) {
      if (truststore_password)
        return fail("ssl.truststore.password",
                    "SSL trust store password cannot be specified for PEM format.");
      options.trust_store.format = net::TlsTrustStore::Format::kPem;
      options.trust_store.certificates = std::move(bytes);
    } else {
      if (!binary_store_is_pkcs12(bytes, why))
        return fail("ssl.truststore.location",
                    fmt::format("Failed to load SSL keystore {} of type {}: {}",
                                *truststore_location, truststore_type_text, why));
      options.trust_store.format = net::TlsTrustStore::Format::kPkcs12;
      options.trust_store.pkcs12 = std::move(bytes);
      options.trust_store.password = truststore_password;
    }
  } else if (truststore_password) {
    return fail("ssl.truststore.password",
                "SSL trust store is not specified, but trust store password is specified.");
  }

  std::string rules_error;
  auto mapper = SslPrincipalMapper::parse(
      keys.value("ssl.principal.mapping.rules").value_or("DEFAULT"), rules_error);
  if (!mapper) return fail("ssl.principal.mapping.rules", rules_error);

  std::string context_error;
  auto context = net::TlsContext::create(options, context_error);
  if (!context) {
    // Name the key whose material failed.
    const bool trust = context_error.starts_with("trust store");
    std::string_view key =
        trust ? (truststore_location ? "ssl.truststore.location" : "ssl.truststore.certificates")
              : (keystore_location ? "ssl.keystore.location" : "ssl.keystore.key");
    if (context_error.find("cipher suite") != std::string::npos) key = "ssl.cipher.suites";
    return fail(key, context_error);
  }
  ListenerTls tls;
  tls.context = std::move(context);
  tls.principal_mapper = std::make_shared<const SslPrincipalMapper>(std::move(*mapper));
  return tls;
}

}  // namespace kb::broker
