// Writer -> Reader round trips for every wire type, including extremes and a
// deterministic pseudo-random sweep of the varint encodings.

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kb/wire/reader.hpp"
#include "kb/wire/writer.hpp"
#include "test_bytes.hpp"

namespace kb::wire {
namespace {

using test::ByteVec;
using test::encode;

template <typename T>
struct Limits {
  static constexpr T lo = std::numeric_limits<T>::min();
  static constexpr T hi = std::numeric_limits<T>::max();
};

TEST(RoundTrip, Int8Extremes) {
  for (int8_t v : {Limits<int8_t>::lo, int8_t{-1}, int8_t{0}, int8_t{1}, Limits<int8_t>::hi}) {
    ByteVec buf = encode([&](Writer& w) { w.int8(v); });
    Reader r(buf);
    EXPECT_EQ(r.int8(), v);
    EXPECT_TRUE(r.ok() && r.at_end());
  }
}

TEST(RoundTrip, Int16Extremes) {
  for (int16_t v : {Limits<int16_t>::lo, int16_t{-256}, int16_t{-1}, int16_t{0}, int16_t{255},
                    Limits<int16_t>::hi}) {
    ByteVec buf = encode([&](Writer& w) { w.int16(v); });
    Reader r(buf);
    EXPECT_EQ(r.int16(), v);
    EXPECT_TRUE(r.ok() && r.at_end());
  }
}

TEST(RoundTrip, Int32Extremes) {
  for (int32_t v : {Limits<int32_t>::lo, -65536, -1, 0, 1, 16777216, Limits<int32_t>::hi}) {
    ByteVec buf = encode([&](Writer& w) { w.int32(v); });
    Reader r(buf);
    EXPECT_EQ(r.int32(), v);
    EXPECT_TRUE(r.ok() && r.at_end());
  }
}

TEST(RoundTrip, Int64Extremes) {
  for (int64_t v : {Limits<int64_t>::lo, int64_t{-1}, int64_t{0}, int64_t{1},
                    int64_t{0x0102030405060708}, Limits<int64_t>::hi}) {
    ByteVec buf = encode([&](Writer& w) { w.int64(v); });
    Reader r(buf);
    EXPECT_EQ(r.int64(), v);
    EXPECT_TRUE(r.ok() && r.at_end());
  }
}

TEST(RoundTrip, UnsignedExtremes) {
  for (uint16_t v : {uint16_t{0}, uint16_t{0x8000}, Limits<uint16_t>::hi}) {
    ByteVec buf = encode([&](Writer& w) { w.uint16(v); });
    Reader r(buf);
    EXPECT_EQ(r.uint16(), v);
    EXPECT_TRUE(r.ok() && r.at_end());
  }
  for (uint32_t v : {0u, 0x80000000u, Limits<uint32_t>::hi}) {
    ByteVec buf = encode([&](Writer& w) { w.uint32(v); });
    Reader r(buf);
    EXPECT_EQ(r.uint32(), v);
    EXPECT_TRUE(r.ok() && r.at_end());
  }
}

TEST(RoundTrip, Float64PreservesBitPatterns) {
  const uint64_t patterns[] = {
      0x0000000000000000ULL,  // +0.0
      0x8000000000000000ULL,  // -0.0
      0x3ff0000000000000ULL,  // 1.0
      0x7ff0000000000000ULL,  // +inf
      0xfff0000000000000ULL,  // -inf
      0x7ff8000000000000ULL,  // canonical quiet NaN
      0x7ff80000deadbeefULL,  // quiet NaN with payload
      0xfff8000000000001ULL,  // negative quiet NaN with payload
      0x0000000000000001ULL,  // smallest subnormal
      0x7fefffffffffffffULL,  // largest finite
  };
  for (uint64_t bits : patterns) {
    SCOPED_TRACE(bits);
    const double v = std::bit_cast<double>(bits);
    ByteVec buf = encode([&](Writer& w) { w.float64(v); });
    Reader r(buf);
    EXPECT_EQ(std::bit_cast<uint64_t>(r.float64()), bits);
    EXPECT_TRUE(r.ok() && r.at_end());
  }
}

TEST(RoundTrip, NegativeZeroKeepsItsSign) {
  ByteVec buf = encode([](Writer& w) { w.float64(-0.0); });
  Reader r(buf);
  double v = r.float64();
  EXPECT_EQ(v, 0.0);
  EXPECT_TRUE(std::signbit(v));
}

TEST(RoundTrip, Boolean) {
  ByteVec buf = encode([](Writer& w) {
    w.boolean(true);
    w.boolean(false);
  });
  Reader r(buf);
  EXPECT_TRUE(r.boolean());
  EXPECT_FALSE(r.boolean());
  EXPECT_TRUE(r.ok() && r.at_end());
}

TEST(RoundTrip, Uuid) {
  std::mt19937_64 rng(0x5eed);
  for (int i = 0; i < 32; ++i) {
    Uuid id;
    for (auto& b : id.bytes) b = static_cast<uint8_t>(rng());
    ByteVec buf = encode([&](Writer& w) { w.uuid(id); });
    ASSERT_EQ(buf.size(), 16u);
    Reader r(buf);
    EXPECT_EQ(r.uuid(), id);
    EXPECT_TRUE(r.ok() && r.at_end());
  }
}

TEST(RoundTrip, UvarintBoundariesAndSize) {
  const uint32_t values[] = {0,          1,          127,        128,       16383,
                             16384,      2097151,    2097152,    268435455, 268435456,
                             0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff};
  for (uint32_t v : values) {
    SCOPED_TRACE(v);
    ByteVec buf = encode([&](Writer& w) { w.uvarint(v); });
    EXPECT_EQ(buf.size(), uvarint_size(v));
    Reader r(buf);
    EXPECT_EQ(r.uvarint(), v);
    EXPECT_TRUE(r.ok() && r.at_end());
  }
}

TEST(RoundTrip, VarintAndVarlongExtremes) {
  for (int32_t v : {Limits<int32_t>::lo, Limits<int32_t>::lo + 1, -65, -64, -1, 0, 1, 63, 64,
                    Limits<int32_t>::hi - 1, Limits<int32_t>::hi}) {
    SCOPED_TRACE(v);
    ByteVec buf = encode([&](Writer& w) { w.varint(v); });
    Reader r(buf);
    EXPECT_EQ(r.varint(), v);
    EXPECT_TRUE(r.ok() && r.at_end());
  }
  for (int64_t v : {Limits<int64_t>::lo, Limits<int64_t>::lo + 1, int64_t{-1}, int64_t{0},
                    int64_t{1}, int64_t{Limits<int32_t>::lo} - 1, int64_t{Limits<int32_t>::hi} + 1,
                    Limits<int64_t>::hi - 1, Limits<int64_t>::hi}) {
    SCOPED_TRACE(v);
    ByteVec buf = encode([&](Writer& w) { w.varlong(v); });
    Reader r(buf);
    EXPECT_EQ(r.varlong(), v);
    EXPECT_TRUE(r.ok() && r.at_end());
  }
}

TEST(RoundTrip, RandomVarintsAcrossAllLengths) {
  // Values are drawn with a random bit width so every encoded length is hit.
  std::mt19937_64 rng(20240601);
  ByteBuffer buf;
  Writer w(buf);
  std::vector<uint32_t> u32;
  std::vector<uint64_t> u64;
  std::vector<int32_t> s32;
  std::vector<int64_t> s64;
  for (int i = 0; i < 2000; ++i) {
    const unsigned bits32 = static_cast<unsigned>(rng() % 33);
    const unsigned bits64 = static_cast<unsigned>(rng() % 65);
    uint64_t raw = rng();
    u32.push_back(bits32 == 0 ? 0 : static_cast<uint32_t>(raw >> (64 - bits32)));
    u64.push_back(bits64 == 0 ? 0 : raw >> (64 - bits64));
    s32.push_back(static_cast<int32_t>(u32.back() ^ static_cast<uint32_t>(rng())));
    s64.push_back(static_cast<int64_t>(u64.back() ^ rng()));
    w.uvarint(u32.back());
    w.uvarlong(u64.back());
    w.varint(s32.back());
    w.varlong(s64.back());
  }
  Reader r(buf.span());
  for (size_t i = 0; i < u32.size(); ++i) {
    ASSERT_EQ(r.uvarint(), u32[i]) << i;
    ASSERT_EQ(r.uvarlong(), u64[i]) << i;
    ASSERT_EQ(r.varint(), s32[i]) << i;
    ASSERT_EQ(r.varlong(), s64[i]) << i;
  }
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.at_end());
}

TEST(RoundTrip, StringsNullVsEmpty) {
  std::string big(20000, 'x');  // multi-byte compact length, fits int16
  ByteVec buf = encode([&](Writer& w) {
    w.string("topic-a");
    w.string("");
    w.nullable_string(std::nullopt);
    w.nullable_string(std::string_view(""));
    w.nullable_string(std::string_view("n"));
    w.compact_string("compact");
    w.compact_string("");
    w.compact_nullable_string(std::nullopt);
    w.compact_nullable_string(std::string_view(""));
    w.compact_nullable_string(std::string_view("cn"));
    w.string(big);
    w.compact_string(big);
  });
  Reader r(buf);
  EXPECT_EQ(r.string(), "topic-a");
  EXPECT_EQ(r.string(), "");
  EXPECT_EQ(r.nullable_string(), std::nullopt);
  EXPECT_EQ(r.nullable_string(), std::optional<std::string_view>(""));
  EXPECT_EQ(r.nullable_string(), std::optional<std::string_view>("n"));
  EXPECT_EQ(r.compact_string(), "compact");
  EXPECT_EQ(r.compact_string(), "");
  EXPECT_EQ(r.compact_nullable_string(), std::nullopt);
  EXPECT_EQ(r.compact_nullable_string(), std::optional<std::string_view>(""));
  EXPECT_EQ(r.compact_nullable_string(), std::optional<std::string_view>("cn"));
  EXPECT_EQ(r.string(), big);
  EXPECT_EQ(r.compact_string(), big);
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.at_end());
}

TEST(RoundTrip, StringAtInt16MaximumLength) {
  std::string text(32767, 'm');
  ByteVec buf = encode([&](Writer& w) { w.string(text); });
  ASSERT_EQ(buf.size(), 2u + 32767u);
  Reader r(buf);
  EXPECT_EQ(r.string(), text);
  EXPECT_TRUE(r.ok() && r.at_end());
}

TEST(RoundTrip, BytesNullVsEmpty) {
  const std::vector<uint8_t> payload{0, 1, 2, 0xfe, 0xff};
  std::span<const uint8_t> empty;
  ByteVec buf = encode([&](Writer& w) {
    w.bytes(payload);
    w.bytes(empty);
    w.nullable_bytes(std::nullopt);
    w.nullable_bytes(empty);
    w.nullable_bytes(std::span<const uint8_t>(payload));
    w.compact_bytes(payload);
    w.compact_bytes(empty);
    w.compact_nullable_bytes(std::nullopt);
    w.compact_nullable_bytes(empty);
    w.compact_nullable_bytes(std::span<const uint8_t>(payload));
  });
  Reader r(buf);
  EXPECT_EQ(test::to_vec(r.bytes()), payload);
  EXPECT_TRUE(r.bytes().empty());
  EXPECT_FALSE(r.nullable_bytes().has_value());
  auto e = r.nullable_bytes();
  ASSERT_TRUE(e.has_value());
  EXPECT_TRUE(e->empty());
  auto p = r.nullable_bytes();
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(test::to_vec(*p), payload);
  EXPECT_EQ(test::to_vec(r.compact_bytes()), payload);
  EXPECT_TRUE(r.compact_bytes().empty());
  EXPECT_FALSE(r.compact_nullable_bytes().has_value());
  auto ce = r.compact_nullable_bytes();
  ASSERT_TRUE(ce.has_value());
  EXPECT_TRUE(ce->empty());
  auto cp = r.compact_nullable_bytes();
  ASSERT_TRUE(cp.has_value());
  EXPECT_EQ(test::to_vec(*cp), payload);
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.at_end());
}

TEST(RoundTrip, ArrayLengths) {
  ByteVec buf = encode([](Writer& w) {
    w.array_length(-1);
    w.array_length(0);
    w.compact_array_length(-1);
    w.compact_array_length(0);
    w.array_length(2);
    w.int32(10);
    w.int32(20);
    w.compact_array_length(2);
    w.int16(30);
    w.int16(40);
  });
  Reader r(buf);
  EXPECT_EQ(r.array_length(4), -1);
  EXPECT_EQ(r.array_length(4), 0);
  EXPECT_EQ(r.compact_array_length(), -1);
  EXPECT_EQ(r.compact_array_length(), 0);
  ASSERT_EQ(r.array_length(4), 2);
  EXPECT_EQ(r.int32(), 10);
  EXPECT_EQ(r.int32(), 20);
  ASSERT_EQ(r.compact_array_length(2), 2);
  EXPECT_EQ(r.int16(), 30);
  EXPECT_EQ(r.int16(), 40);
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.at_end());
}

TEST(RoundTrip, FramedRequestHeader) {
  // size | api_key | api_version | correlation_id | client_id (nullable string)
  ByteBuffer buf;
  Writer w(buf);
  size_t size_at = w.reserve_int32();
  w.int16(3);
  w.int16(12);
  w.int32(0x01020304);
  w.nullable_string(std::string_view("client-1"));
  w.uvarint(0);  // empty tagged-field section
  w.patch_int32(size_at, static_cast<int32_t>(w.written() - 4));

  Reader r(buf.span());
  const int32_t size = r.int32();
  ASSERT_EQ(static_cast<size_t>(size), r.remaining());
  EXPECT_EQ(r.int16(), 3);
  EXPECT_EQ(r.int16(), 12);
  EXPECT_EQ(r.int32(), 0x01020304);
  EXPECT_EQ(r.nullable_string(), std::optional<std::string_view>("client-1"));
  EXPECT_EQ(r.uvarint(), 0u);
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.at_end());
}

}  // namespace
}  // namespace kb::wire
