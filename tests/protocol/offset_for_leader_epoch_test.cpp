#include "kb/protocol/messages/offset_for_leader_epoch.hpp"

#include <gtest/gtest.h>

#include "message_test_util.hpp"

namespace kb::protocol {
namespace {

using test::ByteVec;
using test::expect_exact_bytes;

TEST(OffsetForLeaderEpoch, V0AndV4RequestBytes) {
  OffsetForLeaderEpochRequest request;
  request.replica_id = -1;
  request.topics.push_back({"t", {{0, 5, 4}}});
  ByteVec storage;
  auto v0 = expect_exact_bytes(request, 0,
                               "00000001"   // topics: 1
                               "0001 74"    //   topic
                               "00000001"   //   partitions: 1
                               "00000000"   //     partition
                               "00000004",  //     leader epoch
                               storage);
  EXPECT_EQ(v0.topics.at(0).partitions.at(0).current_leader_epoch, -1);  // v2+
  auto v4 = expect_exact_bytes(request, 4,
                               "ffffffff"  // replica id
                               "02"        // topics: 1
                               "02 74"     //   topic
                               "02"        //   partitions: 1
                               "00000000"  //     partition
                               "00000005"  //     current leader epoch
                               "00000004"  //     leader epoch
                               "00 00 00",
                               storage);
  EXPECT_EQ(v4.topics.at(0).partitions.at(0).current_leader_epoch, 5);
}

TEST(OffsetForLeaderEpoch, V0AndV4ResponseBytes) {
  OffsetForLeaderEpochResponse response;
  response.topics.push_back({"t", {{0, 0, 4, 10}}});
  ByteVec storage;
  expect_exact_bytes(response, 0,
                     "00000001 0001 74 00000001"
                     "0000 00000000 000000000000000a",  // error, partition, end offset
                     storage);
  auto v4 = expect_exact_bytes(response, 4,
                               "00000000"  // throttle time
                               "02 02 74 02"
                               "0000 00000000 00000004 000000000000000a"  // + leader epoch
                               "00 00 00",
                               storage);
  EXPECT_EQ(v4.topics.at(0).partitions.at(0).leader_epoch, 4);
}

}  // namespace
}  // namespace kb::protocol
