// Real Kafka clients against the broker binary: kcat (librdkafka) and
// kafka-python, both from Debian (scripts/install-deps.sh installs them).

#include <gtest/gtest.h>

#include <string>

#include "support/broker_process.hpp"
#include "support/run_command.hpp"

namespace kb::testing {
namespace {

TEST(RealClients, KcatProducesListsAndConsumes) {
  if (!have("command -v kcat"))
    GTEST_SKIP() << "kcat is not installed (scripts/install-deps.sh test)";
  BrokerProcess broker;
  const std::string bootstrap = "127.0.0.1:" + std::to_string(broker.port());
  auto produced = run("printf 'one\\ntwo\\nthree\\n' | kcat -b " + bootstrap + " -P -t kcat-topic");
  ASSERT_EQ(produced.status, 0) << produced.output;
  auto listed = run("kcat -b " + bootstrap + " -L -t kcat-topic");
  EXPECT_NE(listed.output.find("topic \"kcat-topic\" with 1 partitions"), std::string::npos)
      << listed.output;
  auto consumed = run("kcat -b " + bootstrap + " -C -t kcat-topic -o beginning -e -q");
  ASSERT_EQ(consumed.status, 0) << consumed.output;
  EXPECT_EQ(consumed.output, "one\ntwo\nthree\n");
  // From the end: nothing; from offset 1: the last two.
  auto tail = run("kcat -b " + bootstrap + " -C -t kcat-topic -o 1 -e -q");
  EXPECT_EQ(tail.output, "two\nthree\n");
}

TEST(RealClients, KcatDataSurvivesRestart) {
  if (!have("command -v kcat")) GTEST_SKIP() << "kcat is not installed";
  auto dir = make_temp_dir("kb-restart-");
  {
    BrokerProcess broker({}, dir / "data");
    auto produced = run("printf 'a\\nb\\n' | kcat -b 127.0.0.1:" + std::to_string(broker.port()) +
                        " -P -t durable");
    ASSERT_EQ(produced.status, 0) << produced.output;
    EXPECT_EQ(broker.stop().code, 0);
  }
  {
    BrokerProcess broker({}, dir / "data");
    auto consumed = run("kcat -b 127.0.0.1:" + std::to_string(broker.port()) +
                        " -C -t durable -o beginning -e -q");
    EXPECT_EQ(consumed.output, "a\nb\n");
  }
  std::filesystem::remove_all(dir);
}

TEST(RealClients, KafkaPythonProducesAndConsumes) {
  if (!have("/usr/bin/python3 -c 'import kafka'"))
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
  {
    std::ofstream f(dir / "client.py");
    f << script;
  }
  auto r = run("/usr/bin/python3 " + (dir / "client.py").string() +
               " 127.0.0.1:" + std::to_string(broker.port()));
  std::filesystem::remove_all(dir);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("m0,m1,m2,m3,m4"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace kb::testing
