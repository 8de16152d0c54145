#include "kb/protocol/messages/offset_fetch.hpp"

#include <gtest/gtest.h>

#include "message_test_util.hpp"

namespace kb::protocol {
namespace {

using test::ByteVec;
using test::expect_exact_bytes;

TEST(OffsetFetch, V1AndV2RequestBytes) {
  OffsetFetchRequest request;
  request.group_id = "g";
  request.topics.emplace().push_back({"t", {0, 1}});
  ByteVec storage;
  expect_exact_bytes(request, 1, "0001 67 00000001 0001 74 00000002 00000000 00000001", storage);
  OffsetFetchRequest all;  // null topics: every committed offset (v2+)
  all.group_id = "g";
  auto decoded = expect_exact_bytes(all, 2, "0001 67 ffffffff", storage);
  EXPECT_FALSE(decoded.topics.has_value());
}

TEST(OffsetFetch, V9RequestBytes) {
  OffsetFetchRequest request;
  auto& group = request.groups.emplace_back();
  group.group_id = "g";
  group.member_id = "m";
  group.member_epoch = 4;
  request.require_stable = true;
  ByteVec storage;
  auto decoded = expect_exact_bytes(request, 9,
                                    "02"        // groups: 1
                                    "02 67"     //   group id
                                    "02 6d"     //   member id
                                    "00000004"  //   member epoch
                                    "00"        //   topics: null
                                    "00"        //   tagged fields
                                    "01"        // require stable
                                    "00",       // tagged fields
                                    storage);
  ASSERT_EQ(decoded.groups.size(), 1u);
  EXPECT_FALSE(decoded.groups[0].topics.has_value());
  EXPECT_EQ(decoded.groups[0].member_epoch, 4);
}

TEST(OffsetFetch, V5ResponseBytes) {
  OffsetFetchResponse response;
  auto& topic = response.topics.emplace_back();
  topic.name = "t";
  topic.partitions.push_back({0, 10, 2, std::string(""), 0});
  topic.partitions.push_back({1, -1, -1, std::nullopt, 0});
  ByteVec storage;
  auto decoded = expect_exact_bytes(response, 5,
                                    "00000000"                   // throttle time
                                    "00000001 0001 74"           // topics: 1, "t"
                                    "00000002"                   //   partitions: 2
                                    "00000000 000000000000000a"  //     0, offset 10
                                    "00000002 0000 0000"         //     epoch 2, "", no error
                                    "00000001 ffffffffffffffff"  //     1, offset -1
                                    "ffffffff ffff 0000"         //     epoch -1, null, no error
                                    "0000",                      // error code
                                    storage);
  const auto& partitions = decoded.topics.at(0).partitions;
  EXPECT_EQ(partitions.at(0).metadata, std::optional<std::string>(""));
  EXPECT_FALSE(partitions.at(1).metadata.has_value());
}

TEST(OffsetFetch, V8ResponseBytes) {
  OffsetFetchResponse response;
  auto& group = response.groups.emplace_back();
  group.group_id = "g";
  auto& topic = group.topics.emplace_back();
  topic.name = "t";
  topic.partitions.push_back({0, 7, -1, std::string("x"), 0});
  ByteVec storage;
  auto decoded = expect_exact_bytes(response, 8,
                                    "00000000"          // throttle time
                                    "02 02 67"          // groups: 1, "g"
                                    "02 02 74"          //   topics: 1, "t"
                                    "02 00000000"       //     partitions: 1, index 0
                                    "0000000000000007"  //       offset 7
                                    "ffffffff"          //       leader epoch -1
                                    "02 78 0000 00"     //       "x", no error, tags
                                    "00"                //     tagged fields
                                    "0000 00"           //   error code, tags
                                    "00",               // tagged fields
                                    storage);
  EXPECT_EQ(decoded.groups.at(0).topics.at(0).partitions.at(0).committed_offset, 7);
}

}  // namespace
}  // namespace kb::protocol
