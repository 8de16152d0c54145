#include "kb/protocol/messages/leave_group.hpp"

#include <gtest/gtest.h>

#include "message_test_util.hpp"

namespace kb::protocol {
namespace {

using test::ByteVec;
using test::expect_exact_bytes;

TEST(LeaveGroup, V5RequestBytes) {
  LeaveGroupRequest request;
  request.group_id = "g";
  request.members.push_back({"m", std::nullopt, "bye"});
  ByteVec storage;
  auto decoded = expect_exact_bytes(request, 5,
                                    "02 67"      // group id
                                    "02"         // members: 1
                                    "02 6d"      //   member id
                                    "00"         //   group instance id: null
                                    "04 627965"  //   reason "bye"
                                    "00"         //   tagged fields
                                    "00",        // tagged fields
                                    storage);
  ASSERT_EQ(decoded.members.size(), 1u);
  EXPECT_EQ(decoded.members[0].reason, std::optional<std::string_view>("bye"));
}

TEST(LeaveGroup, V0RequestBytes) {
  LeaveGroupRequest request;
  request.group_id = "g";
  request.member_id = "m";
  ByteVec storage;
  expect_exact_bytes(request, 0, "0001 67 0001 6d", storage);
}

TEST(LeaveGroup, V3ResponseBytes) {
  LeaveGroupResponse response;
  response.members.push_back({"m", std::string("i"), 25});
  ByteVec storage;
  auto decoded =
      expect_exact_bytes(response, 3, "00000000 0000 00000001 0001 6d 0001 69 0019", storage);
  EXPECT_EQ(decoded.members.at(0).error_code, 25);
}

}  // namespace
}  // namespace kb::protocol
