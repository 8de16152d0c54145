#include "kb/group/offsets_topic.hpp"

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <spdlog/spdlog.h>

#include "kb/cluster/topic_admin.hpp"
#include "kb/storage/record_batch.hpp"

namespace kb::group {

namespace {

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

constexpr uint64_t kReadBytes = 1 << 20;

// What reading a partition of the offsets topic passed over.
struct ReadProblems {
  size_t compressed = 0;  // batches this broker cannot read (the coordinator never writes them)
  size_t damaged = 0;     // batches or regions whose records were not read

  bool any() const { return compressed > 0 || damaged > 0; }
};

// The first segment base offset above `offset`, or nullopt.
std::optional<int64_t> next_segment_after(const storage::PartitionLog& log, int64_t offset) {
  for (int64_t base : log.segment_base_offsets())
    if (base > offset) return base;
  return std::nullopt;
}

// Calls `visit` for every record of the log in [from, to), in order.
//
// Damage does not hide what follows it. A batch whose CRC does not match is
// skipped (its records are not trusted) and reading goes on with the next
// one; bytes that are not batches at all (a damaged length or magic) end the
// segment: reading goes on at the next segment. Each is logged with file,
// byte and offsets, and the files are left as they are for inspection
// (kafka-broker check lists them). Kafka's loader stops the partition's load
// at such a record instead (its groups stay unavailable); losing every
// commit recorded after one flipped bit is worse than losing the damaged
// batch's own.
storage::Status for_each_record(storage::PartitionLog& log, int64_t from, int64_t to,
                                const std::function<void(const storage::RecordView&)>& visit,
                                ReadProblems& problems) {
  int64_t offset = from;
  auto skip_segment = [&](const std::string& where, const std::string& why) {
    ++problems.damaged;
    const auto next = next_segment_after(log, offset);
    spdlog::error(
        "{}: {}: {}; records from offset {} to {} are not loaded (committed offsets recorded "
        "there are missing); the file is kept as it is for inspection",
        log.dir().string(), where, why, offset, next ? *next - 1 : to - 1);
    if (next) offset = *next;
    return next.has_value();
  };
  while (offset < to) {
    auto read = log.read(offset, kReadBytes, to);
    if (!read) {
      if (skip_segment(fmt::format("reading at offset {}", offset), read.error().message)) continue;
      break;
    }
    if (read->empty()) break;
    auto bytes = read->read_bytes();
    if (!bytes) return bytes.error();
    const std::string file = read->file ? read->file->path().string() : log.dir().string();
    storage::BatchIterator batches(*bytes, storage::CrcCheck::skip);
    int64_t next = offset;
    size_t position = 0;
    while (auto batch = batches.next()) {
      const uint64_t file_position = read->position + position;
      position = batches.position();
      next = batch->next_offset();
      if (!batch->crc_matches()) {
        ++problems.damaged;
        spdlog::error(
            "{} at byte {}: the batch of offsets {} to {} fails its CRC check; its {} records are "
            "not loaded, reading goes on after it; the file is kept as it is for inspection",
            file, file_position, batch->base_offset(), batch->last_offset(), batch->record_count());
        continue;
      }
      if (batch->is_control()) continue;
      if (batch->compression() != storage::Compression::none) {
        ++problems.compressed;
        continue;
      }
      storage::RecordIterator it(*batch);
      storage::RecordView record;
      while (it.next(record)) visit(record);
      if (!it.ok()) {
        ++problems.damaged;
        spdlog::error(
            "{} at byte {}: a record of the batch at offset {} is malformed ({}); the "
            "batch's later records are not loaded",
            file, file_position, batch->base_offset(), it.error()->what);
      }
    }
    if (next <= offset) {
      // Not one whole batch here: the framing itself is damaged.
      if (skip_segment(fmt::format("{} at byte {}", file, read->position),
                       std::string(storage::to_string(batches.error()))))
        continue;
      break;
    }
    offset = next;
  }
  return {};
}

}  // namespace

OffsetsTopic::OffsetsTopic(cluster::BrokerState& state, const GroupConfig& config)
    : state_(state),
      partitions_(config.offsets_partitions),
      segment_bytes_(config.offsets_segment_bytes) {
  if (state_.logs) {
    storage::PartitionLogOptions options;
    options.segment_bytes = static_cast<uint64_t>(config.offsets_segment_bytes);
    options.index_interval_bytes = state_.log_config.index_interval_bytes;
    state_.logs->set_topic_options(std::string(kOffsetsTopic), options);
  }
}

int32_t OffsetsTopic::partitions() const {
  const cluster::TopicInfo* topic = state_.topics.find(kOffsetsTopic);
  return topic && !topic->partitions.empty() ? static_cast<int32_t>(topic->partitions.size())
                                             : partitions_;
}

bool OffsetsTopic::ready() {
  if (state_.topics.find(kOffsetsTopic)) return true;
  // With the configs Kafka gives it.
  cluster::NewTopic topic;
  topic.name = std::string(kOffsetsTopic);
  topic.partitions = partitions_;
  topic.configs = {{"cleanup.policy", "compact"},
                   {"compression.type", "producer"},
                   {"segment.bytes", std::to_string(segment_bytes_)}};
  cluster::CreateTopicResult created = cluster::create_topic(state_, topic, false);
  if (created.error != cluster::CreateTopicError::kNone &&
      created.error != cluster::CreateTopicError::kAlreadyExists) {
    spdlog::error("creating {}: {}", kOffsetsTopic, created.message);
    return false;
  }
  // Refused over directories of an earlier __consumer_offsets the metadata
  // lost: no coordinator until they are brought back.
  if (!state_.topics.find(kOffsetsTopic)) {
    spdlog::error("creating {}: {}", kOffsetsTopic, created.message);
    return false;
  }
  return true;
}

storage::Result<storage::AppendResult> OffsetsTopic::write(
    storage::PartitionLog& log, int32_t partition, int32_t leader_epoch,
    std::span<const CoordinatorRecord> records) {
  storage::RecordBatchBuilder builder;
  const int64_t now = wall_ms();
  for (const auto& r : records) {
    std::optional<storage::Bytes> value;
    if (r.value) value = storage::Bytes(*r.value);
    builder.add_record(storage::Bytes(r.key), value, now);
  }
  std::vector<uint8_t> batch = builder.build();
  auto appended = log.append(batch, leader_epoch);
  if (!appended) return appended;
  auto& latest = latest_[partition];
  for (size_t i = 0; i < records.size(); ++i)
    latest[Key(records[i].key.begin(), records[i].key.end())] =
        appended->first_offset + static_cast<int64_t>(i);
  ++state_.data_generation;  // fetchers of the topic see it
  return appended;
}

bool OffsetsTopic::append(int32_t partition, std::span<const CoordinatorRecord> records) {
  if (!ready() || !state_.logs) return false;
  const cluster::TopicInfo* topic = state_.topics.find(kOffsetsTopic);
  const cluster::PartitionInfo* info = topic->partition(partition);
  if (!info) {
    spdlog::error("{} has no partition {}", kOffsetsTopic, partition);
    return false;
  }
  auto log = state_.logs->find_or_create(kOffsetsTopic, partition, topic->id);
  if (!log) {
    spdlog::error("{}-{}: {}", kOffsetsTopic, partition, log.error().message);
    return false;
  }
  auto appended = write(**log, partition, info->leader_epoch, records);
  if (!appended) {
    spdlog::error("{}-{}: append failed: {}", kOffsetsTopic, partition, appended.error().message);
    return false;
  }
  if ((*log)->segment_count() > kMaxSegments && !compaction_stopped_.contains(partition)) {
    // The records are written; compaction failing only delays the bound.
    if (auto compacted = compact_oldest_segment(**log, partition, info->leader_epoch);
        !compacted.ok()) {
      spdlog::warn("{}-{}: compaction: {}", kOffsetsTopic, partition, compacted.error().message);
      // A damaged segment stays until someone looks at it: asked once.
      if (compacted.error().message.find("damaged") != std::string::npos)
        compaction_stopped_.insert(partition);
    }
  }
  return true;
}

storage::Status OffsetsTopic::compact_oldest_segment(storage::PartitionLog& log, int32_t partition,
                                                     int32_t leader_epoch) {
  const std::vector<int64_t> bases = log.segment_base_offsets();
  if (bases.size() < 2) return {};
  auto& latest = latest_[partition];
  std::vector<CoordinatorRecord> live;
  std::vector<Key> dropped_tombstones;
  ReadProblems problems;
  auto visited = for_each_record(
      log, bases[0], bases[1],
      [&](const storage::RecordView& record) {
        if (!record.key) return;
        Key key(record.key->begin(), record.key->end());
        auto it = latest.find(key);
        if (it == latest.end() || it->second != record.offset) return;  // superseded
        if (!record.value) {
          // Nothing older of this key survives the segment: the tombstone goes too.
          dropped_tombstones.push_back(std::move(key));
          return;
        }
        live.push_back({std::vector<uint8_t>(key.begin(), key.end()),
                        std::vector<uint8_t>(record.value->begin(), record.value->end())});
      },
      problems);
  if (!visited.ok()) return visited;
  // Never delete what could not be read: it stays for inspection.
  if (problems.compressed > 0)
    return storage::Error{"the oldest segment holds compressed batches: kept"};
  if (problems.damaged > 0)
    return storage::Error{"the oldest segment is damaged: kept as it is, not compacted"};
  if (!live.empty()) {
    auto copied = write(log, partition, leader_epoch, live);
    if (!copied) return copied.error();
  }
  if (auto deleted = log.delete_oldest_segment(); !deleted.ok()) return deleted;
  for (const auto& key : dropped_tombstones) latest.erase(key);
  spdlog::debug("{}-{}: compacted the segment at {} ({} live records copied)", kOffsetsTopic,
                partition, bases[0], live.size());
  return {};
}

storage::Status OffsetsTopic::load_into(GroupCoordinator& coordinator) {
  const cluster::TopicInfo* topic = state_.topics.find(kOffsetsTopic);
  if (!topic || !state_.logs) return {};
  coordinator.set_offsets_partitions(partitions());
  size_t records = 0;
  ReadProblems problems;
  // Records left unused, by coordinator record type, and their groups.
  std::map<int16_t, size_t> other_types;
  std::set<std::string> other_groups;
  std::map<int16_t, size_t> unreadable;
  for (const auto& p : topic->partitions) {
    auto found = state_.logs->find(kOffsetsTopic, p.partition_index);
    if (!found) return found.error();
    storage::PartitionLog* log = *found;
    if (!log) continue;
    auto& latest = latest_[p.partition_index];
    auto visited = for_each_record(
        *log, log->log_start_offset(), log->log_end_offset(),
        [&](const storage::RecordView& record) {
          if (!record.key) return;
          latest[Key(record.key->begin(), record.key->end())] = record.offset;
          const GroupCoordinator::Loaded loaded = coordinator.load(*record.key, record.value);
          ++records;
          if (loaded == GroupCoordinator::Loaded::kUsed) return;
          const auto typed = key_type_and_group(*record.key);
          const int16_t type = typed ? typed->type : int16_t{-1};
          if (loaded == GroupCoordinator::Loaded::kOtherType) {
            ++other_types[type];
            if (typed) other_groups.insert(typed->group);
          } else {
            ++unreadable[type];
          }
        },
        problems);
    if (!visited.ok()) return visited;
  }
  if (problems.compressed > 0)
    spdlog::warn("{}: {} compressed batches were not read", kOffsetsTopic, problems.compressed);
  if (problems.damaged > 0)
    spdlog::error(
        "{}: {} damaged batches or regions were passed over (named above); the groups' "
        "offsets committed in them are missing, those committed after them are loaded",
        kOffsetsTopic, problems.damaged);
  auto named = [](const std::map<int16_t, size_t>& counts) {
    std::string text;
    for (const auto& [type, count] : counts)
      text += fmt::format("{}{} ({}: {})", text.empty() ? "" : ", ",
                          coordinator_record_type_name(type), type, count);
    return text;
  };
  if (!other_types.empty())
    spdlog::warn(
        "{}: records of group kinds this broker does not serve (share and streams groups) are "
        "kept in the log but not used: {}; groups {}: their committed offsets are served, as "
        "an empty classic group's",
        kOffsetsTopic, named(other_types), fmt::join(other_groups, ", "));
  if (!unreadable.empty())
    spdlog::error(
        "{}: records this broker cannot read (a value version newer than it knows, or malformed "
        "bytes) are kept in the log but not used: {}",
        kOffsetsTopic, named(unreadable));
  spdlog::info("loaded {} records of {} ({} groups)", records, kOffsetsTopic,
               coordinator.groups().size());
  return {};
}

}  // namespace kb::group
