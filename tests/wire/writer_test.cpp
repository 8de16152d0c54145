// Encoding tests for kb::wire::Writer: exact bytes for every wire type, and
// the reserve/patch mechanism used for frame and batch lengths.

#include "kb/wire/writer.hpp"

#include <gtest/gtest.h>

#include <array>
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
using test::encode;
using test::hex;

// ---------------------------------------------------------------------------
// Fixed width

TEST(Writer, FixedWidthIntegersAreBigEndian) {
  EXPECT_EQ(encode([](Writer& w) { w.int8(-1); }), bytes_of({0xff}));
  EXPECT_EQ(encode([](Writer& w) { w.int8(std::numeric_limits<int8_t>::min()); }),
            bytes_of({0x80}));
  EXPECT_EQ(encode([](Writer& w) { w.int16(0x1234); }), bytes_of({0x12, 0x34}));
  EXPECT_EQ(encode([](Writer& w) { w.int16(-2); }), bytes_of({0xff, 0xfe}));
  EXPECT_EQ(encode([](Writer& w) { w.int32(0x12345678); }), bytes_of({0x12, 0x34, 0x56, 0x78}));
  EXPECT_EQ(encode([](Writer& w) { w.int32(std::numeric_limits<int32_t>::min()); }),
            bytes_of({0x80, 0x00, 0x00, 0x00}));
  EXPECT_EQ(encode([](Writer& w) { w.int64(0x0123456789abcdefLL); }),
            bytes_of({0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}));
  EXPECT_EQ(encode([](Writer& w) { w.int64(-1); }), ByteVec(8, 0xff));
  EXPECT_EQ(encode([](Writer& w) { w.uint16(0xfffe); }), bytes_of({0xff, 0xfe}));
  EXPECT_EQ(encode([](Writer& w) { w.uint32(0xfffffffdu); }), bytes_of({0xff, 0xff, 0xff, 0xfd}));
}

TEST(Writer, Float64IsIeeeBigEndian) {
  EXPECT_EQ(encode([](Writer& w) { w.float64(1.0); }), bytes_of({0x3f, 0xf0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(encode([](Writer& w) { w.float64(-0.0); }), bytes_of({0x80, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(encode([](Writer& w) { w.float64(std::numeric_limits<double>::infinity()); }),
            bytes_of({0x7f, 0xf0, 0, 0, 0, 0, 0, 0}));
}

TEST(Writer, BooleanIsOneByte) {
  EXPECT_EQ(encode([](Writer& w) {
              w.boolean(false);
              w.boolean(true);
            }),
            bytes_of({0x00, 0x01}));
}

TEST(Writer, UuidIsSixteenRawBytes) {
  Uuid id;
  for (size_t i = 0; i < 16; ++i) id.bytes[i] = static_cast<uint8_t>(i * 17);
  ByteVec out = encode([&](Writer& w) { w.uuid(id); });
  EXPECT_EQ(out, ByteVec(id.bytes.begin(), id.bytes.end()));
}

// ---------------------------------------------------------------------------
// Varints

TEST(Writer, UvarintBoundaryEncodings) {
  struct Case {
    uint32_t value;
    ByteVec encoded;
  };
  const Case cases[] = {
      {0, bytes_of({0x00})},
      {127, bytes_of({0x7f})},
      {128, bytes_of({0x80, 0x01})},
      {16383, bytes_of({0xff, 0x7f})},
      {16384, bytes_of({0x80, 0x80, 0x01})},
      {2097151, bytes_of({0xff, 0xff, 0x7f})},
      {2097152, bytes_of({0x80, 0x80, 0x80, 0x01})},
      {268435455, bytes_of({0xff, 0xff, 0xff, 0x7f})},
      {268435456, bytes_of({0x80, 0x80, 0x80, 0x80, 0x01})},
      {0xffffffffu, bytes_of({0xff, 0xff, 0xff, 0xff, 0x0f})},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.value);
    ByteVec out = encode([&](Writer& w) { w.uvarint(c.value); });
    EXPECT_EQ(hex(out), hex(c.encoded));
    EXPECT_EQ(uvarint_size(c.value), c.encoded.size());
  }
}

TEST(Writer, UvarlongMaximumIsTenBytes) {
  ByteVec out = encode([](Writer& w) { w.uvarlong(std::numeric_limits<uint64_t>::max()); });
  EXPECT_EQ(hex(out), "ff ff ff ff ff ff ff ff ff 01");
  EXPECT_EQ(uvarint_size(std::numeric_limits<uint64_t>::max()), 10u);
}

TEST(Writer, VarintIsZigzag) {
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
    SCOPED_TRACE(c.value);
    EXPECT_EQ(hex(encode([&](Writer& w) { w.varint(c.value); })), hex(c.encoded));
  }
}

TEST(Writer, VarlongIsZigzag) {
  EXPECT_EQ(hex(encode([](Writer& w) { w.varlong(0); })), "00");
  EXPECT_EQ(hex(encode([](Writer& w) { w.varlong(-1); })), "01");
  EXPECT_EQ(hex(encode([](Writer& w) { w.varlong(1); })), "02");
  EXPECT_EQ(hex(encode([](Writer& w) { w.varlong(std::numeric_limits<int64_t>::max()); })),
            "fe ff ff ff ff ff ff ff ff 01");
  EXPECT_EQ(hex(encode([](Writer& w) { w.varlong(std::numeric_limits<int64_t>::min()); })),
            "ff ff ff ff ff ff ff ff ff 01");
}

TEST(Writer, UvarintSizeIsConstexpr) {
  static_assert(uvarint_size(0) == 1);
  static_assert(uvarint_size(127) == 1);
  static_assert(uvarint_size(128) == 2);
  static_assert(uvarint_size(16383) == 2);
  static_assert(uvarint_size(16384) == 3);
  static_assert(uvarint_size(0xffffffffu) == 5);
  static_assert(uvarint_size(1ULL << 63) == 10);
  SUCCEED();
}

// ---------------------------------------------------------------------------
// Strings and bytes

TEST(Writer, StringForms) {
  EXPECT_EQ(hex(encode([](Writer& w) { w.string("hi"); })), "00 02 68 69");
  EXPECT_EQ(hex(encode([](Writer& w) { w.string(""); })), "00 00");
  EXPECT_EQ(hex(encode([](Writer& w) { w.nullable_string(std::nullopt); })), "ff ff");
  EXPECT_EQ(hex(encode([](Writer& w) { w.nullable_string(std::string_view("")); })), "00 00");
  EXPECT_EQ(hex(encode([](Writer& w) { w.nullable_string(std::string_view("a")); })), "00 01 61");
  EXPECT_EQ(hex(encode([](Writer& w) { w.compact_string("hi"); })), "03 68 69");
  EXPECT_EQ(hex(encode([](Writer& w) { w.compact_string(""); })), "01");
  EXPECT_EQ(hex(encode([](Writer& w) { w.compact_nullable_string(std::nullopt); })), "00");
  EXPECT_EQ(hex(encode([](Writer& w) { w.compact_nullable_string(std::string_view("")); })), "01");
}

TEST(Writer, CompactStringLengthUsesMultiByteVarint) {
  std::string text(200, 'q');
  ByteVec out = encode([&](Writer& w) { w.compact_string(text); });
  ASSERT_EQ(out.size(), 2u + 200u);
  EXPECT_EQ(out[0], 0xc9);  // 201 = 0x49 | 0x80, then 0x01
  EXPECT_EQ(out[1], 0x01);
}

TEST(Writer, BytesForms) {
  const std::array<uint8_t, 2> two{0xab, 0xcd};
  std::span<const uint8_t> empty;
  EXPECT_EQ(hex(encode([&](Writer& w) { w.bytes(two); })), "00 00 00 02 ab cd");
  EXPECT_EQ(hex(encode([&](Writer& w) { w.bytes(empty); })), "00 00 00 00");
  EXPECT_EQ(hex(encode([](Writer& w) { w.nullable_bytes(std::nullopt); })), "ff ff ff ff");
  EXPECT_EQ(hex(encode([&](Writer& w) { w.nullable_bytes(empty); })), "00 00 00 00");
  EXPECT_EQ(hex(encode([&](Writer& w) { w.compact_bytes(two); })), "03 ab cd");
  EXPECT_EQ(hex(encode([&](Writer& w) { w.compact_bytes(empty); })), "01");
  EXPECT_EQ(hex(encode([](Writer& w) { w.compact_nullable_bytes(std::nullopt); })), "00");
  EXPECT_EQ(hex(encode([&](Writer& w) { w.compact_nullable_bytes(empty); })), "01");
}

TEST(Writer, ArrayLengthForms) {
  EXPECT_EQ(hex(encode([](Writer& w) { w.array_length(-1); })), "ff ff ff ff");
  EXPECT_EQ(hex(encode([](Writer& w) { w.array_length(0); })), "00 00 00 00");
  EXPECT_EQ(hex(encode([](Writer& w) { w.array_length(3); })), "00 00 00 03");
  EXPECT_EQ(hex(encode([](Writer& w) { w.compact_array_length(-1); })), "00");
  EXPECT_EQ(hex(encode([](Writer& w) { w.compact_array_length(0); })), "01");
  EXPECT_EQ(hex(encode([](Writer& w) { w.compact_array_length(127); })), "80 01");
}

TEST(Writer, RawAppendsVerbatim) {
  const std::array<uint8_t, 3> data{1, 2, 3};
  EXPECT_EQ(hex(encode([&](Writer& w) {
              w.int8(9);
              w.raw(data);
            })),
            "09 01 02 03");
}

// ---------------------------------------------------------------------------
// written(), offset(), reserve/patch

TEST(Writer, WrittenCountsOnlyThisWritersBytes) {
  ByteBuffer buf;
  buf.append("prefix", 6);
  Writer w(buf);
  EXPECT_EQ(w.written(), 0u);
  EXPECT_EQ(w.offset(), 6u);
  w.int32(1);
  EXPECT_EQ(w.written(), 4u);
  EXPECT_EQ(w.offset(), 10u);
  w.compact_string("abc");
  EXPECT_EQ(w.written(), 8u);
  EXPECT_EQ(&w.buffer(), &buf);
  EXPECT_EQ(buf.size(), 14u);
}

TEST(Writer, ReserveAndPatchFrameLength) {
  ByteBuffer buf;
  Writer w(buf);
  size_t at = w.reserve_int32();
  EXPECT_EQ(at, 0u);
  EXPECT_EQ(w.written(), 4u);
  w.int16(18);  // api key
  w.int16(4);   // api version
  w.int32(7);   // correlation id
  w.patch_int32(at, static_cast<int32_t>(w.written() - 4));
  EXPECT_EQ(hex(buf.span()), "00 00 00 08 00 12 00 04 00 00 00 07");
}

TEST(Writer, PatchInTheMiddleTouchesOnlyFourBytes) {
  ByteBuffer buf;
  Writer w(buf);
  w.int8(0x11);
  size_t at = w.reserve_int32();
  EXPECT_EQ(at, 1u);
  w.int8(0x22);
  w.patch_int32(at, -2);
  EXPECT_EQ(hex(buf.span()), "11 ff ff ff fe 22");
  w.patch_uint32(at, 0xdeadbeefu);
  EXPECT_EQ(hex(buf.span()), "11 de ad be ef 22");
}

TEST(Writer, PatchAfterBufferGrowth) {
  ByteBuffer buf;
  Writer w(buf);
  size_t at = w.reserve_int32();
  const size_t before = buf.capacity();
  for (int i = 0; i < 5000; ++i) w.int8(static_cast<int8_t>(i));
  ASSERT_GT(buf.capacity(), before);  // the storage moved
  w.patch_int32(at, 5000);
  auto s = buf.span();
  ASSERT_EQ(s.size(), 5004u);
  EXPECT_EQ(hex(s.first(4)), "00 00 13 88");
  for (size_t i = 0; i < 5000; ++i) ASSERT_EQ(s[4 + i], static_cast<uint8_t>(i)) << i;
}

TEST(Writer, PatchIsRelativeToReadableBytesAfterConsume) {
  // A buffer whose front has been consumed: offsets are relative to data().
  ByteBuffer buf;
  buf.append("0123456789", 10);
  buf.consume(7);
  Writer w(buf);
  size_t at = w.reserve_int32();
  EXPECT_EQ(at, 3u);
  w.int8(0x55);
  w.patch_int32(at, 0x01020304);
  EXPECT_EQ(hex(buf.span()), "37 38 39 01 02 03 04 55");
}

TEST(Writer, MultipleReservationsPatchIndependently) {
  ByteBuffer buf;
  Writer w(buf);
  size_t outer = w.reserve_int32();
  w.int8(1);
  size_t inner = w.reserve_int32();
  w.int8(2);
  w.patch_int32(inner, 1);
  w.patch_int32(outer, 6);
  EXPECT_EQ(hex(buf.span()), "00 00 00 06 01 00 00 00 01 02");
}

}  // namespace
}  // namespace kb::wire
