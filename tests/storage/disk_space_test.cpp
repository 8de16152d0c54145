// Disk reservations follow the write rate and the free space: the policy
// (how far ahead), the free-space cap shared by all partitions, and a
// partition log that reserves a block for a quiet partition, gives its
// reservation back when it goes quiet, and trims space a crash left behind.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <optional>

#include "kb/storage/disk_space.hpp"
#include "kb/storage/partition_log.hpp"
#include "storage_test_util.hpp"

namespace kb::storage {
namespace {

namespace fs = std::filesystem;
using test::ByteVec;

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = 1024 * 1024;

uint64_t allocated_bytes(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return static_cast<uint64_t>(st.st_blocks) * 512;
}

bool can_preallocate(const fs::path& dir) {
  const fs::path probe = dir / "probe";
  const int fd = ::open(probe.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  const bool ok = ::fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 1 << 20) == 0;
  ::close(fd);
  fs::remove(probe);
  return ok;
}

TEST(WriteRate, CountsThisSecondAndTheOneBefore) {
  WriteRate rate;
  EXPECT_EQ(rate.recent(0), 0u);
  EXPECT_FALSE(rate.last_append_ms());
  rate.add(100, 1000);
  rate.add(50, 1500);
  EXPECT_EQ(rate.recent(1500), 150u);
  rate.add(10, 2100);  // a new window: the last one still counts
  EXPECT_EQ(rate.recent(2100), 160u);
  EXPECT_EQ(rate.recent(3050), 10u) << "only the window before";
  EXPECT_EQ(rate.recent(4200), 0u) << "quiet for two windows";
  EXPECT_EQ(rate.last_append_ms(), 2100);
  rate.add(7, 9000);
  EXPECT_EQ(rate.recent(9000), 7u);
}

TEST(ReservationPolicy, AheadByWhatWasAppendedLatelyWithinTheLimits) {
  ReservationRequest r;
  r.max_ahead = 8 * kMiB;
  r.segment_bytes = 1024 * kMiB;
  // One small record of a quiet partition: its own block, nothing more.
  r.needed_end = 40;
  r.recent_bytes = 40;
  auto plan = plan_reservation(r);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->from, 0u);
  EXPECT_EQ(plan->needed_end, 4 * kKiB);
  EXPECT_EQ(plan->end, 4 * kKiB);

  // Inside what is reserved: nothing to do.
  r.size = 40;
  r.reserved_end = 4 * kKiB;
  r.needed_end = 80;
  EXPECT_FALSE(plan_reservation(r));

  // A busy partition: a second's worth ahead, at most max_ahead.
  r.size = 100 * kKiB;
  r.reserved_end = 100 * kKiB;
  r.needed_end = 200 * kKiB;
  r.recent_bytes = 300 * kKiB;
  plan = plan_reservation(r);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->from, 100 * kKiB);
  EXPECT_EQ(plan->needed_end, 200 * kKiB);
  EXPECT_EQ(plan->end, 500 * kKiB);
  r.recent_bytes = 100 * kMiB;
  EXPECT_EQ(plan_reservation(r)->end, 200 * kKiB + 8 * kMiB);

  // Never past the segment size, unless the append itself goes there.
  r.segment_bytes = 1 * kMiB;
  EXPECT_EQ(plan_reservation(r)->end, 1 * kMiB);
  r.needed_end = 2 * kMiB + 1;
  EXPECT_EQ(plan_reservation(r)->end, 2 * kMiB + 4 * kKiB);

  // Off.
  r.max_ahead = 0;
  EXPECT_FALSE(plan_reservation(r));
}

// A file system whose free space is `unreserved` less what is reserved.
struct FakeDisk {
  std::optional<uint64_t> unreserved = 100 * kMiB;
  int64_t now = 0;
  int measured = 0;
  const DiskSpace* disk = nullptr;
  std::shared_ptr<DiskSpace> make(DiskSpace::Options options = {}) {
    auto made = std::make_shared<DiskSpace>(
        [this]() -> std::optional<uint64_t> {
          ++measured;
          if (!unreserved) return std::nullopt;
          return *unreserved - std::min(*unreserved, disk->reserved());
        },
        [this] { return now; }, options);
    disk = made.get();
    return made;
  }
};

TEST(DiskSpace, AllReservationsTogetherStayWithinAShareOfTheFreeSpace) {
  FakeDisk fake;
  auto disk_ptr = fake.make({10, 1000});
  DiskSpace& disk = *disk_ptr;
  EXPECT_EQ(disk.grantable(4 * kMiB), 4 * kMiB);
  disk.add_reserved(4 * kMiB);
  // 10% of what would be free without reservations: 10 MiB in all.
  EXPECT_EQ(disk.grantable(8 * kMiB), 6 * kMiB);
  disk.add_reserved(6 * kMiB);
  EXPECT_EQ(disk.grantable(1), 0u);
  disk.add_reserved(-static_cast<int64_t>(5 * kMiB));  // given back, or filled
  EXPECT_EQ(disk.reserved(), 5 * kMiB);
  EXPECT_EQ(disk.grantable(8 * kMiB), 5 * kMiB);

  // The disk fills up (someone else writes): seen at the next measurement,
  // a second later at most.
  fake.unreserved = 15 * kMiB;
  fake.now = 1000;
  EXPECT_EQ(disk.grantable(8 * kMiB), 0u) << "5 MiB reserved, 10% of 15 MiB allowed";
  disk.add_reserved(-static_cast<int64_t>(5 * kMiB));
  EXPECT_EQ(disk.grantable(8 * kMiB), 15 * kMiB / 100 * 10);

  // Unknown free space: no cap.
  fake.unreserved.reset();
  fake.now = 5000;
  EXPECT_EQ(disk.grantable(8 * kMiB), 8 * kMiB);
}

TEST(DiskSpace, MeasuresAgainAfterAFewPercentWereWrittenOrReserved) {
  FakeDisk fake;
  fake.unreserved = 64 * kMiB;
  auto disk_ptr = fake.make();
  DiskSpace& disk = *disk_ptr;
  (void)disk.grantable(1);
  EXPECT_EQ(fake.measured, 1);
  (void)disk.grantable(1);
  EXPECT_EQ(fake.measured, 1) << "cached";
  disk.note_written(1 * kMiB);
  (void)disk.grantable(1);
  EXPECT_EQ(fake.measured, 1) << "under 1/32 of the space";
  disk.note_written(1 * kMiB);
  (void)disk.grantable(1);
  EXPECT_EQ(fake.measured, 2);
  disk.add_reserved(static_cast<int64_t>(3 * kMiB));
  (void)disk.grantable(1);
  EXPECT_EQ(fake.measured, 3);
  EXPECT_EQ(disk.measurements(), 3u);
}

// The log end to end: a quiet partition reserves one block, a busy one more;
// a quiet spell gives it back, and so does reopening after a crash that left
// a reservation behind.
TEST(PartitionReservations, QuietPartitionsReserveLittleAndGiveItBack) {
  test::TempDir dir;
  if (!can_preallocate(dir.path())) GTEST_SKIP() << "no fallocate on this file system";
  PartitionLogOptions options;
  options.preallocate_bytes = 8 * kMiB;
  options.disk_space = std::make_shared<DiskSpace>(dir.path());
  auto log = test::new_log(dir, options);
  ASSERT_TRUE(log);
  const fs::path file = dir.path() / "t-0" / segment_file_name(0, ".log");
  ByteVec small = test::make_batch(0, 1, 1700000000000);
  ASSERT_TRUE(log->append(small).ok());
  EXPECT_LE(allocated_bytes(file), 4 * kKiB) << "a block for one small record";

  // A busy partition reserves ahead as much as it appended lately.
  ByteVec big = test::make_batch(0, 10, 1700000000000, 10000);
  uint64_t most_ahead = 0;
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(log->append(big).ok());
    most_ahead = std::max(most_ahead, allocated_bytes(file) - fs::file_size(file));
  }
  EXPECT_GT(most_ahead, 5 * big.size());
  const uint64_t size = fs::file_size(file);
  EXPECT_TRUE(log->holds_reservation());
  EXPECT_GT(options.disk_space->reserved(), 0u);

  EXPECT_FALSE(log->release_reservation_if_quiet(60'000)) << "appended just now";
  EXPECT_TRUE(log->release_reservation_if_quiet(0));
  EXPECT_FALSE(log->holds_reservation());
  EXPECT_LT(allocated_bytes(file), size + 8 * kKiB);
  EXPECT_EQ(options.disk_space->reserved(), 0u);
  EXPECT_EQ(fs::file_size(file), size) << "the file keeps Kafka's size";

  // A crash leaves a reservation behind: reopening gives it back.
  ASSERT_TRUE(log->append(big).ok());
  const uint64_t end = log->log_end_offset();
  log.reset();
  {
    const int fd = ::open(file.c_str(), O_RDWR | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 4 * kMiB), 0);
    ::close(fd);
  }
  const uint64_t data = fs::file_size(file);
  ASSERT_GE(allocated_bytes(file), 4 * kMiB);
  auto reopened = PartitionLog::open(dir.path() / "t-0", options);
  ASSERT_TRUE(reopened.ok()) << reopened.error().message;
  EXPECT_EQ((*reopened)->log_end_offset(), static_cast<int64_t>(end));
  EXPECT_EQ(fs::file_size(file), data);
  EXPECT_LT(allocated_bytes(file), data + 8 * kKiB);
}

// With the free space taken by others' reservations, a partition still
// reserves what its append writes (so a deferred write cannot fail), and
// nothing ahead.
TEST(PartitionReservations, FreeSpaceCapLeavesOnlyWhatTheAppendNeeds) {
  test::TempDir dir;
  if (!can_preallocate(dir.path())) GTEST_SKIP() << "no fallocate on this file system";
  FakeDisk fake;
  fake.unreserved = 1 * kMiB;  // 10%: about 100 KiB for all reservations
  PartitionLogOptions options;
  options.disk_space = fake.make();
  options.disk_space->add_reserved(static_cast<int64_t>(200 * kKiB));  // others took it
  auto log = test::new_log(dir, options);
  ASSERT_TRUE(log);
  ByteVec big = test::make_batch(0, 10, 1700000000000, 10000);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(log->append(big, -1, std::nullopt, AppendWrite::deferred).ok());
    EXPECT_TRUE(log->has_deferred_writes()) << "its own bytes are reserved";
  }
  ASSERT_TRUE(log->write_deferred().ok());
  const fs::path file = dir.path() / "t-0" / segment_file_name(0, ".log");
  EXPECT_LT(allocated_bytes(file), fs::file_size(file) + 8 * kKiB) << "nothing ahead";
  EXPECT_FALSE(log->holds_reservation());
}

}  // namespace
}  // namespace kb::storage
