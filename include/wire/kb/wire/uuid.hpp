#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace kb::wire {

// A 128-bit id (Kafka's topic ids, directory ids). The all-zero value means "none".
struct Uuid {
  std::array<uint8_t, 16> bytes{};

  bool is_zero() const {
    for (uint8_t b : bytes)
      if (b != 0) return false;
    return true;
  }
  friend bool operator==(const Uuid&, const Uuid&) = default;
  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 misreads the defaulted <=>
  friend auto operator<=>(const Uuid&, const Uuid&) = default;

  // Kafka's text form: URL-safe base64 without padding (22 characters).
  std::string to_base64() const;
  // Reads what Kafka's Uuid.fromString reads: at most 24 characters that Java's
  // URL-safe base64 decoder turns into exactly 16 bytes, so both the 22-character
  // form and the same padded with "==" (bits past the 16th byte are ignored, as
  // Java ignores them). On failure `out` is untouched and `why` says what is wrong.
  static bool from_base64(std::string_view text, Uuid& out, std::string* why = nullptr);
};

}  // namespace kb::wire
