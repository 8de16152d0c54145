#pragma once

// Integers in text files that Kafka reads with Integer.parseInt / Long.parseLong.

#include <cstdint>
#include <optional>
#include <string_view>

namespace kb {

// Integer.parseInt(s) / Long.parseLong(s) of UTF-8 text: an optional leading
// '+' or '-', then one or more decimal digits (Java's Character.digit: any
// Unicode decimal digit of the Basic Multilingual Plane, e.g. "٣" is 3), and
// nothing else (no blanks); nullopt where Java throws NumberFormatException,
// including overflow.
std::optional<int32_t> parse_java_int(std::string_view utf8);
std::optional<int64_t> parse_java_long(std::string_view utf8);

}  // namespace kb
