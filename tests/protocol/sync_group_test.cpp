#include "kb/protocol/messages/sync_group.hpp"

#include <gtest/gtest.h>

#include "message_test_util.hpp"

namespace kb::protocol {
namespace {

using test::ByteVec;
using test::expect_exact_bytes;
using test::hex;

TEST(SyncGroup, V5RequestBytes) {
  const uint8_t assignment[] = {0x01, 0x02};
  SyncGroupRequest request;
  request.group_id = "g";
  request.generation_id = 3;
  request.member_id = "m";
  request.protocol_type = "consumer";
  request.protocol_name = "range";
  request.assignments.push_back({"m", wire::Bytes(assignment)});
  ByteVec storage;
  auto decoded = expect_exact_bytes(request, 5,
                                    "02 67"                // group id
                                    "00000003"             // generation id
                                    "02 6d"                // member id
                                    "00"                   // group instance id: null
                                    "09 636f6e73756d6572"  // protocol type
                                    "06 72616e6765"        // protocol name
                                    "02 02 6d 03 0102 00"  // assignments: [{"m", 0102}]
                                    "00",                  // tagged fields
                                    storage);
  ASSERT_EQ(decoded.assignments.size(), 1u);
  EXPECT_EQ(hex(decoded.assignments[0].assignment), "01 02");
}

TEST(SyncGroup, V0ResponseBytes) {
  SyncGroupResponse response;
  response.error_code = 27;
  response.assignment = {0xff};
  ByteVec storage;
  auto decoded = expect_exact_bytes(response, 0, "001b 00000001 ff", storage);
  EXPECT_EQ(decoded.error_code, 27);
  EXPECT_EQ(decoded.assignment, (std::vector<uint8_t>{0xff}));
}

}  // namespace
}  // namespace kb::protocol
