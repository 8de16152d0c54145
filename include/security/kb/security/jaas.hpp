#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace kb::security {

// One login module of a JAAS configuration (`Module flag key=value ...;`).
struct JaasEntry {
  std::string login_module;
  std::string control_flag;  // REQUIRED, REQUISITE, SUFFICIENT or OPTIONAL (upper case)
  std::map<std::string, std::string, std::less<>> options;
};

struct JaasParseResult {
  std::vector<JaasEntry> entries;
  std::string error;  // empty: parsed; else Kafka's message for the same input
};

// Reads a `sasl.jaas.config` value as Kafka's JaasConfig reads it, which is
// with Java's StreamTokenizer: words of letters, digits, '.', '-', '_' and '$'
// (and characters from U+00A0 on); quoted strings in '"' or '\'' with Java's
// escapes (\n, \t, octal, \x for any other x) ending at the quote or the line's
// end; '//' and '/* */' comments (a lone '/' comments to the end of the line);
// a number is not a value. Each entry ends with ';'. The text is taken as
// UTF-8 where it is valid (a byte that is not is one Latin-1 character, as
// Java's Properties.load reads the file).
JaasParseResult parse_jaas_config(std::string_view text);

// The option `key` of the first entry whose module is `login_module`, or null.
const std::string* jaas_option(const std::vector<JaasEntry>& entries, std::string_view login_module,
                               std::string_view key);

}  // namespace kb::security
