#include "kb/protocol/messages/elect_leaders.hpp"

#include <gtest/gtest.h>

#include "message_test_util.hpp"

namespace kb::protocol {
namespace {

using test::ByteVec;
using test::expect_exact_bytes;

TEST(ElectLeaders, V0AndV2RequestBytes) {
  ElectLeadersRequest request;
  request.topic_partitions.emplace();
  request.topic_partitions->push_back({"t", {0}});
  ByteVec storage;
  expect_exact_bytes(request, 0, "00000001 0001 74 00000001 00000000 0000ea60", storage);
  request.election_type = 1;
  expect_exact_bytes(request, 2, "01 02 02 74 02 00000000 00 0000ea60 00", storage);
  request.topic_partitions.reset();
  auto all = expect_exact_bytes(request, 1, "01 ffffffff 0000ea60", storage);
  EXPECT_FALSE(all.topic_partitions.has_value());
}

TEST(ElectLeaders, V0AndV1ResponseBytes) {
  ElectLeadersResponse response;
  response.replica_election_results.push_back({"t", {{0, 84, std::nullopt}}});
  ByteVec storage;
  expect_exact_bytes(response, 0, "00000000 00000001 0001 74 00000001 00000000 0054 ffff", storage);
  expect_exact_bytes(response, 1, "00000000 0000 00000001 0001 74 00000001 00000000 0054 ffff",
                     storage);
}

}  // namespace
}  // namespace kb::protocol
