// SSL listeners of the broker binary, with certificates made by the openssl
// command for the suite: Kafka requests over TLS (raw, and kcat's librdkafka
// producing and consuming, a large fetch through the file-range path),
// mutual TLS required on a second listener (a client without certificate,
// with an expired one, or one from another CA refused), a principal mapping
// rule no certificate satisfies, a flood of half-done handshakes while a
// client is served, and start-up errors naming the key.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "kb/protocol/messages/api_versions.hpp"
#include "support/broker_process.hpp"
#include "support/kafka_client.hpp"
#include "support/python_lab.hpp"
#include "support/shell_command.hpp"
#include "support/test_certificates.hpp"
#include "support/tls_client.hpp"

namespace kb::testing {
namespace {

class TlsListenerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::filesystem::path(make_temp_dir("kb-tls-listener-"));
    certs_ = new TestCertificates(*dir_ / "certs");
    std::ofstream(certs_->path("server-bundle.pem"))
        << read_file(certs_->path("server.pem")) << read_file(certs_->path("server.key"));
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    std::filesystem::remove_all(*dir_, ec);
    delete certs_;
    delete dir_;
  }

  static std::string file(const std::string& name) { return certs_->path(name).string(); }

  // PLAINTEXT, SSL (PEM files, client certificates requested) and MTLS (an
  // SSL listener with PKCS#12 stores and client certificates required).
  static std::map<std::string, std::string> listener_keys() {
    return {
        {"listeners",
         "PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0,MTLS://127.0.0.1:0,CONTROLLER://127.0.0.1:0"},
        {"listener.security.protocol.map",
         "PLAINTEXT:PLAINTEXT,SSL:SSL,MTLS:SSL,CONTROLLER:PLAINTEXT"},
        {"ssl.keystore.type", "PEM"},
        {"ssl.keystore.location", file("server-bundle.pem")},
        {"ssl.truststore.type", "PEM"},
        {"ssl.truststore.location", file("ca.pem")},
        {"ssl.client.auth", "requested"},
        {"listener.name.mtls.ssl.keystore.type", "PKCS12"},
        {"listener.name.mtls.ssl.keystore.location", file("server.p12")},
        {"listener.name.mtls.ssl.keystore.password", TestCertificates::kPassword},
        {"listener.name.mtls.ssl.truststore.type", "PKCS12"},
        {"listener.name.mtls.ssl.truststore.location", file("truststore.p12")},
        {"listener.name.mtls.ssl.truststore.password", TestCertificates::kPassword},
        {"listener.name.mtls.ssl.client.auth", "required"},
    };
  }

  // The data directory `name` formatted with two SCRAM users (carol with
  // SCRAM-SHA-512, dave with SCRAM-SHA-256, both "<user>-secret"); empty
  // when format failed (its output is reported).
  static std::filesystem::path scram_formatted_dir(const std::string& name) {
    const std::filesystem::path data = *dir_ / (name + "-data");
    const std::filesystem::path properties = *dir_ / (name + ".properties");
    std::ofstream(properties) << "node.id=1\nlog.dirs=" << data.string() << "\n";
    auto formatted = run_command(
        std::string(KB_BROKER_BINARY) + " format -t q1Sh-9_ISia_zwGINzRvyQ -c " +
        quoted(properties) + " --add-scram 'SCRAM-SHA-512=[name=carol,password=\"carol-secret\"]'" +
        " --add-scram 'SCRAM-SHA-256=[name=dave,password=\"dave-secret\"]'");
    if (formatted.status != 0) {
      ADD_FAILURE() << formatted.output;
      return {};
    }
    return data;
  }

  // A SASL_SSL listener offering PLAIN (alice, a JAAS user with
  // "alice-secret") and both SCRAMs (the users of scram_formatted_dir).
  static std::map<std::string, std::string> sasl_ssl_keys() {
    return {
        {"listeners", "PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0,CONTROLLER://127.0.0.1:0"},
        {"ssl.keystore.type", "PEM"},
        {"ssl.keystore.location", file("server-bundle.pem")},
        {"sasl.enabled.mechanisms", "PLAIN,SCRAM-SHA-512,SCRAM-SHA-256"},
        {"listener.name.sasl_ssl.plain.sasl.jaas.config",
         "org.apache.kafka.common.security.plain.PlainLoginModule required "
         "user_alice=\"alice-secret\";"},
        {"listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config",
         "org.apache.kafka.common.security.scram.ScramLoginModule required;"},
        {"listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config",
         "org.apache.kafka.common.security.scram.ScramLoginModule required;"}};
  }

  static uint16_t listener_port(BrokerProcess& broker, const std::string& name) {
    auto m = broker.wait_for_log(std::regex("Listening on " + name + "://[^:]+:(\\d+)"));
    if (m.size() < 2) return 0;
    return static_cast<uint16_t>(std::stoi(m[1]));
  }

  static TlsClientOptions client_options(const std::string& cert = {}) {
    TlsClientOptions o;
    o.ca_file = file("ca.pem");
    if (!cert.empty()) {
      o.cert_file = file(cert + ".pem");
      o.key_file = file(cert + ".key");
    }
    return o;
  }

  // kcat's options for a listener: the CA, and a client certificate.
  static std::string kcat_ssl(const std::string& cert = {}) {
    std::string out =
        " -X security.protocol=SSL -X ssl.ca.location=" + quoted(certs_->path("ca.pem"));
    if (!cert.empty())
      out += " -X ssl.certificate.location=" + quoted(certs_->path(cert + ".pem")) +
             " -X ssl.key.location=" + quoted(certs_->path(cert + ".key"));
    return out;
  }

  // ApiVersions v3 over `client`; whether a well-formed answer came back.
  static bool api_versions_answered(TlsTestClient& client, int32_t correlation_id) {
    protocol::ApiVersionsRequest request;
    request.client_software_name = "kb-tls-test";
    request.client_software_version = "1.0";
    if (!client.send_all(encode_request(request, 3, correlation_id))) return false;
    auto frame = client.read_frame();
    if (!frame) return false;
    auto split = split_response(*frame, false);
    if (split.correlation_id != correlation_id) return false;
    auto response = decode_response<protocol::ApiVersionsResponse>(split.body, 3);
    return response.error_code == 0 && !response.api_keys.empty();
  }

  static std::filesystem::path* dir_;
  static TestCertificates* certs_;
};

std::filesystem::path* TlsListenerTest::dir_ = nullptr;
TestCertificates* TlsListenerTest::certs_ = nullptr;

TEST_F(TlsListenerTest, RequestsOverTlsWithAndWithoutClientCertificates) {
  BrokerProcess broker(listener_keys());
  const uint16_t ssl = listener_port(broker, "SSL");
  const uint16_t mtls = listener_port(broker, "MTLS");
  ASSERT_NE(ssl, 0);
  ASSERT_NE(mtls, 0);
  {
    TlsTestClient anonymous(ssl, client_options());
    ASSERT_TRUE(anonymous.connected()) << anonymous.error();
    EXPECT_EQ(anonymous.protocol(), "TLSv1.3");
    for (int32_t i = 1; i <= 3; ++i) EXPECT_TRUE(api_versions_answered(anonymous, i));
  }
  {
    TlsClientOptions tls12 = client_options("client");
    tls12.max_version = TLS1_2_VERSION;
    TlsTestClient with_cert(ssl, tls12);
    ASSERT_TRUE(with_cert.connected()) << with_cert.error();
    EXPECT_EQ(with_cert.protocol(), "TLSv1.2");
    EXPECT_TRUE(api_versions_answered(with_cert, 7));
  }
  {
    TlsTestClient mutual(mtls, client_options("client"));
    ASSERT_TRUE(mutual.connected()) << mutual.error();
    EXPECT_TRUE(api_versions_answered(mutual, 8));
  }
  // Refused on the listener that requires a trusted, valid certificate.
  for (const std::string cert : {"", "expired-client", "stranger"}) {
    TlsTestClient refused(mtls, client_options(cert));
    EXPECT_TRUE(!refused.connected() || !api_versions_answered(refused, 9)) << cert;
  }
  EXPECT_FALSE(broker
                   .wait_for_log(std::regex("TLS handshake failed: peer did not return a "
                                            "certificate"))
                   .empty());
  EXPECT_FALSE(broker.wait_for_log(std::regex("certificate has expired")).empty());
  // A plaintext client on a TLS port is not served and costs nothing else.
  {
    RawClient plain(ssl);
    protocol::ApiVersionsRequest request;
    plain.send_bytes(encode_request(request, 3, 1));
    EXPECT_TRUE(plain.closed_by_peer());
  }
  EXPECT_TRUE(broker.alive());
}

TEST_F(TlsListenerTest, KcatProducesAndConsumesOverTlsAndMutualTls) {
  if (!command_succeeds("command -v kcat"))
    GTEST_SKIP() << "kcat is not installed (scripts/install-deps.sh test)";
  BrokerProcess broker(listener_keys());
  const std::string ssl = "127.0.0.1:" + std::to_string(listener_port(broker, "SSL"));
  const std::string mtls = "127.0.0.1:" + std::to_string(listener_port(broker, "MTLS"));
  auto produced = run_command("printf 'one\\ntwo\\nthree\\n' | kcat -b " + ssl + kcat_ssl() +
                              " -P -t tls-topic");
  ASSERT_EQ(produced.status, 0) << produced.output;
  auto produced_mutual =
      run_command("printf 'four\\n' | kcat -b " + mtls + kcat_ssl("client") + " -P -t tls-topic");
  ASSERT_EQ(produced_mutual.status, 0) << produced_mutual.output;
  // Metadata on a TLS listener announces that listener's address.
  auto listed = run_command("kcat -b " + mtls + kcat_ssl("client") + " -L -t tls-topic");
  EXPECT_NE(listed.output.find("broker 1 at " + mtls), std::string::npos) << listed.output;
  for (const auto& [where, options] : std::vector<std::pair<std::string, std::string>>{
           {ssl, kcat_ssl()}, {mtls, kcat_ssl("client")}}) {
    auto consumed =
        run_command("kcat -b " + where + options + " -C -t tls-topic -o beginning -e -q");
    ASSERT_EQ(consumed.status, 0) << consumed.output;
    EXPECT_EQ(consumed.output, "one\ntwo\nthree\nfour\n");
  }
  // Without a certificate the mutual listener serves nothing.
  auto refused = run_command("kcat -b " + mtls + kcat_ssl() + " -m 5 -L -t tls-topic", 20);
  EXPECT_NE(refused.status, 0) << refused.output;
}

// SASL_SSL: the SASL exchange over the TLS transport. kcat (librdkafka)
// authenticates with PLAIN, SCRAM-SHA-512 and SCRAM-SHA-256 over TLS,
// produces and consumes; a wrong password is refused; a client that does not speak TLS
// gets nothing.
TEST_F(TlsListenerTest, KcatAuthenticatesWithSaslOverTls) {
  if (!command_succeeds("command -v kcat"))
    GTEST_SKIP() << "kcat is not installed (scripts/install-deps.sh test)";
  const std::filesystem::path data = scram_formatted_dir("sasl-ssl");
  ASSERT_FALSE(data.empty());
  BrokerProcess broker(sasl_ssl_keys(), data);
  const std::string where = "127.0.0.1:" + std::to_string(listener_port(broker, "SASL_SSL"));
  auto kcat = [&](const std::string& mechanism, const std::string& user,
                  const std::string& password) {
    return "kcat -b " + where +
           " -X security.protocol=SASL_SSL -X ssl.ca.location=" + quoted(certs_->path("ca.pem")) +
           " -X sasl.mechanism=" + mechanism + " -X sasl.username=" + user +
           " -X sasl.password=" + password;
  };
  auto produced = run_command("printf 'one\\ntwo\\n' | " + kcat("PLAIN", "alice", "alice-secret") +
                              " -P -t sasl-ssl-topic");
  ASSERT_EQ(produced.status, 0) << produced.output << broker.log();
  auto consumed = run_command(kcat("SCRAM-SHA-512", "carol", "carol-secret") +
                              " -C -t sasl-ssl-topic -o beginning -e -q");
  ASSERT_EQ(consumed.status, 0) << consumed.output;
  EXPECT_EQ(consumed.output, "one\ntwo\n");
  auto consumed_256 = run_command(kcat("SCRAM-SHA-256", "dave", "dave-secret") +
                                  " -C -t sasl-ssl-topic -o beginning -e -q");
  ASSERT_EQ(consumed_256.status, 0) << consumed_256.output;
  EXPECT_EQ(consumed_256.output, "one\ntwo\n");
  auto refused = run_command(kcat("PLAIN", "alice", "wrong") + " -L -m 5", 30);
  EXPECT_NE(refused.status, 0);
  EXPECT_NE(refused.output.find("Authentication failed"), std::string::npos) << refused.output;
  // Plain SASL without TLS on the same port: no answer.
  auto plaintext = run_command("kcat -b " + where +
                                   " -X security.protocol=SASL_PLAINTEXT -X sasl.mechanism=PLAIN"
                                   " -X sasl.username=alice -X sasl.password=alice-secret -L -m 5",
                               30);
  EXPECT_NE(plaintext.status, 0) << plaintext.output;
}

// confluent-kafka (the Python lab) over SASL_SSL with each mechanism: PLAIN
// (a JAAS user), SCRAM-SHA-512 and SCRAM-SHA-256 (users from format
// --add-scram), each trusting the test CA; a wrong password is refused.
TEST_F(TlsListenerTest, ConfluentKafkaOverSaslSslWithEachMechanism) {
  if (!python_lab_available()) {
    if (labs_required()) FAIL() << "python3.11 with its venv module is not installed";
    GTEST_SKIP() << "python3.11 with its venv module is not installed";
  }
  auto installed = install_python_lab(KB_CLIENT_SCRIPTS_DIR, KB_TEST_CACHE_DIR);
  ASSERT_EQ(installed.status, 0) << installed.output;
  const std::filesystem::path data = scram_formatted_dir("sasl-ssl-python");
  ASSERT_FALSE(data.empty());
  BrokerProcess broker(sasl_ssl_keys(), data);
  const std::string where = "127.0.0.1:" + std::to_string(listener_port(broker, "SASL_SSL"));
  const auto work = make_temp_dir("kb-sasl-ssl-python-");
  auto drive = [&](const std::string& mechanism, const std::string& user,
                   const std::string& password, const std::string& topic) {
    return run_python_driver(python_lab_interpreter(KB_TEST_CACHE_DIR),
                             std::filesystem::path(KB_CLIENT_SCRIPTS_DIR) / "confluent_sasl.py",
                             {where, mechanism, user, password, topic, file("ca.pem")},
                             work / (topic + ".err"));
  };
  for (const auto& [mechanism, user] : std::vector<std::pair<std::string, std::string>>{
           {"PLAIN", "alice"}, {"SCRAM-SHA-512", "carol"}, {"SCRAM-SHA-256", "dave"}}) {
    const auto run = drive(mechanism, user, user + "-secret", "py-ssl-" + user);
    EXPECT_EQ(run.exit_code, 0) << run.err;
    EXPECT_EQ(run.out, "OK " + mechanism + "\n") << run.err << broker.log();
  }
  const auto refused = drive("SCRAM-SHA-256", "dave", "wrong", "py-ssl-refused");
  EXPECT_EQ(refused.exit_code, 0) << refused.err;
  EXPECT_TRUE(refused.out.starts_with("REFUSED")) << refused.out;
  std::error_code ec;
  std::filesystem::remove_all(work, ec);
}

// confluent-kafka from the Python lab (PyPI): an admin client, a producer
// and a group consumer over TLS, then over mutual TLS.
TEST_F(TlsListenerTest, ConfluentKafkaOverTlsAndMutualTls) {
  if (!python_lab_available()) {
    if (labs_required()) FAIL() << "python3.11 with its venv module is not installed";
    GTEST_SKIP() << "python3.11 with its venv module is not installed";
  }
  auto installed = install_python_lab(KB_CLIENT_SCRIPTS_DIR, KB_TEST_CACHE_DIR);
  ASSERT_EQ(installed.status, 0) << installed.output;
  BrokerProcess broker(listener_keys());
  const std::filesystem::path script =
      std::filesystem::path(KB_CLIENT_SCRIPTS_DIR) / "python" / "confluent_tls.py";
  auto dir = make_temp_dir("kb-tls-python-");
  for (const auto& [listener, cert] :
       std::vector<std::pair<std::string, std::string>>{{"SSL", ""}, {"MTLS", "client"}}) {
    std::vector<std::string> args = {"127.0.0.1:" + std::to_string(listener_port(broker, listener)),
                                     file("ca.pem"), "confluent-" + listener, "500"};
    if (!cert.empty()) {
      args.push_back(file(cert + ".pem"));
      args.push_back(file(cert + ".key"));
    }
    DriverRun run =
        run_python_driver(python_lab_interpreter(KB_TEST_CACHE_DIR), script, args, dir / "err.txt");
    EXPECT_EQ(run.exit_code, 0) << run.err;
    EXPECT_EQ(run.out, "created\nproduced 500\nconsumed 500 in order\n") << listener << "\n"
                                                                         << run.err;
  }
  std::filesystem::remove_all(dir);
}

// Fetches much larger than a TLS record: the log's file ranges are read into
// a buffer and written as records (no kernel TLS here).
TEST_F(TlsListenerTest, LargeFetchOverTls) {
  if (!command_succeeds("command -v kcat")) GTEST_SKIP() << "kcat is not installed";
  BrokerProcess broker(listener_keys());
  const std::string plain = "127.0.0.1:" + std::to_string(broker.port());
  const std::string ssl = "127.0.0.1:" + std::to_string(listener_port(broker, "SSL"));
  auto dir = make_temp_dir("kb-tls-fetch-");
  std::string input;
  for (int i = 0; i < 4000; ++i)
    input += std::to_string(i) + ":" + std::string(4000, static_cast<char>('a' + i % 26)) + "\n";
  write_text_file(dir / "input.txt", input);
  auto produced = run_command(
      "kcat -b " + plain + " -P -t big -z none -X linger.ms=50 < " + quoted(dir / "input.txt"),
      120);
  ASSERT_EQ(produced.status, 0) << produced.output;
  auto consumed = run_command("kcat -b " + ssl + kcat_ssl() +
                                  " -C -t big -o beginning -e -q -X fetch.max.bytes=8388608 > " +
                                  quoted(dir / "output.txt"),
                              120);
  ASSERT_EQ(consumed.status, 0) << consumed.output;
  EXPECT_TRUE(read_file(dir / "output.txt") == input) << "the consumed log differs";
  std::filesystem::remove_all(dir);
}

TEST_F(TlsListenerTest, ACertificateNoMappingRuleNamesIsRefused) {
  auto keys = listener_keys();
  keys["listener.name.mtls.ssl.principal.mapping.rules"] = "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L";
  BrokerProcess broker(keys);
  const uint16_t mtls = listener_port(broker, "MTLS");
  TlsTestClient client(mtls, client_options("client"));
  ASSERT_TRUE(client.connected()) << client.error();
  EXPECT_FALSE(api_versions_answered(client, 1));
  // The subject as Java prints it (RFC 2253, most specific first).
  EXPECT_FALSE(broker
                   .wait_for_log(std::regex("no ssl.principal.mapping.rules rule applies to "
                                            "CN=client,OU=Test,O=Kb,C=US"))
                   .empty())
      << broker.log();
}

TEST_F(TlsListenerTest, HalfDoneHandshakesDoNotDelayOthers) {
  auto keys = listener_keys();
  BrokerProcess broker(keys);
  const uint16_t ssl = listener_port(broker, "SSL");
  std::vector<std::unique_ptr<RawClient>> stalled;
  const std::vector<uint8_t> partial_hello = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00};
  for (int i = 0; i < 300; ++i) {
    stalled.push_back(std::make_unique<RawClient>(ssl));
    // A TLS record header promising a ClientHello that never comes.
    if (i % 2 == 0) stalled.back()->send_bytes(partial_hello);
  }
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 10; ++i) {
    TlsTestClient client(ssl, client_options());
    ASSERT_TRUE(client.connected()) << client.error();
    ASSERT_TRUE(api_versions_answered(client, i));
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_TRUE(broker.alive());
}

TEST_F(TlsListenerTest, StartUpErrorsNameTheKey) {
  auto dir = make_temp_dir("kb-tls-cfg-");
  const std::string path = (dir / "server.properties").string();
  auto run_with = [&](const std::string& ssl_lines) {
    std::ofstream(path) << "listeners=SSL://127.0.0.1:0\nlog.dirs=" << (dir / "data").string()
                        << "\n"
                        << ssl_lines;
    return run_broker_once({path}, std::chrono::seconds(20));
  };
  auto no_password =
      run_with("ssl.keystore.type=PKCS12\nssl.keystore.location=" + file("server.p12") + "\n");
  EXPECT_EQ(no_password.first.code, 2);
  EXPECT_NE(no_password.second.find("key 'ssl.keystore.password': SSL key store is specified, "
                                    "but key store password is not specified."),
            std::string::npos)
      << no_password.second;
  auto wrong_password =
      run_with("ssl.keystore.type=PKCS12\nssl.keystore.location=" + file("server.p12") +
               "\nssl.keystore.password=wrong\n");
  EXPECT_EQ(wrong_password.first.code, 2);
  EXPECT_NE(wrong_password.second.find("key 'ssl.keystore.location'"), std::string::npos)
      << wrong_password.second;
  auto bad_auth =
      run_with("ssl.keystore.type=PEM\nssl.keystore.location=" + file("server-bundle.pem") +
               "\nssl.client.auth=maybe\n");
  EXPECT_EQ(bad_auth.first.code, 2);
  EXPECT_NE(bad_auth.second.find("key 'ssl.client.auth'"), std::string::npos) << bad_auth.second;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kb::testing
