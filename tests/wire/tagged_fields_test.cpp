// Tagged-field sections are read as Kafka's generated readers read them: a
// loop over the count with a switch on each tag, so tags may come in any
// order and more than once (the last one counts); a known tag's value is read
// from the stream itself; an unknown one is skipped by its size; a tag the
// schema has only in other versions is refused.
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kb/base/byte_buffer.hpp"
#include "kb/wire/reader.hpp"
#include "kb/wire/serde.hpp"
#include "kb/wire/writer.hpp"

namespace kb::wire {
namespace {

struct Inner {
  int32_t a = 0;
  int32_t b = -1;  // tagged
  template <class Io>
  void fields(Io& io) {
    io(a);
  }
  template <class Tags>
  void tagged_fields(Tags& t) {
    t(0, b, int32_t{-1});
  }
  bool operator==(const Inner&) const = default;
};

// Like a generated struct: tag 0 from v1, tag 1 always, tag 2 (a struct) from
// v1, tag 3 only in a version not generated (v9).
struct Message {
  int16_t id = 0;
  int32_t epoch = -1;
  std::string name;
  Inner inner;
  template <class Io>
  void fields(Io& io) {
    io(id);
  }
  template <class Tags>
  void tagged_fields(Tags& t) {
    if (t.version >= 1) {
      t(0, epoch, int32_t{-1});
    } else {
      invalid_tag(t, 0);
    }
    t(1, name);
    if (t.version >= 1) {
      t(2, inner);
    } else {
      invalid_tag(t, 2);
    }
    invalid_tag(t, 3);
  }
};

// Hex digits to bytes; spaces group them by field.
std::vector<uint8_t> hex_bytes(std::string_view text) {
  std::vector<uint8_t> out;
  std::string digits;
  for (char c : text) {
    if (c != ' ') digits.push_back(c);
  }
  for (size_t i = 0; i + 1 < digits.size(); i += 2)
    out.push_back(static_cast<uint8_t>(std::stoi(digits.substr(i, 2), nullptr, 16)));
  return out;
}

// Decodes all of `bytes` at a flexible version.
bool decode_all(const std::vector<uint8_t>& bytes, Message& m, int16_t version = 1) {
  Reader r(bytes);
  decode(r, m, version, true);
  return r.ok() && r.at_end();
}

TEST(TaggedFields, InAnyOrder) {
  // id 7; tags 1 ("ab"), then 0 (epoch 5): descending, as Kafka accepts.
  const auto bytes = hex_bytes("0007 02  01 03 03 6162  00 04 00000005");
  Message m;
  ASSERT_TRUE(decode_all(bytes, m));
  EXPECT_EQ(m.id, 7);
  EXPECT_EQ(m.epoch, 5);
  EXPECT_EQ(m.name, "ab");
}

TEST(TaggedFields, ATagTwiceTheLastCounts) {
  const auto bytes = hex_bytes("0007 02  00 04 00000005  00 04 00000009");
  Message m;
  ASSERT_TRUE(decode_all(bytes, m));
  EXPECT_EQ(m.epoch, 9);
}

TEST(TaggedFields, AStructTagTwiceIsReplacedWhole) {
  // inner {a 1, b 2}, then inner {a 3} whose b is absent: b is back to -1,
  // as Kafka makes a new struct for the second one.
  const auto bytes = hex_bytes(
      "0007 02"
      "  02 0b 00000001 01 00 04 00000002"
      "  02 05 00000003 00");
  Message m;
  ASSERT_TRUE(decode_all(bytes, m));
  EXPECT_EQ(m.inner, (Inner{3, -1}));
}

TEST(TaggedFields, UnknownTagsAnywhereAreSkippedBySize) {
  const auto bytes = hex_bytes("0007 03  09 02 beef  00 04 00000005  05 00");
  Message m;
  ASSERT_TRUE(decode_all(bytes, m));
  EXPECT_EQ(m.epoch, 5);
}

TEST(TaggedFields, AKnownTagIsReadWhateverItsSizeSays) {
  // Size 1 in front of a four-byte int32: Kafka's reader reads the int32 from
  // the stream and does not look at the size.
  const auto bytes = hex_bytes("0007 01  00 01 00000005");
  Message m;
  ASSERT_TRUE(decode_all(bytes, m));
  EXPECT_EQ(m.epoch, 5);
}

TEST(TaggedFields, ATagOfOtherVersionsIsRefused) {
  Message m;
  // Tag 0 is the schema's from v1 only.
  EXPECT_FALSE(decode_all(hex_bytes("0007 01  00 04 00000005"), m, 0));
  // Tag 3 only in a version not generated.
  EXPECT_FALSE(decode_all(hex_bytes("0007 01  03 00"), m, 1));
  // Tag 1 is there at every version.
  EXPECT_TRUE(decode_all(hex_bytes("0007 01  01 02 02 78"), m, 0));
  EXPECT_EQ(m.name, "x");
}

TEST(TaggedFields, ACountOf2To31OrMoreReadsNoTag) {
  // Kafka reads the count as a signed int: 0x80000000 is negative, and its
  // loop reads nothing.
  const auto bytes = hex_bytes("0007 8080808008");
  Message m;
  ASSERT_TRUE(decode_all(bytes, m));
  EXPECT_EQ(m.id, 7);
}

TEST(TaggedFields, TruncatedTagsFail) {
  const auto full = hex_bytes("0007 02  01 03 03 6162  00 04 00000005");
  for (size_t n = 0; n < full.size(); ++n) {
    const std::vector<uint8_t> prefix(full.begin(), full.begin() + static_cast<ptrdiff_t>(n));
    Reader r(prefix);
    Message m;
    decode(r, m, 1, true);
    EXPECT_FALSE(r.ok()) << n;
  }
}

TEST(TaggedFields, WrittenInCallOrderDefaultsLeftOut) {
  Message m;
  m.id = 7;
  m.epoch = 5;
  ByteBuffer out;
  Writer w(out);
  encode(w, m, 1, true);
  EXPECT_EQ(std::vector<uint8_t>(out.data(), out.data() + out.size()),
            hex_bytes("0007 01  00 04 00000005"));
}

// A tagged nullable struct, as ConsumerGroupMemberMetadataValue's classic
// member metadata: starts as an empty struct (its schema's default is not
// "null"), so the empty one is left out and a null is written.
struct WithNullableStruct {
  int8_t id = 0;
  std::optional<Inner> meta = Inner{};
  template <class Io>
  void fields(Io& io) {
    io(id);
  }
  template <class Tags>
  void tagged_fields(Tags& t) {
    t(0, meta, std::optional<Inner>{Inner{}});
  }
};

std::vector<uint8_t> encoded(const WithNullableStruct& m) {
  ByteBuffer out;
  Writer w(out);
  encode(w, m, 0, true);
  return {out.data(), out.data() + out.size()};
}

bool decode_all(const std::vector<uint8_t>& bytes, WithNullableStruct& m) {
  Reader r(bytes);
  decode(r, m, 0, true);
  return r.ok() && r.at_end();
}

TEST(TaggedFields, ANullableStructHasAVarintMarker) {
  WithNullableStruct m;
  m.id = 1;
  EXPECT_EQ(encoded(m), hex_bytes("01 00"));  // the default (empty struct): left out
  m.meta.reset();
  EXPECT_EQ(encoded(m), hex_bytes("01 01  00 01 00"));  // null: marker 0
  m.meta = Inner{.a = 2, .b = 3};
  // Present: marker 1, the struct with its own tagged section; size counts both.
  EXPECT_EQ(encoded(m), hex_bytes("01 01  00 0c 01 00000002 01 00 04 00000003"));
}

TEST(TaggedFields, ANullableStructReadsAsKafkaReadsIt) {
  WithNullableStruct m;
  ASSERT_TRUE(decode_all(hex_bytes("01 00"), m));
  EXPECT_EQ(m.meta, Inner{});  // absent: the default, not null
  ASSERT_TRUE(decode_all(hex_bytes("01 01  00 01 00"), m));
  EXPECT_FALSE(m.meta.has_value());
  // Any positive marker means present, a multi-byte one too.
  ASSERT_TRUE(decode_all(hex_bytes("01 01  00 07 8001 00000009 00"), m));
  EXPECT_EQ(m.meta, (Inner{.a = 9, .b = -1}));
  // 2^31 and more are negative as Java's int: null, and nothing else is read.
  m.meta = Inner{};
  ASSERT_TRUE(decode_all(hex_bytes("01 01  00 05 8080808008"), m));
  EXPECT_FALSE(m.meta.has_value());
  // The struct is read whatever the size says; a truncated one fails.
  EXPECT_FALSE(decode_all(hex_bytes("01 01  00 02 01 0000"), m));
}

}  // namespace
}  // namespace kb::wire
