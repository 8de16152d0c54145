#include "kb/group/offsets_topic.hpp"

#include <chrono>

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

constexpr uint64_t kLoadReadBytes = 1 << 20;

}  // namespace

int32_t OffsetsTopic::partitions() const {
  const cluster::TopicInfo* topic = state_.topics.find(kOffsetsTopic);
  return topic && !topic->partitions.empty() ? static_cast<int32_t>(topic->partitions.size())
                                             : partitions_;
}

bool OffsetsTopic::ready() {
  if (state_.topics.find(kOffsetsTopic)) return true;
  cluster::CreateTopicResult created = cluster::create_topic(state_, kOffsetsTopic, partitions_);
  if (created.error != cluster::CreateTopicError::kNone &&
      created.error != cluster::CreateTopicError::kAlreadyExists) {
    spdlog::error("creating {}: {}", kOffsetsTopic, created.message);
    return false;
  }
  return true;
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
  storage::RecordBatchBuilder builder;
  const int64_t now = wall_ms();
  for (const auto& r : records) {
    std::optional<storage::Bytes> value;
    if (r.value) value = storage::Bytes(*r.value);
    builder.add_record(storage::Bytes(r.key), value, now);
  }
  std::vector<uint8_t> batch = builder.build();
  auto appended = (*log)->append(batch, info->leader_epoch);
  if (!appended) {
    spdlog::error("{}-{}: append failed: {}", kOffsetsTopic, partition, appended.error().message);
    return false;
  }
  ++state_.data_generation;  // fetchers of the topic see it
  return true;
}

storage::Status OffsetsTopic::load_into(GroupCoordinator& coordinator) {
  const cluster::TopicInfo* topic = state_.topics.find(kOffsetsTopic);
  if (!topic || !state_.logs) return {};
  coordinator.set_offsets_partitions(partitions());
  size_t records = 0;
  for (const auto& p : topic->partitions) {
    auto found = state_.logs->find(kOffsetsTopic, p.partition_index);
    if (!found) return found.error();
    storage::PartitionLog* log = *found;
    if (!log) continue;
    int64_t offset = log->log_start_offset();
    while (offset < log->log_end_offset()) {
      auto read = log->read(offset, kLoadReadBytes);
      if (!read) return read.error();
      if (read->empty()) break;
      auto bytes = read->read_bytes();
      if (!bytes) return bytes.error();
      storage::BatchIterator batches(*bytes);
      int64_t next = offset;
      while (auto batch = batches.next()) {
        next = batch->next_offset();
        if (batch->is_control()) continue;
        if (batch->compression() != storage::Compression::none) {
          spdlog::warn("{}-{}: skipping a compressed batch at offset {}", kOffsetsTopic,
                       p.partition_index, batch->base_offset());
          continue;
        }
        storage::RecordIterator it(*batch);
        storage::RecordView record;
        while (it.next(record)) {
          if (!record.key) continue;
          coordinator.load(*record.key, record.value);
          ++records;
        }
      }
      if (next <= offset) break;  // nothing whole could be read: stop rather than spin
      offset = next;
    }
  }
  spdlog::info("loaded {} records of {} ({} groups)", records, kOffsetsTopic,
               coordinator.groups().size());
  return {};
}

}  // namespace kb::group
