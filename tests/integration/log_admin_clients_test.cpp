// The log APIs with real clients: confluent-kafka (librdkafka 2.0) and
// kafka-python seek by time into compressed batches they produced
// (clients/log_admin_clients.py); kafkajs does that, deleteTopicRecords and
// the partition reassignment calls (clients/kafkajs/log_admin.js).

#include <gtest/gtest.h>

#include <string>

#include "support/broker_process.hpp"
#include "support/kafkajs.hpp"
#include "support/shell_command.hpp"

namespace kb::testing {
namespace {

const std::string kPython = "/usr/bin/python3";

std::string script(const std::string& name) {
  return kPython + " " + std::string(KB_CLIENT_SCRIPTS_DIR) + "/" + name;
}

std::string bootstrap(const BrokerProcess& broker) {
  return "127.0.0.1:" + std::to_string(broker.port());
}

TEST(LogAdminClients, ConfluentKafkaFindsRecordsByTimeInEachCodec) {
  if (!command_succeeds(kPython + " -c 'import confluent_kafka'"))
    GTEST_SKIP() << "python3-confluent-kafka is not installed (scripts/install-deps.sh test)";
  BrokerProcess broker;
  auto r =
      run_command(script("log_admin_clients.py") + " " + bootstrap(broker) + " confluent", 120);
  ASSERT_EQ(r.status, 0) << r.output << "\nbroker log:\n" << broker.log();
  EXPECT_NE(r.output.find("OK confluent"), std::string::npos) << r.output;
}

TEST(LogAdminClients, KafkaPythonFindsRecordsByTimeInAGzipBatch) {
  if (!command_succeeds(kPython + " -c 'import kafka'"))
    GTEST_SKIP() << "python3-kafka is not installed (scripts/install-deps.sh test)";
  BrokerProcess broker;
  auto r =
      run_command(script("log_admin_clients.py") + " " + bootstrap(broker) + " kafka-python", 120);
  ASSERT_EQ(r.status, 0) << r.output << "\nbroker log:\n" << broker.log();
  EXPECT_NE(r.output.find("OK kafka-python"), std::string::npos) << r.output;
}

TEST(LogAdminClients, KafkajsDeletesRecordsAndListsReassignments) {
  if (!node_available()) GTEST_SKIP() << "node and npm are not installed";
  const std::filesystem::path clients = KB_CLIENT_SCRIPTS_DIR;
  std::filesystem::path node_modules;
  auto installed = install_kafkajs(clients, KB_TEST_CACHE_DIR, node_modules);
  ASSERT_EQ(installed.status, 0) << "npm ci failed:\n" << installed.output;
  BrokerProcess broker;
  auto r = run_command(
      kafkajs_script(node_modules, clients, "log_admin.js") + " " + bootstrap(broker) + " logs",
      120);
  ASSERT_EQ(r.status, 0) << r.output << "\nbroker log:\n" << broker.log();
  EXPECT_NE(r.output.find("ok log admin"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace kb::testing
