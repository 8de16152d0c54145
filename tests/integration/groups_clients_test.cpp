// Group consumers of real clients against the broker binary: kcat -G
// (librdkafka) and kafkajs (clients/kafkajs/group_consumer.js) across a
// restart, and confluent-kafka and kafka-python (groups_clients.py): commit and
// resume, two members splitting a topic, a member leaving, a member killed.
// Deleting groups and offsets (group_admin_clients.py): kafka-python's
// KafkaAdminClient and librdkafka's admin API.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "support/broker_process.hpp"
#include "support/kafkajs.hpp"
#include "support/shell_command.hpp"

namespace kb::testing {
namespace {

const std::filesystem::path kScript =
    std::filesystem::path(KB_CLIENT_SCRIPTS_DIR) / "groups_clients.py";

// Topics are auto-created with 4 partitions; a new group starts at once.
std::map<std::string, std::string> group_config() {
  return {{"num.partitions", "4"}, {"group.initial.rebalance.delay.ms", "0"}};
}

std::multiset<std::string> lines(const std::string& text) {
  std::multiset<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty() && line[0] != '%') out.insert(line);
  return out;
}

std::multiset<std::string> numbered(const std::string& prefix, int count) {
  std::multiset<std::string> out;
  for (int i = 1; i <= count; ++i) out.insert(prefix + std::to_string(i));
  return out;
}

TEST(GroupClients, KcatGroupResumesAfterItsCommitAcrossARestart) {
  if (!command_succeeds("command -v kcat")) GTEST_SKIP() << "kcat is not installed";
  const auto dir = make_temp_dir("kb-kcat-group-");
  const auto log_dir = dir / "data";
  auto consume = [](uint16_t port) {
    return run_command("kcat -b 127.0.0.1:" + std::to_string(port) +
                       " -G kcat-group -X auto.offset.reset=earliest -e -q kcat-grouped");
  };
  {
    BrokerProcess broker(group_config(), log_dir);
    const std::string bootstrap = "127.0.0.1:" + std::to_string(broker.port());
    auto produced =
        run_command("seq 1 100 | sed 's/^/m/' | kcat -b " + bootstrap + " -P -t kcat-grouped");
    ASSERT_EQ(produced.status, 0) << produced.output;
    auto first = consume(broker.port());
    ASSERT_EQ(first.status, 0) << first.output;
    EXPECT_EQ(lines(first.output), numbered("m", 100)) << first.output;
    produced =
        run_command("seq 1 50 | sed 's/^/n/' | kcat -b " + bootstrap + " -P -t kcat-grouped");
    ASSERT_EQ(produced.status, 0) << produced.output;
  }
  {
    // After the restart the group resumes after its committed offsets:
    // nothing repeated, nothing skipped.
    BrokerProcess broker(group_config(), log_dir);
    auto second = consume(broker.port());
    ASSERT_EQ(second.status, 0) << second.output;
    EXPECT_EQ(lines(second.output), numbered("n", 50)) << second.output << broker.log();
  }
  std::filesystem::remove_all(dir);
}

// The values a group_consumer.js run consumed ("got <value>" lines) and the
// sum of its group's committed offsets ("committed <n>"; -1 when missing).
struct KafkajsRun {
  std::multiset<std::string> values;
  int64_t committed = -1;
};

KafkajsRun parse_kafkajs_run(const std::string& output) {
  KafkajsRun run;
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("got ", 0) == 0) run.values.insert(line.substr(4));
    if (line.rfind("committed ", 0) == 0) run.committed = std::stoll(line.substr(10));
  }
  return run;
}

TEST(GroupClients, KafkajsGroupResumesAfterItsAutoCommitAcrossARestart) {
  if (!node_available())
    GTEST_SKIP() << "node/npm are not installed (scripts/install-deps.sh test)";
  const std::filesystem::path clients = KB_CLIENT_SCRIPTS_DIR;
  std::filesystem::path node_modules;
  auto installed = install_kafkajs(clients, KB_TEST_CACHE_DIR, node_modules);
  ASSERT_EQ(installed.status, 0) << "npm ci failed:\n" << installed.output;
  const auto dir = make_temp_dir("kb-kafkajs-group-");
  const auto log_dir = dir / "data";
  // Produces `count` messages <prefix>1.., then consumes `expect` in the group.
  auto produce_and_consume = [&](uint16_t port, const std::string& prefix, int count, int expect) {
    return run_command(kafkajs_script(node_modules, clients, "group_consumer.js") + " 127.0.0.1:" +
                           std::to_string(port) + " kafkajs-grouped kafkajs-group " + prefix + " " +
                           std::to_string(count) + " " + std::to_string(expect),
                       90);
  };
  {
    BrokerProcess broker(group_config(), log_dir);
    auto first = produce_and_consume(broker.port(), "m", 100, 100);
    ASSERT_EQ(first.status, 0) << first.output << "\nbroker log:\n" << broker.log();
    auto run = parse_kafkajs_run(first.output);
    EXPECT_EQ(run.values, numbered("m", 100)) << first.output;
    EXPECT_EQ(run.committed, 100) << first.output;
  }
  {
    // After the restart a new consumer of the group resumes after the
    // committed offsets: the new messages only, each once.
    BrokerProcess broker(group_config(), log_dir);
    auto second = produce_and_consume(broker.port(), "n", 50, 50);
    ASSERT_EQ(second.status, 0) << second.output << "\nbroker log:\n" << broker.log();
    auto run = parse_kafkajs_run(second.output);
    EXPECT_EQ(run.values, numbered("n", 50)) << second.output << broker.log();
    EXPECT_EQ(run.committed, 150) << second.output;
  }
  std::filesystem::remove_all(dir);
}

void run_scenario(const std::string& lib, const std::string& scenario, const std::string& probe) {
  if (!command_succeeds(probe))
    GTEST_SKIP() << lib << " is not installed (scripts/install-deps.sh test)";
  BrokerProcess broker(group_config());
  const std::string topic = lib + "-" + scenario;
  auto r = run_command("/usr/bin/python3 " + kScript.string() + " " + lib + " " + scenario +
                           " 127.0.0.1:" + std::to_string(broker.port()) + " " + topic + " group-" +
                           topic,
                       180);
  EXPECT_EQ(r.status, 0) << r.output << "\nbroker log:\n" << broker.log();
}

TEST(GroupClients, ConfluentKafkaCommitsAndResumes) {
  run_scenario("confluent", "commit", "/usr/bin/python3 -c 'import confluent_kafka'");
}

TEST(GroupClients, ConfluentKafkaMembersSplitLeaveAndTimeOut) {
  run_scenario("confluent", "split", "/usr/bin/python3 -c 'import confluent_kafka'");
}

TEST(GroupClients, KafkaPythonCommitsAndResumes) {
  run_scenario("kafka-python", "commit", "/usr/bin/python3 -c 'import kafka'");
}

TEST(GroupClients, KafkaPythonMembersSplitLeaveAndTimeOut) {
  run_scenario("kafka-python", "split", "/usr/bin/python3 -c 'import kafka'");
}

void run_admin(const std::string& lib, const std::string& probe) {
  if (!command_succeeds(probe))
    GTEST_SKIP() << lib << " is not installed (scripts/install-deps.sh test)";
  BrokerProcess broker(group_config());
  const auto script = std::filesystem::path(KB_CLIENT_SCRIPTS_DIR) / "group_admin_clients.py";
  auto r = run_command("/usr/bin/python3 " + script.string() + " " + lib +
                           " 127.0.0.1:" + std::to_string(broker.port()) + " admin-" + lib,
                       120);
  EXPECT_EQ(r.status, 0) << r.output << "\nbroker log:\n" << broker.log();
  EXPECT_NE(r.output.find("OK"), std::string::npos) << r.output;
}

TEST(GroupClients, KafkaPythonDeletesConsumerGroups) {
  run_admin("kafka-python", "/usr/bin/python3 -c 'import kafka, confluent_kafka'");
}

TEST(GroupClients, LibrdkafkaDeletesGroupsAndOffsets) {
  run_admin(
      "librdkafka",
      "/usr/bin/python3 -c 'import ctypes, confluent_kafka; ctypes.CDLL(\"librdkafka.so.1\")'");
}

}  // namespace
}  // namespace kb::testing
