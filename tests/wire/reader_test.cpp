// Decoding tests for kb::wire::Reader: fixed-width integers, varints, strings,
// bytes, array counts, and the sticky-error contract.

#include "kb/wire/reader.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "test_bytes.hpp"

namespace kb::wire {
namespace {

using test::bytes_of;
using test::ByteVec;
using test::hex;

// The error exists and its position lies in [lo, hi]: at the offending field,
// or just past the bytes examined while decoding it, never beyond.
void expect_error_between(const Reader& r, size_t lo, size_t hi) {
  ASSERT_FALSE(r.ok());
  ASSERT_TRUE(r.error().has_value());
  EXPECT_GE(r.error()->position, lo);
  EXPECT_LE(r.error()->position, hi);
  EXPECT_FALSE(r.error()->what.empty());
  EXPECT_EQ(r.remaining(), 0u);
  EXPECT_TRUE(r.at_end());
}

// ---------------------------------------------------------------------------
// Construction and basic cursor behaviour

TEST(Reader, EmptySpanIsOkAndAtEnd) {
  Reader r(std::span<const uint8_t>{});
  EXPECT_TRUE(r.ok());
  EXPECT_FALSE(r.error().has_value());
  EXPECT_EQ(r.position(), 0u);
  EXPECT_EQ(r.remaining(), 0u);
  EXPECT_TRUE(r.at_end());
}

TEST(Reader, PositionAndRemainingTrackFixedWidthReads) {
  ByteVec buf(1 + 2 + 4 + 8, 0);
  Reader r(buf);
  EXPECT_EQ(r.remaining(), 15u);
  r.int8();
  EXPECT_EQ(r.position(), 1u);
  r.int16();
  EXPECT_EQ(r.position(), 3u);
  r.int32();
  EXPECT_EQ(r.position(), 7u);
  EXPECT_EQ(r.remaining(), 8u);
  EXPECT_FALSE(r.at_end());
  r.int64();
  EXPECT_EQ(r.position(), 15u);
  EXPECT_TRUE(r.at_end());
  EXPECT_TRUE(r.ok());
}

// ---------------------------------------------------------------------------
// Fixed-width integers: big-endian

TEST(Reader, Int8DecodesSignedByte) {
  ByteVec buf = bytes_of({0x00, 0x7f, 0x80, 0xff});
  Reader r(buf);
  EXPECT_EQ(r.int8(), 0);
  EXPECT_EQ(r.int8(), 127);
  EXPECT_EQ(r.int8(), -128);
  EXPECT_EQ(r.int8(), -1);
  EXPECT_TRUE(r.ok());
}

TEST(Reader, Int16IsBigEndian) {
  ByteVec buf = bytes_of({0x12, 0x34, 0x80, 0x00, 0x7f, 0xff, 0xff, 0xff});
  Reader r(buf);
  EXPECT_EQ(r.int16(), 0x1234);
  EXPECT_EQ(r.int16(), std::numeric_limits<int16_t>::min());
  EXPECT_EQ(r.int16(), std::numeric_limits<int16_t>::max());
  EXPECT_EQ(r.int16(), -1);
  EXPECT_TRUE(r.ok());
}

TEST(Reader, Int32IsBigEndian) {
  ByteVec buf = bytes_of({0x12, 0x34, 0x56, 0x78, 0x80, 0x00, 0x00, 0x00, 0x7f, 0xff, 0xff, 0xff});
  Reader r(buf);
  EXPECT_EQ(r.int32(), 0x12345678);
  EXPECT_EQ(r.int32(), std::numeric_limits<int32_t>::min());
  EXPECT_EQ(r.int32(), std::numeric_limits<int32_t>::max());
  EXPECT_TRUE(r.ok());
}

TEST(Reader, Int64IsBigEndian) {
  ByteVec buf = bytes_of({0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,  //
                          0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  //
                          0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe});
  Reader r(buf);
  EXPECT_EQ(r.int64(), 0x0123456789abcdefLL);
  EXPECT_EQ(r.int64(), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(r.int64(), -2);
  EXPECT_TRUE(r.ok());
}

TEST(Reader, UnsignedFixedWidthUseFullRange) {
  ByteVec buf = bytes_of({0xff, 0xfe, 0xff, 0xff, 0xff, 0xfd});
  Reader r(buf);
  EXPECT_EQ(r.uint16(), 0xfffeu);
  EXPECT_EQ(r.uint32(), 0xfffffffdu);
  EXPECT_TRUE(r.ok());
}

TEST(Reader, Float64DecodesIeeeBigEndian) {
  ByteVec buf = bytes_of({0x3f, 0xf0, 0,    0,    0,    0,    0,    0,       // 1.0
                          0x80, 0x00, 0,    0,    0,    0,    0,    0,       // -0.0
                          0xc0, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18});  // -pi
  Reader r(buf);
  EXPECT_EQ(r.float64(), 1.0);
  double neg_zero = r.float64();
  EXPECT_EQ(neg_zero, 0.0);
  EXPECT_TRUE(std::signbit(neg_zero));
  EXPECT_EQ(r.float64(), -3.141592653589793);
  EXPECT_TRUE(r.ok());
}

TEST(Reader, Float64PreservesNanPayloadBits) {
  ByteVec buf = bytes_of({0x7f, 0xf8, 0x00, 0x00, 0x00, 0x00, 0x01, 0x23});
  Reader r(buf);
  double v = r.float64();
  EXPECT_TRUE(std::isnan(v));
  EXPECT_EQ(std::bit_cast<uint64_t>(v), 0x7ff8000000000123ULL);
}

TEST(Reader, BooleanAcceptsZeroAndOne) {
  ByteVec buf = bytes_of({0x00, 0x01});
  Reader r(buf);
  EXPECT_FALSE(r.boolean());
  EXPECT_TRUE(r.boolean());
  EXPECT_TRUE(r.ok());
}

// Kafka reads a boolean as "byte != 0"; so does the broker, for compatibility.
TEST(Reader, BooleanTreatsAnyNonZeroByteAsTrue) {
  ByteVec buf = bytes_of({0x02, 0xff, 0x00});
  Reader r(buf);
  EXPECT_TRUE(r.boolean());
  EXPECT_TRUE(r.boolean());
  EXPECT_FALSE(r.boolean());
  EXPECT_TRUE(r.ok());
}

TEST(Reader, TruncatedFixedWidthFailsAtStartOfField) {
  struct Case {
    const char* name;
    size_t available;
    void (*read)(Reader&);
  };
  const Case cases[] = {
      {"int8", 0, [](Reader& r) { EXPECT_EQ(r.int8(), 0); }},
      {"int16", 1, [](Reader& r) { EXPECT_EQ(r.int16(), 0); }},
      {"int32", 3, [](Reader& r) { EXPECT_EQ(r.int32(), 0); }},
      {"int64", 7, [](Reader& r) { EXPECT_EQ(r.int64(), 0); }},
      {"uint16", 1, [](Reader& r) { EXPECT_EQ(r.uint16(), 0u); }},
      {"uint32", 3, [](Reader& r) { EXPECT_EQ(r.uint32(), 0u); }},
      {"float64", 7, [](Reader& r) { EXPECT_EQ(r.float64(), 0.0); }},
      {"boolean", 0, [](Reader& r) { EXPECT_FALSE(r.boolean()); }},
      {"uuid", 15, [](Reader& r) { EXPECT_TRUE(r.uuid().is_zero()); }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    // One prefix byte that is read successfully, then a too-short field. The
    // vector is exactly sized so ASan flags any over-read.
    ByteVec buf(1 + c.available, 0xab);
    Reader r(buf);
    r.int8();
    c.read(r);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error()->position, 1u);
    EXPECT_EQ(r.error()->what, "unexpected end of data");
    EXPECT_EQ(r.position(), 1u);  // the cursor did not move past the failed field
    EXPECT_EQ(r.remaining(), 0u);
  }
}

TEST(Reader, UuidReadsSixteenBytesVerbatim) {
  ByteVec buf;
  for (int i = 0; i < 16; ++i) buf.push_back(static_cast<uint8_t>(0xf0 - i));
  Reader r(buf);
  Uuid id = r.uuid();
  ASSERT_TRUE(r.ok());
  for (size_t i = 0; i < 16; ++i) EXPECT_EQ(id.bytes[i], buf[i]) << i;
  EXPECT_TRUE(r.at_end());
}

// ---------------------------------------------------------------------------
// Unsigned varint (32 bits)

struct UvarintCase {
  uint32_t value;
  ByteVec encoded;
};

std::vector<UvarintCase> uvarint_boundaries() {
  return {
      {0, bytes_of({0x00})},
      {1, bytes_of({0x01})},
      {127, bytes_of({0x7f})},
      {128, bytes_of({0x80, 0x01})},
      {300, bytes_of({0xac, 0x02})},
      {16383, bytes_of({0xff, 0x7f})},
      {16384, bytes_of({0x80, 0x80, 0x01})},
      {2097151, bytes_of({0xff, 0xff, 0x7f})},
      {2097152, bytes_of({0x80, 0x80, 0x80, 0x01})},
      {268435455, bytes_of({0xff, 0xff, 0xff, 0x7f})},
      {268435456, bytes_of({0x80, 0x80, 0x80, 0x80, 0x01})},
      {0x7fffffffu, bytes_of({0xff, 0xff, 0xff, 0xff, 0x07})},
      {0xffffffffu, bytes_of({0xff, 0xff, 0xff, 0xff, 0x0f})},
  };
}

TEST(Reader, UvarintDecodesBoundaryEncodings) {
  for (const auto& c : uvarint_boundaries()) {
    SCOPED_TRACE(hex(c.encoded));
    Reader r(c.encoded);
    EXPECT_EQ(r.uvarint(), c.value);
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r.position(), c.encoded.size());
    EXPECT_TRUE(r.at_end());
  }
}

TEST(Reader, UvarintStopsAtFirstByteWithoutContinuationBit) {
  ByteVec buf = bytes_of({0x80, 0x01, 0x7f, 0x05});
  Reader r(buf);
  EXPECT_EQ(r.uvarint(), 128u);
  EXPECT_EQ(r.position(), 2u);
  EXPECT_EQ(r.uvarint(), 127u);
  EXPECT_EQ(r.uvarint(), 5u);
  EXPECT_TRUE(r.ok());
}

TEST(Reader, UvarintAcceptsNonMinimalEncoding) {
  // Kafka's Java decoder accepts padded encodings; so do we.
  ByteVec buf = bytes_of({0x81, 0x80, 0x00});
  Reader r(buf);
  EXPECT_EQ(r.uvarint(), 1u);
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.at_end());
}

TEST(Reader, UvarintOnEmptyInputFails) {
  ByteVec buf;
  Reader r(buf);
  EXPECT_EQ(r.uvarint(), 0u);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error()->position, 0u);
  EXPECT_EQ(r.error()->what, "unexpected end of data");
}

TEST(Reader, UvarintTruncatedAfterContinuationByteFails) {
  ByteVec buf = bytes_of({0x80});
  Reader r(buf);
  EXPECT_EQ(r.uvarint(), 0u);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error()->position, 1u);  // ran out where the second byte should be
  EXPECT_EQ(r.error()->what, "unexpected end of data");
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(Reader, UvarintTruncatedInsideSubSpanDoesNotReadPastIt) {
  // The byte after the sub-span would complete the varint if it were read.
  ByteVec backing = bytes_of({0xff, 0xff, 0x01});
  Reader r(std::span<const uint8_t>(backing).first(2));
  EXPECT_EQ(r.uvarint(), 0u);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error()->position, 2u);
}

TEST(Reader, UvarintRejectsSixByteEncoding) {
  ByteVec buf = bytes_of({0x80, 0x80, 0x80, 0x80, 0x80, 0x00});
  Reader r(buf);
  EXPECT_EQ(r.uvarint(), 0u);
  // Fails on the fifth byte (continuation bit set where no more bits fit):
  // the sixth byte is never looked at.
  expect_error_between(r, 0, 5);
}

TEST(Reader, UvarintRejectsFifthByteAboveF) {
  for (int fifth : {0x10, 0x1f, 0x7f, 0x8f, 0xff}) {
    ByteVec buf = bytes_of({0xff, 0xff, 0xff, 0xff, fifth});
    SCOPED_TRACE(hex(buf));
    Reader r(buf);
    EXPECT_EQ(r.uvarint(), 0u);
    expect_error_between(r, 0, 5);
  }
}

TEST(Reader, UvarintFifthByteOfFIsMaximum) {
  ByteVec buf = bytes_of({0x80, 0x80, 0x80, 0x80, 0x0f});
  Reader r(buf);
  EXPECT_EQ(r.uvarint(), 0xf0000000u);
  EXPECT_TRUE(r.ok());
}

TEST(Reader, UvarintErrorKeepsFollowingBytesUnread) {
  ByteVec buf = bytes_of({0xff, 0xff, 0xff, 0xff, 0x10, 0x01, 0x02});
  Reader r(buf);
  r.uvarint();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.int8(), 0);
  EXPECT_EQ(r.int8(), 0);
  EXPECT_LE(r.position(), 5u);
}

// ---------------------------------------------------------------------------
// Unsigned varlong (64 bits)

TEST(Reader, UvarlongDecodesBoundaryEncodings) {
  struct Case {
    uint64_t value;
    ByteVec encoded;
  };
  const Case cases[] = {
      {0, bytes_of({0x00})},
      {127, bytes_of({0x7f})},
      {128, bytes_of({0x80, 0x01})},
      {0xffffffffULL, bytes_of({0xff, 0xff, 0xff, 0xff, 0x0f})},
      {0x100000000ULL, bytes_of({0x80, 0x80, 0x80, 0x80, 0x10})},
      {(1ULL << 63) - 1, bytes_of({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f})},
      {1ULL << 63, bytes_of({0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01})},
      {~0ULL, bytes_of({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(hex(c.encoded));
    Reader r(c.encoded);
    EXPECT_EQ(r.uvarlong(), c.value);
    EXPECT_TRUE(r.ok());
    EXPECT_TRUE(r.at_end());
  }
}

TEST(Reader, UvarlongRejectsTenthByteAboveOne) {
  ByteVec buf = bytes_of({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02});
  Reader r(buf);
  EXPECT_EQ(r.uvarlong(), 0u);
  expect_error_between(r, 0, 10);
}

TEST(Reader, UvarlongRejectsElevenByteEncoding) {
  ByteVec buf = bytes_of({0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00});
  Reader r(buf);
  EXPECT_EQ(r.uvarlong(), 0u);
  expect_error_between(r, 0, 10);
}

TEST(Reader, UvarlongTruncatedFails) {
  ByteVec buf(9, 0xff);
  Reader r(buf);
  EXPECT_EQ(r.uvarlong(), 0u);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error()->position, 9u);
  EXPECT_EQ(r.error()->what, "unexpected end of data");
}

// ---------------------------------------------------------------------------
// Zigzag varint / varlong

TEST(Reader, VarintDecodesZigzag) {
  struct Case {
    int32_t value;
    ByteVec encoded;
  };
  const Case cases[] = {
      {0, bytes_of({0x00})},
      {-1, bytes_of({0x01})},
      {1, bytes_of({0x02})},
      {-2, bytes_of({0x03})},
      {2, bytes_of({0x04})},
      {-64, bytes_of({0x7f})},
      {64, bytes_of({0x80, 0x01})},
      {std::numeric_limits<int32_t>::max(), bytes_of({0xfe, 0xff, 0xff, 0xff, 0x0f})},
      {std::numeric_limits<int32_t>::min(), bytes_of({0xff, 0xff, 0xff, 0xff, 0x0f})},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(hex(c.encoded));
    Reader r(c.encoded);
    EXPECT_EQ(r.varint(), c.value);
    EXPECT_TRUE(r.ok());
    EXPECT_TRUE(r.at_end());
  }
}

TEST(Reader, VarlongDecodesZigzagExtremes) {
  struct Case {
    int64_t value;
    ByteVec encoded;
  };
  const Case cases[] = {
      {0, bytes_of({0x00})},
      {-1, bytes_of({0x01})},
      {1, bytes_of({0x02})},
      {std::numeric_limits<int64_t>::max(),
       bytes_of({0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})},
      {std::numeric_limits<int64_t>::min(),
       bytes_of({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(hex(c.encoded));
    Reader r(c.encoded);
    EXPECT_EQ(r.varlong(), c.value);
    EXPECT_TRUE(r.ok());
    EXPECT_TRUE(r.at_end());
  }
}

TEST(Reader, VarintMalformedReturnsZero) {
  ByteVec buf = bytes_of({0x81, 0x80, 0x80, 0x80, 0x80, 0x00});
  Reader r(buf);
  EXPECT_EQ(r.varint(), 0);
  EXPECT_FALSE(r.ok());
}

// ---------------------------------------------------------------------------
// Strings (int16 length) and compact strings (uvarint length + 1)

TEST(Reader, StringReadsLengthPrefixedUtf8) {
  ByteVec buf = test::concat(bytes_of({0x00, 0x05}), test::text_bytes("hello"));
  Reader r(buf);
  EXPECT_EQ(r.string(), "hello");
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.at_end());
}

TEST(Reader, StringIsAViewIntoTheInput) {
  ByteVec buf = test::concat(bytes_of({0x00, 0x03}), test::text_bytes("abc"));
  Reader r(buf);
  std::string_view s = r.string();
  EXPECT_EQ(static_cast<const void*>(s.data()), static_cast<const void*>(buf.data() + 2));
}

TEST(Reader, StringEmptyIsOk) {
  ByteVec buf = bytes_of({0x00, 0x00});
  Reader r(buf);
  EXPECT_EQ(r.string(), "");
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.at_end());
}

TEST(Reader, StringNullIsAnError) {
  ByteVec buf = bytes_of({0xff, 0xff});
  Reader r(buf);
  EXPECT_EQ(r.string(), "");
  expect_error_between(r, 0, 2);
  EXPECT_EQ(r.error()->what, "null where a string is required");
}

TEST(Reader, NullableStringDistinguishesNullFromEmpty) {
  ByteVec buf = test::concat(bytes_of({0xff, 0xff, 0x00, 0x00, 0x00, 0x01}), test::text_bytes("x"));
  Reader r(buf);
  auto null_value = r.nullable_string();
  auto empty_value = r.nullable_string();
  auto x_value = r.nullable_string();
  EXPECT_FALSE(null_value.has_value());
  ASSERT_TRUE(empty_value.has_value());
  EXPECT_EQ(*empty_value, "");
  ASSERT_TRUE(x_value.has_value());
  EXPECT_EQ(*x_value, "x");
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.at_end());
}

TEST(Reader, StringNegativeLengthOtherThanMinusOneIsAnError) {
  for (auto len : {bytes_of({0xff, 0xfe}), bytes_of({0x80, 0x00})}) {
    SCOPED_TRACE(hex(len));
    ByteVec buf = test::concat(len, test::text_bytes("padding"));
    {
      Reader r(buf);
      EXPECT_EQ(r.string(), "");
      expect_error_between(r, 0, 2);
    }
    {
      Reader r(buf);
      EXPECT_FALSE(r.nullable_string().has_value());
      expect_error_between(r, 0, 2);
    }
  }
}

TEST(Reader, StringLengthBeyondDataFailsWithoutReadingPastSpan) {
  // Backing bytes spell a complete "hello", but the reader is only given the
  // first four bytes. Reading past the span would succeed; it must fail instead.
  ByteVec backing = test::concat(bytes_of({0x00, 0x05}), test::text_bytes("hello"));
  std::span<const uint8_t> view = std::span<const uint8_t>(backing).first(4);
  {
    Reader r(view);
    EXPECT_EQ(r.string(), "");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error()->position, 2u);
    EXPECT_EQ(r.error()->what, "unexpected end of data");
  }
  {
    Reader r(view);
    auto v = r.nullable_string();
    EXPECT_TRUE(
        !v ||
        v->empty());  // nothing from past the span (null-ness: see FailedNullableReadsReturnNull)
    EXPECT_FALSE(r.ok());
  }
}

TEST(Reader, StringMaxLengthWithTooFewBytesFails) {
  ByteVec buf = test::concat(bytes_of({0x7f, 0xff}), test::text_bytes("short"));
  Reader r(buf);
  EXPECT_EQ(r.string(), "");
  EXPECT_FALSE(r.ok());
}

TEST(Reader, StringWithTruncatedLengthFails) {
  ByteVec buf = bytes_of({0x00});
  Reader r(buf);
  EXPECT_EQ(r.string(), "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error()->position, 0u);
}

TEST(Reader, CompactStringReadsLengthPlusOne) {
  ByteVec buf = test::concat(bytes_of({0x06}), test::text_bytes("hello"));
  Reader r(buf);
  EXPECT_EQ(r.compact_string(), "hello");
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.at_end());
}

TEST(Reader, CompactStringWithMultiByteLength) {
  ByteVec buf = bytes_of({0x81, 0x01});  // 129 -> 128 bytes of text
  buf.resize(2 + 128, 'z');
  Reader r(buf);
  std::string_view s = r.compact_string();
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(s.size(), 128u);
  EXPECT_EQ(s, std::string(128, 'z'));
}

TEST(Reader, CompactStringEmptyIsOne) {
  ByteVec buf = bytes_of({0x01});
  Reader r(buf);
  EXPECT_EQ(r.compact_string(), "");
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.at_end());
}

TEST(Reader, CompactStringNullIsAnError) {
  ByteVec buf = bytes_of({0x00});
  Reader r(buf);
  EXPECT_EQ(r.compact_string(), "");
  expect_error_between(r, 0, 1);
  EXPECT_EQ(r.error()->what, "null where a string is required");
}

TEST(Reader, CompactNullableStringDistinguishesNullFromEmpty) {
  ByteVec buf = test::concat(bytes_of({0x00, 0x01, 0x03}), test::text_bytes("ab"));
  Reader r(buf);
  auto null_value = r.compact_nullable_string();
  auto empty_value = r.compact_nullable_string();
  auto ab_value = r.compact_nullable_string();
  EXPECT_FALSE(null_value.has_value());
  ASSERT_TRUE(empty_value.has_value());
  EXPECT_EQ(*empty_value, "");
  ASSERT_TRUE(ab_value.has_value());
  EXPECT_EQ(*ab_value, "ab");
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.at_end());
}

TEST(Reader, CompactStringLengthBeyondDataFailsWithoutReadingPastSpan) {
  ByteVec backing = test::concat(bytes_of({0x06}), test::text_bytes("hello"));
  std::span<const uint8_t> view = std::span<const uint8_t>(backing).first(3);
  {
    Reader r(view);
    EXPECT_EQ(r.compact_string(), "");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error()->position, 1u);
  }
  {
    Reader r(view);
    auto v = r.compact_nullable_string();
    EXPECT_TRUE(
        !v ||
        v->empty());  // nothing from past the span (null-ness: see FailedNullableReadsReturnNull)
    EXPECT_FALSE(r.ok());
  }
}

TEST(Reader, CompactStringHugeLengthFails) {
  // Length UINT32_MAX - 1: must fail cleanly, not overflow or allocate.
  ByteVec buf = bytes_of({0xff, 0xff, 0xff, 0xff, 0x0f, 'a', 'b'});
  Reader r(buf);
  EXPECT_EQ(r.compact_string(), "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error()->position, 5u);
}

TEST(Reader, CompactStringWithMalformedLengthFails) {
  ByteVec buf = bytes_of({0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 'a'});
  {
    Reader r(buf);
    EXPECT_EQ(r.compact_string(), "");
    EXPECT_FALSE(r.ok());
  }
  {
    Reader r(buf);
    EXPECT_FALSE(r.compact_nullable_string().has_value());
    EXPECT_FALSE(r.ok());
  }
}

// ---------------------------------------------------------------------------
// Bytes (int32 length) and compact bytes

TEST(Reader, BytesReadsLengthPrefixedView) {
  ByteVec buf = bytes_of({0x00, 0x00, 0x00, 0x03, 0x01, 0x02, 0x03});
  Reader r(buf);
  auto b = r.bytes();
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(test::to_vec(b), bytes_of({0x01, 0x02, 0x03}));
  EXPECT_EQ(b.data(), buf.data() + 4);
  EXPECT_TRUE(r.at_end());
}

TEST(Reader, BytesNullIsAnError) {
  ByteVec buf = bytes_of({0xff, 0xff, 0xff, 0xff});
  Reader r(buf);
  EXPECT_TRUE(r.bytes().empty());
  expect_error_between(r, 0, 4);
  EXPECT_EQ(r.error()->what, "null where bytes are required");
}

TEST(Reader, NullableBytesDistinguishesNullFromEmpty) {
  ByteVec buf =
      bytes_of({0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x7e});
  Reader r(buf);
  auto null_value = r.nullable_bytes();
  auto empty_value = r.nullable_bytes();
  auto one_value = r.nullable_bytes();
  EXPECT_FALSE(null_value.has_value());
  ASSERT_TRUE(empty_value.has_value());
  EXPECT_TRUE(empty_value->empty());
  ASSERT_TRUE(one_value.has_value());
  EXPECT_EQ(test::to_vec(*one_value), bytes_of({0x7e}));
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.at_end());
}

TEST(Reader, BytesNegativeLengthOtherThanMinusOneIsAnError) {
  for (auto len : {bytes_of({0xff, 0xff, 0xff, 0xfe}), bytes_of({0x80, 0x00, 0x00, 0x00})}) {
    SCOPED_TRACE(hex(len));
    ByteVec buf = test::concat(len, ByteVec(8, 0));
    {
      Reader r(buf);
      EXPECT_TRUE(r.bytes().empty());
      expect_error_between(r, 0, 4);
      EXPECT_EQ(r.error()->what, "negative bytes length");
    }
    {
      Reader r(buf);
      EXPECT_FALSE(r.nullable_bytes().has_value());
      expect_error_between(r, 0, 4);
    }
  }
}

TEST(Reader, BytesLengthBeyondDataFailsWithoutReadingPastSpan) {
  ByteVec backing = bytes_of({0x00, 0x00, 0x00, 0x04, 0xaa, 0xbb, 0xcc, 0xdd});
  std::span<const uint8_t> view = std::span<const uint8_t>(backing).first(7);
  {
    Reader r(view);
    EXPECT_TRUE(r.bytes().empty());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error()->position, 4u);
  }
  {
    Reader r(view);
    auto v = r.nullable_bytes();
    EXPECT_TRUE(
        !v ||
        v->empty());  // nothing from past the span (null-ness: see FailedNullableReadsReturnNull)
    EXPECT_FALSE(r.ok());
  }
}

TEST(Reader, BytesMaxLengthWithFewBytesFails) {
  ByteVec buf = bytes_of({0x7f, 0xff, 0xff, 0xff, 0x00, 0x01});
  Reader r(buf);
  EXPECT_TRUE(r.bytes().empty());
  EXPECT_FALSE(r.ok());
}

TEST(Reader, CompactBytesReadsLengthPlusOne) {
  ByteVec buf = bytes_of({0x03, 0x10, 0x20});
  Reader r(buf);
  EXPECT_EQ(test::to_vec(r.compact_bytes()), bytes_of({0x10, 0x20}));
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.at_end());
}

TEST(Reader, CompactBytesNullIsAnError) {
  ByteVec buf = bytes_of({0x00});
  Reader r(buf);
  EXPECT_TRUE(r.compact_bytes().empty());
  expect_error_between(r, 0, 1);
}

TEST(Reader, CompactNullableBytesDistinguishesNullFromEmpty) {
  ByteVec buf = bytes_of({0x00, 0x01, 0x02, 0x99});
  Reader r(buf);
  auto null_value = r.compact_nullable_bytes();
  auto empty_value = r.compact_nullable_bytes();
  auto one_value = r.compact_nullable_bytes();
  EXPECT_FALSE(null_value.has_value());
  ASSERT_TRUE(empty_value.has_value());
  EXPECT_TRUE(empty_value->empty());
  ASSERT_TRUE(one_value.has_value());
  EXPECT_EQ(test::to_vec(*one_value), bytes_of({0x99}));
  EXPECT_TRUE(r.ok());
}

TEST(Reader, CompactBytesLengthBeyondDataFailsWithoutReadingPastSpan) {
  ByteVec backing = bytes_of({0x04, 0xaa, 0xbb, 0xcc});
  std::span<const uint8_t> view = std::span<const uint8_t>(backing).first(3);
  {
    Reader r(view);
    EXPECT_TRUE(r.compact_bytes().empty());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error()->position, 1u);
  }
  {
    Reader r(view);
    auto v = r.compact_nullable_bytes();
    EXPECT_TRUE(
        !v ||
        v->empty());  // nothing from past the span (null-ness: see FailedNullableReadsReturnNull)
    EXPECT_FALSE(r.ok());
  }
}

// A nullable read that fails returns null, like any read after an error.
TEST(Reader, FailedNullableReadsReturnNull) {
  ByteVec str16 = test::concat(bytes_of({0x00, 0x05}), test::text_bytes("he"));
  ByteVec cstr = test::concat(bytes_of({0x06}), test::text_bytes("he"));
  ByteVec bytes32 = bytes_of({0x00, 0x00, 0x00, 0x04, 0xaa});
  ByteVec cbytes = bytes_of({0x05, 0xaa});
  {
    Reader r(str16);
    EXPECT_EQ(r.nullable_string(), std::nullopt);
    EXPECT_FALSE(r.ok());
  }
  {
    Reader r(cstr);
    EXPECT_EQ(r.compact_nullable_string(), std::nullopt);
    EXPECT_FALSE(r.ok());
  }
  {
    Reader r(bytes32);
    EXPECT_FALSE(r.nullable_bytes().has_value());
    EXPECT_FALSE(r.ok());
  }
  {
    Reader r(cbytes);
    EXPECT_FALSE(r.compact_nullable_bytes().has_value());
    EXPECT_FALSE(r.ok());
  }
}

// ---------------------------------------------------------------------------
// Array counts

TEST(Reader, ArrayLengthMinusOneIsNull) {
  ByteVec buf = bytes_of({0xff, 0xff, 0xff, 0xff});
  Reader r(buf);
  EXPECT_EQ(r.array_length(), -1);
  EXPECT_TRUE(r.ok());
}

TEST(Reader, ArrayLengthZeroAtEndOfInputIsOk) {
  ByteVec buf = bytes_of({0x00, 0x00, 0x00, 0x00});
  Reader r(buf);
  EXPECT_EQ(r.array_length(4), 0);
  EXPECT_TRUE(r.ok());
}

TEST(Reader, ArrayLengthThatFitsExactlyIsOk) {
  ByteVec buf = bytes_of({0x00, 0x00, 0x00, 0x03, 0x0a, 0x0b, 0x0c});
  Reader r(buf);
  EXPECT_EQ(r.array_length(), 3);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 3u);  // the count does not consume the elements
}

TEST(Reader, ArrayLengthHugeCountIsRejectedBeforeAllocation) {
  ByteVec buf = bytes_of({0x7f, 0xff, 0xff, 0xff, 0x01, 0x02, 0x03});
  Reader r(buf);
  EXPECT_EQ(r.array_length(), 0);
  expect_error_between(r, 0, 4);
  EXPECT_EQ(r.error()->what, "array length exceeds the bytes left");
}

TEST(Reader, ArrayLengthOneMoreThanRemainingIsRejected) {
  ByteVec buf = bytes_of({0x00, 0x00, 0x00, 0x04, 0x01, 0x02, 0x03});
  Reader r(buf);
  EXPECT_EQ(r.array_length(), 0);
  EXPECT_FALSE(r.ok());
}

TEST(Reader, ArrayLengthHonoursMinElementSize) {
  // 2 elements of at least 4 bytes need 8 bytes.
  ByteVec seven = test::concat(bytes_of({0x00, 0x00, 0x00, 0x02}), ByteVec(7, 0));
  ByteVec eight = test::concat(bytes_of({0x00, 0x00, 0x00, 0x02}), ByteVec(8, 0));
  {
    Reader r(seven);
    EXPECT_EQ(r.array_length(4), 0);
    EXPECT_FALSE(r.ok());
  }
  {
    Reader r(eight);
    EXPECT_EQ(r.array_length(4), 2);
    EXPECT_TRUE(r.ok());
  }
}

TEST(Reader, ArrayLengthMinElementSizeZeroDoesNotDivideByZero) {
  ByteVec buf = bytes_of({0x00, 0x00, 0x00, 0x05, 0x01});
  Reader r(buf);
  EXPECT_EQ(r.array_length(0), 0);
  EXPECT_FALSE(r.ok());
}

TEST(Reader, ArrayLengthNegativeOtherThanMinusOneIsAnError) {
  for (auto len : {bytes_of({0xff, 0xff, 0xff, 0xfe}), bytes_of({0x80, 0x00, 0x00, 0x00})}) {
    SCOPED_TRACE(hex(len));
    Reader r(len);
    EXPECT_EQ(r.array_length(), 0);
    expect_error_between(r, 0, 4);
    EXPECT_EQ(r.error()->what, "negative array length");
  }
}

TEST(Reader, ArrayLengthTruncatedCountFails) {
  ByteVec buf = bytes_of({0x00, 0x00, 0x01});
  Reader r(buf);
  EXPECT_EQ(r.array_length(), 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error()->position, 0u);
}

TEST(Reader, CompactArrayLengthZeroIsNullAndOneIsEmpty) {
  ByteVec buf = bytes_of({0x00, 0x01});
  Reader r(buf);
  EXPECT_EQ(r.compact_array_length(), -1);
  EXPECT_EQ(r.compact_array_length(), 0);
  EXPECT_TRUE(r.ok());
}

TEST(Reader, CompactArrayLengthThatFitsIsOk) {
  ByteVec buf = bytes_of({0x04, 0x0a, 0x0b, 0x0c});
  Reader r(buf);
  EXPECT_EQ(r.compact_array_length(), 3);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 3u);
}

TEST(Reader, CompactArrayLengthHugeCountIsRejectedBeforeAllocation) {
  // 0x7fffffff + 1 elements claimed, three bytes left.
  ByteVec big = bytes_of({0x80, 0x80, 0x80, 0x80, 0x08, 0x01, 0x02, 0x03});
  // UINT32_MAX - 1 elements claimed (more than int32 can hold).
  ByteVec huge = bytes_of({0xff, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x02, 0x03});
  for (const ByteVec& buf : {big, huge}) {
    SCOPED_TRACE(hex(buf));
    Reader r(buf);
    EXPECT_EQ(r.compact_array_length(), 0);
    expect_error_between(r, 0, 5);
  }
}

TEST(Reader, CompactArrayLengthHonoursMinElementSize) {
  ByteVec buf = test::concat(bytes_of({0x03}), ByteVec(15, 0));  // 2 elements, 15 bytes
  {
    Reader r(buf);
    EXPECT_EQ(r.compact_array_length(8), 0);
    EXPECT_FALSE(r.ok());
  }
  {
    Reader r(buf);
    EXPECT_EQ(r.compact_array_length(7), 2);
    EXPECT_TRUE(r.ok());
  }
}

TEST(Reader, CompactArrayLengthMalformedVarintIsErrorNotNull) {
  ByteVec buf = bytes_of({0x80});
  Reader r(buf);
  // A failed read must not look like a null array (-1).
  EXPECT_EQ(r.compact_array_length(), 0);
  EXPECT_FALSE(r.ok());
}

// ---------------------------------------------------------------------------
// raw / skip

TEST(Reader, RawReturnsViewAndAdvances) {
  ByteVec buf = bytes_of({1, 2, 3, 4, 5});
  Reader r(buf);
  auto v = r.raw(3);
  EXPECT_EQ(v.data(), buf.data());
  EXPECT_EQ(v.size(), 3u);
  EXPECT_EQ(r.position(), 3u);
  r.skip(2);
  EXPECT_TRUE(r.at_end());
  EXPECT_TRUE(r.raw(0).empty());
  EXPECT_TRUE(r.ok());
}

TEST(Reader, RawPastEndFails) {
  ByteVec buf = bytes_of({1, 2, 3});
  Reader r(buf);
  r.skip(1);
  EXPECT_TRUE(r.raw(3).empty());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error()->position, 1u);
  EXPECT_EQ(r.position(), 1u);
}

TEST(Reader, RawHugeCountDoesNotOverflow) {
  ByteVec buf = bytes_of({1, 2, 3});
  Reader r(buf);
  r.skip(1);
  EXPECT_TRUE(r.raw(std::numeric_limits<size_t>::max()).empty());
  EXPECT_FALSE(r.ok());
}

// ---------------------------------------------------------------------------
// Sticky error

TEST(Reader, StickyErrorReturnsZeroValuesAfterFirstFailure) {
  // A varint that overflows 32 bits, followed by bytes that would decode to
  // non-zero values.
  ByteVec buf = bytes_of({0xff, 0xff, 0xff, 0xff, 0x7f, 0x7f, 0xff, 0xff, 0xff, 0x01, 0x01,
                          0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
                          0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01});
  Reader r(buf);
  r.uvarint();
  ASSERT_FALSE(r.ok());
  const DecodeError first = *r.error();
  const size_t pos = r.position();

  EXPECT_EQ(r.int8(), 0);
  EXPECT_EQ(r.int16(), 0);
  EXPECT_EQ(r.int32(), 0);
  EXPECT_EQ(r.int64(), 0);
  EXPECT_EQ(r.uint16(), 0u);
  EXPECT_EQ(r.uint32(), 0u);
  EXPECT_EQ(r.float64(), 0.0);
  EXPECT_FALSE(r.boolean());
  EXPECT_EQ(r.uvarint(), 0u);
  EXPECT_EQ(r.uvarlong(), 0u);
  EXPECT_EQ(r.varint(), 0);
  EXPECT_EQ(r.varlong(), 0);
  EXPECT_TRUE(r.uuid().is_zero());
  EXPECT_EQ(r.string(), "");
  EXPECT_FALSE(r.nullable_string().has_value());
  EXPECT_EQ(r.compact_string(), "");
  EXPECT_FALSE(r.compact_nullable_string().has_value());
  EXPECT_TRUE(r.bytes().empty());
  EXPECT_FALSE(r.nullable_bytes().has_value());
  EXPECT_TRUE(r.compact_bytes().empty());
  EXPECT_FALSE(r.compact_nullable_bytes().has_value());
  EXPECT_EQ(r.array_length(), 0);
  EXPECT_EQ(r.compact_array_length(), 0);
  EXPECT_TRUE(r.raw(1).empty());
  r.skip(1);

  EXPECT_EQ(r.position(), pos);  // nothing after the failure moved the cursor
  EXPECT_EQ(r.remaining(), 0u);
  EXPECT_TRUE(r.at_end());
  ASSERT_TRUE(r.error().has_value());
  EXPECT_EQ(r.error()->position, first.position);
  EXPECT_EQ(r.error()->what, first.what);
}

TEST(Reader, StickyErrorKeepsFirstPositionAndMessage) {
  ByteVec buf = bytes_of({0x00, 0x00, 0x00, 0x00, 0xff, 0xfe});
  Reader r(buf);
  EXPECT_EQ(r.int32(), 0);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.string(), "");  // length -2
  ASSERT_FALSE(r.ok());
  const size_t first_pos = r.error()->position;
  EXPECT_GE(first_pos, 4u);
  EXPECT_LE(first_pos, 6u);
  EXPECT_EQ(r.error()->what, "negative string length");

  r.int64();                  // would be "unexpected end of data"
  r.fail("a later failure");  // explicit failures do not override either
  EXPECT_EQ(r.error()->position, first_pos);
  EXPECT_EQ(r.error()->what, "negative string length");
}

TEST(Reader, FailRecordsCurrentPosition) {
  ByteVec buf = bytes_of({1, 2, 3, 4});
  Reader r(buf);
  r.int16();
  r.fail("semantic check failed");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error()->position, 2u);
  EXPECT_EQ(r.error()->what, "semantic check failed");
  EXPECT_EQ(r.remaining(), 0u);
  EXPECT_EQ(r.int16(), 0);  // the remaining 03 04 are not read
}

}  // namespace
}  // namespace kb::wire
