#include "kb/base/java_properties.hpp"

#include <charconv>

namespace kb {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\f'; }

size_t skip_blanks(std::string_view s, size_t i) {
  while (i < s.size() && is_blank(s[i])) ++i;
  return i;
}

void append_utf8(std::string& out, unsigned code) {
  if (code < 0x80) {
    out.push_back(static_cast<char>(code));
  } else if (code < 0x800) {
    out.push_back(static_cast<char>(0xc0 | (code >> 6)));
    out.push_back(static_cast<char>(0x80 | (code & 0x3f)));
  } else {
    out.push_back(static_cast<char>(0xe0 | (code >> 12)));
    out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (code & 0x3f)));
  }
}

// Splits `line` (a whole logical line, leading blanks gone) into key and value.
PropertyLine split_entry(std::string_view line, int line_no) {
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
  // Java keeps trailing blanks of a value; configuration files rarely mean them.
  std::string_view value = line.substr(value_start);
  while (!value.empty() && is_blank(value.back()) &&
         (value.size() < 2 || value[value.size() - 2] != '\\'))
    value.remove_suffix(1);
  return PropertyLine{unescape_property(line.substr(0, key_end)), unescape_property(value), line_no,
                      has_separator};
}

}  // namespace

std::vector<PropertyLine> parse_java_properties(std::string_view text) {
  std::vector<PropertyLine> entries;
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
        entries.push_back(split_entry(logical, first_line));
        logical.clear();
      }
    }
    if (end == text.size()) break;
    start = end + 1;
    if (text[end] == '\r' && start < text.size() && text[start] == '\n') ++start;
  }
  if (continuing && !logical.empty()) entries.push_back(split_entry(logical, first_line));
  return entries;
}

std::string unescape_property(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      out.push_back(s[i]);
      continue;
    }
    char c = s[++i];
    if (c == 'u' && i + 4 < s.size()) {
      unsigned code = 0;
      auto [end, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 5, code, 16);
      if (ec == std::errc() && end == s.data() + i + 5) {
        append_utf8(out, code);
        i += 4;
        continue;
      }
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
  return out;
}

}  // namespace kb
