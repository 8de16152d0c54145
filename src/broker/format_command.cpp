#include "kb/broker/format_command.hpp"

#include <charconv>
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>

#include <fmt/format.h>

#include "kb/broker/config.hpp"
#include "kb/cluster/features.hpp"
#include "kb/security/scram.hpp"
#include "kb/storage/meta_properties.hpp"
#include "kb/storage/metadata_log.hpp"
#include "kb/storage/metadata_records.hpp"
#include "kb/storage/metadata_snapshot.hpp"

namespace kb::broker {

namespace {

namespace fs = std::filesystem;

void print_usage(std::FILE* to) {
  fmt::print(to,
             "usage: kafka-broker format -t CLUSTER_ID [-c] [server.properties]\n"
             "           [--override key=value ...] [--feature name=level ...]\n"
             "           [--release-version 4.0-IV3] [--ignore-formatted]\n"
             "Formats the log directory as Kafka's kafka-storage.sh format does: meta.properties\n"
             "(cluster.id, node.id, a new directory.id) and the bootstrap snapshot of the\n"
             "metadata log with the feature levels. Defaults: metadata.version {} (4.0-IV3),\n"
             "group.version 1, transaction.version 2, the other features 0 (Kafka's levels\n"
             "at 4.0-IV3, which this broker serves).\n"
             "  -t, --cluster-id ID        the cluster id (22 characters of URL-safe base64,\n"
             "                             as kafka-storage random-uuid prints)\n"
             "  -c, --config FILE          server.properties (also as the first argument)\n"
             "  -f, --feature NAME=LEVEL   a feature's level\n"
             "  -r, --release-version V    the feature levels of a release (4.0-IV3 only)\n"
             "  -g, --ignore-formatted     skip directories already formatted\n"
             "  -S, --add-scram SPEC       a SCRAM user, as kafka-storage takes it:\n"
             "                             'SCRAM-SHA-256=[name=alice,password=alice-secret]'\n"
             "                             (also iterations=, salt=, saltedpassword=)\n"
             "Dynamic quorums (--standalone, --initial-controllers) are not supported: this\n"
             "broker runs no controller quorum.\n",
             cluster::kBootstrapMetadataVersion);
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

int run_format(const std::vector<std::string>& args, std::FILE* out, std::FILE* err) {
  std::string config_path;
  std::vector<std::string> overrides;
  std::optional<std::string> cluster_id;
  bool ignore_formatted = false;
  std::vector<security::AddScramResult> scram_users;
  // Kafka 4.0-IV3's levels of the features this broker serves.
  std::map<std::string, int16_t, std::less<>> levels;
  for (const auto& f : cluster::kSupportedFeatures) levels[std::string(f.name)] = 0;
  levels["metadata.version"] = cluster::kBootstrapMetadataVersion;
  levels["group.version"] = cluster::kBootstrapGroupVersion;
  levels["transaction.version"] = cluster::kBootstrapTransactionVersion;
  levels["share.version"] = cluster::kBootstrapShareVersion;

  auto refuse = [&](const std::string& why) {
    fmt::print(err, "{}\n", why);
    return 2;
  };
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    const bool has_value = i + 1 < args.size();
    if (a == "-h" || a == "--help") {
      print_usage(out);
      return 0;
    } else if ((a == "-t" || a == "--cluster-id") && has_value) {
      cluster_id = args[++i];
    } else if ((a == "-c" || a == "--config") && has_value) {
      config_path = args[++i];
    } else if (a == "--override" && has_value) {
      overrides.push_back(args[++i]);
    } else if ((a == "-g" || a == "--ignore-formatted")) {
      ignore_formatted = true;
    } else if ((a == "-r" || a == "--release-version") && has_value) {
      const std::string& v = args[++i];
      if (v != "4.0-IV3" && v != "4.0")
        return refuse(
            "--release-version " + v +
            ": this broker formats with 4.0-IV3's feature levels only (metadata.version " +
            std::to_string(cluster::kBootstrapMetadataVersion) + ")");
    } else if ((a == "-f" || a == "--feature") && has_value) {
      const std::string& v = args[++i];
      const size_t eq = v.find('=');
      int16_t level = 0;
      const char* end = v.data() + v.size();
      auto parsed = eq == std::string::npos
                        ? std::from_chars_result{v.data(), std::errc::invalid_argument}
                        : std::from_chars(v.data() + eq + 1, end, level);
      if (eq == std::string::npos || parsed.ec != std::errc() || parsed.ptr != end)
        return refuse("--feature " + v + ": expected name=level");
      const std::string name = v.substr(0, eq);
      const cluster::SupportedFeature* known = nullptr;
      for (const auto& f : cluster::kSupportedFeatures)
        if (f.name == name) known = &f;
      if (known == nullptr) return refuse("Unsupported feature: " + name);
      if (level < known->min_level || level > known->max_level)
        return refuse(fmt::format("{} level {} is not supported here (from {} to {})", name, level,
                                  known->min_level, known->max_level));
      levels[name] = level;
    } else if ((a == "-S" || a == "--add-scram") && has_value) {
      security::AddScramResult scram = security::parse_add_scram(args[++i]);
      if (!scram.error.empty()) return refuse(scram.error);
      scram_users.push_back(std::move(scram));
    } else if (a == "-s" || a == "--standalone" || a == "-N" || a == "--no-initial-controllers" ||
               a == "-I" || a == "--initial-controllers") {
      return refuse(a + " is not supported: this broker runs no controller quorum");
    } else if (!a.empty() && a[0] != '-' && config_path.empty()) {
      config_path = a;
    } else {
      fmt::print(err, "unexpected argument '{}'\n", a);
      print_usage(err);
      return 2;
    }
  }
  if (!cluster_id) {
    print_usage(err);
    return refuse("--cluster-id (-t) is required (a new one: kafka-storage random-uuid)");
  }
  wire::Uuid parsed_id;
  std::string why;
  if (!wire::Uuid::from_base64(*cluster_id, parsed_id, &why))
    return refuse("Cluster ID string " + *cluster_id +
                  " does not appear to be a valid UUID: " + why);

  ConfigResult loaded = load_config(config_path, overrides);
  if (!loaded.config) return refuse("configuration error: " + loaded.error);
  const BrokerConfig& config = *loaded.config;

  // Every directory is checked before any is written.
  std::vector<fs::path> to_format;
  for (const auto& d : config.log_dirs) {
    auto existing = storage::read_meta_properties(d);
    if (existing && *existing) {
      if (ignore_formatted) continue;
      fmt::print(err,
                 "Log directory {} is already formatted. Use --ignore-formatted to ignore this "
                 "directory and format the others.\n",
                 d);
      return 1;
    }
    to_format.emplace_back(d);
  }
  if (to_format.empty()) {
    fmt::print(out, "All of the log directories are already formatted.\n");
    return 0;
  }
  for (const fs::path& dir : to_format) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
      fmt::print(err, "cannot create {}: {}\n", dir.string(), ec.message());
      return 1;
    }
    storage::MetaProperties meta;
    meta.cluster_id = *cluster_id;
    meta.node_id = config.node_id;
    meta.directory_id = storage::random_uuid();
    if (auto written = storage::write_meta_properties(dir, meta); !written) {
      fmt::print(err, "{}: {}\n", dir.string(), written.error().message);
      return 1;
    }
  }
  // The metadata log lives in the first log directory: its bootstrap
  // snapshot, metadata.version first, as Kafka writes it.
  const fs::path metadata_dir = fs::path(config.log_dirs.front()) / storage::kMetadataPartitionDir;
  std::error_code ec;
  fs::create_directories(metadata_dir, ec);
  std::vector<std::vector<uint8_t>> values;
  values.push_back(storage::encode_metadata_record(
      storage::FeatureLevelRecord{"metadata.version", levels["metadata.version"]}, 0));
  for (const auto& [name, level] : levels)
    if (name != "metadata.version" && level > 0)
      values.push_back(
          storage::encode_metadata_record(storage::FeatureLevelRecord{name, level}, 0));
  // SCRAM users after the features, as kafka-storage writes them.
  for (const security::AddScramResult& u : scram_users) {
    const security::ScramCredential& c = u.credential;
    values.push_back(storage::encode_metadata_record(
        storage::UserScramCredentialRecord{u.name, static_cast<int8_t>(u.mechanism), c.salt,
                                           c.stored_key, c.server_key, c.iterations}));
  }
  const int64_t now = now_ms();
  const storage::SnapshotId id{0, 0};
  const std::vector<uint8_t> snapshot = storage::encode_metadata_snapshot(id, now, now, values);
  if (auto written = storage::write_metadata_snapshot(metadata_dir, id, snapshot); !written) {
    fmt::print(err, "{}: {}\n", metadata_dir.string(), written.error().message);
    return 1;
  }
  fmt::print(out, "Formatting metadata directory {} with metadata.version {}.\n",
             config.log_dirs.front(), levels["metadata.version"]);
  return 0;
}

}  // namespace kb::broker
