#include "kb/storage/producer_state.hpp"

#include <gtest/gtest.h>

#include <limits>

#include "kb/storage/crc32c.hpp"
#include "kb/storage/partition_log.hpp"
#include "storage_test_util.hpp"

namespace kb::storage {
namespace {

using test::ByteVec;
using wire::Uuid;
constexpr int32_t kMaxSeq = std::numeric_limits<int32_t>::max();

// The header of an idempotent batch of `count` records stored at `base_offset`.
RecordBatchHeader batch(int64_t producer_id, int16_t epoch, int32_t base_sequence, int32_t count,
                        int64_t base_offset = 0, int64_t max_timestamp = 1700000000000) {
  RecordBatchHeader h;
  h.producer_id = producer_id;
  h.producer_epoch = epoch;
  h.base_sequence = base_sequence;
  h.record_count = count;
  h.last_offset_delta = count - 1;
  h.base_offset = base_offset;
  h.max_timestamp = max_timestamp;
  return h;
}

TEST(ProducerState, SequencesWrapPastIntMax) {
  EXPECT_EQ(increment_sequence(0, 4), 4);
  EXPECT_EQ(increment_sequence(kMaxSeq - 1, 1), kMaxSeq);
  EXPECT_EQ(increment_sequence(kMaxSeq, 1), 0);
  EXPECT_EQ(increment_sequence(kMaxSeq - 1, 3), 1);
  EXPECT_EQ(last_sequence(batch(1, 0, kMaxSeq - 1, 4)), 1);  // kMax-1, kMax, 0, 1
  EXPECT_EQ(last_sequence(batch(1, 0, 10, 1)), 10);
}

TEST(ProducerState, UnknownProducerIsAcceptedAtAnySequence) {
  ProducerStateTable table;
  EXPECT_EQ(table.check(batch(7, 0, 0, 1)).verdict, SequenceVerdict::append);
  EXPECT_EQ(table.check(batch(7, 3, 42, 1)).verdict, SequenceVerdict::append);
  EXPECT_EQ(table.find(7), nullptr);
}

TEST(ProducerState, InSequenceBatchesAppendAndGapsAreRefused) {
  ProducerStateTable table;
  table.update(batch(7, 0, 0, 3, 100));  // seqs 0-2 at offsets 100-102
  ASSERT_NE(table.find(7), nullptr);
  EXPECT_EQ(table.find(7)->last_sequence(), 2);
  EXPECT_EQ(table.check(batch(7, 0, 3, 2)).verdict, SequenceVerdict::append);
  auto gap = table.check(batch(7, 0, 4, 1));
  EXPECT_EQ(gap.verdict, SequenceVerdict::out_of_order);
  EXPECT_NE(gap.message.find("4 (incoming), 2"), std::string::npos) << gap.message;
  // A partial overlap with a retained batch is no duplicate, and out of order.
  EXPECT_EQ(table.check(batch(7, 0, 1, 2)).verdict, SequenceVerdict::out_of_order);
  // Another producer is independent.
  EXPECT_EQ(table.check(batch(8, 0, 5, 1)).verdict, SequenceVerdict::append);
}

TEST(ProducerState, DuplicatesOfTheLastFiveBatchesKeepTheirOffsets) {
  ProducerStateTable table;
  int64_t offset = 0;
  for (int i = 0; i < 6; ++i) {
    // batch i: sequences 2i..2i+1, timestamps distinct
    table.update(batch(7, 0, 2 * i, 2, offset, 1000 + i));
    offset += 2 + 10;  // other producers' batches in between
  }
  // The oldest batch (seq 0-1) is no longer retained: resending it is a gap.
  EXPECT_EQ(table.check(batch(7, 0, 0, 2)).verdict, SequenceVerdict::out_of_order);
  for (int i = 1; i < 6; ++i) {
    auto dup = table.check(batch(7, 0, 2 * i, 2));
    ASSERT_EQ(dup.verdict, SequenceVerdict::duplicate) << i;
    EXPECT_EQ(dup.duplicate.first_offset, i * 12);
    EXPECT_EQ(dup.duplicate.last_offset, i * 12 + 1);
    EXPECT_EQ(dup.duplicate.timestamp, 1000 + i);
  }
  // The same sequences under another epoch are not duplicates.
  EXPECT_EQ(table.check(batch(7, 1, 2, 2)).verdict, SequenceVerdict::out_of_order);
  EXPECT_EQ(table.find(7)->batches.size(), kProducerBatchesRetained);
}

TEST(ProducerState, EpochBumpMustStartAtZeroAndFencesOlderEpochs) {
  ProducerStateTable table;
  table.update(batch(7, 2, 0, 5, 0));
  EXPECT_EQ(table.check(batch(7, 3, 5, 1)).verdict, SequenceVerdict::out_of_order);
  EXPECT_EQ(table.check(batch(7, 3, 0, 1)).verdict, SequenceVerdict::append);
  auto old = table.check(batch(7, 1, 5, 1));
  EXPECT_EQ(old.verdict, SequenceVerdict::old_epoch);
  EXPECT_NE(old.message.find("older"), std::string::npos);

  table.update(batch(7, 3, 0, 1, 5));
  EXPECT_EQ(table.find(7)->epoch, 3);
  EXPECT_EQ(table.find(7)->batches.size(), 1u);  // the old epoch's batches are gone
  EXPECT_EQ(table.check(batch(7, 2, 5, 1)).verdict, SequenceVerdict::old_epoch);
  // A duplicate of the old epoch's batch is refused too, not answered.
  EXPECT_EQ(table.check(batch(7, 2, 0, 5)).verdict, SequenceVerdict::old_epoch);
  EXPECT_EQ(table.check(batch(7, 3, 1, 1)).verdict, SequenceVerdict::append);
}

TEST(ProducerState, SequenceWrapsAroundAtIntMax) {
  ProducerStateTable table;
  table.update(batch(7, 0, kMaxSeq - 2, 3, 0));  // ends exactly at INT32_MAX
  EXPECT_EQ(table.find(7)->last_sequence(), kMaxSeq);
  EXPECT_EQ(table.check(batch(7, 0, 0, 2)).verdict, SequenceVerdict::append);
  EXPECT_EQ(table.check(batch(7, 0, 1, 2)).verdict, SequenceVerdict::out_of_order);

  // A batch that itself crosses INT32_MAX: its last sequence wraps.
  ProducerStateTable crossing;
  crossing.update(batch(9, 0, kMaxSeq - 1, 4, 50));  // kMax-1, kMax, 0, 1
  EXPECT_EQ(crossing.find(9)->last_sequence(), 1);
  EXPECT_EQ(crossing.check(batch(9, 0, 2, 1)).verdict, SequenceVerdict::append);
  auto dup = crossing.check(batch(9, 0, kMaxSeq - 1, 4));
  EXPECT_EQ(dup.verdict, SequenceVerdict::duplicate);
  EXPECT_EQ(dup.duplicate.first_offset, 50);
}

TEST(ProducerState, ControlBatchesMoveOnlyTheEpoch) {
  ProducerStateTable table;
  table.update(batch(7, 0, 0, 2, 0));
  RecordBatchHeader marker = batch(7, 1, -1, 1, 2);
  marker.attributes = batch_attributes::kControl | batch_attributes::kTransactional;
  table.update(marker);
  EXPECT_EQ(table.find(7)->epoch, 1);
  EXPECT_TRUE(table.find(7)->batches.empty());
  EXPECT_EQ(table.check(batch(7, 1, 0, 1)).verdict, SequenceVerdict::append);
  // Batches without a producer id leave no state.
  table.update(batch(kNoProducerId, kNoProducerEpoch, kNoSequence, 3, 5));
  EXPECT_EQ(table.size(), 1u);
}

TEST(ProducerState, ProducersSilentForTooLongAreForgotten) {
  ProducerStateTable table;
  table.update(batch(1, 0, 0, 1, 0, 1000));
  table.update(batch(2, 0, 0, 1, 1, 5000));
  EXPECT_EQ(table.remove_expired(5999, 5000), 0u);
  EXPECT_EQ(table.remove_expired(6000, 5000), 1u);
  EXPECT_EQ(table.find(1), nullptr);
  ASSERT_NE(table.find(2), nullptr);
  // The forgotten producer may start anywhere again.
  EXPECT_EQ(table.check(batch(1, 0, 9, 1)).verdict, SequenceVerdict::append);
}

ByteVec idempotent_batch(int64_t producer_id, int16_t epoch, int32_t base_sequence, int count) {
  RecordBatchBuilder builder;
  builder.set_producer_id(producer_id).set_producer_epoch(epoch).set_base_sequence(base_sequence);
  for (int i = 0; i < count; ++i)
    builder.add_record(std::nullopt, test::as_bytes("value-with-some-padding-to-fill-segments"),
                       1700000000000 + i);
  return builder.build();
}

TEST(ProducerState, LoadsFromTheLastTwoSegmentsOfTheLog) {
  test::TempDir dir;
  PartitionLogOptions options;
  options.segment_bytes = 600;
  auto log = PartitionLog::create(dir.path(), "idem", 0, Uuid{{4}}, options);
  ASSERT_TRUE(log.ok());
  // Producer 1 writes first, then producer 2 fills several segments, with
  // plain (non-idempotent) batches in between.
  ByteVec first = idempotent_batch(1, 0, 0, 2);
  ASSERT_TRUE((*log)->append(first).ok());
  for (int i = 0; i < 12; ++i) {
    ByteVec b = idempotent_batch(2, 3, i * 3, 3);
    ASSERT_TRUE((*log)->append(b).ok());
    ByteVec plain = test::make_batch(0, 1);
    ASSERT_TRUE((*log)->append(plain).ok());
  }
  ASSERT_GT((*log)->segment_count(), 3u);

  auto loaded = load_producer_state(**log);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  // Producer 1's batch lies in the first segment: not scanned, so unknown.
  EXPECT_EQ(loaded->table.find(1), nullptr);
  const ProducerEntry* p2 = loaded->table.find(2);
  ASSERT_NE(p2, nullptr);
  EXPECT_EQ(p2->epoch, 3);
  EXPECT_EQ(p2->last_sequence(), 35);
  ASSERT_FALSE(p2->batches.empty());
  // The last batch of producer 2 was the 12th: 2 + 11 * 4 = offset 46.
  EXPECT_EQ(p2->batches.back().first_offset, 46);
  EXPECT_EQ(p2->batches.back().last_offset, 48);
  auto dup = loaded->table.check(RecordBatchHeader::parse(idempotent_batch(2, 3, 33, 3)).value());
  EXPECT_EQ(dup.verdict, SequenceVerdict::duplicate);
  EXPECT_EQ(dup.duplicate.first_offset, 46);
}

TEST(ProducerState, LoadsEverythingFromAShortLog) {
  test::TempDir dir;
  auto log = PartitionLog::create(dir.path(), "short", 0, Uuid{{5}});
  ASSERT_TRUE(log.ok());
  for (int i = 0; i < 7; ++i) {
    ByteVec b = idempotent_batch(11, 0, i, 1);
    ASSERT_TRUE((*log)->append(b).ok());
  }
  auto loaded = load_producer_state(**log);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  ASSERT_NE(loaded->table.find(11), nullptr);
  EXPECT_EQ(loaded->table.find(11)->last_sequence(), 6);
  EXPECT_EQ(loaded->table.find(11)->batches.size(), kProducerBatchesRetained);
  EXPECT_EQ(loaded->table.find(11)->batches.front().first_offset, 2);

  auto empty_log = PartitionLog::create(dir.path(), "empty", 0, Uuid{{6}});
  ASSERT_TRUE(empty_log.ok());
  auto none = load_producer_state(**empty_log);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->table.size(), 0u);
}

}  // namespace
}  // namespace kb::storage

namespace kb::storage {
namespace {

bool same_batches(const ProducerEntry& a, const ProducerEntry& b) {
  if (a.epoch != b.epoch || a.last_timestamp != b.last_timestamp ||
      a.batches.size() != b.batches.size())
    return false;
  for (size_t i = 0; i < a.batches.size(); ++i) {
    const auto &x = a.batches[i], &y = b.batches[i];
    if (x.first_sequence != y.first_sequence || x.last_sequence != y.last_sequence ||
        x.first_offset != y.first_offset || x.last_offset != y.last_offset ||
        x.timestamp != y.timestamp)
      return false;
  }
  return true;
}

TEST(ProducerSnapshot, KafkaLayout) {
  ProducerStateTable table;
  table.update(batch(0x0102030405060708, 3, 10, 4, 100, 1700000000123));
  const std::vector<uint8_t> bytes = encode_producer_snapshot(table);
  ASSERT_EQ(bytes.size(), 2u + 4 + 4 + 46);
  const std::vector<uint8_t> entries = test::from_hex(
      "00000001"            // one entry
      "0102030405060708"    // producer id
      "0003"                // epoch
      "0000000d"            // last sequence 13
      "0000000000000067"    // last offset 103
      "00000003"            // offset delta
      "0000018bcfe5687b"    // timestamp 1700000000123
      "ffffffff"            // coordinator epoch
      "ffffffffffffffff");  // no transaction
  EXPECT_EQ(bytes[0], 0);
  EXPECT_EQ(bytes[1], 1);  // version 1
  EXPECT_EQ(std::vector<uint8_t>(bytes.begin() + 6, bytes.end()), entries);
  const uint32_t crc = crc32c(entries);
  EXPECT_EQ(bytes[2], static_cast<uint8_t>(crc >> 24));
  EXPECT_EQ(bytes[5], static_cast<uint8_t>(crc));
}

TEST(ProducerSnapshot, RoundTripKeepsTheLastFiveBatches) {
  ProducerStateTable table;
  int64_t offset = 0;
  for (int i = 0; i < 7; ++i) {
    // Producer 1 crosses INT32_MAX on the way.
    table.update(batch(1, 2, increment_sequence(kMaxSeq - 6, 2 * i), 2, offset, 5000 + i));
    offset += 2;
  }
  table.update(batch(2, 0, 0, 1, offset, 6000));
  RecordBatchHeader marker = batch(3, 4, -1, 1, offset + 1, 7000);
  marker.attributes = batch_attributes::kControl;
  table.update(marker);  // a producer with an epoch and no batches

  ProducerStateTable back;
  ASSERT_TRUE(decode_producer_snapshot(encode_producer_snapshot(table), back).ok());
  ASSERT_EQ(back.size(), 3u);
  for (int64_t id : {1, 2, 3}) EXPECT_TRUE(same_batches(*table.find(id), *back.find(id))) << id;
  EXPECT_EQ(back.find(1)->batches.size(), kProducerBatchesRetained);
  EXPECT_EQ(back.check(batch(1, 2, increment_sequence(kMaxSeq - 6, 4), 2, 0, 0)).verdict,
            SequenceVerdict::duplicate);
}

TEST(ProducerSnapshot, CorruptSnapshotsAreRefused) {
  ProducerStateTable table;
  table.update(batch(1, 0, 0, 1, 0, 1));
  std::vector<uint8_t> bytes = encode_producer_snapshot(table);
  ProducerStateTable out;
  bytes.back() ^= 1;
  EXPECT_FALSE(decode_producer_snapshot(bytes, out).ok());
  bytes.back() ^= 1;
  bytes[1] = 2;  // version
  EXPECT_FALSE(decode_producer_snapshot(bytes, out).ok());
  bytes[1] = 1;
  bytes.pop_back();
  EXPECT_FALSE(decode_producer_snapshot(bytes, out).ok());
  EXPECT_FALSE(decode_producer_snapshot(std::vector<uint8_t>{0, 1, 0}, out).ok());
}

// The CRC of a hand-made snapshot, as Kafka computes it: over everything
// after the version and the CRC itself.
void seal_snapshot(std::vector<uint8_t>& bytes) {
  const uint32_t crc = crc32c(std::span<const uint8_t>(bytes).subspan(6));
  for (size_t i = 0; i < 4; ++i) bytes[2 + i] = static_cast<uint8_t>(crc >> (24 - 8 * i));
}

// Kafka's readSnapshot reads the generated ProducerSnapshot message: `count`
// entries, and whatever follows them is not looked at (the CRC covers it); a
// negative count ("non-nullable field ... was serialized as null") or one
// larger than the bytes left fails schema validation.
TEST(ProducerSnapshot, ReadsCountEntriesAsKafkaDoesAndIgnoresTrailingBytes) {
  ProducerStateTable table;
  table.update(batch(7, 0, 0, 1, 0, 1));
  std::vector<uint8_t> bytes = encode_producer_snapshot(table);
  bytes.insert(bytes.end(), {0xde, 0xad, 0xbe, 0xef});
  seal_snapshot(bytes);
  ProducerStateTable out;
  ASSERT_TRUE(decode_producer_snapshot(bytes, out).ok());
  ASSERT_NE(out.find(7), nullptr);

  std::vector<uint8_t> more = encode_producer_snapshot(table);
  more[9] = 2;  // two entries announced, one there
  seal_snapshot(more);
  ProducerStateTable none;
  EXPECT_FALSE(decode_producer_snapshot(more, none).ok());
  more[6] = 0xff;  // a negative count
  seal_snapshot(more);
  EXPECT_FALSE(decode_producer_snapshot(more, none).ok());
}

TEST(ProducerSnapshot, LoadStartsFromTheNewestSnapshotInsideTheLog) {
  test::TempDir dir;
  PartitionLogOptions options;
  options.segment_bytes = 600;
  auto log = PartitionLog::create(dir.path(), "snap", 0, Uuid{{8}}, options);
  ASSERT_TRUE(log.ok());
  ByteVec first = idempotent_batch(1, 0, 0, 2);
  ASSERT_TRUE((*log)->append(first).ok());
  auto early = load_producer_state(**log);
  ASSERT_TRUE(early.ok());
  ASSERT_TRUE(write_producer_snapshot((*log)->dir(), early->table).ok());
  EXPECT_TRUE(std::filesystem::exists((*log)->dir() / "00000000000000000002.snapshot"));
  for (int i = 0; i < 12; ++i) {
    ByteVec b = idempotent_batch(2, 0, i * 3, 3);
    ASSERT_TRUE((*log)->append(b).ok());
  }
  ASSERT_GT((*log)->segment_count(), 3u);

  // Producer 1 wrote only in the first segment: known through the snapshot.
  auto loaded = load_producer_state(**log);
  ASSERT_TRUE(loaded.ok());
  ASSERT_NE(loaded->table.find(1), nullptr);
  EXPECT_EQ(loaded->table.check(RecordBatchHeader::parse(first).value()).verdict,
            SequenceVerdict::duplicate);
  ASSERT_NE(loaded->table.find(2), nullptr);
  EXPECT_EQ(loaded->table.find(2)->last_sequence(), 35);
  EXPECT_EQ(loaded->table.find(2)->batches.size(), kProducerBatchesRetained);
  EXPECT_EQ(loaded->table.end_offset(), 38);

  // A newer snapshot replaces the older one.
  ASSERT_TRUE(write_producer_snapshot((*log)->dir(), loaded->table).ok());
  EXPECT_FALSE(std::filesystem::exists((*log)->dir() / "00000000000000000002.snapshot"));
  ASSERT_TRUE(std::filesystem::exists((*log)->dir() / "00000000000000000038.snapshot"));

  // A corrupt snapshot is skipped: the last two segments are scanned instead.
  auto path = (*log)->dir() / "00000000000000000038.snapshot";
  ByteVec bytes = test::read_whole_file(path);
  bytes[10] ^= 0xff;
  test::write_whole_file(path, bytes);
  auto fallback = load_producer_state(**log);
  ASSERT_TRUE(fallback.ok());
  EXPECT_EQ(fallback->table.find(1), nullptr);
  ASSERT_NE(fallback->table.find(2), nullptr);

  // A snapshot beyond the log's end (its tail was lost) is not used.
  std::filesystem::rename(path, (*log)->dir() / "00000000000000000099.snapshot");
  ASSERT_TRUE(write_producer_snapshot(dir.path(), loaded->table).ok());  // elsewhere: no effect
  auto beyond = load_producer_state(**log);
  ASSERT_TRUE(beyond.ok());
  EXPECT_EQ(beyond->table.find(1), nullptr);
}

}  // namespace
}  // namespace kb::storage
