// Java's own text parsing, as Kafka relies on it when reading its files.

#include "kb/base/java_text.hpp"
#include "kb/base/java_number.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace kb {
namespace {

TEST(JavaText, ParseIntAcceptsWhatIntegerParseIntAccepts) {
  EXPECT_EQ(parse_java_int("0"), 0);
  EXPECT_EQ(parse_java_int("+7"), 7);  // Java 7+ takes a leading '+'
  EXPECT_EQ(parse_java_int("-0"), 0);
  EXPECT_EQ(parse_java_int("007"), 7);
  EXPECT_EQ(parse_java_int("2147483647"), 2147483647);
  EXPECT_EQ(parse_java_int("-2147483648"), INT32_MIN);
  // Character.digit reads any BMP decimal digit: Arabic-Indic and fullwidth.
  EXPECT_EQ(parse_java_int("\u0663\u0661"), 31);
  EXPECT_EQ(parse_java_int("\uFF14\uFF12"), 42);
}

TEST(JavaText, ParseIntRefusesWhatIntegerParseIntRefuses) {
  for (std::string_view s :
       {"", "+", "-", " 1", "1 ", "1x", "0x10", "2147483648", "-2147483649", "1_000", "++1",
        "\xEF\xBB\xBF"
        "1",
        // a digit outside the BMP (a surrogate pair in Java)
        "\xF0\x9D\x9F\x8E", "\xFF"})
    EXPECT_FALSE(parse_java_int(s).has_value()) << s;
}

TEST(JavaText, ParseLongCoversTheLongRange) {
  EXPECT_EQ(parse_java_long("9223372036854775807"), INT64_MAX);
  EXPECT_EQ(parse_java_long("-9223372036854775808"), INT64_MIN);
  EXPECT_EQ(parse_java_long("+00000000000000000042"), 42);
  EXPECT_FALSE(parse_java_long("9223372036854775808").has_value());
  EXPECT_FALSE(parse_java_long("-9223372036854775809").has_value());
}

TEST(JavaText, Utf8AsJavasDecoderChecksIt) {
  EXPECT_FALSE(first_invalid_utf8_byte("plain, caf\xC3\xA9, \xE2\x82\xAC, \xF0\x9F\x98\x80"));
  EXPECT_EQ(first_invalid_utf8_byte("ab\xC0\x80"), 2u);        // overlong NUL
  EXPECT_EQ(first_invalid_utf8_byte("a\xED\xA0\x80"), 1u);     // a surrogate
  EXPECT_EQ(first_invalid_utf8_byte("\xF4\x90\x80\x80"), 0u);  // past U+10FFFF
  EXPECT_EQ(first_invalid_utf8_byte("ok\xE2\x82"), 2u);        // cut short
  EXPECT_EQ(first_invalid_utf8_byte("\x80"), 0u);
}

TEST(JavaText, ReadLinesEndsLinesAsBufferedReader) {
  using Lines = std::vector<std::string_view>;
  EXPECT_EQ(java_read_lines(""), Lines{});
  EXPECT_EQ(java_read_lines("a"), Lines{"a"});
  EXPECT_EQ(java_read_lines("a\n"), Lines{"a"});
  EXPECT_EQ(java_read_lines("a\r\nb\rc\n\nd"), (Lines{"a", "b", "c", "", "d"}));
  EXPECT_EQ(java_read_lines("\n"), Lines{""});
  EXPECT_EQ(java_read_lines("a\r\r\n"), (Lines{"a", ""}));
}

TEST(JavaText, SplitWhitespaceAsStringSplit) {
  using Fields = std::vector<std::string_view>;
  EXPECT_EQ(java_split_whitespace("t 0 5"), (Fields{"t", "0", "5"}));
  EXPECT_EQ(java_split_whitespace("t\t0 \f\x0B 5  "), (Fields{"t", "0", "5"}));
  EXPECT_EQ(java_split_whitespace(" t 0"), (Fields{"", "t", "0"}));  // leading separator
  EXPECT_EQ(java_split_whitespace(""), Fields{""});
  EXPECT_EQ(java_split_whitespace("   "), Fields{});
  EXPECT_EQ(java_split_whitespace("one"), Fields{"one"});
}

// line.split(":\\s+"), as Kafka's PartitionMetadataReadBuffer splits.
TEST(JavaText, SplitColonWhitespaceAsStringSplit) {
  using Fields = std::vector<std::string_view>;
  EXPECT_EQ(java_split_colon_whitespace("version: 0"), (Fields{"version", "0"}));
  EXPECT_EQ(java_split_colon_whitespace("a:\t \fb: c"), (Fields{"a", "b", "c"}));
  EXPECT_EQ(java_split_colon_whitespace("version:0"), Fields{"version:0"});  // no blank: no match
  EXPECT_EQ(java_split_colon_whitespace(": x"), (Fields{"", "x"}));
  EXPECT_EQ(java_split_colon_whitespace("x: "), Fields{"x"});  // trailing empty dropped
  EXPECT_EQ(java_split_colon_whitespace(": "), Fields{});
  EXPECT_EQ(java_split_colon_whitespace("a::  b"), (Fields{"a:", "b"}));
}

TEST(JavaText, TrimAsStringTrim) {
  EXPECT_EQ(java_trim("  a b \t\r\n"), "a b");
  EXPECT_EQ(java_trim(std::string_view("\x01x\x1f", 3)), "x");  // control characters too
  EXPECT_EQ(java_trim("   "), "");
  EXPECT_EQ(java_trim("\xc2\xa0x"), "\xc2\xa0x");  // a non-breaking space is not trimmed
}

}  // namespace
}  // namespace kb
