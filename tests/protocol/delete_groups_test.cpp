#include "kb/protocol/messages/delete_groups.hpp"

#include <gtest/gtest.h>

#include "message_test_util.hpp"

namespace kb::protocol {
namespace {

using test::ByteVec;
using test::expect_exact_bytes;

TEST(DeleteGroups, V0RequestBytes) {
  DeleteGroupsRequest request;
  request.groups_names = {"g", "hi"};
  ByteVec storage;
  auto decoded = expect_exact_bytes(request, 0,
                                    "00000002"    // groups: 2
                                    "0001 67"     //   "g"
                                    "0002 6869",  //   "hi"
                                    storage);
  ASSERT_EQ(decoded.groups_names.size(), 2u);
  EXPECT_EQ(decoded.groups_names[1], "hi");
}

TEST(DeleteGroups, V2RequestBytes) {
  DeleteGroupsRequest request;
  request.groups_names = {"g"};
  ByteVec storage;
  expect_exact_bytes(request, 2,
                     "02 02 67"  // groups: 1, "g"
                     "00",       // tagged fields
                     storage);
}

TEST(DeleteGroups, V1ResponseBytes) {
  DeleteGroupsResponse response;
  response.results.push_back({"g", 68, std::nullopt});
  ByteVec storage;
  auto decoded = expect_exact_bytes(response, 1,
                                    "00000000"  // throttle time
                                    "00000001"  // results: 1
                                    "0001 67"   //   group id
                                    "0044",     //   NON_EMPTY_GROUP
                                    storage);
  EXPECT_EQ(decoded.results.at(0).error_code, 68);
}

TEST(DeleteGroups, V2ResponseBytes) {
  DeleteGroupsResponse response;
  response.throttle_time_ms = 5;
  response.results.push_back({"g", 69, std::nullopt});
  ByteVec storage;
  expect_exact_bytes(response, 2,
                     "00000005"  // throttle time
                     "02"        // results: 1
                     "02 67"     //   group id
                     "0045"      //   GROUP_ID_NOT_FOUND
                     "00"        //   tagged fields
                     "00",       // tagged fields
                     storage);
}

// v3 adds each result's error message, a compact nullable string.
TEST(DeleteGroups, V3ResponseBytes) {
  DeleteGroupsResponse response;
  response.results.push_back({"g", 69, std::nullopt});
  response.results.push_back({"h", 15, std::string("why")});
  ByteVec storage;
  auto decoded = expect_exact_bytes(response, 3,
                                    "00000000"   // throttle time
                                    "03"         // results: 2
                                    "02 67"      //   group id
                                    "0045"       //   GROUP_ID_NOT_FOUND
                                    "00"         //   error message: null
                                    "00"         //   tagged fields
                                    "02 68"      //   group id
                                    "000f"       //   COORDINATOR_NOT_AVAILABLE
                                    "04 776879"  //   error message: "why"
                                    "00"         //   tagged fields
                                    "00",        // tagged fields
                                    storage);
  EXPECT_FALSE(decoded.results.at(0).error_message.has_value());
  EXPECT_EQ(decoded.results.at(1).error_message, "why");
}

}  // namespace
}  // namespace kb::protocol
