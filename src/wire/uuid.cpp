#include "kb/wire/uuid.hpp"

#include <string_view>

namespace kb::wire {

namespace {
constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int decode_char(char c) {
  auto at = kAlphabet.find(c);
  return at == std::string_view::npos ? -1 : static_cast<int>(at);
}
}  // namespace

std::string Uuid::to_base64() const {
  std::string out;
  out.reserve(22);
  uint32_t acc = 0;
  int bits = 0;
  for (uint8_t b : bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 0x3f]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 0x3f]);
  return out;
}

bool Uuid::from_base64(std::string_view text, Uuid& out) {
  if (text.size() != 22) return false;
  Uuid id;
  uint32_t acc = 0;
  int bits = 0;
  size_t n = 0;
  for (char c : text) {
    int v = decode_char(c);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (n < 16) id.bytes[n++] = static_cast<uint8_t>(acc >> bits);
    }
  }
  // 22 characters carry 132 bits: the last 4 must be zero.
  if ((acc & ((1u << bits) - 1)) != 0) return false;
  out = id;
  return true;
}

}  // namespace kb::wire
