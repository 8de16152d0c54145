// Faults against the real broker: damaged or unexpected files in the log
// directory at start-up, a log directory that fills up, and topic names that
// must never reach the file system. In each case the broker keeps running,
// says what it skipped, and serves what is valid.

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "kb/protocol/error_code.hpp"
#include "kb/protocol/messages/fetch.hpp"
#include "kb/protocol/messages/metadata.hpp"
#include "kb/protocol/messages/produce.hpp"
#include "kb/storage/metadata_log.hpp"
#include "kb/storage/partition_log.hpp"
#include "kb/storage/record_batch.hpp"
#include "support/broker_process.hpp"
#include "support/kafka_client.hpp"
#include "support/kafka_log_dir_writer.hpp"
#include "support/log_dir_broker_test.hpp"
#include "support/small_tmpfs.hpp"

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

int16_t code(ErrorCode e) { return static_cast<int16_t>(e); }

KafkaTopicSpec topic_spec(std::string name, int32_t batches, int32_t records_per_batch = 2) {
  KafkaTopicSpec t;
  t.name = std::move(name);
  t.partitions = 1;
  t.batches_per_partition = batches;
  t.records_per_batch = records_per_batch;
  return t;
}

// Every file and directory under `root`, relative to it.
std::set<std::string> tree(const fs::path& root) {
  std::set<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root))
    out.insert(fs::relative(e.path(), root).string());
  return out;
}

class FaultsTest : public LogDirBrokerTest {
 protected:
  FaultsTest() : LogDirBrokerTest("kb-faults-") {}

  fs::path segment(const std::string& topic, std::string_view suffix) const {
    return data() / storage::partition_dir_name(topic, 0) / storage::segment_file_name(0, suffix);
  }
};

// Garbage over the middle of the active segment: start-up recovery truncates
// at the first damaged batch (as Kafka's recovery does), logs it, serves the
// batches before it, and new appends continue from there.
TEST_F(FaultsTest, SegmentWithGarbageInTheMiddleIsTruncatedThere) {
  KafkaLogDirSpec spec;
  spec.topics.push_back(topic_spec("t", 12));
  WrittenLogDir written = write_kafka_log_dir(data(), spec);
  const auto& batches = written.partitions.at(0).batches;
  size_t damaged_at = 0;
  for (size_t i = 0; i < 6; ++i) damaged_at += batches[i].size();
  std::vector<uint8_t> log = read_bytes(segment("t", ".log"));
  std::fill_n(log.begin() + static_cast<long>(damaged_at) + 20, 40, uint8_t{0xa5});
  write_bytes(segment("t", ".log"), log);

  start();
  auto served = fetch_batches("t");
  ASSERT_EQ(served.size(), 6u);
  for (size_t i = 0; i < 6; ++i) EXPECT_EQ(served[i], batches[i]) << "batch " << i;
  EXPECT_NE(broker_->log().find("truncating"), std::string::npos) << broker_->log();

  const int64_t end = storage::RecordBatchView::parse(batches[5])->next_offset();
  auto appended = produce("t", value_batch(10, 'n'));
  EXPECT_EQ(appended.error_code, 0);
  EXPECT_EQ(appended.base_offset, end);
  EXPECT_EQ(fetch_batches("t").size(), 7u);
}

// A missing offset index is rebuilt from the segment; every batch is served.
TEST_F(FaultsTest, MissingIndexIsRebuilt) {
  KafkaLogDirSpec spec;
  spec.index_interval_bytes = 256;
  spec.topics.push_back(topic_spec("u", 40, 5));
  WrittenLogDir written = write_kafka_log_dir(data(), spec);
  ASSERT_GT(fs::file_size(segment("u", ".index")), 0u);
  fs::remove(segment("u", ".index"));
  fs::remove(segment("u", ".timeindex"));

  start();
  EXPECT_EQ(fetch_batches("u"), written.partitions.at(0).batches);
  auto appended = produce("u", value_batch(10, 'n'));
  EXPECT_EQ(appended.error_code, 0);
  EXPECT_EQ(appended.base_offset, written.partitions.at(0).log_end_offset);
}

// A metadata batch with a bad CRC ends the replay there: the topics before it
// are served, the broker says why it stopped, and the damaged tail is cut so
// that topics created afterwards survive the next restart.
TEST_F(FaultsTest, MetadataLogWithBadCrcServesWhatCameBefore) {
  KafkaLogDirSpec spec;
  spec.topics.push_back(topic_spec("first", 1));
  spec.topics.push_back(topic_spec("second", 1));
  WrittenLogDir written = write_kafka_log_dir(data(), spec);
  const fs::path metadata_segment =
      data() / storage::kMetadataPartitionDir / storage::segment_file_name(0, ".log");
  std::vector<uint8_t> log = read_bytes(metadata_segment);
  // The last batch holds "second"; flip a byte among its records.
  const size_t last = log.size() - written.metadata_batches.back().size();
  log[last + storage::batch_layout::kRecords + 5] ^= 0xff;
  write_bytes(metadata_segment, log);

  start();
  EXPECT_EQ(topic_names(), (std::set<std::string>{"first"}));
  EXPECT_NE(broker_->log().find("replay stopped early"), std::string::npos) << broker_->log();
  EXPECT_EQ(fetch_batches("first"), written.partitions.at(0).batches);

  EXPECT_EQ(metadata({"third"}).topics.at(0).error_code, 0);
  start();
  EXPECT_EQ(topic_names(), (std::set<std::string>{"first", "third"}));
}

// Files the broker does not know are left alone and named in the log.
TEST_F(FaultsTest, UnknownFilesInTheLogDirectoryAreSkipped) {
  KafkaLogDirSpec spec;
  spec.topics.push_back(topic_spec("t", 3));
  WrittenLogDir written = write_kafka_log_dir(data(), spec);
  write_bytes(data() / "stray.bin", {1, 2, 3});
  fs::create_directories(data() / "notes");
  fs::create_directories(data() / "gone-0");  // a partition of no known topic
  write_bytes(data() / "t-0" / "junk.tmp", {4, 5, 6});

  start();
  EXPECT_EQ(fetch_batches("t"), written.partitions.at(0).batches);
  const std::string log = broker_->log();
  EXPECT_NE(log.find("skipping unknown entry stray.bin"), std::string::npos) << log;
  EXPECT_NE(log.find("skipping unknown entry notes"), std::string::npos) << log;
  EXPECT_NE(log.find("skipping gone-0"), std::string::npos) << log;
  EXPECT_TRUE(fs::exists(data() / "stray.bin"));
  EXPECT_TRUE(fs::exists(data() / "t-0" / "junk.tmp"));
}

// Kafka's checkpoint reader fails with an IOException on a count that does
// not match its lines; that takes Kafka's log directory, and with it the
// metadata log, offline: the broker refuses to start, says where in one line,
// and the directory is left exactly as it was (the clean shutdown marker too).
TEST_F(FaultsTest, AMalformedCheckpointStopsStartUpAndChangesNothing) {
  KafkaLogDirSpec spec;
  spec.topics.push_back(topic_spec("t", 3));
  write_kafka_log_dir(data(), spec);
  const fs::path checkpoint = data() / "recovery-point-offset-checkpoint";
  const std::vector<uint8_t> text = {'0', '\n', '3', '\n', 't', ' ', '0', ' ', '6', '\n'};
  write_bytes(checkpoint, text);
  write_bytes(data() / ".kafka_cleanshutdown", {'{', '}'});
  const std::set<std::string> before = tree(data());
  const std::vector<uint8_t> segment_before = read_bytes(segment("t", ".log"));

  auto [status, output] = run_broker_once({"--override", "listeners=PLAINTEXT://127.0.0.1:0",
                                           "--override", "log.dirs=" + data().string()},
                                          std::chrono::seconds(20));
  EXPECT_EQ(status.code, 2) << output;
  const std::string expected =
      checkpoint.string() + ": line 2: expected 3 entries as it says, found 1";
  const size_t at = output.find(expected);
  ASSERT_NE(at, std::string::npos) << output;
  const size_t line_start = output.rfind('\n', at);
  const size_t line_end = output.find('\n', at);
  EXPECT_EQ(output
                .substr(line_start == std::string::npos ? 0 : line_start + 1,
                        line_end - (line_start == std::string::npos ? 0 : line_start + 1))
                .rfind("log directory ", 0),
            0u)
      << "the refusal is the broker's start-up error line: " << output;
  // Only the directory's lock file is new (Kafka's .lock, taken before anything is read).
  std::set<std::string> after = tree(data());
  after.erase(".lock");
  EXPECT_EQ(after, before);
  EXPECT_EQ(read_bytes(checkpoint), text);
  EXPECT_EQ(read_bytes(segment("t", ".log")), segment_before);
}

// A partition number that is not a number: Kafka's LogManager catches the
// NumberFormatException, warns and recovers with no recovery points; so does
// this broker, and it serves the data.
TEST_F(FaultsTest, ABadNumberInACheckpointIsWarnedAboutAndTheLogsRecovered) {
  KafkaLogDirSpec spec;
  spec.topics.push_back(topic_spec("t", 3));
  WrittenLogDir written = write_kafka_log_dir(data(), spec);
  write_bytes(data() / "recovery-point-offset-checkpoint",
              {'0', '\n', '1', '\n', 't', ' ', 'x', ' ', '6', '\n'});
  start();
  EXPECT_EQ(fetch_batches("t"), written.partitions.at(0).batches);
  const std::string log = broker_->log();
  EXPECT_NE(log.find("recovery-point-offset-checkpoint: line 3: the partition 'x' is not a number"),
            std::string::npos)
      << log;
}

// Names that would escape or alias a directory are refused (Metadata with
// auto-create: INVALID_TOPIC_EXCEPTION; Produce: the topic does not exist)
// before anything is written.
TEST_F(FaultsTest, HostileTopicNamesTouchNoFile) {
  KafkaLogDirSpec spec;
  spec.topics.push_back(topic_spec("a_b", 0));
  write_kafka_log_dir(data(), spec);
  start();
  const std::set<std::string> before = tree(root_);
  const std::vector<std::string> hostile = {
      "../escape", "a/b",        "..", ".", std::string("nul\0byte", 8), std::string(250, 'x'),
      "a.b",  // collides with a_b
      "/abs",      std::string()};
  for (const auto& name : hostile) {
    auto resp = metadata({name});
    ASSERT_EQ(resp.topics.size(), 1u);
    EXPECT_EQ(resp.topics[0].error_code, code(ErrorCode::kInvalidTopicException)) << name;
    auto produced = produce(name, value_batch(10, 'x'));
    EXPECT_NE(produced.error_code, 0) << name;
  }
  // A name of 249 characters is the longest Kafka allows.
  EXPECT_EQ(metadata({std::string(249, 'y')}).topics.at(0).error_code, 0);
  std::set<std::string> after = tree(root_);
  std::set<std::string> added;
  std::set_difference(after.begin(), after.end(), before.begin(), before.end(),
                      std::inserter(added, added.end()));
  // Only the accepted topic's partition and the metadata log recording it.
  for (const auto& path : added)
    EXPECT_TRUE(path.starts_with("data/" + std::string(249, 'y') + "-0") ||
                path.starts_with("data/__cluster_metadata-0/"))
        << path;
  EXPECT_EQ(topic_names(), (std::set<std::string>{"a_b", std::string(249, 'y')}));
}

// A log directory on a small file system that fills up: Produce answers
// KAFKA_STORAGE_ERROR, nothing partial is acknowledged or served, Fetch keeps
// working, and Produce works again once space is freed. Needs root (mount).
TEST_F(FaultsTest, DiskFullAnswersStorageErrorAndRecovers) {
  SmallTmpfs disk("kb-disk-full-", "size=2m");
  if (!disk.unavailable().empty()) GTEST_SKIP() << disk.unavailable();
  const fs::path mnt = disk.path();
  // The log directory lives on the small file system.
  fs::create_directory_symlink(mnt, data());
  KafkaLogDirSpec spec;
  spec.topics.push_back(topic_spec("full", 0));
  write_kafka_log_dir(data(), spec);
  // Room to free later.
  write_bytes(mnt / "filler", std::vector<uint8_t>(512 * 1024, 0));

  start({{"log.segment.bytes", "1048576"}});
  std::vector<std::vector<uint8_t>> acknowledged;
  int16_t failure = 0;
  for (int i = 0; i < 200 && failure == 0; ++i) {
    auto batch = value_batch(48 * 1024 + static_cast<size_t>(i), static_cast<char>('a' + i % 26));
    auto resp = produce("full", batch);
    if (resp.error_code != 0) {
      failure = resp.error_code;
      break;
    }
    EXPECT_EQ(resp.base_offset, static_cast<int64_t>(acknowledged.size()));
    acknowledged.push_back(as_stored(batch, resp.base_offset));
  }
  ASSERT_EQ(failure, code(ErrorCode::kKafkaStorageError)) << broker_->log();
  ASSERT_FALSE(acknowledged.empty());
  EXPECT_NE(broker_->log().find("No space left on device"), std::string::npos) << broker_->log();
  // Still full: every further attempt fails the same way, and Fetch serves
  // exactly what was acknowledged.
  EXPECT_EQ(produce("full", value_batch(48 * 1024, 'z')).error_code,
            code(ErrorCode::kKafkaStorageError));
  EXPECT_EQ(fetch_batches("full"), acknowledged);

  fs::remove(mnt / "filler");
  auto batch = value_batch(1000, 'r');
  auto resp = produce("full", batch);
  ASSERT_EQ(resp.error_code, 0);
  EXPECT_EQ(resp.base_offset, static_cast<int64_t>(acknowledged.size()));
  acknowledged.push_back(as_stored(batch, resp.base_offset));
  EXPECT_EQ(fetch_batches("full"), acknowledged);
  broker_.reset();
}

}  // namespace
}  // namespace kb::testing
