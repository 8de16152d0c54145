#pragma once

// The Python lab for integration tests: a Python 3.11 virtual environment
// with the clients pinned in <scripts>/python/requirements.txt (confluent-kafka,
// aiokafka, kafka-python from PyPI), made once in a cache directory by
// <scripts>/python/install.sh, and a runner for the lab's driver scripts.

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "support/broker_process.hpp"
#include "support/shell_command.hpp"

namespace kb::testing {

// Python 3.11 with its venv module and ensurepip (Debian's python3.11-venv).
inline bool python_lab_available() {
  return command_succeeds("python3.11 -c 'import ensurepip, venv'");
}

// Makes <cache>/python/venv unless it is already made from the same pinned
// files (install.sh decides; concurrent callers wait for one another).
inline CommandResult install_python_lab(const std::filesystem::path& scripts,
                                        const std::filesystem::path& cache) {
  return run_command(quoted(scripts / "python" / "install.sh") + " " + quoted(cache), 600);
}

inline std::filesystem::path python_lab_interpreter(const std::filesystem::path& cache) {
  return cache / "python" / "venv" / "bin" / "python";
}

struct DriverRun {
  int exit_code = -1;  // 124 when it ran out of time
  std::string out;     // what the driver saw, one fact a line
  std::string err;     // the clients' logs and any traceback
};

// Runs `python script args...` bounded by `timeout_seconds` (-B: no bytecode
// files in the source tree); stdout is the driver's findings, stderr goes to
// `err_path` and comes back in `err`.
inline DriverRun run_python_driver(const std::filesystem::path& python,
                                   const std::filesystem::path& script,
                                   const std::vector<std::string>& args,
                                   const std::filesystem::path& err_path,
                                   int timeout_seconds = 120) {
  std::string command = "exec timeout " + std::to_string(timeout_seconds) + " " + quoted(python) +
                        " -B " + quoted(script);
  for (const auto& a : args) command += " " + kb::testing::quoted(std::filesystem::path(a));
  command += " 2>" + quoted(err_path);
  DriverRun run;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return run;
  std::array<char, 4096> buf{};
  size_t n = 0;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) run.out.append(buf.data(), n);
  int status = pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.err = read_file(err_path);
  return run;
}

}  // namespace kb::testing
