#pragma once

// <log.dir>/meta.properties: the identity of a log directory, in Java
// properties format. KRaft (version 1) writes
//   version=1
//   cluster.id=<22-char base64 id>
//   node.id=<int>
//   directory.id=<22-char base64 uuid>
// plus comment lines. (Version 0, from ZooKeeper mode, has broker.id instead.)

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kb/storage/result.hpp"
#include "kb/wire/uuid.hpp"

namespace kb::storage {

inline constexpr std::string_view kMetaPropertiesFile = "meta.properties";

struct MetaProperties {
  int32_t version = 1;
  std::optional<std::string> cluster_id;  // required in version 1
  std::optional<int32_t> node_id;         // required in version 1

  std::optional<kb::wire::Uuid> directory_id;
  // Keys this code does not interpret, kept so a rewrite preserves them.
  std::vector<std::pair<std::string, std::string>> other;

  friend bool operator==(const MetaProperties&, const MetaProperties&) = default;
};

// Parses the properties text; an Error says what is malformed or missing.
Result<MetaProperties> parse_meta_properties(std::string_view text);
std::string format_meta_properties(const MetaProperties& properties);

// nullopt when <log_dir>/meta.properties does not exist.
Result<std::optional<MetaProperties>> read_meta_properties(const std::filesystem::path& log_dir);
// Replaces the file atomically (temporary file, fsync, rename).
Status write_meta_properties(const std::filesystem::path& log_dir,
                             const MetaProperties& properties);

// What a broker does at startup: reads meta.properties and checks that it
// belongs to `node_id` (and to `cluster_id` when given); a directory without
// one (created if missing) gets a new file with the given or a random cluster
// id and a random directory id. A file without a directory id gets one (as
// Kafka rewrites it); a file without a cluster id is refused.
Result<MetaProperties> ensure_meta_properties(const std::filesystem::path& log_dir, int32_t node_id,
                                              std::optional<std::string> cluster_id = {});

// A random id as Kafka makes them: version-4 UUID bits, never zero or one of
// the reserved small ids, and never one whose base64 form starts with '-'
// (it would look like a command-line flag).
kb::wire::Uuid random_uuid();
// A new cluster id: random_uuid() in base64.
std::string generate_cluster_id();

}  // namespace kb::storage
