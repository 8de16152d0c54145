#include "kb/storage/meta_properties.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <random>
#include <system_error>

#include "file_io.hpp"
#include "kb/base/java_properties.hpp"

namespace kb::storage {

namespace fs = std::filesystem;
using kb::wire::Uuid;

namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\f'; }

// Splits the text into logical lines: a line ending in an odd number of
// backslashes continues on the next one (leading blanks of which are dropped).
std::vector<std::string> logical_lines(std::string_view text) {
  std::vector<std::string> lines;
  std::string current;
  bool continuing = false;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find_first_of("\r\n", start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (continuing) {
      size_t skip = 0;
      while (skip < line.size() && is_blank(line[skip])) ++skip;
      line.remove_prefix(skip);
    }
    size_t backslashes = 0;
    while (backslashes < line.size() && line[line.size() - 1 - backslashes] == '\\') ++backslashes;
    bool is_comment = !continuing && !line.empty() &&
                      (line.find_first_not_of(" \t\f") != std::string_view::npos) &&
                      (line[line.find_first_not_of(" \t\f")] == '#' ||
                       line[line.find_first_not_of(" \t\f")] == '!');
    if (!is_comment && backslashes % 2 == 1) {
      current.append(line.substr(0, line.size() - 1));
      continuing = true;
    } else {
      current.append(line);
      lines.push_back(std::move(current));
      current.clear();
      continuing = false;
    }
    if (end == text.size()) break;
    start = end + 1;
    if (text[end] == '\r' && start < text.size() && text[start] == '\n') ++start;
  }
  if (continuing) lines.push_back(std::move(current));
  return lines;
}

std::optional<int32_t> parse_int32(std::string_view s) {
  int32_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// Java's store() escapes these in keys and values, and blanks that would
// otherwise end a key or be trimmed from the start of a value.
std::string escape(std::string_view s, bool is_key) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == ' ' && (is_key || i == 0)) {
      out += "\\ ";
      continue;
    }
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\f':
        out += "\\f";
        break;
      case '=':
      case ':':
      case '#':
      case '!':
        out.push_back('\\');
        out.push_back(c);
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

}  // namespace

Result<MetaProperties> parse_meta_properties(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> entries;
  for (const std::string& raw : logical_lines(text)) {
    std::string_view line(raw);
    size_t first = 0;
    while (first < line.size() && is_blank(line[first])) ++first;
    line.remove_prefix(first);
    if (line.empty() || line[0] == '#' || line[0] == '!') continue;
    // The key ends at the first unescaped '=', ':' or blank.
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
    size_t value_start = key_end;
    while (value_start < line.size() && is_blank(line[value_start])) ++value_start;
    if (value_start < line.size() && (line[value_start] == '=' || line[value_start] == ':')) {
      ++value_start;
      while (value_start < line.size() && is_blank(line[value_start])) ++value_start;
    }
    std::string key = unescape_property(line.substr(0, key_end));
    std::string value = unescape_property(line.substr(value_start));
    // A repeated key: the last one wins, as in Java.
    bool replaced = false;
    for (auto& [k, v] : entries)
      if (k == key) {
        v = value;
        replaced = true;
      }
    if (!replaced) entries.emplace_back(std::move(key), std::move(value));
  }

  auto find = [&](std::string_view key) -> const std::string* {
    for (const auto& [k, v] : entries)
      if (k == key) return &v;
    return nullptr;
  };

  MetaProperties props;
  const std::string* version = find("version");
  if (!version) return Error{"meta.properties: no version"};
  auto version_number = parse_int32(*version);
  if (!version_number || (*version_number != 0 && *version_number != 1))
    return Error{fmt::format("meta.properties: unsupported version '{}'", *version)};
  props.version = *version_number;

  const char* node_key = props.version == 1 ? "node.id" : "broker.id";
  const std::string* node = find(node_key);
  if (!node) return Error{fmt::format("meta.properties: no {}", node_key)};
  auto node_id = parse_int32(*node);
  if (!node_id || *node_id < 0)
    return Error{
        fmt::format("meta.properties: {} '{}' is not a non-negative integer", node_key, *node)};
  props.node_id = *node_id;

  const std::string* cluster = find("cluster.id");
  if (cluster) props.cluster_id = *cluster;
  if (props.version == 1 && props.cluster_id.empty())
    return Error{"meta.properties: no cluster.id"};

  if (const std::string* dir = find("directory.id")) {
    Uuid id;
    if (!Uuid::from_base64(*dir, id))
      return Error{fmt::format("meta.properties: directory.id '{}' is not a base64 uuid", *dir)};
    props.directory_id = id;
  }

  for (auto& [k, v] : entries)
    if (k != "version" && k != node_key && k != "cluster.id" && k != "directory.id")
      props.other.emplace_back(k, v);
  return props;
}

std::string format_meta_properties(const MetaProperties& p) {
  std::string out = "#\n#Written by kafka-broker\n";
  out += fmt::format("version={}\n", p.version);
  if (!p.cluster_id.empty() || p.version == 1)
    out += fmt::format("cluster.id={}\n", escape(p.cluster_id, false));
  out += fmt::format("{}={}\n", p.version == 1 ? "node.id" : "broker.id", p.node_id);
  if (p.directory_id) out += fmt::format("directory.id={}\n", p.directory_id->to_base64());
  for (const auto& [k, v] : p.other)
    out += fmt::format("{}={}\n", escape(k, true), escape(v, false));
  return out;
}

Result<std::optional<MetaProperties>> read_meta_properties(const fs::path& log_dir) {
  const fs::path file = log_dir / kMetaPropertiesFile;
  std::error_code ec;
  if (!fs::exists(file, ec)) {
    if (ec) return Error{fmt::format("cannot check {}: {}", file.string(), ec.message())};
    return std::optional<MetaProperties>();
  }
  auto text = detail::read_text_file(file);
  if (!text) return text.error();
  auto props = parse_meta_properties(*text);
  if (!props) return Error{fmt::format("{}: {}", file.string(), props.error().message)};
  return std::optional<MetaProperties>(std::move(*props));
}

Status write_meta_properties(const fs::path& log_dir, const MetaProperties& properties) {
  return detail::write_file_atomically(log_dir / kMetaPropertiesFile,
                                       format_meta_properties(properties));
}

Result<MetaProperties> ensure_meta_properties(const fs::path& log_dir, int32_t node_id,
                                              std::optional<std::string> cluster_id) {
  std::error_code ec;
  fs::create_directories(log_dir, ec);
  if (ec) return Error{fmt::format("cannot create {}: {}", log_dir.string(), ec.message())};
  auto existing = read_meta_properties(log_dir);
  if (!existing) return existing.error();
  if (*existing) {
    MetaProperties props = std::move(**existing);
    if (props.node_id != node_id)
      return Error{fmt::format("{} belongs to node {}, not to node {}",
                               (log_dir / kMetaPropertiesFile).string(), props.node_id, node_id)};
    if (cluster_id && props.cluster_id != *cluster_id)
      return Error{fmt::format("{} belongs to cluster {}, not to cluster {}",
                               (log_dir / kMetaPropertiesFile).string(), props.cluster_id,
                               *cluster_id)};
    if (props.version == 1 && !props.directory_id) {
      props.directory_id = random_uuid();
      Status written = write_meta_properties(log_dir, props);
      if (!written) return written.error();
    }
    return props;
  }
  MetaProperties props;
  props.version = 1;
  props.node_id = node_id;
  props.cluster_id = cluster_id ? *cluster_id : generate_cluster_id();
  props.directory_id = random_uuid();
  Status written = write_meta_properties(log_dir, props);
  if (!written) return written.error();
  return props;
}

Uuid random_uuid() {
  static thread_local std::mt19937_64 rng([] {
    std::random_device device;
    std::seed_seq seed{device(), device(), device(), device(), device(), device()};
    return std::mt19937_64(seed);
  }());
  for (;;) {
    Uuid id;
    for (size_t i = 0; i < 16; i += 8) {
      uint64_t word = rng();
      for (size_t b = 0; b < 8; ++b) id.bytes[i + b] = static_cast<uint8_t>(word >> (8 * b));
    }
    id.bytes[6] = static_cast<uint8_t>((id.bytes[6] & 0x0f) | 0x40);  // version 4
    id.bytes[8] = static_cast<uint8_t>((id.bytes[8] & 0x3f) | 0x80);  // IETF variant
    // Version bits make the reserved ids (all below 2^64 + 100) impossible;
    // the base64 form must not start with '-'.
    if (id.to_base64()[0] == '-') continue;
    return id;
  }
}

std::string generate_cluster_id() { return random_uuid().to_base64(); }

}  // namespace kb::storage
