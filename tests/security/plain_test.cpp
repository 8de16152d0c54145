#include "kb/security/plain.hpp"

#include <gtest/gtest.h>

namespace kb::security {
namespace {

std::vector<uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

PlainUsers users() {
  const auto r = parse_jaas_config(
      "org.apache.kafka.common.security.plain.PlainLoginModule required "
      "username=\"admin\" password=\"admin-secret\" user_alice=\"alice-secret\";");
  return PlainUsers::from_jaas(r.entries);
}

TEST(PlainServer, AcceptsAUserWithItsPassword) {
  const PlainUsers u = users();
  EXPECT_EQ(u.size(), 1u);  // username/password are the broker's own login, not a user
  PlainServer server(u);
  const SaslStep step = server.evaluate(bytes(std::string("\0alice\0alice-secret", 19)));
  EXPECT_EQ(step.outcome, SaslStep::Outcome::kComplete);
  EXPECT_TRUE(step.response.empty());
  EXPECT_EQ(server.authorization_id(), "alice");
}

TEST(PlainServer, AuthorizationIdMustBeTheUser) {
  const PlainUsers u = users();
  PlainServer same(u);
  EXPECT_EQ(same.evaluate(bytes(std::string("alice\0alice\0alice-secret", 24))).outcome,
            SaslStep::Outcome::kComplete);
  PlainServer other(u);
  const SaslStep step = other.evaluate(bytes(std::string("bob\0alice\0alice-secret", 22)));
  EXPECT_EQ(step.outcome, SaslStep::Outcome::kFailed);
  EXPECT_EQ(step.error,
            "Authentication failed: Client requested an authorization id that is different from "
            "username");
}

TEST(PlainServer, RefusesWithKafkasMessages) {
  const PlainUsers u = users();
  auto error = [&](std::string token) { return PlainServer(u).evaluate(bytes(token)).error; };
  EXPECT_EQ(error(std::string("\0alice\0wrong", 12)),
            "Authentication failed: Invalid username or password");
  EXPECT_EQ(error(std::string("\0mallory\0alice-secret", 21)),
            "Authentication failed: Invalid username or password");
  EXPECT_EQ(error(std::string("\0\0pw", 4)), "Authentication failed: username not specified");
  EXPECT_EQ(error(std::string("\0alice\0", 7)), "Authentication failed: password not specified");
  EXPECT_EQ(error("alice"), "Invalid SASL/PLAIN response: expected 3 tokens, got 1");
  EXPECT_EQ(error(std::string("a\0b\0c\0d", 7)),
            "Invalid SASL/PLAIN response: expected 3 tokens, got 4");
  // A prefix of the password is not the password.
  EXPECT_EQ(error(std::string("\0alice\0alice", 12)),
            "Authentication failed: Invalid username or password");
}

TEST(EqualConstantTime, ComparesWholeSpans) {
  EXPECT_TRUE(equal_constant_time(bytes("abc"), bytes("abc")));
  EXPECT_FALSE(equal_constant_time(bytes("abc"), bytes("abd")));
  EXPECT_FALSE(equal_constant_time(bytes("abc"), bytes("abcd")));
  EXPECT_TRUE(equal_constant_time(bytes(""), bytes("")));
}

}  // namespace
}  // namespace kb::security
