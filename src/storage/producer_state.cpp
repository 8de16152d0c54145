#include "kb/storage/producer_state.hpp"

#include <limits>

#include <fmt/format.h>

#include "file_io.hpp"
#include "kb/storage/partition_log.hpp"

namespace kb::storage {

namespace {

constexpr int32_t kMaxSequence = std::numeric_limits<int32_t>::max();
// Each read() during a load covers at most this much of a segment.
constexpr uint64_t kLoadChunkBytes = 8u * 1024 * 1024;
constexpr size_t kLoadReadAhead = 16 * 1024;

bool in_sequence(int32_t last, int32_t next) {
  return static_cast<int64_t>(next) == static_cast<int64_t>(last) + 1 ||
         (next == 0 && last == kMaxSequence);
}

}  // namespace

int32_t increment_sequence(int32_t sequence, int32_t increment) {
  if (sequence > kMaxSequence - increment) return increment - (kMaxSequence - sequence) - 1;
  return sequence + increment;
}

int32_t last_sequence(const RecordBatchHeader& batch) {
  if (batch.base_sequence == kNoSequence) return kNoSequence;
  return increment_sequence(batch.base_sequence, batch.last_offset_delta);
}

SequenceCheck ProducerStateTable::check(const RecordBatchHeader& batch) const {
  SequenceCheck result;
  auto it = producers_.find(batch.producer_id);
  if (it == producers_.end()) return result;
  const ProducerEntry& entry = it->second;
  const int32_t first = batch.base_sequence;

  if (batch.producer_epoch == entry.epoch) {
    const int32_t last = last_sequence(batch);
    for (const auto& b : entry.batches) {
      if (b.first_sequence == first && b.last_sequence == last) {
        result.verdict = SequenceVerdict::duplicate;
        result.duplicate = b;
        return result;
      }
    }
  }
  if (batch.producer_epoch < entry.epoch) {
    result.verdict = SequenceVerdict::old_epoch;
    result.message = fmt::format("epoch {} of producer {} is older than its current epoch {}",
                                 batch.producer_epoch, batch.producer_id, entry.epoch);
    return result;
  }
  if (entry.epoch == kNoProducerEpoch) return result;  // nothing known to continue from
  if (batch.producer_epoch != entry.epoch) {
    if (first != 0) {
      result.verdict = SequenceVerdict::out_of_order;
      result.message =
          fmt::format("new epoch {} of producer {} starts at sequence {}, not 0 (epoch was {})",
                      batch.producer_epoch, batch.producer_id, first, entry.epoch);
    }
    return result;
  }
  if (!in_sequence(entry.last_sequence(), first)) {
    result.verdict = SequenceVerdict::out_of_order;
    result.message = fmt::format(
        "out of order sequence number for producer {}: {} (incoming), {} (current end sequence)",
        batch.producer_id, first, entry.last_sequence());
  }
  return result;
}

void ProducerStateTable::update(const RecordBatchHeader& batch) {
  if (batch.producer_id == kNoProducerId) return;
  ProducerEntry& entry = producers_[batch.producer_id];
  if (batch.producer_epoch != entry.epoch) {
    entry.epoch = batch.producer_epoch;
    entry.batches.clear();
  }
  entry.last_timestamp = batch.max_timestamp;
  if (batch.is_control()) return;
  if (entry.batches.size() == kProducerBatchesRetained) entry.batches.pop_front();
  entry.batches.push_back(ProducerBatchMetadata{batch.base_sequence, last_sequence(batch),
                                                batch.base_offset, batch.last_offset(),
                                                batch.max_timestamp});
}

size_t ProducerStateTable::remove_expired(int64_t now_ms, int64_t expiration_ms) {
  return std::erase_if(producers_, [&](const auto& entry) {
    return now_ms - entry.second.last_timestamp >= expiration_ms;
  });
}

const ProducerEntry* ProducerStateTable::find(int64_t producer_id) const {
  auto it = producers_.find(producer_id);
  return it == producers_.end() ? nullptr : &it->second;
}

Result<ProducerStateTable> load_producer_state(PartitionLog& log) {
  ProducerStateTable table;
  const std::vector<int64_t> bases = log.segment_base_offsets();
  int64_t offset = log.log_start_offset();
  if (bases.size() > 2) offset = bases[bases.size() - 2];

  while (offset < log.log_end_offset()) {
    auto read = log.read(offset, kLoadChunkBytes);
    if (!read) return read.error();
    if (read->outcome != LogReadResult::Outcome::ok || read->empty()) break;
    detail::FileBatchReader reader(read->file->fd(), read->file->path(), read->position,
                                   read->position + read->length, kLoadReadAhead);
    int64_t next = offset;
    for (;;) {
      auto step = reader.next(false, CrcCheck::skip);
      if (step == detail::FileBatchReader::Step::io_error) return reader.io_error();
      if (step == detail::FileBatchReader::Step::bad)
        return Error{fmt::format("{}: {} at byte {} while loading producer state",
                                 read->file->path().string(), to_string(reader.error()),
                                 reader.position())};
      if (step == detail::FileBatchReader::Step::end) break;
      table.update(reader.header());
      next = reader.header().next_offset();
    }
    if (next <= offset) break;  // no progress: never loop on a strange log
    offset = next;
  }
  return table;
}

}  // namespace kb::storage
