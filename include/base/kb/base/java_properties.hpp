#pragma once

// Java properties files (server.properties, meta.properties), read as
// java.util.Properties.load reads them.

#include <string>
#include <string_view>
#include <vector>

namespace kb {

struct PropertyLine {
  std::string key;
  std::string value;
  int line = 0;                // where the logical line starts, from 1
  bool has_separator = false;  // '=' or ':' after the key (Java also accepts blanks alone)
};

// Every key/value in file order (a repeated key appears twice; the last one
// wins for Java). Lines end at \n, \r or \r\n; lines ending in an odd number of
// backslashes continue on the next (whose leading blanks are dropped); '#' and
// '!' start comments; the key ends at the first unescaped '=', ':' or blank
// (blanks: space, tab, form feed); a value keeps its trailing blanks, as in Java.
// Bytes other than escapes pass through unchanged (Java reads them as Latin-1,
// one character each, and writes the same bytes back).
// Java's load throws on a malformed \uxxxx escape; here that returns nothing
// and sets `error` (naming the line).
std::vector<PropertyLine> parse_java_properties(std::string_view text, std::string& error);

// Java properties escapes: \t \n \r \f, \uXXXX (as UTF-8; a surrogate pair
// is one character), anything else stands for itself (so "\:" is ":" and
// "\\" is "\"). False, with `error` set, where Java would throw.
bool unescape_property(std::string_view s, std::string& out, std::string& error);

}  // namespace kb
