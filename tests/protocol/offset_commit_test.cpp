#include "kb/protocol/messages/offset_commit.hpp"

#include <gtest/gtest.h>

#include "message_test_util.hpp"

namespace kb::protocol {
namespace {

using test::ByteVec;
using test::expect_exact_bytes;

TEST(OffsetCommit, V9RequestBytes) {
  OffsetCommitRequest request;
  request.group_id = "g";
  request.generation_id_or_member_epoch = 1;
  request.member_id = "m";
  auto& topic = request.topics.emplace_back();
  topic.name = "t";
  topic.partitions.push_back({0, 42, 3, -1, std::nullopt});
  ByteVec storage;
  auto decoded = expect_exact_bytes(request, 9,
                                    "02 67"             // group id
                                    "00000001"          // generation / member epoch
                                    "02 6d"             // member id
                                    "00"                // group instance id: null
                                    "02 02 74"          // topics: 1, "t"
                                    "02 00000000"       //   partitions: 1, index 0
                                    "000000000000002a"  //     offset 42
                                    "00000003"          //     leader epoch
                                    "00 00"             //     metadata null, tags
                                    "00"                //   tagged fields
                                    "00",               // tagged fields
                                    storage);
  EXPECT_EQ(decoded.topics.at(0).partitions.at(0).committed_offset, 42);
}

TEST(OffsetCommit, V1AndV2RequestBytes) {
  OffsetCommitRequest request;
  request.group_id = "g";
  request.generation_id_or_member_epoch = 1;
  request.member_id = "m";
  request.retention_time_ms = 1000;
  auto& topic = request.topics.emplace_back();
  topic.name = "t";
  topic.partitions.push_back({0, 5, -1, 77, "md"});
  ByteVec storage;
  // v1: per-partition commit timestamp, no retention time.
  expect_exact_bytes(request, 1,
                     "0001 67 00000001 0001 6d"
                     "00000001 0001 74 00000001 00000000 0000000000000005"
                     "000000000000004d 0002 6d64",
                     storage);
  // v2: retention time, no commit timestamp.
  expect_exact_bytes(request, 2,
                     "0001 67 00000001 0001 6d 00000000000003e8"
                     "00000001 0001 74 00000001 00000000 0000000000000005 0002 6d64",
                     storage);
}

TEST(OffsetCommit, V2ResponseBytes) {
  OffsetCommitResponse response;
  response.topics.push_back({"t", {}, {{0, 0}, {1, 22}}});
  ByteVec storage;
  auto decoded = expect_exact_bytes(
      response, 2, "00000001 0001 74 00000002 00000000 0000 00000001 0016", storage);
  EXPECT_EQ(decoded.topics.at(0).partitions.at(1).error_code, 22);
}

}  // namespace
}  // namespace kb::protocol
