#pragma once

// MirrorMaker 2 in dedicated mode, as `connect-mirror-maker.sh mm2.properties
// --clusters <target>` runs it: `org.apache.kafka.connect.mirror.MirrorMaker`
// from the Java lab's mirror class path (classpath-mirror.txt, see
// java_lab.hpp) in a JVM of its own, its INFO log kept in `log()`.

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

class MirrorMakerProcess {
 public:
  // Starts MirrorMaker with `properties` as its mm2.properties, running only
  // the flows into `target_cluster` (the --clusters option: the herders of
  // other flows, which would write their own internal topics to the other
  // clusters, are not started).
  MirrorMakerProcess(std::string classpath, const std::string& properties,
                     std::string target_cluster)
      : dir_(make_temp_dir("kb-mirror-maker-")) {
    write_text_file(dir_ / "mm2.properties", properties);
    write_text_file(dir_ / "log4j2.properties",
                    "status = warn\n"
                    "appender.out.type = Console\n"
                    "appender.out.name = OUT\n"
                    "appender.out.layout.type = PatternLayout\n"
                    "appender.out.layout.pattern = [%d] %p %m (%c)%n\n"
                    "rootLogger.level = info\n"
                    "rootLogger.appenderRef.out.ref = OUT\n");
    const std::string log_path = (dir_ / "mirror-maker.log").string();
    std::vector<std::string> args{
        "java",
        "-Xmx512m",
        "-Dlog4j2.configurationFile=" + (dir_ / "log4j2.properties").string(),
        "-cp",
        std::move(classpath),
        "org.apache.kafka.connect.mirror.MirrorMaker",
        (dir_ / "mm2.properties").string(),
        "--clusters",
        std::move(target_cluster)};
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
      }
      std::vector<char*> argv;
      for (auto& arg : args) argv.push_back(arg.data());
      argv.push_back(nullptr);
      execvp("java", argv.data());
      _exit(127);
    }
  }

  ~MirrorMakerProcess() {
    stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  MirrorMakerProcess(const MirrorMakerProcess&) = delete;
  MirrorMakerProcess& operator=(const MirrorMakerProcess&) = delete;

  std::string log() const { return read_file(dir_ / "mirror-maker.log"); }

  bool alive() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    return true;
  }

  // SIGTERM (MirrorMaker's shutdown hook stops its connectors), then SIGKILL
  // after `bound`. True when it exited by itself within the bound.
  bool stop(std::chrono::seconds bound = std::chrono::seconds(30)) {
    if (pid_ <= 0) return true;
    kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + bound;
    int status = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return false;
  }

 private:
  std::filesystem::path dir_;
  pid_t pid_ = -1;
};

}  // namespace kb::testing
