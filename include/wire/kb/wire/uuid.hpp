#pragma once

#include <array>
#include <cstdint>
#include <string>

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
  static bool from_base64(std::string_view text, Uuid& out);
};

}  // namespace kb::wire
