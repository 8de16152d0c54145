#pragma once

// What a batch must satisfy to be appended (Kafka's LogValidator, the parts
// that need no broker state): the structure and CRC of every batch an append
// writes, and, for compacted topics, that every record has a key. The produce
// path turns the findings into Kafka's error codes.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "kb/storage/record_batch.hpp"
#include "kb/storage/result.hpp"

namespace kb::storage {

// One batch of an append, as found in the caller's bytes.
struct AppendBatch {
  size_t at = 0;    // byte of the appended bytes where it starts
  size_t size = 0;  // its bytes
  int32_t last_offset_delta = 0;
  // Its max timestamp as it will be stored: with LogAppendTime, the append time.
  int64_t max_timestamp = kNoTimestamp;
};

// Walks concatenated batches: each must be whole, of magic 2, with a CRC that
// matches (unless `crc` says skip) and a last offset delta of 0 or more.
// Error: the first problem and its byte; nothing at all is an error too.
Result<std::vector<AppendBatch>> check_append_batches(Bytes batches, CrcCheck crc,
                                                      std::optional<int64_t> log_append_time);

// The indexes (0-based, in the batch) of the records without a key, which a
// compacted topic refuses. Compressed batches are decompressed to look.
// Error: the records cannot be read.
Result<std::vector<int32_t>> records_without_key(const RecordBatchView& batch);

}  // namespace kb::storage
