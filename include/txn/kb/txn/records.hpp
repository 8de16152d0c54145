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

namespace kb::txn {

inline constexpr std::string_view kTransactionStateTopic = "__transaction_state";

struct TransactionLogValue {
  struct PartitionsSchema {
    std::string topic;
    std::vector<int32_t> partition_ids;

    template <class Io>
    void fields(Io& io) {
      io(topic);
      io(partition_ids);
    }
  };

  int64_t producer_id = -1;
  int64_t previous_producer_id = -1;  // tagged 0, v1+
  int64_t next_producer_id = -1;      // tagged 1, v1+
  int16_t producer_epoch = -1;
  int32_t transaction_timeout_ms = 0;
  int8_t transaction_status = 0;
  std::optional<std::vector<PartitionsSchema>> transaction_partitions;  // null when Empty
  int64_t transaction_last_update_timestamp_ms = -1;
  int64_t transaction_start_timestamp_ms = -1;
  int16_t client_transaction_version = 0;  // tagged 2, v1+

  template <class Io>
  void fields(Io& io) {
    io(producer_id);
    io(producer_epoch);
    io(transaction_timeout_ms);
    io(transaction_status);
    io(transaction_partitions);
    io(transaction_last_update_timestamp_ms);
    io(transaction_start_timestamp_ms);
  }
  template <class Tags>
  void tagged_fields(Tags& t) {
    t(0, previous_producer_id, int64_t{-1});
    t(1, next_producer_id, int64_t{-1});
    t(2, client_transaction_version, int16_t{0});
  }
};

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
