#include "kb/protocol/messages/create_partitions.hpp"

#include <gtest/gtest.h>

#include "message_test_util.hpp"

namespace kb::protocol {
namespace {

using test::ByteVec;
using test::expect_exact_bytes;

TEST(CreatePartitions, V3RequestBytes) {
  CreatePartitionsRequest request;
  request.topics.push_back({"foo", 4, std::nullopt});
  auto& assigned = request.topics.emplace_back();
  assigned.name = "b";
  assigned.count = 2;
  assigned.assignments.emplace().push_back({{1}});
  request.timeout_ms = 1000;
  request.validate_only = true;
  ByteVec storage;
  auto decoded = expect_exact_bytes(request, 3,
                                    "03"                 // topics: 2
                                    "04 666f6f"          //   name "foo"
                                    "00000004"           //   count
                                    "00"                 //   assignments: null
                                    "00"                 //   tagged fields
                                    "02 62 00000002"     //   name "b", count 2
                                    "02 02 00000001 00"  //   assignments: [[1]]
                                    "00"                 //   tagged fields
                                    "000003e8"           // timeout
                                    "01"                 // validate only
                                    "00",                // tagged fields
                                    storage);
  ASSERT_EQ(decoded.topics.size(), 2u);
  EXPECT_FALSE(decoded.topics[0].assignments.has_value());
  ASSERT_TRUE(decoded.topics[1].assignments.has_value());
  EXPECT_EQ(decoded.topics[1].assignments->at(0).broker_ids, (std::vector<int32_t>{1}));
}

TEST(CreatePartitions, V1ResponseBytes) {
  CreatePartitionsResponse response;
  response.throttle_time_ms = 2;
  response.results.push_back({"foo", 37, std::string("bad")});
  response.results.push_back({"x", 0, std::nullopt});
  ByteVec storage;
  auto decoded = expect_exact_bytes(response, 1,
                                    "00000002"                      // throttle time
                                    "00000002"                      // results: 2
                                    "0003 666f6f 0025 0003 626164"  //   "foo", 37, "bad"
                                    "0001 78 0000 ffff",            //   "x", 0, null
                                    storage);
  EXPECT_FALSE(decoded.results.at(1).error_message.has_value());
}

}  // namespace
}  // namespace kb::protocol
