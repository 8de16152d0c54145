// This broker started on a log directory Apache Kafka 4.4 wrote (issue 15):
// Kafka formats it (metadata.version 4.4-IV2 and its newer features) and
// runs a workload with its own tools and Java clients (topics with configs,
// keyed, compressed and idempotent batches, a deleted topic, a log start
// moved by DeleteRecords, groups of the classic and of the KIP-848 protocol
// with committed offsets); what Kafka serves is recorded with the typed
// client, Kafka is stopped, and this broker must serve the same: every topic
// with its id, partition count and configs, every batch at the same offset
// byte for byte, the same log start and end offsets and leader epochs'
// end offsets, the groups' committed offsets, and an idempotent producer's
// resend recognised as a duplicate. What it cannot use is named at start-up
// and Kafka's files are kept as they were.
//
// One Kafka run of the workload, stopped cleanly (the first scenario runs
// this broker on a copy), then Kafka started again on it, more idempotent
// batches, and a SIGKILL (the second scenario).

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "kb/protocol/messages/delete_records.hpp"
#include "kb/protocol/messages/describe_configs.hpp"
#include "kb/protocol/messages/fetch.hpp"
#include "kb/protocol/messages/init_producer_id.hpp"
#include "kb/protocol/messages/list_groups.hpp"
#include "kb/protocol/messages/list_offsets.hpp"
#include "kb/protocol/messages/metadata.hpp"
#include "kb/protocol/messages/offset_fetch.hpp"
#include "kb/protocol/messages/offset_for_leader_epoch.hpp"
#include "kb/protocol/messages/produce.hpp"
#include "kb/protocol/messages/transactions.hpp"
#include "kb/storage/record_batch.hpp"
#include "support/apache_kafka.hpp"
#include "support/broker_process.hpp"
#include "support/java_lab.hpp"
#include "support/kafka_client.hpp"

namespace kb::testing {
namespace {

namespace fs = std::filesystem;
using namespace kb::protocol;  // NOLINT: the message types

const std::string kClusterId = "MkU3OEVBNTcwNTJENDM2Qg";
const std::vector<std::string> kGroups = {"classic-g1", "classic-g2", "kip848-g3"};
const std::string kTxnTopic = "txn";
// The perf tool's transactional producer (commits only) and the lab's (one
// transaction in three aborted).
const std::vector<std::string> kTransactionalIds = {"kafka-txn-perf", "kafka-txn-aborts"};

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Everything the test compares, as one broker served it.
struct Served {
  struct Topic {
    wire::Uuid id;
    int32_t partitions = 0;
    std::map<std::string, std::string> configs;  // the topic's own (DYNAMIC_TOPIC_CONFIG)
    bool operator==(const Topic&) const = default;
  };
  std::map<std::string, Topic> topics;
  // By "topic-partition": log start and end offsets, and the end offset of
  // leader epoch 0 (OffsetForLeaderEpoch).
  std::map<std::string, std::tuple<int64_t, int64_t, int64_t>> offsets;
  std::map<std::string, std::vector<std::vector<uint8_t>>> batches;  // whole batches, as fetched
  std::map<std::string, int64_t> committed;    // "group topic-partition" -> offset
  std::map<std::string, int64_t> last_stable;  // by "topic-partition": read_committed's end
  // By "topic-partition" of the transactions' topic: the aborted transactions
  // a read_committed Fetch from the log start lists ("producer id@first offset").
  std::map<std::string, std::vector<std::string>> aborted;
  // By transactional id: DescribeTransactions' state, producer id and epoch,
  // timeout, start time and partitions.
  std::map<std::string, std::string> transactions;
};

// The requests view the names they carry: kept here for the whole run.
std::deque<std::string>& names() {
  static std::deque<std::string> kept;
  return kept;
}
std::string_view keep(const std::string& name) { return names().emplace_back(name); }

// Just after a start Kafka answers retriable errors for a while: partitions
// are led and coordinators loaded one by one (NOT_LEADER_OR_FOLLOWER,
// LEADER_NOT_AVAILABLE, NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS or
// _NOT_AVAILABLE). `call` is asked again, as clients do, while `busy` says so.
template <class Call, class Busy>
auto retried(Call call, Busy busy) {
  auto answer = call();
  for (int attempt = 0; attempt < 300 && busy(answer); ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    answer = call();
  }
  return answer;
}

bool retriable(int16_t error_code) {
  return error_code == 5 || error_code == 6 || error_code == 14 || error_code == 15 ||
         error_code == 16;
}

Served record_served(uint16_t port) {
  Served served;
  TypedClient client(port);
  MetadataRequest metadata;
  const auto topics = retried([&] { return client.call<MetadataResponse>(metadata, 12); },
                              [](const MetadataResponse& m) {
                                for (const auto& t : m.topics)
                                  for (const auto& p : t.partitions)
                                    if (retriable(p.error_code) || p.leader_id < 0) return true;
                                return false;
                              });
  for (const auto& t : topics.topics) {
    EXPECT_EQ(t.error_code, 0) << t.name.value_or("?");
    served.topics[t.name.value_or("?")] = {
        t.topic_id, static_cast<int32_t>(t.partitions.size()), {}};
  }
  for (auto& [name, topic] : served.topics) {
    if (name.starts_with("__")) continue;
    DescribeConfigsRequest describe;
    describe.resources.push_back({2, keep(name), std::nullopt});
    const auto configs = client.call<DescribeConfigsResponse>(describe, 4);
    for (const auto& c : configs.results.at(0).configs)
      if (c.config_source == 1) topic.configs[c.name] = c.value.value_or("null");
    for (int32_t p = 0; p < topic.partitions; ++p) {
      const std::string key = name + "-" + std::to_string(p);
      int64_t ends[2] = {-1, -1};
      for (int i = 0; i < 2; ++i) {
        ListOffsetsRequest list;
        list.replica_id = -1;
        list.topics.push_back({keep(name), {{p, -1, i == 0 ? -2 : -1, 1}}});
        const auto r = retried([&] { return client.call<ListOffsetsResponse>(list, 7); },
                               [](const auto& a) {
                                 return retriable(a.topics.at(0).partitions.at(0).error_code);
                               })
                           .topics.at(0)
                           .partitions.at(0);
        EXPECT_EQ(r.error_code, 0) << key;
        ends[i] = r.offset;
      }
      ListOffsetsRequest stable;
      stable.replica_id = -1;
      stable.isolation_level = 1;  // read_committed: the last stable offset
      stable.topics.push_back({keep(name), {{p, -1, -1, 1}}});
      const auto lso = retried([&] { return client.call<ListOffsetsResponse>(stable, 7); },
                               [](const auto& a) {
                                 return retriable(a.topics.at(0).partitions.at(0).error_code);
                               })
                           .topics.at(0)
                           .partitions.at(0);
      EXPECT_EQ(lso.error_code, 0) << key;
      served.last_stable[key] = lso.offset;
      if (name == kTxnTopic) {
        FetchRequest fetch;
        fetch.max_bytes = 8 << 20;
        fetch.isolation_level = 1;
        auto& ft = fetch.topics.emplace_back();
        ft.topic = keep(name);
        auto& fp = ft.partitions.emplace_back();
        fp.partition = p;
        fp.fetch_offset = ends[0];
        fp.partition_max_bytes = 8 << 20;
        const auto f = client.call<FetchResponse>(fetch, 12);
        const auto& part = f.responses.at(0).partitions.at(0);
        EXPECT_EQ(part.error_code, 0) << key;
        auto& listed = served.aborted[key];
        for (const auto& a :
             part.aborted_transactions.value_or(std::vector<FetchResponse::AbortedTransaction>{}))
          listed.push_back(std::to_string(a.producer_id) + "@" + std::to_string(a.first_offset));
        std::sort(listed.begin(), listed.end());
      }
      OffsetForLeaderEpochRequest epochs;
      epochs.replica_id = -1;
      epochs.topics.push_back({keep(name), {{p, -1, 0}}});
      const auto e =
          client.call<OffsetForLeaderEpochResponse>(epochs, 4).topics.at(0).partitions.at(0);
      served.offsets[key] = {ends[0], ends[1], e.end_offset};
      // Every batch from the log start, whole.
      auto& batches = served.batches[key];
      int64_t offset = ends[0];
      for (int round = 0; offset < ends[1] && round < 1000; ++round) {
        FetchRequest fetch;
        fetch.max_bytes = 8 << 20;
        auto& ft = fetch.topics.emplace_back();
        ft.topic = keep(name);
        auto& fp = ft.partitions.emplace_back();
        fp.partition = p;
        fp.fetch_offset = offset;
        fp.partition_max_bytes = 8 << 20;
        const auto f = client.call<FetchResponse>(fetch, 12);
        const auto& part = f.responses.at(0).partitions.at(0);
        EXPECT_EQ(part.error_code, 0) << key << " at " << offset;
        if (part.error_code != 0 || !part.records) break;
        const auto split = storage::split_batches(*part.records, storage::CrcCheck::verify);
        if (split.batches.empty()) break;
        for (const auto& b : split.batches)
          batches.emplace_back(b.bytes().begin(), b.bytes().end());
        offset = split.batches.back().next_offset();
      }
    }
  }
  OffsetFetchRequest fetch_offsets;
  for (const auto& group : kGroups)
    fetch_offsets.groups.push_back({keep(group), std::nullopt, -1, std::nullopt});
  const auto committed =
      retried([&] { return client.call<OffsetFetchResponse>(fetch_offsets, 8); },
              [](const OffsetFetchResponse& r) {
                return std::any_of(r.groups.begin(), r.groups.end(),
                                   [](const auto& g) { return retriable(g.error_code); });
              });
  DescribeTransactionsRequest describe;
  for (const auto& id : kTransactionalIds) describe.transactional_ids.push_back(keep(id));
  const auto described =
      retried([&] { return client.call<DescribeTransactionsResponse>(describe, 0); },
              [](const DescribeTransactionsResponse& d) {
                return std::any_of(d.transaction_states.begin(), d.transaction_states.end(),
                                   [](const auto& t) { return retriable(t.error_code); });
              });
  for (const auto& t : described.transaction_states) {
    EXPECT_EQ(t.error_code, 0) << t.transactional_id;
    std::string text = t.transaction_state + " producer " + std::to_string(t.producer_id) + "." +
                       std::to_string(t.producer_epoch) + " timeout " +
                       std::to_string(t.transaction_timeout_ms) + " started " +
                       std::to_string(t.transaction_start_time_ms);
    for (const auto& topic : t.topics)
      for (int32_t p : topic.partitions) text += " " + topic.topic + "-" + std::to_string(p);
    served.transactions[t.transactional_id] = text;
  }
  for (const auto& g : committed.groups) {
    EXPECT_EQ(g.error_code, 0) << g.group_id;
    for (const auto& t : g.topics)
      for (const auto& p : t.partitions)
        if (p.committed_offset >= 0)
          served.committed[g.group_id + " " + t.name + "-" + std::to_string(p.partition_index)] =
              p.committed_offset;
  }
  return served;
}

storage::Bytes text_bytes(const std::string& text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

// An idempotent producer's batch as the Java producer builds it.
std::vector<uint8_t> idempotent_batch(int64_t producer_id, int16_t epoch, int32_t sequence,
                                      int count) {
  storage::RecordBatchBuilder builder;
  builder.set_producer_id(producer_id).set_producer_epoch(epoch).set_base_sequence(sequence);
  const int64_t now = now_ms();
  for (int i = 0; i < count; ++i) {
    const std::string key =
        "pid-" + std::to_string(producer_id) + "-" + std::to_string(sequence + i);
    const std::string value = "idempotent " + key;
    builder.add_record(text_bytes(key), text_bytes(value), now + i);
  }
  return builder.build();
}

ProduceResponse::PartitionProduceResponse produce(TypedClient& client, const std::string& topic,
                                                  int32_t partition,
                                                  const std::vector<uint8_t>& batch) {
  ProduceRequest request;
  request.acks = -1;
  request.timeout_ms = 10000;
  auto& t = request.topic_data.emplace_back();
  t.name = keep(topic);
  t.partition_data.push_back({partition, wire::Bytes(batch)});
  return client.call<ProduceResponse>(request, 9).responses.at(0).partition_responses.at(0);
}

// One idempotent producer's first batch: its id, epoch, batch and offset.
struct SentBatch {
  int64_t producer_id = -1;
  int16_t epoch = 0;
  std::vector<uint8_t> batch;
  int64_t base_offset = -1;
};

SentBatch send_idempotent(uint16_t port, const std::string& topic, int32_t partition) {
  TypedClient client(port);
  InitProducerIdRequest init;
  init.transaction_timeout_ms = -1;
  // Kafka answers a retriable error until its producer id manager has a
  // block, and its partitions may not be led yet, just after start-up.
  const auto id = retried([&] { return client.call<InitProducerIdResponse>(init, 4); },
                          [](const auto& answer) { return retriable(answer.error_code); });
  if (id.error_code != 0)
    throw std::runtime_error("InitProducerId answered " + std::to_string(id.error_code));
  SentBatch sent{id.producer_id, id.producer_epoch,
                 idempotent_batch(id.producer_id, id.producer_epoch, 0, 5), -1};
  const auto r = retried([&] { return produce(client, topic, partition, sent.batch); },
                         [](const auto& answer) { return retriable(answer.error_code); });
  if (r.error_code != 0)
    throw std::runtime_error("an idempotent produce answered " + std::to_string(r.error_code) +
                             " " + r.error_message.value_or(""));
  sent.base_offset = r.base_offset;
  return sent;
}

// In one read: Kafka's preallocated indexes make a directory of a GB or so,
// too slow to take a character at a time in the sanitizer build.
std::string file_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::string text(static_cast<size_t>(fs::file_size(path)), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  return text;
}

// The files of `dir` (recursively) with their contents.
std::map<std::string, std::string> files_of(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out[fs::relative(e.path(), dir).string()] = file_text(e.path());
  return out;
}

class OurBrokerOpensKafkasDirectory : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cache_ = KB_TEST_CACHE_DIR;
    const JavaLabSetup lab = set_up_java_lab(KB_CLIENT_SCRIPTS_DIR, cache_);
    if (!lab.problem.empty()) {
      (lab.skip ? skip_reason_ : setup_error_) = lab.problem;
      return;
    }
    root_ = make_temp_dir("kb-ours-opens-kafka-");
    try {
      run_kafka();
    } catch (const std::exception& e) {
      setup_error_ = e.what();
    }
  }

  static void TearDownTestSuite() {
    names().clear();
    if (!root_.empty()) fs::remove_all(root_);
  }

  void SetUp() override {
    if (!skip_reason_.empty()) GTEST_SKIP() << skip_reason_;
    ASSERT_TRUE(setup_error_.empty()) << setup_error_;
  }

  static fs::path kafka_dir() { return root_ / "kafka"; }
  static ApacheKafkaProcess::Options kafka_options() {
    ApacheKafkaProcess::Options options;
    options.log_dir = kafka_dir();
    return options;
  }

  // The workload, with Kafka's own tools in one JVM.
  static void workload(JavaShell& shell, const std::string& bootstrap) {
    auto run = [&](const std::string& main_class, std::vector<std::string> args,
                   const std::string& input = "") {
      const ToolRun r = shell.run(main_class, args, input);
      if (r.exit_code != 0)
        throw std::runtime_error(main_class + " failed (" + std::to_string(r.exit_code) + "):\n" +
                                 r.out + r.err);
      return r;
    };
    const std::vector<std::string> server = {"--bootstrap-server", bootstrap};
    auto with_server = [&](std::vector<std::string> args) {
      args.insert(args.begin(), server.begin(), server.end());
      return args;
    };
    run(kTopicCommand, with_server({"--create", "--topic", "plain", "--partitions", "3", "--config",
                                    "retention.ms=86400000", "--config", "segment.bytes=1048576"}));
    run(kTopicCommand,
        with_server({"--create", "--topic", "compact", "--partitions", "2", "--config",
                     "cleanup.policy=compact", "--config", "max.message.bytes=200000"}));
    run(kTopicCommand, with_server({"--create", "--topic", "doomed", "--partitions", "1"}));
    // Idempotent acks=all batches of every codec, keyed, with headers.
    run("kb.lab.ClientCheck", {"produce", bootstrap, "plain"});
    std::string keyed;
    for (int i = 0; i < 50; ++i)
      keyed += "k" + std::to_string(i % 20) + ":v" + std::to_string(i) + "\n";
    run(kConsoleProducer,
        with_server({"--topic", "compact", "--reader-property", "parse.key=true",
                     "--reader-property", "key.separator=:", "--command-property",
                     "compression.type=zstd"}),
        keyed);
    run(kConsoleProducer, with_server({"--topic", "doomed"}), "gone\n");
    // Enough lz4 batches of an idempotent producer to roll plain's segments.
    run(kProducerPerformance,
        {"--topic", "plain", "--num-records", "40000", "--record-size", "100", "--throughput", "-1",
         "--producer-props", "bootstrap.servers=" + bootstrap, "compression.type=lz4",
         "enable.idempotence=true", "linger.ms=5"});
    run("kb.lab.ClientCheck", {"group", bootstrap, "plain", kGroups[0], "10"});
    run(kConsoleConsumer,
        with_server({"--topic", "compact", "--group", kGroups[1], "--from-beginning",
                     "--max-messages", "50", "--timeout-ms", "30000"}));
    run(kConsoleConsumer,
        with_server({"--topic", "plain", "--group", kGroups[2], "--consumer-property",
                     "group.protocol=consumer", "--from-beginning", "--max-messages", "100",
                     "--timeout-ms", "30000"}));
    // Transactions: committed ones of the perf tool, and the lab's with aborts
    // (markers, .txnindex entries, __transaction_state records).
    run(kTopicCommand, with_server({"--create", "--topic", kTxnTopic, "--partitions", "2"}));
    run(kProducerPerformance,
        {"--topic", kTxnTopic, "--num-records", "3000", "--record-size", "100", "--throughput",
         "-1", "--producer-props", "bootstrap.servers=" + bootstrap, "--transactional-id",
         kTransactionalIds[0], "--transaction-duration-ms", "100"});
    run("kb.lab.ClientCheck", {"transactions", bootstrap, kTxnTopic, kTransactionalIds[1], "6"});
    run(kConfigCommand, with_server({"--alter", "--entity-type", "topics", "--entity-name", "plain",
                                     "--add-config", "retention.bytes=100000000"}));
    run(kTopicCommand, with_server({"--delete", "--topic", "doomed"}));
  }

  static void run_kafka() {
    const std::string classpath = java_lab_classpath(cache_, "server");
    fs::create_directories(kafka_dir());
    auto formatted = ApacheKafkaProcess::format(classpath, kafka_dir(), kClusterId);
    if (formatted.status != 0) throw std::runtime_error("format failed:\n" + formatted.output);
    JavaShell shell(classpath, root_ / "tools.log");
    {
      ApacheKafkaProcess kafka(classpath, kafka_options());
      workload(shell, kafka.bootstrap());
      // The log start of plain-2 moved past its first batches.
      TypedClient client(kafka.port());
      DeleteRecordsRequest del;
      del.topics.push_back({keep("plain"), {{2, 100}}});
      del.timeout_ms = 10000;
      const auto deleted = client.call<DeleteRecordsResponse>(del, 2);
      if (deleted.topics.at(0).partitions.at(0).error_code != 0)
        throw std::runtime_error("DeleteRecords on Kafka failed");
      first_producer_ = send_idempotent(kafka.port(), "plain", 1);
      clean_served_ = record_served(kafka.port());
      if (!kafka.stop()) throw std::runtime_error("Kafka did not stop:\n" + kafka.log());
    }
    fs::copy(kafka_dir(), root_ / "clean", fs::copy_options::recursive);
    // Another copy that no broker opens, for the tools.
    fs::copy(kafka_dir(), root_ / "as-kafka-left-it", fs::copy_options::recursive);
    clean_files_ = files_of(root_ / "clean");
    {
      // Kafka again on the same directory: its second session's records and
      // epochs, more batches, then a SIGKILL.
      ApacheKafkaProcess kafka(classpath, kafka_options());
      second_producer_ = send_idempotent(kafka.port(), "compact", 0);
      killed_served_ = record_served(kafka.port());
      kafka.kill_hard();
    }
    killed_files_ = files_of(kafka_dir());
  }

  // This broker on `dir`: serves what Kafka served, recognises the
  // producers' resends, names what it does not use, and leaves Kafka's files
  // as they were (it appends after Kafka's bytes only).
  static void expect_served_as_kafka(const fs::path& dir, const Served& kafka,
                                     const std::map<std::string, std::string>& kafka_files,
                                     const std::vector<std::pair<SentBatch, std::string>>& sent) {
    // `kafka-broker check` finds Kafka's directory clean (every segment,
    // index, checkpoint and metadata record as Kafka left them), and changes
    // nothing in it.
    {
      const CommandResult checked =
          run_command(std::string(KB_BROKER_BINARY) + " check " + quoted(dir), 120);
      EXPECT_EQ(WEXITSTATUS(checked.status), 0) << checked.output;
      EXPECT_NE(checked.output.find("segments' indexes checked"), std::string::npos)
          << checked.output;
      EXPECT_TRUE(files_of(dir) == kafka_files) << "check changed Kafka's directory";
    }
    {
      BrokerProcess ours({}, dir);
      const Served served = record_served(ours.port());
      EXPECT_EQ(served.topics, kafka.topics);
      EXPECT_EQ(served.offsets, kafka.offsets);
      EXPECT_EQ(served.committed, kafka.committed);
      EXPECT_EQ(served.last_stable, kafka.last_stable);
      EXPECT_EQ(served.aborted, kafka.aborted);
      EXPECT_EQ(served.transactions, kafka.transactions);
      EXPECT_FALSE(kafka.aborted.empty());
      EXPECT_EQ(served.batches.size(), kafka.batches.size());
      for (const auto& [key, batches] : kafka.batches) {
        const auto found = served.batches.find(key);
        ASSERT_NE(found, served.batches.end()) << key;
        EXPECT_EQ(found->second.size(), batches.size()) << key;
        EXPECT_TRUE(found->second == batches) << key << ": batches differ";
      }
      // Each producer's first batch again: a duplicate, answered with its
      // offset, not appended; its next batch follows it.
      TypedClient client(ours.port());
      for (const auto& [producer, topic_partition] : sent) {
        const size_t dash = topic_partition.rfind('-');
        const std::string topic = topic_partition.substr(0, dash);
        const int32_t partition = std::stoi(topic_partition.substr(dash + 1));
        const int64_t end = std::get<1>(kafka.offsets.at(topic_partition));
        const auto again = produce(client, topic, partition, producer.batch);
        EXPECT_EQ(again.error_code, 0) << topic_partition;
        EXPECT_EQ(again.base_offset, producer.base_offset) << topic_partition;
        const auto next = produce(client, topic, partition,
                                  idempotent_batch(producer.producer_id, producer.epoch, 5, 3));
        EXPECT_EQ(next.error_code, 0) << topic_partition;
        EXPECT_EQ(next.base_offset, end) << topic_partition << ": the resend was appended";
      }
      // Kafka's transactional producer goes on here (announced transactions
      // as this broker serves them): the same producer id, a newer epoch.
      {
        JavaShell shell(java_lab_classpath(cache_, "4"), dir.parent_path() / "ours-tools.log");
        const std::string bootstrap = "127.0.0.1:" + std::to_string(ours.port());
        const ToolRun more = shell.run("kb.lab.ClientCheck", {"transactions", bootstrap, kTxnTopic,
                                                              kTransactionalIds[1], "3"});
        EXPECT_EQ(more.exit_code, 0) << more.out << more.err;
        EXPECT_EQ(more.out, "transactions committed 2 aborted 1\n") << more.err;
        DescribeTransactionsRequest describe;
        describe.transactional_ids.push_back(keep(kTransactionalIds[1]));
        const auto after =
            client.call<DescribeTransactionsResponse>(describe, 0).transaction_states.at(0);
        EXPECT_EQ(after.transaction_state, "CompleteCommit");
        const std::string before = kafka.transactions.at(kTransactionalIds[1]);
        EXPECT_NE(before.find(" producer " + std::to_string(after.producer_id) + "."),
                  std::string::npos)
            << before << " then producer " << after.producer_id;
        // Kafka 4.4 finalized transaction.version 2, served here: the producer
        // uses transactions v2 (every end bumps the epoch): its
        // InitProducerId and three transactions, four epochs on.
        std::smatch epoch;
        ASSERT_TRUE(std::regex_search(before, epoch, std::regex(R"( producer \d+\.(\d+) )")))
            << before;
        EXPECT_EQ(after.producer_epoch, std::stoi(epoch[1]) + 4) << before;
      }
      // Kafka's KIP-848 group is replayed as a consumer group (its records
      // are no longer set aside as of a kind not served).
      ListGroupsRequest list;
      const auto listed = client.call<ListGroupsResponse>(list, 5);
      const auto g3 = std::find_if(listed.groups.begin(), listed.groups.end(),
                                   [](const auto& g) { return g.group_id == kGroups[2]; });
      ASSERT_NE(g3, listed.groups.end());
      EXPECT_EQ(g3->group_type, "consumer");
      EXPECT_EQ(g3->group_state, "Empty");
      const std::string log = ours.log();
      EXPECT_EQ(log.find("records of group kinds this broker does not serve"), std::string::npos)
          << log;
      EXPECT_EQ(log.find("transaction.version 2 (implemented here"), std::string::npos) << log;
      for (const std::string& named : std::vector<std::string>{
               "RegisterBrokerRecord (0: ", "BrokerRegistrationChangeRecord (17: ",
               "RegisterControllerRecord (27: ", "NoOpRecord (20: ", "LeaderChange (2: ",
               "metadata.version 33 (implemented here: up to 25)"})
        EXPECT_NE(log.find(named), std::string::npos) << "not named: " << named << "\n" << log;
      EXPECT_EQ(ours.stop().code, 0);
      if (::testing::Test::HasFailure()) std::cerr << "broker log:\n" << log << "\n";
    }
    // Kafka's files: still there, their bytes as Kafka left them, except
    // what this broker appends to and rewrites as Kafka does (the logs and
    // aborted-transaction indexes it appended to, the checkpoints, the clean
    // shutdown marker).
    const auto now = files_of(dir);
    for (const auto& [name, bytes] : kafka_files) {
      const auto found = now.find(name);
      if (name.find("-delete/") != std::string::npos) continue;  // a deleted topic's, removed
      if (name == ".kafka_cleanshutdown" || name == ".lock") continue;
      if (found == now.end() && name.ends_with(".snapshot")) {
        // A producer snapshot is superseded by a newer one of the same
        // partition (written at shutdown), as Kafka's own start-up removes
        // all but the newest stray one.
        const std::string dir_name = name.substr(0, name.find('/') + 1);
        const auto newer = std::find_if(now.begin(), now.end(), [&](const auto& file) {
          return file.first.starts_with(dir_name) && file.first.ends_with(".snapshot") &&
                 file.first > name;
        });
        EXPECT_NE(newer, now.end()) << name << " was removed without a newer snapshot";
        continue;
      }
      ASSERT_NE(found, now.end()) << name << " was removed";
      if (name.ends_with("-offset-checkpoint") && !name.starts_with("__")) continue;
      if (name.ends_with(".index") || name.ends_with(".timeindex")) continue;  // preallocated
      if (name.ends_with(".log") || name.ends_with(".snapshot") || name.ends_with(".txnindex")) {
        EXPECT_EQ(found->second.substr(0, bytes.size()), bytes) << name << " was rewritten";
      } else if (!name.ends_with("-offset-checkpoint")) {
        EXPECT_EQ(found->second, bytes) << name << " was rewritten";
      }
    }
  }

  static inline std::string skip_reason_;
  static inline std::string setup_error_;
  static inline fs::path cache_;
  static inline fs::path root_;
  static inline SentBatch first_producer_;
  static inline SentBatch second_producer_;
  static inline Served clean_served_;
  static inline Served killed_served_;
  static inline std::map<std::string, std::string> clean_files_;
  static inline std::map<std::string, std::string> killed_files_;
};

// `kafka-broker dump-log` on the files Apache Kafka wrote (its segments,
// indexes and time indexes of every topic: transactional, compacted, the
// group and transaction state topics, whose binary keys and values both print
// as Java decodes them) prints, on stdout and on stderr, what Kafka's own
// kafka-dump-log (DumpLogSegments) prints of them. (Kafka's metadata log is
// left out: records only a KRaft controller writes, such as NoOpRecord,
// RegisterControllerRecord and the LeaderChange control record, are not
// decoded by this broker's --cluster-metadata-decoder.)
TEST_F(OurBrokerOpensKafkasDirectory, DumpLogPrintsKafkasFilesAsKafkasDumpLogDoes) {
  const fs::path dir = root_ / "as-kafka-left-it";
  std::vector<std::string> data_files;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    const std::string parent = e.path().parent_path().filename().string();
    const std::string ext = e.path().extension().string();
    if (parent.find("-delete") != std::string::npos) continue;
    if (parent != "__cluster_metadata-0" &&
        (ext == ".log" || ext == ".index" || ext == ".timeindex"))
      data_files.push_back(e.path().string());
  }
  std::sort(data_files.begin(), data_files.end());
  ASSERT_GE(data_files.size(), 9u);
  auto list = [](const std::vector<std::string>& files) {
    std::string joined;
    for (const auto& f : files) joined += (joined.empty() ? "" : ",") + f;
    return joined;
  };
  const std::vector<std::vector<std::string>> runs = {
      {"--files", list(data_files), "--deep-iteration", "--print-data-log"},
      {"--files", list(data_files), "--index-sanity-check"},
  };
  JavaShell shell(java_lab_classpath(cache_, "server"), root_ / "dump-log-tools.log");
  for (const auto& args : runs) {
    std::string command = "exec " + quoted(fs::path(KB_BROKER_BINARY)) + " dump-log";
    for (const auto& a : args) command += " " + quoted(fs::path(a));
    SCOPED_TRACE(args[2]);
    // Both into files: the binary records' NUL bytes would cut a pipe read by lines.
    const fs::path out = root_ / "dump-log.out";
    const fs::path err = root_ / "dump-log.err";
    const fs::path script = root_ / "dump-log.sh";
    write_text_file(script, command + " >" + quoted(out) + " 2>" + quoted(err) + "\n");
    const CommandResult ours = run_command("sh " + quoted(script), 120);
    const ToolRun kafkas = shell.run(kDumpLogSegments, args);
    ASSERT_EQ(kafkas.exit_code, 0) << kafkas.err;
    EXPECT_EQ(WEXITSTATUS(ours.status), 0);
    // Megabytes of lines: the first that differs, not gtest's diff of all.
    for (const auto& [what, mine, theirs] :
         {std::tuple<std::string, std::string, std::string>{"stdout", read_file(out), kafkas.out},
          {"stderr", read_file(err), kafkas.err}}) {
      const std::vector<std::string> a = lines_of(mine), b = lines_of(theirs);
      const auto differs = std::mismatch(a.begin(), a.end(), b.begin(), b.end());
      EXPECT_TRUE(differs.first == a.end() && differs.second == b.end())
          << what << " line " << (differs.first - a.begin()) + 1 << ": ours\n"
          << (differs.first != a.end() ? *differs.first : "(none)") << "\nKafka's\n"
          << (differs.second != b.end() ? *differs.second : "(none)");
    }
    if (args[2] == "--deep-iteration") {
      // The group state topic's binary records were printed.
      EXPECT_NE(read_file(out).find("\xEF\xBF\xBD"), std::string::npos);
    }
  }
}

TEST_F(OurBrokerOpensKafkasDirectory, AfterACleanStopItServesWhatKafkaServed) {
  // Kafka's controlled shutdown left every partition without a leader.
  expect_served_as_kafka(root_ / "clean", clean_served_, clean_files_,
                         {{first_producer_, "plain-1"}});
}

TEST_F(OurBrokerOpensKafkasDirectory, AfterASigkillItServesWhatKafkaServed) {
  expect_served_as_kafka(kafka_dir(), killed_served_, killed_files_,
                         {{first_producer_, "plain-1"}, {second_producer_, "compact-0"}});
}

}  // namespace
}  // namespace kb::testing
