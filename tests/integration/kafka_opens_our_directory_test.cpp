// Apache Kafka 4.4 opens a log directory this broker wrote. A workload on the
// broker (topics with several partitions and configs, keyed batches in every
// codec, an idempotent producer, a deleted topic, log starts moved by
// retention and DeleteRecords, rolled segments, metadata snapshots, a consumer
// group with committed offsets), then the broker stops (cleanly, or SIGKILL),
// then Kafka's own checker (DumpLogSegments) reads every segment, index, time
// index, producer snapshot and metadata snapshot the broker wrote, and Kafka
// (kafka.Kafka, combined mode, node and cluster id from meta.properties, not
// reformatted) starts on the directory and must serve what the broker served:
// topics with their ids, partition counts and configs, every batch byte for
// byte at its offset, log start and end offsets, the group's committed
// offsets, no deleted topic, leader epoch 0 ending where the broker stopped,
// and an idempotent producer's resent batch taken as the duplicate it is.
// Kafka's tools (kafka-topics, kafka-configs, kafka-get-offsets,
// kafka-consumer-groups) print the same lines against both.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "kb/protocol/messages/fetch.hpp"
#include "kb/protocol/messages/init_producer_id.hpp"
#include "kb/protocol/messages/list_offsets.hpp"
#include "kb/protocol/messages/offset_for_leader_epoch.hpp"
#include "kb/protocol/messages/produce.hpp"
#include "kb/protocol/messages/transactions.hpp"
#include "kb/storage/compression.hpp"
#include "kb/storage/record_batch.hpp"
#include "support/apache_kafka.hpp"
#include "support/broker_process.hpp"
#include "support/java_lab.hpp"
#include "support/kafka_client.hpp"

namespace kb::testing {
namespace {

namespace fs = std::filesystem;

using Partition = std::pair<std::string, int32_t>;
using Batches = std::vector<std::vector<uint8_t>>;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::vector<std::string> sorted_lines(const std::string& text) {
  auto lines = lines_of(text);
  std::sort(lines.begin(), lines.end());
  return lines;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += "  |" + l + "|\n";
  return out;
}

// What one broker (this one or Kafka) answers, to be compared.
struct Served {
  std::map<Partition, Batches> batches;
  std::map<Partition, int64_t> epoch_zero_end;  // OffsetForLeaderEpoch(0)
  std::map<Partition, int32_t> earliest_epoch;  // ListOffsets(earliest)
  std::vector<std::string> topics_described;    // kafka-topics --describe (ids, partitions)
  std::vector<std::string> topics_listed;       // kafka-topics --list
  std::vector<std::string> configs_described;   // kafka-configs --describe (topic configs)
  std::vector<std::string> earliest;            // kafka-get-offsets --time -2
  std::vector<std::string> latest;              // kafka-get-offsets --time -1
  std::vector<std::string> group_described;     // kafka-consumer-groups --describe
};

// The last batch the idempotent producer sent, to be sent again.
struct SentBatch {
  int32_t partition = 0;
  std::vector<uint8_t> bytes;
  int64_t base_offset = -1;
};

class KafkaOpensOurDirectoryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cache_ = KB_TEST_CACHE_DIR;
    const JavaLabSetup lab = set_up_java_lab(KB_CLIENT_SCRIPTS_DIR, cache_);
    if (!lab.problem.empty()) {
      (lab.skip ? skip_reason_ : setup_error_) = lab.problem;
      return;
    }
    classpath_ = java_lab_classpath(cache_, "server");
    shell_dir_ = make_temp_dir("kb-kafka-opens-");
    shell_ = std::make_unique<JavaShell>(classpath_, shell_dir_ / "jvm.log");
  }

  static void TearDownTestSuite() {
    shell_.reset();
    if (!shell_dir_.empty()) fs::remove_all(shell_dir_);
  }

  void SetUp() override {
    if (!skip_reason_.empty()) GTEST_SKIP() << skip_reason_;
    ASSERT_TRUE(setup_error_.empty()) << setup_error_;
    if (!shell_->alive())
      shell_ = std::make_unique<JavaShell>(classpath_, shell_dir_ / "jvm-again.log");
    root_ = make_temp_dir("kb-kafka-opens-dir-");
  }

  void TearDown() override {
    if (HasFailure()) {
      if (broker_) std::cerr << "broker log:\n" << broker_->log() << "\n";
      if (kafka_) {
        // Its warnings and errors, and how it ended.
        const auto lines = lines_of(kafka_->log());
        std::cerr << "Kafka log (warnings, errors, last lines):\n";
        for (size_t i = 0; i < lines.size(); ++i)
          if (i + 40 >= lines.size() || lines[i].find("] WARN ") != std::string::npos ||
              lines[i].find("] ERROR ") != std::string::npos)
            std::cerr << lines[i] << "\n";
      }
      std::cerr << "Java shell log:\n" << shell_->log() << "\n";
    }
    kafka_.reset();
    broker_.reset();
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  fs::path data() const { return root_ / "data"; }

  static ToolRun tool(const std::string& main_class, const std::string& bootstrap,
                      std::vector<std::string> args) {
    args.insert(args.begin(), {"--bootstrap-server", bootstrap});
    return shell_->run(main_class, args);
  }

  // A tool that must succeed; its stdout.
  static std::string tool_out(const std::string& main_class, const std::string& bootstrap,
                              std::vector<std::string> args) {
    ToolRun run = tool(main_class, bootstrap, std::move(args));
    EXPECT_EQ(run.exit_code, 0) << main_class << "\n" << run.out << run.err;
    return run.out;
  }

  // The workload, on this broker.
  void run_workload() {
    broker_ = std::make_unique<BrokerProcess>(
        std::map<std::string, std::string>{
            {"group.initial.rebalance.delay.ms", "0"},
            {"offsets.topic.num.partitions", "3"},
            // Small segments (rolled often), dense indexes, frequent
            // snapshots, retention and checkpoints.
            {"log.segment.bytes", "1100"},
            {"log.index.interval.bytes", "100"},
            {"metadata.log.max.record.bytes.between.snapshots", "400"},
            {"log.retention.check.interval.ms", "300"},
            {"log.flush.offset.checkpoint.interval.ms", "200"}},
        data());
    const std::string ours = "127.0.0.1:" + std::to_string(broker_->port());
    auto create = [&](const std::string& topic, int partitions, std::vector<std::string> configs) {
      std::vector<std::string> args{"--create", "--topic", topic, "--partitions",
                                    std::to_string(partitions)};
      for (const auto& c : configs) args.insert(args.end(), {"--config", c});
      tool_out(kTopicCommand, ours, args);
    };
    create("orders", 3, {"max.message.bytes=300000", "retention.ms=604800000"});
    // Kafka's cleaner must not compact it before the records are compared.
    create("compacted", 2, {"cleanup.policy=compact", "min.compaction.lag.ms=86400000"});
    create("trimmed", 1, {"retention.bytes=1500"});
    create("gone", 2, {});

    TypedClient client(broker_->port());
    const storage::Compression codecs[] = {storage::Compression::none, storage::Compression::gzip,
                                           storage::Compression::snappy, storage::Compression::lz4,
                                           storage::Compression::zstd};
    protocol::InitProducerIdRequest init;
    init.transaction_timeout_ms = 60000;
    auto pid = client.call<protocol::InitProducerIdResponse>(init, 4);
    ASSERT_EQ(pid.error_code, 0);
    int key = 0;
    std::map<int32_t, int32_t> sequences;
    auto produce = [&](const std::string& topic, int32_t partition, storage::Compression codec,
                       bool idempotent, int key_modulo) {
      storage::RecordBatchBuilder builder;
      builder.set_compression(codec);
      if (idempotent)
        builder.set_producer_id(pid.producer_id)
            .set_producer_epoch(pid.producer_epoch)
            .set_base_sequence(sequences[partition]);
      std::vector<std::string> texts;
      for (int i = 0; i < 8; ++i, ++key) {
        texts.push_back("key-" + std::to_string(key_modulo > 0 ? key % key_modulo : key));
        texts.push_back("value of record " + std::to_string(key) + " in " + topic +
                        " ....................................");
      }
      const int64_t timestamp = now_ms();
      for (size_t i = 0; i < texts.size(); i += 2)
        builder.add_record(
            storage::Bytes(reinterpret_cast<const uint8_t*>(texts[i].data()), texts[i].size()),
            storage::Bytes(reinterpret_cast<const uint8_t*>(texts[i + 1].data()),
                           texts[i + 1].size()),
            timestamp);
      std::vector<uint8_t> batch = builder.build();
      protocol::ProduceRequest req;
      req.acks = -1;
      req.timeout_ms = 10000;
      auto& t = req.topic_data.emplace_back();
      t.name = topic;
      t.partition_data.push_back({partition, storage::Bytes(batch)});
      auto resp = client.call<protocol::ProduceResponse>(req, 9);
      const auto& answer = resp.responses.at(0).partition_responses.at(0);
      EXPECT_EQ(answer.error_code, 0) << topic << "-" << partition;
      if (idempotent) {
        sequences[partition] += 8;
        last_idempotent_[partition] = {partition, batch, answer.base_offset};
      }
    };
    for (int round = 0; round < 5; ++round)
      for (int32_t p = 0; p < 3; ++p) produce("orders", p, codecs[(round + p) % 5], true, 0);
    for (int round = 0; round < 4; ++round)
      for (int32_t p = 0; p < 2; ++p) produce("compacted", p, codecs[round], false, 5);
    for (int round = 0; round < 12; ++round)
      produce("trimmed", 0, storage::Compression::none, false, 0);
    produce("gone", 0, storage::Compression::gzip, false, 0);
    // The Java producer's transactions v2 (transaction.version 2 is
    // finalized here as Kafka formats it): markers at bumped epochs, and
    // __transaction_state values of version 1 with their tagged fields.
    create("txns", 1, {});
    const ToolRun transactions =
        shell_->run("kb.lab.ClientCheck", {"transactions", ours, "txns", "kb-txn", "3"});
    EXPECT_EQ(transactions.out, "transactions committed 2 aborted 1\n") << transactions.err;
    txn_before_ = describe_txn(client, "kb-txn");
    EXPECT_EQ(txn_before_.transaction_state, "CompleteCommit");
    EXPECT_EQ(txn_before_.producer_epoch, 3) << "InitProducerId, then a bump per transaction";

    tool_out(kTopicCommand, ours, {"--delete", "--topic", "gone"});
    const fs::path offsets_file = root_ / "delete-records.json";
    write_text_file(offsets_file,
                    R"({"partitions":[{"topic":"orders","partition":1,"offset":13}],"version":1})");
    tool_out(kDeleteRecords, ours, {"--offset-json-file", offsets_file.string()});
    // A group reads most of "orders" and commits where it got to.
    tool_out(kConsoleConsumer, ours,
             {"--topic", "orders", "--group", "readers", "--from-beginning", "--max-messages", "90",
              "--timeout-ms", "15000"});
    // Retention moves trimmed's log start (checked every 300 ms).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (earliest_of(client, "trimmed") == 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ASSERT_GT(earliest_of(client, "trimmed"), 0) << "retention did not move the log start";
    ASSERT_TRUE(fs::exists(data() / "orders-0" / "00000000000000000000.log"));
    ASSERT_GT(segment_count(data() / "orders-0"), 1u) << "no segment rolled";
    ASSERT_GT(snapshot_count(data() / "__cluster_metadata-0"), 0u) << "no metadata snapshot";
    served_before_ = served(ours, broker_->port());
  }

  static protocol::DescribeTransactionsResponse::TransactionState describe_txn(
      TypedClient& client, const std::string& id) {
    protocol::DescribeTransactionsRequest request;
    request.transactional_ids = {id};
    return client.call<protocol::DescribeTransactionsResponse>(request, 0).transaction_states.at(0);
  }

  // Kafka loads the transaction's records this broker wrote: the same state,
  // producer id and epoch; the producer goes on there (transactions v2).
  void expect_kafka_continues_the_transactions() {
    TypedClient client(kafka_->port());
    protocol::DescribeTransactionsResponse::TransactionState after;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    do {  // until its coordinator has loaded __transaction_state
      after = describe_txn(client, "kb-txn");
      if (after.error_code == 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    } while (std::chrono::steady_clock::now() < deadline);
    ASSERT_EQ(after.error_code, 0);
    EXPECT_EQ(after.transaction_state, txn_before_.transaction_state);
    EXPECT_EQ(after.producer_id, txn_before_.producer_id);
    EXPECT_EQ(after.producer_epoch, txn_before_.producer_epoch);
    const ToolRun more = shell_->run("kb.lab.ClientCheck",
                                     {"transactions", kafka_->bootstrap(), "txns", "kb-txn", "3"});
    EXPECT_EQ(more.out, "transactions committed 2 aborted 1\n") << more.err;
    const auto last = describe_txn(client, "kb-txn");
    EXPECT_EQ(last.producer_id, txn_before_.producer_id);
    EXPECT_EQ(last.producer_epoch, txn_before_.producer_epoch + 4);
  }

  static size_t segment_count(const fs::path& dir) {
    size_t n = 0;
    for (const auto& e : fs::directory_iterator(dir)) n += e.path().extension() == ".log";
    return n;
  }
  static size_t snapshot_count(const fs::path& dir) {
    size_t n = 0;
    for (const auto& e : fs::directory_iterator(dir)) n += e.path().extension() == ".checkpoint";
    return n;
  }

  // ListOffsets v7 (as a consumer) for the earliest offset; retried while a
  // broker that just started does not lead the partition yet.
  struct Earliest {
    int64_t offset = -1;
    int32_t leader_epoch = -1;
  };
  static int64_t earliest_of(TypedClient& client, const std::string& topic, int32_t partition = 0) {
    return earliest(client, topic, partition).offset;
  }
  // With the leader epoch of the record there, which Kafka takes from its
  // leader epoch cache (leader-epoch-checkpoint), not from the batch.
  static Earliest earliest(TypedClient& client, const std::string& topic, int32_t partition) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (;;) {
      protocol::ListOffsetsRequest req;
      req.replica_id = -1;
      auto& t = req.topics.emplace_back();
      t.name = topic;
      auto& p = t.partitions.emplace_back();
      p.partition_index = partition;
      p.timestamp = -2;
      auto resp = client.call<protocol::ListOffsetsResponse>(req, 7);
      const auto& answer = resp.topics.at(0).partitions.at(0);
      if (answer.error_code == 0) return {answer.offset, answer.leader_epoch};
      if (std::chrono::steady_clock::now() > deadline) {
        ADD_FAILURE() << "ListOffsets " << topic << "-" << partition << ": error "
                      << answer.error_code;
        return {};
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }

  struct FetchAnswer {
    int16_t error_code = 0;
    int64_t high_watermark = 0;
    std::vector<uint8_t> records;
  };

  // Fetch v12 by name, as a consumer (replica -1), read uncommitted.
  static FetchAnswer fetch(TypedClient& client, const std::string& topic, int32_t partition,
                           int64_t offset) {
    protocol::FetchRequest req;
    req.max_bytes = 8 << 20;
    req.max_wait_ms = 0;
    req.min_bytes = 1;
    auto& t = req.topics.emplace_back();
    t.topic = topic;
    auto& p = t.partitions.emplace_back();
    p.partition = partition;
    p.fetch_offset = offset;
    p.partition_max_bytes = 8 << 20;
    auto resp = client.call<protocol::FetchResponse>(req, 12);
    const auto& part = resp.responses.at(0).partitions.at(0);
    FetchAnswer answer{part.error_code, part.high_watermark, {}};
    if (part.records) answer.records.assign(part.records->begin(), part.records->end());
    return answer;
  }

  // Every whole batch from the log start to the high watermark.
  static Batches all_batches(TypedClient& client, const std::string& topic, int32_t partition) {
    Batches out;
    int64_t offset = earliest_of(client, topic, partition);
    for (int round = 0; round < 1000; ++round) {
      FetchAnswer answer = fetch(client, topic, partition, offset);
      EXPECT_EQ(answer.error_code, 0) << topic << "-" << partition << " at " << offset;
      if (answer.error_code != 0 || offset >= answer.high_watermark) return out;
      auto split = storage::split_batches(answer.records, storage::CrcCheck::verify);
      EXPECT_FALSE(split.batches.empty()) << topic << "-" << partition << " at " << offset;
      if (split.batches.empty()) return out;
      for (const auto& b : split.batches) out.emplace_back(b.bytes().begin(), b.bytes().end());
      offset = split.batches.back().next_offset();
    }
    ADD_FAILURE() << topic << "-" << partition << ": the high watermark was not reached";
    return out;
  }

  // Where leader epoch 0 ends (OffsetForLeaderEpoch v4, as a consumer).
  static int64_t epoch_zero_end(TypedClient& client, const std::string& topic, int32_t partition) {
    protocol::OffsetForLeaderEpochRequest req;
    req.replica_id = -1;
    auto& t = req.topics.emplace_back();
    t.topic = topic;
    auto& p = t.partitions.emplace_back();
    p.partition = partition;
    p.leader_epoch = 0;
    auto resp = client.call<protocol::OffsetForLeaderEpochResponse>(req, 4);
    const auto& answer = resp.topics.at(0).partitions.at(0);
    EXPECT_EQ(answer.error_code, 0) << topic << "-" << partition;
    EXPECT_EQ(answer.leader_epoch, 0) << topic << "-" << partition;
    return answer.end_offset;
  }

  static Served served(const std::string& bootstrap, uint16_t port) {
    Served s;
    TypedClient client(port);
    const std::map<std::string, int32_t> topics{{"orders", 3}, {"compacted", 2}, {"trimmed", 1}};
    for (const auto& [topic, partitions] : topics)
      for (int32_t p = 0; p < partitions; ++p) {
        s.batches[{topic, p}] = all_batches(client, topic, p);
        s.epoch_zero_end[{topic, p}] = epoch_zero_end(client, topic, p);
        s.earliest_epoch[{topic, p}] = earliest(client, topic, p).leader_epoch;
      }
    // The topics' configs are compared below, without the broker's own
    // (server.properties differ: this broker's rolls tiny segments, which
    // Kafka 4.4 refuses), so both lists stop before them.
    static const std::regex synonyms(R"(( synonyms=\{.*|\tConfigs: .*)$)");
    auto without_synonyms = [](std::vector<std::string> lines) {
      for (auto& line : lines) line = std::regex_replace(line, synonyms, "");
      return lines;
    };
    s.topics_described =
        without_synonyms(sorted_lines(tool_out(kTopicCommand, bootstrap, {"--describe"})));
    s.topics_listed = sorted_lines(tool_out(kTopicCommand, bootstrap, {"--list"}));
    s.configs_described = without_synonyms(sorted_lines(
        tool_out(kConfigCommand, bootstrap, {"--describe", "--entity-type", "topics"})));
    s.earliest = sorted_lines(tool_out(kGetOffsetShell, bootstrap, {"--time", "-2"}));
    s.latest = sorted_lines(tool_out(kGetOffsetShell, bootstrap, {"--time", "-1"}));
    s.group_described = sorted_lines(
        tool_out(kConsumerGroupCommand, bootstrap, {"--describe", "--group", "readers"}));
    return s;
  }

  // The files Kafka's checker reads, by kind.
  struct WrittenFiles {
    std::vector<std::string> logs, indexes, producer_snapshots;  // user topics
    std::vector<std::string> offsets_logs;                       // __consumer_offsets
    std::vector<std::string> metadata;  // __cluster_metadata segments and snapshots
    std::vector<std::string> metadata_indexes;
  };

  WrittenFiles written_files() const {
    WrittenFiles f;
    for (const auto& entry : fs::recursive_directory_iterator(data())) {
      if (!entry.is_regular_file()) continue;
      const std::string path = entry.path().string();
      const std::string dir = entry.path().parent_path().filename().string();
      const std::string ext = entry.path().extension().string();
      const bool metadata = dir == "__cluster_metadata-0";
      const bool offsets = dir.rfind("__consumer_offsets-", 0) == 0;
      if (ext == ".log") {
        (metadata ? f.metadata : offsets ? f.offsets_logs : f.logs).push_back(path);
      } else if (ext == ".index" || ext == ".timeindex") {
        (metadata ? f.metadata_indexes : f.indexes).push_back(path);
      } else if (ext == ".snapshot") {
        f.producer_snapshots.push_back(path);
      } else if (ext == ".checkpoint" && metadata) {
        f.metadata.push_back(path);
      }
    }
    return f;
  }

  // DumpLogSegments over `files` with `options`: exit code 0, and every line
  // one of the forms it prints for sound files. Kafka 4.4's tool counts
  // offsets from -1 in every file, so a segment not starting at 0 is reported
  // on stderr as "Non-consecutive offsets in <file>" / "  -1 is followed by
  // <its base offset>" (it says the same of Kafka's own rolled segments): that
  // pair alone is accepted there.
  static void expect_dump_clean(const std::vector<std::string>& files,
                                std::vector<std::string> options) {
    if (files.empty()) return;
    std::string list;
    for (const auto& f : files) list += (list.empty() ? "" : ",") + f;
    options.insert(options.begin(), {"--files", list});
    ToolRun run = shell_->run(kDumpLogSegments, options);
    SCOPED_TRACE(joined(options));
    EXPECT_EQ(run.exit_code, 0) << run.err;
    static const std::regex sound(
        R"(^(Dumping .*|Log starting offset: \d+|Snapshot end offset: \d+, epoch: \d+|)"
        R"(baseOffset: \d+ lastOffset: \d+ count: \d+ .* isvalid: true|\| offset: \d+ .*|)"
        R"(offset: \d+ position: \d+|timestamp: \d+ offset: \d+|producerId: \d+ producerEpoch: .*|)"
        R"(.* passed sanity check\.|.* is empty\.)$)");
    std::vector<std::string> unsound;
    for (const auto& line : lines_of(run.out))
      if (!std::regex_match(line, sound)) unsound.push_back(line);
    static const std::regex base_offset(R"(^Non-consecutive offsets in .*/(\d{20})\.log$)");
    const auto err = lines_of(run.err);
    for (size_t i = 0; i < err.size(); ++i) {
      std::smatch match;
      if (std::regex_match(err[i], match, base_offset) && i + 1 < err.size() &&
          err[i + 1] == "  -1 is followed by " + std::to_string(std::stoll(match[1].str())) &&
          (i + 2 == err.size() || err[i + 2].rfind("  ", 0) != 0)) {
        ++i;
        continue;
      }
      unsound.push_back(err[i]);
    }
    EXPECT_TRUE(unsound.empty()) << "DumpLogSegments complained:\n" << joined(unsound);
    EXPECT_NE(run.out.find("Dumping "), std::string::npos) << run.out;
  }

  void check_with_kafkas_checker() {
    const WrittenFiles f = written_files();
    ASSERT_FALSE(f.logs.empty());
    ASSERT_FALSE(f.producer_snapshots.empty());
    ASSERT_FALSE(f.offsets_logs.empty());
    expect_dump_clean(f.logs, {"--deep-iteration"});
    expect_dump_clean(f.producer_snapshots, {});
    expect_dump_clean(f.indexes, {"--deep-iteration"});
    expect_dump_clean(f.indexes, {"--index-sanity-check"});
    expect_dump_clean(f.indexes, {"--verify-index-only"});
    expect_dump_clean(f.metadata_indexes, {"--index-sanity-check"});
    expect_dump_clean(f.metadata_indexes, {"--verify-index-only"});
    expect_dump_clean(f.metadata, {"--deep-iteration", "--cluster-metadata-decoder"});
    expect_dump_clean(f.offsets_logs, {"--deep-iteration", "--offsets-decoder"});
  }

  // Kafka on the directory, as it is.
  void start_kafka() {
    const std::string meta = read_file(data() / "meta.properties");
    std::smatch node;
    ASSERT_TRUE(std::regex_search(meta, node, std::regex(R"((^|\n)node\.id=(\d+))"))) << meta;
    ApacheKafkaProcess::Options options;
    options.log_dir = data();
    options.node_id = std::stoi(node[2].str());
    kafka_ = std::make_unique<ApacheKafkaProcess>(classpath_, options);
  }

  // Kafka's log: no error, and no warning but the one every start logs. At
  // start-up Kafka's controller may move a partition to a new leader epoch
  // while its group coordinator is already loading __consumer_offsets at the
  // epoch before (always after a hard stop, when it fences the node's previous
  // incarnation; now and then after a clean one, on a slow machine): that load
  // is given up, logged as an error, and done again at the new epoch, as on
  // any Kafka node restarted. The committed offsets are checked afterwards.
  void expect_kafka_log_quiet() {
    std::vector<std::string> complaints;
    for (const auto& line : lines_of(kafka_->log())) {
      if (line.find("] ERROR ") == std::string::npos && line.find("] WARN ") == std::string::npos)
        continue;
      if (line.find("Performing controller activation.") != std::string::npos) continue;
      if (line.find("] ERROR [GroupCoordinator id=1] Failed to load metadata from "
                    "__consumer_offsets-") != std::string::npos &&
          line.find("because the partition is not online or is no longer the leader") !=
              std::string::npos)
        continue;
      complaints.push_back(line);
    }
    EXPECT_TRUE(complaints.empty()) << "Kafka complained:\n" << joined(complaints);
  }

  void compare_with_kafka() {
    const std::string theirs = kafka_->bootstrap();
    Served after = served(theirs, kafka_->port());
    const Served& before = served_before_;
    for (const auto& [partition, batches] : before.batches) {
      SCOPED_TRACE(partition.first + "-" + std::to_string(partition.second));
      EXPECT_FALSE(batches.empty());
      const Batches& kafkas = after.batches[partition];
      ASSERT_EQ(kafkas.size(), batches.size());
      for (size_t i = 0; i < batches.size(); ++i)
        EXPECT_TRUE(kafkas[i] == batches[i]) << "batch " << i << " differs";
    }
    EXPECT_EQ(after.epoch_zero_end, before.epoch_zero_end);
    EXPECT_EQ(after.earliest_epoch, before.earliest_epoch);
    EXPECT_EQ(after.topics_described, before.topics_described)
        << "Kafka:\n"
        << joined(after.topics_described) << "ours:\n"
        << joined(before.topics_described);
    EXPECT_EQ(after.topics_listed, before.topics_listed);
    EXPECT_EQ(std::count(after.topics_listed.begin(), after.topics_listed.end(), "gone"), 0);
    EXPECT_EQ(after.configs_described, before.configs_described)
        << "Kafka:\n"
        << joined(after.configs_described) << "ours:\n"
        << joined(before.configs_described);
    EXPECT_EQ(after.earliest, before.earliest);
    EXPECT_EQ(after.latest, before.latest);
    EXPECT_EQ(after.group_described, before.group_described)
        << "Kafka:\n"
        << joined(after.group_described) << "ours:\n"
        << joined(before.group_described);

    // The idempotent producer's last batch to each partition, sent again:
    // Kafka knows it (from the producer snapshot, or the log after it) and
    // answers with its first offset, appending nothing.
    TypedClient client(kafka_->port());
    for (const auto& [partition, sent] : last_idempotent_) {
      protocol::ProduceRequest req;
      req.acks = -1;
      req.timeout_ms = 10000;
      auto& t = req.topic_data.emplace_back();
      t.name = "orders";
      t.partition_data.push_back({partition, storage::Bytes(sent.bytes)});
      auto resp = client.call<protocol::ProduceResponse>(req, 9);
      const auto& answer = resp.responses.at(0).partition_responses.at(0);
      EXPECT_EQ(answer.error_code, 0) << "orders-" << partition;
      EXPECT_EQ(answer.base_offset, sent.base_offset) << "orders-" << partition;
      const Batches now = all_batches(client, "orders", partition);
      EXPECT_EQ(now.size(), before.batches.at({"orders", partition}).size())
          << "a duplicate was appended to orders-" << partition;
    }
  }

  void scenario(bool sigkill) {
    ASSERT_NO_FATAL_FAILURE(run_workload());
    if (sigkill)
      broker_->kill_hard();
    else
      EXPECT_EQ(broker_->stop().code, 0);
    ASSERT_EQ(fs::exists(data() / ".kafka_cleanshutdown"), !sigkill);
    check_with_kafkas_checker();
    ASSERT_NO_FATAL_FAILURE(start_kafka());
    compare_with_kafka();
    expect_kafka_continues_the_transactions();
    expect_kafka_log_quiet();
    EXPECT_TRUE(kafka_->stop()) << "Kafka did not stop in time";
  }

  static inline std::string skip_reason_;
  static inline std::string setup_error_;
  static inline fs::path cache_;
  static inline std::string classpath_;
  static inline fs::path shell_dir_;
  static inline std::unique_ptr<JavaShell> shell_;

  fs::path root_;
  std::unique_ptr<BrokerProcess> broker_;
  std::unique_ptr<ApacheKafkaProcess> kafka_;
  Served served_before_;
  std::map<int32_t, SentBatch> last_idempotent_;
  protocol::DescribeTransactionsResponse::TransactionState txn_before_;
};

TEST_F(KafkaOpensOurDirectoryTest, AfterACleanStopKafkaServesWhatTheBrokerServed) {
  scenario(false);
}

TEST_F(KafkaOpensOurDirectoryTest, AfterASigkillKafkaRecoversAndServesWhatTheBrokerServed) {
  scenario(true);
}

}  // namespace
}  // namespace kb::testing
