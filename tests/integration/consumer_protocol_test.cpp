// Consumer groups of KIP-848 (group.protocol=consumer) with real clients:
// Java's KafkaConsumer 4.x (the Java lab's kb.lab.ConsumerProtocol) and
// confluent-kafka's librdkafka (the Python lab's consumer_protocol_lab.py).
// Members join, one late, one leaves; each step is read from the members'
// own assignments; they commit, the broker restarts on the same log
// directory, and a new member resumes after the commits. Groups also change
// protocol in place (classic to consumer and back) while consuming.

#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "support/broker_process.hpp"
#include "support/java_lab.hpp"
#include "support/python_lab.hpp"

namespace kb::testing {
namespace {

const std::string kConsumerProtocol = "kb.lab.ConsumerProtocol";

// The broker's settings for these tests: heartbeats every second (Kafka's
// default is 5 s) so that the several heartbeats a reconciliation takes fit
// the test's time.
std::map<std::string, std::string> broker_settings() {
  return {{"group.consumer.heartbeat.interval.ms", "1000"},
          {"group.consumer.min.heartbeat.interval.ms", "1000"},
          {"num.partitions", "1"}};
}

::testing::AssertionResult printed(int exit_code, const std::string& out, const std::string& err,
                                   const std::vector<std::string>& expected) {
  if (exit_code == 0 && lines_of(out) == expected) return ::testing::AssertionSuccess();
  auto failure = ::testing::AssertionFailure();
  failure << "exit code " << exit_code << "\nexpected:\n";
  for (const auto& l : expected) failure << "  |" << l << "|\n";
  failure << "printed:\n";
  for (const auto& l : lines_of(out)) failure << "  |" << l << "|\n";
  return failure << "stderr (last 4000 bytes):\n"
                 << (err.size() > 4000 ? err.substr(err.size() - 4000) : err);
}

// A broker whose log directory outlives it, for restarts.
class RestartableBroker {
 public:
  RestartableBroker() : dir_(make_temp_dir("kb-kip848-")) { start(); }
  ~RestartableBroker() {
    broker_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  RestartableBroker(const RestartableBroker&) = delete;
  RestartableBroker& operator=(const RestartableBroker&) = delete;

  void start() { broker_ = std::make_unique<BrokerProcess>(broker_settings(), dir_ / "data"); }
  void restart() {
    broker_.reset();
    start();
  }
  BrokerProcess& process() { return *broker_; }
  std::string bootstrap() const { return "127.0.0.1:" + std::to_string(broker_->port()); }

 private:
  std::filesystem::path dir_;
  std::unique_ptr<BrokerProcess> broker_;
};

TEST(ConsumerProtocolJava, MembersJoinLateLeaveCommitAndResumeAfterARestart) {
  const std::filesystem::path cache = KB_TEST_CACHE_DIR;
  const JavaLabSetup lab = set_up_java_lab(KB_CLIENT_SCRIPTS_DIR, cache);
  if (lab.skip) GTEST_SKIP() << lab.problem;
  ASSERT_TRUE(lab.problem.empty()) << lab.problem;
  RestartableBroker broker;
  const std::filesystem::path shell_dir = make_temp_dir("kb-java-kip848-");
  {
    auto shell = std::make_unique<JavaShell>(java_lab_classpath(cache, "4"), shell_dir / "jvm.log");
    const std::string topic = "kip848-java";
    const std::string group = "kip848-java";
    ToolRun run = shell->run(kConsumerProtocol, {"members", broker.bootstrap(), topic, group}, "",
                             std::chrono::seconds(300));
    EXPECT_TRUE(printed(run.exit_code, run.out, run.err + shell->log(),
                        {"two members: 3 3", "described: Consumer Stable 2 members",
                         "three members: 2 2 2", "after one left: 3 3", "consumed 60 of 60",
                         "committed 6 partitions, offsets summing to 60"}));
    broker.restart();
    // The group, its members gone, comes back from __consumer_offsets with
    // its offsets: a new member reads only what came after the commits.
    run = shell->run(kConsumerProtocol, {"resume", broker.bootstrap(), topic, group});
    EXPECT_TRUE(printed(run.exit_code, run.out, run.err + shell->log(),
                        {"resumed with: [w0, w1, w2, w3, w4, w5]"}));
    if (HasFailure()) std::cerr << "broker log:\n" << broker.process().log() << "\n";
  }
  std::filesystem::remove_all(shell_dir);
}

// Rolling changes of protocol (group.consumer.migration.policy, Kafka's
// default bidirectional): the group changes kind in place, its members keep
// consuming, and every record is read once (each member commits what it read,
// and before giving partitions up).
void rolling_change(const std::string& scenario, const std::string& from, const std::string& to,
                    const std::string& from_type, const std::string& to_type) {
  const std::filesystem::path cache = KB_TEST_CACHE_DIR;
  const JavaLabSetup lab = set_up_java_lab(KB_CLIENT_SCRIPTS_DIR, cache);
  if (lab.skip) GTEST_SKIP() << lab.problem;
  ASSERT_TRUE(lab.problem.empty()) << lab.problem;
  RestartableBroker broker;
  const std::filesystem::path shell_dir = make_temp_dir("kb-java-migration-");
  {
    auto shell = std::make_unique<JavaShell>(java_lab_classpath(cache, "4"), shell_dir / "jvm.log");
    const std::string name = "kip848-" + scenario;
    ToolRun run = shell->run(kConsumerProtocol, {scenario, broker.bootstrap(), name, name}, "",
                             std::chrono::seconds(300));
    EXPECT_TRUE(printed(run.exit_code, run.out, run.err + shell->log(),
                        {"three " + from + " members: 2 2 2, group " + from_type,
                         "a " + to + " member joined: group Consumer",
                         "three " + to + " members: 2 2 2, group " + to_type,
                         "every record read: true, read twice beyond refused commits: 0"}));
    if (::testing::Test::HasFailure())
      std::cerr << "broker log:\n" << broker.process().log() << "\n";
  }
  std::filesystem::remove_all(shell_dir);
}

TEST(ConsumerProtocolJava, ClassicConsumersRollToTheConsumerProtocolInPlace) {
  rolling_change("upgrade", "classic", "consumer", "Classic", "Consumer");
}

TEST(ConsumerProtocolJava, ConsumerProtocolMembersRollBackToClassicInPlace) {
  rolling_change("downgrade", "consumer", "classic", "Consumer", "Classic");
}

TEST(ConsumerProtocolPython, ConfluentKafkaMembersShareLeaveAndResume) {
  const std::filesystem::path cache = KB_TEST_CACHE_DIR;
  if (!python_lab_available()) {
    if (!labs_required()) GTEST_SKIP() << "python3.11 with venv is not installed";
    FAIL() << "python3.11 with venv is not installed";
  }
  auto installed = install_python_lab(KB_CLIENT_SCRIPTS_DIR, cache);
  ASSERT_EQ(installed.status, 0) << installed.output;
  const auto python = python_lab_interpreter(cache);
  const auto script =
      std::filesystem::path(KB_CLIENT_SCRIPTS_DIR) / "python" / "consumer_protocol_lab.py";
  RestartableBroker broker;
  const std::filesystem::path dir = make_temp_dir("kb-python-kip848-");
  const std::string topic = "kip848-confluent";
  const std::string group = "kip848-confluent";
  DriverRun run = run_python_driver(python, script, {"members", broker.bootstrap(), topic, group},
                                    dir / "members.err", 240);
  EXPECT_TRUE(printed(run.exit_code, run.out, run.err,
                      {"two members: 2 2", "after one left: 4", "consumed 40 of 40",
                       "committed offsets summing to 40"}));
  broker.restart();
  run = run_python_driver(python, script, {"resume", broker.bootstrap(), topic, group},
                          dir / "resume.err", 120);
  EXPECT_TRUE(printed(run.exit_code, run.out, run.err, {"resumed with: w0 w1 w2 w3"}));
  if (HasFailure()) std::cerr << "broker log:\n" << broker.process().log() << "\n";
  std::filesystem::remove_all(dir);
}

// librdkafka's classic consumer and its consumer-protocol one in one group:
// the group moves to the consumer protocol in place when the second joins.
TEST(ConsumerProtocolPython, ConfluentKafkaClassicAndConsumerMembersInOneGroup) {
  const std::filesystem::path cache = KB_TEST_CACHE_DIR;
  if (!python_lab_available()) {
    if (!labs_required()) GTEST_SKIP() << "python3.11 with venv is not installed";
    FAIL() << "python3.11 with venv is not installed";
  }
  auto installed = install_python_lab(KB_CLIENT_SCRIPTS_DIR, cache);
  ASSERT_EQ(installed.status, 0) << installed.output;
  const auto python = python_lab_interpreter(cache);
  const auto script =
      std::filesystem::path(KB_CLIENT_SCRIPTS_DIR) / "python" / "consumer_protocol_lab.py";
  RestartableBroker broker;
  const std::filesystem::path dir = make_temp_dir("kb-python-mixed-");
  const std::string name = "kip848-confluent-mixed";
  DriverRun run = run_python_driver(python, script, {"mixed", broker.bootstrap(), name, name},
                                    dir / "mixed.err", 240);
  EXPECT_TRUE(printed(
      run.exit_code, run.out, run.err,
      {"classic alone: 4", "mixed: 2 2", "after the classic one left: 4", "consumed 40 of 40"}));
  if (HasFailure()) std::cerr << "broker log:\n" << broker.process().log() << "\n";
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kb::testing
