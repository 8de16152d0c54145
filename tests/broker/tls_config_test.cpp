// Tests for an SSL listener's keys (build_listener_tls) and for
// ssl.principal.mapping.rules (SslPrincipalMapper), with key and trust
// stores made by the openssl command: PEM files, inline PEM, PKCS#12 under
// its name and under Kafka's default JKS, a real JKS file refused, Kafka's
// messages for inconsistent keys, listener-prefixed keys winning.

#include "kb/broker/tls_config.hpp"

#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "support/test_certificates.hpp"

namespace kb::broker {
namespace {

using testing::TestCertificates;

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// --------------------------------------------------------- principal mapping

std::optional<std::string> map_name(std::string_view rules, const std::string& dn) {
  std::string error;
  auto mapper = SslPrincipalMapper::parse(rules, error);
  EXPECT_TRUE(mapper) << error;
  if (!mapper) return std::nullopt;
  return mapper->name_of(dn);
}

TEST(SslPrincipalMapper, DefaultKeepsTheName) {
  EXPECT_EQ(map_name("DEFAULT", "CN=client,OU=Test,O=Kb,C=US"), "CN=client,OU=Test,O=Kb,C=US");
}

TEST(SslPrincipalMapper, RulesApplyInOrderThenDefault) {
  const std::string rules =
      "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/ , RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),"
      "C=(.*?)$/$1@$2/L,\n RULE:^cn=(.*?),ou=(.*?),dc=(.*?),dc=(.*?)$/$1@$2/U, DEFAULT";
  EXPECT_EQ(map_name(rules, "CN=Duke,OU=ServiceUsers,O=Org,C=US"), "Duke");
  EXPECT_EQ(map_name(rules, "CN=Duke,OU=JavaSoft,O=Sun Microsystems,L=Santa Clara,ST=CA,C=US"),
            "duke@javasoft");
  EXPECT_EQ(map_name(rules, "cn=duke,ou=javasoft,dc=sun,dc=com"), "DUKE@JAVASOFT");
  EXPECT_EQ(map_name(rules, "CN=other"), "CN=other");
}

TEST(SslPrincipalMapper, NoRuleApplying) {
  EXPECT_EQ(map_name("RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/", "CN=client,OU=Test"), std::nullopt);
}

TEST(SslPrincipalMapper, EscapedSlashesAndLiteralDollars) {
  EXPECT_EQ(map_name("RULE:^CN=(.*?)\\/x$/$1\\/y/", "CN=a/x"), "a/y");
}

TEST(SslPrincipalMapper, InvalidRulesAreRefused) {
  for (std::string_view rules :
       {"DEFAULT/L", "DEFAULT/U", "RULE:/", "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/LU",
        "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1", "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L/U", "FOO",
        "DEFAULT, RULE:x/y/ junk"}) {
    std::string error;
    EXPECT_FALSE(SslPrincipalMapper::parse(rules, error)) << rules;
    EXPECT_NE(error.find("Invalid rule"), std::string::npos) << rules << ": " << error;
  }
}

TEST(SslKeys, PasswordsAndKeyMaterialAreSensitive) {
  EXPECT_TRUE(is_sensitive_ssl_key("ssl.keystore.password"));
  EXPECT_TRUE(is_sensitive_ssl_key("ssl.key.password"));
  EXPECT_TRUE(is_sensitive_ssl_key("ssl.keystore.key"));
  EXPECT_TRUE(is_sensitive_ssl_key("listener.name.ssl.ssl.truststore.password"));
  EXPECT_FALSE(is_sensitive_ssl_key("ssl.keystore.location"));
  EXPECT_FALSE(is_sensitive_ssl_key("listener.name.ssl.ssl.client.auth"));
}

// ------------------------------------------------------------- listener keys

class ListenerTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::filesystem::path(::testing::TempDir() + "kb-tls-config-test-" +
                                     std::to_string(::getpid()));
    certs_ = new TestCertificates(*dir_);
    std::ofstream(certs_->path("server-bundle.pem"))
        << slurp(certs_->path("server.pem")) << slurp(certs_->path("server.key"));
    // A JKS file starts with 0xFEEDFEED.
    std::ofstream(certs_->path("server.jks"), std::ios::binary) << "\xFE\xED\xFE\xED rest";
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    std::filesystem::remove_all(*dir_, ec);
    delete certs_;
    delete dir_;
  }

  static std::string file(const std::string& name) { return certs_->path(name).string(); }

  // Builds the SSL listener's TLS from these keys; the error on failure.
  static std::string build(const std::map<std::string, std::string>& keys,
                           const std::string& listener = "SSL") {
    BrokerConfig config;
    for (const auto& [k, v] : keys) config.properties[k] = {v, "server.properties:7"};
    std::string error;
    auto tls = build_listener_tls(config, listener, error);
    if (tls) {
      EXPECT_TRUE(tls->context);
      EXPECT_TRUE(tls->principal_mapper);
      return "";
    }
    EXPECT_FALSE(error.empty());
    return error;
  }

  static std::map<std::string, std::string> pem_files() {
    return {{"ssl.keystore.type", "PEM"},
            {"ssl.keystore.location", file("server-bundle.pem")},
            {"ssl.truststore.type", "PEM"},
            {"ssl.truststore.location", file("ca.pem")}};
  }

  static std::map<std::string, std::string> pkcs12_files() {
    return {{"ssl.keystore.type", "PKCS12"},
            {"ssl.keystore.location", file("server.p12")},
            {"ssl.keystore.password", TestCertificates::kPassword},
            {"ssl.truststore.type", "PKCS12"},
            {"ssl.truststore.location", file("truststore.p12")},
            {"ssl.truststore.password", TestCertificates::kPassword}};
  }

  static std::filesystem::path* dir_;
  static TestCertificates* certs_;
};

std::filesystem::path* ListenerTlsTest::dir_ = nullptr;
TestCertificates* ListenerTlsTest::certs_ = nullptr;

TEST_F(ListenerTlsTest, PemFilesAndInlinePem) {
  EXPECT_EQ(build(pem_files()), "");
  auto keys = pem_files();
  keys["ssl.keystore.location"] = file("server.pem");  // no key in it
  EXPECT_NE(build(keys).find("private key"), std::string::npos);

  // Inline, with the lines joined by spaces as a properties continuation gives them.
  auto one_line = [](std::string text) {
    for (char& c : text)
      if (c == '\n') c = ' ';
    return text;
  };
  EXPECT_EQ(build({{"ssl.keystore.type", "PEM"},
                   {"ssl.keystore.certificate.chain", one_line(slurp(certs_->path("server.pem")))},
                   {"ssl.keystore.key", one_line(slurp(certs_->path("server-encrypted.key")))},
                   {"ssl.key.password", TestCertificates::kPassword},
                   {"ssl.truststore.type", "PEM"},
                   {"ssl.truststore.certificates", slurp(certs_->path("ca.pem"))}}),
            "");
}

TEST_F(ListenerTlsTest, Pkcs12UnderItsNameAndUnderJks) {
  EXPECT_EQ(build(pkcs12_files()), "");
  // Kafka's default type is JKS, whose Java key store reads PKCS#12 too.
  auto keys = pkcs12_files();
  keys.erase("ssl.keystore.type");
  keys.erase("ssl.truststore.type");
  EXPECT_EQ(build(keys), "");
  // A truststore without a password (Java then skips the integrity check).
  keys["ssl.truststore.location"] = file("ca.pem");
  keys["ssl.truststore.type"] = "PEM";
  keys.erase("ssl.truststore.password");
  EXPECT_EQ(build(keys), "");
}

TEST_F(ListenerTlsTest, JksFilesAreRefusedWithAWayOut) {
  auto keys = pkcs12_files();
  keys["ssl.keystore.type"] = "JKS";
  keys["ssl.keystore.location"] = file("server.jks");
  const std::string error = build(keys);
  EXPECT_NE(error.find("server.properties:7: key 'ssl.keystore.location'"), std::string::npos)
      << error;
  EXPECT_NE(error.find("JKS key stores are not supported"), std::string::npos) << error;
  EXPECT_NE(error.find("PKCS12"), std::string::npos) << error;
}

TEST_F(ListenerTlsTest, KafkasMessagesForInconsistentKeys) {
  auto keys = pkcs12_files();
  keys.erase("ssl.keystore.password");
  EXPECT_NE(build(keys).find("key 'ssl.keystore.password': SSL key store is specified, but key "
                             "store password is not specified."),
            std::string::npos);
  keys = pem_files();
  keys["ssl.keystore.password"] = "x";
  EXPECT_NE(build(keys).find("SSL key store password cannot be specified with PEM format"),
            std::string::npos);
  keys = pem_files();
  keys["ssl.truststore.password"] = "x";
  EXPECT_NE(build(keys).find("SSL trust store password cannot be specified for PEM format."),
            std::string::npos);
  keys = pem_files();
  keys["ssl.keystore.key"] = slurp(certs_->path("server.key"));
  EXPECT_NE(build(keys).find("SSL private key is specified, but certificate chain is not"),
            std::string::npos);
  keys = pkcs12_files();
  keys["ssl.keystore.password"] = "wrong";
  EXPECT_NE(build(keys).find("key 'ssl.keystore.location'"), std::string::npos);
  EXPECT_NE(build({}).find("key 'ssl.keystore.location'"), std::string::npos);
  keys = pem_files();
  keys["ssl.truststore.location"] = file("no-such-file.pem");
  EXPECT_NE(build(keys).find("key 'ssl.truststore.location'"), std::string::npos);
}

TEST_F(ListenerTlsTest, ClientAuthProtocolsAndCipherSuites) {
  auto keys = pem_files();
  for (const char* value : {"none", "requested", "required"}) {
    keys["ssl.client.auth"] = value;
    EXPECT_EQ(build(keys), "") << value;
  }
  keys["ssl.client.auth"] = "sometimes";
  EXPECT_NE(build(keys).find("Invalid value sometimes for configuration ssl.client.auth"),
            std::string::npos);
  keys = pem_files();
  keys["ssl.enabled.protocols"] = "TLSv1.3";
  EXPECT_EQ(build(keys), "");
  keys["ssl.enabled.protocols"] = "TLSv1.2, SSLv3";
  EXPECT_NE(build(keys).find("key 'ssl.enabled.protocols'"), std::string::npos);
  keys = pem_files();
  keys["ssl.cipher.suites"] = "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,TLS_AES_256_GCM_SHA384";
  EXPECT_EQ(build(keys), "");
  keys["ssl.cipher.suites"] = "TLS_ECDHE_ECDSA_WITH_NOTHING";
  EXPECT_NE(build(keys).find("Unsupported CipherSuite: TLS_ECDHE_ECDSA_WITH_NOTHING"),
            std::string::npos);
  keys = pem_files();
  keys["ssl.principal.mapping.rules"] = "RULE:oops";
  EXPECT_NE(build(keys).find("key 'ssl.principal.mapping.rules'"), std::string::npos);
}

TEST_F(ListenerTlsTest, ListenerPrefixedKeysWin) {
  auto keys = pem_files();
  keys["ssl.client.auth"] = "sometimes";
  keys["listener.name.secure.ssl.client.auth"] = "required";
  EXPECT_EQ(build(keys, "SECURE"), "");
  EXPECT_NE(build(keys, "SSL").find("ssl.client.auth"), std::string::npos);
  // Only through the prefix.
  std::map<std::string, std::string> prefixed;
  for (const auto& [k, v] : pem_files()) prefixed["listener.name.secure." + k] = v;
  EXPECT_EQ(build(prefixed, "SECURE"), "");
  EXPECT_NE(build(prefixed, "SSL"), "");
}

}  // namespace
}  // namespace kb::broker
