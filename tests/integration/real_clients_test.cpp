// Real Kafka clients against the broker binary: kcat (librdkafka) and
// kafka-python, both from Debian (scripts/install-deps.sh installs them).

#include <gtest/gtest.h>

#include <string>

#include "support/broker_process.hpp"
#include "support/shell_command.hpp"

namespace kb::testing {
namespace {

TEST(RealClients, KcatProducesListsAndConsumes) {
  if (!command_succeeds("command -v kcat"))
    GTEST_SKIP() << "kcat is not installed (scripts/install-deps.sh test)";
  BrokerProcess broker;
  const std::string bootstrap = "127.0.0.1:" + std::to_string(broker.port());
  auto produced =
      run_command("printf 'one\\ntwo\\nthree\\n' | kcat -b " + bootstrap + " -P -t kcat-topic");
  ASSERT_EQ(produced.status, 0) << produced.output;
  auto listed = run_command("kcat -b " + bootstrap + " -L -t kcat-topic");
  EXPECT_NE(listed.output.find("topic \"kcat-topic\" with 1 partitions"), std::string::npos)
      << listed.output;
  auto consumed = run_command("kcat -b " + bootstrap + " -C -t kcat-topic -o beginning -e -q");
  ASSERT_EQ(consumed.status, 0) << consumed.output;
  EXPECT_EQ(consumed.output, "one\ntwo\nthree\n");
  // From the end: nothing; from offset 1: the last two.
  auto tail = run_command("kcat -b " + bootstrap + " -C -t kcat-topic -o 1 -e -q");
  EXPECT_EQ(tail.output, "two\nthree\n");
}

TEST(RealClients, KcatKeyedMessagesWithHeadersComeBackInOrder) {
  if (!command_succeeds("command -v kcat")) GTEST_SKIP() << "kcat is not installed";
  BrokerProcess broker(std::map<std::string, std::string>{{"num.partitions", "3"}});
  const std::string bootstrap = "127.0.0.1:" + std::to_string(broker.port());
  auto dir = make_temp_dir("kb-kcat-");
  std::string input;
  std::string expected;
  for (int i = 0; i < 1000; ++i) {
    input += "key" + std::to_string(i) + ":value" + std::to_string(i) + "\n";
    expected += "key" + std::to_string(i) + "|value" + std::to_string(i) + "|origin=test,n=1\n";
  }
  write_text_file(dir / "input.txt", input);
  // Partition 0 explicitly: order is per partition.
  auto produced =
      run_command("kcat -b " + bootstrap + " -P -t keyed -p 0 -K: -H origin=test -H n=1 < " +
                  (dir / "input.txt").string());
  ASSERT_EQ(produced.status, 0) << produced.output;
  auto other = run_command("echo x | kcat -b " + bootstrap + " -P -t other-topic");
  ASSERT_EQ(other.status, 0) << other.output;

  // -L lists every topic with every partition.
  auto listed = run_command("kcat -b " + bootstrap + " -L");
  ASSERT_EQ(listed.status, 0) << listed.output;
  for (const char* topic : {"keyed", "other-topic"}) {
    EXPECT_NE(listed.output.find("topic \"" + std::string(topic) + "\" with 3 partitions"),
              std::string::npos)
        << listed.output;
  }
  for (int p = 0; p < 3; ++p)
    EXPECT_NE(listed.output.find("partition " + std::to_string(p) + ", leader 1"),
              std::string::npos)
        << listed.output;

  const std::string consume =
      "kcat -b " + bootstrap + " -C -t keyed -p 0 -e -q -f '%k|%s|%h\\n' -o ";
  auto all = run_command(consume + "beginning");
  ASSERT_EQ(all.status, 0) << all.output;
  EXPECT_EQ(all.output, expected);
  auto last_ten = run_command(consume + "-10");
  ASSERT_EQ(last_ten.status, 0) << last_ten.output;
  EXPECT_EQ(last_ten.output, expected.substr(expected.find("key990|")));
  std::filesystem::remove_all(dir);
}

TEST(RealClients, KcatDataSurvivesRestart) {
  if (!command_succeeds("command -v kcat")) GTEST_SKIP() << "kcat is not installed";
  auto dir = make_temp_dir("kb-restart-");
  {
    BrokerProcess broker({}, dir / "data");
    auto produced =
        run_command("printf 'a\\nb\\n' | kcat -b 127.0.0.1:" + std::to_string(broker.port()) +
                    " -P -t durable");
    ASSERT_EQ(produced.status, 0) << produced.output;
    EXPECT_EQ(broker.stop().code, 0);
  }
  {
    BrokerProcess broker({}, dir / "data");
    auto consumed = run_command("kcat -b 127.0.0.1:" + std::to_string(broker.port()) +
                                " -C -t durable -o beginning -e -q");
    EXPECT_EQ(consumed.output, "a\nb\n");
  }
  std::filesystem::remove_all(dir);
}

TEST(RealClients, KafkaPythonProducesAndConsumes) {
  if (!command_succeeds("/usr/bin/python3 -c 'import kafka'"))
    GTEST_SKIP() << "python3-kafka is not installed (scripts/install-deps.sh test)";
  BrokerProcess broker;
  const std::string script =
      "from kafka import KafkaProducer, KafkaConsumer, TopicPartition\n"
      "import sys\n"
      "b = sys.argv[1]\n"
      "p = KafkaProducer(bootstrap_servers=b)\n"
      "for i in range(5): p.send('py-topic', f'm{i}'.encode())\n"
      "p.flush(); p.close()\n"
      "c = KafkaConsumer(bootstrap_servers=b, consumer_timeout_ms=3000)\n"
      "tp = TopicPartition('py-topic', 0); c.assign([tp]); c.seek_to_beginning(tp)\n"
      "print(','.join(m.value.decode() for m in c))\n";
  auto dir = make_temp_dir("kb-py-");
  write_text_file(dir / "client.py", script);
  auto r = run_command("/usr/bin/python3 " + (dir / "client.py").string() +
                       " 127.0.0.1:" + std::to_string(broker.port()));
  std::filesystem::remove_all(dir);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("m0,m1,m2,m3,m4"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace kb::testing
