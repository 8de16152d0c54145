#include "kb/protocol/messages/offset_delete.hpp"

#include <gtest/gtest.h>

#include "message_test_util.hpp"

namespace kb::protocol {
namespace {

using test::ByteVec;
using test::expect_exact_bytes;

// OffsetDelete has no flexible version.

TEST(OffsetDelete, V0RequestBytes) {
  OffsetDeleteRequest request;
  request.group_id = "g";
  request.topics.push_back({"t", {{0}, {2}}});
  ByteVec storage;
  auto decoded = expect_exact_bytes(request, 0,
                                    "0001 67"    // group id
                                    "00000001"   // topics: 1
                                    "0001 74"    //   name
                                    "00000002"   //   partitions: 2
                                    "00000000"   //     0
                                    "00000002",  //     2
                                    storage);
  ASSERT_EQ(decoded.topics.size(), 1u);
  ASSERT_EQ(decoded.topics[0].partitions.size(), 2u);
  EXPECT_EQ(decoded.topics[0].partitions[1].partition_index, 2);
}

TEST(OffsetDelete, V0ResponseBytes) {
  OffsetDeleteResponse response;
  response.topics.push_back({"t", {{0, 0}, {1, 86}}});
  ByteVec storage;
  auto decoded = expect_exact_bytes(response, 0,
                                    "0000"            // error code
                                    "00000000"        // throttle time
                                    "00000001"        // topics: 1
                                    "0001 74"         //   name
                                    "00000002"        //   partitions: 2
                                    "00000000 0000"   //     0: NONE
                                    "00000001 0056",  //     1: GROUP_SUBSCRIBED_TO_TOPIC
                                    storage);
  EXPECT_EQ(decoded.topics.at(0).partitions.at(1).error_code, 86);
}

}  // namespace
}  // namespace kb::protocol
