#pragma once

// kafkajs for integration tests: installed from npm at the version pinned in
// <scripts>/kafkajs/package-lock.json (`npm ci`) into a cache directory once,
// and the command that runs one of its scripts with node.

#include <filesystem>
#include <string>

#include "support/shell_command.hpp"

namespace kb::testing {

inline bool node_available() {
  return command_succeeds("command -v node") && command_succeeds("command -v npm");
}

// Installs kafkajs into <cache>/kafkajs unless the installed lock file is the
// pinned one; a file lock keeps concurrent tests from installing twice. Sets
// `node_modules` to the directory node should find it in.
inline CommandResult install_kafkajs(const std::filesystem::path& scripts,
                                     const std::filesystem::path& cache,
                                     std::filesystem::path& node_modules) {
  const auto source = scripts / "kafkajs";
  const auto target = cache / "kafkajs";
  std::filesystem::create_directories(target);
  node_modules = target / "node_modules";
  // $1: the cache directory, $2: the pinned package files.
  const std::string script = "flock " + quoted(target / "install.lock") + " sh -c '" +
                             "cd \"$1\" && cmp -s package-lock.json \"$2/package-lock.json\" && "
                             "[ -f node_modules/kafkajs/package.json ] || "
                             "{ cp \"$2/package.json\" \"$2/package-lock.json\" . && "
                             "npm ci --no-audit --no-fund --loglevel=error; }' sh " +
                             quoted(target) + " " + quoted(source);
  return run_command(script, 300);
}

// The shell command running <scripts>/kafkajs/<script> with the installed
// kafkajs; append its arguments.
inline std::string kafkajs_script(const std::filesystem::path& node_modules,
                                  const std::filesystem::path& scripts, const std::string& script) {
  return "env NODE_PATH=" + quoted(node_modules) + " node " + quoted(scripts / "kafkajs" / script);
}

}  // namespace kb::testing
