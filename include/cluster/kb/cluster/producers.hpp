#pragma once

// Idempotent producers on the broker side: producer ids handed out by
// InitProducerId, and each partition's producer state (sequence numbers).

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "kb/storage/partition_log.hpp"
#include "kb/storage/producer_state.hpp"
#include "kb/storage/result.hpp"
#include "kb/storage/txn_index.hpp"
#include "kb/wire/uuid.hpp"

namespace kb::cluster {

struct BrokerState;

// Kafka's controller hands out producer ids in blocks of this many, each
// recorded by a ProducerIdsRecord in the metadata log whose next producer id
// is the block's end; ids of a block are never handed out again, even when a
// restart leaves some of them unused.
inline constexpr int64_t kProducerIdBlockSize = 1000;

// The block being handed out: ids [next, end).
struct ProducerIdBlock {
  int64_t next = 0;
  int64_t end = 0;
};

// The next producer id, allocating (and persisting) a new block when the
// current one is used up. An Error when the metadata log cannot be written
// or the id space is exhausted.
storage::Result<int64_t> allocate_producer_id(BrokerState& state);

// Each partition's producer state, loaded from its log the first time an
// idempotent batch arrives for it (partitions open lazily, so start-up
// reads nothing). Keyed by topic id: a topic deleted and created again under
// the same name starts afresh.
// Kafka's producer.id.expiration.ms and producer.id.expiration.check.interval.ms
// defaults: a producer silent for a day is forgotten, checked every ten minutes.
inline constexpr int64_t kProducerIdExpirationMs = int64_t{24} * 60 * 60 * 1000;
inline constexpr int64_t kProducerExpirationCheckIntervalMs = int64_t{10} * 60 * 1000;

class ProducerStates {
 public:
  // The partition's table; expired producers are dropped from it first when
  // a check is due (`now_ms`: wall-clock time).
  storage::Result<storage::ProducerStateTable*> find_or_load(const wire::Uuid& topic_id,
                                                             int32_t partition,
                                                             storage::PartitionLog& log,
                                                             int64_t now_ms);
  // A transaction marker (control batch, as stored) was appended to the
  // partition: the producer's ongoing transaction ends; an aborted one is
  // written to the .txnindex of the segment the marker is in and kept for
  // read_committed fetches.
  storage::Status apply_marker(const wire::Uuid& topic_id, int32_t partition,
                               storage::PartitionLog& log, const storage::RecordBatchHeader& marker,
                               bool commit, int32_t coordinator_epoch, int64_t now_ms);
  // Kafka's last stable offset: the first offset of the earliest ongoing
  // transaction, else the log end offset (this broker's high watermark).
  storage::Result<int64_t> last_stable_offset(const wire::Uuid& topic_id, int32_t partition,
                                              storage::PartitionLog& log, int64_t now_ms);
  // The first offset of the earliest ongoing transaction when the
  // partition's state is loaded (nothing is read for it).
  std::optional<int64_t> loaded_first_unstable_offset(const wire::Uuid& topic_id,
                                                      int32_t partition) const;
  // A cleaned segment replaced the partition's offsets [from, to): the
  // aborted transactions whose markers were there are now `kept` (those whose
  // records and marker it removed are no longer given to read_committed
  // fetches). Nothing when the partition's state is not loaded (a load reads
  // the rewritten indexes).
  void replace_aborted_in(const wire::Uuid& topic_id, int32_t partition, int64_t from, int64_t to,
                          std::span<const storage::AbortedTxn> kept);
  // The aborted transactions a read_committed fetch of [from, to) lists:
  // those whose marker is at or after `from` and that started before `to`.
  storage::Result<std::vector<storage::AbortedTxn>> aborted_between(const wire::Uuid& topic_id,
                                                                    int32_t partition,
                                                                    storage::PartitionLog& log,
                                                                    int64_t from, int64_t to,
                                                                    int64_t now_ms);

  // At a segment roll: the partition's loaded table (if any) as a snapshot at
  // `offset`, the log end offset before the append that rolled, as Kafka
  // takes one at every roll, so a later load reads little of the log.
  void snapshot_at_roll(const wire::Uuid& topic_id, int32_t partition, int64_t offset);
  // Forgets the partitions of a deleted topic.
  void forget_topic(const wire::Uuid& topic_id);
  // At shutdown: a producer snapshot (Kafka's format) for every loaded
  // partition, so the next start-up reads the state instead of the log.
  void write_snapshots() const;
  size_t loaded_count() const { return tables_.size(); }

 private:
  using Key = std::pair<wire::Uuid, int32_t>;
  struct Loaded {
    storage::ProducerStateTable table;
    std::filesystem::path dir;  // the partition directory
    int64_t next_expiration_check_ms = 0;
    std::vector<storage::AbortedTxn> aborted;  // by marker offset
  };
  storage::Result<Loaded*> loaded(const wire::Uuid& topic_id, int32_t partition,
                                  storage::PartitionLog& log, int64_t now_ms);
  std::map<Key, std::unique_ptr<Loaded>> tables_;
};

}  // namespace kb::cluster
