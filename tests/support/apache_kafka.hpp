#pragma once

// Apache Kafka itself as a test's yardstick: `kafka.Kafka` from the Java
// lab's server class path (classpath-server.txt, see java_lab.hpp), one node
// in KRaft combined mode (broker and controller) on a given log directory,
// on two free loopback ports. The data-directory interchange tests start it
// on a directory this broker wrote, and this broker on one it wrote.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/broker_process.hpp"
#include "support/jvm_process.hpp"
#include "support/shell_command.hpp"

namespace kb::testing {

// A loopback port nothing listens on now (the kernel's pick; another process
// could take it before Kafka binds it, which a test would see as a failed
// start).
inline uint16_t free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("bind failed");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

inline bool loopback_port_accepts(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

class ApacheKafkaProcess {
 public:
  struct Options {
    std::filesystem::path log_dir;
    int node_id = 1;
    std::map<std::string, std::string> extra;  // more server.properties lines
    // More client listeners, each named as its security protocol
    // (SASL_PLAINTEXT), on a free port (see listener_port()).
    std::vector<std::string> more_listeners;
    std::string heap = "-Xmx1g";  // Kafka's own default
  };

  // Starts Kafka on `options.log_dir` as it is: formatted by Kafka's storage
  // tool (see format()) or written by this broker. Throws with Kafka's log
  // when its client port does not accept within `bound`.
  ApacheKafkaProcess(std::string classpath, Options options,
                     std::chrono::seconds bound = std::chrono::seconds(90))
      : classpath_(std::move(classpath)),
        options_(std::move(options)),
        jvm_("kb-apache-kafka-"),
        port_(free_loopback_port()),
        controller_port_(free_loopback_port()) {
    for (const auto& name : options_.more_listeners) more_ports_[name] = free_loopback_port();
    write_text_file(jvm_.dir() / "server.properties", server_properties());
    start(bound);
  }

  ApacheKafkaProcess(const ApacheKafkaProcess&) = delete;
  ApacheKafkaProcess& operator=(const ApacheKafkaProcess&) = delete;

  // Formats `log_dir` with Kafka's storage tool for a one-node combined
  // cluster, as `kafka-storage.sh format -t <cluster_id> -c <properties>`
  // does with a static quorum (controller.quorum.voters).
  static CommandResult format(const std::string& classpath, const std::filesystem::path& log_dir,
                              const std::string& cluster_id, int node_id = 1) {
    auto dir = make_temp_dir("kb-apache-kafka-format-");
    write_text_file(dir / "server.properties",
                    "process.roles=broker,controller\nnode.id=" + std::to_string(node_id) +
                        "\ncontroller.quorum.voters=" + std::to_string(node_id) +
                        "@127.0.0.1:9093\ncontroller.listener.names=CONTROLLER\n"
                        "listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093\n"
                        "log.dirs=" +
                        log_dir.string() + "\n");
    auto result = run_command("java -cp " + quoted(std::filesystem::path(classpath)) +
                                  " kafka.tools.StorageTool format -t " + cluster_id + " -c " +
                                  quoted(dir / "server.properties"),
                              120);
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    return result;
  }

  uint16_t port() const { return port_; }
  uint16_t listener_port(const std::string& name) const { return more_ports_.at(name); }
  std::string bootstrap() const { return "127.0.0.1:" + std::to_string(port_); }
  const std::filesystem::path& log_dir() const { return options_.log_dir; }
  std::string log() const { return jvm_.log(); }
  bool alive() { return jvm_.alive(); }
  // SIGTERM (Kafka's controlled shutdown), then SIGKILL after `bound`.
  // True when Kafka exited by itself within the bound.
  bool stop(std::chrono::seconds bound = std::chrono::seconds(60)) { return jvm_.stop(bound); }
  void kill_hard() { jvm_.kill_hard(); }

 private:
  std::string server_properties() const {
    const std::string id = std::to_string(options_.node_id);
    const std::string client = "127.0.0.1:" + std::to_string(port_);
    const std::string controller = "127.0.0.1:" + std::to_string(controller_port_);
    std::string more;
    std::string more_protocols;
    for (const auto& [name, port] : more_ports_) {
      more += "," + name + "://127.0.0.1:" + std::to_string(port);
      more_protocols += "," + name + ":" + name;
    }
    std::string text = "process.roles=broker,controller\nnode.id=" + id +
                       "\ncontroller.quorum.voters=" + id + "@" + controller +
                       "\nlisteners=PLAINTEXT://" + client + ",CONTROLLER://" + controller + more +
                       "\nadvertised.listeners=PLAINTEXT://" + client + more +
                       "\ncontroller.listener.names=CONTROLLER\n"
                       "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT" +
                       more_protocols + "\nlog.dirs=" + options_.log_dir.string() +
                       "\noffsets.topic.replication.factor=1\n"
                       "transaction.state.log.replication.factor=1\n"
                       "transaction.state.log.min.isr=1\n"
                       "share.coordinator.state.topic.replication.factor=1\n"
                       "share.coordinator.state.topic.min.isr=1\n"
                       "group.initial.rebalance.delay.ms=0\n";
    for (const auto& [k, v] : options_.extra) text += k + "=" + v + "\n";
    return text;
  }

  void start(std::chrono::seconds bound) {
    jvm_.start({options_.heap}, classpath_, "kafka.Kafka",
               {(jvm_.dir() / "server.properties").string()});
    // Kafka opens its client listener once the broker has caught up with the
    // metadata log, the end of its start-up.
    const auto deadline = std::chrono::steady_clock::now() + bound;
    while (std::chrono::steady_clock::now() < deadline) {
      if (loopback_port_accepts(port_)) return;
      if (!alive()) throw std::runtime_error("Apache Kafka exited at start-up:\n" + log());
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::string text = log();
    kill_hard();
    throw std::runtime_error("Apache Kafka did not open its client port:\n" + text);
  }

  std::string classpath_;
  Options options_;
  JvmProcess jvm_;
  uint16_t port_;
  uint16_t controller_port_;
  std::map<std::string, uint16_t> more_ports_;
};

}  // namespace kb::testing
