#include "kb/group/offsets_topic.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "kb/cluster/startup.hpp"
#include "kb/group/records.hpp"
#include "kb/storage/record_batch.hpp"

namespace kb::group {
namespace {

class OffsetsTopicTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "kb-offsets-topic-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    config_.offsets_partitions = 1;
    config_.offsets_segment_bytes = 1024;
    config_.initial_rebalance_delay_ms = 0;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void load(cluster::BrokerState& state) {
    cluster::LogDirOptions options;
    options.log_dir = dir_;
    ASSERT_TRUE(cluster::load_log_dir(options, state).ok());
  }

  std::filesystem::path dir_;
  GroupConfig config_;
};

// A flipped bit in one committed batch costs that batch only: the commits
// after it are loaded, the damaged file is left exactly as it was.
TEST_F(OffsetsTopicTest, DamagedBatchIsSkippedAndLaterCommitsAreLoaded) {
  config_.offsets_segment_bytes = 1 << 20;
  {
    cluster::BrokerState state;
    load(state);
    OffsetsTopic topic(state, config_);
    GroupCoordinator coordinator(config_, &topic);
    std::vector<int16_t> errors;
    for (int32_t p = 0; p < 10; ++p) {
      const std::vector<CommitPartition> parts{{"t", p, 100 + p, -1, std::nullopt}};
      ASSERT_EQ(coordinator.commit({"g", -1, "", std::nullopt, false}, parts, errors, 0), 0);
    }
    ASSERT_TRUE(cluster::close_log_dir(state).ok());
  }
  const auto segment = dir_ / "__consumer_offsets-0" / "00000000000000000000.log";
  std::ifstream in(segment, std::ios::binary);
  std::vector<uint8_t> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  in.close();
  // The fifth batch (partition 4's commit): one byte of its records flipped.
  storage::BatchIterator batches(bytes);
  size_t fifth = 0;
  for (int i = 0; i < 5; ++i) {
    fifth = batches.position();
    ASSERT_TRUE(batches.next());
  }
  bytes[fifth + storage::batch_layout::kRecords + 3] ^= 0x20;
  {
    std::ofstream out(segment, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
  }

  cluster::BrokerState state;
  load(state);
  OffsetsTopic topic(state, config_);
  GroupCoordinator reloaded(config_, &topic);
  ASSERT_TRUE(topic.load_into(reloaded).ok());
  const Group* g = reloaded.find("g");
  ASSERT_TRUE(g);
  for (int32_t p = 0; p < 10; ++p) {
    if (p == 4) {
      EXPECT_FALSE(g->offsets.contains({"t", 4}));
      continue;
    }
    ASSERT_TRUE(g->offsets.contains({"t", p})) << p;
    EXPECT_EQ(g->offsets.at({"t", p}).offset, 100 + p);
  }
  std::ifstream again(segment, std::ios::binary);
  std::vector<uint8_t> after{std::istreambuf_iterator<char>(again),
                             std::istreambuf_iterator<char>()};
  EXPECT_EQ(after, bytes) << "the damaged file is kept as it is";
}

}  // namespace
}  // namespace kb::group
