#include "kb/base/java_properties.hpp"

#include <gtest/gtest.h>

namespace kb {
namespace {

std::vector<PropertyLine> parse_java_properties(std::string_view text) {
  std::string error;
  auto lines = kb::parse_java_properties(text, error);
  EXPECT_EQ(error, "") << text;
  return lines;
}

TEST(JavaProperties, KeysValuesSeparatorsAndComments) {
  auto lines = parse_java_properties(
      "# comment\n"
      "  ! another comment\n"
      "\n"
      "a=1\n"
      "b : two words  \n"
      "c  =\n"
      "d\n"
      "e:f=g\n");
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[0].key, "a");
  EXPECT_EQ(lines[0].value, "1");
  EXPECT_EQ(lines[0].line, 4);
  EXPECT_EQ(lines[1].key, "b");
  EXPECT_EQ(lines[1].value, "two words  ");  // Java keeps trailing blanks
  EXPECT_EQ(lines[2].key, "c");
  EXPECT_EQ(lines[2].value, "");
  EXPECT_TRUE(lines[2].has_separator);
  EXPECT_EQ(lines[3].key, "d");
  EXPECT_FALSE(lines[3].has_separator);
  EXPECT_EQ(lines[4].key, "e");
  EXPECT_EQ(lines[4].value, "f=g");
  EXPECT_EQ(lines[4].line, 8);
}

TEST(JavaProperties, ContinuationLinesAndLineEndings) {
  auto lines = parse_java_properties("list=a,\\\r\n    b,\\\n\tc\r\nnext=x\rlast=\\\\\n");
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].value, "a,b,c");
  EXPECT_EQ(lines[0].line, 1);
  EXPECT_EQ(lines[1].key, "next");
  EXPECT_EQ(lines[1].line, 4);
  // An even number of backslashes does not continue: "\\" is one backslash.
  EXPECT_EQ(lines[2].key, "last");
  EXPECT_EQ(lines[2].value, "\\");
}

TEST(JavaProperties, CommentMarkerInsideContinuationIsData) {
  auto lines = parse_java_properties("k=one\\\n#two\n");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].value, "one#two");
}

TEST(JavaProperties, EscapesInKeysAndValues) {
  auto lines = parse_java_properties("a\\=b\\ c=x\\ty\\u00e9\\:\n");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].key, "a=b c");
  EXPECT_EQ(lines[0].value, "x\ty\xc3\xa9:");
}

TEST(JavaProperties, DanglingContinuationAtEndOfText) {
  auto lines = parse_java_properties("k=v\\");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].value, "v");
}

TEST(JavaProperties, BlanksAloneSeparateKeyAndValue) {
  auto lines = parse_java_properties("node.id 1\nlog.dirs\t \f/tmp/x\nkey   =   v\nflag\n");
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0].key, "node.id");
  EXPECT_EQ(lines[0].value, "1");
  EXPECT_EQ(lines[1].key, "log.dirs");
  EXPECT_EQ(lines[1].value, "/tmp/x");
  EXPECT_EQ(lines[2].value, "v");
  EXPECT_EQ(lines[3].key, "flag");
  EXPECT_EQ(lines[3].value, "");
}

TEST(JavaProperties, UnicodeEscapes) {
  auto lines = parse_java_properties("a=\\u0041\\u00e9\\u20ac\\ud83d\\ude00\n");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].value, "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
}

TEST(JavaProperties, MalformedUnicodeEscapeIsAnError) {
  // Java's Properties.load throws "Malformed \\uxxxx encoding.".
  for (const char* text : {"a=\\u00zz\n", "a=\\u12\n", "ok=1\nb\\u=1\n", "c=x\\u"}) {
    std::string error;
    auto lines = kb::parse_java_properties(text, error);
    EXPECT_TRUE(lines.empty()) << text;
    EXPECT_NE(error.find("uxxxx"), std::string::npos) << text << ": " << error;
  }
  std::string error;
  kb::parse_java_properties("ok=1\n\nb=\\u12\n", error);
  EXPECT_NE(error.find("line 3"), std::string::npos) << error;
}

}  // namespace
}  // namespace kb
