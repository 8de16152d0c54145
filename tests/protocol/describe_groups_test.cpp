#include "kb/protocol/messages/describe_groups.hpp"

#include <gtest/gtest.h>

#include "message_test_util.hpp"

namespace kb::protocol {
namespace {

using test::ByteVec;
using test::expect_exact_bytes;

TEST(DescribeGroups, V5RequestBytes) {
  DescribeGroupsRequest request;
  request.groups = {"g"};
  request.include_authorized_operations = true;
  ByteVec storage;
  auto decoded = expect_exact_bytes(request, 5, "02 02 67 01 00", storage);
  EXPECT_TRUE(decoded.include_authorized_operations);
}

TEST(DescribeGroups, V4ResponseBytes) {
  DescribeGroupsResponse response;
  auto& group = response.groups.emplace_back();
  group.group_id = "g";
  group.group_state = "Stable";
  group.protocol_type = "consumer";
  group.protocol_data = "range";
  auto& member = group.members.emplace_back();
  member.member_id = "m";
  member.group_instance_id = "i";
  member.client_id = "c";
  member.client_host = "/h";
  member.member_metadata = {0x01};
  member.member_assignment = {};
  ByteVec storage;
  auto decoded = expect_exact_bytes(response, 4,
                                    "00000000"               // throttle time
                                    "00000001"               // groups: 1
                                    "0000"                   //   error code
                                    "0001 67"                //   group id
                                    "0006 537461626c65"      //   state "Stable"
                                    "0008 636f6e73756d6572"  //   protocol type
                                    "0005 72616e6765"        //   protocol data
                                    "00000001"               //   members: 1
                                    "0001 6d 0001 69"        //     member, instance id
                                    "0001 63 0002 2f68"      //     client id, host
                                    "00000001 01 00000000"   //     metadata, assignment
                                    "80000000",              //   authorized operations
                                    storage);
  ASSERT_EQ(decoded.groups.size(), 1u);
  ASSERT_EQ(decoded.groups[0].members.size(), 1u);
  EXPECT_EQ(decoded.groups[0].members[0].group_instance_id, std::optional<std::string>("i"));
  EXPECT_EQ(decoded.groups[0].authorized_operations, INT32_MIN);
}

}  // namespace
}  // namespace kb::protocol
