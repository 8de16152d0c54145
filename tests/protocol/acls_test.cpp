#include "kb/protocol/messages/acls.hpp"

#include <gtest/gtest.h>

#include "message_test_util.hpp"

namespace kb::protocol {
namespace {

using test::ByteVec;
using test::expect_exact_bytes;

// Every topic ACL, as Kafka's AdminClient asks (ResourcePatternFilter TOPIC,
// any name, ANY pattern; AccessControlEntryFilter.ANY).
TEST(DescribeAcls, V0V1AndV2RequestBytes) {
  DescribeAclsRequest request;
  request.resource_type_filter = 2;
  request.pattern_type_filter = 1;
  request.operation = 1;
  request.permission_type = 1;
  ByteVec storage;
  expect_exact_bytes(request, 1, "02 ffff 01 ffff ffff 01 01", storage);
  expect_exact_bytes(request, 2, "02 00 01 00 00 01 01 00", storage);
  request.resource_name_filter = "t";
  auto v0 = expect_exact_bytes(request, 0, "02 0001 74 ffff ffff 01 01", storage);
  EXPECT_EQ(v0.pattern_type_filter, kLiteralPatternType);  // v0 has no pattern type
}

TEST(DescribeAcls, V1AndV3ResponseBytes) {
  DescribeAclsResponse response;
  response.error_code = 54;
  response.error_message = "x";
  ByteVec storage;
  expect_exact_bytes(response, 3, "00000000 0036 02 78 01 00", storage);
  response.error_code = 0;
  response.error_message.reset();
  response.resources.push_back({2, "t", 3, {{"u", "*", 3, 3}}});
  auto decoded = expect_exact_bytes(
      response, 1, "00000000 0000 ffff 00000001 02 0001 74 03 00000001 0001 75 0001 2a 03 03",
      storage);
  EXPECT_EQ(decoded.resources.at(0).acls.at(0).host, "*");
}

TEST(CreateAcls, V1AndV2Bytes) {
  CreateAclsRequest request;
  request.creations.push_back({2, "t", 3, "u", "*", 3, 3});
  ByteVec storage;
  expect_exact_bytes(request, 1, "00000001 02 0001 74 03 0001 75 0001 2a 03 03", storage);
  expect_exact_bytes(request, 2, "02 02 02 74 03 02 75 02 2a 03 03 00 00", storage);

  CreateAclsResponse response;
  response.results.push_back({54, "x"});
  expect_exact_bytes(response, 1, "00000000 00000001 0036 0001 78", storage);
  expect_exact_bytes(response, 2, "00000000 02 0036 02 78 00 00", storage);
}

TEST(DeleteAcls, V1AndV2Bytes) {
  DeleteAclsRequest request;
  request.filters.push_back({2, "t", 3, std::nullopt, std::nullopt, 1, 1});
  ByteVec storage;
  expect_exact_bytes(request, 1, "00000001 02 0001 74 03 ffff ffff 01 01", storage);
  expect_exact_bytes(request, 2, "02 02 02 74 03 00 00 01 01 00 00", storage);

  DeleteAclsResponse response;
  response.filter_results.push_back({54, "x", {}});
  expect_exact_bytes(response, 1, "00000000 00000001 0036 0001 78 00000000", storage);
  response.filter_results[0] = {0, std::nullopt, {{0, std::nullopt, 2, "t", 3, "u", "*", 3, 3}}};
  expect_exact_bytes(response, 2,
                     "00000000 02 0000 00 02 0000 00 02 02 74 03 02 75 02 2a 03 03 00 00 00",
                     storage);
}

}  // namespace
}  // namespace kb::protocol
