#pragma once

// Integers in text files that Kafka reads with Integer.parseInt / Long.parseLong.

#include <charconv>
#include <optional>
#include <string_view>
#include <system_error>
#include <type_traits>

namespace kb {

// Java's parseInt/parseLong: an optional '+' or '-', then one or more decimal
// digits, nothing else (no blanks), within the type's range.
template <class Int>
std::optional<Int> parse_java_integer(std::string_view text) {
  static_assert(std::is_signed_v<Int>);
  std::string_view digits = text;
  if (!digits.empty() && (digits.front() == '+' || digits.front() == '-')) digits.remove_prefix(1);
  if (digits.empty() || digits.front() < '0' || digits.front() > '9') return std::nullopt;
  // from_chars takes a '-' but not a '+': give it the digits with the minus only.
  const char* first = text.front() == '-' ? text.data() : digits.data();
  Int value = 0;
  auto [end, ec] = std::from_chars(first, text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace kb
