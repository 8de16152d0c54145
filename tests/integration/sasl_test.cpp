// SASL_PLAINTEXT listeners against the real broker binary, frame by frame:
// what an unauthenticated connection may send, PLAIN's answers and failures,
// re-authentication and session expiry (KIP-368), SaslHandshake v0's bare
// tokens.

#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <thread>

#include "kb/protocol/messages/api_versions.hpp"
#include "kb/protocol/messages/metadata.hpp"
#include "kb/protocol/messages/sasl.hpp"
#include "support/broker_process.hpp"
#include "support/kafka_client.hpp"
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

std::map<std::string, std::string> sasl_config(std::map<std::string, std::string> more = {}) {
  std::map<std::string, std::string> c{
      {"listeners",
       "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:0"},
      {"sasl.enabled.mechanisms", "PLAIN"},
      {"listener.name.sasl_plaintext.plain.sasl.jaas.config",
       "org.apache.kafka.common.security.plain.PlainLoginModule required "
       "username=\"admin\" password=\"admin-secret\" user_admin=\"admin-secret\" "
       "user_alice=\"alice-secret\";"}};
  for (auto& [k, v] : more) c[k] = v;
  return c;
}

uint16_t sasl_port(BrokerProcess& broker) {
  auto m = broker.wait_for_log(std::regex("Listening on SASL_PLAINTEXT://[^ ]*:([0-9]+)"));
  if (m.size() < 2) throw std::runtime_error("no SASL listener:\n" + broker.log());
  return static_cast<uint16_t>(std::stoi(m[1]));
}

std::vector<uint8_t> plain_token(std::string_view user, std::string_view password) {
  std::vector<uint8_t> t{0};
  t.insert(t.end(), user.begin(), user.end());
  t.push_back(0);
  t.insert(t.end(), password.begin(), password.end());
  return t;
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

std::vector<uint8_t> metadata_frame() { return encode_request(MetadataRequest{}, 12, 3); }

class SaslTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    broker_ = std::make_unique<BrokerProcess>(sasl_config());
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
  EXPECT_EQ(hs.mechanisms, std::vector<std::string>{"PLAIN"});
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

TEST_F(SaslTest, UnsupportedMechanismListsTheEnabledOnesAndCloses) {
  RawClient c(port_);
  const auto hs = handshake(c, "SCRAM-SHA-256");
  EXPECT_EQ(hs.error_code, kUnsupportedSaslMechanism);
  EXPECT_EQ(hs.mechanisms, std::vector<std::string>{"PLAIN"});
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
