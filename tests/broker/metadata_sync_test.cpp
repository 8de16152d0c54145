// Topic changes and the metadata log: a request's topics are appended to
// __cluster_metadata-0 together (one batch for up to Kafka's 10,000 records)
// and synced once, by the flusher's helper threads, never on the event loop.

#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "kb/broker/log_flusher.hpp"
#include "kb/cluster/broker_state.hpp"
#include "kb/cluster/startup.hpp"
#include "kb/cluster/topic_admin.hpp"
#include "kb/net/event_loop.hpp"
#include "kb/storage/metadata_log.hpp"
#include "kb/storage/partition_creator.hpp"
#include "kb/storage/record_batch.hpp"

namespace kb::broker {
namespace {

namespace fs = std::filesystem;

class MetadataSyncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "kb-metadata-sync-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  void load(cluster::BrokerState& state) {
    cluster::LogDirOptions options;
    options.log_dir = dir_;
    ASSERT_TRUE(cluster::load_log_dir(options, state).ok());
  }
  // The record batches in the metadata log's segments.
  size_t metadata_batches() const {
    size_t batches = 0;
    for (const auto& entry : fs::directory_iterator(dir_ / storage::kMetadataPartitionDir)) {
      if (entry.path().extension() != ".log") continue;
      std::ifstream in(entry.path(), std::ios::binary);
      std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                 std::istreambuf_iterator<char>());
      size_t at = 0;
      while (at < bytes.size()) {
        auto header =
            storage::RecordBatchHeader::parse(storage::Bytes(bytes.data() + at, bytes.size() - at));
        if (!header || header->batch_length <= 0) break;
        at += 12 + static_cast<size_t>(header->batch_length);
        ++batches;
      }
    }
    return batches;
  }
  static std::vector<cluster::NewTopic> new_topics(size_t count, std::string_view prefix) {
    std::vector<cluster::NewTopic> topics(count);
    for (size_t i = 0; i < count; ++i) {
      topics[i].name = std::string(prefix) + std::to_string(i);
      topics[i].partitions = 1;
    }
    return topics;
  }
  void run_until_done(LogFlusher& flusher, const cluster::FlushTicket& ticket) {
    flusher.add_progress_listener(this, [&] {
      if (flusher.done(ticket)) loop_.stop();
    });
    auto guard = loop_.run_after(std::chrono::seconds(20), [&] { loop_.stop(); });
    if (!flusher.done(ticket)) loop_.run();
    loop_.cancel(guard);
    flusher.remove_progress_listener(this);
    ASSERT_TRUE(flusher.done(ticket)) << "timed out";
  }

  fs::path dir_;
  net::EventLoop loop_;
};

TEST_F(MetadataSyncTest, ATwoThousandTopicRequestIsOneBatchAndOneSyncOffTheLoop) {
  {
    cluster::BrokerState state;
    load(state);
    // The directories are made on a helper thread nobody waits for here.
    state.logs->set_creator(std::make_unique<storage::PartitionCreator>(dir_, 1));
    LogFlusher flusher(loop_, state, 2);
    state.flusher = &flusher;

    const auto results = cluster::create_topics(state, new_topics(2000, "t"), false, true);
    for (const auto& r : results) ASSERT_EQ(r.error, cluster::AdminError::kNone) << r.message;
    EXPECT_EQ(state.topics.size(), 2000u);
    EXPECT_EQ(metadata_batches(), 1u) << "2,000 topics and 2,000 partitions: one batch";
    // Requested, not yet done: nothing was synced while the request ran.
    ASSERT_TRUE(state.metadata_sync.has_value());
    EXPECT_FALSE(flusher.done(*state.metadata_sync));
    EXPECT_EQ(state.metadata_log->flushed_offset(), 0);
    EXPECT_EQ(flusher.syncs_completed(), 0u);

    run_until_done(flusher, *state.metadata_sync);
    EXPECT_EQ(flusher.syncs_completed(), 1u) << "one sync for the whole request";
    EXPECT_EQ(state.metadata_log->flushed_offset(), state.metadata_log->log_end_offset());
    state.flusher = nullptr;
  }
  cluster::BrokerState again;
  load(again);
  EXPECT_EQ(again.topics.size(), 2000u);
  EXPECT_NE(again.topics.find("t1999"), nullptr);
}

TEST_F(MetadataSyncTest, AutoCreationPastKafkasBoundIsSplitIntoBatchesOfWholeTopics) {
  cluster::BrokerState state;
  load(state);
  state.logs->set_creator(std::make_unique<storage::PartitionCreator>(dir_, 1));
  LogFlusher flusher(loop_, state, 2);
  state.flusher = &flusher;
  // 6,000 topics of one partition: 12,000 records, more than one batch may
  // hold (Kafka's 10,000), so two batches; still one sync.
  const auto results = cluster::create_topics(state, new_topics(6000, "a"), false, false);
  for (const auto& r : results) ASSERT_EQ(r.error, cluster::AdminError::kNone) << r.message;
  EXPECT_EQ(metadata_batches(), 2u);
  run_until_done(flusher, *state.metadata_sync);
  EXPECT_EQ(flusher.syncs_completed(), 1u);
  state.flusher = nullptr;

  // CreateTopics is bounded as Kafka's controller bounds it: past 10,000
  // records, every topic is refused and nothing is written.
  const auto refused = cluster::create_topics(state, new_topics(6000, "b"), false, true);
  for (const auto& r : refused) EXPECT_EQ(r.error, cluster::AdminError::kPolicyViolation);
  EXPECT_EQ(state.topics.find("b0"), nullptr);
  EXPECT_EQ(metadata_batches(), 2u);
}

TEST_F(MetadataSyncTest, DeletingManyTopicsIsOneAppendAndOneSync) {
  cluster::BrokerState state;
  load(state);
  state.logs->set_creator(std::make_unique<storage::PartitionCreator>(dir_, 1));
  LogFlusher flusher(loop_, state, 2);
  state.flusher = &flusher;
  const auto created = cluster::create_topics(state, new_topics(500, "d"), false, true);
  run_until_done(flusher, *state.metadata_sync);
  std::vector<wire::Uuid> ids;
  for (const auto& r : created) ids.push_back(r.topic->id);
  const size_t batches = metadata_batches();
  const auto deleted = cluster::delete_topics(state, ids);
  for (const auto& r : deleted) EXPECT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(state.topics.size(), 0u);
  EXPECT_EQ(metadata_batches(), batches + 1);
  run_until_done(flusher, *state.metadata_sync);
  EXPECT_EQ(flusher.syncs_completed(), 2u);
  state.flusher = nullptr;
}

}  // namespace
}  // namespace kb::broker
