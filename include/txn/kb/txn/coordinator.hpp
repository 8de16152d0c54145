#pragma once

// The transaction coordinator, as Kafka's TransactionCoordinator and
// TransactionStateManager: per transactional id a producer id and epoch and a
// small state machine (TxnState), whose every transition is written to
// __transaction_state (TxnStore) before it takes effect, and replayed from
// there at start-up.
//
// Ending a transaction is two steps. PrepareCommit or PrepareAbort is written
// first; then the markers (COMMIT or ABORT control batches) are written to
// every partition of the transaction by the MarkerWriter, and only once all
// are written is CompleteCommit or CompleteAbort. Markers that fail are
// retried by advance(); a transaction found in a Prepare state at start-up
// (a crash between the two steps) gets its markers in finish_load(). Until it
// completes, calls on the transaction answer CONCURRENT_TRANSACTIONS, which
// clients retry.
//
// Time is given, never read: `now` is wall-clock milliseconds (the log's
// timestamps are), and next_deadline() says when advance() has work (aborting
// transactions past their timeout, expiring idle transactional ids, retrying
// markers). Knows nothing of sockets or logs: the store, the marker writer
// and the producer id source are the caller's.

#include <compare>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kb/cluster/coordinator_topic.hpp"

namespace kb::txn {

using Millis = int64_t;

// Kafka's TransactionState, with its ids as written in TransactionLogValue.
enum class TxnState : int8_t {
  kEmpty = 0,
  kOngoing = 1,
  kPrepareCommit = 2,
  kPrepareAbort = 3,
  kCompleteCommit = 4,
  kCompleteAbort = 5,
  kDead = 6,
  kPrepareEpochFence = 7,
};
// Kafka's names ("Empty", "Ongoing", ...; ListTransactions and
// DescribeTransactions answer them).
std::string_view to_string(TxnState state);
std::optional<TxnState> parse_txn_state(std::string_view name);
// Whether Kafka allows `to` after `from` (TransactionState.validPreviousStates).
bool valid_transition(TxnState from, TxnState to);

struct TopicPartition {
  std::string topic;
  int32_t partition = 0;
  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 misreads the defaulted <=>
  auto operator<=>(const TopicPartition&) const = default;
};

struct TxnMetadata {
  std::string transactional_id;
  int64_t producer_id = -1;
  int64_t previous_producer_id = -1;
  int64_t next_producer_id = -1;
  int16_t producer_epoch = -1;
  int16_t last_producer_epoch = -1;
  int32_t timeout_ms = 0;
  TxnState state = TxnState::kEmpty;
  std::set<TopicPartition> partitions;
  Millis last_update_ms = -1;
  Millis start_ms = -1;  // when the ongoing transaction started; -1: none
  // The transaction version of the client's last add or end (2: KIP-890's
  // transactions v2, the epoch bumped at every end; 0 before).
  int16_t client_transaction_version = 0;
};

// Transactions v2 (KIP-890 part 2): the client version from which the epoch
// is bumped at every commit and abort and partitions join implicitly.
inline constexpr int16_t kTransactionsV2 = 2;

// Kafka's broker settings for transactions (defaults as Kafka's).
struct TxnConfig {
  int32_t max_timeout_ms = 900000;        // transaction.max.timeout.ms
  int32_t log_partitions = 50;            // transaction.state.log.num.partitions
  int32_t log_segment_bytes = 104857600;  // transaction.state.log.segment.bytes
  int64_t abort_timed_out_interval_ms =
      10000;  // transaction.abort.timed.out.transaction.cleanup.interval.ms
  int64_t id_expiration_ms = 604800000;  // transactional.id.expiration.ms
  int64_t remove_expired_interval_ms =
      3600000;                     // transaction.remove.expired.transaction.cleanup.interval.ms
  int64_t marker_retry_ms = 1000;  // not Kafka's: how soon failed markers are tried again
};

// Where the coordinator's records go (__transaction_state).
class TxnStore {
 public:
  virtual ~TxnStore() = default;
  virtual bool ready() = 0;
  virtual bool append(int32_t partition, std::span<const cluster::CoordinatorRecord> records) = 0;
  // The finalized transaction.version served: from 1 the records are written
  // as TransactionLogValue version 1; at 2 the coordinator's own aborts
  // (fencing, timeouts) follow transactions v2.
  virtual int16_t transaction_version() { return 0; }
};

// Writes a transaction's markers (TransactionMarkerChannelManager's job).
class MarkerWriter {
 public:
  virtual ~MarkerWriter() = default;
  // Writes the COMMIT (or ABORT) marker of producer_id at producer_epoch to
  // each of `partitions`; returns those it could not write (retried later).
  virtual std::vector<TopicPartition> write_markers(int64_t producer_id, int16_t producer_epoch,
                                                    bool commit, int32_t coordinator_epoch,
                                                    std::span<const TopicPartition> partitions) = 0;
};

// A new producer id, or nullopt when none can be allocated.
using ProducerIdSource = std::function<std::optional<int64_t>()>;

struct ProducerIdAndEpoch {
  int64_t producer_id = -1;
  int16_t epoch = -1;
};

struct InitResult {
  int16_t error = 0;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
};

class TransactionCoordinator {
 public:
  TransactionCoordinator(TxnConfig config, TxnStore* store, MarkerWriter* markers,
                         ProducerIdSource producer_ids);

  const TxnConfig& config() const { return config_; }
  void set_log_partitions(int32_t partitions) { config_.log_partitions = partitions; }
  int32_t partition_for(std::string_view transactional_id) const;
  bool ready() { return store_->ready(); }
  // The coordinator epoch markers carry (one node: always the same).
  static constexpr int32_t kCoordinatorEpoch = 0;

  // InitProducerId with a transactional id: a new producer id the first
  // time, else the epoch bumped (fencing the previous incarnation). An
  // ongoing transaction is aborted first (epoch fenced): the caller then gets
  // CONCURRENT_TRANSACTIONS and retries.
  InitResult init_producer_id(std::string_view transactional_id, int32_t timeout_ms,
                              std::optional<ProducerIdAndEpoch> expected, Millis now);
  // AddPartitionsToTxn (verify_only false), AddOffsetsToTxn and the implicit
  // adds of transactions v2 (Produce 12+, TxnOffsetCommit 5+), whose
  // client_transaction_version is 2: one error for all partitions.
  int16_t add_partitions(std::string_view transactional_id, int64_t producer_id, int16_t epoch,
                         std::span<const TopicPartition> partitions, Millis now,
                         int16_t client_transaction_version = 0);
  // AddPartitionsToTxn with verify_only (and the produce verification): per
  // partition NONE when it is in the ongoing transaction, else
  // TRANSACTION_ABORTABLE; or one error for all.
  std::vector<int16_t> verify_partitions(std::string_view transactional_id, int64_t producer_id,
                                         int16_t epoch,
                                         std::span<const TopicPartition> partitions) const;
  // Whether a transactional batch of `producer_id` at `epoch` may go to
  // `partition`: NONE, or Kafka's error for the produce.
  int16_t verify_produce(int64_t producer_id, int16_t epoch, const TopicPartition& partition) const;
  // EndTxn. Transactions v2 (EndTxn 5+): every end bumps the epoch (and at
  // the last epoch moves to a new producer id); the answer carries the id and
  // epoch the client goes on with, also to a retry of an end already made.
  InitResult end_txn(std::string_view transactional_id, int64_t producer_id, int16_t epoch,
                     bool commit, Millis now, int16_t client_transaction_version = 0);

  // Aborts what timed out, expires idle ids, retries markers.
  void advance(Millis now);
  std::optional<Millis> next_deadline() const;

  // Start-up: replays __transaction_state records in log order (a null value
  // removes the id); false for a record that cannot be read. Then
  // finish_load() completes transactions left in a Prepare state.
  bool load(std::span<const uint8_t> key, std::optional<std::span<const uint8_t>> value);
  void finish_load(Millis now);

  using TxnMap = std::map<std::string, TxnMetadata, std::less<>>;
  const TxnMap& transactions() const { return txns_; }
  const TxnMetadata* find(std::string_view transactional_id) const;
  const TxnMetadata* find_by_producer(int64_t producer_id) const;

 private:
  // Writes the metadata `to` for its id; on success it takes effect.
  bool persist(TxnMetadata& txn, const TxnMetadata& to);
  InitResult end_txn_v2(TxnMetadata& txn, int64_t producer_id, int16_t epoch, bool commit,
                        Millis now);
  // Writes Prepare{Commit,Abort}, then the markers and Complete*.
  int16_t end(TxnMetadata& txn, bool commit, Millis now);
  // Transactions v2's end: Prepare* at the next epoch (a new producer id
  // chosen when the epoch is exhausted), then the markers and Complete*;
  // `empty` for an abort with no transaction open (no partitions).
  InitResult end_bumped(TxnMetadata& txn, bool commit, bool empty, Millis now);
  // Writes the markers still due for a transaction in a Prepare state, then
  // Complete*; false while some are left.
  bool complete(TxnMetadata& txn, Millis now);
  // Bumps the epoch of an ongoing transaction and aborts it (a new
  // incarnation, or its timeout).
  int16_t fence_and_abort(TxnMetadata& txn, Millis now);
  void abort_timed_out(Millis now);
  void expire_ids(Millis now);
  // Keeps ongoing_ (next_deadline() runs every loop turn: no scan there).
  void count_ongoing(const TxnMetadata& txn, int delta) {
    if (txn.state == TxnState::kOngoing)
      ongoing_ = static_cast<size_t>(static_cast<int64_t>(ongoing_) + delta);
  }

  TxnConfig config_;
  TxnStore* store_;
  MarkerWriter* markers_;
  ProducerIdSource producer_ids_;
  TxnMap txns_;
  std::map<int64_t, std::string> by_producer_;
  // Transactions in a Prepare state with markers still to write.
  std::map<std::string, std::set<TopicPartition>, std::less<>> markers_due_;
  size_t ongoing_ = 0;  // transactions in Ongoing
  Millis next_timeout_check_ = 0;
  Millis next_expiration_check_ = 0;
  std::optional<Millis> marker_retry_at_;
};

}  // namespace kb::txn
