// Transactions over the raw protocol against the broker binary: the
// coordinator's APIs, verification of transactional produce, markers, the
// last stable offset and read_committed fetches, transactional offsets, and
// recovery after a crash between PrepareCommit and the markers.

#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "kb/protocol/messages/api_versions.hpp"
#include "kb/protocol/messages/create_topics.hpp"
#include "kb/protocol/messages/describe_producers.hpp"
#include "kb/protocol/messages/fetch.hpp"
#include "kb/protocol/messages/find_coordinator.hpp"
#include "kb/protocol/messages/init_producer_id.hpp"
#include "kb/protocol/messages/list_offsets.hpp"
#include "kb/protocol/messages/offset_fetch.hpp"
#include "kb/protocol/messages/produce.hpp"
#include "kb/protocol/messages/transactions.hpp"
#include "kb/protocol/messages/write_txn_markers.hpp"
#include "kb/storage/partition_log.hpp"
#include "kb/storage/record_batch.hpp"
#include "kb/storage/txn_index.hpp"
#include "kb/txn/records.hpp"
#include "support/broker_process.hpp"
#include "support/kafka_client.hpp"
#include "support/kafkajs.hpp"
#include "support/shell_command.hpp"

namespace kb::testing {
namespace {

using namespace protocol;

constexpr int16_t kNone = 0;
constexpr int16_t kInvalidProducerEpoch = 47;
constexpr int16_t kInvalidTxnState = 48;
constexpr int16_t kConcurrentTransactions = 51;
constexpr int16_t kTransactionCoordinatorFenced = 52;
constexpr int16_t kUnstableOffsetCommit = 88;
constexpr int16_t kProducerFenced = 90;
constexpr int16_t kTransactionAbortable = 120;

template <class Response, class Request>
Response call(RawClient& client, const Request& request, int16_t version) {
  static int32_t correlation_id = 1;
  const int32_t id = correlation_id++;
  client.send_bytes(encode_request(request, version, id));
  auto frame = client.read_frame();
  if (!frame) throw std::runtime_error("connection closed");
  ResponseFrame r = split_response(*frame, version >= Response::kFirstFlexible);
  EXPECT_EQ(r.correlation_id, id);
  // The decoded response views the body: kept until the next call.
  static std::vector<uint8_t> body;
  body = std::move(r.body);
  return decode_response<Response>(body, version);
}

void create(RawClient& client, const std::string& name, int32_t partitions) {
  static std::deque<std::string> names;
  names.push_back(name);
  CreateTopicsRequest request;
  auto& t = request.topics.emplace_back();
  t.name = names.back();
  t.num_partitions = partitions;
  t.replication_factor = -1;
  request.timeout_ms = 5000;
  ASSERT_EQ(call<CreateTopicsResponse>(client, request, 7).topics.at(0).error_code, 0);
}

struct Producer {
  int64_t id = -1;
  int16_t epoch = -1;
  int32_t sequence = 0;
};

InitProducerIdResponse init(RawClient& client, std::string_view transactional_id,
                            int32_t timeout_ms = 60000) {
  InitProducerIdRequest request;
  request.transactional_id = transactional_id;
  request.transaction_timeout_ms = timeout_ms;
  return call<InitProducerIdResponse>(client, request, 4);
}

Producer init_ok(RawClient& client, std::string_view transactional_id, int32_t timeout_ms = 60000) {
  auto r = init(client, transactional_id, timeout_ms);
  EXPECT_EQ(r.error_code, kNone);
  return {r.producer_id, r.producer_epoch, 0};
}

// A TxnOffsetCommit of one offset for group "g": partition 0 of `topic`.
TxnOffsetCommitRequest offset_commit(std::string_view transactional_id, const Producer& p,
                                     std::string_view topic, int64_t offset) {
  TxnOffsetCommitRequest commit;
  commit.transactional_id = transactional_id;
  commit.group_id = "g";
  commit.producer_id = p.id;
  commit.producer_epoch = p.epoch;
  TxnOffsetCommitRequest::TxnOffsetCommitRequestPartition part;
  part.partition_index = 0;
  part.committed_offset = offset;
  commit.topics.push_back({topic, {}, {part}});
  return commit;
}

int16_t add_partition(RawClient& client, std::string_view transactional_id, const Producer& p,
                      std::string_view topic, int32_t partition) {
  AddPartitionsToTxnRequest request;
  request.v3_and_below_transactional_id = transactional_id;
  request.v3_and_below_producer_id = p.id;
  request.v3_and_below_producer_epoch = p.epoch;
  request.v3_and_below_topics.push_back({topic, {partition}});
  auto r = call<AddPartitionsToTxnResponse>(client, request, 3);
  return r.results_by_topic_v3_and_below.at(0).results_by_partition.at(0).partition_error_code;
}

int16_t end_txn(RawClient& client, std::string_view transactional_id, const Producer& p,
                bool commit) {
  EndTxnRequest request;
  request.transactional_id = transactional_id;
  request.producer_id = p.id;
  request.producer_epoch = p.epoch;
  request.committed = commit;
  return call<EndTxnResponse>(client, request, 3).error_code;
}

// A transactional batch of `count` records from the producer (its sequence
// moves on when it is accepted).
ProduceResponse::PartitionProduceResponse produce(RawClient& client,
                                                  std::string_view transactional_id, Producer& p,
                                                  std::string_view topic, int32_t partition,
                                                  int count, int16_t version = 9) {
  storage::RecordBatchBuilder b;
  b.set_producer_id(p.id).set_producer_epoch(p.epoch).set_base_sequence(p.sequence);
  b.set_transactional(true);
  const std::string value = "txn";
  for (int i = 0; i < count; ++i)
    b.add_record(std::nullopt,
                 storage::Bytes(reinterpret_cast<const uint8_t*>(value.data()), value.size()),
                 1700000000000 + i);
  const std::vector<uint8_t> batch = b.build();
  ProduceRequest request;
  request.transactional_id = transactional_id;
  request.acks = -1;
  request.timeout_ms = 5000;
  auto& t = request.topic_data.emplace_back();
  t.name = topic;
  t.partition_data.push_back({partition, storage::Bytes(batch)});
  auto r =
      call<ProduceResponse>(client, request, version).responses.at(0).partition_responses.at(0);
  if (r.error_code == kNone) p.sequence += count;
  return r;
}

struct Fetched {
  int16_t error = 0;
  int64_t high_watermark = -1;
  int64_t last_stable_offset = -1;
  std::optional<std::vector<FetchResponse::AbortedTransaction>> aborted;
  std::vector<int64_t> record_offsets;  // data records (control batches left out)
};

Fetched fetch(RawClient& client, std::string_view topic, int32_t partition, int64_t offset,
              int8_t isolation) {
  FetchRequest request;
  request.max_wait_ms = 0;
  request.min_bytes = 0;
  request.isolation_level = isolation;
  auto& t = request.topics.emplace_back();
  t.topic = topic;
  FetchRequest::FetchPartition p;
  p.partition = partition;
  p.fetch_offset = offset;
  p.partition_max_bytes = 1 << 20;
  t.partitions.push_back(p);
  auto r = call<FetchResponse>(client, request, 11);
  const auto& data = r.responses.at(0).partitions.at(0);
  Fetched out{
      data.error_code, data.high_watermark, data.last_stable_offset, data.aborted_transactions, {}};
  if (data.records) {
    storage::BatchIterator batches(*data.records);
    while (auto batch = batches.next()) {
      if (batch->is_control()) continue;
      for (int64_t o = batch->base_offset(); o <= batch->last_offset(); ++o)
        out.record_offsets.push_back(o);
    }
  }
  return out;
}

int64_t latest(RawClient& client, std::string_view topic, int8_t isolation) {
  ListOffsetsRequest request;
  request.replica_id = -1;
  request.isolation_level = isolation;
  request.topics.push_back({topic, {{0, -1, -1, 1}}});
  return call<ListOffsetsResponse>(client, request, 5).topics.at(0).partitions.at(0).offset;
}

std::vector<int64_t> offsets_from(int64_t first, int64_t last) {
  std::vector<int64_t> out;
  for (int64_t o = first; o <= last; ++o) out.push_back(o);
  return out;
}

TEST(TransactionsProtocol, CommitAbortFenceAndReadCommitted) {
  BrokerProcess broker;
  RawClient client(broker.port());
  create(client, "tx-out", 1);
  create(client, "tx-other", 1);

  FindCoordinatorRequest find;
  find.key_type = 1;
  find.coordinator_keys = {"tx"};
  auto coordinator = call<FindCoordinatorResponse>(client, find, 4);
  EXPECT_EQ(coordinator.coordinators.at(0).error_code, kNone);
  EXPECT_EQ(coordinator.coordinators.at(0).port, broker.port());

  Producer p = init_ok(client, "tx");
  EXPECT_EQ(p.epoch, 0);
  // Not added to the transaction: refused, as Kafka 3.6+ verifies.
  EXPECT_EQ(produce(client, "tx", p, "tx-out", 0, 2).error_code, kInvalidTxnState);
  EXPECT_EQ(produce(client, "tx", p, "tx-out", 0, 2, 11).error_code, kTransactionAbortable);
  EXPECT_EQ(end_txn(client, "tx", p, true), kInvalidTxnState);  // nothing ongoing

  ASSERT_EQ(add_partition(client, "tx", p, "tx-out", 0), kNone);
  {
    // The batched form (v4+) verifies only.
    AddPartitionsToTxnRequest verify;
    AddPartitionsToTxnRequest::AddPartitionsToTxnTransaction txn;
    txn.transactional_id = "tx";
    txn.producer_id = p.id;
    txn.producer_epoch = p.epoch;
    txn.verify_only = true;
    txn.topics = {{"tx-out", {0}}, {"tx-other", {0}}};
    verify.transactions.push_back(txn);
    auto r = call<AddPartitionsToTxnResponse>(client, verify, 5);
    ASSERT_EQ(r.results_by_transaction.size(), 1U);
    const auto& topics = r.results_by_transaction[0].topic_results;
    EXPECT_EQ(topics.at(0).results_by_partition.at(0).partition_error_code, kNone);
    EXPECT_EQ(topics.at(1).results_by_partition.at(0).partition_error_code, kTransactionAbortable);
  }
  ASSERT_EQ(produce(client, "tx", p, "tx-out", 0, 2).base_offset, 0);

  // The ongoing transaction holds the last stable offset at its start.
  Fetched uncommitted = fetch(client, "tx-out", 0, 0, 0);
  EXPECT_EQ(uncommitted.record_offsets, offsets_from(0, 1));
  EXPECT_EQ(uncommitted.last_stable_offset, 0);
  EXPECT_FALSE(uncommitted.aborted.has_value());
  Fetched committed = fetch(client, "tx-out", 0, 0, 1);
  EXPECT_TRUE(committed.record_offsets.empty());
  EXPECT_EQ(committed.high_watermark, 2);
  EXPECT_EQ(committed.last_stable_offset, 0);
  EXPECT_EQ(latest(client, "tx-out", 1), 0);
  EXPECT_EQ(latest(client, "tx-out", 0), 2);

  ASSERT_EQ(end_txn(client, "tx", p, true), kNone);
  committed = fetch(client, "tx-out", 0, 0, 1);
  EXPECT_EQ(committed.record_offsets, offsets_from(0, 1));
  EXPECT_EQ(committed.high_watermark, 3);  // the COMMIT marker at 2
  EXPECT_EQ(committed.last_stable_offset, 3);
  ASSERT_TRUE(committed.aborted.has_value());
  EXPECT_TRUE(committed.aborted->empty());
  EXPECT_EQ(end_txn(client, "tx", p, true), kNone);  // a retry of the same end
  EXPECT_EQ(end_txn(client, "tx", p, false), kInvalidTxnState);

  // An aborted transaction: listed for read_committed readers of its range.
  ASSERT_EQ(add_partition(client, "tx", p, "tx-out", 0), kNone);
  ASSERT_EQ(produce(client, "tx", p, "tx-out", 0, 1).base_offset, 3);
  ASSERT_EQ(end_txn(client, "tx", p, false), kNone);
  committed = fetch(client, "tx-out", 0, 0, 1);
  EXPECT_EQ(committed.last_stable_offset, 5);
  ASSERT_TRUE(committed.aborted.has_value());
  ASSERT_EQ(committed.aborted->size(), 1U);
  EXPECT_EQ(committed.aborted->at(0).producer_id, p.id);
  EXPECT_EQ(committed.aborted->at(0).first_offset, 3);
  // Kafka's .txnindex of the segment holds it.
  auto indexed = storage::read_txn_indexes(broker.log_dir() / "tx-out-0");
  ASSERT_TRUE(indexed.ok());
  EXPECT_EQ(*indexed, (std::vector<storage::AbortedTxn>{{p.id, 3, 4, 5}}));
  // A fetch past the aborted range does not list it.
  EXPECT_TRUE(fetch(client, "tx-out", 0, 5, 1).aborted->empty());

  // The admin views of an ongoing transaction: ListTransactions,
  // DescribeTransactions, DescribeProducers (kafka-transactions' find-hanging
  // compares them).
  ASSERT_EQ(add_partition(client, "tx", p, "tx-out", 0), kNone);
  {
    ListTransactionsRequest list;
    list.state_filters = {"Ongoing", "Nonsense"};
    auto listed = call<ListTransactionsResponse>(client, list, 1);
    EXPECT_EQ(listed.unknown_state_filters, std::vector<std::string>{"Nonsense"});
    ASSERT_EQ(listed.transaction_states.size(), 1U);
    EXPECT_EQ(listed.transaction_states[0].transactional_id, "tx");
    EXPECT_EQ(listed.transaction_states[0].transaction_state, "Ongoing");
    list.state_filters = {"CompleteCommit"};
    EXPECT_TRUE(call<ListTransactionsResponse>(client, list, 1).transaction_states.empty());
    // v2 (KIP-1152): transactional ids matching a pattern, whole ids only.
    list.state_filters.clear();
    for (std::string_view pattern : {"t.", "[st]x", ""}) {
      list.transactional_id_pattern = pattern;
      auto matched = call<ListTransactionsResponse>(client, list, 2);
      EXPECT_EQ(matched.error_code, kNone) << pattern;
      ASSERT_EQ(matched.transaction_states.size(), 1U) << pattern;
      EXPECT_EQ(matched.transaction_states[0].transactional_id, "tx");
    }
    for (std::string_view pattern : {"t", "x", "tx.+"}) {
      list.transactional_id_pattern = pattern;
      EXPECT_TRUE(call<ListTransactionsResponse>(client, list, 2).transaction_states.empty())
          << pattern;
    }
    // A pattern RE2J refuses: INVALID_REGULAR_EXPRESSION (128) and nothing else.
    list.transactional_id_pattern = "tx(";
    list.state_filters = {"Nonsense"};
    auto refused = call<ListTransactionsResponse>(client, list, 2);
    EXPECT_EQ(refused.error_code, 128);
    EXPECT_TRUE(refused.transaction_states.empty());
    EXPECT_TRUE(refused.unknown_state_filters.empty());
    list.transactional_id_pattern.reset();

    DescribeTransactionsRequest describe;
    describe.transactional_ids = {"tx", "nope"};
    auto described = call<DescribeTransactionsResponse>(client, describe, 0);
    ASSERT_EQ(described.transaction_states.size(), 2U);
    const auto& state = described.transaction_states[0];
    EXPECT_EQ(state.error_code, kNone);
    EXPECT_EQ(state.transaction_state, "Ongoing");
    EXPECT_EQ(state.producer_id, p.id);
    EXPECT_EQ(state.producer_epoch, p.epoch);
    EXPECT_EQ(state.transaction_timeout_ms, 60000);
    EXPECT_GT(state.transaction_start_time_ms, 0);
    ASSERT_EQ(state.topics.size(), 1U);
    EXPECT_EQ(state.topics[0].topic, "tx-out");
    EXPECT_EQ(described.transaction_states[1].error_code, 105);  // TRANSACTIONAL_ID_NOT_FOUND
  }
  ASSERT_EQ(produce(client, "tx", p, "tx-out", 0, 1).base_offset, 5);
  {
    DescribeProducersRequest producers;
    producers.topics.push_back({"tx-out", {0}});
    auto described = call<DescribeProducersResponse>(client, producers, 0);
    const auto& active = described.topics.at(0).partitions.at(0).active_producers;
    ASSERT_EQ(active.size(), 1U);
    EXPECT_EQ(active[0].producer_id, p.id);
    EXPECT_EQ(active[0].current_txn_start_offset, 5);
    EXPECT_EQ(active[0].coordinator_epoch, 0);  // of the markers written before
  }

  // A new incarnation while a transaction is ongoing: that transaction is
  // aborted under a bumped epoch (the old producer fenced), the caller retries.
  EXPECT_EQ(init(client, "tx").error_code, kConcurrentTransactions);
  Producer next = init_ok(client, "tx");
  EXPECT_EQ(next.id, p.id);
  EXPECT_EQ(next.epoch, 2);
  EXPECT_EQ(produce(client, "tx", p, "tx-out", 0, 1).error_code, kInvalidProducerEpoch);
  EXPECT_EQ(end_txn(client, "tx", p, true), kProducerFenced);
  EXPECT_EQ(add_partition(client, "tx", p, "tx-out", 0), kProducerFenced);
  committed = fetch(client, "tx-out", 0, 0, 1);
  EXPECT_EQ(committed.last_stable_offset, committed.high_watermark);
  ASSERT_EQ(committed.aborted->size(), 2U);
  EXPECT_EQ(committed.aborted->at(1).first_offset, 5);
  // Only the committed records remain visible to read_committed readers
  // (the client drops the aborted ranges listed).
  EXPECT_EQ(latest(client, "tx-out", 1), committed.high_watermark);
}

// WriteTxnMarkers per partition (what `kafka-transactions abort` sends for a
// hanging transaction): checked against the partition's producer state as
// Kafka checks a marker, then written; the partition's transaction ends there
// while its coordinator still counts it ongoing, as in Kafka.
WriteTxnMarkersResponse write_marker(RawClient& client, const Producer& p, int16_t epoch,
                                     int32_t coordinator_epoch, std::string_view topic,
                                     std::vector<int32_t> partitions, int16_t version = 1) {
  WriteTxnMarkersRequest request;
  auto& marker = request.markers.emplace_back();
  marker.producer_id = p.id;
  marker.producer_epoch = epoch;
  marker.transaction_result = false;  // ABORT
  marker.coordinator_epoch = coordinator_epoch;
  marker.topics.push_back({topic, std::move(partitions)});
  return call<WriteTxnMarkersResponse>(client, request, version);
}

TEST(TransactionsProtocol, WriteTxnMarkersAbortsAHangingTransactionOnItsPartition) {
  BrokerProcess broker;
  RawClient client(broker.port());
  create(client, "tx-hang", 1);
  // One transaction committed (its marker from coordinator epoch 0), then a
  // second one left open, from the producer's next epoch.
  init_ok(client, "hang-id");
  Producer p = init_ok(client, "hang-id");
  ASSERT_EQ(p.epoch, 1);
  ASSERT_EQ(add_partition(client, "hang-id", p, "tx-hang", 0), kNone);
  ASSERT_EQ(produce(client, "hang-id", p, "tx-hang", 0, 2).error_code, kNone);
  ASSERT_EQ(end_txn(client, "hang-id", p, true), kNone);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the markers
  ASSERT_EQ(latest(client, "tx-hang", 1), 3);                   // 2 records and a marker
  ASSERT_EQ(add_partition(client, "hang-id", p, "tx-hang", 0), kNone);
  ASSERT_EQ(produce(client, "hang-id", p, "tx-hang", 0, 3).error_code, kNone);
  EXPECT_EQ(latest(client, "tx-hang", 1), 3) << "the open transaction holds the LSO";

  // Refused: an older producer epoch, an older coordinator epoch, partitions
  // that do not exist; at v0 (not flexible) as at v1.
  auto old_epoch = write_marker(client, p, 0, 0, "tx-hang", {0});
  EXPECT_EQ(old_epoch.markers.at(0).producer_id, p.id);
  EXPECT_EQ(old_epoch.markers.at(0).topics.at(0).name, "tx-hang");
  EXPECT_EQ(old_epoch.markers.at(0).topics.at(0).partitions.at(0).error_code,
            kInvalidProducerEpoch);
  EXPECT_EQ(write_marker(client, p, 1, -1, "tx-hang", {0}, 0)
                .markers.at(0)
                .topics.at(0)
                .partitions.at(0)
                .error_code,
            kTransactionCoordinatorFenced);
  auto missing = write_marker(client, p, 1, 0, "tx-hang", {5});
  EXPECT_EQ(missing.markers.at(0).topics.at(0).partitions.at(0).partition_index, 5);
  EXPECT_EQ(missing.markers.at(0).topics.at(0).partitions.at(0).error_code, 3);
  EXPECT_EQ(write_marker(client, p, 1, 0, "tx-nope", {0})
                .markers.at(0)
                .topics.at(0)
                .partitions.at(0)
                .error_code,
            3);
  EXPECT_EQ(latest(client, "tx-hang", 1), 3) << "nothing was written";

  // The abort: the LSO moves past it, read_committed lists it as aborted, and
  // the producer has no transaction open on the partition any more.
  auto aborted = write_marker(client, p, 1, 0, "tx-hang", {0});
  EXPECT_EQ(aborted.markers.at(0).topics.at(0).partitions.at(0).error_code, kNone);
  EXPECT_EQ(latest(client, "tx-hang", 1), 7);
  const Fetched committed = fetch(client, "tx-hang", 0, 0, 1);
  EXPECT_EQ(committed.last_stable_offset, 7);
  ASSERT_TRUE(committed.aborted.has_value());
  ASSERT_EQ(committed.aborted->size(), 1u);
  EXPECT_EQ(committed.aborted->at(0).producer_id, p.id);
  EXPECT_EQ(committed.aborted->at(0).first_offset, 3);
  DescribeProducersRequest producers;
  producers.topics.push_back({"tx-hang", {0}});
  const auto described = call<DescribeProducersResponse>(client, producers, 0);
  const auto& state = described.topics.at(0).partitions.at(0).active_producers.at(0);
  EXPECT_EQ(state.producer_id, p.id);
  EXPECT_EQ(state.current_txn_start_offset, -1);
  EXPECT_EQ(state.coordinator_epoch, 0);
}

TEST(TransactionsProtocol, OffsetsCommittedInATransactionArePendingUntilItCommits) {
  const std::map<std::string, std::string> config{{"offsets.topic.num.partitions", "3"}};
  BrokerProcess broker(config);
  RawClient client(broker.port());
  create(client, "tx-in", 1);
  Producer p = init_ok(client, "tx-offsets");

  TxnOffsetCommitRequest commit = offset_commit("tx-offsets", p, "tx-in", 42);
  // Before AddOffsetsToTxn the group's partition is not in the transaction.
  EXPECT_EQ(
      call<TxnOffsetCommitResponse>(client, commit, 3).topics.at(0).partitions.at(0).error_code,
      kInvalidTxnState);

  AddOffsetsToTxnRequest add;
  add.transactional_id = "tx-offsets";
  add.producer_id = p.id;
  add.producer_epoch = p.epoch;
  add.group_id = "g";
  ASSERT_EQ(call<AddOffsetsToTxnResponse>(client, add, 3).error_code, kNone);
  ASSERT_EQ(
      call<TxnOffsetCommitResponse>(client, commit, 3).topics.at(0).partitions.at(0).error_code,
      kNone);

  auto offset_fetch = [&](bool require_stable) {
    OffsetFetchRequest request;
    request.group_id = "g";
    request.topics.emplace();
    request.topics->push_back({"tx-in", {0}});
    request.require_stable = require_stable;
    return call<OffsetFetchResponse>(client, request, 7).topics.at(0).partitions.at(0);
  };
  EXPECT_EQ(offset_fetch(true).error_code, kUnstableOffsetCommit);
  EXPECT_EQ(offset_fetch(false).committed_offset, -1);  // not visible before the commit
  ASSERT_EQ(end_txn(client, "tx-offsets", p, true), kNone);
  auto stable = offset_fetch(true);
  EXPECT_EQ(stable.error_code, kNone);
  EXPECT_EQ(stable.committed_offset, 42);

  // Aborted: the offset stays as it was.
  ASSERT_EQ(call<AddOffsetsToTxnResponse>(client, add, 3).error_code, kNone);
  commit.topics[0].partitions[0].committed_offset = 99;
  ASSERT_EQ(
      call<TxnOffsetCommitResponse>(client, commit, 3).topics.at(0).partitions.at(0).error_code,
      kNone);
  ASSERT_EQ(end_txn(client, "tx-offsets", p, false), kNone);
  EXPECT_EQ(offset_fetch(true).committed_offset, 42);

  // After a restart the committed offset is read back from the log.
  broker.stop();
  BrokerProcess again(config, broker.log_dir());
  RawClient client2(again.port());
  OffsetFetchRequest request;
  request.group_id = "g";
  request.topics.emplace();
  request.topics->push_back({"tx-in", {0}});
  request.require_stable = true;
  auto after = call<OffsetFetchResponse>(client2, request, 7).topics.at(0).partitions.at(0);
  EXPECT_EQ(after.error_code, kNone);
  EXPECT_EQ(after.committed_offset, 42);
}

// SIGKILL between PrepareCommit and the markers: the broker finds the
// transaction prepared at start-up and completes the commit.
TEST(TransactionsProtocol, CommitCompletesAfterACrashBetweenPrepareCommitAndTheMarkers) {
  const std::map<std::string, std::string> config{{"transaction.state.log.num.partitions", "5"}};
  const auto dir = make_temp_dir("kb-txn-crash-");
  const std::filesystem::path log_dir = dir / "data";
  auto broker = std::make_unique<BrokerProcess>(config, log_dir);
  Producer p;
  {
    RawClient client(broker->port());
    create(client, "crash-out", 1);
    p = init_ok(client, "crash");
    ASSERT_EQ(add_partition(client, "crash", p, "crash-out", 0), kNone);
    ASSERT_EQ(produce(client, "crash", p, "crash-out", 0, 3).base_offset, 0);
  }
  broker->kill_hard();
  broker.reset();

  // What the coordinator writes first when the commit is asked for: the
  // PrepareCommit record, here appended while the broker is down (so that
  // no marker follows it).
  const int32_t partition = txn::transaction_partition_for("crash", 5);
  {
    auto log =
        storage::PartitionLog::open(log_dir / ("__transaction_state-" + std::to_string(partition)));
    ASSERT_TRUE(log.ok()) << log.error().message;
    txn::TransactionLogValue value;
    value.producer_id = p.id;
    value.producer_epoch = p.epoch;
    value.transaction_timeout_ms = 60000;
    value.transaction_status = 2;  // PrepareCommit
    value.transaction_partitions.emplace();
    value.transaction_partitions->push_back({"crash-out", {0}});
    value.transaction_last_update_timestamp_ms = 1700000000000;
    value.transaction_start_timestamp_ms = 1700000000000;
    const std::vector<uint8_t> key = txn::encode_key("crash");
    const std::vector<uint8_t> bytes = txn::encode_value(value);
    storage::RecordBatchBuilder b;
    b.add_record(storage::Bytes(key), storage::Bytes(bytes), 1700000000000);
    ASSERT_TRUE((*log)->append(b.build()).ok());
    ASSERT_TRUE((*log)->flush().ok());
  }

  BrokerProcess restarted(config, log_dir);
  EXPECT_FALSE(
      restarted.wait_for_log(std::regex("transactional id crash: completing its commit")).empty())
      << restarted.log();
  RawClient client(restarted.port());
  Fetched committed = fetch(client, "crash-out", 0, 0, 1);
  EXPECT_EQ(committed.record_offsets, offsets_from(0, 2));
  EXPECT_EQ(committed.high_watermark, 4);  // the COMMIT marker at 3
  EXPECT_EQ(committed.last_stable_offset, 4);
  EXPECT_TRUE(committed.aborted->empty());
  // The transaction is complete: the next incarnation starts at once.
  auto next = init(client, "crash");
  EXPECT_EQ(next.error_code, kNone);
  EXPECT_EQ(next.producer_epoch, p.epoch + 1);
  restarted.stop();
  std::filesystem::remove_all(dir);
}

// SIGKILL with a transaction ongoing: after the restart its records hold the
// last stable offset (the producer state is rebuilt from the log) until the
// transaction passes its timeout and is aborted.
TEST(TransactionsProtocol, OngoingTransactionAtACrashIsAbortedAtItsTimeout) {
  const std::map<std::string, std::string> config{
      {"transaction.abort.timed.out.transaction.cleanup.interval.ms", "200"}};
  const auto dir = make_temp_dir("kb-txn-open-");
  const std::filesystem::path log_dir = dir / "data";
  auto broker = std::make_unique<BrokerProcess>(config, log_dir);
  Producer p;
  {
    RawClient client(broker->port());
    create(client, "open-out", 1);
    p = init_ok(client, "open", 3000);
    ASSERT_EQ(add_partition(client, "open", p, "open-out", 0), kNone);
    ASSERT_EQ(produce(client, "open", p, "open-out", 0, 2).base_offset, 0);
  }
  broker->kill_hard();
  broker.reset();

  BrokerProcess restarted(config, log_dir);
  RawClient client(restarted.port());
  Fetched held = fetch(client, "open-out", 0, 0, 1);
  EXPECT_EQ(held.last_stable_offset, 0);
  EXPECT_TRUE(held.record_offsets.empty());
  Fetched done;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    done = fetch(client, "open-out", 0, 0, 1);
    if (done.last_stable_offset == 3) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(done.last_stable_offset, 3) << restarted.log();
  ASSERT_TRUE(done.aborted.has_value());
  ASSERT_EQ(done.aborted->size(), 1U);
  EXPECT_EQ(done.aborted->at(0).first_offset, 0);
  // The producer was fenced by the abort.
  EXPECT_EQ(end_txn(client, "open", p, true), kProducerFenced);
  restarted.stop();
  std::filesystem::remove_all(dir);
}

// kafkajs (its pinned version, clients/kafkajs): committed and aborted
// transactions of records and of a group's offsets (sendOffsets), read back by
// its read_committed consumer: the committed records once each, no aborted
// one, the group's offset the last committed.
TEST(TransactionalClients, KafkajsCommitsAndAbortsRecordsAndOffsets) {
  if (!node_available())
    GTEST_SKIP() << "node/npm are not installed (scripts/install-deps.sh test)";
  const std::filesystem::path clients = KB_CLIENT_SCRIPTS_DIR;
  std::filesystem::path node_modules;
  auto installed = install_kafkajs(clients, KB_TEST_CACHE_DIR, node_modules);
  ASSERT_EQ(installed.status, 0) << "npm ci failed:\n" << installed.output;
  BrokerProcess broker(
      std::map<std::string, std::string>{{"group.initial.rebalance.delay.ms", "0"}});
  auto r = run_command(kafkajs_script(node_modules, clients, "transactions.js") +
                           " 127.0.0.1:" + std::to_string(broker.port()) + " kjs",
                       120);
  ASSERT_EQ(r.status, 0) << r.output << "\nbroker log:\n" << broker.log();
  EXPECT_NE(r.output.find("ok 50 committed records, 2 aborted transactions, offset 50"),
            std::string::npos)
      << r.output;
}

// ---- Transactions v2 (KIP-890 part 2), as docs/transactions-v2.md records
// Kafka 4.4 serving them: the request versions decide (Produce 12,
// TxnOffsetCommit 5, EndTxn 5), and every end bumps the epoch.

constexpr int16_t kOutOfOrderSequence = 45;
constexpr int16_t kInvalidProducerIdMapping = 49;

struct Ended {
  int16_t error = 0;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
};

Ended end_txn_v5(RawClient& client, std::string_view transactional_id, int64_t producer_id,
                 int16_t epoch, bool commit) {
  EndTxnRequest request;
  request.transactional_id = transactional_id;
  request.producer_id = producer_id;
  request.producer_epoch = epoch;
  request.committed = commit;
  const auto r = call<EndTxnResponse>(client, request, 5);
  return {r.error_code, r.producer_id, r.producer_epoch};
}

// EndTxn 5 as the 4.4 producer handles its answer: adopt the id and epoch,
// sequences from 0.
Ended end_v2(RawClient& client, std::string_view transactional_id, Producer& p, bool commit) {
  const Ended ended = end_txn_v5(client, transactional_id, p.id, p.epoch, commit);
  if (ended.error == kNone && ended.producer_id >= 0)
    p = {ended.producer_id, ended.producer_epoch, 0};
  return ended;
}

// Every record up to the end (read_committed: the last stable offset),
// fetch after fetch: a fetch reads within one segment, and the markers'
// timestamps (now) roll the segments of these old-timestamped records.
Fetched fetch_all(RawClient& client, std::string_view topic, int8_t isolation) {
  Fetched all;
  all.aborted.emplace();
  int64_t offset = 0;
  for (int i = 0; i < 100; ++i) {
    Fetched part = fetch(client, topic, 0, offset, isolation);
    all.error = part.error;
    all.high_watermark = part.high_watermark;
    all.last_stable_offset = part.last_stable_offset;
    if (part.aborted)
      all.aborted->insert(all.aborted->end(), part.aborted->begin(), part.aborted->end());
    all.record_offsets.insert(all.record_offsets.end(), part.record_offsets.begin(),
                              part.record_offsets.end());
    const int64_t end = isolation == 1 ? part.last_stable_offset : part.high_watermark;
    if (part.error != kNone || offset >= end) break;
    // Past what this fetch returned: the next record, or the next offset.
    offset = part.record_offsets.empty() ? offset + 1 : part.record_offsets.back() + 1;
  }
  return all;
}

protocol::DescribeTransactionsResponse::TransactionState describe(RawClient& client,
                                                                  std::string_view id) {
  DescribeTransactionsRequest request;
  request.transactional_ids = {id};
  return call<DescribeTransactionsResponse>(client, request, 0).transaction_states.at(0);
}

TEST(TransactionsV2Protocol, ApiVersionsFinalizeTransactionVersion2) {
  BrokerProcess broker;
  RawClient client(broker.port());
  create(client, "tv2-any", 1);  // the metadata log's first records: its features
  // ApiVersions answers with response header 0 at every version.
  client.send_bytes(encode_request(ApiVersionsRequest{}, 3, 77));
  const auto frame = client.read_frame();
  ASSERT_TRUE(frame);
  const ResponseFrame split = split_response(*frame, false);
  const auto r = decode_response<ApiVersionsResponse>(split.body, 3);
  std::map<std::string, std::pair<int16_t, int16_t>> finalized;
  for (const auto& f : r.finalized_features)
    finalized[f.name] = {f.min_version_level, f.max_version_level};
  EXPECT_EQ(finalized["transaction.version"], (std::pair<int16_t, int16_t>{2, 2}));
  // The Java producer believes a feature map only with an epoch of 0 or more.
  EXPECT_GE(r.finalized_features_epoch, 0);
  std::map<int16_t, int16_t> max;
  for (const auto& k : r.api_keys) max[k.api_key] = k.max_version;
  EXPECT_EQ(max[0], 13);  // Produce
  EXPECT_EQ(max[26], 5);  // EndTxn
  EXPECT_EQ(max[27], 2);  // WriteTxnMarkers
  EXPECT_EQ(max[28], 6);  // TxnOffsetCommit
}

TEST(TransactionsV2Protocol, ProduceAddsItsPartitionAndEveryEndBumpsTheEpoch) {
  BrokerProcess broker;
  RawClient client(broker.port());
  create(client, "tv2-out", 1);
  Producer p = init_ok(client, "tv2");
  const int64_t pid = p.id;
  // No AddPartitionsToTxn: Produce 12 adds the partition itself.
  ASSERT_EQ(produce(client, "tv2", p, "tv2-out", 0, 2, 12).base_offset, 0);
  auto described = describe(client, "tv2");
  EXPECT_EQ(described.transaction_state, "Ongoing");
  ASSERT_EQ(described.topics.size(), 1U);
  EXPECT_EQ(described.topics[0].topic, "tv2-out");
  ASSERT_EQ(produce(client, "tv2", p, "tv2-out", 0, 1, 12).base_offset, 2);
  EXPECT_TRUE(fetch(client, "tv2-out", 0, 0, 1).record_offsets.empty());

  Ended ended = end_v2(client, "tv2", p, true);
  ASSERT_EQ(ended.error, kNone);
  EXPECT_EQ(ended.producer_id, pid);
  EXPECT_EQ(ended.producer_epoch, 1);
  EXPECT_EQ(describe(client, "tv2").producer_epoch, 1);
  Fetched committed = fetch(client, "tv2-out", 0, 0, 1);
  EXPECT_EQ(committed.record_offsets, offsets_from(0, 2));
  EXPECT_EQ(committed.last_stable_offset, 4);  // the COMMIT marker at 3
  // The marker carried the bumped epoch: the partition's producer is at 1,
  // with no sequence to continue from.
  DescribeProducersRequest producers;
  producers.topics.push_back({"tv2-out", {0}});
  auto state = call<DescribeProducersResponse>(client, producers, 0)
                   .topics.at(0)
                   .partitions.at(0)
                   .active_producers.at(0);
  EXPECT_EQ(state.producer_epoch, 1);
  EXPECT_EQ(state.last_sequence, -1);
  EXPECT_EQ(state.current_txn_start_offset, -1);

  // The next transaction: the old epoch is refused by the partition, a first
  // batch not at sequence 0 is out of order, then it goes on and aborts.
  Producer stale{pid, 0, 3};
  EXPECT_EQ(produce(client, "tv2", stale, "tv2-out", 0, 1, 12).error_code, kInvalidProducerEpoch);
  Producer gap = p;
  gap.sequence = 5;
  EXPECT_EQ(produce(client, "tv2", gap, "tv2-out", 0, 1, 12).error_code, kOutOfOrderSequence);
  ASSERT_EQ(produce(client, "tv2", p, "tv2-out", 0, 2, 12).base_offset, 4);
  ended = end_v2(client, "tv2", p, false);
  ASSERT_EQ(ended.error, kNone);
  EXPECT_EQ(ended.producer_epoch, 2);
  committed = fetch(client, "tv2-out", 0, 0, 1);
  EXPECT_EQ(committed.record_offsets, offsets_from(0, 2));
  ASSERT_EQ(committed.aborted->size(), 1U);
  EXPECT_EQ(committed.aborted->at(0).first_offset, 4);
  EXPECT_EQ(fetch_all(client, "tv2-out", 0).record_offsets, (std::vector<int64_t>{0, 1, 2, 4, 5}));

  // Retries of that abort (its answer lost) get the same answer; a commit at
  // that epoch is invalid, an older epoch fenced.
  ended = end_txn_v5(client, "tv2", pid, 1, false);
  EXPECT_EQ(ended.error, kNone);
  EXPECT_EQ(ended.producer_epoch, 2);
  ended = end_txn_v5(client, "tv2", pid, 1, true);
  EXPECT_EQ(ended.error, kInvalidTxnState);
  EXPECT_EQ(ended.producer_id, -1);
  EXPECT_EQ(ended.producer_epoch, -1);
  EXPECT_EQ(end_txn_v5(client, "tv2", pid, 0, false).error, kProducerFenced);
  // An abort with nothing sent still ends (and bumps); a commit does not.
  EXPECT_EQ(end_txn_v5(client, "tv2", pid, 2, true).error, kInvalidTxnState);
  ended = end_v2(client, "tv2", p, false);
  EXPECT_EQ(ended.error, kNone);
  EXPECT_EQ(ended.producer_epoch, 3);
  EXPECT_EQ(describe(client, "tv2").transaction_state, "CompleteAbort");
}

TEST(TransactionsV2Protocol, TxnOffsetCommit5AddsTheGroupsPartition) {
  const std::map<std::string, std::string> config{{"offsets.topic.num.partitions", "3"}};
  BrokerProcess broker(config);
  RawClient client(broker.port());
  create(client, "tv2-in", 1);
  Producer p = init_ok(client, "tv2-offsets");
  TxnOffsetCommitRequest commit = offset_commit("tv2-offsets", p, "tv2-in", 42);
  // No AddOffsetsToTxn: version 5 adds the group's partition.
  ASSERT_EQ(
      call<TxnOffsetCommitResponse>(client, commit, 5).topics.at(0).partitions.at(0).error_code,
      kNone);
  const auto described = describe(client, "tv2-offsets");
  ASSERT_EQ(described.topics.size(), 1U);
  EXPECT_EQ(described.topics[0].topic, "__consumer_offsets");
  auto offset_fetch = [&] {
    OffsetFetchRequest request;
    request.group_id = "g";
    request.topics.emplace();
    request.topics->push_back({"tv2-in", {0}});
    request.require_stable = true;
    return call<OffsetFetchResponse>(client, request, 7).topics.at(0).partitions.at(0);
  };
  EXPECT_EQ(offset_fetch().error_code, kUnstableOffsetCommit);
  ASSERT_EQ(end_v2(client, "tv2-offsets", p, true).error, kNone);
  EXPECT_EQ(offset_fetch().committed_offset, 42);
  // The old epoch is fenced (as INVALID_PRODUCER_EPOCH); the new one commits.
  EXPECT_EQ(
      call<TxnOffsetCommitResponse>(client, commit, 5).topics.at(0).partitions.at(0).error_code,
      kInvalidProducerEpoch);
  commit.producer_epoch = p.epoch;
  commit.topics[0].partitions[0].committed_offset = 50;
  ASSERT_EQ(
      call<TxnOffsetCommitResponse>(client, commit, 5).topics.at(0).partitions.at(0).error_code,
      kNone);
  ASSERT_EQ(end_v2(client, "tv2-offsets", p, false).error, kNone);
  EXPECT_EQ(offset_fetch().committed_offset, 42);
}

TEST(TransactionsV2Protocol, RefusalsAsKafkas) {
  BrokerProcess broker;
  RawClient client(broker.port());
  create(client, "tv2-neg", 2);
  Producer p = init_ok(client, "tv2-neg");
  Producer other = init_ok(client, "tv2-neg-other");

  // Transactional batches of two producers in one request: all refused.
  {
    storage::RecordBatchBuilder a, b;
    a.set_producer_id(p.id).set_producer_epoch(p.epoch).set_base_sequence(0);
    b.set_producer_id(other.id).set_producer_epoch(other.epoch).set_base_sequence(0);
    a.set_transactional(true);
    b.set_transactional(true);
    const std::string value = "x";
    const storage::Bytes bytes(reinterpret_cast<const uint8_t*>(value.data()), value.size());
    a.add_record(std::nullopt, bytes, 1700000000000);
    b.add_record(std::nullopt, bytes, 1700000000000);
    const std::vector<uint8_t> batch_a = a.build(), batch_b = b.build();
    ProduceRequest request;
    request.transactional_id = "tv2-neg";
    request.acks = -1;
    request.timeout_ms = 5000;
    auto& t = request.topic_data.emplace_back();
    t.name = "tv2-neg";
    t.partition_data.push_back({0, storage::Bytes(batch_a)});
    t.partition_data.push_back({1, storage::Bytes(batch_b)});
    auto r = call<ProduceResponse>(client, request, 12).responses.at(0);
    EXPECT_EQ(r.partition_responses.at(0).error_code, kInvalidProducerIdMapping);
    EXPECT_EQ(r.partition_responses.at(1).error_code, kInvalidProducerIdMapping);
  }
  // A data batch of a transactional id that is not its producer's.
  Producer wrong = other;
  EXPECT_EQ(produce(client, "tv2-neg", wrong, "tv2-neg", 0, 1, 12).error_code,
            kInvalidProducerIdMapping);

  // The broker form of AddPartitionsToTxn adding (verify_only false).
  auto add_v4 = [&](int64_t id, int16_t epoch) {
    AddPartitionsToTxnRequest request;
    AddPartitionsToTxnRequest::AddPartitionsToTxnTransaction txn;
    txn.transactional_id = "tv2-neg";
    txn.producer_id = id;
    txn.producer_epoch = epoch;
    txn.verify_only = false;
    txn.topics = {{"tv2-neg", {1}}};
    request.transactions.push_back(txn);
    return call<AddPartitionsToTxnResponse>(client, request, 5)
        .results_by_transaction.at(0)
        .topic_results.at(0)
        .results_by_partition.at(0)
        .partition_error_code;
  };
  EXPECT_EQ(add_v4(p.id, static_cast<int16_t>(p.epoch + 1)), kProducerFenced);
  EXPECT_EQ(add_v4(p.id + 100, p.epoch), kInvalidProducerIdMapping);
  ASSERT_EQ(add_v4(p.id, p.epoch), kNone);
  EXPECT_EQ(describe(client, "tv2-neg").transaction_state, "Ongoing");

  // WriteTxnMarkers 2: a transactions-v2 marker at the open transaction's
  // own epoch is stale; a version 0 one (the admin's abort) is not.
  ASSERT_EQ(produce(client, "tv2-neg", p, "tv2-neg", 0, 2, 12).base_offset, 0);
  auto marker_v2 = [&](int8_t transaction_version) {
    WriteTxnMarkersRequest request;
    auto& marker = request.markers.emplace_back();
    marker.producer_id = p.id;
    marker.producer_epoch = p.epoch;
    marker.transaction_result = false;
    marker.coordinator_epoch = 0;
    marker.transaction_version = transaction_version;
    marker.topics.push_back({"tv2-neg", {0}});
    return call<WriteTxnMarkersResponse>(client, request, 2)
        .markers.at(0)
        .topics.at(0)
        .partitions.at(0)
        .error_code;
  };
  EXPECT_EQ(marker_v2(2), kInvalidProducerEpoch);
  EXPECT_EQ(latest(client, "tv2-neg", 1), 0) << "still open";
  EXPECT_EQ(marker_v2(0), kNone);
  EXPECT_EQ(latest(client, "tv2-neg", 1), 3);
  // Nothing is open on the partition now: the same v2 marker again is taken
  // as a resent one.
  EXPECT_EQ(marker_v2(2), kNone);
}

// Kafka's producer id rotation under transactions v2: the commit at the last
// usable epoch (32766) answers a new producer id at epoch 0; its markers
// carry the old id at 32767.
TEST(TransactionsV2Protocol, ExhaustedEpochRotatesTheProducerIdAtTheCommit) {
  BrokerProcess broker;
  RawClient client(broker.port());
  create(client, "tv2-rot", 1);
  Producer p = init_ok(client, "tv2-rot");
  const int64_t first_id = p.id;
  // InitProducerId bumps once per call: 32765 of them.
  for (int i = 0; i < 32765; ++i) {
    InitProducerIdRequest request;
    request.transactional_id = "tv2-rot";
    request.transaction_timeout_ms = 60000;
    request.producer_id = p.id;
    request.producer_epoch = p.epoch;
    auto r = call<InitProducerIdResponse>(client, request, 4);
    ASSERT_EQ(r.error_code, kNone) << i;
    p.epoch = r.producer_epoch;
  }
  ASSERT_EQ(p.epoch, 32765);
  ASSERT_EQ(produce(client, "tv2-rot", p, "tv2-rot", 0, 1, 12).error_code, kNone);
  ASSERT_EQ(end_v2(client, "tv2-rot", p, true).error, kNone);
  ASSERT_EQ(p.id, first_id);
  ASSERT_EQ(p.epoch, 32766);
  ASSERT_EQ(produce(client, "tv2-rot", p, "tv2-rot", 0, 1, 12).error_code, kNone);
  const Ended rotated = end_v2(client, "tv2-rot", p, true);
  ASSERT_EQ(rotated.error, kNone);
  EXPECT_NE(rotated.producer_id, first_id);
  EXPECT_EQ(rotated.producer_epoch, 0);
  // A retry of that commit from the old id gets the new one.
  const Ended retried = end_txn_v5(client, "tv2-rot", first_id, 32766, true);
  EXPECT_EQ(retried.error, kNone);
  EXPECT_EQ(retried.producer_id, rotated.producer_id);
  EXPECT_EQ(retried.producer_epoch, 0);
  DescribeProducersRequest producers;
  producers.topics.push_back({"tv2-rot", {0}});
  auto states = call<DescribeProducersResponse>(client, producers, 0)
                    .topics.at(0)
                    .partitions.at(0)
                    .active_producers;
  ASSERT_EQ(states.size(), 1U);
  EXPECT_EQ(states[0].producer_id, first_id);
  EXPECT_EQ(states[0].producer_epoch, 32767);  // the marker's
  // The new id goes on at sequence 0.
  ASSERT_EQ(produce(client, "tv2-rot", p, "tv2-rot", 0, 2, 12).base_offset, 4);
  ASSERT_EQ(end_v2(client, "tv2-rot", p, true).error, kNone);
  EXPECT_EQ(p.epoch, 1);
  EXPECT_EQ(fetch_all(client, "tv2-rot", 1).record_offsets, (std::vector<int64_t>{0, 2, 4, 5}));
}

}  // namespace
}  // namespace kb::testing
