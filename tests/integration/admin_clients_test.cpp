// Topic administration with real clients' admin APIs: confluent-kafka's
// AdminClient (librdkafka) and kafka-python's KafkaAdminClient, both from
// Debian (scripts/install-deps.sh). The scripts are in integration/clients/.

#include <gtest/gtest.h>

#include <string>

#include "support/broker_process.hpp"
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

TEST(AdminClients, ConfluentKafkaCreatesATopicThatSurvivesARestartAndDeletesIt) {
  if (!command_succeeds(kPython + " -c 'import confluent_kafka'"))
    GTEST_SKIP() << "python3-confluent-kafka is not installed (scripts/install-deps.sh test)";
  auto dir = make_temp_dir("kb-ck-admin-");
  {
    BrokerProcess broker({}, dir / "data");
    auto created = run_command(script("confluent_admin.py") + " " + bootstrap(broker) + " create");
    ASSERT_EQ(created.status, 0) << created.output;
    EXPECT_NE(created.output.find("OK create"), std::string::npos) << created.output;
    EXPECT_EQ(broker.stop().code, 0);
  }
  {
    BrokerProcess broker({}, dir / "data");
    auto checked = run_command(script("confluent_admin.py") + " " + bootstrap(broker) + " check");
    ASSERT_EQ(checked.status, 0) << checked.output;
    auto deleted = run_command(script("confluent_admin.py") + " " + bootstrap(broker) + " delete");
    ASSERT_EQ(deleted.status, 0) << deleted.output;
    EXPECT_NE(deleted.output.find("OK delete"), std::string::npos) << deleted.output;
    EXPECT_FALSE(std::filesystem::exists(broker.log_dir() / "ck-admin-0"));
    EXPECT_EQ(broker.stop().code, 0);
  }
  {
    // Still gone after another restart.
    BrokerProcess broker({{"auto.create.topics.enable", "false"}}, dir / "data");
    auto checked = run_command(script("confluent_admin.py") + " " + bootstrap(broker) + " check");
    EXPECT_NE(checked.status, 0) << checked.output;
    EXPECT_NE(checked.output.find("AssertionError"), std::string::npos) << checked.output;
  }
  std::filesystem::remove_all(dir);
}

TEST(AdminClients, KafkaPythonCreatesDescribesGrowsAndDeletes) {
  if (!command_succeeds(kPython + " -c 'import kafka'"))
    GTEST_SKIP() << "python3-kafka is not installed (scripts/install-deps.sh test)";
  BrokerProcess broker;
  auto r = run_command(script("kafka_python_admin.py") + " " + bootstrap(broker));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("OK"), std::string::npos) << r.output;
}

// AlterConfigs from both clients; retention moves the low watermark and a
// consumer from the earliest offset reads the rest.
TEST(AdminClients, AlterConfigsAndRetentionWithRealClients) {
  BrokerProcess broker(
      std::map<std::string, std::string>{{"log.retention.check.interval.ms", "100"}});
  if (command_succeeds(kPython + " -c 'import confluent_kafka'")) {
    auto r = run_command(script("retention_clients.py") + " " + bootstrap(broker) + " confluent");
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("OK confluent"), std::string::npos) << r.output;
  }
  if (!command_succeeds(kPython + " -c 'import kafka'"))
    GTEST_SKIP() << "python3-kafka is not installed (scripts/install-deps.sh test)";
  auto r = run_command(script("retention_clients.py") + " " + bootstrap(broker) + " kafka-python");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("OK kafka-python"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace kb::testing
