#pragma once

// Integers in text files that Kafka reads with Integer.parseInt / Long.parseLong.

#include <cstdint>
#include <optional>
#include <string_view>
#include <type_traits>

namespace kb {

// Integer.parseInt(s) / Long.parseLong(s) of UTF-8 text: an optional leading
// '+' or '-', then one or more decimal digits (Java's Character.digit: any
// Unicode decimal digit of the Basic Multilingual Plane, e.g. "٣" is 3), and
// nothing else (no blanks); nullopt where Java throws NumberFormatException,
// including overflow.
std::optional<int32_t> parse_java_int(std::string_view utf8);
std::optional<int64_t> parse_java_long(std::string_view utf8);

// parse_java_int for int32_t, parse_java_long for int64_t.
template <class Int>
std::optional<Int> parse_java_integer(std::string_view text) {
  static_assert(std::is_same_v<Int, int32_t> || std::is_same_v<Int, int64_t>);
  if constexpr (std::is_same_v<Int, int32_t>)
    return parse_java_int(text);
  else
    return parse_java_long(text);
}

}  // namespace kb
