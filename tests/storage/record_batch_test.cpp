#include "kb/storage/record_batch.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "kb/base/byte_buffer.hpp"
#include "kb/storage/crc32c.hpp"
#include "kb/wire/writer.hpp"
#include "storage_test_util.hpp"

namespace kb::storage {
namespace {

using test::as_bytes;
using test::ByteVec;

std::string text(Bytes b) { return std::string(b.begin(), b.end()); }

// Writes a header field by field with the wire Writer (independently of the
// builder), then fills the CRC.
ByteVec handmade_batch(int16_t attributes, Bytes records, int32_t count, int32_t last_delta) {
  ByteBuffer buf;
  kb::wire::Writer w(buf);
  w.int64(0x0102030405060708);
  w.int32(static_cast<int32_t>(49 + records.size()));
  w.int32(7);   // partition leader epoch
  w.int8(2);    // magic
  w.uint32(0);  // crc
  w.int16(attributes);
  w.int32(last_delta);
  w.int64(1111);        // base timestamp
  w.int64(2222);        // max timestamp
  w.int64(0x0A0B0C0D);  // producer id
  w.int16(3);           // producer epoch
  w.int32(42);          // base sequence
  w.int32(count);
  w.raw(records);
  ByteVec out(buf.data(), buf.data() + buf.size());
  uint32_t crc = crc32c(Bytes(out).subspan(21));
  for (int i = 0; i < 4; ++i) out[17 + i] = static_cast<uint8_t>(crc >> (24 - 8 * i));
  return out;
}

TEST(RecordBatchLayout, HeaderOffsets) {
  EXPECT_EQ(batch_layout::kBatchLength, 8u);
  EXPECT_EQ(batch_layout::kMagic, 16u);
  EXPECT_EQ(batch_layout::kCrc, 17u);
  EXPECT_EQ(batch_layout::kAttributes, 21u);
  EXPECT_EQ(batch_layout::kRecordCount, 57u);
  EXPECT_EQ(batch_layout::kHeaderSize, 61u);
  EXPECT_EQ(batch_layout::kMinBatchLength, 49);
}

TEST(RecordBatchView, ParsesEveryHeaderField) {
  // gzip(1) | log append time | transactional | control | delete horizon
  const int16_t attributes = 0x01 | 0x08 | 0x10 | 0x20 | 0x40;
  ByteVec bytes = handmade_batch(attributes, {}, 0, 4);
  BatchError error = BatchError::none;
  auto view = RecordBatchView::parse(bytes, CrcCheck::verify, &error);
  ASSERT_TRUE(view) << to_string(error);
  EXPECT_EQ(view->base_offset(), 0x0102030405060708);
  EXPECT_EQ(view->batch_length(), 49);
  EXPECT_EQ(view->partition_leader_epoch(), 7);
  EXPECT_EQ(view->magic(), 2);
  EXPECT_EQ(view->crc(), crc32c(Bytes(bytes).subspan(21)));
  EXPECT_EQ(view->attributes(), attributes);
  EXPECT_EQ(view->last_offset_delta(), 4);
  EXPECT_EQ(view->base_timestamp(), 1111);
  EXPECT_EQ(view->max_timestamp(), 2222);
  EXPECT_EQ(view->producer_id(), 0x0A0B0C0D);
  EXPECT_EQ(view->producer_epoch(), 3);
  EXPECT_EQ(view->base_sequence(), 42);
  EXPECT_EQ(view->record_count(), 0);
  EXPECT_EQ(view->compression(), Compression::gzip);
  EXPECT_EQ(view->timestamp_type(), TimestampType::log_append_time);
  EXPECT_TRUE(view->is_transactional());
  EXPECT_TRUE(view->is_control());
  EXPECT_TRUE(view->has_delete_horizon());
  EXPECT_EQ(view->last_offset(), 0x0102030405060708 + 4);
  EXPECT_EQ(view->next_offset(), 0x0102030405060708 + 5);
  EXPECT_EQ(view->size_in_bytes(), 61u);
  EXPECT_TRUE(view->records_section().empty());

  ByteVec plain = handmade_batch(0, {}, 0, 0);
  auto plain_view = RecordBatchView::parse(plain);
  ASSERT_TRUE(plain_view);
  EXPECT_EQ(plain_view->compression(), Compression::none);
  EXPECT_EQ(plain_view->timestamp_type(), TimestampType::create_time);
  EXPECT_FALSE(plain_view->is_transactional());
  EXPECT_FALSE(plain_view->is_control());
  EXPECT_FALSE(plain_view->has_delete_horizon());
}

TEST(RecordBatchView, ParsesKafkaWrittenMetadataLog) {
  ByteVec log = test::from_hex(test::kKafkaMetadataLogHex);
  BatchSplit split = split_batches(log, CrcCheck::verify);
  ASSERT_EQ(split.batches.size(), 2u);
  EXPECT_EQ(split.tail_error, BatchError::none);
  EXPECT_EQ(split.valid_bytes, log.size());

  const RecordBatchView& first = split.batches[0];
  EXPECT_EQ(first.base_offset(), 0);
  EXPECT_EQ(first.batch_length(), 79);
  EXPECT_EQ(first.partition_leader_epoch(), 1);
  EXPECT_EQ(first.crc(), 0xB069457Cu);
  EXPECT_EQ(first.record_count(), 1);
  EXPECT_EQ(first.producer_id(), -1);
  EXPECT_EQ(first.base_timestamp(), 0x191e05af818);

  const RecordBatchView& second = split.batches[1];
  EXPECT_EQ(second.base_offset(), 1);
  EXPECT_EQ(second.last_offset(), 3);
  EXPECT_EQ(second.record_count(), 3);

  RecordIterator it(second);
  RecordView record;
  std::vector<int64_t> offsets;
  while (it.next(record)) {
    offsets.push_back(record.offset);
    EXPECT_FALSE(record.key.has_value());
    ASSERT_TRUE(record.value.has_value());
    EXPECT_EQ((*record.value)[0], 1);  // metadata frame version
    EXPECT_TRUE(record.headers.empty());
  }
  EXPECT_TRUE(it.ok()) << it.error()->what;
  EXPECT_EQ(offsets, (std::vector<int64_t>{1, 2, 3}));
}

TEST(RecordBatchBuilder, EncodesARecordExactly) {
  RecordBatchBuilder builder;
  builder.add_record(as_bytes("k"), as_bytes("v"), 5000);
  ByteVec batch = builder.build();
  // length 8 (zigzag 0x10), attributes, ts delta 0, offset delta 0, key len 1
  // (0x02) 'k', value len 1 'v', no headers.
  ByteVec expected_record = test::from_hex("10 00 00 00 02 6b 02 76 00");
  ASSERT_EQ(batch.size(), 61u + expected_record.size());
  EXPECT_EQ(ByteVec(batch.begin() + 61, batch.end()), expected_record);
}

TEST(RecordBatchBuilder, RoundTripsHeaderAndRecords) {
  const ByteVec h1_value = test::text_bytes("x");
  std::vector<RecordHeaderView> headers = {{"h1", Bytes(h1_value)}, {"h2", std::nullopt}};
  RecordBatchBuilder builder;
  builder.set_base_offset(100)
      .set_partition_leader_epoch(9)
      .set_producer_id(77)
      .set_producer_epoch(2)
      .set_base_sequence(5)
      .set_transactional(true);
  builder.add_record(std::nullopt, as_bytes("v0"), 1000);
  builder.add_record(as_bytes("k1"), std::nullopt, 990, headers);
  builder.add_record(as_bytes(""), as_bytes(""), 1010);
  ByteVec bytes = builder.build();
  EXPECT_EQ(bytes.size(), builder.size_in_bytes());

  auto view = RecordBatchView::parse(bytes);
  ASSERT_TRUE(view);
  EXPECT_EQ(view->base_offset(), 100);
  EXPECT_EQ(view->partition_leader_epoch(), 9);
  EXPECT_EQ(view->producer_id(), 77);
  EXPECT_EQ(view->producer_epoch(), 2);
  EXPECT_EQ(view->base_sequence(), 5);
  EXPECT_TRUE(view->is_transactional());
  EXPECT_FALSE(view->is_control());
  EXPECT_EQ(view->record_count(), 3);
  EXPECT_EQ(view->last_offset_delta(), 2);
  EXPECT_EQ(view->base_timestamp(), 1000);
  EXPECT_EQ(view->max_timestamp(), 1010);
  EXPECT_EQ(static_cast<size_t>(view->batch_length()) + 12, bytes.size());

  RecordIterator it(*view);
  RecordView r;
  ASSERT_TRUE(it.next(r));
  EXPECT_FALSE(r.key.has_value());
  EXPECT_EQ(text(*r.value), "v0");
  EXPECT_EQ(r.offset, 100);
  EXPECT_EQ(r.timestamp, 1000);
  EXPECT_TRUE(r.headers.empty());

  ASSERT_TRUE(it.next(r));
  EXPECT_EQ(text(*r.key), "k1");
  EXPECT_FALSE(r.value.has_value());
  EXPECT_EQ(r.offset, 101);
  EXPECT_EQ(r.timestamp_delta, -10);
  EXPECT_EQ(r.timestamp, 990);
  ASSERT_EQ(r.headers.size(), 2u);
  EXPECT_EQ(r.headers[0].key, "h1");
  EXPECT_EQ(text(*r.headers[0].value), "x");
  EXPECT_EQ(r.headers[1].key, "h2");
  EXPECT_FALSE(r.headers[1].value.has_value());

  ASSERT_TRUE(it.next(r));
  ASSERT_TRUE(r.key.has_value());
  EXPECT_TRUE(r.key->empty());
  ASSERT_TRUE(r.value.has_value());
  EXPECT_TRUE(r.value->empty());
  EXPECT_EQ(r.offset, 102);

  EXPECT_FALSE(it.next(r));
  EXPECT_TRUE(it.ok());
  EXPECT_EQ(it.records_read(), 3);
  EXPECT_FALSE(validate_records(*view, true).has_value());
}

TEST(RecordBatchBuilder, ControlBatch) {
  ByteVec key = control_record_key(ControlRecordType::commit);
  RecordBatchBuilder builder;
  builder.set_control(true).set_transactional(true);
  builder.add_record(Bytes(key), as_bytes(std::string_view("\0\0\0\0\0\0", 6)), 1);
  ByteVec bytes = builder.build();
  auto view = RecordBatchView::parse(bytes);
  ASSERT_TRUE(view);
  EXPECT_TRUE(view->is_control());
  RecordIterator it(*view);
  RecordView r;
  ASSERT_TRUE(it.next(r));
  EXPECT_EQ(parse_control_record_type(*r.key), int16_t{1});
  EXPECT_FALSE(parse_control_record_type(as_bytes("ab")).has_value());
}

TEST(RecordBatchView, DetectsCorruptCrc) {
  ByteVec bytes = test::make_batch(0, 3);
  bytes[bytes.size() - 2] ^= 0x40;
  BatchError error = BatchError::none;
  EXPECT_FALSE(RecordBatchView::parse(bytes, CrcCheck::verify, &error));
  EXPECT_EQ(error, BatchError::crc_mismatch);
  auto unchecked = RecordBatchView::parse(bytes, CrcCheck::skip);
  ASSERT_TRUE(unchecked);
  EXPECT_FALSE(unchecked->crc_matches());
}

TEST(RecordBatchView, DetectsTruncationAndBadHeaders) {
  ByteVec bytes = test::make_batch(0, 3);
  BatchError error = BatchError::none;

  ByteVec cut(bytes.begin(), bytes.end() - 1);
  EXPECT_FALSE(RecordBatchView::parse(cut, CrcCheck::verify, &error));
  EXPECT_EQ(error, BatchError::truncated_batch);

  ByteVec short_header(bytes.begin(), bytes.begin() + 40);
  EXPECT_FALSE(RecordBatchView::parse(short_header, CrcCheck::verify, &error));
  EXPECT_EQ(error, BatchError::truncated_header);

  EXPECT_FALSE(RecordBatchView::parse({}, CrcCheck::verify, &error));
  EXPECT_EQ(error, BatchError::truncated_header);

  ByteVec small = bytes;
  small[8] = small[9] = small[10] = 0;
  small[11] = 10;
  EXPECT_FALSE(RecordBatchView::parse(small, CrcCheck::verify, &error));
  EXPECT_EQ(error, BatchError::length_too_small);

  ByteVec negative = bytes;
  negative[8] = 0xff;
  EXPECT_FALSE(RecordBatchView::parse(negative, CrcCheck::verify, &error));
  EXPECT_EQ(error, BatchError::length_too_small);

  ByteVec magic = bytes;
  magic[16] = 1;
  EXPECT_FALSE(RecordBatchView::parse(magic, CrcCheck::skip, &error));
  EXPECT_EQ(error, BatchError::unsupported_magic);
}

TEST(RecordBatchEdits, OffsetAndEpochKeepTheCrcValid) {
  ByteVec bytes = test::make_batch(0, 2);
  ASSERT_TRUE(set_base_offset(bytes, 1234567));
  ASSERT_TRUE(set_partition_leader_epoch(bytes, 12));
  auto view = RecordBatchView::parse(bytes);
  ASSERT_TRUE(view);
  EXPECT_EQ(view->base_offset(), 1234567);
  EXPECT_EQ(view->partition_leader_epoch(), 12);

  ASSERT_TRUE(set_log_append_time(bytes, 99999));
  view = RecordBatchView::parse(bytes);
  ASSERT_TRUE(view);
  EXPECT_EQ(view->timestamp_type(), TimestampType::log_append_time);
  EXPECT_EQ(view->max_timestamp(), 99999);

  bytes[70] ^= 1;
  EXPECT_FALSE(RecordBatchView::parse(bytes));
  ASSERT_TRUE(update_batch_crc(bytes));
  EXPECT_TRUE(RecordBatchView::parse(bytes));

  ByteVec tiny(10);
  EXPECT_FALSE(set_base_offset(tiny, 1));
  EXPECT_FALSE(update_batch_crc(tiny));
  EXPECT_EQ(compute_batch_crc(tiny), 0u);
}

TEST(BatchSplit, StopsAtTornTail) {
  ByteVec all;
  for (int i = 0; i < 3; ++i) {
    ByteVec b = test::make_batch(i * 10, 4);
    all.insert(all.end(), b.begin(), b.end());
  }
  const size_t whole = all.size();
  ByteVec partial = test::make_batch(30, 4);
  all.insert(all.end(), partial.begin(), partial.begin() + 20);

  BatchSplit split = split_batches(all);
  EXPECT_EQ(split.batches.size(), 3u);
  EXPECT_EQ(split.valid_bytes, whole);
  EXPECT_EQ(split.tail_error, BatchError::truncated_header);
  EXPECT_TRUE(is_truncation(split.tail_error));
  EXPECT_EQ(split.batches[2].base_offset(), 20);
}

TEST(BatchSplit, StopsAtCorruptBatch) {
  ByteVec a = test::make_batch(0, 2), b = test::make_batch(2, 2), c = test::make_batch(4, 2);
  ByteVec all = a;
  all.insert(all.end(), b.begin(), b.end());
  all.insert(all.end(), c.begin(), c.end());
  all[a.size() + 65] ^= 0xff;  // inside b's records

  BatchIterator it(all);
  ASSERT_TRUE(it.next());
  EXPECT_FALSE(it.next());
  EXPECT_EQ(it.position(), a.size());
  EXPECT_EQ(it.error(), BatchError::crc_mismatch);
  EXPECT_FALSE(it.next());  // stays stopped
}

// Rewrites the record count and fixes the CRC so only record checks can object.
ByteVec with_record_count(ByteVec bytes, int32_t count) {
  for (int i = 0; i < 4; ++i) bytes[57 + i] = static_cast<uint8_t>(count >> (24 - 8 * i));
  update_batch_crc(bytes);
  return bytes;
}

std::optional<kb::wire::DecodeError> iterate_all(const ByteVec& bytes) {
  auto view = RecordBatchView::parse(bytes);
  if (!view) return kb::wire::DecodeError{0, "unparsable"};
  RecordIterator it(*view);
  RecordView r;
  while (it.next(r)) {
  }
  return it.error();
}

TEST(RecordIterator, RejectsCountMismatches) {
  ByteVec bytes = test::make_batch(0, 3);
  EXPECT_FALSE(iterate_all(bytes).has_value());
  auto more = iterate_all(with_record_count(bytes, 4));
  ASSERT_TRUE(more);
  EXPECT_EQ(more->what, "fewer records than the record count");
  auto fewer = iterate_all(with_record_count(bytes, 2));
  ASSERT_TRUE(fewer);
  EXPECT_EQ(fewer->what, "bytes left after the last record");
  auto negative = iterate_all(with_record_count(bytes, -1));
  ASSERT_TRUE(negative);
  EXPECT_EQ(negative->what, "negative record count");
}

TEST(RecordIterator, RejectsBadOffsetDeltas) {
  // Two records both with offset delta 0: build by hand.
  ByteVec record = test::from_hex("10 00 00 00 02 6b 02 76 00");
  ByteVec records = record;
  records.insert(records.end(), record.begin(), record.end());
  ByteVec bytes = handmade_batch(0, records, 2, 1);
  auto error = iterate_all(bytes);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->what, "record offset deltas not strictly increasing");

  // One record whose offset delta (1) is past the last offset delta (0).
  ByteVec late = test::from_hex("10 00 00 02 02 6b 02 76 00");
  error = iterate_all(handmade_batch(0, late, 1, 0));
  ASSERT_TRUE(error);
  EXPECT_EQ(error->what, "record offset delta past the batch's last offset delta");

  // A gap (compaction leaves these) is fine on disk but not for Produce.
  ByteVec gap = record;
  gap.insert(gap.end(), late.begin(), late.end());
  gap[gap.size() - 6] = 0x04;  // second record's offset delta 2
  ByteVec gapped = handmade_batch(0, gap, 2, 2);
  EXPECT_FALSE(iterate_all(gapped).has_value());
  auto view = RecordBatchView::parse(gapped);
  ASSERT_TRUE(view);
  EXPECT_FALSE(validate_records(*view, false).has_value());
  auto strict = validate_records(*view, true);
  ASSERT_TRUE(strict);
}

TEST(RecordIterator, RejectsBadLengths) {
  // Record length 9 but only 8 bytes of fields follow, then nothing.
  auto error = iterate_all(handmade_batch(0, test::from_hex("12 00 00 00 02 6b 02 76 00"), 1, 0));
  ASSERT_TRUE(error);
  EXPECT_EQ(error->what, "record length reaches past the end of the batch");
  // Record length 9 with one spare byte inside the record.
  error = iterate_all(handmade_batch(0, test::from_hex("12 00 00 00 02 6b 02 76 00 00"), 1, 0));
  ASSERT_TRUE(error);
  EXPECT_EQ(error->what, "record length larger than its fields");
  // Key length -2.
  error = iterate_all(handmade_batch(0, test::from_hex("10 00 00 00 03 6b 02 76 00"), 1, 0));
  ASSERT_TRUE(error);
  EXPECT_EQ(error->what, "invalid record key");
  // Negative header count.
  error = iterate_all(handmade_batch(0, test::from_hex("10 00 00 00 02 6b 02 76 01"), 1, 0));
  ASSERT_TRUE(error);
  EXPECT_EQ(error->what, "invalid record header count");
  // Compressed batches are not iterated.
  error = iterate_all(handmade_batch(1, test::from_hex("10 00 00 00 02 6b 02 76 00"), 1, 0));
  ASSERT_TRUE(error);
}

// Random corruption must never read outside the buffer (ASan checks) or crash.
TEST(RecordIterator, SurvivesRandomCorruption) {
  std::mt19937 rng(test::fuzz_seed(7));
  const ByteVec headers_value = test::text_bytes("hv");
  std::vector<RecordHeaderView> headers = {{"hk", Bytes(headers_value)}};
  RecordBatchBuilder builder;
  for (int i = 0; i < 5; ++i) builder.add_record(as_bytes("key"), as_bytes("value"), i, headers);
  const ByteVec original = builder.build();
  for (int round = 0; round < test::fuzz_rounds(3000); ++round) {
    ByteVec bytes = original;
    int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) {
      size_t at = 61 + rng() % (bytes.size() - 61);
      bytes[at] = static_cast<uint8_t>(rng());
    }
    if (rng() % 4 == 0) {
      // Shorten and make the batch length agree, so record parsing meets the end.
      bytes.resize(61 + rng() % (bytes.size() - 61));
      uint32_t length = static_cast<uint32_t>(bytes.size() - 12);
      for (int i = 0; i < 4; ++i) bytes[8 + i] = static_cast<uint8_t>(length >> (24 - 8 * i));
    }
    auto view = RecordBatchView::parse(bytes, CrcCheck::skip);
    if (!view) continue;
    RecordIterator it(*view);
    RecordView r;
    int n = 0;
    while (it.next(r)) ++n;
    EXPECT_LE(n, view->record_count());
  }
}

}  // namespace
}  // namespace kb::storage
