#pragma once

// Record batch v2 (magic 2): the unit Kafka stores in log segments and sends in
// Produce and Fetch. A batch is a 61-byte header followed by its records:
//
//   0 base offset int64      | 8 batch length int32 (bytes after this field)
//   12 partition leader epoch int32 | 16 magic int8 | 17 crc uint32
//   21 attributes int16 | 23 last offset delta int32 | 27 base timestamp int64
//   35 max timestamp int64 | 43 producer id int64 | 51 producer epoch int16
//   53 base sequence int32 | 57 record count int32 | 61 records...
//
// The CRC-32C covers attributes..end, so the broker can assign the base offset
// and the leader epoch without recomputing it.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "kb/base/byte_buffer.hpp"
#include "kb/wire/reader.hpp"

namespace kb::storage {

using Bytes = std::span<const uint8_t>;

namespace batch_layout {
inline constexpr size_t kBaseOffset = 0;
inline constexpr size_t kBatchLength = 8;
inline constexpr size_t kPartitionLeaderEpoch = 12;
inline constexpr size_t kMagic = 16;
inline constexpr size_t kCrc = 17;
inline constexpr size_t kAttributes = 21;
inline constexpr size_t kLastOffsetDelta = 23;
inline constexpr size_t kBaseTimestamp = 27;
inline constexpr size_t kMaxTimestamp = 35;
inline constexpr size_t kProducerId = 43;
inline constexpr size_t kProducerEpoch = 51;
inline constexpr size_t kBaseSequence = 53;
inline constexpr size_t kRecordCount = 57;
inline constexpr size_t kRecords = 61;
inline constexpr size_t kHeaderSize = 61;
// Base offset and batch length precede what the batch length counts.
inline constexpr size_t kLogOverhead = 12;
// The smallest legal batch length: a header without records.
inline constexpr int32_t kMinBatchLength = static_cast<int32_t>(kHeaderSize - kLogOverhead);
inline constexpr int8_t kMagicV2 = 2;
}  // namespace batch_layout

namespace batch_attributes {
inline constexpr int16_t kCompressionMask = 0x07;
inline constexpr int16_t kTimestampType = 0x08;
inline constexpr int16_t kTransactional = 0x10;
inline constexpr int16_t kControl = 0x20;
inline constexpr int16_t kDeleteHorizon = 0x40;
}  // namespace batch_attributes

// Values of attribute bits 0-2; 5-7 are not assigned by Kafka.
enum class Compression : uint8_t { none = 0, gzip = 1, snappy = 2, lz4 = 3, zstd = 4 };
enum class TimestampType : uint8_t { create_time = 0, log_append_time = 1 };

inline constexpr int64_t kNoTimestamp = -1;
inline constexpr int64_t kNoProducerId = -1;
inline constexpr int16_t kNoProducerEpoch = -1;
inline constexpr int32_t kNoSequence = -1;
inline constexpr int32_t kNoPartitionLeaderEpoch = -1;

// The header fields of one batch, decoded.
struct RecordBatchHeader {
  int64_t base_offset = 0;
  int32_t batch_length = 0;
  int32_t partition_leader_epoch = kNoPartitionLeaderEpoch;
  int8_t magic = batch_layout::kMagicV2;
  uint32_t crc = 0;
  int16_t attributes = 0;
  int32_t last_offset_delta = 0;
  int64_t base_timestamp = kNoTimestamp;
  int64_t max_timestamp = kNoTimestamp;
  int64_t producer_id = kNoProducerId;
  int16_t producer_epoch = kNoProducerEpoch;
  int32_t base_sequence = kNoSequence;
  int32_t record_count = 0;

  // Reads the 61 header bytes at the start of `bytes`; nullopt when fewer are
  // there. Checks nothing else (see RecordBatchView::parse).
  static std::optional<RecordBatchHeader> parse(Bytes bytes);

  Compression compression() const {
    return static_cast<Compression>(attributes & batch_attributes::kCompressionMask);
  }
  TimestampType timestamp_type() const {
    return (attributes & batch_attributes::kTimestampType) ? TimestampType::log_append_time
                                                           : TimestampType::create_time;
  }
  bool is_transactional() const { return attributes & batch_attributes::kTransactional; }
  bool is_control() const { return attributes & batch_attributes::kControl; }
  bool has_delete_horizon() const { return attributes & batch_attributes::kDeleteHorizon; }

  int64_t last_offset() const { return base_offset + last_offset_delta; }
  int64_t next_offset() const { return last_offset() + 1; }
  // Whole batch on disk: what batch_length counts plus the 12 bytes before it.
  size_t size_in_bytes() const {
    return batch_length < 0 ? 0 : static_cast<size_t>(batch_length) + batch_layout::kLogOverhead;
  }
};

// Why a batch was rejected. The first two mean the bytes simply end too early
// (a torn write); the others mean the bytes are wrong.
enum class BatchError : uint8_t {
  none,
  truncated_header,  // fewer than 61 bytes left
  truncated_batch,   // batch length reaches past the bytes given
  length_too_small,  // batch length below the header size
  unsupported_magic,
  crc_mismatch,
  // In a segment file: a batch starting below the previous one's end or below
  // the segment's base offset (the base offset is not covered by the CRC).
  offsets_out_of_order,
  // In a segment file whose offsets have no gaps (no compaction): a batch
  // starting after the previous one's end, or the first one after the
  // segment's base offset.
  offsets_skip_ahead,
  // In a segment file followed by another: a batch reaching the next
  // segment's base offset.
  offsets_past_next_segment,
};
std::string_view to_string(BatchError error);
inline bool is_truncation(BatchError e) {
  return e == BatchError::truncated_header || e == BatchError::truncated_batch;
}

enum class CrcCheck : uint8_t { verify, skip };

// One record of a batch. Key, value and header values are views into the
// batch's bytes; nullopt is a null key/value.
struct RecordHeaderView {
  std::string_view key;
  std::optional<Bytes> value;
};

struct RecordView {
  int8_t attributes = 0;
  int64_t timestamp_delta = 0;
  int32_t offset_delta = 0;
  int64_t offset = 0;     // base offset + offset delta
  int64_t timestamp = 0;  // base timestamp + timestamp delta
  std::optional<Bytes> key;
  std::optional<Bytes> value;
  std::vector<RecordHeaderView> headers;
  Bytes bytes;  // the whole record, length prefix included
};

// A checked view over exactly one batch. Parsing checks that the length fits the
// bytes, the magic is 2 and (optionally) the CRC; records are only decoded by
// RecordIterator.
class RecordBatchView {
 public:
  // Parses the batch at the start of `bytes` (more bytes may follow). On failure
  // returns nullopt and, when `error` is given, why.
  static std::optional<RecordBatchView> parse(Bytes bytes, CrcCheck check = CrcCheck::verify,
                                              BatchError* error = nullptr);

  const RecordBatchHeader& header() const { return header_; }
  Bytes bytes() const { return bytes_; }  // the whole batch
  size_t size_in_bytes() const { return bytes_.size(); }
  // What follows the header: records, or the compressed block.
  Bytes records_section() const { return bytes_.subspan(batch_layout::kRecords); }

  int64_t base_offset() const { return header_.base_offset; }
  int32_t batch_length() const { return header_.batch_length; }
  int32_t partition_leader_epoch() const { return header_.partition_leader_epoch; }
  int8_t magic() const { return header_.magic; }
  uint32_t crc() const { return header_.crc; }
  int16_t attributes() const { return header_.attributes; }
  int32_t last_offset_delta() const { return header_.last_offset_delta; }
  int64_t base_timestamp() const { return header_.base_timestamp; }
  int64_t max_timestamp() const { return header_.max_timestamp; }
  int64_t producer_id() const { return header_.producer_id; }
  int16_t producer_epoch() const { return header_.producer_epoch; }
  int32_t base_sequence() const { return header_.base_sequence; }
  int32_t record_count() const { return header_.record_count; }
  Compression compression() const { return header_.compression(); }
  TimestampType timestamp_type() const { return header_.timestamp_type(); }
  bool is_transactional() const { return header_.is_transactional(); }
  bool is_control() const { return header_.is_control(); }
  bool has_delete_horizon() const { return header_.has_delete_horizon(); }
  int64_t last_offset() const { return header_.last_offset(); }
  int64_t next_offset() const { return header_.next_offset(); }

  // The CRC the bytes have now, and whether it matches the stored one.
  uint32_t compute_crc() const;
  bool crc_matches() const { return compute_crc() == header_.crc; }

 private:
  RecordBatchView(RecordBatchHeader header, Bytes bytes) : header_(header), bytes_(bytes) {}
  RecordBatchHeader header_;
  Bytes bytes_;
};

// Walks the records of an uncompressed batch, checking as it goes: each record
// exactly fills its length, lengths are -1 or more (header keys 0 or more),
// offset deltas are strictly increasing and at most the last offset delta, the
// record count matches and nothing follows the last record. The first problem
// stops the walk; error() then says what and where (position within the batch).
class RecordIterator {
 public:
  explicit RecordIterator(const RecordBatchView& batch);
  // The records of a compressed batch, decompressed (compression.hpp):
  // `records` must outlive the iterator; error positions are
  // kRecords + the position within `records`.
  RecordIterator(const RecordBatchView& batch, Bytes records);

  // Fills `out` with the next record; false at the end or on an error.
  bool next(RecordView& out);
  bool ok() const { return !error_; }
  const std::optional<kb::wire::DecodeError>& error() const { return error_; }
  // Records returned so far.
  int32_t records_read() const { return read_; }

 private:
  void fail(size_t position, std::string_view what);

  RecordBatchView batch_;
  Bytes records_;
  kb::wire::Reader reader_;
  int32_t read_ = 0;
  int64_t previous_offset_delta_ = -1;
  bool finished_ = false;
  std::optional<kb::wire::DecodeError> error_;
};

// Checks every record of a batch (see RecordIterator). With
// `require_contiguous_offsets` the offset deltas must be exactly 0..count-1 and
// the last offset delta count-1, as a producer writes them (Produce rejects
// anything else); on disk, compaction may leave gaps. A compressed batch is an
// error here (its records cannot be read without decompressing).
std::optional<kb::wire::DecodeError> validate_records(const RecordBatchView& batch,
                                                      bool require_contiguous_offsets);

// Builds one uncompressed v2 batch. Records get offset deltas 0, 1, 2...; the
// base timestamp is the first record's, the max timestamp the largest.
class RecordBatchBuilder {
 public:
  RecordBatchBuilder() = default;

  RecordBatchBuilder& set_base_offset(int64_t v) {
    base_offset_ = v;
    return *this;
  }
  RecordBatchBuilder& set_partition_leader_epoch(int32_t v) {
    leader_epoch_ = v;
    return *this;
  }
  RecordBatchBuilder& set_producer_id(int64_t v) {
    producer_id_ = v;
    return *this;
  }
  RecordBatchBuilder& set_producer_epoch(int16_t v) {
    producer_epoch_ = v;
    return *this;
  }
  RecordBatchBuilder& set_base_sequence(int32_t v) {
    base_sequence_ = v;
    return *this;
  }
  RecordBatchBuilder& set_transactional(bool v) {
    transactional_ = v;
    return *this;
  }
  RecordBatchBuilder& set_control(bool v) {
    control_ = v;
    return *this;
  }
  RecordBatchBuilder& set_timestamp_type(TimestampType v) {
    timestamp_type_ = v;
    return *this;
  }
  // The records section is compressed with this codec when built
  // (compression.hpp's compress()).
  RecordBatchBuilder& set_compression(Compression v) {
    compression_ = v;
    return *this;
  }

  // Appends a record; nullopt key/value are null.
  RecordBatchBuilder& add_record(std::optional<Bytes> key, std::optional<Bytes> value,
                                 int64_t timestamp, std::span<const RecordHeaderView> headers = {});
  // The same at a given offset delta (greater than the previous record's), for
  // a batch rebuilt with some of its records (compaction).
  RecordBatchBuilder& add_record_at(int32_t offset_delta, std::optional<Bytes> key,
                                    std::optional<Bytes> value, int64_t timestamp,
                                    std::span<const RecordHeaderView> headers = {});
  // Overrides for a rebuilt batch: the last offset delta of the original
  // batch (its last sequence stays), the max timestamp (LogAppendTime), and
  // a delete horizon (KIP-534: the attribute bit set, the base timestamp
  // holding it; records' timestamps stay as they were). Call before adding
  // records.
  RecordBatchBuilder& set_last_offset_delta(int32_t v) {
    last_offset_delta_ = v;
    return *this;
  }
  RecordBatchBuilder& set_max_timestamp(int64_t v) {
    max_timestamp_override_ = v;
    return *this;
  }
  RecordBatchBuilder& set_delete_horizon(int64_t horizon_ms) {
    delete_horizon_ = horizon_ms;
    base_timestamp_ = horizon_ms;
    return *this;
  }

  size_t record_count() const { return static_cast<size_t>(count_); }
  // Before compression.
  size_t size_in_bytes() const { return batch_layout::kHeaderSize + records_.size(); }

  // Appends the finished batch (lengths and CRC filled in) to `out`.
  void build_into(ByteBuffer& out) const;
  std::vector<uint8_t> build() const;

 private:
  int64_t base_offset_ = 0;
  int32_t leader_epoch_ = kNoPartitionLeaderEpoch;
  int64_t producer_id_ = kNoProducerId;
  int16_t producer_epoch_ = kNoProducerEpoch;
  int32_t base_sequence_ = kNoSequence;
  bool transactional_ = false;
  bool control_ = false;
  TimestampType timestamp_type_ = TimestampType::create_time;
  Compression compression_ = Compression::none;
  int32_t count_ = 0;
  int32_t next_offset_delta_ = 0;
  std::optional<int32_t> last_offset_delta_;
  std::optional<int64_t> max_timestamp_override_;
  std::optional<int64_t> delete_horizon_;
  int64_t base_timestamp_ = kNoTimestamp;
  int64_t max_timestamp_ = kNoTimestamp;
  ByteBuffer records_;
  ByteBuffer scratch_;
};

// Control records (batches with the control bit) carry a key of
// [int16 version = 0][int16 type].
enum class ControlRecordType : int16_t {
  abort = 0,
  commit = 1,
  leader_change = 2,
  snapshot_header = 3,
  snapshot_footer = 4,
  kraft_version = 5,
  kraft_voters = 6,
};
std::vector<uint8_t> control_record_key(ControlRecordType type);
// The type in a control record key; nullopt when the key is malformed.
std::optional<int16_t> parse_control_record_type(Bytes key);

// In-place edits of a batch's header. The base offset and leader epoch are not
// covered by the CRC; the others recompute it. All return false when `batch`
// is shorter than a header.
bool set_base_offset(std::span<uint8_t> batch, int64_t base_offset);
bool set_partition_leader_epoch(std::span<uint8_t> batch, int32_t epoch);
// Marks the batch as LogAppendTime with max timestamp `now_ms` (the broker's
// rewrite for topics with message.timestamp.type=LogAppendTime).
bool set_log_append_time(std::span<uint8_t> batch, int64_t now_ms);
// The same for a batch held in two pieces: its header (at least kHeaderSize
// bytes, edited) and the bytes after it (`rest`, read for the CRC only).
bool set_log_append_time(std::span<uint8_t> header, int64_t now_ms, Bytes rest);
// The CRC over attributes..end; 0 when the batch is shorter than a header.
uint32_t compute_batch_crc(Bytes batch);
bool update_batch_crc(std::span<uint8_t> batch);

// Walks concatenated batches (a segment file's bytes, a Produce request's
// records) and stops at the first torn or corrupt one.
class BatchIterator {
 public:
  explicit BatchIterator(Bytes bytes, CrcCheck check = CrcCheck::verify)
      : bytes_(bytes), check_(check) {}

  // The next valid batch, or nullopt at the end or at a bad batch.
  std::optional<RecordBatchView> next();
  // Where the next batch starts; after a stop, where the bad tail begins (so
  // it is also the length of the valid prefix).
  size_t position() const { return position_; }
  // none when all bytes were consumed as valid batches (so far).
  BatchError error() const { return error_; }

 private:
  Bytes bytes_;
  CrcCheck check_;
  size_t position_ = 0;
  BatchError error_ = BatchError::none;
};

struct BatchSplit {
  std::vector<RecordBatchView> batches;
  size_t valid_bytes = 0;                    // length of the prefix made of whole valid batches
  BatchError tail_error = BatchError::none;  // why the rest was rejected (none: no rest)
};
BatchSplit split_batches(Bytes bytes, CrcCheck check = CrcCheck::verify);

}  // namespace kb::storage
