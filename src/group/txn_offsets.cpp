#include "kb/group/txn_offsets.hpp"

#include <chrono>

#include <spdlog/spdlog.h>

#include "kb/protocol/error_code.hpp"

namespace kb::group {

using protocol::ErrorCode;
using protocol::to_wire;

namespace {

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

int16_t TxnOffsets::commit(const TxnCommitParams& params,
                           std::span<const CommitPartition> partitions,
                           std::vector<int16_t>& errors, Millis now) {
  if (int16_t error = groups_.validate_offset_commit(params.group, now); error != 0) return error;
  errors.assign(partitions.size(), 0);
  const int32_t partition = groups_.partition_for(params.group.group_id);
  std::vector<Pending> added;
  std::vector<cluster::CoordinatorRecord> records;
  const int64_t timestamp = wall_ms();
  for (size_t i = 0; i < partitions.size(); ++i) {
    const CommitPartition& p = partitions[i];
    const std::string_view metadata = p.metadata.value_or("");
    if (metadata.size() > static_cast<size_t>(groups_.config().max_metadata_bytes)) {
      errors[i] = to_wire(ErrorCode::kOffsetMetadataTooLarge);
      continue;
    }
    Pending pending{std::string(params.group.group_id),
                    std::string(p.topic),
                    p.partition,
                    {encode_key(OffsetCommitKey{std::string(params.group.group_id),
                                                std::string(p.topic), p.partition}),
                     encode_value(OffsetCommitValue{
                         p.offset, p.leader_epoch, std::string(metadata), timestamp, -1, {}})},
                    timestamp};
    records.push_back(pending.record);
    added.push_back(std::move(pending));
  }
  if (topic_ && !records.empty() &&
      !topic_->append(partition, records,
                      cluster::TransactionalProducer{params.producer_id, params.producer_epoch})) {
    for (auto& e : errors)
      if (e == 0) e = to_wire(ErrorCode::kCoordinatorNotAvailable);
    return 0;
  }
  auto& list = pending_[{partition, params.producer_id}];
  for (auto& p : added) list.push_back(std::move(p));
  return 0;
}

bool TxnOffsets::end(int32_t partition, int64_t producer_id, int16_t producer_epoch, bool commit,
                     int32_t coordinator_epoch) {
  if (topic_ &&
      !topic_->append_marker(partition, {producer_id, producer_epoch}, commit, coordinator_epoch))
    return false;
  auto it = pending_.find({partition, producer_id});
  if (it == pending_.end()) return true;
  if (commit) {
    for (const auto& p : it->second) {
      // A plain commit made after this one stays (Kafka keeps the most
      // recent of a mix of transactional and plain commits).
      if (const Group* group = groups_.find(p.group)) {
        auto existing = group->offsets.find(std::pair<std::string, int32_t>(p.topic, p.partition));
        if (existing != group->offsets.end() &&
            existing->second.commit_timestamp > p.commit_timestamp)
          continue;
      }
      std::optional<std::span<const uint8_t>> value;
      if (p.record.value) value = std::span<const uint8_t>(*p.record.value);
      groups_.load(p.record.key, value);
    }
  }
  spdlog::debug("{} transactional offsets of producer {} {}", it->second.size(), producer_id,
                commit ? "committed" : "aborted");
  pending_.erase(it);
  return true;
}

bool TxnOffsets::is_pending(std::string_view group_id, std::string_view topic,
                            int32_t partition) const {
  for (const auto& [key, list] : pending_)
    for (const auto& p : list)
      if (p.partition == partition && p.group == group_id && p.topic == topic) return true;
  return false;
}

size_t TxnOffsets::pending_count() const {
  size_t n = 0;
  for (const auto& [key, list] : pending_) n += list.size();
  return n;
}

void TxnOffsets::restore(int32_t partition, const cluster::TransactionalProducer& producer,
                         std::span<const cluster::CoordinatorRecord> records) {
  auto& list = pending_[{partition, producer.producer_id}];
  for (const auto& record : records) {
    CoordinatorKey key = decode_key(record.key);
    const auto* k = std::get_if<OffsetCommitKey>(&key);
    if (!k || !record.value) continue;
    const auto value = decode_offset_commit_value(*record.value);
    list.push_back({k->group, k->topic, k->partition, record, value ? value->commit_timestamp : 0});
  }
}

}  // namespace kb::group
