#pragma once

// The Java lab for integration tests: Apache Kafka's own tools and Java
// clients, installed from Maven Central at the versions pinned in
// <scripts>/java/pom.xml by <scripts>/java/install.sh into a cache directory
// once, and a JavaShell: one JVM running tool main classes one after another
// (kb.lab.Shell), so a suite pays for one JVM start-up, not one per command.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/broker_process.hpp"
#include "support/shell_command.hpp"

namespace kb::testing {

// Main classes of Kafka's command-line tools (what the bin/*.sh scripts run).
inline const std::string kTools = "org.apache.kafka.tools.";
inline const std::string kBrokerApiVersions = kTools + "BrokerApiVersionsCommand";
inline const std::string kClusterTool = kTools + "ClusterTool";
inline const std::string kConfigCommand = kTools + "ConfigCommand";
inline const std::string kConsoleConsumer = kTools + "consumer.ConsoleConsumer";
inline const std::string kConsoleProducer = kTools + "ConsoleProducer";
inline const std::string kConsumerGroupCommand = kTools + "consumer.group.ConsumerGroupCommand";
inline const std::string kConsumerPerformance = kTools + "ConsumerPerformance";
inline const std::string kDeleteRecords = kTools + "DeleteRecordsCommand";
inline const std::string kDumpLogSegments = kTools + "DumpLogSegments";
inline const std::string kGetOffsetShell = kTools + "GetOffsetShell";
inline const std::string kLeaderElection = kTools + "LeaderElectionCommand";
inline const std::string kLogDirs = kTools + "LogDirsCommand";
inline const std::string kProducerPerformance = kTools + "ProducerPerformance";
inline const std::string kTopicCommand = kTools + "TopicCommand";
inline const std::string kTransactionsCommand = kTools + "TransactionsCommand";
inline const std::string kVerifiableConsumer = kTools + "VerifiableConsumer";
inline const std::string kVerifiableProducer = kTools + "VerifiableProducer";

inline bool java_lab_available() {
  return command_succeeds("command -v java") && command_succeeds("command -v javac") &&
         command_succeeds("command -v mvn");
}

// Builds the lab into <cache>/java unless it is already built from the same
// pinned files (install.sh decides; concurrent callers wait for one another).
// The first build downloads the jars into <cache>/m2.
inline CommandResult install_java_lab(const std::filesystem::path& scripts,
                                      const std::filesystem::path& cache) {
  return run_command(quoted(scripts / "java" / "install.sh") + " " + quoted(cache), 900);
}

// A suite's first step: the lab built into `cache`. `problem` is empty when
// it is ready; else it says why not, and `skip` whether the suite may be
// skipped for it (java, javac or mvn missing where labs are not required).
struct JavaLabSetup {
  std::string problem;
  bool skip = false;
};
inline JavaLabSetup set_up_java_lab(const std::filesystem::path& scripts,
                                    const std::filesystem::path& cache) {
  if (!java_lab_available())
    return {"java/javac/mvn are not installed (scripts/install-deps.sh test installs them)",
            !labs_required()};
  auto installed = install_java_lab(scripts, cache);
  if (installed.status != 0) return {"building the Java lab failed:\n" + installed.output, false};
  return {};
}

// The class path for kafka-clients `version` ("4" or "3.9"): the lab's own
// classes, then the jars Maven resolved.
inline std::string java_lab_classpath(const std::filesystem::path& cache,
                                      const std::string& version) {
  std::string jars = read_file(cache / "java" / ("classpath-" + version + ".txt"));
  while (!jars.empty() && (jars.back() == '\n' || jars.back() == '\r')) jars.pop_back();
  return (cache / "java" / "build" / "classes").string() + ":" + jars;
}

struct ToolRun {
  int exit_code = -1;  // the tool's Exit.exit code; 124 when it ran out of time
  std::string out;
  std::string err;
};

// The lines of a tool's output, without their line ends.
inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

// One kb.lab.Shell JVM; its own stderr (the tools' log) goes to `log_path`.
class JavaShell {
 public:
  JavaShell(const std::string& classpath, std::filesystem::path log_path)
      : log_path_(std::move(log_path)) {
    int to_child[2];
    int from_child[2];
    if (pipe2(to_child, O_CLOEXEC) != 0 || pipe2(from_child, O_CLOEXEC) != 0)
      throw std::runtime_error("pipe failed");
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      dup2(to_child[0], 0);
      dup2(from_child[1], 1);
      int fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd >= 0) dup2(fd, 2);
      // A small heap and the client compiler only: these programs are short.
      execlp("java", "java", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp",
             classpath.c_str(), "kb.lab.Shell", static_cast<char*>(nullptr));
      _exit(127);
    }
    ::close(to_child[0]);
    ::close(from_child[1]);
    to_child_ = to_child[1];
    from_child_ = from_child[0];
    signal(SIGPIPE, SIG_IGN);
  }

  ~JavaShell() {
    if (to_child_ >= 0) ::close(to_child_);
    if (from_child_ >= 0) ::close(from_child_);
    // Closing its stdin ends the shell; a bound, then SIGKILL.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (pid_ > 0) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) break;
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  JavaShell(const JavaShell&) = delete;
  JavaShell& operator=(const JavaShell&) = delete;

  std::string log() const { return read_file(log_path_); }

  bool alive() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) pid_ = -1;
    return pid_ > 0;
  }

  // Runs `main_class` with `args` and `input` as its stdin. A shell that does
  // not answer within `bound` (the shell's own limit is 120 s) is killed and
  // the run reported as exit code 124.
  ToolRun run(const std::string& main_class, const std::vector<std::string>& args,
              const std::string& input = "",
              std::chrono::seconds bound = std::chrono::seconds(150)) {
    ToolRun result;
    std::string request = "run " + main_class + "\n";
    for (const auto& a : args) request += "arg " + a + "\n";
    request += "stdin " + std::to_string(input.size()) + "\n" + input + "end\n";
    if (!write_all(request)) {
      result.err = "the Java shell is gone";
      return result;
    }
    deadline_ = std::chrono::steady_clock::now() + bound;
    auto exit_line = read_line();
    auto out = read_field("out");
    auto err = read_field("err");
    if (!exit_line || exit_line->rfind("exit ", 0) != 0 || !out || !err) {
      kill(pid_, SIGKILL);
      result.exit_code = 124;
      result.err = "no answer from the Java shell in time; its log:\n" + log();
      return result;
    }
    result.exit_code = std::stoi(exit_line->substr(5));
    result.out = std::move(*out);
    result.err = std::move(*err);
    return result;
  }

 private:
  bool write_all(const std::string& bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = ::write(to_child_, bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      done += static_cast<size_t>(n);
    }
    return true;
  }

  // Reads into buffer_ until it holds `n` bytes; false at EOF or the deadline.
  bool fill(size_t n) {
    while (buffer_.size() < n) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline_ - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{from_child_, POLLIN, 0};
      int r = ::poll(&p, 1, static_cast<int>(left.count()));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return false;
      char chunk[65536];
      ssize_t got = ::read(from_child_, chunk, sizeof(chunk));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) return false;
      buffer_.append(chunk, static_cast<size_t>(got));
    }
    return true;
  }

  std::optional<std::string> read_line() {
    size_t scanned = 0;
    while (true) {
      size_t eol = buffer_.find('\n', scanned);
      if (eol != std::string::npos) {
        std::string line = buffer_.substr(0, eol);
        buffer_.erase(0, eol + 1);
        return line;
      }
      scanned = buffer_.size();
      if (!fill(buffer_.size() + 1)) return std::nullopt;
    }
  }

  // "<name> <n>\n" then n bytes.
  std::optional<std::string> read_field(const std::string& name) {
    auto header = read_line();
    if (!header || header->rfind(name + " ", 0) != 0) return std::nullopt;
    size_t n = std::stoul(header->substr(name.size() + 1));
    if (!fill(n)) return std::nullopt;
    std::string body = buffer_.substr(0, n);
    buffer_.erase(0, n);
    return body;
  }

  std::filesystem::path log_path_;
  pid_t pid_ = -1;
  int to_child_ = -1;
  int from_child_ = -1;
  std::string buffer_;
  std::chrono::steady_clock::time_point deadline_;
};

}  // namespace kb::testing
