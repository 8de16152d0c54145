#include "kb/protocol/messages/describe_producers.hpp"

#include <gtest/gtest.h>

#include "message_test_util.hpp"

namespace kb::protocol {
namespace {

using test::ByteVec;
using test::expect_exact_bytes;

TEST(DescribeProducers, V0Bytes) {
  DescribeProducersRequest request;
  request.topics.push_back({"t", {0, 1}});
  ByteVec storage;
  expect_exact_bytes(request, 0, "02 02 74 03 00000000 00000001 00 00", storage);

  DescribeProducersResponse response;
  auto& p = response.topics.emplace_back().partitions.emplace_back();
  response.topics[0].name = "t";
  p.active_producers.push_back({7, 1, 4, 1000, -1, -1});
  auto decoded = expect_exact_bytes(response, 0,
                                    "00000000 02 02 74"
                                    "02 00000000 0000 00"  // partition, error, null message
                                    "02 0000000000000007 00000001 00000004"
                                    "00000000000003e8 ffffffff ffffffffffffffff 00"
                                    "00 00 00",
                                    storage);
  EXPECT_EQ(decoded.topics.at(0).partitions.at(0).active_producers.at(0).last_sequence, 4);
}

}  // namespace
}  // namespace kb::protocol
