// Damaged partition logs: what recovery cuts, what reads report, and what a
// damaged log still accepts.

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <vector>

#include "kb/storage/partition_log.hpp"
#include "kb/storage/record_batch.hpp"
#include "storage_test_util.hpp"

namespace kb::storage {
namespace {

namespace fs = std::filesystem;
using test::ByteVec;

// Batch header fields (Kafka's layout).
constexpr size_t kBaseOffsetAt = 0;
constexpr size_t kLengthAt = 8;

void put_be(ByteVec& bytes, size_t at, uint64_t value, int width) {
  for (int i = width - 1; i >= 0; --i) {
    bytes[at + static_cast<size_t>(i)] = static_cast<uint8_t>(value & 0xff);
    value >>= 8;
  }
}

// A partition directory written by hand: segments of 3-record batches, each
// segment `batches` batches long, offsets contiguous from 0.
struct HandWrittenLog {
  test::TempDir dir;
  fs::path path = dir.path() / "t-0";
  std::map<int64_t, std::vector<ByteVec>> segments;  // base offset -> batches

  HandWrittenLog(int segment_count, int batches) {
    fs::create_directories(path);
    int64_t offset = 0;
    for (int s = 0; s < segment_count; ++s) {
      auto& batches_of = segments[offset];
      for (int b = 0; b < batches; ++b, offset += 3)
        batches_of.push_back(test::make_batch(offset, 3));
    }
  }
  fs::path file(int64_t base) const { return path / segment_file_name(base, ".log"); }
  // Byte position of batch `index` in segment `base`.
  size_t position(int64_t base, size_t index) const {
    size_t at = 0;
    for (size_t i = 0; i < index; ++i) at += segments.at(base)[i].size();
    return at;
  }
  void write() const {
    for (const auto& [base, batches] : segments) {
      ByteVec bytes;
      for (const auto& b : batches) bytes.insert(bytes.end(), b.begin(), b.end());
      test::write_whole_file(file(base), bytes);
    }
  }
  int64_t end_offset() const {
    const auto& last = segments.rbegin()->second.back();
    return RecordBatchHeader::parse(last)->next_offset();
  }
};

std::unique_ptr<PartitionLog> open_log(const fs::path& path, RecoveryHint hint = {},
                                       PartitionLogOptions options = {}) {
  auto log = PartitionLog::open(path, options, hint);
  EXPECT_TRUE(log.ok()) << (log.ok() ? "" : log.error().message);
  return log.ok() ? std::move(log.value()) : nullptr;
}

RecoveryHint clean_at(int64_t recovery_point) {
  RecoveryHint hint;
  hint.clean_shutdown = true;
  hint.recovery_point = recovery_point;
  return hint;
}

RecoveryHint unclean_from(int64_t recovery_point) {
  RecoveryHint hint;
  hint.recovery_point = recovery_point;
  return hint;
}

LogReadResult::Outcome read_outcome(PartitionLog& log, int64_t offset) {
  auto read = log.read(offset, 1 << 20);
  EXPECT_TRUE(read.ok()) << (read.ok() ? "" : read.error().message);
  return read.ok() ? read->outcome : LogReadResult::Outcome::ok;
}

int64_t first_offset_read(PartitionLog& log, int64_t offset) {
  auto read = log.read(offset, 1 << 20);
  EXPECT_TRUE(read.ok() && read->outcome == LogReadResult::Outcome::ok && !read->empty());
  return read.ok() ? read->first_batch_base_offset : -1;
}

TEST(LogDamage, ABaseOffsetThatSkipsAheadEndsTheActiveSegment) {
  // A bit flipped in the third batch's base offset (outside the CRC): 6 became
  // 6 + 2^27. Recovery cut the log there instead of moving its end to 134M.
  HandWrittenLog hand(1, 4);
  put_be(hand.segments[0][2], kBaseOffsetAt, 6 + (int64_t{1} << 27), 8);
  hand.write();
  auto log = open_log(hand.path, unclean_from(0));
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->log_end_offset(), 6);
  EXPECT_EQ(fs::file_size(hand.file(0)), hand.position(0, 2));
  auto appended = log->append(test::make_batch(0, 1));
  ASSERT_TRUE(appended.ok()) << appended.error().message;
  EXPECT_EQ(appended->first_offset, 6);
}

TEST(LogDamage, ABaseOffsetThatSkipsAheadInTheLastBatchIsFoundAfterACleanShutdownToo) {
  HandWrittenLog hand(1, 3);
  hand.write();
  open_log(hand.path, clean_at(9)).reset();  // leaves index files as a clean shutdown does
  ByteVec bytes = test::read_whole_file(hand.file(0));
  put_be(bytes, hand.position(0, 2) + kBaseOffsetAt, 6 + (int64_t{1} << 27), 8);
  test::write_whole_file(hand.file(0), bytes);
  ASSERT_TRUE(fs::exists(hand.path / segment_file_name(0, ".index")));
  auto log = open_log(hand.path, clean_at(9));
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->log_end_offset(), 6);
  EXPECT_EQ(fs::file_size(hand.file(0)), hand.position(0, 2));
}

TEST(LogDamage, CompactedLogsKeepTheirOffsetGaps) {
  HandWrittenLog hand(1, 3);
  hand.segments[0][2] = test::make_batch(20, 3);  // the cleaner removed offsets 6-19
  hand.write();
  PartitionLogOptions compacted;
  compacted.compacted = true;
  auto log = open_log(hand.path, unclean_from(0), compacted);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->log_end_offset(), 23);
  EXPECT_EQ(first_offset_read(*log, 6), 20);
}

TEST(LogDamage, OffsetsReachingTheNextSegmentEndTheOlderSegmentInRecovery) {
  // Segment 0 holds 0-8, segment 9 holds 9-17; segment 0's last batch claims
  // 8-10 (a changed base offset), overlapping segment 9.
  HandWrittenLog hand(2, 3);
  put_be(hand.segments[0][2], kBaseOffsetAt, 8, 8);
  hand.write();
  auto log = open_log(hand.path, unclean_from(0));
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(fs::file_size(hand.file(0)), hand.position(0, 2));
  EXPECT_EQ(log->segment_count(), 2u);  // the later segment is kept
  EXPECT_EQ(log->log_end_offset(), 18);
  // Offsets 6-8 are lost: a fetch there gets the next segment's first batch.
  EXPECT_EQ(first_offset_read(*log, 6), 9);
  EXPECT_EQ(first_offset_read(*log, 3), 3);
}

TEST(LogDamage, RecoveryCutsADamagedOlderSegmentAndKeepsTheLaterOnes) {
  HandWrittenLog hand(3, 4);
  put_be(hand.segments[12][1], kLengthAt, 0x7fff0000, 4);  // a damaged length field
  hand.write();
  auto log = open_log(hand.path, unclean_from(0));
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->segment_count(), 3u);
  EXPECT_EQ(fs::file_size(hand.file(12)), hand.position(12, 1));
  EXPECT_EQ(log->log_end_offset(), 36);
  EXPECT_FALSE(log->damage().has_value());
  EXPECT_EQ(first_offset_read(*log, 12), 12);
  EXPECT_EQ(first_offset_read(*log, 15), 24);  // 15-23 are lost
  EXPECT_EQ(first_offset_read(*log, 30), 30);
}

TEST(LogDamage, ADamagedLengthInAnOlderSegmentFoundByAReadIsReportedNotSkipped) {
  HandWrittenLog hand(3, 4);
  put_be(hand.segments[12][2], kLengthAt, 5, 4);  // smaller than a batch header
  hand.write();
  // A clean shutdown: nothing before the recovery point is scanned at start.
  auto log = open_log(hand.path, clean_at(36));
  ASSERT_NE(log, nullptr);
  ASSERT_EQ(log->log_end_offset(), 36);
  EXPECT_EQ(read_outcome(*log, 12), LogReadResult::Outcome::ok);
  EXPECT_EQ(read_outcome(*log, 18), LogReadResult::Outcome::corrupt);
  ASSERT_TRUE(log->damage().has_value());
  EXPECT_EQ(log->damage()->file, hand.file(12));
  EXPECT_EQ(log->damage()->position, hand.position(12, 2));
  EXPECT_EQ(log->damage()->offset, 18);
  // Before it, and in later segments, reads go on; so do appends (readable).
  EXPECT_EQ(first_offset_read(*log, 15), 15);
  EXPECT_EQ(read_outcome(*log, 23), LogReadResult::Outcome::corrupt);
  EXPECT_EQ(first_offset_read(*log, 24), 24);
  auto appended = log->append(test::make_batch(0, 1));
  ASSERT_TRUE(appended.ok()) << appended.error().message;
  EXPECT_EQ(appended->first_offset, 36);

  // The recovery point stays before the damaged segment, so a restart
  // recovers it (even after a clean shutdown) and cuts the damage.
  ASSERT_TRUE(log->flush().ok());
  EXPECT_EQ(log->recovery_point(), 12);
  EXPECT_FALSE(log->has_unsynced_indexes());
  log.reset();
  log = open_log(hand.path, clean_at(12));
  ASSERT_NE(log, nullptr);
  EXPECT_FALSE(log->damage().has_value());
  EXPECT_EQ(fs::file_size(hand.file(12)), hand.position(12, 2));
  EXPECT_EQ(log->log_end_offset(), 37);
  EXPECT_EQ(first_offset_read(*log, 18), 24);
}

TEST(LogDamage, ADamagedActiveSegmentFoundByAReadRefusesAppends) {
  HandWrittenLog hand(1, 6);
  hand.write();
  auto log = open_log(hand.path, clean_at(18));
  ASSERT_NE(log, nullptr);
  // Damaged while the broker runs (behind the index entry the clean start
  // used): a length that reaches past the file.
  ByteVec bytes = test::read_whole_file(hand.file(0));
  put_be(bytes, hand.position(0, 3) + kLengthAt, 0x00100000, 4);
  test::write_whole_file(hand.file(0), bytes);

  auto read = log->read(0, 1 << 20);
  ASSERT_TRUE(read.ok());
  ASSERT_EQ(read->outcome, LogReadResult::Outcome::ok);
  EXPECT_EQ(read->length, hand.position(0, 3));  // the batches before it
  EXPECT_EQ(read_outcome(*log, 9), LogReadResult::Outcome::corrupt);
  EXPECT_EQ(read_outcome(*log, 17), LogReadResult::Outcome::corrupt);
  ASSERT_TRUE(log->damage().has_value());
  EXPECT_EQ(log->damage()->offset, 9);
  auto appended = log->append(test::make_batch(0, 1));
  ASSERT_FALSE(appended.ok());
  EXPECT_NE(appended.error().message.find("00000000000000000000.log"), std::string::npos)
      << appended.error().message;
  EXPECT_EQ(log->log_end_offset(), 18);
}

TEST(LogDamage, ALogNeverRecoveredSinceAnUncleanStopIsRecoveredAfterALaterCleanOne) {
  // The checkpoint still says 6 (a run that never opened the log wrote it
  // back at its clean shutdown), but the files hold a batch past it with a
  // bad CRC: a clean start must not trust it.
  HandWrittenLog hand(1, 3);
  hand.write();
  open_log(hand.path, clean_at(9)).reset();  // leaves index files as a clean shutdown does
  ByteVec bytes = test::read_whole_file(hand.file(0));
  bytes[bytes.size() - 2] ^= 0x01;
  test::write_whole_file(hand.file(0), bytes);
  auto log = open_log(hand.path, clean_at(6));
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->log_end_offset(), 6);
  EXPECT_EQ(fs::file_size(hand.file(0)), hand.position(0, 2));
}

TEST(LogDamage, ACleanShutdownThatMatchesTheFilesIsTrusted) {
  HandWrittenLog hand(2, 3);
  hand.write();
  auto log = open_log(hand.path, clean_at(hand.end_offset()));
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->log_end_offset(), 18);
  EXPECT_FALSE(log->damage().has_value());
  EXPECT_EQ(first_offset_read(*log, 10), 9);
}

TEST(LogDamage, RetentionDeletingTheDamagedSegmentClearsTheDamage) {
  HandWrittenLog hand(2, 3);
  put_be(hand.segments[0][1], kLengthAt, 3, 4);
  hand.write();
  auto log = open_log(hand.path, clean_at(18));
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(read_outcome(*log, 3), LogReadResult::Outcome::corrupt);
  ASSERT_TRUE(log->damage().has_value());
  ASSERT_TRUE(log->delete_oldest_segment().ok());
  EXPECT_FALSE(log->damage().has_value());
  EXPECT_EQ(first_offset_read(*log, 9), 9);
}

}  // namespace
}  // namespace kb::storage
