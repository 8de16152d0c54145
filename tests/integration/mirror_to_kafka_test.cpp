// Moving off this broker live: MirrorMaker 2 (connect-mirror 4.2.0 from the
// Java lab, dedicated mode) mirrors a topic and a consumer group's committed
// offsets from this broker into Apache Kafka 4.4 (freshly formatted, one node)
// while producers write and the group consumes; the group then moves to Kafka
// (a consumer with the same group id started there) and resumes at the offset
// MirrorMaker translated. The mm2.properties is the README's ("When one
// machine is not enough") with shorter intervals.

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/apache_kafka.hpp"
#include "support/broker_process.hpp"
#include "support/java_lab.hpp"
#include "support/mirror_maker.hpp"

namespace kb::testing {
namespace {

const std::string kTopic = "orders";
const std::string kGroup = "billing";
constexpr int kPartitions = 3;
// MirrorMaker emits an offset sync at least every this many records of a
// partition (and at each of its offset commits, here every second).
constexpr int kOffsetLagMax = 10;
// Records a producer writes at a time.
constexpr int kRoundSize = 30;

// partition -> offset (a group's committed offsets, or end offsets).
using Offsets = std::map<int, int64_t>;

// A record as the console consumer prints it with every print.* property:
// "CreateTime:<t>\tPartition:<p>\tOffset:<o>\t<headers>\t<key>\t<value>".
struct Printed {
  int partition = -1;
  int64_t offset = -1;
  std::string line;
};

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(text);
  while (std::getline(in, part, separator)) parts.push_back(part);
  return parts;
}

// Each partition's records in the order printed; a line that is not a record
// fails the test.
std::map<int, std::vector<Printed>> records_of(const ToolRun& run) {
  std::map<int, std::vector<Printed>> out;
  for (const auto& line : lines_of(run.out)) {
    auto fields = split(line, '\t');
    if (fields.size() != 6 || fields[1].rfind("Partition:", 0) != 0 ||
        fields[2].rfind("Offset:", 0) != 0) {
      ADD_FAILURE() << "not a record: " << line;
      continue;
    }
    Printed p;
    p.partition = std::stoi(fields[1].substr(10));
    p.offset = std::stoll(fields[2].substr(7));
    p.line = line;
    out[p.partition].push_back(p);
  }
  return out;
}

class MirrorToKafkaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cache_ = KB_TEST_CACHE_DIR;
    const JavaLabSetup lab = set_up_java_lab(KB_CLIENT_SCRIPTS_DIR, cache_);
    if (lab.skip) GTEST_SKIP() << lab.problem;
    ASSERT_EQ(lab.problem, "");
    dir_ = make_temp_dir("kb-mirror-to-kafka-");
    shell_ = std::make_unique<JavaShell>(java_lab_classpath(cache_, "4"), dir_ / "tools.log");
  }

  void TearDown() override {
    if (HasFailure()) {
      if (mirror_maker_) std::cerr << "MirrorMaker log (tail):\n" << tail(mirror_maker_->log());
      if (kafka_) std::cerr << "Kafka log (tail):\n" << tail(kafka_->log());
      if (broker_) std::cerr << "broker log (tail):\n" << tail(broker_->log());
      if (shell_) std::cerr << "tools log (tail):\n" << tail(shell_->log());
    }
    mirror_maker_.reset();
    shell_.reset();
    kafka_.reset();
    broker_.reset();
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }

  static std::string tail(const std::string& text, size_t bytes = 20000) {
    return text.size() <= bytes ? text : text.substr(text.size() - bytes);
  }

  std::string ours() const { return "127.0.0.1:" + std::to_string(broker_->port()); }

  ToolRun tool(const std::string& main_class, const std::string& bootstrap,
               std::vector<std::string> args, const std::string& input = "") {
    args.insert(args.begin(), {"--bootstrap-server", bootstrap});
    return shell_->run(main_class, args, input);
  }

  // `count` records with keys k<first>..., values v<round>-<i> and two
  // headers, by one console producer (the default partitioner spreads them).
  void produce(int round, int first, int count) {
    std::string lines;
    for (int i = first; i < first + count; ++i) {
      const std::string n = std::to_string(i);
      lines += "round:" + std::to_string(round) + ",seq:" + n + "\tk" + n + "\tv" +
               std::to_string(round) + "-" + n + "\n";
    }
    auto run = tool(kConsoleProducer, ours(),
                    {"--topic", kTopic, "--reader-property", "parse.key=true", "--reader-property",
                     "parse.headers=true"},
                    lines);
    ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  }

  // The group reads `count` records one poll each and commits them as it
  // closes, so it commits exactly what it read.
  void consume_in_group(const std::string& bootstrap, int count) {
    auto run = tool(kConsoleConsumer, bootstrap,
                    {"--topic", kTopic, "--group", kGroup, "--from-beginning", "--max-messages",
                     std::to_string(count), "--command-property", "max.poll.records=1",
                     "--timeout-ms", "20000"});
    ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
    EXPECT_NE(run.err.find("Processed a total of " + std::to_string(count) + " messages"),
              std::string::npos)
        << run.err;
  }

  static std::vector<std::string> print_everything() {
    return {"--formatter-property", "print.timestamp=true", "--formatter-property",
            "print.partition=true", "--formatter-property", "print.offset=true",
            "--formatter-property", "print.headers=true",   "--formatter-property",
            "print.key=true"};
  }

  // Every record of the topic on one cluster (no group: assignment from the
  // start), `count` of them.
  std::map<int, std::vector<Printed>> read_all(const std::string& bootstrap, int64_t count) {
    std::vector<std::string> args = {
        "--topic",      kTopic, "--from-beginning", "--max-messages", std::to_string(count),
        "--timeout-ms", "20000"};
    auto print = print_everything();
    args.insert(args.end(), print.begin(), print.end());
    auto run = tool(kConsoleConsumer, bootstrap, args);
    EXPECT_EQ(run.exit_code, 0) << run.err;
    return records_of(run);
  }

  Offsets end_offsets(const std::string& bootstrap) {
    Offsets out;
    auto run = tool(kGetOffsetShell, bootstrap, {"--topic", kTopic});
    for (const auto& line : lines_of(run.out)) {
      auto fields = split(line, ':');
      if (fields.size() == 3 && fields[0] == kTopic)
        out[std::stoi(fields[1])] = std::stoll(fields[2]);
    }
    return out;
  }

  // The group's committed offsets, from kafka-consumer-groups --describe
  // (a partition without one shows "-" and is left out).
  Offsets committed(const std::string& bootstrap) {
    Offsets out;
    auto run = tool(kConsumerGroupCommand, bootstrap, {"--describe", "--group", kGroup});
    last_describe_ = run.out + run.err;
    for (const auto& line : lines_of(run.out)) {
      std::istringstream in(line);
      std::string group, topic, partition, offset;
      in >> group >> topic >> partition >> offset;
      if (group == kGroup && topic == kTopic && !offset.empty() && offset != "-")
        out[std::stoi(partition)] = std::stoll(offset);
    }
    return out;
  }

  // Whether the group's offsets on `bootstrap` cover every partition and stay
  // the same for three polls a second apart, within a minute.
  bool stable_offsets_on(const std::string& bootstrap) {
    Offsets last;
    int unchanged = 0;
    return eventually(
        [&] {
          Offsets now = committed(bootstrap);
          const bool whole = now.size() == static_cast<size_t>(kPartitions);
          unchanged = whole && now == last ? unchanged + 1 : 0;
          last = now;
          return unchanged >= 3;
        },
        std::chrono::seconds(60));
  }

  static int64_t total(const Offsets& offsets) {
    int64_t sum = 0;
    for (const auto& [p, o] : offsets) sum += o;
    return sum;
  }

  // Polls `probe` once a second until it returns true or `bound` passes.
  template <class Probe>
  static bool eventually(Probe probe, std::chrono::seconds bound) {
    const auto deadline = std::chrono::steady_clock::now() + bound;
    while (true) {
      if (probe()) return true;
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
  }

  std::filesystem::path cache_;
  std::filesystem::path dir_;
  std::unique_ptr<BrokerProcess> broker_;
  std::unique_ptr<ApacheKafkaProcess> kafka_;
  std::unique_ptr<JavaShell> shell_;
  std::unique_ptr<MirrorMakerProcess> mirror_maker_;
  std::string last_describe_;  // what kafka-consumer-groups --describe printed last
};

TEST_F(MirrorToKafkaTest, GroupMovedToKafkaResumesAtTheTranslatedOffset) {
  broker_ = std::make_unique<BrokerProcess>(
      std::map<std::string, std::string>{{"group.initial.rebalance.delay.ms", "0"}});
  const std::string server_classpath = java_lab_classpath(cache_, "server");
  const auto kafka_dir = dir_ / "kafka-logs";
  auto formatted =
      ApacheKafkaProcess::format(server_classpath, kafka_dir, "MkU3OEVBNTcwNTJENDM2Qg");
  ASSERT_EQ(formatted.status, 0) << formatted.output;
  ApacheKafkaProcess::Options kafka_options;
  kafka_options.log_dir = kafka_dir;
  kafka_ = std::make_unique<ApacheKafkaProcess>(server_classpath, kafka_options);
  const std::string kafka = kafka_->bootstrap();

  auto created = tool(kTopicCommand, ours(),
                      {"--create", "--topic", kTopic, "--partitions", std::to_string(kPartitions),
                       "--config", "retention.ms=86400000"});
  ASSERT_EQ(created.exit_code, 0) << created.out << created.err;

  // The README's mm2.properties for a Kafka of one node, with intervals of a second.
  const std::string properties =
      "clusters=source, target\n"
      "source.bootstrap.servers=" +
      ours() +
      "\n"
      "target.bootstrap.servers=" +
      kafka +
      "\n"
      "source->target.enabled=true\n"
      "source->target.topics=.*\n"
      "source->target.groups=.*\n"
      "replication.policy.class=org.apache.kafka.connect.mirror.IdentityReplicationPolicy\n"
      "sync.group.offsets.enabled=true\n"
      "replication.factor=1\n"
      "offset-syncs.topic.replication.factor=1\n"
      "checkpoints.topic.replication.factor=1\n"
      "heartbeats.topic.replication.factor=1\n"
      "offset.storage.replication.factor=1\n"
      "status.storage.replication.factor=1\n"
      "config.storage.replication.factor=1\n"
      "offset.lag.max=" +
      std::to_string(kOffsetLagMax) +
      "\n"
      "emit.checkpoints.interval.seconds=1\n"
      "sync.group.offsets.interval.seconds=1\n"
      "refresh.topics.interval.seconds=2\n"
      "refresh.groups.interval.seconds=2\n"
      "emit.heartbeats.interval.seconds=1\n"
      "target.offset.flush.interval.ms=1000\n";
  // The group exists and is caught up before MirrorMaker starts: its offsets
  // reach Kafka as they are (the last record MirrorMaker copies of each
  // partition is an offset sync), which shows the checkpoints flow.
  int64_t produced = 0;
  int round = 0;
  auto produce_round = [&] {
    ++round;
    produce(round, static_cast<int>(produced), kRoundSize);
    produced += kRoundSize;
  };
  ASSERT_NO_FATAL_FAILURE(produce_round());
  ASSERT_NO_FATAL_FAILURE(consume_in_group(ours(), kRoundSize));
  const Offsets caught_up = committed(ours());
  ASSERT_EQ(caught_up, end_offsets(ours()));
  mirror_maker_ = std::make_unique<MirrorMakerProcess>(java_lab_classpath(cache_, "mirror"),
                                                       properties, "target");
  ASSERT_TRUE(eventually([&] { return committed(kafka) == caught_up; }, std::chrono::seconds(150)))
      << "the group's offsets never reached Kafka; there: " << last_describe_;

  // Producers write on while the group reads, a few records behind, and
  // commits; then the group stops on this broker and producers go on.
  int64_t read = kRoundSize;
  for (int i = 0; i < 4; ++i) {
    ASSERT_NO_FATAL_FAILURE(produce_round());
    ASSERT_NO_FATAL_FAILURE(consume_in_group(ours(), kRoundSize - 3));
    read += kRoundSize - 3;
  }
  const Offsets stopped_at = committed(ours());
  ASSERT_EQ(stopped_at.size(), static_cast<size_t>(kPartitions));
  ASSERT_EQ(total(stopped_at), read) << "the group committed what it read";

  // MirrorMaker catches up, translates the offsets the group stopped at and
  // commits them to the group on Kafka (which has no members there); once
  // they have stayed the same for three seconds, producers go on. Later
  // offset syncs may still move them forward, never past where the group
  // stopped.
  const Offsets before_the_move = end_offsets(ours());
  ASSERT_TRUE(
      eventually([&] { return end_offsets(kafka) == before_the_move; }, std::chrono::seconds(120)))
      << "Kafka's end offsets never reached this broker's";
  ASSERT_TRUE(stable_offsets_on(kafka)) << "no translated offsets for every partition on Kafka; "
                                           "the last describe:\n"
                                        << last_describe_;
  for (int i = 0; i < 2; ++i) ASSERT_NO_FATAL_FAILURE(produce_round());
  const Offsets source_end = end_offsets(ours());
  ASSERT_EQ(source_end.size(), static_cast<size_t>(kPartitions));
  ASSERT_EQ(total(source_end), produced);

  // MirrorMaker catches up: Kafka's partitions end where ours do.
  ASSERT_TRUE(
      eventually([&] { return end_offsets(kafka) == source_end; }, std::chrono::seconds(120)))
      << "Kafka's end offsets never reached this broker's";
  ASSERT_TRUE(mirror_maker_->alive());

  const Offsets translated = committed(kafka);
  int64_t reread = 0;
  for (const auto& [p, upstream] : stopped_at) {
    ASSERT_TRUE(translated.count(p)) << "partition " << p;
    // No record lost: the move never starts after where the group stopped.
    EXPECT_LE(translated.at(p), upstream) << "partition " << p;
    // MirrorMaker translates to just past the newest offset sync at or
    // before the committed offset; while it keeps up, a sync is written at
    // least every offset.lag.max + 1 records.
    EXPECT_LE(upstream - translated.at(p), kOffsetLagMax) << "partition " << p;
    reread += upstream - translated.at(p);
  }
  std::cout << "[ figures ] committed on this broker (p:offset):";
  for (const auto& [p, o] : stopped_at) std::cout << " " << p << ":" << o;
  std::cout << "; translated on Kafka:";
  for (const auto& [p, o] : translated) std::cout << " " << p << ":" << o;
  std::cout << "; records the moved group reads again: " << reread << "\n";

  // Every record arrived on Kafka at its offset, in order, with its
  // timestamp, headers, key and value.
  auto on_ours = read_all(ours(), total(source_end));
  auto on_kafka = read_all(kafka, total(source_end));
  for (int p = 0; p < kPartitions; ++p) {
    ASSERT_EQ(on_ours[p].size(), static_cast<size_t>(source_end.at(p))) << "partition " << p;
    ASSERT_EQ(on_kafka[p].size(), on_ours[p].size()) << "partition " << p;
    for (size_t i = 0; i < on_ours[p].size(); ++i) {
      ASSERT_EQ(on_ours[p][i].offset, static_cast<int64_t>(i));
      ASSERT_EQ(on_kafka[p][i].line, on_ours[p][i].line) << "partition " << p;
    }
  }

  // The group moves: a member on Kafka with the same group id (and no reset
  // policy, so a missing offset would fail it) resumes at the translated
  // offsets and reads to the end.
  const int64_t remaining = total(source_end) - total(translated);
  std::vector<std::string> args = {"--topic",
                                   kTopic,
                                   "--group",
                                   kGroup,
                                   "--max-messages",
                                   std::to_string(remaining),
                                   "--timeout-ms",
                                   "20000",
                                   "--command-property",
                                   "auto.offset.reset=none"};
  auto print = print_everything();
  args.insert(args.end(), print.begin(), print.end());
  auto resumed_run = tool(kConsoleConsumer, kafka, args);
  ASSERT_EQ(resumed_run.exit_code, 0) << resumed_run.err;
  auto resumed = records_of(resumed_run);
  for (int p = 0; p < kPartitions; ++p) {
    const auto first = static_cast<size_t>(translated.at(p));
    ASSERT_EQ(resumed[p].size(), on_ours[p].size() - first) << "partition " << p;
    for (size_t i = 0; i < resumed[p].size(); ++i)
      ASSERT_EQ(resumed[p][i].line, on_ours[p][first + i].line) << "partition " << p;
  }
  // Its commit at close is on Kafka (the group's describe may lag a moment
  // behind it on a busy machine).
  EXPECT_TRUE(eventually([&] { return committed(kafka) == source_end; }, std::chrono::seconds(20)))
      << "the moved group commits on Kafka:\n"
      << last_describe_;

  // The topic's own config came along; MirrorMaker's offset syncs live on
  // this broker in a compacted topic; this broker's answer to DescribeAcls
  // (SECURITY_DISABLED, as Kafka's without an authorizer) is taken as "no
  // ACLs to mirror", not as a failed ACL sync.
  auto described = tool(kTopicCommand, kafka, {"--describe", "--topic", kTopic});
  EXPECT_NE(described.out.find("retention.ms=86400000"), std::string::npos) << described.out;
  auto syncs =
      tool(kTopicCommand, ours(), {"--describe", "--topic", "mm2-offset-syncs.target.internal"});
  EXPECT_NE(syncs.out.find("PartitionCount: 1"), std::string::npos) << syncs.out << syncs.err;
  EXPECT_NE(syncs.out.find("cleanup.policy=compact"), std::string::npos) << syncs.out;
  const std::string log = mirror_maker_->log();
  EXPECT_NE(log.find("No ACL authorizer is configured on the source Kafka cluster"),
            std::string::npos);
  EXPECT_EQ(log.find("caught exception in scheduled task"), std::string::npos);
  EXPECT_TRUE(mirror_maker_->stop()) << "MirrorMaker did not stop on SIGTERM";
  EXPECT_TRUE(broker_->alive());
}

}  // namespace
}  // namespace kb::testing
