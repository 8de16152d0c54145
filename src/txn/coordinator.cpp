#include "kb/txn/coordinator.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <utility>

#include <spdlog/spdlog.h>

#include "kb/protocol/error_code.hpp"
#include "kb/txn/records.hpp"

namespace kb::txn {

using protocol::ErrorCode;
using protocol::to_wire;

namespace {

constexpr int16_t kNone = 0;
constexpr int16_t kNoEpoch = -1;

constexpr std::array<std::string_view, 8> kStateNames = {
    "Empty",          "Ongoing",       "PrepareCommit", "PrepareAbort",
    "CompleteCommit", "CompleteAbort", "Dead",          "PrepareEpochFence"};

// Kafka's TransactionMetadata.isEpochExhausted: a bump past it would reach
// Short.MaxValue, which fencing needs to stay free.
bool epoch_exhausted(int16_t epoch) { return epoch >= std::numeric_limits<int16_t>::max() - 1; }

bool in_prepare(TxnState state) {
  return state == TxnState::kPrepareCommit || state == TxnState::kPrepareAbort;
}

TransactionLogValue to_value(const TxnMetadata& txn) {
  TransactionLogValue value;
  value.producer_id = txn.producer_id;
  value.previous_producer_id = txn.previous_producer_id;
  value.next_producer_id = txn.next_producer_id;
  value.producer_epoch = txn.producer_epoch;
  value.transaction_timeout_ms = txn.timeout_ms;
  value.transaction_status = static_cast<int8_t>(txn.state);
  // Kafka writes null partitions for Empty, a (possibly empty) list otherwise.
  if (txn.state != TxnState::kEmpty) {
    std::vector<TransactionLogValue::PartitionsSchema> topics;
    for (const auto& tp : txn.partitions) {
      if (topics.empty() || topics.back().topic != tp.topic) topics.push_back({tp.topic, {}});
      topics.back().partition_ids.push_back(tp.partition);
    }
    value.transaction_partitions = std::move(topics);
  }
  value.transaction_last_update_timestamp_ms = txn.last_update_ms;
  value.transaction_start_timestamp_ms = txn.start_ms;
  value.client_transaction_version = txn.client_transaction_version;
  return value;
}

}  // namespace

std::string_view to_string(TxnState state) {
  const auto i = static_cast<size_t>(state);
  return i < kStateNames.size() ? kStateNames[i] : "Unknown";
}

std::optional<TxnState> parse_txn_state(std::string_view name) {
  for (size_t i = 0; i < kStateNames.size(); ++i)
    if (kStateNames[i] == name) return static_cast<TxnState>(i);
  return std::nullopt;
}

bool valid_transition(TxnState from, TxnState to) {
  using S = TxnState;
  auto any_of = [from](std::initializer_list<S> states) {
    return std::find(states.begin(), states.end(), from) != states.end();
  };
  switch (to) {
    case S::kEmpty:
      return any_of({S::kEmpty, S::kCompleteCommit, S::kCompleteAbort});
    case S::kOngoing:
      return any_of({S::kOngoing, S::kEmpty, S::kCompleteCommit, S::kCompleteAbort});
    case S::kPrepareCommit:
      return from == S::kOngoing;
    case S::kPrepareAbort:
      // From Empty and Complete*: transactions v2's abort of a transaction
      // whose records never reached a partition.
      return any_of(
          {S::kOngoing, S::kPrepareEpochFence, S::kEmpty, S::kCompleteCommit, S::kCompleteAbort});
    case S::kCompleteCommit:
      return from == S::kPrepareCommit;
    case S::kCompleteAbort:
      return from == S::kPrepareAbort;
    case S::kDead:
      return any_of({S::kEmpty, S::kCompleteAbort, S::kCompleteCommit});
    case S::kPrepareEpochFence:
      return from == S::kOngoing;
  }
  return false;
}

TransactionCoordinator::TransactionCoordinator(TxnConfig config, TxnStore* store,
                                               MarkerWriter* markers, ProducerIdSource producer_ids)
    : config_(config), store_(store), markers_(markers), producer_ids_(std::move(producer_ids)) {}

int32_t TransactionCoordinator::partition_for(std::string_view transactional_id) const {
  return transaction_partition_for(transactional_id, config_.log_partitions);
}

const TxnMetadata* TransactionCoordinator::find(std::string_view transactional_id) const {
  auto it = txns_.find(transactional_id);
  return it == txns_.end() ? nullptr : &it->second;
}

const TxnMetadata* TransactionCoordinator::find_by_producer(int64_t producer_id) const {
  auto it = by_producer_.find(producer_id);
  return it == by_producer_.end() ? nullptr : find(it->second);
}

bool TransactionCoordinator::persist(TxnMetadata& txn, const TxnMetadata& to) {
  if (to.state != txn.state && !valid_transition(txn.state, to.state)) {
    spdlog::error("transactional id {}: {} -> {} is not a valid transition", txn.transactional_id,
                  to_string(txn.state), to_string(to.state));
    return false;
  }
  TransactionLogValue value = to_value(to);
  // Kafka writes the id held before the transition (tagged, version 1).
  value.previous_producer_id = txn.producer_id;
  const int16_t version = store_->transaction_version() >= 1 ? 1 : 0;
  const std::array<cluster::CoordinatorRecord, 1> records = {
      cluster::CoordinatorRecord{encode_key(to.transactional_id), encode_value(value, version)}};
  if (!store_->append(partition_for(to.transactional_id), records)) return false;
  if (txn.producer_id != to.producer_id) by_producer_.erase(txn.producer_id);
  count_ongoing(txn, -1);
  count_ongoing(to, 1);
  txn = to;
  by_producer_[txn.producer_id] = txn.transactional_id;
  return true;
}

InitResult TransactionCoordinator::init_producer_id(std::string_view transactional_id,
                                                    int32_t timeout_ms,
                                                    std::optional<ProducerIdAndEpoch> expected,
                                                    Millis now) {
  advance(now);
  if (transactional_id.empty()) return {to_wire(ErrorCode::kInvalidRequest)};
  if (timeout_ms <= 0 || timeout_ms > config_.max_timeout_ms)
    return {to_wire(ErrorCode::kInvalidTransactionTimeout)};
  if (!store_->ready()) return {to_wire(ErrorCode::kCoordinatorNotAvailable)};

  auto it = txns_.find(transactional_id);
  TxnMetadata fresh;
  TxnMetadata* txn = nullptr;
  if (it == txns_.end()) {
    const std::optional<int64_t> id = producer_ids_();
    if (!id) return {to_wire(ErrorCode::kUnknownServerError)};
    fresh.transactional_id = std::string(transactional_id);
    fresh.producer_id = *id;
    fresh.timeout_ms = timeout_ms;
    fresh.last_update_ms = now;
    txn = &fresh;
  } else {
    txn = &it->second;
  }

  if (markers_due_.contains(transactional_id)) return {to_wire(ErrorCode::kConcurrentTransactions)};
  if (expected) {
    const bool valid =
        txn->producer_epoch == kNoEpoch || expected->producer_id == txn->producer_id ||
        (expected->producer_id == txn->previous_producer_id && epoch_exhausted(expected->epoch));
    if (!valid) return {to_wire(ErrorCode::kProducerFenced)};
  }

  switch (txn->state) {
    case TxnState::kPrepareAbort:
    case TxnState::kPrepareCommit:
      return {to_wire(ErrorCode::kConcurrentTransactions)};
    case TxnState::kOngoing: {
      // The previous incarnation's transaction is aborted under a bumped
      // epoch (fencing it); the client retries and gets the next one.
      const int16_t error = fence_and_abort(*txn, now);
      return {error != kNone ? error : to_wire(ErrorCode::kConcurrentTransactions)};
    }
    case TxnState::kDead:
    case TxnState::kPrepareEpochFence:
      spdlog::error("transactional id {} found in state {}", transactional_id,
                    to_string(txn->state));
      return {to_wire(ErrorCode::kUnknownServerError)};
    case TxnState::kEmpty:
    case TxnState::kCompleteCommit:
    case TxnState::kCompleteAbort:
      break;
  }

  TxnMetadata to = *txn;
  if (epoch_exhausted(txn->producer_epoch) &&
      (!expected || expected->epoch == txn->producer_epoch)) {
    // Kafka's producer id rotation: a new id at epoch 0.
    const std::optional<int64_t> id = producer_ids_();
    if (!id) return {to_wire(ErrorCode::kUnknownServerError)};
    to.previous_producer_id = txn->producer_id;
    to.producer_id = *id;
    to.producer_epoch = 0;
    to.last_producer_epoch = expected ? txn->producer_epoch : kNoEpoch;
  } else if (!expected) {
    to.producer_epoch = static_cast<int16_t>(txn->producer_epoch + 1);
    to.last_producer_epoch = kNoEpoch;
  } else if (txn->producer_epoch == kNoEpoch || expected->epoch == txn->producer_epoch) {
    to.producer_epoch = static_cast<int16_t>(txn->producer_epoch + 1);
    to.last_producer_epoch = txn->producer_epoch;
  } else if (expected->epoch == txn->last_producer_epoch) {
    // A retry of the bump already made: the same epoch again.
  } else {
    return {to_wire(ErrorCode::kProducerFenced)};
  }
  to.state = TxnState::kEmpty;
  to.timeout_ms = timeout_ms;
  to.partitions.clear();
  to.start_ms = -1;
  to.last_update_ms = now;

  if (txn == &fresh) {
    TxnMetadata& stored = txns_[fresh.transactional_id];
    stored = fresh;
    if (!persist(stored, to)) {
      txns_.erase(fresh.transactional_id);
      return {to_wire(ErrorCode::kCoordinatorNotAvailable)};
    }
    txn = &stored;
  } else if (!persist(*txn, to)) {
    return {to_wire(ErrorCode::kCoordinatorNotAvailable)};
  }
  spdlog::info("transactional id {}: producer id {} at epoch {}", transactional_id,
               txn->producer_id, txn->producer_epoch);
  return {kNone, txn->producer_id, txn->producer_epoch};
}

int16_t TransactionCoordinator::add_partitions(std::string_view transactional_id,
                                               int64_t producer_id, int16_t epoch,
                                               std::span<const TopicPartition> partitions,
                                               Millis now, int16_t client_transaction_version) {
  advance(now);
  if (transactional_id.empty()) return to_wire(ErrorCode::kInvalidRequest);
  auto it = txns_.find(transactional_id);
  if (it == txns_.end()) return to_wire(ErrorCode::kInvalidProducerIdMapping);
  TxnMetadata& txn = it->second;
  // Kafka's order: a transition in progress (markers being written) first.
  if (markers_due_.contains(transactional_id)) return to_wire(ErrorCode::kConcurrentTransactions);
  if (txn.producer_id != producer_id) return to_wire(ErrorCode::kInvalidProducerIdMapping);
  if (txn.producer_epoch != epoch) return to_wire(ErrorCode::kProducerFenced);
  if (in_prepare(txn.state)) return to_wire(ErrorCode::kConcurrentTransactions);
  const bool all_in =
      std::all_of(partitions.begin(), partitions.end(),
                  [&](const TopicPartition& tp) { return txn.partitions.contains(tp); });
  if (txn.state == TxnState::kOngoing && all_in) return kNone;
  TxnMetadata to = txn;
  to.partitions.insert(partitions.begin(), partitions.end());
  if (txn.state != TxnState::kOngoing) to.start_ms = now;
  to.state = TxnState::kOngoing;
  to.last_update_ms = now;
  to.client_transaction_version = client_transaction_version;
  const bool switched = (client_transaction_version >= kTransactionsV2) !=
                        (txn.client_transaction_version >= kTransactionsV2);
  if (!persist(txn, to)) return to_wire(ErrorCode::kCoordinatorNotAvailable);
  if (switched)
    spdlog::info("transactional id {}: transactions v{} (producer id {}, epoch {})",
                 txn.transactional_id, client_transaction_version >= kTransactionsV2 ? 2 : 1,
                 txn.producer_id, txn.producer_epoch);
  return kNone;
}

std::vector<int16_t> TransactionCoordinator::verify_partitions(
    std::string_view transactional_id, int64_t producer_id, int16_t epoch,
    std::span<const TopicPartition> partitions) const {
  auto all = [&](ErrorCode error) {
    return std::vector<int16_t>(partitions.size(), to_wire(error));
  };
  if (transactional_id.empty()) return all(ErrorCode::kInvalidRequest);
  const TxnMetadata* txn = find(transactional_id);
  if (!txn || txn->producer_id != producer_id) return all(ErrorCode::kInvalidProducerIdMapping);
  if (txn->producer_epoch != epoch) return all(ErrorCode::kProducerFenced);
  if (in_prepare(txn->state) || markers_due_.contains(transactional_id))
    return all(ErrorCode::kConcurrentTransactions);
  std::vector<int16_t> errors;
  errors.reserve(partitions.size());
  for (const auto& tp : partitions)
    errors.push_back(txn->state == TxnState::kOngoing && txn->partitions.contains(tp)
                         ? kNone
                         : to_wire(ErrorCode::kTransactionAbortable));
  return errors;
}

InitResult TransactionCoordinator::end_txn(std::string_view transactional_id, int64_t producer_id,
                                           int16_t epoch, bool commit, Millis now,
                                           int16_t client_transaction_version) {
  advance(now);
  if (transactional_id.empty()) return {to_wire(ErrorCode::kInvalidRequest)};
  if (client_transaction_version >= kTransactionsV2) {
    auto found = txns_.find(transactional_id);
    if (found == txns_.end()) return {to_wire(ErrorCode::kInvalidProducerIdMapping)};
    return end_txn_v2(found->second, producer_id, epoch, commit, now);
  }
  auto it = txns_.find(transactional_id);
  if (it == txns_.end() || it->second.producer_id != producer_id)
    return {to_wire(ErrorCode::kInvalidProducerIdMapping)};
  TxnMetadata& txn = it->second;
  // Transactions v1: the client's epoch must be the current one.
  if (epoch != txn.producer_epoch) return {to_wire(ErrorCode::kProducerFenced)};
  const auto invalid = [&] {
    spdlog::debug("transactional id {}: EndTxn {} in state {}", transactional_id,
                  commit ? "COMMIT" : "ABORT", to_string(txn.state));
    return InitResult{to_wire(ErrorCode::kInvalidTxnState)};
  };
  const InitResult done{kNone, txn.producer_id, txn.producer_epoch};
  switch (txn.state) {
    case TxnState::kOngoing: {
      const int16_t error = end(txn, commit, now);
      if (error != kNone) return {error};
      return {kNone, txn.producer_id, txn.producer_epoch};
    }
    case TxnState::kCompleteCommit:
      return commit ? done : invalid();
    case TxnState::kCompleteAbort:
      return commit ? invalid() : done;
    case TxnState::kPrepareCommit:
      return commit ? InitResult{to_wire(ErrorCode::kConcurrentTransactions)} : invalid();
    case TxnState::kPrepareAbort:
      return commit ? invalid() : InitResult{to_wire(ErrorCode::kConcurrentTransactions)};
    case TxnState::kEmpty:
      return invalid();
    case TxnState::kDead:
    case TxnState::kPrepareEpochFence:
      spdlog::error("transactional id {} found in state {}", transactional_id,
                    to_string(txn.state));
      return {to_wire(ErrorCode::kUnknownServerError)};
  }
  return {to_wire(ErrorCode::kUnknownServerError)};
}

InitResult TransactionCoordinator::end_txn_v2(TxnMetadata& txn, int64_t producer_id, int16_t epoch,
                                              bool commit, Millis now) {
  const int16_t current = txn.producer_epoch;
  // A retry of an end already made: the epoch was bumped by it, or (at the
  // last epoch) the producer id replaced, the new one at epoch 0.
  const bool retry_on_bump = static_cast<int32_t>(current) == static_cast<int32_t>(epoch) + 1;
  const bool retry_on_overflow = txn.previous_producer_id == producer_id &&
                                 epoch == std::numeric_limits<int16_t>::max() - 1 && current == 0;
  const bool is_retry = retry_on_bump || retry_on_overflow;
  bool valid_epoch = false;
  switch (txn.state) {
    case TxnState::kOngoing:
    case TxnState::kEmpty:
    case TxnState::kDead:
    case TxnState::kPrepareEpochFence:
      valid_epoch = epoch == current;
      break;
    case TxnState::kPrepareCommit:
    case TxnState::kPrepareAbort:
      valid_epoch = retry_on_bump;
      break;
    case TxnState::kCompleteCommit:
    case TxnState::kCompleteAbort:
      valid_epoch = is_retry || epoch == current;
      break;
  }
  if (markers_due_.contains(txn.transactional_id))
    return {to_wire(ErrorCode::kConcurrentTransactions)};
  if (txn.producer_id != producer_id && !retry_on_overflow)
    return {to_wire(ErrorCode::kInvalidProducerIdMapping)};
  if (!valid_epoch) return {to_wire(ErrorCode::kProducerFenced)};
  const auto invalid = [&] {
    spdlog::debug("transactional id {}: EndTxn {} at epoch {} in state {} (epoch {})",
                  txn.transactional_id, commit ? "COMMIT" : "ABORT", epoch, to_string(txn.state),
                  current);
    return InitResult{to_wire(ErrorCode::kInvalidTxnState)};
  };
  // A retry answered: the id and epoch the client continues with.
  const InitResult done{kNone, txn.producer_id, txn.producer_epoch};
  switch (txn.state) {
    case TxnState::kOngoing:
      return end_bumped(txn, commit, false, now);
    case TxnState::kPrepareCommit:
      return commit ? InitResult{to_wire(ErrorCode::kConcurrentTransactions)} : invalid();
    case TxnState::kPrepareAbort:
      return commit ? invalid() : InitResult{to_wire(ErrorCode::kConcurrentTransactions)};
    case TxnState::kCompleteCommit:
      if (commit) return is_retry ? done : invalid();
      return is_retry ? invalid() : end_bumped(txn, false, true, now);
    case TxnState::kCompleteAbort:
      if (commit) return invalid();
      return is_retry ? done : end_bumped(txn, false, true, now);
    case TxnState::kEmpty:
      // The client sent records that never reached a partition (so it sends
      // the end at all): an abort with nothing to mark still bumps the epoch.
      return commit ? invalid() : end_bumped(txn, false, true, now);
    case TxnState::kDead:
    case TxnState::kPrepareEpochFence:
      break;
  }
  spdlog::error("transactional id {} found in state {}", txn.transactional_id,
                to_string(txn.state));
  return {to_wire(ErrorCode::kUnknownServerError)};
}

InitResult TransactionCoordinator::end_bumped(TxnMetadata& txn, bool commit, bool empty,
                                              Millis now) {
  constexpr int16_t kMaxEpoch = std::numeric_limits<int16_t>::max();
  const int16_t current = txn.producer_epoch;
  TxnMetadata to = txn;
  to.next_producer_id = -1;
  if (epoch_exhausted(current)) {
    // No epoch left to bump to after this one: the client goes on with a new
    // producer id, chosen now and written with Prepare*.
    const std::optional<int64_t> id = producer_ids_();
    if (!id) return {to_wire(ErrorCode::kUnknownServerError)};
    to.next_producer_id = *id;
  }
  to.state = commit ? TxnState::kPrepareCommit : TxnState::kPrepareAbort;
  to.producer_epoch =
      !commit && current == kMaxEpoch ? kMaxEpoch : static_cast<int16_t>(current + 1);
  to.last_producer_epoch = current;
  to.client_transaction_version = kTransactionsV2;
  to.last_update_ms = now;
  if (empty) {
    to.partitions.clear();
    to.start_ms = now;
  }
  if (!persist(txn, to)) return {to_wire(ErrorCode::kCoordinatorNotAvailable)};
  const InitResult answer = txn.next_producer_id >= 0
                                ? InitResult{kNone, txn.next_producer_id, 0}
                                : InitResult{kNone, txn.producer_id, txn.producer_epoch};
  markers_due_[txn.transactional_id] = txn.partitions;
  complete(txn, now);
  return answer;
}

int16_t TransactionCoordinator::end(TxnMetadata& txn, bool commit, Millis now) {
  TxnMetadata to = txn;
  to.state = commit ? TxnState::kPrepareCommit : TxnState::kPrepareAbort;
  to.last_update_ms = now;
  // Kafka's EndTxn before version 5 is client transaction version 0.
  to.client_transaction_version = 0;
  if (!persist(txn, to)) return to_wire(ErrorCode::kCoordinatorNotAvailable);
  // Durable: from here the transaction completes, after a crash too.
  markers_due_[txn.transactional_id] = txn.partitions;
  complete(txn, now);
  return kNone;
}

bool TransactionCoordinator::complete(TxnMetadata& txn, Millis now) {
  auto due = markers_due_.find(txn.transactional_id);
  if (due == markers_due_.end()) return true;
  const bool commit = txn.state == TxnState::kPrepareCommit;
  if (!due->second.empty()) {
    const std::vector<TopicPartition> partitions(due->second.begin(), due->second.end());
    std::vector<TopicPartition> failed = markers_->write_markers(
        txn.producer_id, txn.producer_epoch, commit, kCoordinatorEpoch, partitions);
    due->second = std::set<TopicPartition>(failed.begin(), failed.end());
  }
  if (due->second.empty()) {
    TxnMetadata to = txn;
    to.state = commit ? TxnState::kCompleteCommit : TxnState::kCompleteAbort;
    to.partitions.clear();
    to.last_update_ms = now;
    if (txn.client_transaction_version >= kTransactionsV2 && txn.next_producer_id >= 0) {
      // The epochs of this producer id are used up: the new one takes over.
      to.previous_producer_id = txn.producer_id;
      to.producer_id = txn.next_producer_id;
      to.producer_epoch = 0;
      spdlog::info(
          "transactional id {}: the epochs of producer id {} are used up; it goes on as "
          "producer id {}",
          txn.transactional_id, txn.producer_id, to.producer_id);
    }
    to.next_producer_id = -1;
    if (persist(txn, to)) {
      markers_due_.erase(due);
      return true;
    }
  }
  spdlog::warn("transactional id {}: {} markers still to write; retried in {} ms",
               txn.transactional_id, due->second.size(), config_.marker_retry_ms);
  const Millis at = now + config_.marker_retry_ms;
  marker_retry_at_ = marker_retry_at_ ? std::min(*marker_retry_at_, at) : at;
  return false;
}

int16_t TransactionCoordinator::fence_and_abort(TxnMetadata& txn, Millis now) {
  if (txn.producer_epoch == std::numeric_limits<int16_t>::max())
    return to_wire(ErrorCode::kUnknownServerError);
  // Kafka's PrepareEpochFence: the bumped epoch is only ever written with
  // PrepareAbort, so a failed write leaves the epoch as it was.
  TxnMetadata fenced = txn;
  fenced.producer_epoch = static_cast<int16_t>(txn.producer_epoch + 1);
  fenced.last_producer_epoch = kNoEpoch;
  fenced.state = TxnState::kPrepareAbort;
  fenced.last_update_ms = now;
  // Kafka aborts with the finalized transaction version, whatever the client
  // used: at 2 the record says so (the epoch is bumped once either way).
  fenced.client_transaction_version =
      store_->transaction_version() >= kTransactionsV2 ? kTransactionsV2 : int16_t{0};
  fenced.next_producer_id = -1;
  if (!persist(txn, fenced)) return to_wire(ErrorCode::kCoordinatorNotAvailable);
  spdlog::info("transactional id {}: ongoing transaction of producer {} aborted at epoch {}",
               txn.transactional_id, txn.producer_id, txn.producer_epoch);
  markers_due_[txn.transactional_id] = txn.partitions;
  complete(txn, now);
  return kNone;
}

void TransactionCoordinator::abort_timed_out(Millis now) {
  std::vector<std::string> timed_out;
  for (const auto& [id, txn] : txns_)
    if (txn.state == TxnState::kOngoing && txn.start_ms >= 0 &&
        txn.start_ms + txn.timeout_ms < now && !markers_due_.contains(id))
      timed_out.push_back(id);
  for (const auto& id : timed_out) {
    auto it = txns_.find(id);
    spdlog::info("transactional id {}: the transaction passed its timeout of {} ms: aborting", id,
                 it->second.timeout_ms);
    fence_and_abort(it->second, now);
  }
}

void TransactionCoordinator::expire_ids(Millis now) {
  std::vector<std::string> expired;
  for (const auto& [id, txn] : txns_) {
    const bool idle = txn.state == TxnState::kEmpty || txn.state == TxnState::kCompleteCommit ||
                      txn.state == TxnState::kCompleteAbort;
    if (idle && txn.last_update_ms + config_.id_expiration_ms <= now) expired.push_back(id);
  }
  for (const auto& id : expired) {
    // Dead is written as a tombstone: the id is gone once it is durable.
    const std::array<cluster::CoordinatorRecord, 1> tombstone = {
        cluster::CoordinatorRecord{encode_key(id), std::nullopt}};
    if (!store_->append(partition_for(id), tombstone)) continue;
    auto it = txns_.find(id);
    spdlog::info("transactional id {} expired (unused for {} ms)", id, config_.id_expiration_ms);
    by_producer_.erase(it->second.producer_id);
    count_ongoing(it->second, -1);
    txns_.erase(it);
  }
}

void TransactionCoordinator::advance(Millis now) {
  if (marker_retry_at_ && now >= *marker_retry_at_) {
    marker_retry_at_.reset();
    std::vector<std::string> ids;
    for (const auto& [id, partitions] : markers_due_) ids.push_back(id);
    for (const auto& id : ids)
      if (auto it = txns_.find(id); it != txns_.end()) complete(it->second, now);
  }
  if (now >= next_timeout_check_) {
    next_timeout_check_ = now + config_.abort_timed_out_interval_ms;
    abort_timed_out(now);
  }
  if (now >= next_expiration_check_) {
    next_expiration_check_ = now + config_.remove_expired_interval_ms;
    expire_ids(now);
  }
}

std::optional<Millis> TransactionCoordinator::next_deadline() const {
  std::optional<Millis> next = marker_retry_at_;
  auto consider = [&](Millis at) { next = next ? std::min(*next, at) : at; };
  if (ongoing_ > 0) consider(next_timeout_check_);
  if (!txns_.empty()) consider(next_expiration_check_);
  return next;
}

bool TransactionCoordinator::load(std::span<const uint8_t> key,
                                  std::optional<std::span<const uint8_t>> value) {
  std::optional<std::string> id = decode_key(key);
  if (!id) return false;
  if (!value) {
    if (auto it = txns_.find(*id); it != txns_.end()) {
      by_producer_.erase(it->second.producer_id);
      count_ongoing(it->second, -1);
      txns_.erase(it);
    }
    return true;
  }
  std::optional<TransactionLogValue> decoded = decode_value(*value);
  if (!decoded || decoded->transaction_status < 0 ||
      decoded->transaction_status > static_cast<int8_t>(TxnState::kPrepareEpochFence))
    return false;
  TxnMetadata txn;
  txn.transactional_id = *id;
  txn.producer_id = decoded->producer_id;
  txn.previous_producer_id = decoded->previous_producer_id;
  txn.next_producer_id = decoded->next_producer_id;
  txn.producer_epoch = decoded->producer_epoch;
  txn.timeout_ms = decoded->transaction_timeout_ms;
  txn.state = static_cast<TxnState>(decoded->transaction_status);
  if (decoded->transaction_partitions)
    for (const auto& topic : *decoded->transaction_partitions)
      for (int32_t p : topic.partition_ids) txn.partitions.insert({topic.topic, p});
  txn.last_update_ms = decoded->transaction_last_update_timestamp_ms;
  txn.start_ms = decoded->transaction_start_timestamp_ms;
  txn.client_transaction_version = decoded->client_transaction_version;
  if (auto it = txns_.find(*id); it != txns_.end()) {
    by_producer_.erase(it->second.producer_id);
    count_ongoing(it->second, -1);
  }
  by_producer_[txn.producer_id] = *id;
  count_ongoing(txn, 1);
  txns_[*id] = std::move(txn);
  return true;
}

void TransactionCoordinator::finish_load(Millis now) {
  for (auto it = txns_.begin(); it != txns_.end();) {
    // Kafka never writes Dead (a tombstone stands for it) nor
    // PrepareEpochFence; found anyway, they are dropped.
    if (it->second.state == TxnState::kDead || it->second.state == TxnState::kPrepareEpochFence) {
      by_producer_.erase(it->second.producer_id);
      count_ongoing(it->second, -1);
      it = txns_.erase(it);
    } else {
      ++it;
    }
  }
  next_timeout_check_ = now + config_.abort_timed_out_interval_ms;
  next_expiration_check_ = now + config_.remove_expired_interval_ms;
  // A crash between Prepare* and Complete*: the markers are written now.
  for (auto& [id, txn] : txns_) {
    if (!in_prepare(txn.state)) continue;
    spdlog::info("transactional id {}: completing its {} after restart", id,
                 txn.state == TxnState::kPrepareCommit ? "commit" : "abort");
    markers_due_[id] = txn.partitions;
    complete(txn, now);
  }
}

}  // namespace kb::txn
