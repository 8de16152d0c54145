#include "kb/protocol/messages/partition_reassignments.hpp"

#include <gtest/gtest.h>

#include "message_test_util.hpp"

namespace kb::protocol {
namespace {

using test::ByteVec;
using test::expect_exact_bytes;

TEST(AlterPartitionReassignments, V0Bytes) {
  AlterPartitionReassignmentsRequest request;
  request.topics.push_back({"t", {{0, std::vector<int32_t>{1}}, {1, std::nullopt}}});
  ByteVec storage;
  auto decoded = expect_exact_bytes(request, 0,
                                    "0000ea60 02 02 74 03"
                                    "00000000 02 00000001 00"  // replicas [1]
                                    "00000001 00 00"           // null: cancel
                                    "00 00",
                                    storage);
  EXPECT_FALSE(decoded.topics.at(0).partitions.at(1).replicas.has_value());

  AlterPartitionReassignmentsResponse response;
  response.responses.push_back({"t", {{0, 0, std::nullopt}}});
  expect_exact_bytes(response, 0, "00000000 0000 00 02 02 74 02 00000000 0000 00 00 00 00",
                     storage);
}

TEST(ListPartitionReassignments, V0Bytes) {
  ListPartitionReassignmentsRequest request;
  ByteVec storage;
  auto all = expect_exact_bytes(request, 0, "0000ea60 00 00", storage);
  EXPECT_FALSE(all.topics.has_value());

  ListPartitionReassignmentsResponse response;
  expect_exact_bytes(response, 0, "00000000 0000 00 01 00", storage);
}

}  // namespace
}  // namespace kb::protocol
