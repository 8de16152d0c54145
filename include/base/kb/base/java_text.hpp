#pragma once

// Text as Java reads it, for files that Kafka reads with Java's own parsers
// (checkpoint files): the strict UTF-8 decoder of Files.newBufferedReader,
// BufferedReader.readLine line ends, and String.split on "\\s+". Numbers:
// java_number.hpp.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kb {

// The offset of the first byte that Java's UTF-8 decoder refuses (overlong
// forms, surrogates, code points past U+10FFFF, cut sequences); nullopt when
// the whole text is well-formed.
std::optional<size_t> first_invalid_utf8_byte(std::string_view bytes);

// BufferedReader.readLine over `text`: lines end at "\n", "\r" or "\r\n"; a
// last line without an end counts; an empty text has no lines.
std::vector<std::string_view> java_read_lines(std::string_view text);

// line.split("\\s+") (Java's String.split, limit 0): the separators are runs
// of ' ', '\t', '\n', '\x0B', '\f', '\r'; a separator at the start gives an
// empty first field, trailing empty fields are dropped.
std::vector<std::string_view> java_split_whitespace(std::string_view line);
// line.split(":\\s+"), as Kafka splits the lines of partition.metadata: the
// separators are a colon followed by a run of those blanks.
std::vector<std::string_view> java_split_colon_whitespace(std::string_view line);

// String.trim(): characters up to and including the space go from both ends
// (Kafka's ConfigDef trims every value it parses this way).
std::string_view java_trim(std::string_view text);

// toLowerCase(Locale.ROOT) of text whose letters are ASCII (config names and
// values, listener names): A-Z become a-z, every other byte stays.
std::string ascii_lower(std::string_view text);

}  // namespace kb
