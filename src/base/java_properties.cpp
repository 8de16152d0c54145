#include "kb/base/java_properties.hpp"

#include <algorithm>
#include <charconv>
#include <string>

namespace kb {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\f'; }

size_t skip_blanks(std::string_view s, size_t i) {
  while (i < s.size() && is_blank(s[i])) ++i;
  return i;
}

// Four hex digits at `at`, as Java's \\uxxxx escape requires.
bool read_hex4(std::string_view s, size_t at, unsigned& code) {
  if (at + 4 > s.size()) return false;
  auto [end, ec] = std::from_chars(s.data() + at, s.data() + at + 4, code, 16);
  return ec == std::errc() && end == s.data() + at + 4;
}

void append_utf8(std::string& out, unsigned code) {
  if (code < 0x80) {
    out.push_back(static_cast<char>(code));
  } else if (code < 0x800) {
    out.push_back(static_cast<char>(0xc0 | (code >> 6)));
    out.push_back(static_cast<char>(0x80 | (code & 0x3f)));
  } else if (code < 0x10000) {
    out.push_back(static_cast<char>(0xe0 | (code >> 12)));
    out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (code & 0x3f)));
  } else {
    out.push_back(static_cast<char>(0xf0 | (code >> 18)));
    out.push_back(static_cast<char>(0x80 | ((code >> 12) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (code & 0x3f)));
  }
}

// Splits `line` (a whole logical line, leading blanks gone) into key and value.
// Java keeps a value's trailing blanks; so does this (Kafka's config parsing
// trims them, meta.properties does not).
bool split_entry(std::string_view line, int line_no, PropertyLine& out, std::string& error) {
  size_t key_end = 0;
  while (key_end < line.size()) {
    char c = line[key_end];
    if (c == '\\') {
      key_end += 2;
      continue;
    }
    if (c == '=' || c == ':' || is_blank(c)) break;
    ++key_end;
  }
  key_end = std::min(key_end, line.size());
  size_t value_start = skip_blanks(line, key_end);
  bool has_separator = false;
  if (value_start < line.size() && (line[value_start] == '=' || line[value_start] == ':')) {
    has_separator = true;
    value_start = skip_blanks(line, value_start + 1);
  }
  out.line = line_no;
  out.has_separator = has_separator;
  if (!unescape_property(line.substr(0, key_end), out.key, error) ||
      !unescape_property(line.substr(value_start), out.value, error)) {
    error = "line " + std::to_string(line_no) + ": " + error;
    return false;
  }
  return true;
}

}  // namespace

std::vector<PropertyLine> parse_java_properties(std::string_view text, std::string& error) {
  std::vector<PropertyLine> entries;
  error.clear();
  auto add = [&](std::string_view logical_line, int line_no) {
    PropertyLine entry;
    if (!split_entry(logical_line, line_no, entry, error)) return false;
    entries.push_back(std::move(entry));
    return true;
  };
  std::string logical;
  bool continuing = false;
  int line_no = 0;
  int first_line = 0;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find_first_of("\r\n", start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    ++line_no;
    line.remove_prefix(skip_blanks(line, 0));
    bool is_comment = !continuing && !line.empty() && (line[0] == '#' || line[0] == '!');
    if (!is_comment && (continuing || !line.empty())) {
      if (!continuing) first_line = line_no;
      size_t backslashes = 0;
      while (backslashes < line.size() && line[line.size() - 1 - backslashes] == '\\')
        ++backslashes;
      continuing = backslashes % 2 == 1;
      logical.append(continuing ? line.substr(0, line.size() - 1) : line);
      if (!continuing) {
        if (!add(logical, first_line)) return {};
        logical.clear();
      }
    }
    if (end == text.size()) break;
    start = end + 1;
    if (text[end] == '\r' && start < text.size() && text[start] == '\n') ++start;
  }
  if (continuing && !logical.empty() && !add(logical, first_line)) return {};
  return entries;
}

bool unescape_property(std::string_view s, std::string& out, std::string& error) {
  out.clear();
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      out.push_back(s[i]);
      continue;
    }
    char c = s[++i];
    if (c == 'u') {
      unsigned code = 0;
      if (!read_hex4(s, i + 1, code)) {
        error = "malformed \\uxxxx escape at '" + std::string(s.substr(i - 1, 6)) + "'";
        return false;
      }
      i += 4;
      // A UTF-16 surrogate pair written as two escapes is one character.
      unsigned low = 0;
      if (code >= 0xd800 && code < 0xdc00 && i + 2 < s.size() && s[i + 1] == '\\' &&
          s[i + 2] == 'u' && read_hex4(s, i + 3, low) && low >= 0xdc00 && low < 0xe000) {
        code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
        i += 6;
      }
      append_utf8(out, code);
      continue;
    }
    switch (c) {
      case 't':
        out.push_back('\t');
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 'f':
        out.push_back('\f');
        break;
      default:
        out.push_back(c);
    }
  }
  return true;
}

}  // namespace kb
