// The plan of file descriptors made at start: a reserve the broker's own
// files and helper threads always have, connections capped to fit, the rest
// for open partition files.

#include "kb/broker/descriptor_budget.hpp"

#include <sys/resource.h>

#include <gtest/gtest.h>

#include <algorithm>

namespace kb::broker {
namespace {

TEST(DescriptorPlan, SplitsTheLimitBetweenConnectionsAndPartitionFilesAfterTheReserve) {
  // The machine: a limit of 20,000 and the default max.connections.
  DescriptorPlan plan = plan_descriptors(20000, 100000, 41);
  EXPECT_EQ(plan.reserve, kReservedDescriptors + 82);
  EXPECT_EQ(plan.connections + plan.partition_files + plan.reserve, 20000u);
  EXPECT_EQ(plan.connections, (20000 - plan.reserve) / 4 * 3);
  EXPECT_GT(plan.connections, 10000u) << "room for the hostile bench's 10,000 idle connections";
  EXPECT_TRUE(plan.connections_capped);

  // Few connections asked for: partition files get the rest.
  plan = plan_descriptors(20000, 100, 41);
  EXPECT_EQ(plan.connections, 100u);
  EXPECT_FALSE(plan.connections_capped);
  EXPECT_EQ(plan.partition_files, 20000 - plan.reserve - 100);

  // A limit below the reserve still leaves one of each (the broker runs,
  // requests meet the shortage).
  plan = plan_descriptors(50, 100000, 41);
  EXPECT_EQ(plan.reserve, 50u);
  EXPECT_EQ(plan.connections, 1u);
  EXPECT_EQ(plan.partition_files, 1u);
}

TEST(DescriptorPlan, RaisingTheLimitTakesTheHardOne) {
  rlimit before{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &before), 0);
  const uint64_t in_force = raise_descriptor_limit();
  rlimit after{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &after), 0);
  EXPECT_EQ(after.rlim_cur, after.rlim_max);
  if (after.rlim_cur != RLIM_INFINITY) {
    EXPECT_EQ(in_force, std::min<uint64_t>(after.rlim_cur, 1u << 20));
  }
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &before), 0);
}

}  // namespace
}  // namespace kb::broker
