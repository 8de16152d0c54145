#include "kb/protocol/messages/heartbeat.hpp"

#include <gtest/gtest.h>

#include "message_test_util.hpp"

namespace kb::protocol {
namespace {

using test::ByteVec;
using test::expect_exact_bytes;

TEST(Heartbeat, V4RequestBytes) {
  HeartbeatRequest request;
  request.group_id = "g";
  request.generation_id = 2;
  request.member_id = "m";
  request.group_instance_id = "i";
  ByteVec storage;
  auto decoded = expect_exact_bytes(request, 4, "02 67 00000002 02 6d 02 69 00", storage);
  EXPECT_EQ(decoded.group_instance_id, std::optional<std::string_view>("i"));
}

TEST(Heartbeat, V0AndV4ResponseBytes) {
  HeartbeatResponse response;
  response.throttle_time_ms = 1;
  response.error_code = 27;
  ByteVec storage;
  expect_exact_bytes(response, 0, "001b", storage);
  auto decoded = expect_exact_bytes(response, 4, "00000001 001b 00", storage);
  EXPECT_EQ(decoded.throttle_time_ms, 1);
}

}  // namespace
}  // namespace kb::protocol
