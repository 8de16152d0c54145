#pragma once

// Shell commands for tests that drive real clients (kcat, python scripts).

#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace kb::testing {

struct CommandResult {
  int status = -1;
  std::string output;
};

// Runs a shell command (bounded by `timeout_seconds`) and returns its exit
// status and combined output.
inline CommandResult run(const std::string& command, int timeout_seconds = 60) {
  CommandResult r;
  FILE* pipe =
      popen(("timeout " + std::to_string(timeout_seconds) + " " + command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return r;
  std::array<char, 4096> buf{};
  while (fgets(buf.data(), buf.size(), pipe) != nullptr) r.output += buf.data();
  r.status = pclose(pipe);
  return r;
}

// Whether a probe command succeeds (a client is installed).
inline bool have(const std::string& probe) {
  return std::system((probe + " >/dev/null 2>&1").c_str()) == 0;
}

}  // namespace kb::testing
