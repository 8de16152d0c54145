// SASL_PLAINTEXT listeners against the real broker binary, frame by frame:
// what an unauthenticated connection may send, PLAIN's answers and failures,
// re-authentication and session expiry (KIP-368), SaslHandshake v0's bare
// tokens.

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <fstream>
#include <regex>
#include <span>
#include <string>
#include <thread>

#include "kb/protocol/messages/api_versions.hpp"
#include "kb/protocol/messages/describe_configs.hpp"
#include "kb/protocol/messages/metadata.hpp"
#include "kb/protocol/messages/sasl.hpp"
#include "kb/protocol/messages/user_scram_credentials.hpp"
#include "kb/security/scram.hpp"
#include "support/broker_process.hpp"
#include "support/kafka_client.hpp"
#include "support/python_lab.hpp"
#include "support/shell_command.hpp"

namespace kb::testing {
namespace {

using protocol::ApiVersionsRequest;
using protocol::ApiVersionsResponse;
using protocol::MetadataRequest;
using protocol::MetadataResponse;
using protocol::SaslAuthenticateRequest;
using protocol::SaslAuthenticateResponse;
using protocol::SaslHandshakeRequest;
using protocol::SaslHandshakeResponse;

constexpr int16_t kUnsupportedSaslMechanism = 33;
constexpr int16_t kIllegalSaslState = 34;
constexpr int16_t kSaslAuthenticationFailed = 58;

constexpr int16_t kResourceNotFound = 91;
constexpr int16_t kDuplicateResource = 92;
constexpr int16_t kUnacceptableCredential = 93;

std::map<std::string, std::string> sasl_config(std::map<std::string, std::string> more = {}) {
  std::map<std::string, std::string> c{
      {"listeners",
       "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:0"},
      {"sasl.enabled.mechanisms", "PLAIN"},
      {"listener.name.sasl_plaintext.plain.sasl.jaas.config",
       "org.apache.kafka.common.security.plain.PlainLoginModule required "
       "username=\"admin\" password=\"admin-secret\" user_admin=\"admin-secret\" "
       "user_alice=\"alice-secret\";"}};
  if (more.contains("sasl.enabled.mechanisms") &&
      more["sasl.enabled.mechanisms"].find("SCRAM") != std::string::npos) {
    for (const char* m : {"scram-sha-256", "scram-sha-512"})
      c[std::string("listener.name.sasl_plaintext.") + m + ".sasl.jaas.config"] =
          "org.apache.kafka.common.security.scram.ScramLoginModule required;";
  }
  for (auto& [k, v] : more) c[k] = v;
  return c;
}

uint16_t sasl_port(BrokerProcess& broker) {
  auto m = broker.wait_for_log(std::regex("Listening on SASL_PLAINTEXT://[^ ]*:([0-9]+)"));
  if (m.size() < 2) throw std::runtime_error("no SASL listener:\n" + broker.log());
  return static_cast<uint16_t>(std::stoi(m[1]));
}

std::vector<uint8_t> plain_token(std::string_view user, std::string_view password) {
  std::string t(1, '\0');
  t += user;
  t += '\0';
  t += password;
  return {t.begin(), t.end()};
}

SaslHandshakeResponse handshake(RawClient& c, std::string_view mechanism, int16_t version = 1) {
  SaslHandshakeRequest req;
  req.mechanism = mechanism;
  std::vector<uint8_t> body;
  return call<SaslHandshakeResponse>(c, req, version, body, 1);
}

SaslAuthenticateResponse authenticate(RawClient& c, const std::vector<uint8_t>& token,
                                      int16_t version = 2) {
  SaslAuthenticateRequest req;
  req.auth_bytes = token;
  std::vector<uint8_t> body;
  return call<SaslAuthenticateResponse>(c, req, version, body, 2);
}

MetadataResponse metadata(RawClient& c) {
  MetadataRequest req;  // all topics
  std::vector<uint8_t> body;
  return call<MetadataResponse>(c, req, 12, body, 3);
}

// ClientProof = ClientKey XOR HMAC(StoredKey, AuthMessage) for SCRAM-SHA-512.
std::vector<uint8_t> scram_client_proof(const std::vector<uint8_t>& salted,
                                        const std::string& auth_message) {
  auto hmac = [](std::span<const uint8_t> key, std::span<const uint8_t> data) {
    std::vector<uint8_t> out(EVP_MAX_MD_SIZE);
    unsigned int len = 0;
    HMAC(EVP_sha512(), key.data(), static_cast<int>(key.size()), data.data(), data.size(),
         out.data(), &len);
    out.resize(len);
    return out;
  };
  const std::string client_key_label = "Client Key";
  const auto client_key =
      hmac(salted, std::span(reinterpret_cast<const uint8_t*>(client_key_label.data()),
                             client_key_label.size()));
  std::vector<uint8_t> stored_key(EVP_MAX_MD_SIZE);
  unsigned int len = 0;
  EVP_Digest(client_key.data(), client_key.size(), stored_key.data(), &len, EVP_sha512(), nullptr);
  stored_key.resize(len);
  const auto signature =
      hmac(stored_key,
           std::span(reinterpret_cast<const uint8_t*>(auth_message.data()), auth_message.size()));
  std::vector<uint8_t> proof(client_key.size());
  for (size_t i = 0; i < proof.size(); ++i) proof[i] = client_key[i] ^ signature[i];
  return proof;
}

std::vector<uint8_t> metadata_frame() { return encode_request(MetadataRequest{}, 12, 3); }

class SaslTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    broker_ = std::make_unique<BrokerProcess>(
        sasl_config({{"sasl.enabled.mechanisms", "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512"},
                     // A broker's own client login (unused here): a secret all the same.
                     {"sasl.jaas.config",
                      "org.apache.kafka.common.security.plain.PlainLoginModule required "
                      "username=\"admin\" password=\"jaas-secret\";"}}));
    port_ = sasl_port(*broker_);
  }
  static void TearDownTestSuite() { broker_.reset(); }
  static std::unique_ptr<BrokerProcess> broker_;
  static uint16_t port_;
};
std::unique_ptr<BrokerProcess> SaslTest::broker_;
uint16_t SaslTest::port_ = 0;

TEST_F(SaslTest, PlainAuthenticatesThenEveryApiIsServed) {
  RawClient c(port_);
  ApiVersionsRequest av;
  std::vector<uint8_t> body;
  auto versions = call<ApiVersionsResponse>(c, av, 3, body, 0);
  EXPECT_EQ(versions.error_code, 0);
  const auto hs = handshake(c, "PLAIN");
  EXPECT_EQ(hs.error_code, 0);
  EXPECT_EQ(hs.mechanisms, (std::vector<std::string>{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"}));
  const auto auth = authenticate(c, plain_token("alice", "alice-secret"));
  EXPECT_EQ(auth.error_code, 0);
  EXPECT_FALSE(auth.error_message.has_value());
  EXPECT_TRUE(auth.auth_bytes.empty());
  EXPECT_EQ(auth.session_lifetime_ms, 0);  // no connections.max.reauth.ms
  EXPECT_EQ(metadata(c).brokers.size(), 1u);
  // Once authenticated, the exchange is over (Kafka's KafkaApis answers so).
  const auto again = authenticate(c, plain_token("alice", "alice-secret"));
  EXPECT_EQ(again.error_code, kIllegalSaslState);
  EXPECT_EQ(again.error_message,
            "SaslAuthenticate request received after successful authentication");
  // A v0 client cannot re-authenticate: its handshake is refused the same way.
  RawClient v0(port_);
  ASSERT_EQ(handshake(v0, "PLAIN").error_code, 0);
  ASSERT_EQ(authenticate(v0, plain_token("alice", "alice-secret"), 0).error_code, 0);
  EXPECT_EQ(handshake(v0, "PLAIN").error_code, kIllegalSaslState);
}

TEST_F(SaslTest, NothingElseBeforeAuthentication) {
  {
    RawClient c(port_);
    c.send_bytes(metadata_frame());
    EXPECT_FALSE(c.read_frame().has_value());  // closed, unanswered
  }
  {
    RawClient c(port_);  // after the handshake, only SaslAuthenticate
    ASSERT_EQ(handshake(c, "PLAIN").error_code, 0);
    c.send_bytes(metadata_frame());
    EXPECT_FALSE(c.read_frame().has_value());
  }
  {
    RawClient c(port_);  // ApiVersions only first, and once
    ApiVersionsRequest av;
    std::vector<uint8_t> body;
    ASSERT_EQ(call<ApiVersionsResponse>(c, av, 3, body, 0).error_code, 0);
    c.send_bytes(encode_request(av, 3, 1));
    EXPECT_FALSE(c.read_frame().has_value());
  }
  // The PLAINTEXT listener of the same broker needs none of it.
  RawClient plain(broker_->port());
  EXPECT_EQ(metadata(plain).brokers.size(), 1u);
  EXPECT_EQ(handshake(plain, "PLAIN").error_code, kIllegalSaslState);
}

TEST_F(SaslTest, DescribeConfigsHidesTheJaasConfig) {
  RawClient c(broker_->port());
  protocol::DescribeConfigsRequest req;
  req.resources.push_back({4, "1", std::nullopt});  // every config of broker 1
  req.include_synonyms = true;
  std::vector<uint8_t> body;
  const auto resp = call<protocol::DescribeConfigsResponse>(c, req, 4, body, 5);
  ASSERT_EQ(resp.results.size(), 1u);
  ASSERT_FALSE(resp.results[0].configs.empty());
  for (const auto& config : resp.results[0].configs) {
    EXPECT_EQ(config.value.value_or("").find("secret"), std::string::npos) << config.name;
    for (const auto& s : config.synonyms)
      EXPECT_EQ(s.value.value_or("").find("secret"), std::string::npos) << s.name;
    // What Kafka types as a password is sensitive and never shown.
    if (config.config_type == 9) {
      EXPECT_TRUE(config.is_sensitive) << config.name;
      EXPECT_FALSE(config.value.has_value()) << config.name;
    }
  }
  // The listener's JAAS config, set in server.properties, is listed hidden.
  bool listed = false;
  for (const auto& config : resp.results[0].configs) {
    if (config.name != "listener.name.sasl_plaintext.plain.sasl.jaas.config") continue;
    listed = true;
    EXPECT_TRUE(config.is_sensitive);
    EXPECT_FALSE(config.value.has_value());
  }
  EXPECT_TRUE(listed);
}

TEST_F(SaslTest, UnsupportedMechanismListsTheEnabledOnesAndCloses) {
  RawClient c(port_);
  const auto hs = handshake(c, "GSSAPI");
  EXPECT_EQ(hs.error_code, kUnsupportedSaslMechanism);
  EXPECT_EQ(hs.mechanisms, (std::vector<std::string>{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"}));
  EXPECT_TRUE(c.closed_by_peer());
}

TEST_F(SaslTest, WrongPasswordAndUnknownUserFailAndClose) {
  for (const auto& [user, password] : {std::pair{"alice", "wrong"}, {"mallory", "alice-secret"}}) {
    RawClient c(port_);
    ASSERT_EQ(handshake(c, "PLAIN").error_code, 0);
    const auto auth = authenticate(c, plain_token(user, password));
    EXPECT_EQ(auth.error_code, kSaslAuthenticationFailed);
    EXPECT_EQ(auth.error_message, "Authentication failed: Invalid username or password");
    EXPECT_TRUE(c.closed_by_peer());
    EXPECT_EQ(broker_->log().find(password == std::string("wrong") ? "wrong" : "alice-secret"),
              std::string::npos)
        << "a password was logged";
  }
}

TEST_F(SaslTest, HandshakeV0TakesBareTokens) {
  RawClient c(port_);
  ASSERT_EQ(handshake(c, "PLAIN", 0).error_code, 0);
  const std::vector<uint8_t> token = plain_token("alice", "alice-secret");
  std::vector<uint8_t> frame{0, 0, 0, static_cast<uint8_t>(token.size())};
  frame.insert(frame.end(), token.begin(), token.end());
  c.send_bytes(frame);
  const auto answer = c.read_frame();
  ASSERT_TRUE(answer.has_value());
  EXPECT_TRUE(answer->empty());  // PLAIN's empty server token, size-prefixed
  EXPECT_EQ(metadata(c).brokers.size(), 1u);

  RawClient bad(port_);
  ASSERT_EQ(handshake(bad, "PLAIN", 0).error_code, 0);
  const std::vector<uint8_t> wrong = plain_token("alice", "nope");
  std::vector<uint8_t> wrong_frame{0, 0, 0, static_cast<uint8_t>(wrong.size())};
  wrong_frame.insert(wrong_frame.end(), wrong.begin(), wrong.end());
  bad.send_bytes(wrong_frame);
  EXPECT_FALSE(bad.read_frame().has_value());
}

std::string kcat_sasl(uint16_t port, std::string_view mechanism, std::string_view user,
                      std::string_view password) {
  return "kcat -b 127.0.0.1:" + std::to_string(port) +
         " -X security.protocol=SASL_PLAINTEXT -X sasl.mechanism=" + std::string(mechanism) +
         " -X sasl.username=" + std::string(user) + " -X sasl.password=" + std::string(password);
}

TEST_F(SaslTest, KcatProducesAndConsumesWithPlain) {
  if (!command_succeeds("command -v kcat")) {
    if (labs_required()) FAIL() << "kcat is not installed";
    GTEST_SKIP() << "kcat is not installed (scripts/install-deps.sh test)";
  }
  const std::string kcat = kcat_sasl(port_, "PLAIN", "alice", "alice-secret");
  auto produced = run_command("printf 'one\\ntwo\\n' | " + kcat + " -P -t sasl-plain");
  ASSERT_EQ(produced.status, 0) << produced.output;
  auto consumed = run_command(kcat + " -C -t sasl-plain -o beginning -e -q");
  ASSERT_EQ(consumed.status, 0) << consumed.output;
  EXPECT_EQ(consumed.output, "one\ntwo\n");
  auto refused = run_command(kcat_sasl(port_, "PLAIN", "alice", "wrong") + " -L -m 5", 30);
  EXPECT_NE(refused.status, 0);
  EXPECT_NE(refused.output.find("Authentication failed: Invalid username or password"),
            std::string::npos)
      << refused.output;
}

using protocol::AlterUserScramCredentialsRequest;
using protocol::AlterUserScramCredentialsResponse;
using protocol::DescribeUserScramCredentialsRequest;
using protocol::DescribeUserScramCredentialsResponse;

// What a client's admin does for `kafka-configs --add-config SCRAM-...`: the
// salted password, never the password, goes to the broker.
struct Upsert {
  std::string name;
  security::ScramMechanism mechanism;
  int32_t iterations;
  std::string password;
};

AlterUserScramCredentialsResponse alter_scram(
    RawClient& c, std::vector<Upsert> upserts,
    std::vector<std::pair<std::string, int8_t>> dels = {}) {
  AlterUserScramCredentialsRequest req;
  static const std::vector<uint8_t> salt = {'s', 'a', 'l', 't'};
  std::vector<std::vector<uint8_t>> salted;  // the request views them
  salted.reserve(upserts.size());
  for (const Upsert& u : upserts) {
    salted.push_back(
        security::scram_salted_password(u.mechanism, u.password, salt, std::max(u.iterations, 1)));
    req.upsertions.push_back(
        {u.name, static_cast<int8_t>(u.mechanism), u.iterations, salt, salted.back()});
  }
  for (const auto& [name, m] : dels) req.deletions.push_back({name, m});
  std::vector<uint8_t> body;
  return call<AlterUserScramCredentialsResponse>(c, req, 0, body, 7);
}

DescribeUserScramCredentialsResponse describe_scram(RawClient& c,
                                                    std::optional<std::vector<std::string>> users) {
  DescribeUserScramCredentialsRequest req;
  if (users) {
    req.users.emplace();
    for (const auto& u : *users) req.users->push_back({u});
  }
  std::vector<uint8_t> body;
  return call<DescribeUserScramCredentialsResponse>(c, req, 0, body, 8);
}

int16_t error_of(const AlterUserScramCredentialsResponse& r, const std::string& user) {
  for (const auto& x : r.results)
    if (x.user == user) return x.error_code;
  return -100;
}

TEST_F(SaslTest, ScramUsersAlteredDescribedAndAuthenticatedWithKcat) {
  RawClient admin(broker_->port());  // the PLAINTEXT listener
  using security::ScramMechanism;
  auto altered = alter_scram(admin,
                             {{"carol", ScramMechanism::kSha256, 4096, "carol-secret"},
                              {"dave", ScramMechanism::kSha512, 8192, "dave-secret"},
                              {"few", ScramMechanism::kSha256, 4095, "x"},
                              {"many", ScramMechanism::kSha256, 16385, "x"},
                              {"", ScramMechanism::kSha256, 4096, "x"}},
                             {{"nobody", 1}});
  EXPECT_EQ(error_of(altered, "carol"), 0);
  EXPECT_EQ(error_of(altered, "dave"), 0);
  EXPECT_EQ(error_of(altered, "few"), kUnacceptableCredential);
  EXPECT_EQ(error_of(altered, "many"), kUnacceptableCredential);
  EXPECT_EQ(error_of(altered, ""), kUnacceptableCredential);
  EXPECT_EQ(error_of(altered, "nobody"), kResourceNotFound);
  // The same user twice in one request.
  auto twice = alter_scram(admin, {{"erin", ScramMechanism::kSha256, 4096, "a"},
                                   {"erin", ScramMechanism::kSha512, 4096, "b"}});
  EXPECT_EQ(error_of(twice, "erin"), kDuplicateResource);

  auto described = describe_scram(admin, std::vector<std::string>{"dave", "zed", "dave"});
  ASSERT_EQ(described.results.size(), 2u);
  EXPECT_EQ(described.results[0].user, "dave");
  EXPECT_EQ(described.results[0].error_code, kDuplicateResource);
  EXPECT_EQ(described.results[1].error_code, kResourceNotFound);
  EXPECT_EQ(described.results[1].error_message,
            "Attempt to describe a user credential that does not exist: zed");
  auto all = describe_scram(admin, std::nullopt);
  ASSERT_EQ(all.results.size(), 2u);
  EXPECT_EQ(all.results[1].user, "dave");
  ASSERT_EQ(all.results[1].credential_infos.size(), 1u);
  EXPECT_EQ(all.results[1].credential_infos[0].mechanism, 2);
  EXPECT_EQ(all.results[1].credential_infos[0].iterations, 8192);

  // Raw SCRAM failure as the client sees it: invalid credentials, then closed.
  {
    RawClient c(port_);
    ASSERT_EQ(handshake(c, "SCRAM-SHA-256").error_code, 0);
    const std::string first = "n,,n=nobody,r=abcdef";
    const auto auth = authenticate(c, std::vector<uint8_t>(first.begin(), first.end()));
    EXPECT_EQ(auth.error_code, kSaslAuthenticationFailed);
    EXPECT_EQ(auth.error_message,
              "Authentication failed during authentication due to invalid credentials with SASL "
              "mechanism SCRAM-SHA-256");
    EXPECT_TRUE(c.closed_by_peer());
  }

  if (!command_succeeds("command -v kcat")) {
    if (labs_required()) FAIL() << "kcat is not installed";
    GTEST_SKIP() << "kcat is not installed (scripts/install-deps.sh test)";
  }
  auto produced =
      run_command("printf 'a\\nb\\n' | " +
                  kcat_sasl(port_, "SCRAM-SHA-256", "carol", "carol-secret") + " -P -t sasl-scram");
  ASSERT_EQ(produced.status, 0) << produced.output;
  auto consumed = run_command(kcat_sasl(port_, "SCRAM-SHA-512", "dave", "dave-secret") +
                              " -C -t sasl-scram -o beginning -e -q");
  ASSERT_EQ(consumed.status, 0) << consumed.output;
  EXPECT_EQ(consumed.output, "a\nb\n");
  // Each user has only the mechanisms it was given.
  auto wrong_mechanism =
      run_command(kcat_sasl(port_, "SCRAM-SHA-512", "carol", "carol-secret") + " -L -m 5", 30);
  EXPECT_NE(wrong_mechanism.output.find("invalid credentials with SASL mechanism SCRAM-SHA-512"),
            std::string::npos)
      << wrong_mechanism.output;
  auto wrong_password =
      run_command(kcat_sasl(port_, "SCRAM-SHA-256", "carol", "nope") + " -L -m 5", 30);
  EXPECT_NE(wrong_password.output.find("invalid credentials with SASL mechanism SCRAM-SHA-256"),
            std::string::npos)
      << wrong_password.output;
  // Deleted: refused from then on.
  auto removed = alter_scram(admin, {}, {{"carol", 1}});
  EXPECT_EQ(error_of(removed, "carol"), 0);
  auto after =
      run_command(kcat_sasl(port_, "SCRAM-SHA-256", "carol", "carol-secret") + " -L -m 5", 30);
  EXPECT_NE(after.status, 0) << after.output;
}

// confluent-kafka, as pinned in the Python lab: PLAIN, SCRAM-SHA-256 and
// SCRAM-SHA-512 produce and consume; a wrong password is refused with the
// broker's message.
TEST_F(SaslTest, ConfluentKafkaWithEachMechanism) {
  if (!python_lab_available()) {
    if (labs_required()) FAIL() << "python3.11 with venv is not installed";
    GTEST_SKIP() << "python3.11 with venv is not installed (scripts/install-deps.sh test)";
  }
  const std::filesystem::path cache = KB_TEST_CACHE_DIR;
  auto installed = install_python_lab(KB_CLIENT_SCRIPTS_DIR, cache);
  ASSERT_EQ(installed.status, 0) << installed.output;
  RawClient admin(broker_->port());
  using security::ScramMechanism;
  auto altered = alter_scram(admin, {{"grace", ScramMechanism::kSha256, 4096, "grace-secret"},
                                     {"heidi", ScramMechanism::kSha512, 4096, "heidi-secret"}});
  ASSERT_EQ(error_of(altered, "grace"), 0);
  ASSERT_EQ(error_of(altered, "heidi"), 0);
  const auto work = make_temp_dir("kb-sasl-python-");
  auto drive = [&](const std::string& mechanism, const std::string& user,
                   const std::string& password, const std::string& topic) {
    return run_python_driver(
        python_lab_interpreter(cache),
        std::filesystem::path(KB_CLIENT_SCRIPTS_DIR) / "confluent_sasl.py",
        {"127.0.0.1:" + std::to_string(port_), mechanism, user, password, topic},
        work / (topic + ".err"));
  };
  const struct {
    const char* mechanism;
    const char* user;
    const char* password;
  } cases[] = {{"PLAIN", "alice", "alice-secret"},
               {"SCRAM-SHA-256", "grace", "grace-secret"},
               {"SCRAM-SHA-512", "heidi", "heidi-secret"}};
  for (const auto& c : cases) {
    const auto run = drive(c.mechanism, c.user, c.password, std::string("py-") + c.user);
    EXPECT_EQ(run.exit_code, 0) << run.err;
    EXPECT_EQ(run.out, std::string("OK ") + c.mechanism + "\n") << run.err;
  }
  const auto refused = drive("SCRAM-SHA-256", "grace", "wrong", "py-refused");
  EXPECT_EQ(refused.exit_code, 0) << refused.err;
  EXPECT_TRUE(refused.out.starts_with("REFUSED")) << refused.out;
  // librdkafka logs the broker's message (its error callback may come later).
  EXPECT_NE(
      (refused.out + refused.err).find("invalid credentials with SASL mechanism SCRAM-SHA-256"),
      std::string::npos)
      << refused.out << refused.err;
  std::error_code ec;
  std::filesystem::remove_all(work, ec);
}

TEST(SaslScram, FormatAddScramUsersSurviveRestarts) {
  const auto dir = make_temp_dir("kb-sasl-format-");
  const auto data = dir / "data";
  {
    std::ofstream cfg(dir / "server.properties");
    cfg << "node.id=1\nlog.dirs=" << data.string() << "\n";
  }
  auto formatted =
      run_command(std::string(KB_BROKER_BINARY) + " format -t q1Sh-9_ISia_zwGINzRvyQ -c " +
                  quoted(dir / "server.properties") +
                  " --add-scram 'SCRAM-SHA-512=[name=frank,iterations=8192,"
                  "password=\"frank-secret\"]'");
  ASSERT_EQ(formatted.status, 0) << formatted.output;
  auto refused =
      run_command(std::string(KB_BROKER_BINARY) + " format -t q1Sh-9_ISia_zwGINzRvyQ -c " +
                  quoted(dir / "server.properties") +
                  " --add-scram 'SCRAM-SHA-256=[name=x,password=y,iterations=100]'");
  EXPECT_NE(refused.output.find("The 'iterations' value must be >= 4096 for add-scram using "
                                "SCRAM-SHA-256"),
            std::string::npos)
      << refused.output;
  auto config = sasl_config({{"sasl.enabled.mechanisms", "SCRAM-SHA-512"}});
  for (int round = 0; round < 2; ++round) {  // from the bootstrap snapshot, then after a restart
    BrokerProcess broker(config, data);
    const uint16_t port = sasl_port(broker);
    RawClient c(port);
    ASSERT_EQ(handshake(c, "SCRAM-SHA-512").error_code, 0);
    const std::string first = "n,,n=frank,r=clientnonce";
    const auto server_first = authenticate(c, std::vector<uint8_t>(first.begin(), first.end()));
    ASSERT_EQ(server_first.error_code, 0) << server_first.error_message.value_or("");
    const std::string sf(server_first.auth_bytes.begin(), server_first.auth_bytes.end());
    EXPECT_TRUE(sf.starts_with("r=clientnonce")) << sf;
    EXPECT_NE(sf.find(",i=8192"), std::string::npos) << sf;
    // The client's proof, computed as RFC 5802 says.
    const std::string nonce = sf.substr(2, sf.find(',') - 2);
    const auto salt =
        security::base64_decode(sf.substr(sf.find(",s=") + 3, sf.find(",i=") - sf.find(",s=") - 3));
    ASSERT_TRUE(salt.has_value());
    const auto salted = security::scram_salted_password(security::ScramMechanism::kSha512,
                                                        "frank-secret", *salt, 8192);
    const std::string without_proof = "c=biws,r=" + nonce;
    const std::string auth_message = "n=frank,r=clientnonce," + sf + "," + without_proof;
    const std::vector<uint8_t> proof = scram_client_proof(salted, auth_message);
    const std::string final_message = without_proof + ",p=" + security::base64_encode(proof);
    const auto done =
        authenticate(c, std::vector<uint8_t>(final_message.begin(), final_message.end()));
    ASSERT_EQ(done.error_code, 0) << done.error_message.value_or("");
    const std::string verifier(done.auth_bytes.begin(), done.auth_bytes.end());
    EXPECT_TRUE(verifier.starts_with("v=")) << verifier;
    EXPECT_EQ(metadata(c).brokers.size(), 1u);
    ASSERT_EQ(broker.stop().code, 0);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

TEST(SaslSession, ExpiresAfterMaxReauthAndReauthenticationRenewsIt) {
  BrokerProcess broker(sasl_config(
      {{"connections.max.reauth.ms", "1500"}, {"sasl.server.max.receive.size", "1000"}}));
  const uint16_t port = sasl_port(broker);
  {
    RawClient c(port);
    ASSERT_EQ(handshake(c, "PLAIN").error_code, 0);
    const auto auth = authenticate(c, plain_token("alice", "alice-secret"));
    ASSERT_EQ(auth.error_code, 0);
    EXPECT_EQ(auth.session_lifetime_ms, 1500);
    EXPECT_EQ(metadata(c).brokers.size(), 1u);
    std::this_thread::sleep_for(std::chrono::milliseconds(1700));
    c.send_bytes(metadata_frame());
    EXPECT_FALSE(c.read_frame().has_value());  // expired: closed when the request came
  }
  {
    RawClient c(port);
    ASSERT_EQ(handshake(c, "PLAIN").error_code, 0);
    ASSERT_EQ(authenticate(c, plain_token("alice", "alice-secret")).error_code, 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));
    // Re-authentication on the same connection, before or after expiry.
    ASSERT_EQ(handshake(c, "PLAIN").error_code, 0);
    const auto again = authenticate(c, plain_token("alice", "alice-secret"));
    ASSERT_EQ(again.error_code, 0);
    EXPECT_EQ(again.session_lifetime_ms, 1500);
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));
    EXPECT_EQ(metadata(c).brokers.size(), 1u);  // 2 s after the first, 1 s after the renewal
  }
  {
    RawClient c(port);  // a re-authentication must keep its principal
    ASSERT_EQ(handshake(c, "PLAIN").error_code, 0);
    ASSERT_EQ(authenticate(c, plain_token("alice", "alice-secret")).error_code, 0);
    ASSERT_EQ(handshake(c, "PLAIN").error_code, 0);
    const auto other = authenticate(c, plain_token("admin", "admin-secret"));
    EXPECT_EQ(other.error_code, kSaslAuthenticationFailed);
    EXPECT_EQ(other.error_message,
              "Cannot change principals during re-authentication from User.alice: User.admin");
    EXPECT_TRUE(c.closed_by_peer());
  }
  {
    RawClient c(port);  // sasl.server.max.receive.size bounds frames before authentication
    ASSERT_EQ(handshake(c, "PLAIN").error_code, 0);
    const auto token = plain_token("alice", std::string(2000, 'x'));
    SaslAuthenticateRequest req;
    req.auth_bytes = token;
    c.send_bytes(encode_request(req, 2, 2));
    EXPECT_FALSE(c.read_frame().has_value());
  }
}

TEST(SaslConfig, ListenerWithoutUsableMechanismDoesNotStart) {
  auto config = sasl_config();
  config.erase("sasl.enabled.mechanisms");  // Kafka's default: GSSAPI
  try {
    BrokerProcess broker(config);
    FAIL() << "the broker started";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("GSSAPI"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace kb::testing
