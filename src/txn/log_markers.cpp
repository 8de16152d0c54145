#include "kb/txn/log_markers.hpp"

#include <spdlog/spdlog.h>

#include "kb/base/wall_clock.hpp"
#include "kb/group/records.hpp"
#include "kb/storage/record_batch.hpp"

namespace kb::txn {

std::vector<TopicPartition> LogMarkerWriter::write_markers(
    int64_t producer_id, int16_t producer_epoch, bool commit, int32_t coordinator_epoch,
    std::span<const TopicPartition> partitions) {
  std::vector<TopicPartition> failed;
  for (const auto& tp : partitions)
    if (!write_one(producer_id, producer_epoch, commit, coordinator_epoch, tp))
      failed.push_back(tp);
  return failed;
}

bool LogMarkerWriter::write_one(int64_t producer_id, int16_t producer_epoch, bool commit,
                                int32_t coordinator_epoch, const TopicPartition& tp) {
  const cluster::TopicInfo* topic = state_.topics.find(tp.topic);
  const cluster::PartitionInfo* info = topic ? topic->partition(tp.partition) : nullptr;
  if (!info) {
    // Deleted meanwhile: nothing to mark (Kafka drops such markers too).
    spdlog::info("transaction marker for {}-{} dropped: the partition no longer exists", tp.topic,
                 tp.partition);
    return true;
  }
  if (tp.topic == group::kOffsetsTopic) {
    if (!offsets_) return true;
    return offsets_->end(tp.partition, producer_id, producer_epoch, commit, coordinator_epoch);
  }
  if (!state_.logs) return false;
  auto log = state_.logs->find_or_create(topic->name, tp.partition, topic->id);
  if (!log) {
    spdlog::error("transaction marker for {}-{}: {}", tp.topic, tp.partition, log.error().message);
    return false;
  }
  const int64_t now = wall_ms();
  const std::vector<uint8_t> batch =
      cluster::build_marker_batch(producer_id, producer_epoch, commit, coordinator_epoch, now);
  const int64_t end_before = (*log)->log_end_offset();
  const size_t segments_before = (*log)->segment_count();
  auto appended = (*log)->append(batch, info->leader_epoch);
  if (!appended) {
    spdlog::error("transaction marker for {}-{}: append failed: {}", tp.topic, tp.partition,
                  appended.error().message);
    return false;
  }
  if (segments_before > 0 && (*log)->segment_count() > segments_before)
    state_.producer_states.snapshot_at_roll(topic->id, tp.partition, end_before);
  auto stored = *storage::RecordBatchHeader::parse(batch);
  stored.base_offset = appended->first_offset;
  if (auto applied = state_.producer_states.apply_marker(topic->id, tp.partition, **log, stored,
                                                         commit, coordinator_epoch, now);
      !applied) {
    // The marker is in the log: a later load of the producer state finds it.
    spdlog::error("transaction marker for {}-{}: {}", tp.topic, tp.partition,
                  applied.error().message);
  }
  ++state_.data_generation;  // read_committed fetches waiting on the LSO
  if (state_.flusher) state_.flusher->start_writeback(**log);
  return true;
}

}  // namespace kb::txn
