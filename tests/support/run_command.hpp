#pragma once

// Runs client programs (kcat, python scripts) from integration tests.

#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace kb::testing {

struct CommandResult {
  int status = -1;
  std::string output;
};

// Runs a shell command (bounded by `timeout`) and returns its exit status and
// combined output.
inline CommandResult run(const std::string& command) {
  CommandResult r;
  FILE* pipe = popen(("timeout 60 " + command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return r;
  std::array<char, 4096> buf{};
  while (fgets(buf.data(), buf.size(), pipe) != nullptr) r.output += buf.data();
  r.status = pclose(pipe);
  return r;
}

inline bool have(const std::string& probe) {
  return std::system((probe + " >/dev/null 2>&1").c_str()) == 0;
}

}  // namespace kb::testing
