#include "kb/protocol/messages/join_group.hpp"

#include <gtest/gtest.h>

#include "message_test_util.hpp"

namespace kb::protocol {
namespace {

using test::ByteVec;
using test::expect_exact_bytes;
using test::hex;

TEST(JoinGroup, V9RequestBytes) {
  const uint8_t metadata[] = {0x00, 0x01};
  JoinGroupRequest request;
  request.group_id = "g";
  request.session_timeout_ms = 45000;
  request.rebalance_timeout_ms = 300000;
  request.protocol_type = "consumer";
  request.protocols.push_back({"range", wire::Bytes(metadata)});
  ByteVec storage;
  auto decoded = expect_exact_bytes(request, 9,
                                    "02 67"                // group id "g"
                                    "0000afc8"             // session timeout 45000
                                    "000493e0"             // rebalance timeout 300000
                                    "01"                   // member id ""
                                    "00"                   // group instance id: null
                                    "09 636f6e73756d6572"  // protocol type "consumer"
                                    "02"                   // protocols: 1
                                    "06 72616e6765"        //   "range"
                                    "03 0001"              //   metadata
                                    "00"                   //   tagged fields
                                    "00"                   // reason: null
                                    "00",                  // tagged fields
                                    storage);
  EXPECT_EQ(decoded.protocol_type, "consumer");
  ASSERT_EQ(decoded.protocols.size(), 1u);
  EXPECT_EQ(hex(decoded.protocols[0].metadata), "00 01");
}

TEST(JoinGroup, V0RequestBytes) {
  JoinGroupRequest request;
  request.group_id = "g";
  request.session_timeout_ms = 10;
  request.member_id = "m";
  request.protocol_type = "c";
  request.protocols.push_back({"r", wire::Bytes()});
  ByteVec storage;
  expect_exact_bytes(request, 0,
                     "0001 67 0000000a 0001 6d 0001 63"  // no rebalance timeout in v0
                     "00000001 0001 72 00000000",
                     storage);
}

TEST(JoinGroup, V7ResponseBytes) {
  const uint8_t metadata[] = {0xab};
  JoinGroupResponse response;
  response.generation_id = 1;
  response.protocol_type = "consumer";
  response.protocol_name = "range";
  response.leader = "m";
  response.member_id = "m";
  response.members.push_back({"m", std::nullopt, {metadata, metadata + 1}});
  ByteVec storage;
  auto decoded = expect_exact_bytes(response, 7,
                                    "00000000"             // throttle time
                                    "0000"                 // error code
                                    "00000001"             // generation id
                                    "09 636f6e73756d6572"  // protocol type
                                    "06 72616e6765"        // protocol name
                                    "02 6d"                // leader "m"
                                    "02 6d"                // member id "m"
                                    "02"                   // members: 1
                                    "02 6d 00 02 ab 00"    //   "m", null, [ab], tags
                                    "00",                  // tagged fields
                                    storage);
  EXPECT_EQ(decoded.protocol_name, std::optional<std::string>("range"));
  ASSERT_EQ(decoded.members.size(), 1u);
  EXPECT_EQ(decoded.members[0].metadata, (std::vector<uint8_t>{0xab}));
}

TEST(JoinGroup, V7ResponseNullProtocolName) {
  JoinGroupResponse response;
  response.error_code = 79;  // member id required
  ByteVec storage;
  auto decoded =
      expect_exact_bytes(response, 7, "00000000 004f ffffffff 00 00 01 01 01 00", storage);
  EXPECT_FALSE(decoded.protocol_name.has_value());
}

}  // namespace
}  // namespace kb::protocol
