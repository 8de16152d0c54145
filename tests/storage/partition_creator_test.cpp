// PartitionLog::create_files (what a new partition starts with on disk) and
// PartitionCreator (the same on helper threads, one log directory sync per
// batch, partitions handed back to the loop on demand).

#include "kb/storage/partition_creator.hpp"

#include <poll.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "kb/storage/offset_checkpoint.hpp"
#include "kb/storage/partition_log.hpp"
#include "storage/storage_test_util.hpp"

namespace kb::storage {
namespace {

using kb::wire::Uuid;
using test::TempDir;
namespace fs = std::filesystem;

bool complete(const fs::path& log_dir, std::string_view topic, int32_t partition) {
  const fs::path dir = log_dir / partition_dir_name(topic, partition);
  return fs::exists(dir / kPartitionMetadataFile) &&
         fs::exists(dir / segment_file_name(0, ".log")) &&
         fs::exists(dir / segment_file_name(0, ".index")) &&
         fs::exists(dir / segment_file_name(0, ".timeindex"));
}

// Waits on the eventfd, as the loop does, until `ticket`'s batch completed.
PartitionCreator::Completion wait_for(PartitionCreator& creator, uint64_t ticket) {
  for (;;) {
    pollfd p{creator.completion_fd(), POLLIN, 0};
    if (::poll(&p, 1, 60000) != 1) throw std::runtime_error("no completion");
    for (auto& c : creator.take_completed())
      if (c.ticket == ticket) return c;
  }
}

std::vector<NewPartition> partitions_of(std::string topic, const Uuid& id, int32_t count) {
  std::vector<NewPartition> out;
  for (int32_t p = 0; p < count; ++p) out.push_back({topic, p, id});
  return out;
}

TEST(PartitionCreateFiles, WritesWhatANewReplicaStartsWithAndOpens) {
  TempDir dir;
  const Uuid id{{4, 2}};
  ASSERT_TRUE(PartitionLog::create_files(dir.path(), "t", 5, id).ok());
  EXPECT_TRUE(complete(dir.path(), "t", 5));
  EXPECT_FALSE(fs::exists(dir.path() / "t-5" / "partition.metadata.tmp"));
  auto log = PartitionLog::open(dir.path() / "t-5");
  ASSERT_TRUE(log.ok()) << log.error().message;
  EXPECT_EQ((*log)->topic_id(), id);
  EXPECT_EQ((*log)->segment_count(), 1u);
  EXPECT_EQ((*log)->log_end_offset(), 0);
}

std::string file_text(const fs::path& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Kafka reads a partition's leader epochs from leader-epoch-checkpoint (after
// a clean shutdown it does not scan the batches for them; ListOffsets answers
// the earliest offset's epoch from it): a new partition's says epoch 0 starts
// at offset 0, as Kafka's leader writes it at creation.
TEST(PartitionCreateFiles, ANewPartitionStartsItsLeaderEpochCheckpointAsKafkasLeaderDoes) {
  TempDir dir;
  ASSERT_TRUE(PartitionLog::create_files(dir.path(), "t", 0, Uuid{{4}}).ok());
  EXPECT_EQ(file_text(dir.path() / "t-0" / kLeaderEpochCheckpointFile), "0\n1\n0 0\n");
  EXPECT_FALSE(fs::exists(dir.path() / "t-0" / "leader-epoch-checkpoint.tmp"));
  // Kafka rebuilds the metadata log's epochs from its batches at every start.
  ASSERT_TRUE(PartitionLog::create_files(dir.path(), "__cluster_metadata", 0, Uuid{{0, 1}}).ok());
  EXPECT_FALSE(fs::exists(dir.path() / "__cluster_metadata-0" / kLeaderEpochCheckpointFile));
}

TEST(PartitionCreateFiles, ADirectoryWithSegmentsKeepsItsEpochsAsTheyAre) {
  TempDir dir;
  const Uuid id{{4, 2}};
  {
    auto log = PartitionLog::create(dir.path(), "t", 0, id);
    ASSERT_TRUE(log.ok());
    ASSERT_TRUE((*log)->append(test::make_batch(0, 3), 7).ok());
    ASSERT_TRUE((*log)->flush().ok());
  }
  fs::remove(dir.path() / "t-0" / kLeaderEpochCheckpointFile);
  ASSERT_TRUE(PartitionLog::create_files(dir.path(), "t", 0, id).ok());
  // Epoch 0 from offset 0 would be wrong for batches of epoch 7: no file.
  EXPECT_FALSE(fs::exists(dir.path() / "t-0" / kLeaderEpochCheckpointFile));
}

TEST(PartitionCreateFiles, CompletesAnInterruptedCreationAndKeepsData) {
  TempDir dir;
  const Uuid id{{4, 2}};
  {
    auto log = PartitionLog::create(dir.path(), "t", 0, id);
    ASSERT_TRUE(log.ok());
    ASSERT_TRUE((*log)->append(test::make_batch(0, 3)).ok());
    ASSERT_TRUE((*log)->flush().ok());
  }
  // A crash before the rename: a temporary file, no partition.metadata.
  fs::rename(dir.path() / "t-0" / kPartitionMetadataFile,
             dir.path() / "t-0" / "partition.metadata.tmp");
  ASSERT_TRUE(PartitionLog::create_files(dir.path(), "t", 0, id).ok());
  auto log = PartitionLog::open(dir.path() / "t-0");
  ASSERT_TRUE(log.ok());
  EXPECT_EQ((*log)->topic_id(), id);
  EXPECT_EQ((*log)->log_end_offset(), 3);  // the segment was kept as it was
  // Another topic's directory is refused, not taken over.
  EXPECT_FALSE(PartitionLog::create_files(dir.path(), "t", 0, Uuid{{9}}).ok());
}

TEST(PartitionCreateFiles, ReportsWhatCannotBeCreated) {
  TempDir dir;
  std::ofstream(dir.path() / "t-0") << "a file where the directory goes";
  auto created = PartitionLog::create_files(dir.path(), "t", 0, Uuid{{1}});
  ASSERT_FALSE(created.ok());
  EXPECT_NE(created.error().message.find("t-0"), std::string::npos);
}

TEST(PartitionCreator, CreatesABatchOffTheCallersThread) {
  TempDir dir;
  PartitionCreator creator(dir.path(), 4);
  const Uuid id{{3}};
  const uint64_t ticket = creator.submit(partitions_of("many", id, 200));
  EXPECT_GT(ticket, 0u);
  EXPECT_FALSE(creator.done(ticket));
  auto completion = wait_for(creator, ticket);
  EXPECT_TRUE(completion.status.ok());
  EXPECT_EQ(completion.created, 200u);
  EXPECT_EQ(completion.failed, 0u);
  EXPECT_TRUE(creator.done(ticket));
  EXPECT_EQ(creator.pending_count(), 0u);
  for (int32_t p = 0; p < 200; ++p) EXPECT_TRUE(complete(dir.path(), "many", p)) << p;
  // An empty batch completes too.
  const uint64_t empty = creator.submit({});
  EXPECT_EQ(wait_for(creator, empty).created, 0u);
}

TEST(PartitionCreator, AFailedPartitionIsReportedAndTheOthersAreCreated) {
  TempDir dir;
  std::ofstream(dir.path() / "t-1") << "in the way";
  PartitionCreator creator(dir.path(), 2);
  const uint64_t ticket = creator.submit(partitions_of("t", Uuid{{5}}, 3));
  auto completion = wait_for(creator, ticket);
  ASSERT_FALSE(completion.status.ok());
  EXPECT_NE(completion.status.error().message.find("t-1"), std::string::npos);
  EXPECT_EQ(completion.failed, 1u);
  EXPECT_TRUE(complete(dir.path(), "t", 0));
  EXPECT_TRUE(complete(dir.path(), "t", 2));
}

TEST(PartitionCreator, AClaimedPartitionIsNeverTouchedAfterwards) {
  TempDir dir;
  PartitionCreator creator(dir.path(), 1);
  const uint64_t ticket = creator.submit(partitions_of("t", Uuid{{6}}, 300));
  EXPECT_TRUE(creator.pending("t", 299));
  EXPECT_FALSE(creator.pending("t", 300));
  // Waiting in the queue (one thread, 299 before it) or being created: either
  // way, once claim() returns the partition is the caller's.
  creator.claim("t", 299);
  EXPECT_FALSE(creator.pending("t", 299));
  const bool created_by_thread = complete(dir.path(), "t", 299);
  fs::remove_all(dir.path() / "t-299");
  auto completion = wait_for(creator, ticket);
  EXPECT_TRUE(completion.status.ok());
  EXPECT_EQ(completion.created, created_by_thread ? 300u : 299u);
  EXPECT_FALSE(fs::exists(dir.path() / "t-299"));
  // Claiming what is not pending is a no-op.
  creator.claim("t", 0);
  creator.claim("other", 1);
}

TEST(PartitionCreator, DestroyingItGivesUpWhatWaitsAndFinishesWhatRuns) {
  TempDir dir;
  {
    PartitionCreator creator(dir.path(), 2);
    creator.submit(partitions_of("t", Uuid{{7}}, 2000));
  }
  // The threads are gone (joined), and every directory they started is whole.
  for (const auto& entry : fs::directory_iterator(dir.path())) {
    auto name = parse_partition_dir_name(entry.path().filename().string());
    ASSERT_TRUE(name);
    EXPECT_TRUE(complete(dir.path(), name->topic, name->partition)) << name->partition;
  }
}

}  // namespace
}  // namespace kb::storage
