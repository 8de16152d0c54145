// New partitions' directories: created here and now without a creator, on its
// helper threads with one (the partition logs then treat a pending partition
// as one without data, and take it over when it is written to or deleted), and
// what is missing created at start-up.

#include <poll.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>

#include "kb/cluster/topic_admin.hpp"
#include "kb/storage/partition_creator.hpp"
#include "kb/storage/record_batch.hpp"

#include "cluster/log_dir_fixture.hpp"

namespace kb::cluster {
namespace {

namespace fs = std::filesystem;
using PartitionDirsTest = LogDirTest;

bool complete(const fs::path& log_dir, std::string_view topic, int32_t partition) {
  const fs::path dir = log_dir / storage::partition_dir_name(topic, partition);
  return fs::exists(dir / storage::kPartitionMetadataFile) &&
         fs::exists(dir / storage::segment_file_name(0, ".log"));
}

size_t complete_count(const fs::path& log_dir, std::string_view topic, int32_t partitions) {
  size_t n = 0;
  for (int32_t p = 0; p < partitions; ++p) n += complete(log_dir, topic, p) ? 1 : 0;
  return n;
}

// The loop's side: waits for the eventfd until the ticket is done.
void wait_done(storage::PartitionCreator& creator, uint64_t ticket) {
  while (!creator.done(ticket)) {
    pollfd p{creator.completion_fd(), POLLIN, 0};
    ASSERT_EQ(::poll(&p, 1, 60000), 1);
    creator.take_completed();
  }
}

std::vector<uint8_t> one_record() {
  storage::RecordBatchBuilder builder;
  const std::string value = "v";
  builder.add_record(std::nullopt,
                     storage::Bytes(reinterpret_cast<const uint8_t*>(value.data()), value.size()),
                     1700000000000);
  return builder.build();
}

TEST_F(PartitionDirsTest, WithoutACreatorTheDirectoriesExistOnReturn) {
  BrokerState state;
  load(state);
  auto created = create_topic(state, "now", 20);
  ASSERT_EQ(created.error, AdminError::kNone) << created.message;
  EXPECT_EQ(created.dirs_ticket, 0u);
  EXPECT_EQ(complete_count(dir_, "now", 20), 20u);
  auto grown = create_partitions(state, "now", 25, std::nullopt, false);
  ASSERT_TRUE(grown.ok());
  EXPECT_EQ(grown.dirs_ticket, 0u);
  EXPECT_EQ(complete_count(dir_, "now", 25), 25u);
}

TEST_F(PartitionDirsTest, WithACreatorTheyAreMadeOnItsThreads) {
  BrokerState state;
  load(state);
  state.logs->set_creator(std::make_unique<storage::PartitionCreator>(dir_, 2));
  storage::PartitionCreator& creator = *state.logs->creator();
  auto created = create_topic(state, "later", 400);
  ASSERT_EQ(created.error, AdminError::kNone) << created.message;
  ASSERT_NE(created.dirs_ticket, 0u);
  const wire::Uuid id = created.topic->id;

  // Pending: reads as a partition without data; a write takes it over.
  if (creator.pending("later", 399)) {
    auto found = state.logs->find("later", 399);
    ASSERT_TRUE(found.ok());
    EXPECT_EQ(*found, nullptr);
  }
  auto log = state.logs->find_or_create("later", 399, id);
  ASSERT_TRUE(log.ok()) << log.error().message;
  EXPECT_FALSE(creator.pending("later", 399));
  ASSERT_TRUE((*log)->append(one_record()).ok());
  EXPECT_EQ((*log)->topic_id(), id);

  wait_done(creator, created.dirs_ticket);
  EXPECT_EQ(complete_count(dir_, "later", 400), 400u);
  // The write taken over is still there.
  auto again = state.logs->find("later", 399);
  ASSERT_TRUE(again.ok());
  ASSERT_NE(*again, nullptr);
  EXPECT_EQ((*again)->log_end_offset(), 1);

  auto grown = create_partitions(state, "later", 450, std::nullopt, false);
  ASSERT_TRUE(grown.ok());
  ASSERT_NE(grown.dirs_ticket, 0u);
  wait_done(creator, grown.dirs_ticket);
  EXPECT_EQ(complete_count(dir_, "later", 450), 450u);
}

TEST_F(PartitionDirsTest, DeletingATopicWhileItsDirectoriesAreMadeLeavesNone) {
  BrokerState state;
  load(state);
  state.logs->set_creator(std::make_unique<storage::PartitionCreator>(dir_, 2));
  storage::PartitionCreator& creator = *state.logs->creator();
  auto created = create_topic(state, "brief", 400);
  ASSERT_EQ(created.error, AdminError::kNone);
  ASSERT_TRUE(delete_topic(state, created.topic->id).ok());
  EXPECT_EQ(creator.pending_count(), 0u);
  wait_done(creator, created.dirs_ticket);
  creator.wait_idle();  // the renamed directories are removed on its threads
  for (const auto& entry : fs::directory_iterator(dir_))
    EXPECT_FALSE(entry.path().filename().string().starts_with("brief-")) << entry.path();
}

TEST_F(PartitionDirsTest, MissingDirectoriesAreCreatedAtStartUp) {
  {
    BrokerState state;
    load(state);
    ASSERT_EQ(create_topic(state, "t", 6).error, AdminError::kNone);
    auto log = state.logs->find("t", 5);
    ASSERT_TRUE(log.ok());
    ASSERT_TRUE((*log)->append(one_record()).ok());
    ASSERT_TRUE(close_log_dir(state).ok());
  }
  // A crash during the creation: two never made, one without its files.
  fs::remove_all(dir_ / "t-0");
  fs::remove_all(dir_ / "t-1");
  fs::remove(dir_ / "t-2" / storage::kPartitionMetadataFile);
  fs::remove(dir_ / "t-2" / storage::segment_file_name(0, ".log"));
  {
    BrokerState state;
    load(state);
    EXPECT_EQ(create_missing_partition_dirs(state), 2u);
    EXPECT_EQ(complete_count(dir_, "t", 6), 6u);
    auto log = state.logs->find("t", 5);
    ASSERT_TRUE(log.ok());
    EXPECT_EQ((*log)->log_end_offset(), 1);
    EXPECT_EQ(create_missing_partition_dirs(state), 0u);
  }
  // With a creator, on its threads.
  fs::remove_all(dir_ / "t-3");
  BrokerState state;
  load(state);
  state.logs->set_creator(std::make_unique<storage::PartitionCreator>(dir_, 1));
  EXPECT_EQ(create_missing_partition_dirs(state), 1u);
  state.logs->creator()->wait_idle();
  EXPECT_EQ(complete_count(dir_, "t", 6), 6u);
}

}  // namespace
}  // namespace kb::cluster
