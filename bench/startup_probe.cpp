// kb_startup_probe: starts a server and measures the time from its start to its first
// successful ApiVersions v4 answer on 127.0.0.1:port, then its RSS, then stops it.
//
//   kb_startup_probe --port P [--log FILE] [--timeout-seconds S] [--server-cpu N]
//                    [--stop-seconds S] -- SERVER [ARGS...]
//
// The clock starts just before fork(). Until the answer arrives the probe tries to connect every
// millisecond (a refused connection means "not listening yet"), then sends one request and waits
// for the response. Afterwards it reads VmRSS/VmHWM from /proc, sends SIGTERM and waits up to 5 s
// (--stop-seconds; then SIGKILL: a server that is to start again on its directory, cleanly, may
// need longer). The server's stdout and stderr go to FILE (default /dev/null); it is killed
// with the probe if the probe dies (PR_SET_PDEATHSIG). --server-cpu pins the server to that CPU
// (set in the child before exec, so it costs the measurement nothing). Prints one line of key=value
// figures; exit status 1 if the server exits or does not answer in time.

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <exception>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fmt/core.h>

#include "bench_kafka.hpp"
#include "bench_net.hpp"

namespace kb::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kRetryInterval = std::chrono::milliseconds(1);
constexpr uint32_t kCorrelationId = 7;

constexpr std::string_view kUsage =
    "usage: kb_startup_probe --port P [--log FILE] [--timeout-seconds S] [--server-cpu N]\n"
    "                        [--stop-seconds S] -- SERVER [ARGS...]\n";

struct Options {
  uint16_t port = 0;
  std::string log = "/dev/null";
  int timeout_seconds = 30;
  int server_cpu = -1;
  int stop_seconds = 5;
  std::vector<std::string> command;
};

Options ParseOptions(int argc, char** argv) {
  Options options;
  bool have_port = false;
  int i = 1;
  for (; i < argc; ++i) {
    const std::string_view name = argv[i];
    if (name == "--") {
      ++i;
      break;
    }
    if (i + 1 >= argc) throw std::invalid_argument(std::string(name) + ": missing value");
    const std::string_view value = argv[++i];
    if (name == "--port") {
      options.port = ParseInt<uint16_t>(name, value, 1);
      have_port = true;
    } else if (name == "--log") {
      options.log = std::string(value);
    } else if (name == "--timeout-seconds") {
      options.timeout_seconds = ParseInt<int>(name, value, 1, 3600);
    } else if (name == "--server-cpu") {
      options.server_cpu = ParseInt<int>(name, value, 0, CPU_SETSIZE - 1);
    } else if (name == "--stop-seconds") {
      options.stop_seconds = ParseInt<int>(name, value, 1, 3600);
    } else {
      throw std::invalid_argument("unknown option '" + std::string(name) + "'");
    }
  }
  for (; i < argc; ++i) options.command.emplace_back(argv[i]);
  if (!have_port || options.command.empty()) {
    throw std::invalid_argument("--port and a server command after -- are required");
  }
  return options;
}

pid_t Spawn(const Options& options) {
  std::vector<char*> args;
  for (const std::string& arg : options.command) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  if (options.server_cpu >= 0) CPU_SET(options.server_cpu, &cpus);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) ThrowErrno("fork");
  if (pid == 0) {
    // Only async-signal-safe calls from here to exec.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    if (options.server_cpu >= 0 && ::sched_setaffinity(0, sizeof(cpus), &cpus) < 0) ::_exit(125);
    const int log = ::open(options.log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (log < 0 || ::dup2(log, STDOUT_FILENO) < 0 || ::dup2(log, STDERR_FILENO) < 0) ::_exit(126);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

// Reaps the server if it has exited; returns its wait status then.
std::optional<int> Reaped(pid_t pid) {
  int status = 0;
  const pid_t done = ::waitpid(pid, &status, WNOHANG);
  if (done == pid) return status;
  return std::nullopt;
}

std::string DescribeStatus(int status) {
  if (WIFEXITED(status)) return fmt::format("exited with status {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return fmt::format("was killed by signal {}", WTERMSIG(status));
  return "stopped";
}

// One attempt: connect, ask, read the answer. Returns false when nothing listens yet.
bool TryApiVersions(uint16_t port, Clock::time_point deadline) {
  Fd socket(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!socket.valid()) ThrowErrno("socket");
  SetTcpNoDelay(socket.get());
  const auto remaining =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  SetSocketTimeouts(socket.get(), std::max(remaining, std::chrono::milliseconds(1)));
  const sockaddr_in address = MakeIpv4Address("127.0.0.1", port);
  if (::connect(socket.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) < 0) {
    if (errno == ECONNREFUSED) return false;
    ThrowErrno("connect");
  }
  const std::string request = EncodeApiVersionsV4Request(kCorrelationId);
  SendAll(socket.get(), request.data(), request.size());
  std::vector<char> body;
  const size_t size = ReadFrame(socket.get(), body, 1 << 20);
  WireReader in(body.data(), size);
  if (static_cast<uint32_t>(in.I32()) != kCorrelationId) {
    throw std::runtime_error("ApiVersions: correlation id mismatch");
  }
  if (const int16_t error = in.I16(); error != 0) {
    throw std::runtime_error(fmt::format("ApiVersions: error code {}", error));
  }
  return true;
}

// VmRSS and VmHWM in KiB, 0 when unreadable.
std::pair<long, long> Memory(pid_t pid) {
  std::ifstream status(fmt::format("/proc/{}/status", pid));
  std::string line;
  long rss = 0;
  long hwm = 0;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) rss = std::stol(line.substr(6));
    if (line.rfind("VmHWM:", 0) == 0) hwm = std::stol(line.substr(6));
  }
  return {rss, hwm};
}

// SIGTERM, then SIGKILL after `bound`; returns the wait status.
int Stop(pid_t pid, std::chrono::seconds bound) {
  ::kill(pid, SIGTERM);
  const auto deadline = Clock::now() + bound;
  while (Clock::now() < deadline) {
    if (auto status = Reaped(pid)) return *status;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

int Run(const Options& options) {
  const auto start = Clock::now();
  const pid_t pid = Spawn(options);
  const auto deadline = start + std::chrono::seconds(options.timeout_seconds);
  int attempts = 0;
  try {
    for (;;) {
      ++attempts;
      if (TryApiVersions(options.port, deadline)) break;
      if (auto status = Reaped(pid)) {
        fmt::print(stderr, "kb_startup_probe: the server {} before answering (log: {})\n",
                   DescribeStatus(*status), options.log);
        return 1;
      }
      if (Clock::now() >= deadline) {
        throw std::runtime_error(fmt::format("no answer after {} s", options.timeout_seconds));
      }
      std::this_thread::sleep_for(kRetryInterval);
    }
  } catch (const std::exception& error) {
    fmt::print(stderr, "kb_startup_probe: {} (log: {})\n", error.what(), options.log);
    Stop(pid, std::chrono::seconds(options.stop_seconds));
    return 1;
  }
  const double startup_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  const auto [rss_kib, hwm_kib] = Memory(pid);
  const int status = Stop(pid, std::chrono::seconds(options.stop_seconds));
  fmt::print("startup_ms={:.1f} rss_kib={} hwm_kib={} attempts={} stop=\"{}\"\n", startup_ms,
             rss_kib, hwm_kib, attempts, DescribeStatus(status));
  return 0;
}

int Main(int argc, char** argv) {
  Options options;
  try {
    options = ParseOptions(argc, argv);
  } catch (const std::invalid_argument& error) {
    fmt::print(stderr, "kb_startup_probe: {}\n{}", error.what(), kUsage);
    return 2;
  }
  try {
    if (std::signal(SIGPIPE, SIG_IGN) == SIG_ERR) ThrowErrno("signal(SIGPIPE)");
    return Run(options);
  } catch (const std::exception& error) {
    fmt::print(stderr, "kb_startup_probe: error: {}\n", error.what());
    return 1;
  }
}

}  // namespace
}  // namespace kb::bench

int main(int argc, char** argv) { return kb::bench::Main(argc, argv); }
