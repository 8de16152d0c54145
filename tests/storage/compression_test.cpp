// The batch codecs, and what the log finds inside compressed batches:
// ListOffsets by time (Kafka's LogSegment.findOffsetByTimestamp iterates the
// records of the batch), the log start offset moved inside a segment
// (DeleteRecords) and the leader epochs the batches carry.

#include "kb/storage/compression.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kb/storage/partition_log.hpp"
#include "kb/storage/record_batch.hpp"
#include "storage/storage_test_util.hpp"

namespace kb::storage {
namespace {

using test::ByteVec;

constexpr Compression kCodecs[] = {Compression::gzip, Compression::snappy, Compression::lz4,
                                   Compression::zstd};

std::string codec_name(Compression c) {
  switch (c) {
    case Compression::none:
      return "none";
    case Compression::gzip:
      return "gzip";
    case Compression::snappy:
      return "snappy";
    case Compression::lz4:
      return "lz4";
    case Compression::zstd:
      return "zstd";
  }
  return "?";
}

ByteVec sample(size_t n) {
  ByteVec out(n);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>((i * 7) % 13 + (i / 1000));
  return out;
}

TEST(Compression, EachCodecRoundTrips) {
  for (Compression c : kCodecs) {
    SCOPED_TRACE(codec_name(c));
    for (size_t n : {size_t{0}, size_t{1}, size_t{1000}, size_t{200000}}) {
      ByteVec plain = sample(n);
      auto packed = compress(c, plain);
      ASSERT_TRUE(packed.ok()) << packed.error().message;
      auto back = decompress(c, *packed);
      ASSERT_TRUE(back.ok()) << back.error().message;
      EXPECT_EQ(*back, plain);
    }
  }
}

TEST(Compression, TruncatedOrCorruptInputIsAnError) {
  ByteVec plain = sample(100000);
  for (Compression c : kCodecs) {
    SCOPED_TRACE(codec_name(c));
    auto packed = compress(c, plain);
    ASSERT_TRUE(packed.ok());
    for (size_t cut : {size_t{0}, size_t{3}, packed->size() / 2, packed->size() - 1}) {
      EXPECT_FALSE(decompress(c, Bytes(packed->data(), cut)).ok()) << "cut at " << cut;
    }
    ByteVec garbage(64, 0x5a);
    EXPECT_FALSE(decompress(c, garbage).ok());
  }
}

TEST(Compression, OutputLargerThanTheLimitIsAnError) {
  ByteVec zeros(1 << 20, 0);
  for (Compression c : kCodecs) {
    SCOPED_TRACE(codec_name(c));
    auto packed = compress(c, zeros);
    ASSERT_TRUE(packed.ok());
    auto capped = decompress(c, *packed, 4096);
    ASSERT_FALSE(capped.ok());
    EXPECT_NE(capped.error().message.find("larger than 4096"), std::string::npos);
    EXPECT_TRUE(decompress(c, *packed, zeros.size()).ok());
  }
}

TEST(Compression, SnappyWithoutXerialHeaderIsOneRawBlockAndStreamsMayBeConcatenated) {
  ByteVec plain = sample(5000);
  auto framed = compress(Compression::snappy, plain);
  ASSERT_TRUE(framed.ok());
  // The framed form: 16 header bytes, then [length][block]; the block alone
  // is a raw snappy block, which SnappyInputStream reads when the magic is
  // absent.
  ByteVec raw(framed->begin() + 20, framed->end());
  auto back = decompress(Compression::snappy, raw);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, plain);
  ByteVec twice = *framed;
  twice.insert(twice.end(), framed->begin(), framed->end());
  auto both = decompress(Compression::snappy, twice);
  ASSERT_TRUE(both.ok()) << both.error().message;
  EXPECT_EQ(both->size(), plain.size() * 2);
}

TEST(Compression, GzipMembersAreConcatenated) {
  auto a = compress(Compression::gzip, test::as_bytes("first "));
  auto b = compress(Compression::gzip, test::as_bytes("second"));
  ASSERT_TRUE(a.ok() && b.ok());
  ByteVec both = *a;
  both.insert(both.end(), b->begin(), b->end());
  auto back = decompress(Compression::gzip, both);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(std::string(back->begin(), back->end()), "first second");
}

constexpr int64_t kBase = 1700000000000;

// Twenty records with timestamps base + i * 1000 in one batch.
ByteVec twenty_records(Compression c, TimestampType type = TimestampType::create_time,
                       int32_t leader_epoch = 3) {
  RecordBatchBuilder b;
  b.set_compression(c).set_timestamp_type(type).set_partition_leader_epoch(leader_epoch);
  for (int i = 0; i < 20; ++i) {
    std::string value = "value-" + std::to_string(i);
    b.add_record(std::nullopt, test::as_bytes(value), kBase + i * 1000);
  }
  return b.build();
}

TEST(Compression, BuiltBatchesCarryTheCodecAndTheirRecordsReadBack) {
  for (Compression c : kCodecs) {
    SCOPED_TRACE(codec_name(c));
    ByteVec bytes = twenty_records(c);
    auto view = RecordBatchView::parse(bytes);
    ASSERT_TRUE(view.has_value());
    EXPECT_EQ(view->compression(), c);
    auto plain = decompress(c, view->records_section());
    ASSERT_TRUE(plain.ok());
    RecordIterator it(*view, *plain);
    RecordView r;
    int n = 0;
    while (it.next(r)) {
      EXPECT_EQ(r.offset, n);
      EXPECT_EQ(r.timestamp, kBase + n * 1000);
      ++n;
    }
    EXPECT_TRUE(it.ok());
    EXPECT_EQ(n, 20);
  }
}

TEST(TimestampLookup, FindsTheRecordInsideEachCompressedBatch) {
  for (Compression c : {Compression::none, Compression::gzip, Compression::snappy, Compression::lz4,
                        Compression::zstd}) {
    SCOPED_TRACE(codec_name(c));
    test::TempDir dir;
    auto log = PartitionLog::create(dir.path(), "t", 0, wire::Uuid{{1}});
    ASSERT_TRUE(log.ok());
    ASSERT_TRUE((*log)->append(twenty_records(c)).ok());
    const std::pair<int64_t, int64_t> cases[] = {
        {kBase, 0}, {kBase + 500, 1}, {kBase + 5000, 5}, {kBase + 19000, 19}};
    for (auto [ts, offset] : cases) {
      auto found = (*log)->record_for_timestamp(ts);
      ASSERT_TRUE(found.ok());
      ASSERT_TRUE(found->has_value()) << ts;
      EXPECT_EQ((*found)->offset, offset);
      EXPECT_EQ((*found)->timestamp, kBase + offset * 1000);  // the record's, not the one asked
      EXPECT_EQ((*found)->leader_epoch, 3);
    }
    auto past = (*log)->record_for_timestamp(kBase + 19001);
    ASSERT_TRUE(past.ok());
    EXPECT_FALSE(past->has_value());
  }
}

TEST(TimestampLookup, LogAppendTimeRecordsAllHaveTheBatchTime) {
  test::TempDir dir;
  auto log = PartitionLog::create(dir.path(), "t", 0, wire::Uuid{{1}});
  ASSERT_TRUE(log.ok());
  const int64_t append_time = kBase + 50000;
  ASSERT_TRUE((*log)->append(twenty_records(Compression::lz4), 0, append_time).ok());
  auto found = (*log)->record_for_timestamp(kBase + 7000);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->offset, 0);
  EXPECT_EQ((*found)->timestamp, append_time);
  EXPECT_EQ((*found)->leader_epoch, 0);
}

TEST(TimestampLookup, UnreadableCompressedRecordsAnswerTheBatchStart) {
  test::TempDir dir;
  auto log = PartitionLog::create(dir.path(), "t", 0, wire::Uuid{{1}});
  ASSERT_TRUE(log.ok());
  ByteVec batch = twenty_records(Compression::zstd);
  for (size_t i = batch_layout::kRecords; i < batch.size(); ++i) batch[i] = 0x5a;  // not zstd
  ASSERT_TRUE(update_batch_crc(batch));
  ASSERT_TRUE((*log)->append(batch).ok());
  auto found = (*log)->record_for_timestamp(kBase + 5000);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->offset, 0);
  EXPECT_EQ((*found)->timestamp, kBase + 19000);
}

TEST(LogStartOffset, MovesInsideASegmentAndDeletesSegmentsBelowIt) {
  test::TempDir dir;
  PartitionLogOptions options;
  options.segment_bytes = 600;  // about two batches a segment
  auto created = PartitionLog::create(dir.path(), "t", 0, wire::Uuid{{1}}, options);
  ASSERT_TRUE(created.ok());
  PartitionLog& log = **created;
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(log.append(twenty_records(Compression::none)).ok());
  ASSERT_EQ(log.log_end_offset(), 120);
  const size_t segments = log.segment_count();
  ASSERT_GE(segments, 3u);
  const int64_t second_base = log.segment_base_offsets()[1];

  auto moved = log.advance_log_start_offset(second_base + 5);
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(*moved, 1u);
  EXPECT_EQ(log.log_start_offset(), second_base + 5);
  EXPECT_EQ(log.segment_count(), segments - 1);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "t-0" / "00000000000000000000.log"));

  // Below the start: out of range; at it: the batch holding it.
  auto below = log.read(second_base + 4, 1 << 20);
  ASSERT_TRUE(below.ok());
  EXPECT_EQ(below->outcome, LogReadResult::Outcome::offset_out_of_range);
  auto at = log.read(second_base + 5, 1 << 20);
  ASSERT_TRUE(at.ok());
  EXPECT_EQ(at->outcome, LogReadResult::Outcome::ok);
  EXPECT_EQ(at->first_batch_base_offset, second_base);

  // By time: never a record below the start.
  auto found = log.record_for_timestamp(0);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->offset, second_base + 5);

  // Never down; at most the log end offset, the active segment kept.
  ASSERT_TRUE(log.advance_log_start_offset(3).ok());
  EXPECT_EQ(log.log_start_offset(), second_base + 5);
  ASSERT_TRUE(log.advance_log_start_offset(1000).ok());
  EXPECT_EQ(log.log_start_offset(), 120);
  EXPECT_EQ(log.segment_count(), 1u);
  EXPECT_EQ(log.log_end_offset(), 120);
  ASSERT_TRUE(log.append(twenty_records(Compression::none)).ok());
  EXPECT_EQ(log.log_end_offset(), 140);
  EXPECT_EQ(log.log_start_offset(), 120);
}

TEST(LeaderEpochs, FirstOffsetOfEachLargerEpochFromTheBatches) {
  test::TempDir dir;
  PartitionLogOptions options;
  options.segment_bytes = 600;
  auto created = PartitionLog::create(dir.path(), "t", 0, wire::Uuid{{1}}, options);
  ASSERT_TRUE(created.ok());
  PartitionLog& log = **created;
  // Epochs by batch: -1, 0, 0, 2, 1 (older than 2: not an epoch start), 5.
  ASSERT_TRUE(log.append(twenty_records(Compression::none, TimestampType::create_time, -1)).ok());
  for (int32_t epoch : {0, 0, 2, 1})
    ASSERT_TRUE(log.append(twenty_records(Compression::gzip), epoch).ok());
  auto epochs = log.leader_epoch_starts();
  ASSERT_TRUE(epochs.ok());
  ASSERT_EQ(epochs->size(), 2u);
  EXPECT_EQ((*epochs)[0].epoch, 0);
  EXPECT_EQ((*epochs)[0].start_offset, 20);
  EXPECT_EQ((*epochs)[1].epoch, 2);
  EXPECT_EQ((*epochs)[1].start_offset, 60);

  // Appended later: read from where the last call stopped.
  ASSERT_TRUE(log.append(twenty_records(Compression::none), 5).ok());
  epochs = log.leader_epoch_starts();
  ASSERT_TRUE(epochs.ok());
  ASSERT_EQ(epochs->size(), 3u);
  EXPECT_EQ((*epochs)[2].epoch, 5);
  EXPECT_EQ((*epochs)[2].start_offset, 100);

  // The log start offset cuts epochs below it.
  ASSERT_TRUE(log.advance_log_start_offset(70).ok());
  epochs = log.leader_epoch_starts();
  ASSERT_TRUE(epochs.ok());
  ASSERT_EQ(epochs->size(), 2u);
  EXPECT_EQ((*epochs)[0].epoch, 2);
  EXPECT_EQ((*epochs)[0].start_offset, 70);

  // A reopened log reads them again from the files.
  created->reset();
  auto reopened = PartitionLog::open(dir.path() / "t-0", options);
  ASSERT_TRUE(reopened.ok());
  auto again = (*reopened)->leader_epoch_starts();
  ASSERT_TRUE(again.ok());
  // Without the checkpoint the reopened log starts at its first segment.
  ASSERT_FALSE(again->empty());
  EXPECT_EQ(again->front().start_offset, (*reopened)->log_start_offset());
  EXPECT_EQ(again->back().epoch, 5);
  EXPECT_EQ(again->back().start_offset, 100);
}

}  // namespace
}  // namespace kb::storage
