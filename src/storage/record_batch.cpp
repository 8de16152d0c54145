#include "kb/storage/record_batch.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>

#include "kb/storage/compression.hpp"
#include "kb/storage/crc32c.hpp"
#include "kb/wire/writer.hpp"

namespace kb::storage {

namespace layout = batch_layout;

namespace {

void store_be32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (24 - 8 * i));
}

void store_be64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (56 - 8 * i));
}

void store_be16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

uint16_t load_be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

// A length the record encoding cannot carry is a caller bug (a record over 2 GiB).
int32_t checked_length(size_t n) {
  if (n > static_cast<size_t>(std::numeric_limits<int32_t>::max()))
    throw std::length_error("record field too long for a varint length");
  return static_cast<int32_t>(n);
}

void write_nullable_varint_bytes(kb::wire::Writer& w, const std::optional<Bytes>& b) {
  if (!b) {
    w.varint(-1);
    return;
  }
  w.varint(checked_length(b->size()));
  w.raw(*b);
}

}  // namespace

std::string_view to_string(BatchError error) {
  switch (error) {
    case BatchError::none:
      return "no error";
    case BatchError::truncated_header:
      return "fewer bytes left than a batch header";
    case BatchError::truncated_batch:
      return "batch length reaches past the end of the data";
    case BatchError::length_too_small:
      return "batch length smaller than a batch header";
    case BatchError::unsupported_magic:
      return "unsupported magic (only record batch v2 is read)";
    case BatchError::crc_mismatch:
      return "CRC mismatch";
    case BatchError::offsets_out_of_order:
      return "batch offsets go backwards or leave the segment's range";
    case BatchError::offsets_skip_ahead:
      return "batch offsets skip ahead of the previous batch's end";
    case BatchError::offsets_past_next_segment:
      return "batch offsets reach the next segment's base offset";
  }
  return "unknown batch error";
}

std::optional<RecordBatchHeader> RecordBatchHeader::parse(Bytes bytes) {
  if (bytes.size() < layout::kHeaderSize) return std::nullopt;
  kb::wire::Reader r(bytes.first(layout::kHeaderSize));
  RecordBatchHeader h;
  h.base_offset = r.int64();
  h.batch_length = r.int32();
  h.partition_leader_epoch = r.int32();
  h.magic = r.int8();
  h.crc = r.uint32();
  h.attributes = r.int16();
  h.last_offset_delta = r.int32();
  h.base_timestamp = r.int64();
  h.max_timestamp = r.int64();
  h.producer_id = r.int64();
  h.producer_epoch = r.int16();
  h.base_sequence = r.int32();
  h.record_count = r.int32();
  if (!r.ok()) return std::nullopt;  // cannot happen: the size was checked
  return h;
}

std::optional<RecordBatchView> RecordBatchView::parse(Bytes bytes, CrcCheck check,
                                                      BatchError* error) {
  auto reject = [&](BatchError e) -> std::optional<RecordBatchView> {
    if (error) *error = e;
    return std::nullopt;
  };
  auto header = RecordBatchHeader::parse(bytes);
  if (!header) return reject(BatchError::truncated_header);
  if (header->batch_length < layout::kMinBatchLength) return reject(BatchError::length_too_small);
  if (header->size_in_bytes() > bytes.size()) return reject(BatchError::truncated_batch);
  if (header->magic != layout::kMagicV2) return reject(BatchError::unsupported_magic);
  RecordBatchView view(*header, bytes.first(header->size_in_bytes()));
  if (check == CrcCheck::verify && !view.crc_matches()) return reject(BatchError::crc_mismatch);
  if (error) *error = BatchError::none;
  return view;
}

uint32_t RecordBatchView::compute_crc() const { return compute_batch_crc(bytes_); }

// ---- records ----

RecordIterator::RecordIterator(const RecordBatchView& batch)
    : batch_(batch), records_(batch.records_section()), reader_(records_) {
  if (batch.compression() != Compression::none)
    fail(layout::kAttributes, "compressed batch: records cannot be read without decompressing");
  else if (batch.record_count() < 0)
    fail(layout::kRecordCount, "negative record count");
}

RecordIterator::RecordIterator(const RecordBatchView& batch, Bytes records)
    : batch_(batch), records_(records), reader_(records_) {
  if (batch.record_count() < 0) fail(layout::kRecordCount, "negative record count");
}

void RecordIterator::fail(size_t position, std::string_view what) {
  if (!error_) error_ = kb::wire::DecodeError{position, what};
}

bool RecordIterator::next(RecordView& out) {
  if (finished_ || error_) return false;
  const size_t record_start = reader_.position();
  const size_t batch_position = layout::kRecords + record_start;
  if (read_ == batch_.record_count()) {
    finished_ = true;
    if (!reader_.at_end()) fail(batch_position, "bytes left after the last record");
    return false;
  }
  if (reader_.at_end()) {
    fail(batch_position, "fewer records than the record count");
    return false;
  }
  const int32_t length = reader_.varint();
  if (!reader_.ok()) {
    fail(batch_position, "unreadable record length");
    return false;
  }
  if (length < 0) {
    fail(batch_position, "negative record length");
    return false;
  }
  const size_t body_start = reader_.position();
  Bytes body = reader_.raw(static_cast<size_t>(length));
  if (!reader_.ok()) {
    fail(batch_position, "record length reaches past the end of the batch");
    return false;
  }

  kb::wire::Reader r(body);
  auto body_fail = [&](std::string_view what) {
    size_t at = r.error() ? r.error()->position : r.position();
    fail(layout::kRecords + body_start + at, what);
    return false;
  };
  // Reads a varint length and then that many bytes; -1 is null.
  auto nullable_bytes = [&](std::optional<Bytes>& field, std::string_view what) {
    int32_t n = r.varint();
    if (!r.ok()) return false;
    if (n < -1) {
      r.fail(what);
      return false;
    }
    if (n == -1) {
      field.reset();
      return true;
    }
    field = r.raw(static_cast<size_t>(n));
    return r.ok();
  };

  out.attributes = r.int8();
  out.timestamp_delta = r.varlong();
  out.offset_delta = r.varint();
  if (!r.ok()) return body_fail("record ends inside its header");
  if (!nullable_bytes(out.key, "invalid key length")) return body_fail("invalid record key");
  if (!nullable_bytes(out.value, "invalid value length")) return body_fail("invalid record value");
  const int32_t header_count = r.varint();
  if (!r.ok()) return body_fail("record ends before its header count");
  // Every header takes at least two bytes (two one-byte varint lengths).
  if (header_count < 0 || static_cast<size_t>(header_count) > r.remaining() / 2)
    return body_fail("invalid record header count");
  out.headers.clear();
  for (int32_t i = 0; i < header_count; ++i) {
    int32_t key_length = r.varint();
    if (!r.ok() || key_length < 0) return body_fail("invalid record header key length");
    Bytes key = r.raw(static_cast<size_t>(key_length));
    std::optional<Bytes> value;
    if (!r.ok() || !nullable_bytes(value, "invalid header value length"))
      return body_fail("invalid record header");
    out.headers.push_back(
        {std::string_view(reinterpret_cast<const char*>(key.data()), key.size()), value});
  }
  if (!r.at_end()) return body_fail("record length larger than its fields");

  if (out.offset_delta <= previous_offset_delta_) {
    fail(batch_position, "record offset deltas not strictly increasing");
    return false;
  }
  if (out.offset_delta > batch_.last_offset_delta()) {
    fail(batch_position, "record offset delta past the batch's last offset delta");
    return false;
  }
  previous_offset_delta_ = out.offset_delta;
  out.offset = batch_.base_offset() + out.offset_delta;
  out.timestamp = batch_.base_timestamp() + out.timestamp_delta;
  out.bytes = records_.subspan(record_start, reader_.position() - record_start);
  ++read_;
  return true;
}

std::optional<kb::wire::DecodeError> validate_records(const RecordBatchView& batch,
                                                      bool require_contiguous_offsets) {
  if (require_contiguous_offsets) {
    if (batch.record_count() <= 0)
      return kb::wire::DecodeError{layout::kRecordCount, "batch without records"};
    if (static_cast<int64_t>(batch.last_offset_delta()) + 1 != batch.record_count())
      return kb::wire::DecodeError{layout::kLastOffsetDelta,
                                   "last offset delta does not match the record count"};
  }
  RecordIterator it(batch);
  RecordView record;
  int32_t expected_delta = 0;
  while (it.next(record)) {
    if (require_contiguous_offsets && record.offset_delta != expected_delta)
      return kb::wire::DecodeError{static_cast<size_t>(record.bytes.data() - batch.bytes().data()),
                                   "record offset deltas are not consecutive"};
    ++expected_delta;
  }
  return it.error();
}

// ---- building ----

RecordBatchBuilder& RecordBatchBuilder::add_record(std::optional<Bytes> key,
                                                   std::optional<Bytes> value, int64_t timestamp,
                                                   std::span<const RecordHeaderView> headers) {
  return add_record_at(next_offset_delta_, key, value, timestamp, headers);
}

RecordBatchBuilder& RecordBatchBuilder::add_record_at(int32_t offset_delta,
                                                      std::optional<Bytes> key,
                                                      std::optional<Bytes> value, int64_t timestamp,
                                                      std::span<const RecordHeaderView> headers) {
  if (count_ == 0) {
    // A delete horizon holds the base timestamp; otherwise the first record's.
    if (!delete_horizon_) base_timestamp_ = timestamp;
    max_timestamp_ = timestamp;
  } else {
    max_timestamp_ = std::max(max_timestamp_, timestamp);
  }
  scratch_.clear();
  kb::wire::Writer w(scratch_);
  w.int8(0);  // record attributes: unused
  w.varlong(timestamp - base_timestamp_);
  w.varint(offset_delta);
  write_nullable_varint_bytes(w, key);
  write_nullable_varint_bytes(w, value);
  w.varint(checked_length(headers.size()));
  for (const RecordHeaderView& h : headers) {
    w.varint(checked_length(h.key.size()));
    w.raw(Bytes(reinterpret_cast<const uint8_t*>(h.key.data()), h.key.size()));
    write_nullable_varint_bytes(w, h.value);
  }
  kb::wire::Writer rw(records_);
  rw.varint(checked_length(scratch_.size()));
  rw.raw(scratch_.span());
  ++count_;
  next_offset_delta_ = offset_delta + 1;
  return *this;
}

void RecordBatchBuilder::build_into(ByteBuffer& out) const {
  const size_t start = out.size();
  int16_t attributes = 0;
  if (timestamp_type_ == TimestampType::log_append_time)
    attributes |= batch_attributes::kTimestampType;
  if (transactional_) attributes |= batch_attributes::kTransactional;
  if (control_) attributes |= batch_attributes::kControl;
  if (delete_horizon_) attributes |= batch_attributes::kDeleteHorizon;
  attributes |= static_cast<int16_t>(compression_);
  std::vector<uint8_t> compressed;
  Bytes records = records_.span();
  if (compression_ != Compression::none) {
    auto packed = compress(compression_, records);
    // Only a codec library out of memory fails here.
    if (!packed) throw std::runtime_error(packed.error().message);
    compressed = std::move(*packed);
    records = compressed;
  }

  kb::wire::Writer w(out);
  w.int64(base_offset_);
  w.int32(checked_length(layout::kHeaderSize - layout::kLogOverhead + records.size()));
  w.int32(leader_epoch_);
  w.int8(layout::kMagicV2);
  w.uint32(0);  // CRC, filled in below
  w.int16(attributes);
  // -1 for an empty batch: it covers no offsets.
  w.int32(last_offset_delta_.value_or(count_ == 0 ? -1 : next_offset_delta_ - 1));
  w.int64(base_timestamp_);
  w.int64(max_timestamp_override_.value_or(max_timestamp_));
  w.int64(producer_id_);
  w.int16(producer_epoch_);
  w.int32(base_sequence_);
  w.int32(count_);
  w.raw(records);
  std::span<uint8_t> batch(out.data() + start, out.size() - start);
  update_batch_crc(batch);
}

std::vector<uint8_t> RecordBatchBuilder::build() const {
  ByteBuffer buffer;
  build_into(buffer);
  return std::vector<uint8_t>(buffer.data(), buffer.data() + buffer.size());
}

std::vector<uint8_t> control_record_key(ControlRecordType type) {
  std::vector<uint8_t> key(4);
  store_be16(key.data(), 0);
  store_be16(key.data() + 2, static_cast<uint16_t>(type));
  return key;
}

std::optional<int16_t> parse_control_record_type(Bytes key) {
  // Kafka reads the version and type and ignores anything after them.
  if (key.size() < 4) return std::nullopt;
  if (static_cast<int16_t>(load_be16(key.data())) < 0) return std::nullopt;
  return static_cast<int16_t>(load_be16(key.data() + 2));
}

// ---- in-place edits ----

bool set_base_offset(std::span<uint8_t> batch, int64_t base_offset) {
  if (batch.size() < layout::kHeaderSize) return false;
  store_be64(batch.data() + layout::kBaseOffset, static_cast<uint64_t>(base_offset));
  return true;
}

bool set_partition_leader_epoch(std::span<uint8_t> batch, int32_t epoch) {
  if (batch.size() < layout::kHeaderSize) return false;
  store_be32(batch.data() + layout::kPartitionLeaderEpoch, static_cast<uint32_t>(epoch));
  return true;
}

bool set_log_append_time(std::span<uint8_t> batch, int64_t now_ms) {
  if (batch.size() < layout::kHeaderSize) return false;
  return set_log_append_time(batch.first(layout::kHeaderSize), now_ms,
                             batch.subspan(layout::kHeaderSize));
}

bool set_log_append_time(std::span<uint8_t> header, int64_t now_ms, Bytes rest) {
  if (header.size() < layout::kHeaderSize) return false;
  uint16_t attributes = load_be16(header.data() + layout::kAttributes);
  attributes = static_cast<uint16_t>(attributes | batch_attributes::kTimestampType);
  store_be16(header.data() + layout::kAttributes, attributes);
  store_be64(header.data() + layout::kMaxTimestamp, static_cast<uint64_t>(now_ms));
  const uint32_t crc = crc32c_extend(crc32c(header.subspan(layout::kAttributes)), rest);
  store_be32(header.data() + layout::kCrc, crc);
  return true;
}

uint32_t compute_batch_crc(Bytes batch) {
  if (batch.size() < layout::kHeaderSize) return 0;
  return crc32c(batch.subspan(layout::kAttributes));
}

bool update_batch_crc(std::span<uint8_t> batch) {
  if (batch.size() < layout::kHeaderSize) return false;
  store_be32(batch.data() + layout::kCrc, compute_batch_crc(batch));
  return true;
}

// ---- splitting ----

std::optional<RecordBatchView> BatchIterator::next() {
  if (error_ != BatchError::none || position_ >= bytes_.size()) return std::nullopt;
  BatchError error = BatchError::none;
  auto view = RecordBatchView::parse(bytes_.subspan(position_), check_, &error);
  if (!view) {
    error_ = error;
    return std::nullopt;
  }
  position_ += view->size_in_bytes();
  return view;
}

BatchSplit split_batches(Bytes bytes, CrcCheck check) {
  BatchSplit split;
  BatchIterator it(bytes, check);
  while (auto batch = it.next()) split.batches.push_back(*batch);
  split.valid_bytes = it.position();
  split.tail_error = it.error();
  return split;
}

}  // namespace kb::storage
