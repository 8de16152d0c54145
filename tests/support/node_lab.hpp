#pragma once

// The npm client labs for integration tests: a lab is a directory under
// tests/integration/clients/ with package.json, its package-lock.json and a
// driver script; clients/npm_lab_install.sh installs it with `npm ci` into
// <cache>/<lab> once, and the driver runs with node and NODE_PATH pointing
// at the installed modules.

#include <cstdlib>
#include <filesystem>
#include <string>

#include "support/shell_command.hpp"

namespace kb::testing {

// Installs `lab` (a directory name under `scripts`) into `cache`; the first
// install of a lab that builds a native addon takes minutes.
inline CommandResult install_npm_lab(const std::filesystem::path& scripts,
                                     const std::filesystem::path& cache, const std::string& lab) {
  return run_command(
      quoted(scripts / "npm_lab_install.sh") + " " + quoted(scripts / lab) + " " + quoted(cache),
      900);
}

inline std::filesystem::path npm_lab_modules(const std::filesystem::path& cache,
                                             const std::string& lab) {
  return cache / lab / "node_modules";
}

// True when `node` runs and its version satisfies the JavaScript condition
// `test` on `major` and `minor`.
inline bool node_version_satisfies(const std::string& node, const std::string& test) {
  return run_command(
             node +
                 " -e 'const [major, minor] = process.versions.node.split(\".\").map(Number); "
                 "process.exit((" +
                 test + ") ? 0 : 1)'",
             30)
             .status == 0;
}

// The shell command running the lab's driver.js with `node`; append its
// arguments.
inline std::string npm_lab_driver(const std::string& node, const std::filesystem::path& scripts,
                                  const std::filesystem::path& cache, const std::string& lab) {
  return "env NODE_PATH=" + quoted(npm_lab_modules(cache, lab)) + " " + node + " " +
         quoted(scripts / lab / "driver.js");
}

}  // namespace kb::testing
