#pragma once

// Helpers shared by the message tests (not a test source itself: the CMake
// glob only picks up *_test.cpp).
//
// Filler walks a message through its own fields()/tagged_fields() definition,
// like the Decoder and Encoder do, and gives every field present at a version a
// value different from its default. The generic checks below build on it:
// round trips at every version, truncation at every length, unknown tags.

#include <gtest/gtest.h>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "kb/base/byte_buffer.hpp"
#include "kb/wire/reader.hpp"
#include "kb/wire/serde.hpp"
#include "kb/wire/writer.hpp"

namespace kb::protocol::test {

using ByteVec = std::vector<uint8_t>;

// Parses hex digits; whitespace is ignored so tests can group bytes by field.
inline ByteVec from_hex(std::string_view text) {
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  ByteVec out;
  int high = -1;
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\t') continue;
    const int d = digit(c);
    if (d < 0) {
      ADD_FAILURE() << "bad hex character '" << c << "'";
      return {};
    }
    if (high < 0) {
      high = d;
    } else {
      out.push_back(static_cast<uint8_t>(high * 16 + d));
      high = -1;
    }
  }
  if (high >= 0) ADD_FAILURE() << "odd number of hex digits";
  return out;
}

inline std::string hex(std::span<const uint8_t> s) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) out.push_back(' ');
    out.push_back(kDigits[s[i] >> 4]);
    out.push_back(kDigits[s[i] & 0xf]);
  }
  return out;
}

inline ByteVec text_bytes(std::string_view text) { return ByteVec(text.begin(), text.end()); }

// The versions a message is generated for: kVersions (requests, responses,
// headers) or kMinVersion/kMaxVersion (records).
template <class M>
constexpr int16_t min_version() {
  if constexpr (requires { M::kVersions; })
    return M::kVersions.min;
  else
    return M::kMinVersion;
}
template <class M>
constexpr int16_t max_version() {
  if constexpr (requires { M::kVersions; })
    return M::kVersions.max;
  else
    return M::kMaxVersion;
}

template <class M>
bool is_flexible(int16_t version) {
  return version >= M::kFirstFlexible;
}

template <class M>
ByteVec encode_message(const M& message, int16_t version) {
  ByteBuffer buffer;
  wire::Writer writer(buffer);
  wire::encode(writer, message, version, is_flexible<M>(version));
  const auto bytes = buffer.span();
  return ByteVec(bytes.begin(), bytes.end());
}

// Decodes the whole of `bytes`: success means no reader error and nothing left.
template <class M>
::testing::AssertionResult decode_message(std::span<const uint8_t> bytes, M& out, int16_t version) {
  wire::Reader reader(bytes);
  wire::decode(reader, out, version, is_flexible<M>(version));
  if (!reader.ok()) {
    return ::testing::AssertionFailure()
           << "decode error at " << reader.error()->position << ": " << reader.error()->what;
  }
  if (!reader.at_end()) {
    return ::testing::AssertionFailure() << reader.remaining() << " bytes left after decoding";
  }
  return ::testing::AssertionSuccess();
}

class Filler;

// Fills tagged fields (flexible versions only).
class TagFiller {
 public:
  TagFiller(Filler& filler, int16_t version_) : version(version_), filler_(filler) {}
  const int16_t version;
  template <class T, class D = T>
  void operator()(uint32_t tag, T& field, const D& default_value = D{});

 private:
  Filler& filler_;
};

// Gives every field present at `version` a value that differs from the one
// it had (members start at their defaults, so: a non-default value). Views
// point into storage owned by the Filler, which must outlive the message.
class Filler {
 public:
  Filler(int16_t version_, bool flexible_) : version(version_), flexible(flexible_) {}
  Filler(const Filler&) = delete;
  Filler& operator=(const Filler&) = delete;

  const int16_t version;
  const bool flexible;

  template <std::integral T>
  requires(!std::same_as<T, bool>) void operator()(T& v) {
    // v + k * 0x0101..01 (mod 2^n): every byte changes, and since the
    // multiplier is odd and 0 < k < 2^7, the sum never equals v.
    using U = std::make_unsigned_t<T>;
    U spread = 0;
    for (size_t i = 0; i < sizeof(T); ++i) spread = static_cast<U>((spread << 8) | 1u);
    v = static_cast<T>(static_cast<U>(static_cast<U>(v) + static_cast<U>(step() * spread)));
  }
  void operator()(bool& v) { v = !v; }
  void operator()(double& v) { v += step() + 0.5; }
  void operator()(wire::Uuid& v) {
    const unsigned k = step();
    for (size_t i = 0; i < v.bytes.size(); ++i) v.bytes[i] = static_cast<uint8_t>(k * 16 + i + 1);
  }
  void operator()(std::string& v) { v = text(); }
  void operator()(std::string_view& v) { v = strings_.emplace_back(text()); }
  void operator()(std::optional<std::string>& v) { v.emplace(text()); }
  void operator()(std::optional<std::string_view>& v) { v.emplace(strings_.emplace_back(text())); }
  void operator()(std::vector<uint8_t>& v) { v = blob(); }
  void operator()(wire::Bytes& v) { v = blobs_.emplace_back(blob()); }
  void operator()(std::optional<wire::Bytes>& v) { v.emplace(blobs_.emplace_back(blob())); }

  template <class T>
  void operator()(std::vector<T>& v) {
    v.resize(2);
    for (T& e : v) (*this)(e);
  }
  template <class T>
  void operator()(std::optional<std::vector<T>>& v) {
    (*this)(v.emplace());
  }
  template <wire::Struct T>
  void operator()(T& s) {
    s.fields(*this);
    if constexpr (wire::HasTaggedFields<T>) {
      if (flexible) {
        TagFiller tags(*this, version);
        s.tagged_fields(tags);
      }
    }
  }
  template <wire::Struct T>
  void operator()(std::optional<T>& s) {
    (*this)(s.emplace());
  }

 private:
  unsigned step() {
    counter_ = counter_ % 97 + 1;
    return counter_;
  }
  std::string text() {
    const unsigned k = step();
    std::string s = "f" + std::to_string(k);
    s.append(k % 4, static_cast<char>('a' + k % 26));
    return s;
  }
  ByteVec blob() {
    const unsigned k = step();
    ByteVec b(1 + k % 5);
    for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<uint8_t>(k * 7 + i);
    return b;
  }

  unsigned counter_ = 0;
  std::deque<std::string> strings_;
  std::deque<ByteVec> blobs_;
};

template <class T, class D>
void TagFiller::operator()(uint32_t /*tag*/, T& field, const D& /*default_value*/) {
  filler_(field);
}

// Sets every tagged field of one struct (not of the structs inside) back to
// its default, so that its tagged-field section encodes as a zero count.
struct TagResetter {
  const int16_t version;
  template <class T, class D = T>
  void operator()(uint32_t /*tag*/, T& field, const D& default_value = D{}) {
    field = default_value;
  }
};

// A message with every field present at `version` set, and the Filler that
// owns what its views point to.
template <class M>
struct Filled {
  explicit Filled(int16_t version) : filler(version, is_flexible<M>(version)) { filler(message); }
  Filler filler;
  M message;
};

// Encode, decode, encode again: the two encodings must be equal and the
// decode must consume every byte.
template <class M>
void expect_round_trip(const M& message, int16_t version) {
  const ByteVec first = encode_message(message, version);
  M decoded;
  ASSERT_TRUE(decode_message(first, decoded, version));
  EXPECT_EQ(hex(encode_message(decoded, version)), hex(first));
}

template <class M>
void expect_round_trips_at_every_version() {
  for (int16_t v = min_version<M>(); v <= max_version<M>(); ++v) {
    SCOPED_TRACE(::testing::Message() << "version " << v);
    Filled<M> filled(v);
    expect_round_trip(filled.message, v);
    expect_round_trip(M{}, v);  // defaults: empty arrays, nulls
  }
}

// Every strict prefix of a valid encoding must fail to decode with a reader
// error. Each prefix is copied to its own allocation so that the sanitizer
// sees any read past its end.
template <class M>
void expect_truncations_fail() {
  for (int16_t v = min_version<M>(); v <= max_version<M>(); ++v) {
    SCOPED_TRACE(::testing::Message() << "version " << v);
    Filled<M> filled(v);
    const ByteVec full = encode_message(filled.message, v);  // may be empty: no prefixes
    std::vector<size_t> decoded_lengths;
    for (size_t n = 0; n < full.size(); ++n) {
      const ByteVec prefix(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
      wire::Reader reader(prefix);
      M out;
      wire::decode(reader, out, v, is_flexible<M>(v));
      if (reader.ok()) decoded_lengths.push_back(n);
    }
    EXPECT_TRUE(decoded_lengths.empty())
        << decoded_lengths.size() << " prefixes decoded, the first of length "
        << decoded_lengths.front() << " of " << full.size();
  }
}

// In every flexible version, unknown tags in the message's top-level tagged
// section are skipped: the message decodes as if they were absent.
template <class M>
void expect_unknown_tags_skipped() {
  // Two unknown tags: 21 with three bytes, 300 (a two-byte varint) empty.
  const ByteVec unknown = from_hex("02  15 03 aa bb cc  ac02 00");
  int checked = 0;
  for (int16_t v = min_version<M>(); v <= max_version<M>(); ++v) {
    if (!is_flexible<M>(v)) continue;
    SCOPED_TRACE(::testing::Message() << "version " << v);
    Filled<M> filled(v);
    if constexpr (wire::HasTaggedFields<M>) {
      TagResetter reset{v};
      filled.message.tagged_fields(reset);
    }
    const ByteVec plain = encode_message(filled.message, v);
    ASSERT_FALSE(plain.empty());
    ASSERT_EQ(plain.back(), 0) << "top-level tagged section should be empty";
    ByteVec tagged(plain.begin(), plain.end() - 1);
    tagged.insert(tagged.end(), unknown.begin(), unknown.end());
    M decoded;
    ASSERT_TRUE(decode_message(tagged, decoded, v));
    EXPECT_EQ(hex(encode_message(decoded, v)), hex(plain));
    ++checked;
  }
  EXPECT_GT(checked, 0) << "no flexible version";
}

// Exact bytes, both ways: `message` encodes to `expected_hex`, and those bytes
// decode (completely) into a message that encodes to the same bytes. Returns
// the decoded message so the caller can check its fields.
template <class M>
M expect_exact_bytes(const M& message, int16_t version, std::string_view expected_hex,
                     ByteVec& storage) {
  storage = from_hex(expected_hex);
  EXPECT_EQ(hex(encode_message(message, version)), hex(storage));
  M decoded;
  EXPECT_TRUE(decode_message(storage, decoded, version));
  EXPECT_EQ(hex(encode_message(decoded, version)), hex(storage));
  return decoded;
}

}  // namespace kb::protocol::test
