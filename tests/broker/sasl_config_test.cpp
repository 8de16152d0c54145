#include "kb/broker/sasl_config.hpp"

#include <gtest/gtest.h>

namespace kb::broker {
namespace {

constexpr std::string_view kJaas =
    "org.apache.kafka.common.security.plain.PlainLoginModule required "
    "user_alice=\"alice-secret\" user_bob=bob-secret;";

ConfigResult parse(const std::string& text) {
  return parse_config("listeners=PLAINTEXT://:9092,SASL_PLAINTEXT://:9093\n" + text,
                      "server.properties", {});
}

TEST(SaslConfig, ListenerPrefixedKeysWinOverGlobalOnes) {
  const ConfigResult r = parse(
      "sasl.enabled.mechanisms=GSSAPI\n"
      "listener.name.sasl_plaintext.sasl.enabled.mechanisms=PLAIN\n"
      "listener.name.sasl_plaintext.plain.sasl.jaas.config=" +
      std::string(kJaas) +
      "\n"
      "connections.max.reauth.ms=1000\n"
      "listener.name.sasl_plaintext.plain.connections.max.reauth.ms=60000\n"
      "listener.name.sasl_plaintext.sasl.server.max.receive.size=4096\n");
  ASSERT_TRUE(r.config.has_value()) << r.error;
  ASSERT_EQ(r.config->listeners.size(), 2u);
  EXPECT_EQ(r.config->listeners[1].protocol, SecurityProtocol::kSaslPlaintext);
  ASSERT_EQ(r.config->sasl.size(), 1u);  // PLAINTEXT has none
  const security::SaslMechanisms& m = r.config->sasl.at("SASL_PLAINTEXT");
  EXPECT_EQ(m.enabled, std::vector<std::string>{"PLAIN"});
  ASSERT_NE(m.plain_users.password("bob"), nullptr);
  EXPECT_EQ(*m.plain_users.password("bob"), "bob-secret");
  EXPECT_EQ(m.session_lifetime_ms("PLAIN"), 60000);
  EXPECT_EQ(m.max_receive_size, 4096);
}

TEST(SaslConfig, MappedListenerNamesAreLowerCasedInThePrefix) {
  const ConfigResult r = parse_config(
      "listeners=CLIENTS://:9093\n"
      "listener.security.protocol.map=CLIENTS:SASL_PLAINTEXT\n"
      "sasl.enabled.mechanisms=PLAIN\n"
      "listener.name.clients.plain.sasl.jaas.config=" +
          std::string(kJaas) + "\n",
      "server.properties", {});
  ASSERT_TRUE(r.config.has_value()) << r.error;
  EXPECT_EQ(r.config->sasl.at("CLIENTS").plain_users.size(), 2u);
}

void expect_error(const std::string& text, const std::vector<std::string>& needles) {
  const ConfigResult r = parse(text);
  EXPECT_FALSE(r.config.has_value());
  for (const auto& needle : needles)
    EXPECT_NE(r.error.find(needle), std::string::npos)
        << "error '" << r.error << "' does not mention '" << needle << "'";
}

TEST(SaslConfig, StartUpErrors) {
  // Kafka's default mechanism, GSSAPI, is not served.
  expect_error("", {"GSSAPI", "SASL_PLAINTEXT"});
  expect_error(
      "sasl.enabled.mechanisms=PLAIN,OAUTHBEARER\n"
      "listener.name.sasl_plaintext.plain.sasl.jaas.config=" +
          std::string(kJaas) + "\n",
      {"OAUTHBEARER", "server.properties:2"});
  expect_error("sasl.enabled.mechanisms= , \n", {"no SASL mechanism is enabled"});
  // Every mechanism needs its JAAS config.
  expect_error("sasl.enabled.mechanisms=PLAIN\n",
               {"listener.name.sasl_plaintext.plain.sasl.jaas.config", "KafkaServer"});
  // The JAAS text as Kafka's JaasConfig refuses it.
  expect_error(
      "sasl.enabled.mechanisms=PLAIN\n"
      "listener.name.sasl_plaintext.plain.sasl.jaas.config=x required a=b\n",
      {"server.properties:3", "not terminated by semi-colon"});
  expect_error(
      "sasl.enabled.mechanisms=PLAIN\n"
      "listener.name.sasl_plaintext.plain.sasl.jaas.config=A required; B required;\n",
      {"contains 2 login modules, should be 1 module"});
  expect_error(
      "sasl.enabled.mechanisms=PLAIN\n"
      "listener.name.sasl_plaintext.plain.sasl.jaas.config=Other required;\n",
      {"PlainLoginModule"});
  expect_error(
      "sasl.enabled.mechanisms=PLAIN\n"
      "listener.name.sasl_plaintext.plain.sasl.jaas.config=" +
          std::string(kJaas) + "\nconnections.max.reauth.ms=soon\n",
      {"connections.max.reauth.ms", "soon"});
}

TEST(SaslConfig, SecretsAreNotInErrors) {
  const ConfigResult r = parse(
      "sasl.enabled.mechanisms=PLAIN\n"
      "listener.name.sasl_plaintext.plain.sasl.jaas.config="
      "org.apache.kafka.common.security.plain.PlainLoginModule required user_a=\"s3cret\"\n");
  ASSERT_FALSE(r.config.has_value());
  EXPECT_EQ(r.error.find("s3cret"), std::string::npos) << r.error;
}

}  // namespace
}  // namespace kb::broker
