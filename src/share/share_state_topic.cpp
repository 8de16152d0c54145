#include "kb/share/share_state_topic.hpp"

#include <algorithm>
#include <chrono>
#include <limits>
#include <optional>

#include <spdlog/spdlog.h>

#include "kb/base/byte_buffer.hpp"
#include "kb/group/records.hpp"
#include "kb/records/share_coordinator.hpp"
#include "kb/storage/partition_log.hpp"
#include "kb/wire/reader.hpp"
#include "kb/wire/serde.hpp"
#include "kb/wire/writer.hpp"

namespace kb::share {

namespace {

constexpr int16_t kSnapshotType = records::ShareSnapshotKey::kType;
constexpr int16_t kUpdateType = records::ShareUpdateKey::kType;
constexpr int16_t kValueVersion = 0;

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

cluster::CoordinatorTopicOptions topic_options(const ShareCoordinatorConfig& config) {
  cluster::CoordinatorTopicOptions options;
  options.name = std::string(kShareGroupStateTopic);
  options.partitions = config.state_topic_partitions;
  options.segment_bytes = config.state_topic_segment_bytes;
  // The configs Kafka's share coordinator gives it (min.insync.replicas: one
  // node); records are pruned from the front, not compacted.
  options.configs = {{"cleanup.policy", "delete"},
                     {"compression.type", "producer"},
                     {"retention.ms", "-1"},
                     {"min.insync.replicas", "1"}};
  return options;
}

// Coordinator records: the key is [int16 record type][key], the value
// [int16 version][value].
template <class Key>
std::vector<uint8_t> encode_key(int16_t type, const SharePartitionKey& k) {
  ByteBuffer out;
  wire::Writer writer(out);
  writer.int16(type);
  Key key;
  key.group_id = k.group;
  key.topic_id = k.topic_id;
  key.partition = k.partition;
  wire::encode(writer, key, 0, false);
  return {out.data(), out.data() + out.size()};
}

template <class Value>
std::vector<uint8_t> encode_value(const Value& value) {
  ByteBuffer out;
  wire::Writer writer(out);
  writer.int16(kValueVersion);
  wire::encode(writer, value, kValueVersion, kValueVersion >= Value::kFirstFlexible);
  return {out.data(), out.data() + out.size()};
}

template <class Batch>
std::vector<Batch> to_records(std::span<const StateBatch> batches) {
  std::vector<Batch> out;
  out.reserve(batches.size());
  for (const auto& b : batches)
    out.push_back({b.first_offset, b.last_offset, static_cast<int8_t>(b.state), b.delivery_count});
  return out;
}

template <class Batch>
std::optional<std::vector<StateBatch>> from_records(const std::vector<Batch>& batches) {
  std::vector<StateBatch> out;
  out.reserve(batches.size());
  for (const auto& b : batches) {
    RecordState state;
    switch (b.delivery_state) {
      case 0:
        state = RecordState::kAvailable;
        break;
      case 1:
        state = RecordState::kAcquired;
        break;
      case 2:
        state = RecordState::kAcknowledged;
        break;
      case 4:
        state = RecordState::kArchived;
        break;
      default:
        return std::nullopt;
    }
    if (b.last_offset < b.first_offset) return std::nullopt;
    out.push_back({b.first_offset, b.last_offset, state, b.delivery_count});
  }
  return out;
}

struct DecodedKey {
  int16_t type = 0;
  SharePartitionKey key;
};

std::optional<DecodedKey> decode_key(std::span<const uint8_t> bytes) {
  wire::Reader reader(bytes);
  DecodedKey out;
  out.type = reader.int16();
  if (!reader.ok() || (out.type != kSnapshotType && out.type != kUpdateType)) return std::nullopt;
  records::ShareSnapshotKey key;  // both keys have the same fields
  wire::decode(reader, key, 0, false);
  if (!reader.ok()) return std::nullopt;
  out.key = {std::move(key.group_id), key.topic_id, key.partition};
  return out;
}

template <class Value>
std::optional<Value> decode_value(std::span<const uint8_t> bytes) {
  wire::Reader reader(bytes);
  const int16_t version = reader.int16();
  if (!reader.ok() || version != kValueVersion) return std::nullopt;
  Value value;
  wire::decode(reader, value, version, version >= Value::kFirstFlexible);
  if (!reader.ok()) return std::nullopt;
  return value;
}

}  // namespace

std::string coordinator_key(const SharePartitionKey& key) {
  return key.group + ":" + key.topic_id.to_base64() + ":" + std::to_string(key.partition);
}

int32_t share_state_partition_for(const SharePartitionKey& key, int32_t partitions) {
  // Kafka: Utils.abs(key.hashCode()) % partitions, the group coordinator's rule.
  return group::offsets_partition_for(coordinator_key(key), partitions);
}

std::vector<StateBatch> combine_state_batches(std::span<const StateBatch> old_batches,
                                              std::span<const StateBatch> update,
                                              int64_t start_offset) {
  // Per-offset override, kept as runs: old runs cut around the new ones.
  std::vector<StateBatch> out;
  auto add = [&](StateBatch b) {
    b.first_offset = std::max(b.first_offset, start_offset);
    if (b.last_offset < b.first_offset) return;
    out.push_back(b);
  };
  for (const StateBatch& o : old_batches) {
    std::vector<StateBatch> pieces = {o};
    for (const StateBatch& n : update) {
      std::vector<StateBatch> next;
      for (const StateBatch& p : pieces) {
        if (n.last_offset < p.first_offset || n.first_offset > p.last_offset) {
          next.push_back(p);
          continue;
        }
        if (p.first_offset < n.first_offset)
          next.push_back({p.first_offset, n.first_offset - 1, p.state, p.delivery_count});
        if (p.last_offset > n.last_offset)
          next.push_back({n.last_offset + 1, p.last_offset, p.state, p.delivery_count});
      }
      pieces = std::move(next);
    }
    for (const StateBatch& p : pieces) add(p);
  }
  for (const StateBatch& n : update) add(n);
  std::sort(out.begin(), out.end(), [](const StateBatch& a, const StateBatch& b) {
    return a.first_offset < b.first_offset;
  });
  // Neighbours in the same state and delivery count are one run.
  std::vector<StateBatch> merged;
  for (const StateBatch& b : out) {
    if (!merged.empty() && merged.back().last_offset + 1 == b.first_offset &&
        merged.back().state == b.state && merged.back().delivery_count == b.delivery_count) {
      merged.back().last_offset = b.last_offset;
      continue;
    }
    merged.push_back(b);
  }
  return merged;
}

ShareStateTopic::ShareStateTopic(cluster::BrokerState& state, ShareCoordinatorConfig config)
    : state_(state), config_(config), topic_(state, topic_options(config)) {}

bool ShareStateTopic::write_snapshot(const SharePartitionKey& key, KeyState& s) {
  const int32_t partition = share_state_partition_for(key, topic_.partitions());
  records::ShareSnapshotValue value;
  value.snapshot_epoch = s.has_snapshot ? s.snapshot_epoch + 1 : 0;
  value.state_epoch = 0;
  value.leader_epoch = -1;
  value.start_offset = s.start_offset;
  value.create_timestamp = s.create_timestamp;
  value.write_timestamp = wall_ms();
  value.state_batches = to_records<records::ShareSnapshotValue::StateBatch>(s.batches);
  const cluster::CoordinatorRecord record{encode_key<records::ShareSnapshotKey>(kSnapshotType, key),
                                          encode_value(value)};
  // Where the snapshot lands: the partition's end before the append.
  int64_t at = -1;
  if (state_.logs != nullptr) {
    auto log = state_.logs->find(std::string(kShareGroupStateTopic), partition);
    if (log && *log != nullptr) at = (*log)->log_end_offset();
  }
  if (!topic_.append(partition, std::span(&record, 1))) return false;
  s.snapshot_epoch = value.snapshot_epoch;
  s.has_snapshot = true;
  s.updates_since_snapshot = 0;
  s.snapshot_offset = at;
  return true;
}

bool ShareStateTopic::write(const SharePartitionKey& key, int64_t start_offset,
                            std::span<const StateBatch> batches) {
  if (!topic_.ready()) return false;
  auto [it, added] = keys_.try_emplace(key);
  KeyState& s = it->second;
  if (added) s.create_timestamp = wall_ms();
  const KeyState before = s;
  s.start_offset = start_offset;
  s.batches = combine_state_batches(s.batches, batches, start_offset);
  // So many updates between snapshots.
  if (!s.has_snapshot || s.updates_since_snapshot >= config_.snapshot_update_records_per_snapshot) {
    if (write_snapshot(key, s)) return true;
    s = before;
    return false;
  }
  records::ShareUpdateValue value;
  value.snapshot_epoch = s.snapshot_epoch;
  value.leader_epoch = -1;
  value.start_offset = start_offset;
  value.state_batches = to_records<records::ShareUpdateValue::StateBatch>(batches);
  const cluster::CoordinatorRecord record{encode_key<records::ShareUpdateKey>(kUpdateType, key),
                                          encode_value(value)};
  if (!topic_.append(share_state_partition_for(key, topic_.partitions()), std::span(&record, 1))) {
    s = before;
    return false;
  }
  ++s.updates_since_snapshot;
  return true;
}

bool ShareStateTopic::erase(const SharePartitionKey& key) {
  if (!topic_.ready()) return false;
  // Tombstones for both kinds of records of the key.
  const std::vector<cluster::CoordinatorRecord> records = {
      {encode_key<records::ShareSnapshotKey>(kSnapshotType, key), std::nullopt},
      {encode_key<records::ShareUpdateKey>(kUpdateType, key), std::nullopt}};
  if (!topic_.append(share_state_partition_for(key, topic_.partitions()), records)) return false;
  keys_.erase(key);
  return true;
}

storage::Status ShareStateTopic::load_into(ShareState& shares) {
  size_t unreadable = 0;
  cluster::CoordinatorTopic::Replay replay;
  replay.record = [&](int32_t /*partition*/, const storage::RecordView& record) {
    if (!record.key) return;
    auto key = decode_key(*record.key);
    if (!key) {
      ++unreadable;
      return;
    }
    if (!record.value) {  // a tombstone: the key's state is gone
      keys_.erase(key->key);
      return;
    }
    if (key->type == kSnapshotType) {
      auto value = decode_value<records::ShareSnapshotValue>(*record.value);
      auto batches = value ? from_records(value->state_batches) : std::nullopt;
      if (!batches) {
        ++unreadable;
        return;
      }
      KeyState& s = keys_[key->key];
      s.has_snapshot = true;
      s.snapshot_epoch = value->snapshot_epoch;
      s.updates_since_snapshot = 0;
      s.create_timestamp = value->create_timestamp;
      s.start_offset = value->start_offset;
      s.batches = std::move(*batches);
      s.snapshot_offset = record.offset;
      return;
    }
    auto value = decode_value<records::ShareUpdateValue>(*record.value);
    auto batches = value ? from_records(value->state_batches) : std::nullopt;
    if (!batches) {
      ++unreadable;
      return;
    }
    auto it = keys_.find(key->key);
    // An update counts over the snapshot it was written after.
    if (it == keys_.end() || !it->second.has_snapshot ||
        it->second.snapshot_epoch != value->snapshot_epoch)
      return;
    KeyState& s = it->second;
    s.start_offset = value->start_offset;
    s.batches = combine_state_batches(s.batches, *batches, value->start_offset);
    ++s.updates_since_snapshot;
  };
  auto replayed = topic_.replay(replay);
  if (!replayed) return replayed.error();
  if (unreadable > 0)
    spdlog::error(
        "{}: {} records this broker cannot read (a newer version, or malformed bytes) are kept "
        "in the log but not used",
        kShareGroupStateTopic, unreadable);
  for (const auto& [key, s] : keys_) shares.restore(key, s.start_offset, s.batches);
  spdlog::info("loaded {} records of {} ({} share-partitions)", replayed->records,
               kShareGroupStateTopic, keys_.size());
  return {};
}

size_t ShareStateTopic::prune() {
  if (state_.logs == nullptr) return 0;
  // The oldest latest-snapshot of each partition's keys.
  std::map<int32_t, int64_t> needed;
  for (const auto& [key, s] : keys_) {
    const int32_t partition = share_state_partition_for(key, topic_.partitions());
    const int64_t from = s.snapshot_offset < 0 ? 0 : s.snapshot_offset;
    auto [it, added] = needed.try_emplace(partition, from);
    if (!added) it->second = std::min(it->second, from);
  }
  size_t moved = 0;
  for (int32_t partition = 0; partition < topic_.partitions(); ++partition) {
    auto log = state_.logs->find(std::string(kShareGroupStateTopic), partition);
    if (!log || *log == nullptr) continue;
    auto it = needed.find(partition);
    const int64_t to = it == needed.end() ? (*log)->log_end_offset() : it->second;
    if (to <= (*log)->log_start_offset()) continue;
    auto advanced = (*log)->advance_log_start_offset(to);
    if (!advanced) {
      spdlog::warn("{}-{}: pruning to {}: {}", kShareGroupStateTopic, partition, to,
                   advanced.error().message);
      continue;
    }
    ++moved;
  }
  return moved;
}

}  // namespace kb::share
