#pragma once

// The Go lab for integration tests: franz-go and Sarama at the versions
// pinned in <scripts>/go/go.mod and go.sum, fetched from the Go module proxy
// into a cache directory and built into one driver, <cache>/go/kblab, by
// <scripts>/go/install.sh once.

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

#include "support/broker_process.hpp"
#include "support/shell_command.hpp"

namespace kb::testing {

// "1.26.0" as {1, 26}.
inline std::pair<int, int> go_minor_version(const std::string& text) {
  std::smatch m;
  static const std::regex version(R"((\d+)\.(\d+))");
  if (!std::regex_search(text, m, version)) return {0, 0};
  return {std::stoi(m[1]), std::stoi(m[2])};
}

// Empty when the installed `go` can build the lab (GOTOOLCHAIN=local: the
// go.mod's `go` line is the least it takes); else what is missing.
inline std::string go_lab_missing(const std::filesystem::path& scripts) {
  if (!command_succeeds("command -v go")) return "go is not installed";
  std::string wanted;
  std::ifstream mod(scripts / "go" / "go.mod");
  for (std::string line; std::getline(mod, line);)
    if (line.rfind("go ", 0) == 0) wanted = line.substr(3);
  auto have = run_command("env GOTOOLCHAIN=local go env GOVERSION", 30);
  if (have.status != 0) return "go env GOVERSION failed: " + have.output;
  if (go_minor_version(have.output) < go_minor_version(wanted))
    return "the lab's go.mod needs Go " + wanted + ", this machine has " + have.output;
  return {};
}

// Builds the lab into <cache>/go unless it is built from the same pinned
// files (install.sh decides; concurrent callers wait for one another).
inline CommandResult install_go_lab(const std::filesystem::path& scripts,
                                    const std::filesystem::path& cache) {
  return run_command(quoted(scripts / "go" / "install.sh") + " " + quoted(cache), 900);
}

inline std::filesystem::path go_lab_driver(const std::filesystem::path& cache) {
  return cache / "go" / "kblab";
}

}  // namespace kb::testing
