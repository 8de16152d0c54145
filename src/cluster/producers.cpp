#include "kb/cluster/producers.hpp"

#include <algorithm>
#include <limits>

#include <spdlog/spdlog.h>

#include "kb/cluster/broker_state.hpp"
#include "kb/cluster/topic_admin.hpp"
#include "kb/storage/metadata_records.hpp"

namespace kb::cluster {

storage::Result<int64_t> allocate_producer_id(BrokerState& state) {
  ProducerIdBlock& block = state.producer_id_block;
  if (block.next >= block.end) {
    const int64_t start = state.next_producer_id;
    if (start > std::numeric_limits<int64_t>::max() - kProducerIdBlockSize)
      return storage::Error{"producer ids are exhausted"};
    storage::ProducerIdsRecord record;
    record.broker_id = state.node_id;
    record.next_producer_id = start + kProducerIdBlockSize;
    // Persisted before any id of the block is used, so a restart never
    // hands the same id out twice.
    if (auto appended = append_metadata(state, {record}); !appended) return appended.error();
    block = {start, start + kProducerIdBlockSize};
    spdlog::info("producer ids {}..{} allocated", block.next, block.end - 1);
  }
  return block.next++;
}

storage::Result<ProducerStates::Loaded*> ProducerStates::loaded(const wire::Uuid& topic_id,
                                                                int32_t partition,
                                                                storage::PartitionLog& log,
                                                                int64_t now_ms) {
  Key key{topic_id, partition};
  auto it = tables_.find(key);
  if (it == tables_.end()) {
    auto loaded = storage::load_producer_state(log);
    if (!loaded) return loaded.error();
    if (loaded->table.size() > 0)
      spdlog::info("{}: producer state of {} producers loaded from the log", log.dir().string(),
                   loaded->table.size());
    auto entry = std::make_unique<Loaded>(
        Loaded{std::move(loaded->table), log.dir(), 0, std::move(loaded->aborted)});
    it = tables_.emplace(std::move(key), std::move(entry)).first;
  }
  Loaded& loaded = *it->second;
  if (now_ms >= loaded.next_expiration_check_ms) {
    loaded.table.remove_expired(now_ms, kProducerIdExpirationMs);
    loaded.next_expiration_check_ms = now_ms + kProducerExpirationCheckIntervalMs;
  }
  return &loaded;
}

storage::Result<storage::ProducerStateTable*> ProducerStates::find_or_load(
    const wire::Uuid& topic_id, int32_t partition, storage::PartitionLog& log, int64_t now_ms) {
  auto found = loaded(topic_id, partition, log, now_ms);
  if (!found) return found.error();
  return &(*found)->table;
}

storage::Status ProducerStates::apply_marker(const wire::Uuid& topic_id, int32_t partition,
                                             storage::PartitionLog& log,
                                             const storage::RecordBatchHeader& marker, bool commit,
                                             int32_t coordinator_epoch, int64_t now_ms) {
  auto found = loaded(topic_id, partition, log, now_ms);
  if (!found) return found.error();
  Loaded& state = **found;
  const std::optional<storage::AbortedTxn> aborted =
      state.table.update(marker, commit, coordinator_epoch);
  if (!aborted) return {};
  state.aborted.push_back(*aborted);
  // The segment the marker went to (the active one, unless it rolled since).
  const std::vector<int64_t> bases = log.segment_base_offsets();
  auto segment = std::upper_bound(bases.begin(), bases.end(), marker.base_offset);
  if (segment == bases.begin()) return {};
  return storage::append_aborted_txn(log.dir(), *std::prev(segment), *aborted);
}

storage::Result<int64_t> ProducerStates::last_stable_offset(const wire::Uuid& topic_id,
                                                            int32_t partition,
                                                            storage::PartitionLog& log,
                                                            int64_t now_ms) {
  auto found = loaded(topic_id, partition, log, now_ms);
  if (!found) return found.error();
  const std::optional<int64_t> unstable = (*found)->table.first_unstable_offset();
  return unstable ? std::min(*unstable, log.log_end_offset()) : log.log_end_offset();
}

std::optional<int64_t> ProducerStates::loaded_first_unstable_offset(const wire::Uuid& topic_id,
                                                                    int32_t partition) const {
  auto it = tables_.find(Key{topic_id, partition});
  if (it == tables_.end()) return std::nullopt;
  return it->second->table.first_unstable_offset();
}

storage::Result<std::vector<storage::AbortedTxn>> ProducerStates::aborted_between(
    const wire::Uuid& topic_id, int32_t partition, storage::PartitionLog& log, int64_t from,
    int64_t to, int64_t now_ms) {
  auto found = loaded(topic_id, partition, log, now_ms);
  if (!found) return found.error();
  std::vector<storage::AbortedTxn> out;
  const auto& aborted = (*found)->aborted;
  // By marker offset: those before `from` are skipped at once.
  auto it = std::lower_bound(
      aborted.begin(), aborted.end(), from,
      [](const storage::AbortedTxn& txn, int64_t offset) { return txn.last_offset < offset; });
  for (; it != aborted.end(); ++it)
    if (it->first_offset < to) out.push_back(*it);
  return out;
}

void ProducerStates::replace_aborted_in(const wire::Uuid& topic_id, int32_t partition, int64_t from,
                                        int64_t to, std::span<const storage::AbortedTxn> kept) {
  auto it = tables_.find(Key{topic_id, partition});
  if (it == tables_.end()) return;
  std::vector<storage::AbortedTxn>& aborted = it->second->aborted;
  std::vector<storage::AbortedTxn> merged(kept.begin(), kept.end());
  for (const storage::AbortedTxn& txn : aborted)
    if (txn.last_offset < from || txn.last_offset >= to) merged.push_back(txn);
  // By marker offset, as aborted_between searches them.
  std::stable_sort(merged.begin(), merged.end(),
                   [](const storage::AbortedTxn& a, const storage::AbortedTxn& b) {
                     return a.last_offset < b.last_offset;
                   });
  aborted = std::move(merged);
}

void ProducerStates::snapshot_at_roll(const wire::Uuid& topic_id, int32_t partition,
                                      int64_t offset) {
  auto it = tables_.find(Key{topic_id, partition});
  if (it == tables_.end()) return;
  Loaded& loaded = *it->second;
  loaded.table.set_end_offset(offset);
  if (auto written = storage::write_producer_snapshot(loaded.dir, loaded.table); !written)
    spdlog::warn("{}: producer snapshot not written: {}", loaded.dir.string(),
                 written.error().message);
}

void ProducerStates::forget_topic(const wire::Uuid& topic_id) {
  auto it = tables_.lower_bound(Key{topic_id, std::numeric_limits<int32_t>::min()});
  while (it != tables_.end() && it->first.first == topic_id) it = tables_.erase(it);
}

void ProducerStates::write_snapshots() const {
  for (const auto& [key, loaded] : tables_) {
    if (!std::filesystem::is_directory(loaded->dir)) continue;  // removed meanwhile
    if (auto written = storage::write_producer_snapshot(loaded->dir, loaded->table); !written)
      spdlog::warn("{}: producer snapshot not written: {}", loaded->dir.string(),
                   written.error().message);
  }
}

}  // namespace kb::cluster
