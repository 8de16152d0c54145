#include "kb/cluster/producers.hpp"

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

storage::Result<storage::ProducerStateTable*> ProducerStates::find_or_load(
    const wire::Uuid& topic_id, int32_t partition, storage::PartitionLog& log, int64_t now_ms) {
  Key key{topic_id, partition};
  auto it = tables_.find(key);
  if (it == tables_.end()) {
    auto loaded = storage::load_producer_state(log);
    if (!loaded) return loaded.error();
    if (loaded->size() > 0)
      spdlog::info("{}: producer state of {} producers loaded from the log", log.dir().string(),
                   loaded->size());
    auto entry = std::make_unique<Loaded>(Loaded{std::move(loaded.value()), log.dir(), 0});
    it = tables_.emplace(std::move(key), std::move(entry)).first;
  }
  Loaded& loaded = *it->second;
  if (now_ms >= loaded.next_expiration_check_ms) {
    loaded.table.remove_expired(now_ms, kProducerIdExpirationMs);
    loaded.next_expiration_check_ms = now_ms + kProducerExpirationCheckIntervalMs;
  }
  return &loaded.table;
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
