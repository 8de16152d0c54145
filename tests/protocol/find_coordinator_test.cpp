#include "kb/protocol/messages/find_coordinator.hpp"

#include <gtest/gtest.h>

#include "message_test_util.hpp"

namespace kb::protocol {
namespace {

using test::ByteVec;
using test::expect_exact_bytes;

TEST(FindCoordinator, V1RequestAndResponseBytes) {
  FindCoordinatorRequest request;
  request.key = "g";
  request.key_type = 1;
  ByteVec storage;
  auto decoded = expect_exact_bytes(request, 1, "0001 67 01", storage);
  EXPECT_EQ(decoded.key, "g");
  EXPECT_EQ(decoded.key_type, 1);

  FindCoordinatorResponse response;
  response.node_id = 1;
  response.host = "h";
  response.port = 9092;
  auto answer = expect_exact_bytes(response, 1,
                                   "00000000"   // throttle time
                                   "0000"       // error code
                                   "ffff"       // error message: null
                                   "00000001"   // node id
                                   "0001 68"    // host "h"
                                   "00002384",  // port
                                   storage);
  EXPECT_EQ(answer.host, "h");
}

TEST(FindCoordinator, V4RequestAndResponseBytes) {
  FindCoordinatorRequest request;
  request.coordinator_keys = {"g1", "g2"};
  ByteVec storage;
  auto decoded = expect_exact_bytes(request, 4,
                                    "00"                  // key type: group
                                    "03 03 6731 03 6732"  // keys ["g1", "g2"]
                                    "00",                 // tagged fields
                                    storage);
  EXPECT_EQ(decoded.coordinator_keys, (std::vector<std::string_view>{"g1", "g2"}));

  FindCoordinatorResponse response;
  response.coordinators.push_back({"g1", 1, "h", 9092, 0, std::nullopt});
  response.coordinators.push_back({"g2", -1, "", -1, 15, std::string("x")});
  auto answer = expect_exact_bytes(response, 4,
                                   "00000000"                         // throttle time
                                   "03"                               // coordinators: 2
                                   "03 6731 00000001 02 68 00002384"  //   "g1", 1, "h", 9092
                                   "0000 00 00"                       //   0, null, tags
                                   "03 6732 ffffffff 01 ffffffff"     //   "g2", -1, "", -1
                                   "000f 02 78 00"                    //   15, "x", tags
                                   "00",                              // tagged fields
                                   storage);
  ASSERT_EQ(answer.coordinators.size(), 2u);
  EXPECT_EQ(answer.coordinators[1].error_message, std::optional<std::string>("x"));
}

}  // namespace
}  // namespace kb::protocol
