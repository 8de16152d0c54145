#include "kb/txn/coordinator.hpp"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "kb/protocol/error_code.hpp"
#include "kb/txn/records.hpp"

namespace kb::txn {
namespace {

using protocol::ErrorCode;
using protocol::to_wire;

// Keeps what was written, in order, and can be told to fail.
class MemoryStore final : public TxnStore {
 public:
  bool ready() override { return true; }
  int16_t transaction_version() override { return finalized_tv; }
  bool append(int32_t partition, std::span<const cluster::CoordinatorRecord> records) override {
    if (fail) return false;
    for (const auto& r : records) written.push_back({partition, r});
    return true;
  }
  // The states written for an id, in order (Dead for a tombstone).
  std::vector<TxnState> states_of(const std::string& id) const {
    std::vector<TxnState> states;
    for (const auto& [partition, r] : written) {
      if (decode_key(r.key) != id) continue;
      if (!r.value) {
        states.push_back(TxnState::kDead);
        continue;
      }
      states.push_back(static_cast<TxnState>(decode_value(*r.value)->transaction_status));
    }
    return states;
  }
  void replay_into(TransactionCoordinator& coordinator) const {
    for (const auto& [partition, r] : written) {
      std::optional<std::span<const uint8_t>> value;
      if (r.value) value = std::span<const uint8_t>(*r.value);
      ASSERT_TRUE(coordinator.load(r.key, value));
    }
  }

  // The values written for an id, in order (tombstones left out).
  std::vector<TransactionLogValue> values_of(const std::string& id) const {
    std::vector<TransactionLogValue> values;
    for (const auto& [partition, r] : written)
      if (decode_key(r.key) == id && r.value) values.push_back(*decode_value(*r.value));
    return values;
  }
  // The value version of the last record written.
  int16_t last_version() const {
    const auto& v = *written.back().second.value;
    return static_cast<int16_t>((v[0] << 8) | v[1]);
  }

  bool fail = false;
  int16_t finalized_tv = 0;
  std::vector<std::pair<int32_t, cluster::CoordinatorRecord>> written;
};

class MemoryMarkers final : public MarkerWriter {
 public:
  struct Marker {
    int64_t producer_id;
    int16_t epoch;
    bool commit;
    TopicPartition partition;
  };
  std::vector<TopicPartition> write_markers(int64_t producer_id, int16_t producer_epoch,
                                            bool commit, int32_t /*coordinator_epoch*/,
                                            std::span<const TopicPartition> partitions) override {
    std::vector<TopicPartition> failed;
    for (const auto& tp : partitions) {
      if (failing.contains(tp)) {
        failed.push_back(tp);
        continue;
      }
      written.push_back({producer_id, producer_epoch, commit, tp});
    }
    return failed;
  }
  std::set<TopicPartition> failing;
  std::vector<Marker> written;
};

class TxnCoordinatorTest : public ::testing::Test {
 protected:
  TransactionCoordinator make() {
    return TransactionCoordinator(config_, &store_, &markers_,
                                  [this]() -> std::optional<int64_t> { return next_id_++; });
  }

  TxnConfig config_;
  MemoryStore store_;
  MemoryMarkers markers_;
  int64_t next_id_ = 1000;
  Millis now_ = 1'700'000'000'000;
  const std::vector<TopicPartition> parts_ = {{"out", 0}, {"out", 1}};
};

constexpr int16_t kNone = 0;

TEST(TxnStateTest, TransitionsAreKafkas) {
  using S = TxnState;
  EXPECT_TRUE(valid_transition(S::kEmpty, S::kOngoing));
  EXPECT_TRUE(valid_transition(S::kOngoing, S::kOngoing));
  EXPECT_TRUE(valid_transition(S::kOngoing, S::kPrepareCommit));
  EXPECT_TRUE(valid_transition(S::kOngoing, S::kPrepareAbort));
  EXPECT_TRUE(valid_transition(S::kOngoing, S::kPrepareEpochFence));
  EXPECT_TRUE(valid_transition(S::kPrepareEpochFence, S::kPrepareAbort));
  EXPECT_TRUE(valid_transition(S::kPrepareCommit, S::kCompleteCommit));
  EXPECT_TRUE(valid_transition(S::kPrepareAbort, S::kCompleteAbort));
  EXPECT_TRUE(valid_transition(S::kCompleteCommit, S::kOngoing));
  EXPECT_TRUE(valid_transition(S::kCompleteAbort, S::kEmpty));
  EXPECT_TRUE(valid_transition(S::kCompleteAbort, S::kDead));
  EXPECT_FALSE(valid_transition(S::kEmpty, S::kPrepareCommit));
  EXPECT_FALSE(valid_transition(S::kPrepareCommit, S::kCompleteAbort));
  EXPECT_FALSE(valid_transition(S::kPrepareAbort, S::kCompleteCommit));
  EXPECT_FALSE(valid_transition(S::kPrepareCommit, S::kOngoing));
  EXPECT_FALSE(valid_transition(S::kOngoing, S::kDead));
  EXPECT_FALSE(valid_transition(S::kEmpty, S::kCompleteCommit));
  EXPECT_FALSE(valid_transition(S::kDead, S::kEmpty));
  for (int8_t s = 0; s <= 7; ++s)
    EXPECT_EQ(parse_txn_state(to_string(static_cast<TxnState>(s))), static_cast<TxnState>(s));
}

TEST(TxnRecordsTest, ValueRoundTripsAtBothVersions) {
  TransactionLogValue value;
  value.producer_id = 7;
  value.producer_epoch = 3;
  value.transaction_timeout_ms = 60000;
  value.transaction_status = 1;
  value.transaction_partitions = {{"a", {0, 2}}, {"b", {1}}};
  value.transaction_last_update_timestamp_ms = 10;
  value.transaction_start_timestamp_ms = 5;
  value.previous_producer_id = 4;
  for (int16_t version : {int16_t{0}, int16_t{1}}) {
    auto decoded = decode_value(encode_value(value, version));
    ASSERT_TRUE(decoded);
    EXPECT_EQ(decoded->producer_id, 7);
    EXPECT_EQ(decoded->producer_epoch, 3);
    EXPECT_EQ(decoded->transaction_status, 1);
    ASSERT_TRUE(decoded->transaction_partitions);
    EXPECT_EQ(decoded->transaction_partitions->size(), 2U);
    EXPECT_EQ((*decoded->transaction_partitions)[0].partition_ids, (std::vector<int32_t>{0, 2}));
    EXPECT_EQ(decoded->transaction_start_timestamp_ms, 5);
    // The tagged field exists from version 1 only.
    EXPECT_EQ(decoded->previous_producer_id, version == 1 ? 4 : -1);
  }
  // Kafka's bytes for a key: int16 version 0, then the string.
  EXPECT_EQ(encode_key("t"), (std::vector<uint8_t>{0, 0, 0, 1, 't'}));
  EXPECT_EQ(decode_key(encode_key("tx-1")), "tx-1");
  EXPECT_FALSE(decode_value(std::vector<uint8_t>{0, 2, 1}));  // version 2: unknown
  EXPECT_FALSE(decode_value(std::vector<uint8_t>{0, 0, 1}));  // truncated
}

TEST_F(TxnCoordinatorTest, CommitWritesEveryTransitionBeforeItTakesEffect) {
  auto coordinator = make();
  InitResult init = coordinator.init_producer_id("tx", 60000, std::nullopt, now_);
  ASSERT_EQ(init.error, kNone);
  EXPECT_EQ(init.producer_id, 1000);
  EXPECT_EQ(init.producer_epoch, 0);
  ASSERT_EQ(coordinator.add_partitions("tx", init.producer_id, 0, parts_, now_), kNone);
  // Adding what is already in adds nothing (no record).
  const size_t written = store_.written.size();
  ASSERT_EQ(coordinator.add_partitions("tx", init.producer_id, 0, {&parts_[0], 1}, now_), kNone);
  EXPECT_EQ(store_.written.size(), written);
  EXPECT_EQ(coordinator.verify_partitions("tx", init.producer_id, 0,
                                          std::vector<TopicPartition>{{"out", 1}, {"out", 9}}),
            (std::vector<int16_t>{kNone, to_wire(ErrorCode::kTransactionAbortable)}));
  InitResult ended = coordinator.end_txn("tx", init.producer_id, 0, true, now_);
  EXPECT_EQ(ended.error, kNone);
  EXPECT_EQ(store_.states_of("tx"),
            (std::vector<TxnState>{TxnState::kEmpty, TxnState::kOngoing, TxnState::kPrepareCommit,
                                   TxnState::kCompleteCommit}));
  ASSERT_EQ(markers_.written.size(), 2U);
  EXPECT_TRUE(markers_.written[0].commit);
  EXPECT_EQ(markers_.written[0].producer_id, init.producer_id);
  const TxnMetadata* txn = coordinator.find("tx");
  EXPECT_EQ(txn->state, TxnState::kCompleteCommit);
  EXPECT_TRUE(txn->partitions.empty());
  // A retried EndTxn of the same kind succeeds; the other kind is invalid.
  EXPECT_EQ(coordinator.end_txn("tx", init.producer_id, 0, true, now_).error, kNone);
  EXPECT_EQ(coordinator.end_txn("tx", init.producer_id, 0, false, now_).error,
            to_wire(ErrorCode::kInvalidTxnState));
  // Every record went to the id's partition of __transaction_state.
  for (const auto& [partition, r] : store_.written)
    EXPECT_EQ(partition, transaction_partition_for("tx", 50));
}

TEST_F(TxnCoordinatorTest, AbortAndInvalidRequests) {
  auto coordinator = make();
  InitResult init = coordinator.init_producer_id("tx", 60000, std::nullopt, now_);
  EXPECT_EQ(coordinator.end_txn("tx", init.producer_id, 0, true, now_).error,
            to_wire(ErrorCode::kInvalidTxnState));  // Empty
  EXPECT_EQ(coordinator.add_partitions("tx", init.producer_id + 1, 0, parts_, now_),
            to_wire(ErrorCode::kInvalidProducerIdMapping));
  EXPECT_EQ(coordinator.add_partitions("nope", init.producer_id, 0, parts_, now_),
            to_wire(ErrorCode::kInvalidProducerIdMapping));
  EXPECT_EQ(coordinator.add_partitions("tx", init.producer_id, 1, parts_, now_),
            to_wire(ErrorCode::kProducerFenced));
  ASSERT_EQ(coordinator.add_partitions("tx", init.producer_id, 0, parts_, now_), kNone);
  ASSERT_EQ(coordinator.end_txn("tx", init.producer_id, 0, false, now_).error, kNone);
  EXPECT_EQ(coordinator.find("tx")->state, TxnState::kCompleteAbort);
  ASSERT_EQ(markers_.written.size(), 2U);
  EXPECT_FALSE(markers_.written[0].commit);
  EXPECT_EQ(coordinator.init_producer_id("tx", 0, std::nullopt, now_).error,
            to_wire(ErrorCode::kInvalidTransactionTimeout));
  EXPECT_EQ(
      coordinator.init_producer_id("tx", config_.max_timeout_ms + 1, std::nullopt, now_).error,
      to_wire(ErrorCode::kInvalidTransactionTimeout));
  EXPECT_EQ(coordinator.init_producer_id("", 1000, std::nullopt, now_).error,
            to_wire(ErrorCode::kInvalidRequest));
}

TEST_F(TxnCoordinatorTest, NewIncarnationFencesAndAbortsTheOngoingTransaction) {
  auto coordinator = make();
  InitResult first = coordinator.init_producer_id("tx", 60000, std::nullopt, now_);
  ASSERT_EQ(coordinator.add_partitions("tx", first.producer_id, 0, parts_, now_), kNone);
  // The new incarnation: its ongoing transaction is aborted at a bumped epoch
  // first, and it is told to retry.
  InitResult second = coordinator.init_producer_id("tx", 60000, std::nullopt, now_);
  EXPECT_EQ(second.error, to_wire(ErrorCode::kConcurrentTransactions));
  ASSERT_EQ(markers_.written.size(), 2U);
  EXPECT_FALSE(markers_.written[0].commit);
  EXPECT_EQ(markers_.written[0].epoch, 1);
  EXPECT_EQ(coordinator.find("tx")->state, TxnState::kCompleteAbort);
  second = coordinator.init_producer_id("tx", 60000, std::nullopt, now_);
  ASSERT_EQ(second.error, kNone);
  EXPECT_EQ(second.producer_id, first.producer_id);
  EXPECT_EQ(second.producer_epoch, 2);
  // The old incarnation is fenced everywhere.
  EXPECT_EQ(coordinator.add_partitions("tx", first.producer_id, 0, parts_, now_),
            to_wire(ErrorCode::kProducerFenced));
  EXPECT_EQ(coordinator.end_txn("tx", first.producer_id, 0, true, now_).error,
            to_wire(ErrorCode::kProducerFenced));
  EXPECT_EQ(coordinator.verify_partitions("tx", first.producer_id, 0, parts_),
            (std::vector<int16_t>(2, to_wire(ErrorCode::kProducerFenced))));
  // InitProducerId v3+ with the producer's own id and epoch bumps it; an
  // unknown id is fenced; a retry with the previous epoch gets the same.
  InitResult third = coordinator.init_producer_id(
      "tx", 60000, ProducerIdAndEpoch{second.producer_id, second.producer_epoch}, now_);
  ASSERT_EQ(third.error, kNone);
  EXPECT_EQ(third.producer_epoch, 3);
  EXPECT_EQ(
      coordinator
          .init_producer_id("tx", 60000,
                            ProducerIdAndEpoch{second.producer_id, second.producer_epoch}, now_)
          .producer_epoch,
      3);
  EXPECT_EQ(coordinator.init_producer_id("tx", 60000, ProducerIdAndEpoch{4242, 0}, now_).error,
            to_wire(ErrorCode::kProducerFenced));
  EXPECT_EQ(
      coordinator.init_producer_id("tx", 60000, ProducerIdAndEpoch{third.producer_id, 0}, now_)
          .error,
      to_wire(ErrorCode::kProducerFenced));
}

TEST_F(TxnCoordinatorTest, ExhaustedEpochRotatesTheProducerId) {
  auto coordinator = make();
  InitResult init = coordinator.init_producer_id("tx", 60000, std::nullopt, now_);
  // Bring the epoch to the limit through the log (as a replay would).
  TxnMetadata txn = *coordinator.find("tx");
  TransactionLogValue value;
  value.producer_id = txn.producer_id;
  value.producer_epoch = 32766;
  value.transaction_timeout_ms = 60000;
  value.transaction_status = static_cast<int8_t>(TxnState::kCompleteCommit);
  value.transaction_partitions.emplace();
  ASSERT_TRUE(coordinator.load(encode_key("tx"), encode_value(value)));
  InitResult rotated = coordinator.init_producer_id("tx", 60000, std::nullopt, now_);
  ASSERT_EQ(rotated.error, kNone);
  EXPECT_NE(rotated.producer_id, init.producer_id);
  EXPECT_EQ(rotated.producer_epoch, 0);
  EXPECT_EQ(coordinator.find("tx")->previous_producer_id, init.producer_id);
  EXPECT_EQ(coordinator.find_by_producer(rotated.producer_id)->transactional_id, "tx");
  EXPECT_EQ(coordinator.find_by_producer(init.producer_id), nullptr);
}

TEST_F(TxnCoordinatorTest, FailedWritesChangeNothing) {
  auto coordinator = make();
  store_.fail = true;
  EXPECT_EQ(coordinator.init_producer_id("tx", 60000, std::nullopt, now_).error,
            to_wire(ErrorCode::kCoordinatorNotAvailable));
  EXPECT_EQ(coordinator.find("tx"), nullptr);
  store_.fail = false;
  InitResult init = coordinator.init_producer_id("tx", 60000, std::nullopt, now_);
  ASSERT_EQ(coordinator.add_partitions("tx", init.producer_id, 0, parts_, now_), kNone);
  store_.fail = true;
  EXPECT_EQ(coordinator.end_txn("tx", init.producer_id, 0, true, now_).error,
            to_wire(ErrorCode::kCoordinatorNotAvailable));
  EXPECT_EQ(coordinator.find("tx")->state, TxnState::kOngoing);
  EXPECT_TRUE(markers_.written.empty());  // no marker before PrepareCommit is written
  EXPECT_EQ(coordinator.init_producer_id("tx", 60000, std::nullopt, now_).error,
            to_wire(ErrorCode::kCoordinatorNotAvailable));
  EXPECT_EQ(coordinator.find("tx")->producer_epoch, 0);  // the fence did not take effect
}

TEST_F(TxnCoordinatorTest, FailedMarkersAreRetriedAndHoldTheTransaction) {
  auto coordinator = make();
  InitResult init = coordinator.init_producer_id("tx", 60000, std::nullopt, now_);
  ASSERT_EQ(coordinator.add_partitions("tx", init.producer_id, 0, parts_, now_), kNone);
  markers_.failing.insert(parts_[1]);
  // PrepareCommit is durable: the commit is decided, EndTxn succeeds.
  EXPECT_EQ(coordinator.end_txn("tx", init.producer_id, 0, true, now_).error, kNone);
  EXPECT_EQ(coordinator.find("tx")->state, TxnState::kPrepareCommit);
  EXPECT_EQ(coordinator.add_partitions("tx", init.producer_id, 0, parts_, now_),
            to_wire(ErrorCode::kConcurrentTransactions));
  EXPECT_EQ(coordinator.end_txn("tx", init.producer_id, 0, true, now_).error,
            to_wire(ErrorCode::kConcurrentTransactions));
  EXPECT_EQ(coordinator.init_producer_id("tx", 60000, std::nullopt, now_).error,
            to_wire(ErrorCode::kConcurrentTransactions));
  ASSERT_TRUE(coordinator.next_deadline());
  markers_.failing.clear();
  coordinator.advance(*coordinator.next_deadline());
  EXPECT_EQ(coordinator.find("tx")->state, TxnState::kCompleteCommit);
  // Only the missing marker was written again.
  ASSERT_EQ(markers_.written.size(), 2U);
  EXPECT_EQ(markers_.written[1].partition, parts_[1]);
}

TEST_F(TxnCoordinatorTest, ReplayRestoresAndCompletesAPreparedCommit) {
  InitResult init;
  {
    auto coordinator = make();
    init = coordinator.init_producer_id("tx", 60000, std::nullopt, now_);
    ASSERT_EQ(coordinator.add_partitions("tx", init.producer_id, 0, parts_, now_), kNone);
    ASSERT_EQ(coordinator.init_producer_id("idle", 30000, std::nullopt, now_).error, kNone);
    // A crash between PrepareCommit and the markers.
    markers_.failing = {parts_.begin(), parts_.end()};
    ASSERT_EQ(coordinator.end_txn("tx", init.producer_id, 0, true, now_).error, kNone);
  }
  markers_.failing.clear();
  auto coordinator = make();
  store_.replay_into(coordinator);
  EXPECT_EQ(coordinator.find("tx")->state, TxnState::kPrepareCommit);
  EXPECT_EQ(coordinator.find("tx")->partitions.size(), 2U);
  coordinator.finish_load(now_);
  EXPECT_EQ(coordinator.find("tx")->state, TxnState::kCompleteCommit);
  ASSERT_EQ(markers_.written.size(), 2U);
  EXPECT_TRUE(markers_.written[0].commit);
  EXPECT_EQ(coordinator.find("idle")->timeout_ms, 30000);
  EXPECT_EQ(coordinator.find_by_producer(init.producer_id)->transactional_id, "tx");
  // The next incarnation continues from the replayed epoch.
  EXPECT_EQ(coordinator.init_producer_id("tx", 60000, std::nullopt, now_).producer_epoch, 1);
}

TEST_F(TxnCoordinatorTest, TimedOutTransactionIsAbortedAndItsProducerFenced) {
  auto coordinator = make();
  InitResult init = coordinator.init_producer_id("tx", 5000, std::nullopt, now_);
  ASSERT_EQ(coordinator.add_partitions("tx", init.producer_id, 0, parts_, now_), kNone);
  coordinator.advance(now_ + 4000);
  EXPECT_EQ(coordinator.find("tx")->state, TxnState::kOngoing);
  // An ongoing transaction: the next timeout check is the next deadline.
  EXPECT_EQ(coordinator.next_deadline(), now_ + config_.abort_timed_out_interval_ms);
  coordinator.advance(now_ + 5001 + config_.abort_timed_out_interval_ms);
  EXPECT_EQ(coordinator.find("tx")->state, TxnState::kCompleteAbort);
  EXPECT_EQ(coordinator.find("tx")->producer_epoch, 1);
  ASSERT_EQ(markers_.written.size(), 2U);
  EXPECT_FALSE(markers_.written[0].commit);
  EXPECT_EQ(coordinator.end_txn("tx", init.producer_id, 0, true, now_).error,
            to_wire(ErrorCode::kProducerFenced));
  // None ongoing: only the idle ids' expiration check is due.
  EXPECT_EQ(coordinator.next_deadline(), now_ + config_.remove_expired_interval_ms);
}

TEST_F(TxnCoordinatorTest, IdleIdsExpireWithATombstone) {
  config_.id_expiration_ms = 1000;
  config_.remove_expired_interval_ms = 500;
  auto coordinator = make();
  coordinator.init_producer_id("tx", 5000, std::nullopt, now_);
  InitResult busy = coordinator.init_producer_id("busy", 60000, std::nullopt, now_);
  ASSERT_EQ(coordinator.add_partitions("busy", busy.producer_id, 0, parts_, now_), kNone);
  coordinator.advance(now_ + 2000);
  EXPECT_EQ(coordinator.find("tx"), nullptr);
  EXPECT_NE(coordinator.find("busy"), nullptr);  // an ongoing transaction never expires
  EXPECT_EQ(store_.states_of("tx").back(), TxnState::kDead);
  auto replayed = make();
  store_.replay_into(replayed);
  EXPECT_EQ(replayed.find("tx"), nullptr);
  EXPECT_NE(replayed.find("busy"), nullptr);
}

// Transactions v2 (KIP-890 part 2; docs/transactions-v2.md, sections 2.2, 3
// and 6): every EndTxn 5 bumps the epoch, and the answer carries it.
TEST_F(TxnCoordinatorTest, Tv2EveryEndBumpsTheEpochAndAnswersIt) {
  store_.finalized_tv = 2;
  auto coordinator = make();
  const InitResult init = coordinator.init_producer_id("tx", 60000, std::nullopt, now_);
  const int64_t pid = init.producer_id;
  ASSERT_EQ(coordinator.add_partitions("tx", pid, 0, parts_, now_, kTransactionsV2), kNone);
  EXPECT_EQ(coordinator.find("tx")->client_transaction_version, kTransactionsV2);
  InitResult ended = coordinator.end_txn("tx", pid, 0, true, now_, kTransactionsV2);
  ASSERT_EQ(ended.error, kNone);
  EXPECT_EQ(ended.producer_id, pid);
  EXPECT_EQ(ended.producer_epoch, 1);
  // The markers carry the bumped epoch; the Prepare and Complete records too.
  ASSERT_EQ(markers_.written.size(), 2U);
  EXPECT_EQ(markers_.written[0].epoch, 1);
  const auto values = store_.values_of("tx");
  ASSERT_EQ(values.size(), 4U);
  EXPECT_EQ(values[2].transaction_status, static_cast<int8_t>(TxnState::kPrepareCommit));
  EXPECT_EQ(values[2].producer_epoch, 1);
  EXPECT_EQ(values[2].client_transaction_version, 2);
  EXPECT_EQ(values[2].previous_producer_id, pid);
  EXPECT_EQ(values[2].next_producer_id, -1);
  EXPECT_EQ(values[3].transaction_status, static_cast<int8_t>(TxnState::kCompleteCommit));
  EXPECT_EQ(values[3].producer_epoch, 1);
  EXPECT_EQ(store_.last_version(), 1);  // transaction.version >= 1: value version 1

  // A retry of that commit (its answer lost) gets the same answer; its abort
  // is invalid; an older epoch is fenced.
  ended = coordinator.end_txn("tx", pid, 0, true, now_, kTransactionsV2);
  EXPECT_EQ(ended.error, kNone);
  EXPECT_EQ(ended.producer_epoch, 1);
  EXPECT_EQ(coordinator.end_txn("tx", pid, 0, false, now_, kTransactionsV2).error,
            to_wire(ErrorCode::kInvalidTxnState));
  EXPECT_EQ(coordinator.end_txn("tx", pid, 5, true, now_, kTransactionsV2).error,
            to_wire(ErrorCode::kProducerFenced));
  // The next transaction: the old epoch is fenced, the new one adds.
  EXPECT_EQ(coordinator.add_partitions("tx", pid, 0, parts_, now_, kTransactionsV2),
            to_wire(ErrorCode::kProducerFenced));
  ASSERT_EQ(coordinator.add_partitions("tx", pid, 1, parts_, now_, kTransactionsV2), kNone);
  ended = coordinator.end_txn("tx", pid, 1, false, now_, kTransactionsV2);
  ASSERT_EQ(ended.error, kNone);
  EXPECT_EQ(ended.producer_epoch, 2);
  EXPECT_FALSE(markers_.written.back().commit);
  EXPECT_EQ(markers_.written.back().epoch, 2);
  EXPECT_EQ(coordinator.end_txn("tx", pid, 1, true, now_, kTransactionsV2).error,
            to_wire(ErrorCode::kInvalidTxnState));  // a commit retried after an abort
  EXPECT_EQ(coordinator.end_txn("tx", pid, 0, false, now_, kTransactionsV2).error,
            to_wire(ErrorCode::kProducerFenced));
  // InitProducerId from a producer that missed the answer: the epoch it had
  // is the remembered last one, answered with the current epoch unchanged.
  const InitResult again =
      coordinator.init_producer_id("tx", 60000, ProducerIdAndEpoch{pid, 1}, now_);
  EXPECT_EQ(again.error, kNone);
  EXPECT_EQ(again.producer_epoch, 2);
}

TEST_F(TxnCoordinatorTest, Tv2AbortWithNothingOpenStillBumps) {
  auto coordinator = make();
  const InitResult init = coordinator.init_producer_id("tx", 60000, std::nullopt, now_);
  EXPECT_EQ(coordinator.end_txn("tx", init.producer_id, 0, true, now_, kTransactionsV2).error,
            to_wire(ErrorCode::kInvalidTxnState));
  const InitResult aborted =
      coordinator.end_txn("tx", init.producer_id, 0, false, now_ + 5, kTransactionsV2);
  ASSERT_EQ(aborted.error, kNone);
  EXPECT_EQ(aborted.producer_epoch, 1);
  EXPECT_TRUE(markers_.written.empty());
  EXPECT_EQ(
      store_.states_of("tx"),
      (std::vector<TxnState>{TxnState::kEmpty, TxnState::kPrepareAbort, TxnState::kCompleteAbort}));
  const auto values = store_.values_of("tx");
  ASSERT_TRUE(values[1].transaction_partitions);
  EXPECT_TRUE(values[1].transaction_partitions->empty());
  EXPECT_EQ(values[1].transaction_start_timestamp_ms, now_ + 5);
  // Transaction version 0 finalized: version 0 values, no tagged fields.
  EXPECT_EQ(store_.last_version(), 0);
  // Again after a commit (CompleteCommit) and after an abort (CompleteAbort).
  ASSERT_EQ(coordinator.end_txn("tx", init.producer_id, 1, false, now_, kTransactionsV2).error,
            kNone);
  EXPECT_EQ(coordinator.find("tx")->producer_epoch, 2);
}

TEST_F(TxnCoordinatorTest, Tv2ExhaustedEpochMovesToANewProducerIdAtTheEnd) {
  store_.finalized_tv = 2;
  auto coordinator = make();
  const InitResult init = coordinator.init_producer_id("tx", 60000, std::nullopt, now_);
  const int64_t pid = init.producer_id;
  TransactionLogValue value;
  value.producer_id = pid;
  value.producer_epoch = 32766;
  value.transaction_timeout_ms = 60000;
  value.transaction_status = static_cast<int8_t>(TxnState::kOngoing);
  value.transaction_partitions = {{"out", {0, 1}}};
  value.transaction_start_timestamp_ms = now_;
  value.client_transaction_version = 2;
  ASSERT_TRUE(coordinator.load(encode_key("tx"), encode_value(value, 1)));
  markers_.failing = {parts_.begin(), parts_.end()};  // a crash before the markers
  const InitResult ended = coordinator.end_txn("tx", pid, 32766, true, now_, kTransactionsV2);
  ASSERT_EQ(ended.error, kNone);
  const int64_t next = ended.producer_id;
  EXPECT_NE(next, pid);
  EXPECT_EQ(ended.producer_epoch, 0);
  const TransactionLogValue prepare = store_.values_of("tx").back();
  EXPECT_EQ(prepare.transaction_status, static_cast<int8_t>(TxnState::kPrepareCommit));
  EXPECT_EQ(prepare.producer_id, pid);
  EXPECT_EQ(prepare.producer_epoch, 32767);
  EXPECT_EQ(prepare.next_producer_id, next);

  // Replayed, the commit completes with the new id.
  markers_.failing.clear();
  auto replayed = make();
  store_.replay_into(replayed);
  EXPECT_EQ(replayed.find("tx")->next_producer_id, next);
  replayed.finish_load(now_);
  ASSERT_EQ(markers_.written.size(), 2U);
  EXPECT_EQ(markers_.written[0].producer_id, pid);
  EXPECT_EQ(markers_.written[0].epoch, 32767);
  const TransactionLogValue complete = store_.values_of("tx").back();
  EXPECT_EQ(complete.transaction_status, static_cast<int8_t>(TxnState::kCompleteCommit));
  EXPECT_EQ(complete.producer_id, next);
  EXPECT_EQ(complete.producer_epoch, 0);
  EXPECT_EQ(complete.previous_producer_id, pid);
  EXPECT_EQ(complete.next_producer_id, -1);
  EXPECT_EQ(replayed.find_by_producer(next)->transactional_id, "tx");
  // The retried commit of the old id is answered with the new one.
  const InitResult retried = replayed.end_txn("tx", pid, 32766, true, now_, kTransactionsV2);
  EXPECT_EQ(retried.error, kNone);
  EXPECT_EQ(retried.producer_id, next);
  EXPECT_EQ(retried.producer_epoch, 0);
  EXPECT_EQ(replayed.add_partitions("tx", next, 0, parts_, now_, kTransactionsV2), kNone);
}

TEST_F(TxnCoordinatorTest, Tv2PendingMarkersAndFencing) {
  store_.finalized_tv = 2;
  auto coordinator = make();
  const InitResult init = coordinator.init_producer_id("tx", 60000, std::nullopt, now_);
  const int64_t pid = init.producer_id;
  ASSERT_EQ(coordinator.add_partitions("tx", pid, 0, parts_, now_, kTransactionsV2), kNone);
  markers_.failing.insert(parts_[1]);
  ASSERT_EQ(coordinator.end_txn("tx", pid, 0, true, now_, kTransactionsV2).error, kNone);
  // Markers still being written: everything waits, the client retries.
  EXPECT_EQ(coordinator.end_txn("tx", pid, 0, true, now_, kTransactionsV2).error,
            to_wire(ErrorCode::kConcurrentTransactions));
  EXPECT_EQ(coordinator.add_partitions("tx", pid, 1, parts_, now_, kTransactionsV2),
            to_wire(ErrorCode::kConcurrentTransactions));
  EXPECT_EQ(coordinator.add_partitions("tx", pid + 1, 1, parts_, now_, kTransactionsV2),
            to_wire(ErrorCode::kConcurrentTransactions));
  markers_.failing.clear();
  coordinator.advance(*coordinator.next_deadline());
  EXPECT_EQ(coordinator.add_partitions("tx", pid + 1, 1, parts_, now_, kTransactionsV2),
            to_wire(ErrorCode::kInvalidProducerIdMapping));
  ASSERT_EQ(coordinator.add_partitions("tx", pid, 1, parts_, now_, kTransactionsV2), kNone);

  // A new incarnation aborts the open transaction at epoch 2, written as
  // transactions v2 (the finalized version), and gets epoch 3 on its retry.
  EXPECT_EQ(coordinator.init_producer_id("tx", 60000, std::nullopt, now_).error,
            to_wire(ErrorCode::kConcurrentTransactions));
  const TransactionLogValue aborted = store_.values_of("tx").back();
  EXPECT_EQ(aborted.transaction_status, static_cast<int8_t>(TxnState::kCompleteAbort));
  EXPECT_EQ(aborted.producer_epoch, 2);
  EXPECT_EQ(aborted.client_transaction_version, 2);
  EXPECT_EQ(markers_.written.back().epoch, 2);
  // The fenced producer's abort reads as a retry; its commit is invalid.
  const InitResult late_abort = coordinator.end_txn("tx", pid, 1, false, now_, kTransactionsV2);
  EXPECT_EQ(late_abort.error, kNone);
  EXPECT_EQ(late_abort.producer_epoch, 2);
  EXPECT_EQ(coordinator.end_txn("tx", pid, 1, true, now_, kTransactionsV2).error,
            to_wire(ErrorCode::kInvalidTxnState));
  EXPECT_EQ(coordinator.init_producer_id("tx", 60000, std::nullopt, now_).producer_epoch, 3);
}

}  // namespace
}  // namespace kb::txn
