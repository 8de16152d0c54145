#include "kb/security/jaas.hpp"

#include <gtest/gtest.h>

namespace kb::security {
namespace {

TEST(JaasConfig, ReadsPlainLoginModuleWithQuotedAndBareValues) {
  const auto r = parse_jaas_config(
      "org.apache.kafka.common.security.plain.PlainLoginModule required\n"
      "  username=\"admin\" password=\"admin-secret\"\n"
      "  user_admin=\"admin-secret\" user_alice=alice-secret;");
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.entries.size(), 1u);
  const JaasEntry& e = r.entries[0];
  EXPECT_EQ(e.login_module, "org.apache.kafka.common.security.plain.PlainLoginModule");
  EXPECT_EQ(e.control_flag, "REQUIRED");
  EXPECT_EQ(e.options.at("username"), "admin");
  EXPECT_EQ(e.options.at("user_admin"), "admin-secret");
  EXPECT_EQ(e.options.at("user_alice"), "alice-secret");
}

TEST(JaasConfig, QuotedStringsTakeJavaEscapesAndEndAtTheLine) {
  const auto r =
      parse_jaas_config("M optional a='it\\'s' b=\"tab\\there\\101\\q\" c=\"x;y\" d=\"open\n;");
  ASSERT_EQ(r.error, "");
  const auto& o = r.entries.at(0).options;
  EXPECT_EQ(r.entries[0].control_flag, "OPTIONAL");
  EXPECT_EQ(o.at("a"), "it's");
  EXPECT_EQ(o.at("b"),
            "tab\there"
            "Aq");
  EXPECT_EQ(o.at("c"), "x;y");
  EXPECT_EQ(o.at("d"), "open");  // the line end closes the quote; ';' still ends the entry
}

TEST(JaasConfig, CommentsAndSeveralEntries) {
  const auto r = parse_jaas_config(
      "/* first */ A required k=v; // a comment\nB sufficient $x_1-y=\"z\"; C requisite;");
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.entries.size(), 3u);
  EXPECT_EQ(r.entries[1].options.at("$x_1-y"), "z");
  EXPECT_EQ(r.entries[2].login_module, "C");
  EXPECT_TRUE(r.entries[2].options.empty());
}

TEST(JaasConfig, RefusesWhatKafkaRefuses) {
  EXPECT_EQ(parse_jaas_config("").error, "Login module not specified in JAAS config");
  EXPECT_EQ(parse_jaas_config("  // nothing\n").error, "Login module not specified in JAAS config");
  EXPECT_EQ(parse_jaas_config("M").error, "Login module control flag not specified in JAAS config");
  EXPECT_EQ(parse_jaas_config("M mandatory;").error,
            "Invalid login module control flag 'mandatory' in JAAS config");
  EXPECT_EQ(parse_jaas_config("M required k=v").error,
            "JAAS config entry not terminated by semi-colon");
  EXPECT_EQ(parse_jaas_config("M required k;").error,
            "Value not specified for key 'k' in JAAS config");
  // A number is no value (StreamTokenizer parses it as a number).
  EXPECT_EQ(parse_jaas_config("M required k=123;").error,
            "Value not specified for key 'k' in JAAS config");
  EXPECT_EQ(parse_jaas_config("M required k=\"123\";").entries.at(0).options.at("k"), "123");
}

TEST(JaasConfig, OptionLooksUpByModule) {
  const auto r = parse_jaas_config("A required k=a; B required k=b;");
  ASSERT_EQ(r.error, "");
  ASSERT_NE(jaas_option(r.entries, "B", "k"), nullptr);
  EXPECT_EQ(*jaas_option(r.entries, "B", "k"), "b");
  EXPECT_EQ(jaas_option(r.entries, "C", "k"), nullptr);
}

}  // namespace
}  // namespace kb::security
