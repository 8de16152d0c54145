#include "kb/storage/meta_properties.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <random>
#include <system_error>

#include "file_io.hpp"
#include "kb/base/java_number.hpp"
#include "kb/base/java_properties.hpp"
#include "kb/base/java_text.hpp"

namespace kb::storage {

namespace fs = std::filesystem;
using kb::wire::Uuid;

namespace {

// Kafka's DirectoryId.reserved: the first 100 ids (the low half compared as a
// signed long, as Java compares it).
bool is_reserved_directory_id(const Uuid& id) {
  uint64_t high = 0;
  uint64_t low = 0;
  for (size_t i = 0; i < 8; ++i) {
    high = (high << 8) | id.bytes[i];
    low = (low << 8) | id.bytes[8 + i];
  }
  return high == 0 && static_cast<int64_t>(low) < 100;
}

// Java's store() escapes these in keys and values, and blanks that would
// otherwise end a key or be trimmed from the start of a value. Trailing blanks
// are escaped too: the parser trims them from a value (a rewrite must keep
// what it read; Java reads "\ " as a blank anywhere).
std::string escape(std::string_view s, bool is_key) {
  std::string out;
  const size_t trailing_from =
      s.find_last_not_of(' ') == std::string_view::npos ? 0 : s.find_last_not_of(' ') + 1;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == ' ' && (is_key || i == 0 || i >= trailing_from)) {
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

// As Kafka's MetaProperties.Builder reads the file: `version` defaults to 0 and
// is trimmed; version 1 needs node.id and cluster.id, version 0 may have
// broker.id; numbers are Integer.parseInt (no blanks) and directory.id
// Uuid.fromString, all untrimmed; a reserved directory id (the first 100) is
// refused as Kafka's start-up refuses it.
Result<MetaProperties> parse_meta_properties(std::string_view text) {
  std::string syntax_error;
  std::vector<PropertyLine> lines = parse_java_properties(text, syntax_error);
  if (!syntax_error.empty()) return Error{fmt::format("meta.properties: {}", syntax_error)};
  std::vector<std::pair<std::string, std::string>> entries;
  for (PropertyLine& line : lines) {
    std::string key = std::move(line.key);
    std::string value = std::move(line.value);
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
  props.version = 0;
  if (const std::string* version = find("version")) {
    auto number = parse_java_int(java_trim(*version));
    if (!number)
      return Error{fmt::format("meta.properties: version '{}' is not a number", *version)};
    if (*number != 0 && *number != 1)
      return Error{fmt::format("meta.properties: unknown version {}", *number)};
    props.version = *number;
  }

  const char* node_key = props.version == 1 ? "node.id" : "broker.id";
  if (const std::string* node = find(node_key)) {
    auto node_id = parse_java_int(*node);
    if (!node_id)
      return Error{
          fmt::format("meta.properties: {} '{}' is not a base-10 number", node_key, *node)};
    props.node_id = *node_id;
  } else if (props.version == 1) {
    return Error{"meta.properties: no node.id"};
  }

  if (const std::string* cluster = find("cluster.id")) props.cluster_id = *cluster;
  if (props.version == 1 && !props.cluster_id) return Error{"meta.properties: no cluster.id"};

  if (const std::string* dir = find("directory.id")) {
    Uuid id;
    std::string why;
    if (!Uuid::from_base64(*dir, id, &why))
      return Error{
          fmt::format("meta.properties: directory.id '{}' is not a Kafka uuid: {}", *dir, why)};
    if (is_reserved_directory_id(id))
      return Error{fmt::format("meta.properties: directory.id '{}' is a reserved id", *dir)};
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
  if (p.cluster_id) out += fmt::format("cluster.id={}\n", escape(*p.cluster_id, false));
  if (p.node_id)
    out += fmt::format("{}={}\n", p.version == 1 ? "node.id" : "broker.id", *p.node_id);
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
    const std::string file = (log_dir / kMetaPropertiesFile).string();
    if (props.node_id && *props.node_id != node_id)
      return Error{
          fmt::format("{} belongs to node {}, not to node {}", file, *props.node_id, node_id)};
    // Kafka cannot start without a cluster id either (only a version 0 file may lack one).
    if (!props.cluster_id) return Error{fmt::format("{}: no cluster.id", file)};
    if (cluster_id && *props.cluster_id != *cluster_id)
      return Error{fmt::format("{} belongs to cluster {}, not to cluster {}", file,
                               *props.cluster_id, *cluster_id)};
    // Kafka gives every log directory an id at start-up, rewriting the file.
    if (!props.directory_id) {
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
