// Idempotent producers of real clients against the broker binary:
// confluent-kafka (librdkafka, from Debian) and kafkajs (from npm at the
// version pinned in clients/kafkajs/package-lock.json, installed with `npm ci`
// into the build's cache on first use). The scripts are in clients/.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>

#include "support/broker_process.hpp"
#include "support/shell_command.hpp"

namespace kb::testing {
namespace {

const std::filesystem::path kClients = KB_CLIENT_SCRIPTS_DIR;
const std::filesystem::path kCache = KB_TEST_CACHE_DIR;

std::string quoted(const std::filesystem::path& p) { return "'" + p.string() + "'"; }

// Installs kafkajs into <cache>/kafkajs unless the installed lock file is the
// pinned one; a file lock keeps concurrent tests from installing twice.
CommandResult install_kafkajs(std::filesystem::path& node_modules) {
  const auto source = kClients / "kafkajs";
  const auto target = kCache / "kafkajs";
  std::filesystem::create_directories(target);
  node_modules = target / "node_modules";
  // $1: the cache directory, $2: the pinned package files.
  const std::string script = "flock " + quoted(target / "install.lock") + " sh -c '" +
                             "cd \"$1\" && cmp -s package-lock.json \"$2/package-lock.json\" && "
                             "[ -f node_modules/kafkajs/package.json ] || "
                             "{ cp \"$2/package.json\" \"$2/package-lock.json\" . && "
                             "npm ci --no-audit --no-fund --loglevel=error; }' sh " +
                             quoted(target) + " " + quoted(source);
  return run_command(script, 300);
}

TEST(IdempotentClients, ConfluentKafkaProducesEveryMessageExactlyOnceInOrder) {
  if (!command_succeeds("/usr/bin/python3 -c 'import confluent_kafka'"))
    GTEST_SKIP() << "python3-confluent-kafka is not installed (scripts/install-deps.sh test)";
  // Three partitions by default, so the producer has several in flight.
  BrokerProcess broker(std::map<std::string, std::string>{{"num.partitions", "3"}});
  auto r = run_command("/usr/bin/python3 " + quoted(kClients / "confluent_idempotent.py") +
                           " 127.0.0.1:" + std::to_string(broker.port()) + " ck-idempotent 5000",
                       120);
  ASSERT_EQ(r.status, 0) << r.output << "\nbroker log:\n" << broker.log();
  EXPECT_NE(r.output.find("ok 5000 messages over 3 partitions"), std::string::npos) << r.output;
  // librdkafka asked for a producer id (InitProducerId) before producing.
  EXPECT_NE(broker.log().find("producer ids 0..999 allocated"), std::string::npos);
}

// A loopback port free right now (for a broker that must come back on the
// same port after a restart, as clients reconnect to the address they know).
uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    throw std::runtime_error("no free port");
  ::close(fd);
  return ntohs(addr.sin_port);
}

enum class Restart { clean, killed };

// An idempotent confluent-kafka producer sends 20,000 messages while the
// broker is restarted under it; a consumer then finds each exactly once.
void exactly_once_across_a_restart(Restart how) {
  const auto dir = make_temp_dir("kb-idem-restart-");
  const std::string port = std::to_string(free_port());
  const std::map<std::string, std::string> config{
      {"num.partitions", "2"},
      {"listeners", "PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:0"}};
  auto broker = std::make_unique<BrokerProcess>(config, dir / "data");
  const std::string command = "timeout 120 /usr/bin/python3 " +
                              quoted(kClients / "confluent_idempotent.py") + " 127.0.0.1:" + port +
                              " ck-restart 20000 paced 2>&1";
  FILE* client = popen(command.c_str(), "r");
  if (client == nullptr) {
    ADD_FAILURE() << "popen failed";
    return;
  }
  std::string output;
  std::array<char, 4096> line{};
  bool restarted = false;
  while (fgets(line.data(), line.size(), client) != nullptr) {
    output += line.data();
    if (!restarted && output.find("delivering") != std::string::npos) {
      // While the producer is busy: a clean stop (the producer state is
      // saved as a snapshot) or a kill (it is rebuilt from the log), then a
      // start on the same port and data.
      if (how == Restart::clean)
        EXPECT_EQ(broker->stop().code, 0);
      else
        broker->kill_hard();
      broker = std::make_unique<BrokerProcess>(config, dir / "data");
      restarted = true;
    }
  }
  const int status = pclose(client);
  EXPECT_TRUE(restarted) << output;
  EXPECT_EQ(status, 0) << output << "\nbroker log:\n" << broker->log();
  EXPECT_NE(output.find("ok 20000 messages over 2 partitions"), std::string::npos) << output;
  // The producer went on after the restart, checked against the saved state.
  EXPECT_NE(broker->log().find("producer state of 1 producers loaded"), std::string::npos)
      << broker->log();
  broker.reset();
  std::filesystem::remove_all(dir);
}

TEST(IdempotentClients, ConfluentKafkaExactlyOnceAcrossACleanRestart) {
  if (!command_succeeds("/usr/bin/python3 -c 'import confluent_kafka'"))
    GTEST_SKIP() << "python3-confluent-kafka is not installed (scripts/install-deps.sh test)";
  exactly_once_across_a_restart(Restart::clean);
}

TEST(IdempotentClients, ConfluentKafkaExactlyOnceAcrossAKill) {
  if (!command_succeeds("/usr/bin/python3 -c 'import confluent_kafka'"))
    GTEST_SKIP() << "python3-confluent-kafka is not installed (scripts/install-deps.sh test)";
  exactly_once_across_a_restart(Restart::killed);
}

TEST(IdempotentClients, KafkajsIdempotentProducerAndAdmin) {
  if (!command_succeeds("command -v node") || !command_succeeds("command -v npm"))
    GTEST_SKIP() << "node/npm are not installed (scripts/install-deps.sh test)";
  std::filesystem::path node_modules;
  auto installed = install_kafkajs(node_modules);
  ASSERT_EQ(installed.status, 0) << "npm ci failed:\n" << installed.output;

  BrokerProcess broker(std::map<std::string, std::string>{{"num.partitions", "3"}});
  auto r = run_command("env NODE_PATH=" + quoted(node_modules) + " node " +
                           quoted(kClients / "kafkajs" / "idempotent_admin.js") +
                           " 127.0.0.1:" + std::to_string(broker.port()) + " kafkajs-topic 3 40",
                       120);
  ASSERT_EQ(r.status, 0) << r.output << "\nbroker log:\n" << broker.log();
  EXPECT_NE(r.output.find("ok 400 records over 3 partitions"), std::string::npos) << r.output;
  EXPECT_NE(broker.log().find("producer ids 0..999 allocated"), std::string::npos);
}

}  // namespace
}  // namespace kb::testing
