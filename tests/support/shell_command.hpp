#pragma once

// Runs real client programs (kcat, python3, node) from integration tests.

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace kb::testing {

struct CommandResult {
  int status = -1;     // as from pclose: 0 when the command exited 0
  std::string output;  // stdout and stderr together
};

// Runs a shell command, bounded by `timeout_seconds`, and collects its output.
inline CommandResult run_command(const std::string& command, int timeout_seconds = 60) {
  CommandResult r;
  FILE* pipe =
      popen(("timeout " + std::to_string(timeout_seconds) + " " + command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return r;
  std::array<char, 4096> buf{};
  while (fgets(buf.data(), buf.size(), pipe) != nullptr) r.output += buf.data();
  r.status = pclose(pipe);
  return r;
}

// A path as one shell word (test paths hold no single quotes).
inline std::string quoted(const std::filesystem::path& p) { return "'" + p.string() + "'"; }

// True when a client lab that cannot run must fail its tests rather than skip
// them: in CI (CI set, and not "false") or when KB_REQUIRE_LABS=1.
inline bool labs_required() {
  const char* ci = std::getenv("CI");
  const char* require = std::getenv("KB_REQUIRE_LABS");
  return (ci != nullptr && *ci != '\0' && std::string(ci) != "false") ||
         (require != nullptr && std::string(require) == "1");
}

// True when the shell probe (for example "command -v kcat") succeeds.
inline bool command_succeeds(const std::string& probe) {
  return std::system((probe + " >/dev/null 2>&1").c_str()) == 0;
}

inline void write_text_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream f(path);
  f << text;
}

}  // namespace kb::testing
