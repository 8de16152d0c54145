#include "kb/cluster/coordinator_topic.hpp"

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "kb/cluster/broker_state.hpp"
#include "kb/cluster/topic_admin.hpp"
#include "kb/storage/partition_log.hpp"
#include "kb/wire/reader.hpp"
#include "kb/wire/writer.hpp"

namespace kb::cluster {

namespace {

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

constexpr uint64_t kReadBytes = 1 << 20;
constexpr int16_t kMarkerAbort = 0;
constexpr int16_t kMarkerCommit = 1;

// What reading a partition passed over.
struct ReadProblems {
  size_t compressed = 0;  // batches this broker cannot read (the coordinators never write them)
  size_t damaged = 0;     // batches or regions whose records were not read
};

// The first segment base offset above `offset`, or nullopt.
std::optional<int64_t> next_segment_after(const storage::PartitionLog& log, int64_t offset) {
  for (int64_t base : log.segment_base_offsets())
    if (base > offset) return base;
  return std::nullopt;
}

using RecordVisitor =
    std::function<void(const storage::RecordBatchView& batch, const storage::RecordView& record)>;

// Calls `visit` for every record of the log in [from, to), in order (control
// batches' records too).
//
// Damage does not hide what follows it. A batch whose CRC does not match is
// skipped (its records are not trusted) and reading goes on with the next
// one; bytes that are not batches at all (a damaged length or magic) end the
// segment: reading goes on at the next segment. Each is logged with file,
// byte and offsets, and the files are left as they are for inspection
// (kafka-broker check lists them). Kafka's loader stops the partition's load
// at such a record instead (its coordinator stays unavailable); losing every
// record after one flipped bit is worse than losing the damaged batch's own.
storage::Status for_each_record(storage::PartitionLog& log, int64_t from, int64_t to,
                                const RecordVisitor& visit, ReadProblems& problems) {
  int64_t offset = from;
  auto skip_segment = [&](const std::string& where, const std::string& why) {
    ++problems.damaged;
    const auto next = next_segment_after(log, offset);
    spdlog::error(
        "{}: {}: {}; records from offset {} to {} are not loaded; the file is kept as it is for "
        "inspection",
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
      if (batch->compression() != storage::Compression::none) {
        ++problems.compressed;
        continue;
      }
      storage::RecordIterator it(*batch);
      storage::RecordView record;
      while (it.next(record)) visit(*batch, record);
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

// A committed transaction's record counts for its key unless a later record
// of the key was written meanwhile (Kafka keeps the most recent commit of a
// mix of transactional and plain ones).
void keep_latest(std::map<std::string, int64_t>& latest, const std::string& key, int64_t offset) {
  auto [it, inserted] = latest.emplace(key, offset);
  if (!inserted && it->second < offset) it->second = offset;
}

std::vector<uint8_t> build_batch(std::span<const CoordinatorRecord> records,
                                 const std::optional<TransactionalProducer>& transaction) {
  storage::RecordBatchBuilder builder;
  if (transaction) {
    // Kafka's transactional offset commits carry the producer; no sequence
    // (the coordinator writes them, nothing is resent).
    builder.set_producer_id(transaction->producer_id)
        .set_producer_epoch(transaction->producer_epoch)
        .set_transactional(true);
  }
  const int64_t now = wall_ms();
  for (const auto& r : records) {
    std::optional<storage::Bytes> value;
    if (r.value) value = storage::Bytes(*r.value);
    builder.add_record(storage::Bytes(r.key), value, now);
  }
  return builder.build();
}

}  // namespace

std::vector<uint8_t> build_marker_batch(int64_t producer_id, int16_t producer_epoch, bool commit,
                                        int32_t coordinator_epoch, int64_t timestamp) {
  ByteBuffer key;
  wire::Writer k(key);
  k.int16(0);
  k.int16(commit ? kMarkerCommit : kMarkerAbort);
  ByteBuffer value;
  wire::Writer v(value);
  v.int16(0);
  v.int32(coordinator_epoch);
  storage::RecordBatchBuilder builder;
  builder.set_producer_id(producer_id)
      .set_producer_epoch(producer_epoch)
      .set_transactional(true)
      .set_control(true);
  builder.add_record(storage::Bytes(key.data(), key.size()),
                     storage::Bytes(value.data(), value.size()), timestamp);
  return builder.build();
}

std::optional<bool> marker_is_commit(std::span<const uint8_t> control_key) {
  wire::Reader reader(control_key);
  const int16_t version = reader.int16();
  const int16_t type = reader.int16();
  if (!reader.ok() || version < 0) return std::nullopt;
  if (type == kMarkerCommit) return true;
  if (type == kMarkerAbort) return false;
  return std::nullopt;
}

CoordinatorTopic::CoordinatorTopic(BrokerState& state, CoordinatorTopicOptions options)
    : state_(state),
      name_(std::move(options.name)),
      partitions_(options.partitions),
      segment_bytes_(options.segment_bytes),
      configs_(std::move(options.configs)) {
  if (state_.logs) {
    storage::PartitionLogOptions log_options;
    log_options.segment_bytes = static_cast<uint64_t>(segment_bytes_);
    log_options.index_interval_bytes = state_.log_config.index_interval_bytes;
    state_.logs->set_topic_options(name_, log_options);
  }
}

int32_t CoordinatorTopic::partitions() const {
  const TopicInfo* topic = state_.topics.find(name_);
  return topic && !topic->partitions.empty() ? static_cast<int32_t>(topic->partitions.size())
                                             : partitions_;
}

bool CoordinatorTopic::ready() {
  if (state_.topics.find(name_)) return true;
  // With the configs Kafka gives it.
  NewTopic topic;
  topic.name = name_;
  topic.partitions = partitions_;
  topic.configs = configs_;
  topic.configs["segment.bytes"] = std::to_string(segment_bytes_);
  CreateTopicResult created = create_topic(state_, topic, false);
  if (created.error != CreateTopicError::kNone &&
      created.error != CreateTopicError::kAlreadyExists) {
    spdlog::error("creating {}: {}", name_, created.message);
    return false;
  }
  // Refused over directories of an earlier topic of the name that the metadata
  // lost: no coordinator until they are brought back.
  if (!state_.topics.find(name_)) {
    spdlog::error("creating {}: {}", name_, created.message);
    return false;
  }
  return true;
}

storage::Result<storage::PartitionLog*> CoordinatorTopic::log_of(int32_t partition,
                                                                 int32_t* leader_epoch) {
  if (!ready() || !state_.logs) return storage::Error{"no log directory"};
  const TopicInfo* topic = state_.topics.find(name_);
  const PartitionInfo* info = topic->partition(partition);
  if (!info) return storage::Error{fmt::format("{} has no partition {}", name_, partition)};
  *leader_epoch = info->leader_epoch;
  auto log = state_.logs->find_or_create(name_, partition, topic->id);
  if (!log) return log.error();
  return *log;
}

storage::Result<storage::AppendResult> CoordinatorTopic::write(
    storage::PartitionLog& log, int32_t partition, int32_t leader_epoch, std::vector<uint8_t> batch,
    std::optional<bool> marker_commit, int32_t coordinator_epoch) {
  const TopicInfo* topic = state_.topics.find(name_);
  auto header = storage::RecordBatchHeader::parse(batch);
  // A transaction's batches and markers go through the partition's producer
  // state, as a client's do: it gives the last stable offset the cleaner
  // stops at, and an abort's .txnindex entry. Loaded before the append, so
  // the load does not count the new batch once and the update again.
  storage::ProducerStateTable* producers = nullptr;
  const int64_t now = wall_ms();
  if (topic != nullptr && header && header->producer_id != storage::kNoProducerId) {
    auto table = state_.producer_states.find_or_load(topic->id, partition, log, now);
    if (!table) return table.error();
    producers = *table;
  }
  const int64_t end_before = log.log_end_offset();
  const size_t segments_before = log.segment_count();
  auto appended = log.append(batch, leader_epoch);
  if (!appended) return appended;
  ++state_.data_generation;  // fetchers of the topic see it
  // As at a client's roll: a later load starts from the snapshot, not from
  // the last segments only (a transaction may have opened before them).
  if (topic != nullptr && segments_before > 0 && log.segment_count() > segments_before)
    state_.producer_states.snapshot_at_roll(topic->id, partition, end_before);
  if (producers == nullptr) return appended;
  storage::RecordBatchHeader stored = *header;
  stored.base_offset = appended->first_offset;
  if (marker_commit) {
    // The marker is in the log whatever happens here: a later load finds it.
    if (auto applied = state_.producer_states.apply_marker(topic->id, partition, log, stored,
                                                           *marker_commit, coordinator_epoch, now);
        !applied)
      spdlog::error("{}-{}: producer state after the marker: {}", name_, partition,
                    applied.error().message);
  } else {
    producers->update(stored);
  }
  return appended;
}

bool CoordinatorTopic::append(int32_t partition, std::span<const CoordinatorRecord> records,
                              std::optional<TransactionalProducer> transaction) {
  int32_t leader_epoch = -1;
  auto log = log_of(partition, &leader_epoch);
  if (!log) {
    spdlog::error("{}-{}: {}", name_, partition, log.error().message);
    return false;
  }
  auto appended = write(**log, partition, leader_epoch, build_batch(records, transaction));
  if (!appended) {
    spdlog::error("{}-{}: append failed: {}", name_, partition, appended.error().message);
    return false;
  }
  return true;
}

bool CoordinatorTopic::append_marker(int32_t partition, const TransactionalProducer& producer,
                                     bool commit, int32_t coordinator_epoch) {
  int32_t leader_epoch = -1;
  auto log = log_of(partition, &leader_epoch);
  if (!log) {
    spdlog::error("{}-{}: {}", name_, partition, log.error().message);
    return false;
  }
  auto appended = write(**log, partition, leader_epoch,
                        build_marker_batch(producer.producer_id, producer.producer_epoch, commit,
                                           coordinator_epoch, wall_ms()),
                        commit, coordinator_epoch);
  if (!appended) {
    spdlog::error("{}-{}: marker append failed: {}", name_, partition, appended.error().message);
    return false;
  }
  return true;
}

storage::Result<CoordinatorTopic::ReplayStats> CoordinatorTopic::replay(const Replay& visit) {
  ReplayStats stats;
  const TopicInfo* topic = state_.topics.find(name_);
  if (!topic || !state_.logs) return stats;
  for (const auto& p : topic->partitions) {
    const int32_t partition = p.partition_index;
    auto found = state_.logs->find(name_, partition);
    if (!found) return found.error();
    storage::PartitionLog* log = *found;
    if (!log) continue;
    // Each key's latest offset and the transactions not yet ended, for this
    // load only.
    PartitionState state;
    // The records of open transactions, as they were written.
    std::map<int64_t, std::pair<TransactionalProducer, std::vector<CoordinatorRecord>>> pending;
    ReadProblems problems;
    // Views into a read's bytes do not outlive it: open transactions keep copies.
    auto visited = for_each_record(
        *log, log->log_start_offset(), log->log_end_offset(),
        [&](const storage::RecordBatchView& batch, const storage::RecordView& record) {
          if (batch.is_control()) {
            if (!batch.is_transactional() || !record.key) return;
            const std::optional<bool> commit = marker_is_commit(*record.key);
            if (!commit) return;
            const int64_t producer_id = batch.producer_id();
            if (auto open = state.open.find(producer_id); open != state.open.end()) {
              if (*commit) {
                auto& copies = pending[producer_id].second;
                for (size_t i = 0; i < open->second.records.size(); ++i) {
                  const auto& [key, offset] = open->second.records[i];
                  keep_latest(state.latest, key, offset);
                  if (state.latest[key] != offset) continue;  // a later plain record wins
                  storage::RecordView view;
                  view.offset = offset;
                  view.key = storage::Bytes(copies[i].key);
                  if (copies[i].value) view.value = storage::Bytes(*copies[i].value);
                  if (visit.record) visit.record(partition, view);
                }
              }
              state.open.erase(open);
            }
            pending.erase(producer_id);
            if (visit.marker) visit.marker(partition, producer_id, *commit);
            return;
          }
          if (!record.key) return;
          ++stats.records;
          Key key(record.key->begin(), record.key->end());
          if (batch.is_transactional()) {
            OpenTransaction& open = state.open[batch.producer_id()];
            if (open.records.empty()) open.first_offset = record.offset;
            open.records.emplace_back(std::move(key), record.offset);
            auto& [producer, copies] = pending[batch.producer_id()];
            producer = {batch.producer_id(), batch.producer_epoch()};
            copies.push_back({std::vector<uint8_t>(record.key->begin(), record.key->end()),
                              record.value
                                  ? std::optional<std::vector<uint8_t>>(std::vector<uint8_t>(
                                        record.value->begin(), record.value->end()))
                                  : std::nullopt});
            return;
          }
          state.latest[std::move(key)] = record.offset;
          if (visit.record) visit.record(partition, record);
        },
        problems);
    if (!visited.ok()) return visited.error();
    stats.compressed += problems.compressed;
    stats.damaged += problems.damaged;
    if (visit.open_transaction)
      for (const auto& [producer_id, entry] : pending)
        visit.open_transaction(partition, entry.first, entry.second);
    // The partition's producer state, loaded now while start-up reads the
    // log anyway: the cleaner asks every partition for its last stable
    // offset later, and that must not read segments on the loop then.
    if (auto loaded = state_.producer_states.find_or_load(topic->id, partition, *log, wall_ms());
        !loaded)
      spdlog::warn("{}-{}: producer state: {}", name_, partition, loaded.error().message);
  }
  if (stats.compressed > 0)
    spdlog::warn("{}: {} compressed batches were not read", name_, stats.compressed);
  if (stats.damaged > 0)
    spdlog::error(
        "{}: {} damaged batches or regions were passed over (named above); the records in them "
        "are missing, those after them are loaded",
        name_, stats.damaged);
  return stats;
}

}  // namespace kb::cluster
