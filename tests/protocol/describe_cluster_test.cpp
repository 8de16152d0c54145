#include "kb/protocol/messages/describe_cluster.hpp"

#include <gtest/gtest.h>

#include "message_test_util.hpp"

namespace kb::protocol {
namespace {

using test::ByteVec;
using test::expect_exact_bytes;

TEST(DescribeCluster, RequestBytes) {
  DescribeClusterRequest request;
  request.include_cluster_authorized_operations = true;
  request.endpoint_type = 2;
  ByteVec storage;
  expect_exact_bytes(request, 0, "01 00", storage);
  auto decoded = expect_exact_bytes(request, 1, "01 02 00", storage);
  EXPECT_EQ(decoded.endpoint_type, 2);
}

TEST(DescribeCluster, V1ResponseBytes) {
  DescribeClusterResponse response;
  response.cluster_id = "c";
  response.controller_id = 1;
  response.brokers.push_back({1, "h", 9092, std::nullopt});
  ByteVec storage;
  expect_exact_bytes(response, 1,
                     "00000000 0000 00"                  // throttle, no error, null message
                     "01"                                // endpoint type: brokers
                     "02 63 00000001"                    // cluster "c", controller 1
                     "02 00000001 02 68 00002384 00 00"  // broker 1 "h":9092, rack null
                     "80000000"                          // authorized operations: unset
                     "00",                               // tagged fields
                     storage);
}

}  // namespace
}  // namespace kb::protocol
