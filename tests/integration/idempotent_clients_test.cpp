// Idempotent producers of real clients against the broker binary:
// confluent-kafka (librdkafka, from Debian) and kafkajs (from npm at the
// version pinned in clients/kafkajs/package-lock.json, installed with `npm ci`
// into the build's cache on first use). The scripts are in clients/.

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>

#include "support/broker_process.hpp"
#include "support/shell_command.hpp"

namespace kb::testing {
namespace {

const std::filesystem::path kClients = KB_TEST_CLIENTS_DIR;
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
