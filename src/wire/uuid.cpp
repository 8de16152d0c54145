#include "kb/wire/uuid.hpp"

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace kb::wire {

namespace {
constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int decode_char(char c) {
  auto at = kAlphabet.find(c);
  return at == std::string_view::npos ? -1 : static_cast<int>(at);
}

// Decodes as Java's Base64.getUrlDecoder().decode(String) does, which is what
// Kafka's Uuid.fromString uses: padding is optional, but when present it must
// complete the last 4-character unit; the bits left over after the last whole
// byte are ignored (not required to be zero); nothing may follow the padding.
// Returns false with `why` set when Java would throw.
bool decode_java_url_base64(std::string_view text, std::vector<uint8_t>& out, std::string& why) {
  out.clear();
  if (text.empty()) return true;
  if (text.size() < 2) {
    why = "fewer than 2 base64 characters";
    return false;
  }
  uint32_t bits = 0;
  int shift_to = 18;  // where the next 6 bits go in the current 24-bit unit
  size_t at = 0;
  while (at < text.size()) {
    const char c = text[at++];
    if (c == '=') {
      // "=" alone, or "xx=" not followed by a second "=", is a malformed last unit.
      if (shift_to == 18 || (shift_to == 6 && (at == text.size() || text[at++] != '='))) {
        why = "wrong padding at the end of the last 4-character unit";
        return false;
      }
      break;
    }
    const int v = decode_char(c);
    if (v < 0) {
      why = "character " + std::to_string(static_cast<unsigned char>(c)) + " at " +
            std::to_string(at - 1) + " is not URL-safe base64";
      return false;
    }
    bits |= static_cast<uint32_t>(v) << shift_to;
    shift_to -= 6;
    if (shift_to < 0) {
      out.push_back(static_cast<uint8_t>(bits >> 16));
      out.push_back(static_cast<uint8_t>(bits >> 8));
      out.push_back(static_cast<uint8_t>(bits));
      shift_to = 18;
      bits = 0;
    }
  }
  if (shift_to == 6) {
    out.push_back(static_cast<uint8_t>(bits >> 16));
  } else if (shift_to == 0) {
    out.push_back(static_cast<uint8_t>(bits >> 16));
    out.push_back(static_cast<uint8_t>(bits >> 8));
  } else if (shift_to == 12) {
    why = "the last unit has a single character";
    return false;
  }
  if (at < text.size()) {
    why = "characters after the padding, at " + std::to_string(at);
    return false;
  }
  return true;
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

bool Uuid::from_base64(std::string_view text, Uuid& out, std::string* why) {
  std::string reason;
  if (text.size() > 24) {
    reason = std::to_string(text.size()) + " characters, more than 24";
  } else {
    std::vector<uint8_t> decoded;
    if (decode_java_url_base64(text, decoded, reason)) {
      if (decoded.size() == 16) {
        std::copy(decoded.begin(), decoded.end(), out.bytes.begin());
        return true;
      }
      reason = "decodes to " + std::to_string(decoded.size()) + " bytes, not 16";
    }
  }
  if (why) *why = std::move(reason);
  return false;
}

}  // namespace kb::wire
