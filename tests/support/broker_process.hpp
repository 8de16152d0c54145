#pragma once

// Starts the real broker binary on an ephemeral loopback port with a fresh
// temporary log directory, and stops it (SIGTERM, then SIGKILL after a bound)
// when the object goes away.

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace kb::testing {

inline std::filesystem::path make_temp_dir(const std::string& prefix) {
  std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "XXXXXX")).string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return pattern;
}

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct ExitStatus {
  int code = -1;  // exit code, or -1 when killed by a signal
  int signal = 0;
};

class BrokerProcess {
 public:
  // extra: more server.properties lines. log_dir: reuse a directory (restarts).
  // open_file_limit: RLIMIT_NOFILE of the broker, soft and hard (as `prlimit
  // --nofile=N:N` would set it).
  explicit BrokerProcess(std::map<std::string, std::string> extra = {},
                         std::optional<std::filesystem::path> log_dir = std::nullopt,
                         std::optional<uint64_t> open_file_limit = std::nullopt)
      : dir_(make_temp_dir("kb-broker-")),
        log_dir_(log_dir ? *log_dir : dir_ / "data"),
        open_file_limit_(open_file_limit) {
    std::ofstream cfg(dir_ / "server.properties");
    cfg << "# written by the integration tests\n"
        << "process.roles=broker,controller\n"
        << "node.id=1\n"
        << "listeners=PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:0\n"
        << "controller.listener.names=CONTROLLER\n"
        << "log.dirs=" << log_dir_.string() << "\n";
    for (const auto& [k, v] : extra) cfg << k << "=" << v << "\n";
    cfg.close();
    start();
  }

  // Runs `kafka-broker <server.properties> <args...>` (such as `--override
  // key=value`) with exactly `config_text` in the file; `log_dir` is the
  // directory that text names.
  struct ExactConfig {};
  BrokerProcess(ExactConfig, const std::string& config_text, std::vector<std::string> args,
                std::filesystem::path log_dir)
      : dir_(make_temp_dir("kb-broker-")), log_dir_(std::move(log_dir)), args_(std::move(args)) {
    std::ofstream cfg(dir_ / "server.properties", std::ios::binary);
    cfg << config_text;
    cfg.close();
    start();
  }

  ~BrokerProcess() {
    stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  BrokerProcess(const BrokerProcess&) = delete;
  BrokerProcess& operator=(const BrokerProcess&) = delete;

  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::filesystem::path& log_dir() const { return log_dir_; }
  std::string log() const { return read_file(dir_ / "broker.log"); }

  // The capture groups of the first match of `pattern` in the log, waiting up
  // to `bound` for it: the broker writes lines as it goes, so a line logged
  // after the first listener opened may not be there yet. Empty on timeout.
  std::vector<std::string> wait_for_log(
      const std::regex& pattern, std::chrono::milliseconds bound = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + bound;
    while (true) {
      std::string text = log();
      std::smatch match;
      if (std::regex_search(text, match, pattern))
        return std::vector<std::string>(match.begin(), match.end());
      if (std::chrono::steady_clock::now() > deadline || !alive()) return {};
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  bool alive() {
    if (pid_ <= 0) return false;
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exited_ = decode(status);
      pid_ = -1;
      return false;
    }
    return true;
  }

  // SIGTERM, wait up to `bound`, then SIGKILL. Returns how it ended.
  ExitStatus stop(std::chrono::milliseconds bound = std::chrono::milliseconds(10000)) {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      wait_for_exit(bound);
    }
    return exited_;
  }

  void kill_hard() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      wait_for_exit(std::chrono::milliseconds(10000));
    }
  }

 private:
  static ExitStatus decode(int status) {
    if (WIFEXITED(status)) return {WEXITSTATUS(status), 0};
    if (WIFSIGNALED(status)) return {-1, WTERMSIG(status)};
    return {};
  }

  void wait_for_exit(std::chrono::milliseconds bound) {
    auto deadline = std::chrono::steady_clock::now() + bound;
    while (pid_ > 0) {
      int status = 0;
      pid_t r = waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        exited_ = decode(status);
        pid_ = -1;
        return;
      }
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        exited_ = decode(status);
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  void start() {
    std::string log_path = (dir_ / "broker.log").string();
    std::string config_path = (dir_ / "server.properties").string();
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
      }
      if (open_file_limit_) {
        const rlimit limit{static_cast<rlim_t>(*open_file_limit_),
                           static_cast<rlim_t>(*open_file_limit_)};
        if (setrlimit(RLIMIT_NOFILE, &limit) != 0) _exit(126);
      }
      std::vector<char*> argv{const_cast<char*>(KB_BROKER_BINARY), config_path.data()};
      for (auto& arg : args_) argv.push_back(arg.data());
      argv.push_back(nullptr);
      execv(KB_BROKER_BINARY, argv.data());
      _exit(127);
    }
    // The broker logs "Listening on PLAINTEXT://host:port" once it accepts.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      std::string text = log();
      auto at = text.find("Listening on PLAINTEXT://");
      if (at != std::string::npos) {
        auto eol = text.find('\n', at);
        if (eol != std::string::npos) {
          auto line = text.substr(at, eol - at);
          port_ = static_cast<uint16_t>(std::stoi(line.substr(line.rfind(':') + 1)));
          return;
        }
      }
      if (!alive()) throw std::runtime_error("broker exited at start-up:\n" + text);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    // A constructor that throws runs no destructor: stop the child here.
    std::string text = log();
    kill_hard();
    throw std::runtime_error("broker did not start listening:\n" + text);
  }

  std::filesystem::path dir_;
  std::filesystem::path log_dir_;
  std::vector<std::string> args_;
  std::optional<uint64_t> open_file_limit_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  ExitStatus exited_;
};

// Runs the broker binary with arguments and returns its exit status and output.
inline std::pair<ExitStatus, std::string> run_broker_once(const std::vector<std::string>& args,
                                                          std::chrono::seconds bound) {
  auto dir = make_temp_dir("kb-run-");
  std::string out_path = (dir / "out.log").string();
  pid_t pid = fork();
  if (pid == 0) {
    int fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(KB_BROKER_BINARY));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(KB_BROKER_BINARY, argv.data());
    _exit(127);
  }
  auto deadline = std::chrono::steady_clock::now() + bound;
  int status = 0;
  ExitStatus result;
  while (true) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      result =
          WIFEXITED(status) ? ExitStatus{WEXITSTATUS(status), 0} : ExitStatus{-1, WTERMSIG(status)};
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      result = {-1, SIGKILL};
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::string output = read_file(out_path);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return {result, output};
}

}  // namespace kb::testing
