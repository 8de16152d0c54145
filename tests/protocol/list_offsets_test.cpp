#include "kb/protocol/messages/list_offsets.hpp"

#include <gtest/gtest.h>

#include "message_test_util.hpp"

namespace kb::protocol {
namespace {

using test::ByteVec;
using test::expect_exact_bytes;

TEST(ListOffsets, V1RequestBytes) {
  ListOffsetsRequest request;
  request.replica_id = -1;
  auto& topic = request.topics.emplace_back();
  topic.name = "foo";
  auto& partition = topic.partitions.emplace_back();
  partition.timestamp = -1;  // latest
  ByteVec storage;
  auto decoded = expect_exact_bytes(request, 1,
                                    "ffffffff"           // replica id -1
                                    "00000001"           // topics: 1
                                    "0003 666f6f"        //   name "foo"
                                    "00000001"           //   partitions: 1
                                    "00000000"           //     partition index
                                    "ffffffffffffffff",  //     timestamp -1
                                    storage);
  EXPECT_EQ(decoded.topics.at(0).partitions.at(0).timestamp, -1);
  EXPECT_EQ(decoded.topics.at(0).partitions.at(0).max_num_offsets, 1);  // not in v1
}

TEST(ListOffsets, V1ResponseBytes) {
  ListOffsetsResponse response;
  auto& topic = response.topics.emplace_back();
  topic.name = "foo";
  auto& partition = topic.partitions.emplace_back();
  partition.offset = 42;
  ByteVec storage;
  auto decoded = expect_exact_bytes(response, 1,
                                    "00000001"           // topics: 1
                                    "0003 666f6f"        //   name "foo"
                                    "00000001"           //   partitions: 1
                                    "00000000"           //     partition index
                                    "0000"               //     error code
                                    "ffffffffffffffff"   //     timestamp -1
                                    "000000000000002a",  //     offset 42
                                    storage);
  EXPECT_EQ(decoded.topics.at(0).partitions.at(0).offset, 42);
}

TEST(ListOffsets, V0OldStyleOffsets) {
  ListOffsetsRequest request;
  auto& partition = request.topics.emplace_back().partitions.emplace_back();
  request.topics[0].name = "t";
  partition.timestamp = -2;  // earliest
  partition.max_num_offsets = 3;
  ByteVec storage;
  expect_exact_bytes(request, 0,
                     "00000000 00000001 0001 74 00000001"
                     "00000000 fffffffffffffffe 00000003",  // partition, timestamp, max offsets
                     storage);

  ListOffsetsResponse response;
  auto& result = response.topics.emplace_back().partitions.emplace_back();
  response.topics[0].name = "t";
  result.old_style_offsets = {7, 0};
  auto decoded = expect_exact_bytes(response, 0,
                                    "00000001 0001 74 00000001 00000000 0000"
                                    "00000002 0000000000000007 0000000000000000",
                                    storage);
  EXPECT_EQ(decoded.topics.at(0).partitions.at(0).old_style_offsets, (std::vector<int64_t>{7, 0}));
}

TEST(ListOffsets, V10RequestBytes) {
  ListOffsetsRequest request;
  request.replica_id = -1;
  request.isolation_level = 1;
  auto& partition = request.topics.emplace_back().partitions.emplace_back();
  request.topics[0].name = "t";
  partition.partition_index = 1;
  partition.current_leader_epoch = 4;
  partition.timestamp = -3;  // max timestamp
  request.timeout_ms = 1000;
  ByteVec storage;
  expect_exact_bytes(request, 10,
                     "ffffffff 01"           // replica id, isolation level
                     "02 02 74"              // topics: 1, name "t"
                     "02 00000001 00000004"  //   partitions: 1, index, leader epoch
                     "fffffffffffffffd 00"   //     timestamp, tagged fields
                     "00"                    //   tagged fields
                     "000003e8 00",          // timeout 1000, tagged fields
                     storage);
}

}  // namespace
}  // namespace kb::protocol
