#include "kb/base/java_text.hpp"

#include "kb/base/java_number.hpp"

#include <algorithm>
#include <array>
#include <limits>

namespace kb {

namespace {

// The first code point (digit zero) of every run of ten decimal digits
// (Unicode category Nd) in the Basic Multilingual Plane: Java's
// Character.digit(char, 10) reads each of them. Integer.parseInt works on
// UTF-16 chars, so digits outside the BMP (surrogate pairs) are not digits.
constexpr std::array<char32_t, 37> kBmpDigitZeros = {
    0x0030, 0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6,
    0x0C66, 0x0CE6, 0x0D66, 0x0DE6, 0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0,
    0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90, 0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620,
    0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10};

// Decodes one well-formed UTF-8 sequence at `at`; nullopt when there is none.
std::optional<char32_t> decode_utf8(std::string_view s, size_t& at) {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(s[i]); };
  const uint8_t b0 = byte(at);
  if (b0 < 0x80) {
    ++at;
    return b0;
  }
  size_t length = 0;
  char32_t cp = 0;
  uint8_t low = 0x80;
  uint8_t high = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    length = 2;
    cp = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    length = 3;
    cp = b0 & 0x0F;
    if (b0 == 0xE0) low = 0xA0;   // overlong
    if (b0 == 0xED) high = 0x9F;  // surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    length = 4;
    cp = b0 & 0x07;
    if (b0 == 0xF0) low = 0x90;   // overlong
    if (b0 == 0xF4) high = 0x8F;  // past U+10FFFF
  } else {
    return std::nullopt;
  }
  if (s.size() - at < length) return std::nullopt;
  for (size_t i = 1; i < length; ++i) {
    const uint8_t b = byte(at + i);
    if (b < (i == 1 ? low : 0x80) || b > (i == 1 ? high : 0xBF)) return std::nullopt;
    cp = (cp << 6) | (b & 0x3F);
  }
  at += length;
  return cp;
}

int digit_value(char32_t cp) {
  if (cp >= '0' && cp <= '9') return static_cast<int>(cp - '0');
  auto it = std::upper_bound(kBmpDigitZeros.begin(), kBmpDigitZeros.end(), cp);
  if (it == kBmpDigitZeros.begin()) return -1;
  const char32_t zero = *(it - 1);
  return cp - zero < 10 ? static_cast<int>(cp - zero) : -1;
}

// Integer.parseInt / Long.parseLong: accumulates negatively so that the
// minimum value parses too.
template <class Int>
std::optional<Int> parse_integer(std::string_view s) {
  if (s.empty()) return std::nullopt;
  size_t at = 0;
  bool negative = false;
  if (s[0] == '-' || s[0] == '+') {
    negative = s[0] == '-';
    if (s.size() == 1) return std::nullopt;  // a lone sign
    at = 1;
  }
  const Int limit = negative ? std::numeric_limits<Int>::min() : -std::numeric_limits<Int>::max();
  const Int multmin = limit / 10;
  Int result = 0;
  while (at < s.size()) {
    auto cp = decode_utf8(s, at);
    if (!cp) return std::nullopt;
    const int digit = digit_value(*cp);
    if (digit < 0 || result < multmin) return std::nullopt;
    result *= 10;
    if (result < limit + digit) return std::nullopt;
    result -= static_cast<Int>(digit);
  }
  return negative ? result : static_cast<Int>(-result);
}

bool is_java_whitespace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\x0B' || c == '\f' || c == '\r';
}

}  // namespace

std::optional<int32_t> parse_java_int(std::string_view utf8) {
  return parse_integer<int32_t>(utf8);
}

std::optional<int64_t> parse_java_long(std::string_view utf8) {
  return parse_integer<int64_t>(utf8);
}

std::optional<size_t> first_invalid_utf8_byte(std::string_view bytes) {
  size_t at = 0;
  while (at < bytes.size()) {
    const size_t start = at;
    if (!decode_utf8(bytes, at)) return start;
  }
  return std::nullopt;
}

std::vector<std::string_view> java_read_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start < text.size()) {
    const size_t end = text.find_first_of("\r\n", start);
    if (end == std::string_view::npos) {
      lines.push_back(text.substr(start));
      break;
    }
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
    if (text[end] == '\r' && start < text.size() && text[start] == '\n') ++start;
  }
  return lines;
}

namespace {

// String.split(regex) with limit 0, for a regex whose match at `at` is
// `match_length(line, at)` bytes long (0: none there): a match at the start
// gives an empty first field, trailing empty fields are dropped, and a line
// with no match is its own single field.
template <class MatchLength>
std::vector<std::string_view> java_split(std::string_view line, MatchLength match_length) {
  std::vector<std::string_view> fields;
  size_t start = 0;
  bool matched = false;
  for (size_t at = 0; at < line.size();) {
    const size_t length = match_length(line, at);
    if (length == 0) {
      ++at;
      continue;
    }
    matched = true;
    fields.push_back(line.substr(start, at - start));
    at += length;
    start = at;
  }
  if (!matched) return {line};
  fields.push_back(line.substr(start));
  while (!fields.empty() && fields.back().empty()) fields.pop_back();
  return fields;
}

// The length of the run of "\\s" characters at `at`.
size_t whitespace_run(std::string_view line, size_t at) {
  size_t end = at;
  while (end < line.size() && is_java_whitespace(line[end])) ++end;
  return end - at;
}

}  // namespace

std::vector<std::string_view> java_split_whitespace(std::string_view line) {
  return java_split(line, whitespace_run);
}

std::vector<std::string_view> java_split_colon_whitespace(std::string_view line) {
  return java_split(line, [](std::string_view text, size_t at) -> size_t {
    if (text[at] != ':') return 0;
    const size_t run = whitespace_run(text, at + 1);
    return run == 0 ? 0 : run + 1;
  });
}

std::string_view java_trim(std::string_view text) {
  while (!text.empty() && static_cast<unsigned char>(text.front()) <= ' ') text.remove_prefix(1);
  while (!text.empty() && static_cast<unsigned char>(text.back()) <= ' ') text.remove_suffix(1);
  return text;
}

std::string ascii_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

}  // namespace kb
