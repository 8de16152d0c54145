#include "kb/storage/log_validator.hpp"

#include <fmt/format.h>

#include <string>

#include "kb/storage/compression.hpp"

namespace kb::storage {

Result<std::vector<AppendBatch>> check_append_batches(Bytes batches, CrcCheck crc,
                                                      std::optional<int64_t> log_append_time) {
  std::vector<AppendBatch> found;
  BatchIterator it(batches, crc);
  while (auto batch = it.next()) {
    const size_t at = it.position() - batch->size_in_bytes();
    if (batch->last_offset_delta() < 0)
      return Error{fmt::format("record batch at byte {} has a negative last offset delta", at)};
    found.push_back({at, batch->size_in_bytes(), batch->last_offset_delta(),
                     log_append_time.value_or(batch->max_timestamp())});
  }
  if (it.error() != BatchError::none)
    return Error{
        fmt::format("invalid record batch at byte {}: {}", it.position(), to_string(it.error()))};
  if (found.empty()) return Error{"nothing to append"};
  return found;
}

Result<std::vector<int32_t>> records_without_key(const RecordBatchView& batch) {
  std::vector<uint8_t> plain;
  std::optional<RecordIterator> records;
  if (batch.compression() == Compression::none) {
    records.emplace(batch);
  } else {
    auto decompressed = decompress(batch.compression(), batch.records_section());
    if (!decompressed) return decompressed.error();
    plain = std::move(*decompressed);
    records.emplace(batch, plain);
  }
  std::vector<int32_t> keyless;
  RecordView record;
  for (int32_t index = 0; records->next(record); ++index)
    if (!record.key) keyless.push_back(index);
  if (!records->ok()) return Error{std::string(records->error()->what)};
  return keyless;
}

}  // namespace kb::storage
