#include "kb/security/scram.hpp"

#include <gtest/gtest.h>

namespace kb::security {
namespace {

std::vector<uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }
std::string text(const std::vector<uint8_t>& b) { return {b.begin(), b.end()}; }

// RFC 7677's example: user "user", password "pencil".
class Rfc7677 : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto salt = base64_decode("W22ZaJ0SNY7soEsUEjb6gQ==");
    ASSERT_TRUE(salt.has_value());
    const auto salted = scram_salted_password(ScramMechanism::kSha256, "pencil", *salt, 4096);
    store_.put(ScramMechanism::kSha256, "user",
               scram_credential(ScramMechanism::kSha256, salted, *salt, 4096));
  }
  ScramCredentialStore store_;
};

TEST_F(Rfc7677, ServerAnswersAsTheRfcSays) {
  ScramServer server(ScramMechanism::kSha256, &store_);
  server.set_nonce_for_test("%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
  const SaslStep first = server.evaluate(bytes("n,,n=user,r=rOprNGfwEbeRWgbNEkqO"));
  ASSERT_EQ(first.outcome, SaslStep::Outcome::kContinue) << first.error;
  EXPECT_EQ(text(first.response),
            "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,"
            "i=4096");
  const SaslStep final =
      server.evaluate(bytes("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                            "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="));
  ASSERT_EQ(final.outcome, SaslStep::Outcome::kComplete) << final.error;
  EXPECT_EQ(text(final.response), "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
  EXPECT_EQ(server.authorization_id(), "user");
}

TEST_F(Rfc7677, WrongProofFailsAsInvalidCredentials) {
  ScramServer server(ScramMechanism::kSha256, &store_);
  server.set_nonce_for_test("%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
  ASSERT_EQ(server.evaluate(bytes("n,,n=user,r=rOprNGfwEbeRWgbNEkqO")).outcome,
            SaslStep::Outcome::kContinue);
  const SaslStep final =
      server.evaluate(bytes("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                            "p=AAAAAapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="));
  EXPECT_EQ(final.outcome, SaslStep::Outcome::kFailed);
  EXPECT_TRUE(final.hide_error);
  EXPECT_EQ(final.error, "Invalid client credentials");
}

TEST_F(Rfc7677, RefusalsAsKafkasServerGivesThem) {
  auto first_error = [&](std::string_view message) {
    ScramServer server(ScramMechanism::kSha256, &store_);
    return server.evaluate(bytes(message));
  };
  EXPECT_EQ(first_error("n,,n=nobody,r=abc").error,
            "Authentication failed: Invalid user credentials");
  // Channel binding is not supported: only the "n" gs2 flag.
  EXPECT_EQ(first_error("y,,n=user,r=abc").error,
            "Invalid SCRAM client first message format: y,,n=user,r=abc");
  EXPECT_EQ(first_error("p=tls-unique,,n=user,r=abc").outcome, SaslStep::Outcome::kFailed);
  const SaslStep authz = first_error("n,a=other,n=user,r=abc");
  EXPECT_FALSE(authz.hide_error);
  EXPECT_EQ(authz.error,
            "Authentication failed: Client requested an authorization id that is different from "
            "username");
  EXPECT_EQ(first_error("n,a=user,n=user,r=abc").outcome, SaslStep::Outcome::kContinue);
  EXPECT_EQ(first_error("n,,n=user,r=abc,ext=1").outcome, SaslStep::Outcome::kContinue);
  EXPECT_EQ(first_error("n,,n=us=er,r=abc").outcome, SaslStep::Outcome::kFailed);

  // A final message whose nonce is not the server's.
  ScramServer server(ScramMechanism::kSha256, &store_);
  ASSERT_EQ(server.evaluate(bytes("n,,n=user,r=abc")).outcome, SaslStep::Outcome::kContinue);
  EXPECT_EQ(server.evaluate(bytes("c=biws,r=abcdef,p=AAAA")).error,
            "Invalid client nonce in the final client message.");
}

TEST(Scram, CredentialsBelowTheMinimumIterationsAreRefused) {
  ScramCredentialStore store;
  const auto salt = bytes("salt");
  store.put(ScramMechanism::kSha512, "low",
            scram_credential(ScramMechanism::kSha512,
                             scram_salted_password(ScramMechanism::kSha512, "pw", salt, 1000), salt,
                             1000));
  ScramServer server(ScramMechanism::kSha512, &store);
  EXPECT_EQ(server.evaluate(bytes("n,,n=low,r=abc")).error,
            "Iterations 1000 is less than the minimum 4096 for SCRAM-SHA-512");
}

TEST(Scram, UserNamesEscapeCommaAndEquals) {
  ScramCredentialStore store;
  const auto salt = bytes("salt");
  store.put(ScramMechanism::kSha256, "a,b=c",
            scram_credential(ScramMechanism::kSha256,
                             scram_salted_password(ScramMechanism::kSha256, "pw", salt, 4096), salt,
                             4096));
  ScramServer server(ScramMechanism::kSha256, &store);
  EXPECT_EQ(server.evaluate(bytes("n,,n=a=2Cb=3Dc,r=abc")).outcome, SaslStep::Outcome::kContinue);
}

TEST(Scram, RandomSaltsAreBase36TextOf130Bits) {
  const auto a = scram_random_salt();
  const auto b = scram_random_salt();
  EXPECT_NE(a, b);
  EXPECT_LE(a.size(), 26u);
  for (uint8_t c : a) EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z'));
}

TEST(Base64, RoundTripsAndRefusesWhatIsNotCanonical) {
  EXPECT_EQ(base64_encode(bytes("n,,")), "biws");
  EXPECT_EQ(text(*base64_decode("biws")), "n,,");
  EXPECT_EQ(text(*base64_decode("YQ==")), "a");
  EXPECT_EQ(text(*base64_decode("YWI=")), "ab");
  EXPECT_EQ(text(*base64_decode("")), "");
  EXPECT_FALSE(base64_decode("YQ=").has_value());
  EXPECT_FALSE(base64_decode("Y=Q=").has_value());
  EXPECT_FALSE(base64_decode("a b=").has_value());
}

}  // namespace
}  // namespace kb::security
