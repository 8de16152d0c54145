#pragma once

// A coordinator's compacted internal topic (__consumer_offsets for the group
// coordinator, __transaction_state for the transaction coordinator): created
// on first use with the configs Kafka gives it, its partitions holding the
// coordinator's key/value records as ordinary record batches, replayed in log
// order at start-up.
//
// Growth is bounded by the log cleaner, as any topic whose cleanup.policy is
// compact (broker/log_cleaning.cpp): the coordinator only appends. Its
// transactional batches and markers go through the partition's producer
// state as a client's would, so the last stable offset holds the cleaner
// below a transaction still open, and an abort is listed in the .txnindex
// (the cleaner never lets an aborted record hide a committed one).
//
// Transactions (offsets committed by TxnOffsetCommit): records may be written
// in a transactional batch of a producer, and its COMMIT or ABORT marker (a
// control batch) later. Such records count for their key, in replay, only
// once their COMMIT marker follows; an aborted transaction's records never
// do.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "kb/storage/record_batch.hpp"
#include "kb/storage/result.hpp"

namespace kb::storage {
class PartitionLog;
struct AppendResult;
}  // namespace kb::storage

namespace kb::cluster {

struct BrokerState;

// One record of a coordinator topic; a null value is a tombstone.
struct CoordinatorRecord {
  std::vector<uint8_t> key;
  std::optional<std::vector<uint8_t>> value;
};

struct CoordinatorTopicOptions {
  std::string name;
  int32_t partitions = 50;
  int32_t segment_bytes = 104857600;
  // The topic's configs when it is created (segment.bytes is added).
  std::map<std::string, std::string, std::less<>> configs;
};

// A producer's transaction a write belongs to.
struct TransactionalProducer {
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
};

class CoordinatorTopic {
 public:
  CoordinatorTopic(BrokerState& state, CoordinatorTopicOptions options);

  const std::string& name() const { return name_; }
  // The partition count in use: the existing topic's, else the configured one.
  int32_t partitions() const;
  // Makes the topic usable (creates it); false when it cannot be.
  bool ready();
  // Appends the records to a partition, all or nothing: as one batch, in
  // `transaction` when given (its records count once its COMMIT follows).
  bool append(int32_t partition, std::span<const CoordinatorRecord> records,
              std::optional<TransactionalProducer> transaction = std::nullopt);
  // Appends a transaction's COMMIT or ABORT marker (Kafka's
  // EndTransactionMarker control batch) to a partition.
  bool append_marker(int32_t partition, const TransactionalProducer& producer, bool commit,
                     int32_t coordinator_epoch);

  // Start-up: every partition's records in log order, as they count (a
  // transaction's committed records where its COMMIT marker is); then, for
  // each transaction still open, its records so far.
  struct Replay {
    std::function<void(int32_t partition, const storage::RecordView& record)> record;
    std::function<void(int32_t partition, const TransactionalProducer& producer,
                       std::span<const CoordinatorRecord> records)>
        open_transaction;
    // A marker was read: the records of `producer` committed or aborted.
    std::function<void(int32_t partition, int64_t producer_id, bool commit)> marker;
  };
  struct ReplayStats {
    size_t records = 0;
    size_t compressed = 0;  // batches not read (the coordinators never write them)
    size_t damaged = 0;     // batches or regions passed over
  };
  storage::Result<ReplayStats> replay(const Replay& visit);

 private:
  using Key = std::string;  // a record key's bytes
  struct OpenTransaction {
    int64_t first_offset = 0;
    std::vector<std::pair<Key, int64_t>> records;  // keys and offsets written so far
  };
  // What replay tracks of one partition.
  struct PartitionState {
    std::map<Key, int64_t> latest;            // the offset of the latest record of each key
    std::map<int64_t, OpenTransaction> open;  // by producer id
  };
  // Appends one batch; `marker_commit` when it is a transaction marker.
  storage::Result<storage::AppendResult> write(storage::PartitionLog& log, int32_t partition,
                                               int32_t leader_epoch, std::vector<uint8_t> batch,
                                               std::optional<bool> marker_commit = std::nullopt,
                                               int32_t coordinator_epoch = 0);
  storage::Result<storage::PartitionLog*> log_of(int32_t partition, int32_t* leader_epoch);

  BrokerState& state_;
  std::string name_;
  int32_t partitions_;
  int32_t segment_bytes_;
  std::map<std::string, std::string, std::less<>> configs_;
};

// Kafka's EndTransactionMarker control record: key [int16 version 0][int16
// type: 0 ABORT, 1 COMMIT], value [int16 version 0][int32 coordinator epoch].
std::vector<uint8_t> build_marker_batch(int64_t producer_id, int16_t producer_epoch, bool commit,
                                        int32_t coordinator_epoch, int64_t timestamp);
// Whether a control record's key is a COMMIT (true) or ABORT (false) marker;
// nullopt for other control records or malformed keys.
std::optional<bool> marker_is_commit(std::span<const uint8_t> control_key);

}  // namespace kb::cluster
