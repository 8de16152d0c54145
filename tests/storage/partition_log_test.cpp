#include "kb/storage/partition_log.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "../support/kafka_log_dir_writer.hpp"
#include "kb/storage/record_batch.hpp"
#include "kb/storage/segment_index.hpp"
#include "storage_test_util.hpp"

namespace kb::storage {
namespace {

namespace fs = std::filesystem;
using test::ByteVec;

// A partition as Kafka would have written it: `batches` batches of 5 records.
struct KafkaPartition {
  test::TempDir dir;
  kb::testing::WrittenPartition partition;

  explicit KafkaPartition(int batches, uint64_t preallocated_index_bytes = 0) {
    kb::testing::KafkaLogDirSpec spec;
    spec.topics = {{"events", 1, batches, 5, {}, {}}};
    spec.preallocated_index_bytes = preallocated_index_bytes;
    spec.max_value_bytes = 120;
    partition = kb::testing::write_kafka_log_dir(dir.path(), spec).partitions.at(0);
  }
  fs::path file(std::string_view suffix) const {
    return partition.dir / segment_file_name(0, suffix);
  }
};

ByteVec read_all(PartitionLog& log, int64_t offset, uint64_t max_bytes,
                 std::optional<int64_t> max_offset = std::nullopt) {
  auto result = log.read(offset, max_bytes, max_offset);
  EXPECT_TRUE(result.ok()) << result.error().message;
  if (!result.ok()) return {};
  EXPECT_EQ(result->outcome, LogReadResult::Outcome::ok);
  auto bytes = result->read_bytes();
  EXPECT_TRUE(bytes.ok());
  return bytes.ok() ? *bytes : ByteVec{};
}

ByteVec concat(const std::vector<ByteVec>& parts, size_t from, size_t to) {
  ByteVec out;
  for (size_t i = from; i < to; ++i) out.insert(out.end(), parts[i].begin(), parts[i].end());
  return out;
}

TEST(PartitionLog, OpensAKafkaWrittenPartition) {
  KafkaPartition kafka(200);
  auto log = PartitionLog::open(kafka.partition.dir);
  ASSERT_TRUE(log.ok()) << log.error().message;
  EXPECT_EQ((*log)->log_start_offset(), 0);
  EXPECT_EQ((*log)->log_end_offset(), 1000);
  EXPECT_EQ((*log)->segment_count(), 1u);
  ASSERT_TRUE((*log)->topic_id().has_value());
  EXPECT_EQ(*(*log)->topic_id(), kafka.partition.topic_id);
  // The index was used, not rebuilt: the files are untouched.
  EXPECT_GT(fs::file_size(kafka.file(".index")), 0u);
}

TEST(PartitionLog, EveryOffsetFindsItsBatch) {
  KafkaPartition kafka(200);
  auto log = PartitionLog::open(kafka.partition.dir);
  ASSERT_TRUE(log.ok());
  for (int64_t offset = 0; offset < 1000; ++offset) {
    auto result = (*log)->read(offset, 1);
    ASSERT_TRUE(result.ok());
    ASSERT_EQ(result->first_batch_base_offset, offset - offset % 5) << offset;
    auto bytes = result->read_bytes();
    ASSERT_TRUE(bytes.ok());
    // max_bytes 1 is smaller than any batch: exactly the one batch, whole.
    ASSERT_EQ(*bytes, kafka.partition.batches[static_cast<size_t>(offset / 5)]) << offset;
  }
}

TEST(PartitionLog, ReadReturnsWholeBatchesWithinMaxBytes) {
  KafkaPartition kafka(50);
  auto log = PartitionLog::open(kafka.partition.dir);
  ASSERT_TRUE(log.ok());
  const auto& batches = kafka.partition.batches;
  // Room for exactly three batches (starting at batch 2), one byte short of four.
  const uint64_t three = batches[2].size() + batches[3].size() + batches[4].size();
  EXPECT_EQ(read_all(**log, 12, three + batches[5].size() - 1), concat(batches, 2, 5));
  EXPECT_EQ(read_all(**log, 10, three), concat(batches, 2, 5));
  // Everything.
  EXPECT_EQ(read_all(**log, 0, 1 << 30), concat(batches, 0, batches.size()));
  // A high watermark at 20 stops before batch 4.
  EXPECT_EQ(read_all(**log, 10, 1 << 30, 20), concat(batches, 2, 4));
  EXPECT_TRUE(read_all(**log, 20, 1 << 30, 20).empty());
}

TEST(PartitionLog, OffsetsOutsideTheLogAreOutOfRange) {
  KafkaPartition kafka(10);
  auto log = PartitionLog::open(kafka.partition.dir);
  ASSERT_TRUE(log.ok());
  auto at_end = (*log)->read(50, 1000);
  ASSERT_TRUE(at_end.ok());
  EXPECT_EQ(at_end->outcome, LogReadResult::Outcome::ok);
  EXPECT_TRUE(at_end->empty());
  EXPECT_EQ(at_end->log_end_offset, 50);
  for (int64_t bad : {int64_t{-1}, int64_t{51}, int64_t{1} << 40}) {
    auto result = (*log)->read(bad, 1000);
    ASSERT_TRUE(result.ok());
    EXPECT_EQ(result->outcome, LogReadResult::Outcome::offset_out_of_range) << bad;
  }
}

TEST(PartitionLog, PreallocatedIndexIsAccepted) {
  KafkaPartition kafka(200, 10 * 1024 * 1024);
  ASSERT_EQ(fs::file_size(kafka.file(".index")), 10u * 1024 * 1024);
  RecoveryHint clean;  // trusted files (without a hint the index is rebuilt)
  clean.clean_shutdown = true;
  auto log = PartitionLog::open(kafka.partition.dir, {}, clean);
  ASSERT_TRUE(log.ok()) << log.error().message;
  EXPECT_EQ((*log)->log_end_offset(), 1000);
  // Not rebuilt (a rebuild would have trimmed the padding).
  EXPECT_EQ(fs::file_size(kafka.file(".index")), 10u * 1024 * 1024);
  EXPECT_EQ(read_all(**log, 777, 1), kafka.partition.batches[155]);
}

// An empty partition Kafka left after a crash: its index files still
// preallocated (10 MiB of zeros each), never trimmed. Opening it reads
// neither (nothing to index), and appends are indexed from the start of the
// files, as Kafka fills preallocated space; a restart reads them back.
TEST(PartitionLog, AnEmptySegmentsPreallocatedIndexIsNotReadAndFilledFromItsStart) {
  KafkaPartition kafka(0, 10 * 1024 * 1024);
  ASSERT_EQ(fs::file_size(kafka.file(".index")), 10u * 1024 * 1024);
  PartitionLogOptions options;
  options.index_interval_bytes = 1;  // an entry per batch
  std::vector<ByteVec> batches;
  {
    auto log = PartitionLog::open(kafka.partition.dir, options);
    ASSERT_TRUE(log.ok()) << log.error().message;
    EXPECT_EQ((*log)->log_end_offset(), 0);
    for (int i = 0; i < 3; ++i) {
      batches.push_back(test::make_batch(0, 4, 1000 + i));
      ASSERT_TRUE((*log)->append(batches.back(), 0).ok());
    }
    ASSERT_TRUE((*log)->flush().ok());
  }
  RecoveryHint clean;
  clean.clean_shutdown = true;
  auto log = PartitionLog::open(kafka.partition.dir, options, clean);
  ASSERT_TRUE(log.ok()) << log.error().message;
  EXPECT_EQ((*log)->log_end_offset(), 12);
  // Each offset finds its batch (through the index entries written).
  for (int64_t offset : {9, 4, 0}) {
    const ByteVec read = read_all(**log, offset, 1);
    auto header = RecordBatchHeader::parse(read);
    ASSERT_TRUE(header) << offset;
    EXPECT_EQ(header->base_offset, offset / 4 * 4);
    EXPECT_EQ(read.size(), batches[static_cast<size_t>(offset / 4)].size());
  }
}

TEST(PartitionLog, RebuildsAMissingIndex) {
  KafkaPartition kafka(200);
  const ByteVec original_index = test::read_whole_file(kafka.file(".index"));
  const ByteVec original_time_index = test::read_whole_file(kafka.file(".timeindex"));
  ASSERT_FALSE(original_index.empty());
  fs::remove(kafka.file(".index"));
  fs::remove(kafka.file(".timeindex"));

  auto log = PartitionLog::open(kafka.partition.dir);
  ASSERT_TRUE(log.ok()) << log.error().message;
  EXPECT_EQ((*log)->log_end_offset(), 1000);
  EXPECT_EQ(read_all(**log, 503, 1), kafka.partition.batches[100]);
  // Rebuilt exactly as Kafka's recovery builds it.
  EXPECT_EQ(test::read_whole_file(kafka.file(".index")), original_index);
  EXPECT_EQ(test::read_whole_file(kafka.file(".timeindex")), original_time_index);
}

TEST(PartitionLog, RebuildsAGarbageIndex) {
  KafkaPartition kafka(200);
  const ByteVec original_index = test::read_whole_file(kafka.file(".index"));
  std::vector<ByteVec> garbage = {
      test::from_hex("01 02 03"),                             // not whole entries
      test::from_hex("00000010 00001000 00000005 00002000"),  // offsets go backwards
      test::from_hex("00000010 7fffffff"),                    // position past the log
      test::from_hex("00000010 00000011"),                    // not a batch boundary
      test::from_hex("00000000 00000000 00000010 00001000"),  // data after padding
  };
  for (const ByteVec& bad : garbage) {
    test::write_whole_file(kafka.file(".index"), bad);
    auto log = PartitionLog::open(kafka.partition.dir);
    ASSERT_TRUE(log.ok()) << log.error().message;
    EXPECT_EQ((*log)->log_end_offset(), 1000);
    for (int64_t offset : {0, 1, 499, 999})
      EXPECT_EQ(read_all(**log, offset, 1),
                kafka.partition.batches[static_cast<size_t>(offset / 5)]);
    EXPECT_EQ(test::read_whole_file(kafka.file(".index")), original_index);
  }
}

TEST(PartitionLog, TruncatesATornTailOnOpen) {
  KafkaPartition kafka(20);
  const ByteVec clean = test::read_whole_file(kafka.file(".log"));
  ByteVec torn = clean;
  ByteVec extra = test::make_batch(100, 3);
  torn.insert(torn.end(), extra.begin(), extra.end() - 7);
  test::write_whole_file(kafka.file(".log"), torn);

  auto log = PartitionLog::open(kafka.partition.dir);
  ASSERT_TRUE(log.ok());
  EXPECT_EQ((*log)->log_end_offset(), 100);
  EXPECT_EQ(test::read_whole_file(kafka.file(".log")), clean);

  // A corrupt last batch (bad CRC) goes too.
  ByteVec corrupt = clean;
  corrupt[corrupt.size() - 3] ^= 0x10;
  test::write_whole_file(kafka.file(".log"), corrupt);
  log = PartitionLog::open(kafka.partition.dir);
  ASSERT_TRUE(log.ok());
  EXPECT_EQ((*log)->log_end_offset(), 95);
  EXPECT_EQ(fs::file_size(kafka.file(".log")),
            clean.size() - kafka.partition.batches.back().size());
}

TEST(PartitionLog, AppendThenReadBackByteExact) {
  KafkaPartition kafka(4);
  auto log = PartitionLog::open(kafka.partition.dir);
  ASSERT_TRUE(log.ok());
  ByteVec batch = test::make_batch(0, 3);  // a producer sends base offset 0
  const ByteVec sent = batch;
  auto appended = (*log)->append(batch, 5);
  ASSERT_TRUE(appended.ok()) << appended.error().message;
  EXPECT_EQ(appended->first_offset, 20);
  EXPECT_EQ(appended->last_offset, 22);
  EXPECT_EQ((*log)->log_end_offset(), 23);

  EXPECT_EQ(batch, sent);  // the caller's bytes are left alone
  ByteVec back = read_all(**log, 21, 1 << 20);
  ASSERT_EQ(back.size(), sent.size());
  auto view = RecordBatchView::parse(back);  // CRC still valid
  ASSERT_TRUE(view);
  EXPECT_EQ(view->base_offset(), 20);
  EXPECT_EQ(view->partition_leader_epoch(), 5);
  // Apart from base offset (0-7) and leader epoch (12-15), identical.
  for (size_t i = 0; i < sent.size(); ++i)
    if (i >= 16 || (i >= 8 && i < 12)) {
      ASSERT_EQ(back[i], sent[i]) << "byte " << i;
    }

  // Still there after reopening.
  log = PartitionLog::open(kafka.partition.dir);
  ASSERT_TRUE(log.ok());
  EXPECT_EQ((*log)->log_end_offset(), 23);
  EXPECT_EQ(read_all(**log, 20, 1), back);
  ASSERT_TRUE((*log)->flush().ok());
}

// LogAppendTime: the stored header carries the append time, the timestamp
// type bit and a CRC over the edited header and the untouched records.
TEST(PartitionLog, AppendStampsLogAppendTime) {
  test::TempDir dir;
  PartitionLogOptions options;
  options.index_interval_bytes = 1;  // an index entry for every batch
  auto log = PartitionLog::create(dir.path(), "stamped", 0, Uuid{{7}}, options);
  ASSERT_TRUE(log.ok()) << log.error().message;
  ByteVec batches = test::make_batch(0, 2);
  const ByteVec second = test::make_batch(0, 3, 1600000000000);
  batches.insert(batches.end(), second.begin(), second.end());
  const ByteVec sent = batches;
  ASSERT_TRUE((*log)->append(batches, 3, 1800000000123).ok());
  EXPECT_EQ(batches, sent);
  const ByteVec stored = read_all(**log, 0, 1 << 20);
  auto split = split_batches(stored);  // CRCs checked; views `stored`
  ASSERT_EQ(split.batches.size(), 2u);
  ByteVec expected = test::make_batch(2, 3, 1600000000000);
  ASSERT_TRUE(set_partition_leader_epoch(expected, 3));
  ASSERT_TRUE(set_log_append_time(expected, 1800000000123));
  EXPECT_EQ(ByteVec(split.batches[1].bytes().begin(), split.batches[1].bytes().end()), expected);
  EXPECT_EQ(split.batches[0].max_timestamp(), 1800000000123);
  EXPECT_EQ(split.batches[0].timestamp_type(), TimestampType::log_append_time);
  // The time index knows the batches by their append time too: one entry
  // (timestamp, relative offset 1) for both, as their max timestamps are equal.
  // (Entries reach the file with the index sync or when the log closes.)
  log->reset();
  const ByteVec time_index =
      test::read_whole_file(dir.path() / "stamped-0" / "00000000000000000000.timeindex");
  ASSERT_EQ(time_index.size(), 12u);
  int64_t indexed_time = 0;
  for (size_t i = 0; i < 8; ++i) indexed_time = (indexed_time << 8) | time_index[i];
  EXPECT_EQ(indexed_time, 1800000000123);
}

TEST(PartitionLog, AppendsSeveralBatchesAtOnce) {
  test::TempDir dir;
  auto log = PartitionLog::create(dir.path(), "multi", 0, Uuid{{7}});
  ASSERT_TRUE(log.ok()) << log.error().message;
  ByteVec batches;
  std::vector<ByteVec> parts = {test::make_batch(0, 2), test::make_batch(0, 1),
                                test::make_batch(0, 4)};
  for (const auto& p : parts) batches.insert(batches.end(), p.begin(), p.end());
  auto appended = (*log)->append(batches);
  ASSERT_TRUE(appended.ok()) << appended.error().message;
  EXPECT_EQ(appended->first_offset, 0);
  EXPECT_EQ(appended->last_offset, 6);
  const ByteVec all = read_all(**log, 0, 1 << 20);
  auto split = split_batches(all);
  ASSERT_EQ(split.batches.size(), 3u);
  EXPECT_EQ(split.batches[0].base_offset(), 0);
  EXPECT_EQ(split.batches[1].base_offset(), 2);
  EXPECT_EQ(split.batches[2].base_offset(), 3);
  EXPECT_EQ(read_all(**log, 3, 1),
            ByteVec(split.batches[2].bytes().begin(), split.batches[2].bytes().end()));
}

// More batches than one pwritev takes (1,024 pieces, two per batch).
TEST(PartitionLog, AppendsMoreBatchesThanOneVectoredWriteTakes) {
  test::TempDir dir;
  auto log = PartitionLog::create(dir.path(), "many", 0, Uuid{{7}});
  ASSERT_TRUE(log.ok()) << log.error().message;
  ByteVec batches;
  ByteVec expected;
  for (int i = 0; i < 700; ++i) {
    const ByteVec sent = test::make_batch(0, 1, 1700000000000 + i);
    batches.insert(batches.end(), sent.begin(), sent.end());
    const ByteVec stored = test::make_batch(i, 1, 1700000000000 + i);
    expected.insert(expected.end(), stored.begin(), stored.end());
  }
  auto appended = (*log)->append(batches);
  ASSERT_TRUE(appended.ok()) << appended.error().message;
  EXPECT_EQ(appended->last_offset, 699);
  EXPECT_EQ(test::read_whole_file(dir.path() / "many-0" / "00000000000000000000.log"), expected);
}

TEST(PartitionLog, RejectsInvalidAppendsWithoutWriting) {
  test::TempDir dir;
  auto log = PartitionLog::create(dir.path(), "t", 0, Uuid{{7}});
  ASSERT_TRUE(log.ok());
  ByteVec good = test::make_batch(0, 2);
  ByteVec bad_crc = test::make_batch(0, 2);
  bad_crc.back() ^= 1;
  ByteVec both = good;
  both.insert(both.end(), bad_crc.begin(), bad_crc.end());
  EXPECT_FALSE((*log)->append(both).ok());
  ByteVec torn(good.begin(), good.end() - 1);
  EXPECT_FALSE((*log)->append(torn).ok());
  ByteVec empty;
  EXPECT_FALSE((*log)->append(empty).ok());
  EXPECT_EQ((*log)->log_end_offset(), 0);
  EXPECT_EQ(fs::file_size(dir.path() / "t-0" / "00000000000000000000.log"), 0u);
}

TEST(PartitionLog, RollsSegmentsAndReadsAcrossThem) {
  test::TempDir dir;
  PartitionLogOptions options;
  options.segment_bytes = 1000;
  options.index_interval_bytes = 300;
  auto log = PartitionLog::create(dir.path(), "roll", 2, Uuid{{1}}, options);
  ASSERT_TRUE(log.ok());
  std::vector<ByteVec> appended;
  for (int i = 0; i < 40; ++i) {
    ByteVec batch = test::make_batch(i * 2, 2, 1700000000000 + i * 10, 60);
    ASSERT_TRUE((*log)->append(batch).ok());
    appended.push_back(batch);
  }
  EXPECT_EQ((*log)->log_end_offset(), 80);
  const size_t per_segment = 1000 / appended[0].size();
  ASSERT_GT((*log)->segment_count(), 5u);
  auto bases = (*log)->segment_base_offsets();
  for (size_t i = 0; i < bases.size(); ++i)
    EXPECT_EQ(bases[i], static_cast<int64_t>(i * per_segment * 2));
  for (const auto& entry : fs::directory_iterator(dir.path() / "roll-2"))
    if (entry.path().extension() == ".log") {
      EXPECT_LE(fs::file_size(entry.path()), 1000u);
    }

  auto check_reads = [&](PartitionLog& l) {
    for (int64_t offset = 0; offset < 80; ++offset)
      ASSERT_EQ(read_all(l, offset, 1), appended[static_cast<size_t>(offset / 2)]) << offset;
    // A big read stops at the end of the segment holding the first batch.
    auto result = l.read(0, 1 << 20);
    ASSERT_TRUE(result.ok());
    EXPECT_EQ(result->length, per_segment * appended[0].size());
  };
  check_reads(**log);

  // Reopen; damage an old segment's index: it is rebuilt when first read.
  log->reset();
  test::write_whole_file(
      dir.path() / "roll-2" / segment_file_name(static_cast<int64_t>(per_segment * 2), ".index"),
      test::from_hex("ffffffff"));
  auto reopened = PartitionLog::open(dir.path() / "roll-2", options);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->log_end_offset(), 80);
  EXPECT_EQ((*reopened)->segment_count(), bases.size());
  check_reads(**reopened);

  // Appending continues in the last segment.
  ByteVec more = test::make_batch(0, 2, 1700000001000, 60);
  auto result = (*reopened)->append(more);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->first_offset, 80);
}

TEST(PartitionLog, AppendBuildsTheSameIndexesAsKafka) {
  KafkaPartition kafka(200);
  test::TempDir dir;
  auto log = PartitionLog::create(dir.path(), "copy", 0, Uuid{{3}});
  ASSERT_TRUE(log.ok());
  for (ByteVec batch : kafka.partition.batches) ASSERT_TRUE((*log)->append(batch).ok());
  log->reset();  // index entries reach the files with the index sync, or on closing
  const fs::path copy = dir.path() / "copy-0";
  EXPECT_EQ(test::read_whole_file(copy / "00000000000000000000.log"),
            test::read_whole_file(kafka.file(".log")));
  EXPECT_EQ(test::read_whole_file(copy / "00000000000000000000.index"),
            test::read_whole_file(kafka.file(".index")));
  // Kafka appends the final time index entry when the segment closes; before
  // that, the entries so far match.
  ByteVec ours = test::read_whole_file(copy / "00000000000000000000.timeindex");
  ByteVec theirs = test::read_whole_file(kafka.file(".timeindex"));
  ASSERT_LE(ours.size(), theirs.size());
  EXPECT_EQ(ours, ByteVec(theirs.begin(), theirs.begin() + static_cast<long>(ours.size())));
}

TEST(PartitionLog, FindsOffsetsByTimestamp) {
  KafkaPartition kafka(100);  // record i has timestamp first + i
  auto log = PartitionLog::open(kafka.partition.dir);
  ASSERT_TRUE(log.ok());
  const int64_t first = kafka.partition.records.front().timestamp;
  for (int64_t offset : {0, 1, 7, 250, 499}) {
    auto found = (*log)->offset_for_timestamp(first + offset);
    ASSERT_TRUE(found.ok());
    ASSERT_TRUE(found->has_value());
    EXPECT_EQ(**found, offset);
  }
  auto past = (*log)->offset_for_timestamp(first + 500);
  ASSERT_TRUE(past.ok());
  EXPECT_FALSE(past->has_value());
}

TEST(PartitionLog, CreateWritesKafkaFiles) {
  test::TempDir dir;
  Uuid id;
  ASSERT_TRUE(Uuid::from_base64("sc4Ml4brSXGQ5dCwuJ9Y8A", id));
  auto log = PartitionLog::create(dir.path(), "my-topic", 3, id);
  ASSERT_TRUE(log.ok());
  const fs::path p = dir.path() / "my-topic-3";
  EXPECT_EQ(test::read_whole_file(p / "partition.metadata"),
            test::text_bytes("version: 0\ntopic_id: sc4Ml4brSXGQ5dCwuJ9Y8A"));
  EXPECT_TRUE(fs::exists(p / "00000000000000000000.log"));
  EXPECT_TRUE(fs::exists(p / "00000000000000000000.index"));
  EXPECT_TRUE(fs::exists(p / "00000000000000000000.timeindex"));
  EXPECT_EQ((*log)->log_end_offset(), 0);
  auto empty = (*log)->read(0, 100);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  // Same topic again: opened as is. Another topic id: refused.
  EXPECT_TRUE(PartitionLog::create(dir.path(), "my-topic", 3, id).ok());
  EXPECT_FALSE(PartitionLog::create(dir.path(), "my-topic", 3, Uuid{{9}}).ok());
}

TEST(PartitionNames, DirectoryNamesAndMetadata) {
  EXPECT_EQ(partition_dir_name("a-b", 12), "a-b-12");
  auto parsed = parse_partition_dir_name("a-b-12");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->topic, "a-b");
  EXPECT_EQ(parsed->partition, 12);
  for (const char* bad :
       {"nodash", "-1", "t-", "t-x", "t-1.abc-delete", "t-0-future", "t-99999999999"})
    EXPECT_FALSE(parse_partition_dir_name(bad)) << bad;
  EXPECT_EQ(segment_file_name(368769, ".log"), "00000000000000368769.log");

  auto m = parse_partition_metadata("version: 0\ntopic_id: sc4Ml4brSXGQ5dCwuJ9Y8A\n");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->topic_id.to_base64(), "sc4Ml4brSXGQ5dCwuJ9Y8A");
  EXPECT_FALSE(parse_partition_metadata("version: 0\ntopic_id: nope").ok());
  EXPECT_FALSE(parse_partition_metadata("version: 0").ok());
  EXPECT_FALSE(parse_partition_metadata("garbage").ok());
}

// As Kafka's PartitionMetadataReadBuffer reads the file.
TEST(PartitionNames, MetadataIsReadAsKafkaReadsIt) {
  const std::string id = "sc4Ml4brSXGQ5dCwuJ9Y8A";
  for (const std::string& text : {
           "version: 0\ntopic_id: " + id,
           "version: 0\r\ntopic_id: " + id + "==\r\n",   // padded, CRLF
           "version: 0\rtopic_id: " + id + "\rignored",  // CR; later lines ignored
           "version:\t0\ntopic_id:  \t" + id,            // any blanks after the colon
           "v: 0\nid: " + id,                            // the names are not checked
           "version: 1\ntopic_id: " + id,                // a newer version is read
           "version: +0\ntopic_id: " + id,               // Integer.parseInt
       }) {
    auto m = parse_partition_metadata(text);
    ASSERT_TRUE(m.ok()) << text << ": " << m.error().message;
    EXPECT_EQ(m->topic_id.to_base64(), id) << text;
  }
  for (const std::string& text : {
           std::string(),
           "version:0\ntopic_id: " + id,  // ":" needs a blank after it
           "version: 0\ntopic_id:" + id,
           "version: -1\ntopic_id: " + id,                               // below 0
           "version: 0 \ntopic_id: " + id,                               // parseInt takes no blank
           "version: 0\ntopic_id: " + id + " ",                          // nor does Uuid.fromString
           std::string("version: 0\ntopic_id: AAAAAAAAAAAAAAAAAAAAAA"),  // the zero uuid
           "version: 0\ntopic_id: a: " + id,                             // three pieces
           "version: 0\n\ntopic_id: " + id,                              // the id must be on line 2
           "topic_id: " + id + "\nversion: 0",
       }) {
    EXPECT_FALSE(parse_partition_metadata(text).ok()) << text;
  }
  auto error = parse_partition_metadata("version: 0\ntopic_id:" + id);
  ASSERT_FALSE(error.ok());
  EXPECT_NE(error.error().message.find("line 2"), std::string::npos) << error.error().message;
}

TEST(SegmentIndex, ParsesAndLooksUp) {
  ByteVec bytes = test::from_hex("00000005 00001000 00000009 00002000 00000000 00000000");
  auto index = parse_offset_index(bytes, 100, 100000);
  ASSERT_TRUE(index);
  ASSERT_EQ(index->size(), 2u);
  EXPECT_EQ((*index)[0], (OffsetPosition{105, 0x1000}));
  EXPECT_FALSE(lookup_offset_index(*index, 104));
  EXPECT_EQ(lookup_offset_index(*index, 105)->position, 0x1000u);
  EXPECT_EQ(lookup_offset_index(*index, 108)->position, 0x1000u);
  EXPECT_EQ(lookup_offset_index(*index, 500)->position, 0x2000u);
  EXPECT_FALSE(parse_offset_index(bytes, 100, 0x2000));  // position at the end of the log

  ByteVec time = test::from_hex(
      "0000018bc8a6e000 00000003 0000018bc8a6e010 00000007 "
      "0000000000000000 00000000");
  auto time_index = parse_time_index(time, 0);
  ASSERT_TRUE(time_index);
  ASSERT_EQ(time_index->size(), 2u);
  EXPECT_EQ(lookup_time_index(*time_index, 0x18bc8a6e001)->offset, 7);
  EXPECT_FALSE(lookup_time_index(*time_index, 0x18bc8a6e011));
  EXPECT_FALSE(
      parse_time_index(test::from_hex("0000018bc8a6e010 00000003 0000018bc8a6e000 00000007"), 0));

  // Kafka's TimeIndex.maybeAppend writes {0, base offset} for records stamped
  // 0 (0 > the empty index's -1): twelve zero bytes, an entry when a real one
  // follows; only the zeros after the last real entry are preallocated space.
  auto zero_first =
      parse_time_index(test::from_hex("0000000000000000 00000000 0000018bc8a6e000 00000003 "
                                      "0000000000000000 00000000 0000000000000000 00000000"),
                       50);
  ASSERT_TRUE(zero_first);
  EXPECT_EQ(*zero_first, (std::vector<TimestampOffset>{{0, 50}, {0x18bc8a6e000, 53}}));
  // Never written by Kafka (position 0 is never indexed), but read as an entry
  // by it: the base offset at byte 0 is true of every segment.
  auto offset_zero_first = parse_offset_index(
      test::from_hex("00000000 00000000 00000005 00001000 00000000 00000000"), 100, 100000);
  ASSERT_TRUE(offset_zero_first);
  EXPECT_EQ(offset_zero_first->size(), 2u);
  // Zeros between real entries are not padding: the index is rebuilt.
  EXPECT_FALSE(parse_offset_index(
      test::from_hex("00000005 00001000 00000000 00000000 00000009 00002000"), 100, 100000));
  // A partial entry at the end (Kafka 4 ignores it): rebuilt here.
  EXPECT_FALSE(parse_offset_index(test::from_hex("00000005 00001000 00"), 100, 100000));

  uint8_t entry[kOffsetIndexEntrySize];
  encode_offset_index_entry({105, 0x1000}, 100, entry);
  EXPECT_EQ(ByteVec(std::begin(entry), std::end(entry)), test::from_hex("00000005 00001000"));
}

}  // namespace
}  // namespace kb::storage

namespace kb::storage {
namespace {

// Whatever the files hold, opening and reading never crash or read out of
// bounds (ASan), and the log end never points past valid batches.
TEST(PartitionLog, SurvivesGarbageFiles) {
  std::mt19937 rng(test::fuzz_seed(11));
  for (int round = 0; round < test::fuzz_rounds(60); ++round) {
    test::TempDir dir;
    const fs::path p = dir.path() / "g-0";
    fs::create_directories(p);
    ByteVec log;
    const int batches = static_cast<int>(rng() % 6);
    for (int b = 0; b < batches; ++b) {
      ByteVec batch = test::make_batch(b * 3, 3);
      log.insert(log.end(), batch.begin(), batch.end());
    }
    for (int f = 0; f < static_cast<int>(rng() % 4) && !log.empty(); ++f)
      log[rng() % log.size()] = static_cast<uint8_t>(rng());
    ByteVec tail(rng() % 80);
    for (auto& b : tail) b = static_cast<uint8_t>(rng());
    log.insert(log.end(), tail.begin(), tail.end());
    // Half the rounds without an index: then the whole segment is checked.
    const bool with_index = rng() % 2 == 0;
    ByteVec index(with_index ? 8 * (rng() % 4) : 0);
    for (auto& b : index) b = static_cast<uint8_t>(rng() % 3 == 0 ? rng() : 0);
    test::write_whole_file(p / "00000000000000000000.log", log);
    test::write_whole_file(p / "00000000000000000000.index", index);
    test::write_whole_file(p / "00000000000000000000.timeindex", index);

    auto opened = PartitionLog::open(p);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    PartitionLog& l = **opened;
    // A damaged base offset can move the end anywhere upwards (the CRC does
    // not cover it, in Kafka either), so only sample offsets.
    const int64_t end = l.log_end_offset();
    EXPECT_GE(end, 0);
    if (!with_index) {
      EXPECT_EQ(split_batches(test::read_whole_file(p / "00000000000000000000.log")).tail_error,
                BatchError::none);
    }
    for (int i = 0; i < 20; ++i) {
      const int64_t offset =
          i < 10 ? std::min<int64_t>(i, end) : end - std::min<int64_t>(end, i - 10);
      auto result = l.read(offset, static_cast<uint64_t>(rng() % 500));
      ASSERT_TRUE(result.ok()) << result.error().message;
      EXPECT_EQ(result->outcome, LogReadResult::Outcome::ok);
    }
    ByteVec more = test::make_batch(end, 2);  // as stored
    auto appended = l.append(more);
    ASSERT_TRUE(appended.ok()) << appended.error().message;
    EXPECT_EQ(appended->first_offset, end);
    // The appended batch is the last thing in the file.
    ByteVec file = test::read_whole_file(p / "00000000000000000000.log");
    ASSERT_GE(file.size(), more.size());
    EXPECT_EQ(ByteVec(file.end() - static_cast<long>(more.size()), file.end()), more);
  }
}

}  // namespace
}  // namespace kb::storage

namespace kb::storage {
namespace {

TEST(PartitionLog, OffsetsGoingBackwardsEndTheValidLog) {
  test::TempDir dir;
  const fs::path p = dir.path() / "o-0";
  fs::create_directories(p);
  ByteVec a = test::make_batch(0, 3), b = test::make_batch(3, 3), c = test::make_batch(1, 3);
  ByteVec log = a;
  log.insert(log.end(), b.begin(), b.end());
  log.insert(log.end(), c.begin(), c.end());  // overlaps b: offsets went backwards
  test::write_whole_file(p / "00000000000000000000.log", log);
  auto opened = PartitionLog::open(p);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ((*opened)->log_end_offset(), 6);
  EXPECT_EQ(fs::file_size(p / "00000000000000000000.log"), a.size() + b.size());
}

}  // namespace
}  // namespace kb::storage
