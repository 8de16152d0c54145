#pragma once

// Small helpers shared by the wire tests (not a test source itself: the CMake
// glob only picks up *_test.cpp).

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kb/base/byte_buffer.hpp"
#include "kb/wire/reader.hpp"
#include "kb/wire/writer.hpp"

namespace kb::wire::test {

using ByteVec = std::vector<uint8_t>;

// Builds a byte vector from int literals without a narrowing cast at every site.
inline ByteVec bytes_of(std::initializer_list<int> values) {
  ByteVec out;
  out.reserve(values.size());
  for (int v : values) out.push_back(static_cast<uint8_t>(v));
  return out;
}

inline ByteVec text_bytes(std::string_view text) { return ByteVec(text.begin(), text.end()); }

inline ByteVec concat(const ByteVec& a, const ByteVec& b) {
  ByteVec out = a;
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

inline ByteVec to_vec(std::span<const uint8_t> s) { return ByteVec(s.begin(), s.end()); }

// Runs `fill` against a fresh Writer and returns everything it wrote.
template <typename F>
ByteVec encode(F&& fill) {
  ByteBuffer buf;
  Writer w(buf);
  fill(w);
  return to_vec(buf.span());
}

// Hex dump for readable failure messages: "80 01".
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

}  // namespace kb::wire::test
