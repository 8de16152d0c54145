#pragma once

// Java properties escapes, shared by server.properties and meta.properties.

#include <charconv>
#include <string>
#include <string_view>

namespace kb {

namespace detail {
inline void append_utf8(std::string& out, unsigned code) {
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

}  // namespace detail

// Java properties escapes: \t \n \r \f, \uXXXX (as UTF-8), anything else
// stands for itself (so "\:" is ":" and "\\" is "\").
inline std::string unescape_property(std::string_view s) {
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
        detail::append_utf8(out, code);
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
