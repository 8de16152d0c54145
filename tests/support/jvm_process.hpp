#pragma once

// A Java program a test starts (Apache Kafka, MirrorMaker 2): a temporary
// directory of its own for its files, Kafka's log4j2 at INFO into a log file
// there (what it loads, and why it refuses something), and a stop that is
// SIGTERM (the program's shutdown hooks) then SIGKILL.

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/broker_process.hpp"
#include "support/shell_command.hpp"

namespace kb::testing {

class JvmProcess {
 public:
  explicit JvmProcess(const std::string& temp_prefix) : dir_(make_temp_dir(temp_prefix)) {
    write_text_file(dir_ / "log4j2.properties",
                    "status = warn\n"
                    "appender.out.type = Console\n"
                    "appender.out.name = OUT\n"
                    "appender.out.layout.type = PatternLayout\n"
                    "appender.out.layout.pattern = [%d] %p %m (%c)%n\n"
                    "rootLogger.level = info\n"
                    "rootLogger.appenderRef.out.ref = OUT\n");
  }

  ~JvmProcess() {
    stop(std::chrono::seconds(60));
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  JvmProcess(const JvmProcess&) = delete;
  JvmProcess& operator=(const JvmProcess&) = delete;

  // Where the program's own files go (its properties).
  const std::filesystem::path& dir() const { return dir_; }

  // Runs `java <jvm_options> -cp <classpath> <main_class> <args>`, its
  // output into log().
  void start(std::vector<std::string> jvm_options, const std::string& classpath,
             const std::string& main_class, const std::vector<std::string>& args) {
    const std::string log_path = (dir_ / "java.log").string();
    std::vector<std::string> command{"java"};
    command.insert(command.end(), jvm_options.begin(), jvm_options.end());
    command.push_back("-Dlog4j2.configurationFile=" + (dir_ / "log4j2.properties").string());
    command.push_back("-cp");
    command.push_back(classpath);
    command.push_back(main_class);
    command.insert(command.end(), args.begin(), args.end());
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
      }
      std::vector<char*> argv;
      for (auto& arg : command) argv.push_back(arg.data());
      argv.push_back(nullptr);
      execvp("java", argv.data());
      _exit(127);
    }
  }

  std::string log() const { return read_file(dir_ / "java.log"); }

  bool alive() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    return true;
  }

  // SIGTERM, then SIGKILL after `bound`. True when the program exited by
  // itself within the bound.
  bool stop(std::chrono::seconds bound) { return end(SIGTERM, bound); }
  void kill_hard() { end(SIGKILL, std::chrono::seconds(30)); }

 private:
  bool end(int signal, std::chrono::seconds bound) {
    if (pid_ <= 0) return true;
    kill(pid_, signal);
    const auto deadline = std::chrono::steady_clock::now() + bound;
    int status = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return signal != SIGKILL;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return false;
  }

  std::filesystem::path dir_;
  pid_t pid_ = -1;
};

}  // namespace kb::testing
