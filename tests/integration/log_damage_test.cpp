// Damaged partition logs against the real broker: damage is found (at
// start-up or by a Fetch), named in the log with its file and byte, and
// contained to its partition. Acknowledged records before it stay readable,
// other partitions and clients keep being served, and the broker stays up.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "kb/protocol/error_code.hpp"
#include "kb/protocol/messages/fetch.hpp"
#include "kb/protocol/messages/metadata.hpp"
#include "kb/protocol/messages/produce.hpp"
#include "kb/storage/offset_checkpoint.hpp"
#include "kb/storage/partition_log.hpp"
#include "kb/storage/record_batch.hpp"
#include "support/broker_process.hpp"
#include "support/kafka_client.hpp"
#include "support/kafka_log_dir_writer.hpp"
#include "support/log_dir_broker_test.hpp"

namespace kb::testing {
namespace {

namespace fs = std::filesystem;
using protocol::ErrorCode;
using protocol::FetchRequest;
using protocol::FetchResponse;
using protocol::MetadataRequest;
using protocol::MetadataResponse;
using protocol::ProduceRequest;
using protocol::ProduceResponse;
using Batch = std::vector<uint8_t>;

int16_t code(ErrorCode e) { return static_cast<int16_t>(e); }

void put_be(Batch& bytes, size_t at, uint64_t value, int width) {
  for (int i = width - 1; i >= 0; --i) {
    bytes[at + static_cast<size_t>(i)] = static_cast<uint8_t>(value & 0xff);
    value >>= 8;
  }
}

int64_t next_offset(const Batch& batch) {
  return storage::RecordBatchHeader::parse(batch)->next_offset();
}

class LogDamageTest : public LogDirBrokerTest {
 protected:
  LogDamageTest() : LogDirBrokerTest("kb-log-damage-") {}

  // Metadata v12 naming the topics, auto-creating them.
  void create(const std::vector<std::string>& topics) {
    for (const auto& t : metadata(topics).topics) EXPECT_EQ(t.error_code, 0);
  }
};

// An unclean stop before the first recovery-point checkpoint (an empty file):
// every partition is recovered whole, as Kafka recovers a partition missing
// from the checkpoint from offset 0. Damage in an older segment is cut there
// (logged with file and byte); the later segments, acknowledged too, are kept.
TEST_F(LogDamageTest, EmptyRecoveryCheckpointRecoversOlderSegmentsAfterAnUncleanStop) {
  const std::map<std::string, std::string> config{{"log.segment.bytes", "4096"},
                                                  {"log.flush.interval.messages", "1"}};
  start(config);
  create({"t", "other"});
  std::vector<Batch> acknowledged;
  for (int i = 0; i < 40; ++i) {
    Batch batch = value_batch(300, static_cast<char>('a' + i % 26));
    auto resp = produce("t", batch);
    ASSERT_EQ(resp.error_code, 0);
    acknowledged.push_back(as_stored(batch, resp.base_offset));
  }
  ASSERT_EQ(produce("other", value_batch(10, 'o')).error_code, 0);
  broker_->kill_hard();
  write_bytes(data() / storage::kRecoveryPointCheckpointFile, {});

  // Damage the length field of the third batch of the first segment.
  const fs::path first = partition_dir("t") / storage::segment_file_name(0, ".log");
  Batch bytes = read_bytes(first);
  const size_t damaged_at = acknowledged[0].size() + acknowledged[1].size();
  put_be(bytes, damaged_at + 8, 0x7ffffff0, 4);
  write_bytes(first, bytes);
  size_t batches_in_first = 0;
  for (size_t at = 0; at < bytes.size(); at += acknowledged[batches_in_first++].size()) {
  }
  ASSERT_GT(batches_in_first, 3u);

  start(config);
  int16_t stopped_with = -1;
  auto served = fetch_batches("t", 0, &stopped_with);  // partition logs open on first use
  EXPECT_EQ(stopped_with, 0);
  EXPECT_NE(broker_->log().find(first.string() +
                                ": batch length reaches past the end of the data at byte " +
                                std::to_string(damaged_at)),
            std::string::npos)
      << broker_->log();
  // The two batches before the damage, then the next segment on.
  std::vector<Batch> expected(acknowledged.begin(), acknowledged.begin() + 2);
  expected.insert(expected.end(), acknowledged.begin() + static_cast<long>(batches_in_first),
                  acknowledged.end());
  EXPECT_EQ(served, expected);
  EXPECT_EQ(fs::file_size(first), damaged_at);
  EXPECT_EQ(fetch_batches("other").size(), 1u);
  auto appended = produce("t", value_batch(10, 'n'));
  EXPECT_EQ(appended.error_code, 0);
  EXPECT_EQ(appended.base_offset, next_offset(acknowledged.back()));
}

// A bit flipped in a base offset (outside the CRC) makes that batch the end
// of the valid log: the log end offset does not jump to 134 million, and new
// records are written right after the batches before it.
TEST_F(LogDamageTest, DamagedBaseOffsetIsTheEndOfTheValidLog) {
  KafkaLogDirSpec spec;
  KafkaTopicSpec topic;
  topic.name = "b";
  topic.batches_per_partition = 12;
  topic.records_per_batch = 2;
  spec.topics.push_back(topic);
  WrittenLogDir written = write_kafka_log_dir(data(), spec);
  const auto& batches = written.partitions.at(0).batches;
  const fs::path log_file = partition_dir("b") / storage::segment_file_name(0, ".log");
  Batch bytes = read_bytes(log_file);
  const size_t last_at = bytes.size() - batches.back().size();
  bytes[last_at + 4] ^= 0x08;  // bit 27 of the base offset 22: 134,217,750
  write_bytes(log_file, bytes);

  start();
  std::vector<Batch> expected(batches.begin(), batches.end() - 1);
  EXPECT_EQ(fetch_batches("b"), expected);  // partition logs open on first use
  EXPECT_NE(broker_->log().find("batch offsets skip ahead of the previous batch's end at byte " +
                                std::to_string(last_at)),
            std::string::npos)
      << broker_->log();
  auto appended = produce("b", value_batch(10, 'n'));
  EXPECT_EQ(appended.error_code, 0);
  EXPECT_EQ(appended.base_offset, next_offset(expected.back()));
}

// A damaged length field that start-up did not read (a clean shutdown, so no
// scan) is found by a Fetch: reads from the damage answer CORRUPT_MESSAGE
// (Kafka's answer for a corrupt log; consumers stop with an error rather than
// retry KAFKA_STORAGE_ERROR forever), Produce to it answers
// KAFKA_STORAGE_ERROR (no consumer could reach what it would acknowledge), the
// log names file and byte, and other partitions are served. The next start
// recovers the segment and cuts the damage, and the partition takes writes
// again.
TEST_F(LogDamageTest, DamagedLengthFoundByFetchAnswersCorruptMessageAndStopsAppends) {
  KafkaLogDirSpec spec;
  spec.index_interval_bytes = 256;
  KafkaTopicSpec topic;
  topic.name = "d";
  topic.batches_per_partition = 30;
  topic.records_per_batch = 3;
  spec.topics.push_back(topic);
  KafkaTopicSpec other = topic;
  other.name = "healthy";
  spec.topics.push_back(other);
  WrittenLogDir written = write_kafka_log_dir(data(), spec);
  write_bytes(data() / storage::kCleanShutdownFile, {});
  const auto& batches = written.partitions.at(0).batches;
  ASSERT_EQ(written.partitions.at(0).topic, "d");
  const fs::path log_file = partition_dir("d") / storage::segment_file_name(0, ".log");
  ASSERT_GT(fs::file_size(partition_dir("d") / storage::segment_file_name(0, ".index")), 8u);
  Batch bytes = read_bytes(log_file);
  size_t damaged_at = 0;
  for (size_t i = 0; i < 10; ++i) damaged_at += batches[i].size();
  put_be(bytes, damaged_at + 8, 40, 4);  // smaller than a batch header
  write_bytes(log_file, bytes);

  start();
  int16_t stopped_with = 0;
  auto served = fetch_batches("d", 0, &stopped_with);
  EXPECT_EQ(stopped_with, code(ErrorCode::kCorruptMessage));
  EXPECT_EQ(served, std::vector<Batch>(batches.begin(), batches.begin() + 10));
  const int64_t damaged_offset = next_offset(batches[9]);
  EXPECT_EQ(fetch(("d"), damaged_offset + 5).error_code, code(ErrorCode::kCorruptMessage));
  EXPECT_NE(broker_->log().find(
                log_file.string() + ": batch length smaller than a batch header at byte " +
                std::to_string(damaged_at) + ": offsets from " + std::to_string(damaged_offset)),
            std::string::npos)
      << broker_->log();
  EXPECT_EQ(produce("d", value_batch(10, 'x')).error_code, code(ErrorCode::kKafkaStorageError));
  EXPECT_EQ(fetch_batches("healthy"), written.partitions.at(1).batches);
  EXPECT_EQ(produce("healthy", value_batch(10, 'h')).error_code, 0);

  // A clean stop keeps the recovery point before the damage: the next start
  // recovers the segment, cutting it at the damaged batch.
  ASSERT_EQ(broker_->stop().code, 0);
  start();
  EXPECT_EQ(fetch_batches("d", 0, &stopped_with), served);
  EXPECT_EQ(stopped_with, 0);
  EXPECT_NE(broker_->log().find("truncating"), std::string::npos) << broker_->log();
  auto appended = produce("d", value_batch(10, 'n'));
  EXPECT_EQ(appended.error_code, 0);
  EXPECT_EQ(appended.base_offset, damaged_offset);
}

}  // namespace
}  // namespace kb::testing
