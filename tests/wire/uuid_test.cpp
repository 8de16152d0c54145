// Tests for kb::wire::Uuid and its Kafka text form (URL-safe base64, no padding).

#include "kb/wire/uuid.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <string_view>

namespace kb::wire {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

Uuid sequential() {
  Uuid id;
  for (size_t i = 0; i < 16; ++i) id.bytes[i] = static_cast<uint8_t>(i);
  return id;
}

Uuid filled(uint8_t b) {
  Uuid id;
  id.bytes.fill(b);
  return id;
}

TEST(Uuid, DefaultIsZero) {
  Uuid id;
  EXPECT_TRUE(id.is_zero());
  id.bytes[15] = 1;
  EXPECT_FALSE(id.is_zero());
}

TEST(Uuid, EqualityAndOrdering) {
  Uuid a = sequential();
  Uuid b = sequential();
  EXPECT_EQ(a, b);
  b.bytes[0] = 0xff;
  EXPECT_NE(a, b);
  EXPECT_LT(a, b);  // compares bytes lexicographically, first byte most significant
  Uuid c = sequential();
  c.bytes[15] = 0xff;
  EXPECT_LT(a, c);
  EXPECT_LT(c, b);
}

TEST(Uuid, ZeroEncodesAsAllA) { EXPECT_EQ(Uuid{}.to_base64(), "AAAAAAAAAAAAAAAAAAAAAA"); }

TEST(Uuid, KnownVectors) {
  // Reference values from Python's base64.urlsafe_b64encode with "==" stripped.
  EXPECT_EQ(sequential().to_base64(), "AAECAwQFBgcICQoLDA0ODw");
  EXPECT_EQ(filled(0xff).to_base64(), "_____________________w");
  Uuid dash;
  dash.bytes[0] = 0xfb;
  EXPECT_EQ(dash.to_base64(), "-wAAAAAAAAAAAAAAAAAAAA");
}

TEST(Uuid, DecodesKnownVectors) {
  Uuid out;
  ASSERT_TRUE(Uuid::from_base64("AAAAAAAAAAAAAAAAAAAAAA", out));
  EXPECT_TRUE(out.is_zero());
  ASSERT_TRUE(Uuid::from_base64("AAECAwQFBgcICQoLDA0ODw", out));
  EXPECT_EQ(out, sequential());
  ASSERT_TRUE(Uuid::from_base64("_____________________w", out));
  EXPECT_EQ(out, filled(0xff));
  ASSERT_TRUE(Uuid::from_base64("-wAAAAAAAAAAAAAAAAAAAA", out));
  EXPECT_EQ(out.bytes[0], 0xfb);
  for (size_t i = 1; i < 16; ++i) EXPECT_EQ(out.bytes[i], 0) << i;
}

TEST(Uuid, RandomValuesRoundTrip) {
  std::mt19937_64 rng(0xC0FFEE);
  for (int i = 0; i < 1000; ++i) {
    Uuid id;
    for (auto& b : id.bytes) b = static_cast<uint8_t>(rng());
    const std::string text = id.to_base64();
    ASSERT_EQ(text.size(), 22u);
    for (char c : text) ASSERT_NE(kAlphabet.find(c), std::string_view::npos) << text;
    Uuid back;
    ASSERT_TRUE(Uuid::from_base64(text, back)) << text;
    ASSERT_EQ(back, id) << text;
  }
}

TEST(Uuid, EverySingleBitRoundTrips) {
  for (size_t bit = 0; bit < 128; ++bit) {
    Uuid id;
    id.bytes[bit / 8] = static_cast<uint8_t>(0x80u >> (bit % 8));
    Uuid back;
    ASSERT_TRUE(Uuid::from_base64(id.to_base64(), back)) << bit;
    EXPECT_EQ(back, id) << bit;
  }
}

TEST(Uuid, RejectsWrongLength) {
  const std::string ok = "AAECAwQFBgcICQoLDA0ODw";
  Uuid out;
  EXPECT_FALSE(Uuid::from_base64("", out));
  EXPECT_FALSE(Uuid::from_base64(ok.substr(0, 21), out));
  EXPECT_FALSE(Uuid::from_base64(ok + "A", out));
  EXPECT_FALSE(Uuid::from_base64(ok + "=", out));    // padding must complete the unit
  EXPECT_FALSE(Uuid::from_base64(ok + "===", out));  // more than 24 characters
  EXPECT_FALSE(Uuid::from_base64(ok + "==A", out));
  EXPECT_FALSE(Uuid::from_base64(ok + "AA", out));         // 18 bytes
  EXPECT_FALSE(Uuid::from_base64(ok.substr(0, 20), out));  // 15 bytes
  EXPECT_FALSE(Uuid::from_base64(ok.substr(0, 20) + "==", out));
  EXPECT_FALSE(Uuid::from_base64(std::string(44, 'A'), out));
}

TEST(Uuid, RejectsInvalidCharacters) {
  const std::string ok = "AAECAwQFBgcICQoLDA0ODw";
  for (char bad : {'+', '/', '=', ' ', '.', '!', '\0', '\n', '\x80', '\xff'}) {
    for (size_t at : {size_t{0}, size_t{10}, size_t{20}}) {
      std::string text = ok;
      text[at] = bad;
      Uuid out;
      EXPECT_FALSE(Uuid::from_base64(text, out))
          << "char " << static_cast<int>(static_cast<unsigned char>(bad)) << " at " << at;
    }
  }
}

TEST(Uuid, RejectsStandardBase64Alphabet) {
  // 0xfb... is "+w..." in standard base64 and "-w..." in the URL-safe alphabet.
  Uuid out;
  EXPECT_FALSE(Uuid::from_base64("+wAAAAAAAAAAAAAAAAAAAA", out));
  EXPECT_FALSE(Uuid::from_base64("/////////////////////w", out));
}

TEST(Uuid, IgnoresTrailingBitsAsJavaDoes) {
  // The last character carries 2 data bits and 4 bits past the 16th byte.
  // Java's decoder (and so Kafka) ignores those 4 bits, whatever they are.
  std::string text = "AAAAAAAAAAAAAAAAAAAAAA";
  for (size_t v = 0; v < 64; ++v) {
    text[21] = kAlphabet[v];
    for (const std::string& form : {text, text + "=="}) {
      Uuid out;
      ASSERT_TRUE(Uuid::from_base64(form, out)) << form;
      EXPECT_EQ(out.bytes[15], static_cast<uint8_t>(v >> 4)) << form;
    }
  }
  Uuid out;
  EXPECT_FALSE(Uuid::from_base64("_____________________/", out));
}

TEST(Uuid, AcceptsThePaddedFormKafkaReads) {
  // What the CodeCrafters harness writes in meta.properties and partition.metadata.
  Uuid out;
  std::string why;
  ASSERT_TRUE(Uuid::from_base64("EAAAAAAAQACAAAAAAAAAAQ==", out, &why)) << why;
  Uuid plain;
  ASSERT_TRUE(Uuid::from_base64("EAAAAAAAQACAAAAAAAAAAQ", plain));
  EXPECT_EQ(out, plain);
  EXPECT_EQ(out.to_base64(), "EAAAAAAAQACAAAAAAAAAAQ");  // written unpadded
  for (int bit = 0; bit < 128; ++bit) {
    Uuid id;
    id.bytes[static_cast<size_t>(bit / 8)] = static_cast<uint8_t>(1u << (bit % 8));
    Uuid back;
    ASSERT_TRUE(Uuid::from_base64(id.to_base64() + "==", back)) << bit;
    EXPECT_EQ(back, id);
  }
}

TEST(Uuid, SaysWhyItRefuses) {
  Uuid out;
  std::string why;
  EXPECT_FALSE(Uuid::from_base64(std::string(25, 'A'), out, &why));
  EXPECT_NE(why.find("more than 24"), std::string::npos) << why;
  EXPECT_FALSE(Uuid::from_base64("AAAAAAAAAAAAAAAAAAAA", out, &why));
  EXPECT_NE(why.find("15 bytes"), std::string::npos) << why;
  EXPECT_FALSE(Uuid::from_base64("AAAAAAAAAA+AAAAAAAAAAA", out, &why));
  EXPECT_NE(why.find("at 10"), std::string::npos) << why;
  EXPECT_FALSE(Uuid::from_base64("A", out, &why));
  EXPECT_FALSE(why.empty());
}

TEST(Uuid, FailedDecodeLeavesOutputUntouched) {
  Uuid out = sequential();
  EXPECT_FALSE(Uuid::from_base64("AAAAAAAAAAAAAAAAAAAAA", out));
  EXPECT_EQ(out, sequential());
  EXPECT_FALSE(Uuid::from_base64("AAAAAAAAAAAAAAAAAAAA+A", out));
  EXPECT_EQ(out, sequential());
  EXPECT_FALSE(Uuid::from_base64("short", out));
  EXPECT_EQ(out, sequential());
}

}  // namespace
}  // namespace kb::wire
