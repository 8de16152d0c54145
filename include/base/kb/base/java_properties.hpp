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
// wins for Java). Lines ending in an odd number of backslashes continue on the
// next (whose leading blanks are dropped); '#' and '!' start comments; the key
// ends at the first unescaped '=', ':' or blank.
std::vector<PropertyLine> parse_java_properties(std::string_view text);

// Java properties escapes: \t \n \r \f, \uXXXX (as UTF-8), anything else
// stands for itself (so "\:" is ":" and "\\" is "\").
std::string unescape_property(std::string_view s);

}  // namespace kb
