// The Go clients against the broker: franz-go (kgo, and kadm for admin; it
// speaks the newest version of every API the broker advertises) and Sarama
// (request versions chosen by its config.Version, here Kafka 4.0), at the
// versions pinned in clients/go/go.mod, built into one driver (kblab) in the
// client cache once. One broker serves the suite; each test runs the driver
// once per scenario and compares every line it prints with what Apache Kafka
// makes a client see, written out below. Groups use the classic protocol, and
// KIP-848's where the client has it.

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kb/storage/record_batch.hpp"
#include "support/broker_process.hpp"
#include "support/go_lab.hpp"
#include "support/shell_command.hpp"

namespace kb::testing {
namespace {

const std::vector<std::string> kCodecs = {"none", "gzip", "snappy", "lz4", "zstd"};
const std::vector<storage::Compression> kCompressions = {
    storage::Compression::none, storage::Compression::gzip, storage::Compression::snappy,
    storage::Compression::lz4, storage::Compression::zstd};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

// The driver exited 0 and printed exactly these lines (stdout and stderr).
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

std::string join(const std::vector<int64_t>& xs) {
  std::string out;
  for (auto x : xs) out += (out.empty() ? "" : " ") + std::to_string(x);
  return out;
}

std::vector<int64_t> range(int64_t from, int64_t count) {
  std::vector<int64_t> out;
  for (int64_t i = 0; i < count; ++i) out.push_back(from + i);
  return out;
}

// The six records the produce scenario sends per codec, as the driver prints
// them read back from partition 0: four with key, value and two headers, one
// null value, one null key.
std::vector<std::string> codec_records(const std::string& codec, int64_t first) {
  std::vector<std::string> out;
  const std::string pad(64, 'x');
  for (int i = 0; i < 4; ++i)
    out.push_back("0:" + std::to_string(first + i) + " key=" + codec + "-k" + std::to_string(i) +
                  " value=" + codec + "-v" + std::to_string(i) + "-" + pad + " codec=" + codec +
                  " index=" + std::to_string(i));
  out.push_back("0:" + std::to_string(first + 4) + " key=" + codec + "-k4 value=null");
  out.push_back("0:" + std::to_string(first + 5) + " key=null value=" + codec + "-no-key");
  return out;
}

std::vector<std::string> all_codec_records() {
  std::vector<std::string> out;
  int64_t offset = 0;
  for (const auto& c : kCodecs) {
    auto rs = codec_records(c, offset);
    out.insert(out.end(), rs.begin(), rs.end());
    offset += 6;
  }
  return out;
}

// The batches of partition 0's first segment, as written.
std::vector<storage::RecordBatchView> batches_on_disk(const std::filesystem::path& log_dir,
                                                      const std::string& topic,
                                                      std::string& bytes) {
  bytes = read_file(log_dir / (topic + "-0") / "00000000000000000000.log");
  storage::Bytes rest(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  std::vector<storage::RecordBatchView> out;
  while (!rest.empty()) {
    auto batch = storage::RecordBatchView::parse(rest);
    if (!batch) break;
    out.push_back(*batch);
    rest = rest.subspan(batch->size_in_bytes());
  }
  return out;
}

// The module versions go.mod pins ("github.com/IBM/sarama v1.62.0" lines).
std::string pinned_version(const std::filesystem::path& go_mod, const std::string& module) {
  std::ifstream in(go_mod);
  for (std::string line; std::getline(in, line);) {
    auto at = line.find(module + " v");
    if (at != std::string::npos && (at == 0 || line[at - 1] == '\t'))
      return line.substr(at + module.size() + 1, line.find_first_of(" \t", at + module.size() + 1) -
                                                     (at + module.size() + 1));
  }
  return {};
}

class GoClientsTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {
    scripts_ = KB_CLIENT_SCRIPTS_DIR;
    const std::filesystem::path cache = KB_TEST_CACHE_DIR;
    auto missing = go_lab_missing(scripts_);
    if (!missing.empty()) {
      (labs_required() ? setup_error_ : skip_reason_) =
          missing + " (the Go lab builds franz-go and Sarama with it)";
      return;
    }
    auto installed = install_go_lab(scripts_, cache);
    if (installed.status != 0) {
      setup_error_ = "building the Go lab failed:\n" + installed.output;
      return;
    }
    driver_ = go_lab_driver(cache);
    dir_ = make_temp_dir("kb-go-lab-");
    broker_ = std::make_unique<BrokerProcess>(config(), dir_ / "data");
  }

  static void TearDownTestSuite() {
    broker_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  void SetUp() override {
    if (!skip_reason_.empty()) GTEST_SKIP() << skip_reason_;
    ASSERT_TRUE(setup_error_.empty()) << setup_error_;
    ASSERT_TRUE(broker_->alive()) << broker_->log();
  }

  void TearDown() override {
    if (HasFailure() && broker_) std::cerr << "broker log:\n" << broker_->log() << "\n";
  }

  static std::map<std::string, std::string> config() {
    // Heartbeats of KIP-848's protocol every second (Kafka's default is 5 s):
    // a reconciliation takes several.
    return {{"group.initial.rebalance.delay.ms", "0"},
            {"group.consumer.heartbeat.interval.ms", "1000"},
            {"group.consumer.min.heartbeat.interval.ms", "1000"},
            {"num.partitions", "1"}};
  }

  static std::string bootstrap() { return "127.0.0.1:" + std::to_string(broker_->port()); }

  // kblab <this test's client> <scenario> <bootstrap> <args...>
  static CommandResult drive(const std::string& scenario, const std::vector<std::string>& args) {
    std::string command = quoted(driver_) + " " + GetParam() + " " + scenario;
    if (scenario != "version") command += " " + bootstrap();
    for (const auto& a : args) command += " '" + a + "'";
    return run_command(command, 90);
  }

  static void create_topic(const std::string& topic, int partitions) {
    auto run = drive("create", {topic, std::to_string(partitions)});
    ASSERT_EQ(run.status, 0) << run.output;
  }

  static std::string name(const std::string& what) { return "go-" + GetParam() + "-" + what; }

  static inline std::filesystem::path scripts_;
  static inline std::filesystem::path driver_;
  static inline std::filesystem::path dir_;
  static inline std::unique_ptr<BrokerProcess> broker_;
  static inline std::string skip_reason_;
  static inline std::string setup_error_;
};

// The driver was built from the pinned modules.
TEST_P(GoClientsTest, PinnedVersion) {
  const auto go_mod = scripts_ / "go" / "go.mod";
  std::string expected;
  if (GetParam() == "franz") {
    expected = pinned_version(go_mod, "github.com/twmb/franz-go") + " " +
               pinned_version(go_mod, "github.com/twmb/franz-go/pkg/kadm");
  } else {
    expected = pinned_version(go_mod, "github.com/IBM/sarama");
  }
  ASSERT_GT(expected.size(), 4U);
  EXPECT_TRUE(printed(drive("version", {}), {expected}));
}

// acks 0, 1 and all (idempotent), every codec, keys, headers, null values and
// keys: read back by assignment as sent, and on disk one batch per codec,
// compressed with it, with a producer id and sequence 0 where idempotent.
TEST_P(GoClientsTest, ProduceWithEachAcksAndCodecAndReadBack) {
  for (const std::string acks : {"0", "1", "all"}) {
    SCOPED_TRACE("acks=" + acks);
    const std::string topic = name("acks-" + acks);
    create_topic(topic, 1);
    std::vector<std::string> produced;
    int64_t offset = 0;
    for (const auto& c : kCodecs) {
      // acks=0 has no answer, so no offsets.
      produced.push_back("produced " + c + (acks == "0" ? "" : " " + join(range(offset, 6))));
      offset += 6;
    }
    EXPECT_TRUE(printed(drive("produce", {topic, acks}), produced));

    auto read = all_codec_records();
    read.push_back("read 30");
    EXPECT_TRUE(printed(drive("read", {topic, "30"}), read));

    std::string bytes;
    auto batches = batches_on_disk(broker_->log_dir(), topic, bytes);
    std::vector<storage::Compression> seen;
    for (const auto& batch : batches) {
      seen.push_back(batch.compression());
      EXPECT_EQ(batch.record_count(), 6);
      if (acks == "all") {
        EXPECT_GE(batch.producer_id(), 0);
        EXPECT_EQ(batch.base_sequence(), 0);
      } else {
        EXPECT_EQ(batch.producer_id(), -1);
      }
    }
    EXPECT_EQ(seen, kCompressions);
  }
}

// Three members share six partitions (each owned by exactly one member,
// never by two at once); one leaves, the other two take its partitions over;
// every record is read, and the offsets committed are the partitions' ends.
TEST_P(GoClientsTest, GroupOfThreeRebalancesWhenOneLeaves) {
  const std::string topic = name("group");
  create_topic(topic, 6);
  EXPECT_TRUE(printed(drive("group", {topic, name("group-g"), "6"}),
                      {"owners 3: 2 2 2", "read 60", "owners 2: 3 3", "read 120",
                       "committed 0:20 1:20 2:20 3:20 4:20 5:20", "overlaps 0"}));
}

// The same with KIP-848's consumer group protocol (franz-go's
// ServerSideBalancer): the broker's assignor spreads the six partitions 2/2/2,
// then 3/3, each partition owned by one member at a time.
TEST_P(GoClientsTest, ConsumerProtocolGroupOfThreeRebalancesWhenOneLeaves) {
  if (GetParam() != "franz") GTEST_SKIP() << "Sarama's groups speak the classic protocol only";
  const std::string topic = name("group848");
  create_topic(topic, 6);
  EXPECT_TRUE(printed(drive("group", {topic, name("group848-g"), "6", "consumer"}),
                      {"owners 3: 2 2 2", "read 60", "owners 2: 3 3", "read 120",
                       "committed 0:20 1:20 2:20 3:20 4:20 5:20", "overlaps 0"}));
}

// A group member reads ten records and commits; the broker restarts on the
// same log directory; the next member resumes at the committed offset.
TEST_P(GoClientsTest, CommitRestartAndResume) {
  const std::string topic = name("resume");
  const std::string group = name("resume-g");
  create_topic(topic, 1);
  ASSERT_EQ(drive("produce", {topic, "all"}).status, 0);
  const auto records = all_codec_records();

  std::vector<std::string> first(records.begin(), records.begin() + 10);
  first.push_back("committed 0:10");
  ASSERT_TRUE(printed(drive("commit", {topic, group, "10"}), first));

  const auto log_dir = broker_->log_dir();
  ASSERT_EQ(broker_->stop().code, 0) << broker_->log();
  broker_ = std::make_unique<BrokerProcess>(config(), log_dir);

  std::vector<std::string> second(records.begin() + 10, records.end());
  second.push_back("committed 0:30");
  EXPECT_TRUE(printed(drive("commit", {topic, group, "20"}), second));
}

// Twenty records stamped base+i*1000 in one batch of each codec: ListOffsets
// by time answers the first record at or after the time, with its timestamp,
// and -1 after the last one (Kafka's answers); the client's own offsets-by-time
// call and a consumer started from a time agree.
TEST_P(GoClientsTest, OffsetsByTimeInEveryCodec) {
  const int64_t base = 1'700'000'000'000;
  for (size_t c = 0; c < kCodecs.size(); ++c) {
    const auto& codec = kCodecs[c];
    SCOPED_TRACE(codec);
    const std::string topic = name("times-" + codec);
    create_topic(topic, 1);
    std::vector<std::string> expected = {"produced " + join(range(0, 20))};
    const std::vector<std::string> found = {"offset 0 timestamp +0", "offset 1 timestamp +1000",
                                            "offset 5 timestamp +5000",
                                            "offset 19 timestamp +19000", "offset -1 timestamp -1"};
    const std::vector<std::string> asked = {"+0", "+500", "+5000", "+19000", "+19001"};
    for (size_t i = 0; i < asked.size(); ++i)
      expected.push_back("at " + asked[i] + ": " + found[i]);
    if (GetParam() == "franz") {
      // kadm answers the end offset where no record is that late.
      for (size_t i = 0; i < asked.size(); ++i)
        expected.push_back("kadm at " + asked[i] + ": " +
                           (i + 1 < asked.size() ? found[i] : "offset 20 timestamp -1"));
    } else {
      // Sarama's Client.GetOffset answers the offset alone.
      const std::vector<std::string> offsets = {"0", "1", "5", "19", "-1"};
      for (size_t i = 0; i < asked.size(); ++i)
        expected.push_back("client at " + asked[i] + ": offset " + offsets[i]);
    }
    expected.push_back("consume from +5000: offset 5 timestamp +5000");
    EXPECT_TRUE(printed(drive("times", {topic, codec, std::to_string(base)}), expected));

    std::string bytes;
    auto batches = batches_on_disk(broker_->log_dir(), topic, bytes);
    ASSERT_EQ(batches.size(), 1U);
    EXPECT_EQ(batches[0].compression(), kCompressions[c]);
    EXPECT_EQ(batches[0].record_count(), 20);
  }
}

// The admin client: create (with configs; an existing name refused with
// TOPIC_ALREADY_EXISTS 36), list, add partitions (a decrease refused with
// INVALID_PARTITIONS 37), IncrementalAlterConfigs (set and delete) and
// AlterConfigs (which replaces every dynamic config), DescribeConfigs with
// Kafka's sources, delete.
TEST_P(GoClientsTest, AdminClient) {
  const std::string prefix = name("admin");
  const std::string a = prefix + "-a";
  const std::string b = prefix + "-b";
  const bool franz = GetParam() == "franz";
  // kadm also shows the partitions CreateTopics answers.
  const std::string three = franz ? " partitions 3" : "";
  const std::string one = franz ? " partitions 1" : "";
  const std::string dyn = " DYNAMIC_TOPIC_CONFIG";
  const std::string def = " DEFAULT_CONFIG";
  EXPECT_TRUE(printed(drive("admin", {prefix}), {"create " + a + ": 0" + three,
                                                 "create " + b + ": 0" + one,
                                                 "create " + a + " again: 36",
                                                 "listed " + a + " 3",
                                                 "listed " + b + " 1",
                                                 "config " + a + " cleanup.policy=delete" + def,
                                                 "config " + a + " max.message.bytes=200000" + dyn,
                                                 "config " + a + " retention.ms=3600000" + dyn,
                                                 "config " + b + " cleanup.policy=compact" + dyn,
                                                 "config " + b + " max.message.bytes=1048588" + def,
                                                 "config " + b + " retention.ms=604800000" + def,
                                                 "partitions " + a + " to 5: 0",
                                                 "partitions " + a + " to 2: 37",
                                                 "listed " + a + " 5",
                                                 "listed " + b + " 1",
                                                 "incremental alter " + a + ": 0",
                                                 "alter " + b + ": 0",
                                                 "config " + a + " cleanup.policy=compact" + dyn,
                                                 "config " + a + " max.message.bytes=1048588" + def,
                                                 "config " + a + " retention.ms=7200000" + dyn,
                                                 "config " + b + " cleanup.policy=delete" + def,
                                                 "config " + b + " max.message.bytes=1048588" + def,
                                                 "config " + b + " retention.ms=1000000" + dyn,
                                                 "delete " + a + ": 0",
                                                 "delete " + b + ": 0",
                                                 "listed none"}));
}

// Consume-transform-produce in transactions (franz-go's GroupTransactSession;
// Sarama's transactional producer with AddOffsetsToTxn), one round in four
// aborted after its outputs reached the log: read_committed sees every
// input's output once, read_uncommitted the aborted ones too, and the group's
// offsets end at each input partition's end (50 inputs each).
TEST_P(GoClientsTest, ConsumeTransformProduceExactlyOnce) {
  const std::string in = name("txn-in");
  const std::string out = name("txn-out");
  create_topic(in, 3);
  create_topic(out, 2);
  EXPECT_TRUE(printed(
      drive("transact", {in, out, name("txn-group"), "150"}),
      {"read_committed: 150 outputs, each input once", "aborted a round: true",
       "read_uncommitted: the committed and the aborted outputs: true", "group offsets 50 50 50"}));
}

INSTANTIATE_TEST_SUITE_P(Go, GoClientsTest, ::testing::Values("franz", "sarama"),
                         [](const auto& param_info) { return param_info.param; });

}  // namespace
}  // namespace kb::testing
