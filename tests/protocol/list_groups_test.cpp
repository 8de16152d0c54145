#include "kb/protocol/messages/list_groups.hpp"

#include <gtest/gtest.h>

#include "message_test_util.hpp"

namespace kb::protocol {
namespace {

using test::ByteVec;
using test::expect_exact_bytes;

TEST(ListGroups, V5RequestBytes) {
  ListGroupsRequest request;
  request.states_filter = {"Stable"};
  request.types_filter = {"classic", "consumer"};
  ByteVec storage;
  auto decoded = expect_exact_bytes(request, 5,
                                    "02 07 537461626c65"                        // states ["Stable"]
                                    "03 08 636c6173736963 09 636f6e73756d6572"  // types
                                    "00",                                       // tagged fields
                                    storage);
  EXPECT_EQ(decoded.types_filter.size(), 2u);
}

TEST(ListGroups, V0RequestIsEmpty) {
  ListGroupsRequest request;
  request.states_filter = {"ignored before v4"};
  ByteVec storage;
  expect_exact_bytes(request, 0, "", storage);
}

TEST(ListGroups, V4ResponseBytes) {
  ListGroupsResponse response;
  response.groups.push_back({"g", "consumer", "Empty", "ignored before v5"});
  ByteVec storage;
  auto decoded = expect_exact_bytes(response, 4,
                                    "00000000"             // throttle time
                                    "0000"                 // error code
                                    "02"                   // groups: 1
                                    "02 67"                //   group id
                                    "09 636f6e73756d6572"  //   protocol type
                                    "06 456d707479"        //   state "Empty"
                                    "00"                   //   tagged fields
                                    "00",                  // tagged fields
                                    storage);
  EXPECT_EQ(decoded.groups.at(0).group_state, "Empty");
  EXPECT_EQ(decoded.groups.at(0).group_type, "");
}

}  // namespace
}  // namespace kb::protocol
