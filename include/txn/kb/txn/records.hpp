#pragma once

// The records Kafka's transaction coordinator keeps in __transaction_state,
// in its own formats: key [int16 version 0][TransactionalId string], value
// [int16 version][TransactionLogValue] (version 0, or 1 with tagged fields,
// written once transaction.version 1 or later is finalized); a null value
// (tombstone) removes the transactional id.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kb/records/transaction_coordinator.hpp"

namespace kb::txn {

inline constexpr std::string_view kTransactionStateTopic = "__transaction_state";

// Generated from Kafka's schema (kb/records/transaction_coordinator.hpp, from
// the kafka-transaction-coordinator jar of the pinned Kafka). Its
// transaction_partitions are null when the state is Empty.
using records::TransactionLogValue;

// The value version written while transaction.version is 0 (Kafka's
// TransactionVersion.transactionLogValueVersion).
inline constexpr int16_t kTransactionLogValueVersion = 0;

std::vector<uint8_t> encode_key(std::string_view transactional_id);
std::vector<uint8_t> encode_value(const TransactionLogValue& value,
                                  int16_t version = kTransactionLogValueVersion);
// nullopt: not a version-0 key, or malformed.
std::optional<std::string> decode_key(std::span<const uint8_t> bytes);
// nullopt: a version newer than 1, or malformed.
std::optional<TransactionLogValue> decode_value(std::span<const uint8_t> bytes);

// The __transaction_state partition of a transactional id, as Kafka picks
// it: abs(Java String.hashCode) % partitions.
int32_t transaction_partition_for(std::string_view transactional_id, int32_t partitions);

}  // namespace kb::txn
