// Damage to the broker's memory (the KRaft metadata log) against the real
// broker: snapshots keep what they hold, partition directories the damaged log
// no longer names are kept and never replaced by a topic of the same name,
// `kafka-broker check` names the damage, and `kafka-broker recover-topics`
// brings the lost topics back with their data.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
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
#include "kb/storage/metadata_snapshot.hpp"
#include "kb/storage/partition_log.hpp"
#include "kb/storage/record_batch.hpp"
#include "support/broker_process.hpp"
#include "support/kafka_client.hpp"
#include "support/log_dir_broker_test.hpp"
#include "support/shell_command.hpp"

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

// The batch as the broker stores it (leader epoch 0: it leads every partition).
std::vector<uint8_t> as_stored(std::vector<uint8_t> batch) {
  storage::set_partition_leader_epoch(batch, 0);
  return batch;
}

class MetadataDamageTest : public LogDirBrokerTest {
 protected:
  MetadataDamageTest() : LogDirBrokerTest("kb-metadata-damage-") {}

  fs::path metadata_dir() const { return data() / storage::kMetadataPartitionDir; }

  // Every metadata change is followed by a snapshot. The offsets below count the
  // feature levels a new directory starts with (transaction.version among them)
  // and two records a topic.
  void start() {
    LogDirBrokerTest::start({{"metadata.log.max.record.bytes.between.snapshots", "1"}});
  }
  void stop() {
    ASSERT_EQ(broker_->stop().code, 0);
    broker_.reset();
  }

  // Runs the broker binary's subcommand on a configuration naming data().
  CommandResult tool(const std::string& command) {
    const fs::path config = root_ / "tool.properties";
    write_text_file(config, "node.id=1\nlog.dirs=" + data().string() + "\n");
    return run_command(std::string(KB_BROKER_BINARY) + " " + command + " " + quoted(config));
  }

  // The records bytes of partition 0 from offset 0.
  std::vector<uint8_t> fetch_all(const std::string& topic) {
    FetchAnswer answer = fetch(topic, 0);
    EXPECT_EQ(answer.error_code, 0) << topic;
    return answer.records;
  }
};

// Topics a and b are in a snapshot; c only in the log's last batch, which a
// flipped bit damages. The broker serves a and b, keeps c's directory (its
// data intact) and refuses to create c over it; check names both problems;
// recover-topics brings c back with its data.
TEST_F(MetadataDamageTest, FlippedBitAfterTheSnapshotKeepsOrphanedTopicsAndRecoversThem) {
  start();
  const std::vector<uint8_t> a_batch = value_batch("in a");
  const std::vector<uint8_t> c_batch = value_batch("acknowledged in c");
  ASSERT_EQ(metadata({"a", "b"}).topics.at(1).error_code, 0);
  ASSERT_EQ(produce("a", a_batch).error_code, 0);
  ASSERT_TRUE(broker_->wait_for_log(std::regex("wrote snapshot 00000000000000000007-")).size());
  ASSERT_EQ(metadata({"c"}).topics.at(0).error_code, 0);
  ASSERT_EQ(produce("c", c_batch).error_code, 0);
  ASSERT_TRUE(broker_->wait_for_log(std::regex("wrote snapshot 00000000000000000009-")).size());
  stop();

  // As if the broker had stopped before the snapshot holding c.
  const auto snapshots = storage::list_metadata_snapshots(metadata_dir());
  ASSERT_FALSE(snapshots.empty());
  ASSERT_EQ(snapshots.back().id.end_offset, 9);
  fs::remove(snapshots.back().path);
  const fs::path segment = metadata_dir() / storage::segment_file_name(0, ".log");
  std::vector<uint8_t> log = read_bytes(segment);
  log[log.size() - 10] ^= 0x04;  // inside the last batch: c's records
  write_bytes(segment, log);
  const std::vector<uint8_t> c_segment_before =
      read_bytes(data() / "c-0" / "00000000000000000000.log");
  ASSERT_FALSE(c_segment_before.empty());

  CommandResult checked = tool("check");
  EXPECT_EQ(WEXITSTATUS(checked.status), 1) << checked.output;
  EXPECT_NE(checked.output.find("00000000000000000000.log at byte"), std::string::npos)
      << checked.output;
  EXPECT_NE(checked.output.find("CRC"), std::string::npos) << checked.output;
  EXPECT_NE(checked.output.find("c-{0}"), std::string::npos) << checked.output;
  EXPECT_EQ(read_bytes(segment), log) << "check changed the metadata log";

  start();
  EXPECT_EQ(topic_names(), (std::set<std::string>{"a", "b"}));
  EXPECT_EQ(fetch_all("a"), as_stored(a_batch));
  const std::string broker_log = broker_->log();
  EXPECT_NE(broker_log.find("hold topic 'c'"), std::string::npos) << broker_log;
  EXPECT_NE(broker_log.find("recover-topics"), std::string::npos) << broker_log;
  // The damaged bytes are kept beside the log.
  bool preserved = false;
  for (const auto& e : fs::directory_iterator(metadata_dir()))
    preserved |= e.path().filename().string().ends_with(storage::kDamagedSuffix);
  EXPECT_TRUE(preserved);

  // Auto-creation and CreateTopics of c are refused; its directory is untouched.
  auto created = metadata({"c"});
  EXPECT_NE(created.topics.at(0).error_code, 0);
  EXPECT_EQ(read_bytes(data() / "c-0" / "00000000000000000000.log"), c_segment_before);
  EXPECT_FALSE(fs::exists(data() / "c-0" / "00000000000000000000.log.stray"));
  for (const auto& e : fs::directory_iterator(data()))
    EXPECT_EQ(e.path().filename().string().find("stray"), std::string::npos) << e.path();
  // Other topics are still created.
  EXPECT_EQ(metadata({"d"}).topics.at(0).error_code, 0);
  stop();

  CommandResult recovered = tool("recover-topics");
  EXPECT_EQ(WEXITSTATUS(recovered.status), 0) << recovered.output;
  EXPECT_NE(recovered.output.find("recovered: c"), std::string::npos) << recovered.output;

  start();
  EXPECT_EQ(topic_names(), (std::set<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(fetch_all("c"), as_stored(c_batch));
  stop();
  CommandResult clean = tool("check");
  EXPECT_EQ(WEXITSTATUS(clean.status), 0) << clean.output;
}

// A damaged newest snapshot is passed over for the one before it and the log
// after that one; nothing is lost.
TEST_F(MetadataDamageTest, DamagedNewestSnapshotFallsBackToTheOneBefore) {
  start();
  ASSERT_EQ(metadata({"x"}).topics.at(0).error_code, 0);
  ASSERT_EQ(metadata({"y"}).topics.at(0).error_code, 0);
  ASSERT_TRUE(broker_->wait_for_log(std::regex("wrote snapshot 00000000000000000007-")).size());
  stop();
  const auto snapshots = storage::list_metadata_snapshots(metadata_dir());
  ASSERT_EQ(snapshots.size(), 2u);
  fs::permissions(snapshots.back().path, fs::perms::owner_write, fs::perm_options::add);
  std::vector<uint8_t> bytes = read_bytes(snapshots.back().path);
  bytes[bytes.size() / 2] ^= 0x10;
  write_bytes(snapshots.back().path, bytes);

  CommandResult checked = tool("check");
  EXPECT_EQ(WEXITSTATUS(checked.status), 1) << checked.output;
  EXPECT_NE(checked.output.find("metadata snapshot " + snapshots.back().path.string()),
            std::string::npos)
      << checked.output;

  start();
  EXPECT_EQ(topic_names(), (std::set<std::string>{"x", "y"}));
  EXPECT_NE(broker_->log().find("passing over damaged snapshot"), std::string::npos);
}

// Snapshots are Kafka's files: named by end offset and epoch, a SnapshotHeader
// first and a SnapshotFooter last, and a start-up from them alone (the log
// segments gone) serves every topic and continues the log after them.
TEST_F(MetadataDamageTest, StartsFromTheSnapshotAloneAndContinuesAfterIt) {
  start();
  ASSERT_EQ(metadata({"p", "q"}).topics.at(1).error_code, 0);
  ASSERT_TRUE(broker_->wait_for_log(std::regex("wrote snapshot 00000000000000000007-")).size())
      << broker_->log();
  stop();
  for (const auto& e : fs::directory_iterator(metadata_dir()))
    if (e.path().extension() == ".log" || e.path().extension() == ".index" ||
        e.path().extension() == ".timeindex")
      fs::remove(e.path());

  start();
  EXPECT_EQ(topic_names(), (std::set<std::string>{"p", "q"}));
  ASSERT_EQ(metadata({"r"}).topics.at(0).error_code, 0);
  stop();
  EXPECT_TRUE(fs::exists(metadata_dir() / storage::segment_file_name(7, ".log")));
  start();
  EXPECT_EQ(topic_names(), (std::set<std::string>{"p", "q", "r"}));
}

}  // namespace
}  // namespace kb::testing
