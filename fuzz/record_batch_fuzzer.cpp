// Record batch v2 parsing: the checked view, the batch iterator and split,
// record iteration and validation (a compressed batch's records too, once
// decompressed), and the in-place header edits. Every view a record hands out
// must lie inside its batch (or its decompressed records).

#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "kb/storage/compression.hpp"
#include "kb/storage/record_batch.hpp"
#include "kb/storage/segment_index.hpp"

namespace {

using namespace kb::storage;

bool inside(Bytes outer, Bytes inner) {
  return inner.empty() || (inner.data() >= outer.data() &&
                           inner.data() + inner.size() <= outer.data() + outer.size());
}

void check_records(const RecordBatchView& batch) {
  RecordIterator it(batch);
  RecordView record;
  int32_t count = 0;
  while (it.next(record)) {
    ++count;
    if (!inside(batch.bytes(), record.bytes)) std::abort();
    if (record.key && !inside(batch.bytes(), *record.key)) std::abort();
    if (record.value && !inside(batch.bytes(), *record.value)) std::abort();
    for (const auto& h : record.headers) {
      if (h.value && !inside(batch.bytes(), *h.value)) std::abort();
      const auto* key = reinterpret_cast<const uint8_t*>(h.key.data());
      if (!inside(batch.bytes(), Bytes(key, h.key.size()))) std::abort();
    }
    if (record.offset_delta > batch.last_offset_delta()) std::abort();
  }
  if (it.records_read() != count) std::abort();
  // A walk that ends cleanly read exactly the batch's record count.
  if (it.ok() && batch.compression() == Compression::none && count != batch.record_count())
    std::abort();
  (void)validate_records(batch, true);
  (void)validate_records(batch, false);
  if (batch.compression() == Compression::none) return;
  // At most 1 MiB decompressed: the codecs' limit is checked, not the
  // machine's memory.
  auto plain = decompress(batch.compression(), batch.records_section(), size_t{1} << 20);
  if (!plain) return;
  if (plain->size() > (size_t{1} << 20)) std::abort();
  const Bytes records(*plain);
  RecordIterator inner(batch, records);
  while (inner.next(record)) {
    if (!inside(records, record.bytes)) std::abort();
    if (record.value && !inside(records, *record.value)) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Bytes bytes(data, size);
  for (CrcCheck check : {CrcCheck::verify, CrcCheck::skip}) {
    BatchError error = BatchError::none;
    if (auto batch = RecordBatchView::parse(bytes, check, &error)) {
      if (batch->size_in_bytes() > size) std::abort();
      check_records(*batch);
    } else if (error == BatchError::none) {
      std::abort();  // a rejection says why
    }
    BatchSplit split = split_batches(bytes, check);
    size_t total = 0;
    for (const auto& b : split.batches) {
      total += b.size_in_bytes();
      check_records(b);
    }
    if (total != split.valid_bytes || split.valid_bytes > size) std::abort();
    if ((split.tail_error == BatchError::none) != (split.valid_bytes == size)) std::abort();
  }

  // Header edits on a copy: the CRC stays right for a batch whose CRC was right.
  if (auto parsed = RecordBatchView::parse(bytes, CrcCheck::verify)) {
    std::vector<uint8_t> copy(data, data + parsed->size_in_bytes());
    std::span<uint8_t> batch(copy);
    if (!set_base_offset(batch, 12345) || !set_partition_leader_epoch(batch, 7) ||
        !set_log_append_time(batch, 1700000000000))
      std::abort();
    if (!RecordBatchView::parse(Bytes(copy), CrcCheck::verify)) std::abort();
  }

  // Index files read as what the same bytes would give.
  (void)parse_offset_index(bytes, 100, size);
  (void)parse_time_index(bytes, 100);
  return 0;
}
