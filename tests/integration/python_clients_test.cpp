// Today's Python clients against the broker, from PyPI at the versions pinned
// in clients/python/requirements.txt (a Python 3.11 virtual environment made
// once in the client cache): confluent-kafka (librdkafka in its wheel),
// aiokafka and kafka-python 3.x. Each client's driver script
// (clients/python/<client>_lab.py) runs one scenario of the client lab and
// prints what it saw; the test compares that with what Kafka does, and reads
// the log directory for what reached the disk. One broker serves the suite; the
// commit-and-resume case restarts it on the same log directory.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "kb/storage/record_batch.hpp"
#include "support/broker_process.hpp"
#include "support/python_lab.hpp"

namespace kb::testing {
namespace {

const std::vector<std::string> kAcks = {"0", "1", "all"};
const std::vector<std::string> kCodecs = {"none", "gzip", "snappy", "lz4", "zstd"};
const std::vector<storage::Compression> kCompressions = {
    storage::Compression::none, storage::Compression::gzip, storage::Compression::snappy,
    storage::Compression::lz4, storage::Compression::zstd};

struct Client {
  std::string name;     // as in topic names and the test's name
  std::string package;  // its PyPI name, as pinned in requirements.txt
  std::string script;   // its driver in clients/python
  // Kafka's record format carries a null header value; kafka-python 3.0.12
  // refuses to send one (TypeError), so its records carry only the empty one.
  bool null_header_values = true;
  // offsets_for_times answers the found record's timestamp too; librdkafka's
  // offsets_for_times hands back the offset only.
  bool answers_timestamp = true;
  // The records a producer sends before its flush go out in one batch
  // (aiokafka's batch API, kafka-python's accumulator). librdkafka lingers
  // too, but records produced while the partition's leader is still being
  // looked up can go out in a batch of their own (and a small batch that does
  // not shrink when compressed goes out uncompressed).
  bool one_batch = true;
  // A producer as made with no settings is idempotent (kafka-python 3.x, as
  // Java's since KIP-679); librdkafka's and aiokafka's are not.
  bool idempotent_by_default = false;
};

void PrintTo(const Client& client, std::ostream* out) { *out << client.name; }

const std::vector<Client> kClients = {
    {"confluent", "confluent-kafka", "confluent_lab.py", true, false, false, false},
    {"aiokafka", "aiokafka", "aiokafka_lab.py", true, true, true, false},
    {"kafka-python", "kafka-python", "kafka_python_lab.py", false, true, true, true},
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The version pinned for `package` in requirements.txt ("name==version \").
std::string pinned_version(const std::string& package) {
  const auto text =
      read_file(std::filesystem::path(KB_CLIENT_SCRIPTS_DIR) / "python" / "requirements.txt");
  std::smatch match;
  if (std::regex_search(text, match, std::regex("(^|\n)" + package + "==([^ \\\\\n]+)")))
    return match[2];
  return {};
}

// The batches of a partition's first segment.
std::vector<storage::RecordBatchView> batches_on_disk(const std::filesystem::path& log_dir,
                                                      const std::string& topic, int partition,
                                                      std::string& bytes) {
  bytes =
      read_file(log_dir / (topic + "-" + std::to_string(partition)) / "00000000000000000000.log");
  std::vector<storage::RecordBatchView> batches;
  storage::Bytes rest(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  while (!rest.empty()) {
    auto batch = storage::RecordBatchView::parse(rest);
    if (!batch) break;
    batches.push_back(*batch);
    rest = rest.subspan(batch->size_in_bytes());
  }
  return batches;
}

// A producer's batches of `records` records on disk: one, compressed with
// `compression`, where the client sends one batch; else at least one batch
// compressed with it, the others with it or not at all (librdkafka sends a
// batch uncompressed when compressing does not make it smaller). Idempotent:
// one producer id, sequences from 0 on without a gap; else no producer id.
::testing::AssertionResult sent_as(const std::vector<storage::RecordBatchView>& batches,
                                   storage::Compression compression, int32_t records,
                                   bool idempotent, bool one_batch) {
  std::string seen;
  for (const auto& batch : batches)
    seen += " [" + std::to_string(batch.record_count()) + " records, codec " +
            std::to_string(static_cast<int>(batch.compression())) + ", producer " +
            std::to_string(batch.producer_id()) + " sequence " +
            std::to_string(batch.base_sequence()) + "]";
  auto failure = [&]() { return ::testing::AssertionFailure() << "batches:" << seen; };
  if (batches.empty() || (one_batch && batches.size() != 1)) return failure();
  int32_t count = 0;
  bool compressed = false;
  for (const auto& batch : batches) {
    compressed = compressed || batch.compression() == compression;
    if (batch.compression() != compression &&
        (one_batch || batch.compression() != storage::Compression::none))
      return failure();
    if (idempotent ? batch.producer_id() != batches[0].producer_id() || batch.producer_id() < 0 ||
                         batch.base_sequence() != count
                   : batch.producer_id() != -1)
      return failure();
    count += batch.record_count();
  }
  if (count != records || !compressed) return failure();
  return ::testing::AssertionSuccess();
}

class PythonClients : public ::testing::TestWithParam<Client> {
 protected:
  static void SetUpTestSuite() {
    if (!python_lab_available()) {
      missing_ =
          "python3.11 with its venv module is not installed (scripts/install-deps.sh test "
          "installs python3-venv)";
      return;
    }
    const std::filesystem::path scripts = KB_CLIENT_SCRIPTS_DIR;
    cache_ = KB_TEST_CACHE_DIR;
    auto installed = install_python_lab(scripts, cache_);
    if (installed.status != 0) {
      setup_error_ = "making the Python lab failed:\n" + installed.output;
      return;
    }
    work_dir_ = make_temp_dir("kb-python-lab-");
    // The log directory outlives each broker process: the commit case restarts it.
    broker_ = std::make_unique<BrokerProcess>(config(), work_dir_ / "data");
  }

  static void TearDownTestSuite() {
    broker_.reset();
    if (!work_dir_.empty()) std::filesystem::remove_all(work_dir_);
  }

  static std::map<std::string, std::string> config() {
    return {{"group.initial.rebalance.delay.ms", "0"}};
  }

  void SetUp() override {
    if (!missing_.empty()) {
      if (labs_required()) FAIL() << missing_;
      GTEST_SKIP() << missing_;
    }
    ASSERT_TRUE(setup_error_.empty()) << setup_error_;
    ASSERT_TRUE(broker_->alive()) << broker_->log();
  }

  void TearDown() override {
    if (HasFailure() && broker_) std::cerr << "broker log:\n" << broker_->log() << "\n";
  }

  static std::string bootstrap() { return "127.0.0.1:" + std::to_string(broker_->port()); }

  // Runs the client's driver; a run that did not end well fails the test
  // with the client's own log.
  static std::vector<std::string> drive(const std::string& scenario,
                                        std::vector<std::string> args = {}) {
    const Client& client = GetParam();
    args.insert(args.begin(), scenario);
    const auto err_path = work_dir_ / (client.name + "-" + scenario + ".err");
    auto run = run_python_driver(
        python_lab_interpreter(cache_),
        std::filesystem::path(KB_CLIENT_SCRIPTS_DIR) / "python" / client.script, args, err_path);
    EXPECT_EQ(run.exit_code, 0) << client.name << " " << scenario << " printed:\n"
                                << run.out << "\nits log:\n"
                                << run.err;
    return lines_of(run.out);
  }

  static std::string topic(const std::string& scenario) {
    return "py-" + GetParam().name + "-" + scenario;
  }

  static inline std::string missing_;
  static inline std::string setup_error_;
  static inline std::filesystem::path cache_;
  static inline std::filesystem::path work_dir_;
  static inline std::unique_ptr<BrokerProcess> broker_;
};

// The client is the one pinned: confluent-kafka 2.12 or newer with librdkafka
// 2.12 or newer in its wheel, kafka-python 3.x.
TEST_P(PythonClients, Version) {
  const Client& client = GetParam();
  const std::string pinned = pinned_version(client.package);
  ASSERT_FALSE(pinned.empty()) << client.package << " is not pinned";
  auto printed = drive("version");
  ASSERT_EQ(printed.size(), 1U);
  EXPECT_EQ(printed[0].rfind(client.package + " " + pinned, 0), 0U) << printed[0];
  if (client.name == "confluent") {
    std::smatch librdkafka;
    ASSERT_TRUE(
        std::regex_search(printed[0], librdkafka, std::regex("librdkafka (\\d+)\\.(\\d+)\\.")))
        << printed[0];
    EXPECT_GE(std::stoi(librdkafka[1]) * 100 + std::stoi(librdkafka[2]), 212) << printed[0];
  }
  if (client.name == "kafka-python") {
    EXPECT_EQ(pinned.rfind("3.", 0), 0U) << pinned;
  }
}

// Per acks (0, 1, all; all idempotent) and codec, one producer's records to a
// partition of its own, flushed together: keys, headers, a null value, a null
// key, empty and null header values. Read back by assignment as sent, at the
// offsets the producer was told; on disk as the producer sent them (one batch
// where the client sends one), compressed with its codec, from a producer id
// with sequences from 0 where idempotent.
TEST_P(PythonClients, ProduceWithEachAcksAndCodecThenReadByAssignment) {
  const Client& client = GetParam();
  const std::string name = topic("produce");
  auto printed = drive("produce", {bootstrap(), name});

  std::vector<std::string> produced;
  std::vector<std::string> records;
  const std::string x(64, 'x');
  for (const auto& acks : kAcks) {
    for (const auto& codec : kCodecs) {
      const int partition =
          static_cast<int>((&acks - kAcks.data()) * kCodecs.size() + (&codec - kCodecs.data()));
      const std::string p = std::to_string(partition) + ":";
      // With acks=0 the producer is told no offset (kafka-python 3.0.12 makes
      // up 0..5, the others say None): only what it was told at acks 1 and all
      // is compared.
      produced.push_back("produced acks=" + acks + " codec=" + codec +
                         " offsets=" + (acks == "0" ? "" : "0,1,2,3,4,5"));
      for (int i = 0; i < 4; ++i)
        records.push_back(p + std::to_string(i) + " key=k" + std::to_string(i) + " value=" + codec +
                          "-acks" + acks + "-v" + std::to_string(i) + "-" + x + " codec=" + codec +
                          " index=" + std::to_string(i));
      records.push_back(p + "4 key=k4 value=null");
      records.push_back(p + "5 key=null value=" + codec + "-acks" + acks +
                        "-no-key empty=" + (client.null_header_values ? " none=null" : ""));
    }
  }
  ASSERT_EQ(printed.size(), produced.size() + records.size() + 1);
  for (size_t i = 0; i < produced.size(); ++i) {
    if (produced[i].back() == '=') {
      EXPECT_EQ(printed[i].rfind(produced[i], 0), 0U) << printed[i];
    } else {
      EXPECT_EQ(printed[i], produced[i]);
    }
  }
  std::vector<std::string> read(printed.begin() + static_cast<long>(produced.size()),
                                printed.end() - 1);
  EXPECT_EQ(read, records);
  EXPECT_EQ(printed.back(), "read " + std::to_string(records.size()));

  for (size_t a = 0; a < kAcks.size(); ++a) {
    for (size_t c = 0; c < kCodecs.size(); ++c) {
      const int partition = static_cast<int>(a * kCodecs.size() + c);
      std::string bytes;
      auto batches = batches_on_disk(broker_->log_dir(), name, partition, bytes);
      EXPECT_TRUE(sent_as(batches, kCompressions[c], 6, kAcks[a] == "all", client.one_batch))
          << "acks=" << kAcks[a] << " codec=" << kCodecs[c];
    }
  }
}

// member=partition,partition... on a line after `label`; every member owns
// something and every partition of 0..count-1 has exactly one owner.
::testing::AssertionResult owned_once(const std::string& line, const std::string& label,
                                      size_t members, int partitions) {
  if (line.rfind(label + " ", 0) != 0)
    return ::testing::AssertionFailure() << "not a '" << label << "' line: " << line;
  std::multiset<int> owned;
  size_t seen = 0;
  std::istringstream in(line.substr(label.size() + 1));
  for (std::string member; in >> member; ++seen) {
    auto eq = member.find('=');
    if (eq == std::string::npos || eq + 1 == member.size())
      return ::testing::AssertionFailure() << "a member owns nothing: " << line;
    std::istringstream list(member.substr(eq + 1));
    for (std::string p; std::getline(list, p, ',');) owned.insert(std::stoi(p));
  }
  std::multiset<int> all;
  for (int p = 0; p < partitions; ++p) all.insert(p);
  if (seen != members || owned != all)
    return ::testing::AssertionFailure() << "not each partition once: " << line;
  return ::testing::AssertionSuccess();
}

// Three members split six partitions, consume and commit; one leaves, the two
// left split all six, and between them read everything produced after. Each
// record is read once, unless a commit was refused by a rebalance (a member
// rejoining): then what it had read comes again, and none may be missing.
TEST_P(PythonClients, GroupOfThreeRebalancesWhenOneLeaves) {
  const std::string name = topic("group");
  auto printed = drive("group", {bootstrap(), name, name});
  ASSERT_GE(printed.size(), 2U);
  EXPECT_TRUE(owned_once(printed[0], "before", 3, 6));
  EXPECT_TRUE(owned_once(printed[1], "after", 2, 6));
  std::multiset<std::string> consumed;
  size_t refused_commits = 0;
  for (size_t i = 2; i < printed.size(); ++i) {
    if (printed[i].rfind("commit failed ", 0) == 0) {
      ++refused_commits;
    } else {
      consumed.insert(printed[i]);
    }
  }
  std::multiset<std::string> expected;
  for (int phase = 1; phase <= 2; ++phase)
    for (int i = 0; i < 30; ++i)
      expected.insert("consumed g" + std::to_string(phase) + "-" + std::to_string(i));
  if (refused_commits == 0) {
    EXPECT_EQ(consumed, expected);
  } else {
    EXPECT_EQ(std::set<std::string>(consumed.begin(), consumed.end()),
              std::set<std::string>(expected.begin(), expected.end()));
  }
}

// A group member reads everything and commits 0:12 and 1:5; after a broker
// restart on the same log directory a new member finds those commits and
// reads from them on.
TEST_P(PythonClients, CommitThenResumeAfterARestart) {
  const std::string name = topic("commit");
  EXPECT_EQ(drive("commit", {bootstrap(), name, name}),
            (std::vector<std::string>{"read 40", "committed 0:12 1:5"}));
  ASSERT_EQ(broker_->stop().code, 0) << broker_->log();
  broker_ = std::make_unique<BrokerProcess>(config(), work_dir_ / "data");

  std::vector<std::string> expected = {"committed 0:12 1:5"};
  for (int i = 12; i < 20; ++i)
    expected.push_back("0:" + std::to_string(i) + " c0-" + std::to_string(i));
  for (int i = 5; i < 20; ++i)
    expected.push_back("1:" + std::to_string(i) + " c1-" + std::to_string(i));
  expected.push_back("read 23");
  EXPECT_EQ(drive("resume", {bootstrap(), name, name}), expected);
}

// Per codec one batch of 20 records stamped base + i s (librdkafka may split
// it, see Client::one_batch): offsets_for_times at
// base, +0.5 s, +5 s, +19 s and +19.001 s answers 0, 1, 5, 19 and none, as
// Kafka does (the first record at or after the time, with its timestamp), and
// a seek to each answer reads that record.
TEST_P(PythonClients, SeekByTimestampInsideACompressedBatch) {
  const Client& client = GetParam();
  const std::string name = topic("times");
  std::vector<std::string> expected;
  const std::vector<std::pair<int, int>> answers = {{0, 0}, {500, 1}, {5000, 5}, {19000, 19}};
  for (const auto& codec : kCodecs) {
    for (const auto& [query, offset] : answers) {
      const std::string o = std::to_string(offset);
      const std::string stamp = "+" + std::to_string(offset * 1000);
      expected.push_back("time " + codec + " +" + std::to_string(query) + " offset=" + o +
                         (client.answers_timestamp ? " answered=" + stamp : "") + " read=" + o +
                         " timestamp=" + stamp + " value=" + codec + "-" + o);
    }
    expected.push_back("time " + codec + " +19001 none");
  }
  EXPECT_EQ(drive("times", {bootstrap(), name}), expected);
  for (size_t c = 0; c < kCodecs.size(); ++c) {
    std::string bytes;
    auto batches = batches_on_disk(broker_->log_dir(), name, static_cast<int>(c), bytes);
    EXPECT_TRUE(
        sent_as(batches, kCompressions[c], 20, client.idempotent_by_default, client.one_batch))
        << kCodecs[c];
  }
}

// The admin client: create two topics (one with a config), a second create
// refused (TOPIC_ALREADY_EXISTS, 36), list, grow to 5 partitions, shrinking
// refused (INVALID_PARTITIONS, 37), alter configs (IncrementalAlterConfigs:
// set max.message.bytes, delete retention.ms; aiokafka's AlterConfigs sets
// max.message.bytes alone, which takes retention.ms back to its default),
// describe them, delete a topic, list.
TEST_P(PythonClients, AdminCreateListAlterDescribeDelete) {
  const std::string a = topic("admin") + "-a";
  const std::string b = topic("admin") + "-b";
  EXPECT_EQ(
      drive("admin", {bootstrap(), topic("admin")}),
      (std::vector<std::string>{
          "created " + a + " " + b, "create " + b + " again: error 36", "list " + a + " " + b,
          "partitions " + a + " 5", "partitions " + a + " 2: error 37", "altered " + a,
          "config cleanup.policy=delete source=DEFAULT_CONFIG",
          "config max.message.bytes=200000 source=DYNAMIC_TOPIC_CONFIG",
          "config retention.ms=604800000 source=DEFAULT_CONFIG", "deleted " + a, "list " + b}));
}

// The features ApiVersions v3+ carries (KIP-584), as kafka-python's
// describe_features reads them; confluent-kafka and aiokafka have no API for
// them. Kafka 4.x lists its supported features (metadata.version from 1 up
// to its release's level, and the others it serves, those with minimum 0
// left out for requests before v4) and the finalized ones: metadata.version
// at the cluster's level and every other feature finalized at a level above
// 0 in the metadata log, with the metadata log's end as their epoch.
TEST_P(PythonClients, FeaturesInApiVersions) {
  if (GetParam().name != "kafka-python") GTEST_SKIP() << GetParam().name << " cannot read them";
  auto printed = drive("features", {bootstrap()});
  // Kafka 4.x supports metadata.version from 3.3-IV3 (level 7) and always
  // has it finalized.
  EXPECT_NE(std::find_if(printed.begin(), printed.end(),
                         [](const std::string& line) {
                           return line.rfind("finalized metadata.version=", 0) == 0;
                         }),
            printed.end());
  EXPECT_NE(std::find_if(printed.begin(), printed.end(),
                         [](const std::string& line) {
                           return line.rfind("supported metadata.version=7-", 0) == 0;
                         }),
            printed.end());
}

INSTANTIATE_TEST_SUITE_P(Clients, PythonClients, ::testing::ValuesIn(kClients),
                         [](const ::testing::TestParamInfo<Client>& param_info) {
                           std::string name = param_info.param.name;
                           name.erase(std::remove(name.begin(), name.end(), '-'), name.end());
                           return name;
                         });

// Transactions with confluent-kafka (clients/python/confluent_transactions.py):
// a consume-transform-produce loop committing its input offsets with
// send_offsets_to_transaction, aborted transactions in between; the output
// read with read_committed holds every input exactly once and nothing aborted.
class PythonTransactions : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!python_lab_available()) {
      if (labs_required()) FAIL() << "python3.11 with its venv module is not installed";
      GTEST_SKIP() << "python3.11 with its venv module is not installed";
    }
    cache_ = KB_TEST_CACHE_DIR;
    auto installed = install_python_lab(KB_CLIENT_SCRIPTS_DIR, cache_);
    ASSERT_EQ(installed.status, 0) << installed.output;
    dir_ = make_temp_dir("kb-python-txn-");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  DriverRun run(BrokerProcess& broker, const std::string& prefix, std::vector<std::string> extra) {
    std::vector<std::string> args = {"127.0.0.1:" + std::to_string(broker.port()), prefix, "600"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_python_driver(
        python_lab_interpreter(cache_),
        std::filesystem::path(KB_CLIENT_SCRIPTS_DIR) / "python" / "confluent_transactions.py", args,
        dir_ / (prefix + ".err"), 180);
  }

  static std::map<std::string, std::string> config() {
    return {{"group.initial.rebalance.delay.ms", "0"},
            {"offsets.topic.num.partitions", "5"},
            {"transaction.state.log.num.partitions", "5"}};
  }

  std::filesystem::path cache_;
  std::filesystem::path dir_;
};

TEST_F(PythonTransactions, ConsumeTransformProduceExactlyOnce) {
  BrokerProcess broker(config(), dir_ / "data");
  DriverRun r = run(broker, "ctp", {});
  ASSERT_EQ(r.exit_code, 0) << r.out << "\n" << r.err << "\nbroker log:\n" << broker.log();
  EXPECT_NE(r.out.find("ok 600 committed"), std::string::npos) << r.out;
  // Aborted transactions were indexed as Kafka indexes them.
  EXPECT_TRUE(
      std::filesystem::exists(dir_ / "data" / "ctp-out-0" / "00000000000000000000.txnindex") ||
      std::filesystem::exists(dir_ / "data" / "ctp-out-1" / "00000000000000000000.txnindex"));
}

// The broker is SIGKILLed while the producer has a transaction open; after
// the restart a new incarnation of the producer fences it (its transaction
// aborted) and goes on from the committed offsets: still exactly once.
TEST_F(PythonTransactions, ExactlyOnceAcrossABrokerKill) {
  auto broker = std::make_unique<BrokerProcess>(config(), dir_ / "data");
  DriverRun first = run(*broker, "kill", {"stop-after", "4"});
  ASSERT_EQ(first.exit_code, 0) << first.out << "\n" << first.err;
  ASSERT_NE(first.out.find("stopped"), std::string::npos) << first.out;
  broker->kill_hard();
  broker.reset();
  BrokerProcess restarted(config(), dir_ / "data");
  DriverRun rest = run(restarted, "kill", {"resume"});
  ASSERT_EQ(rest.exit_code, 0) << rest.out << "\n"
                               << rest.err << "\nbroker log:\n"
                               << restarted.log();
  EXPECT_NE(rest.out.find("ok 600 committed"), std::string::npos) << rest.out;
  EXPECT_NE(restarted.log().find("transactional id kill-txn: ongoing transaction of producer"),
            std::string::npos);
}

}  // namespace
}  // namespace kb::testing
