#include "kb/protocol/messages/describe_configs.hpp"

#include <gtest/gtest.h>

#include "message_test_util.hpp"

namespace kb::protocol {
namespace {

using test::ByteVec;
using test::expect_exact_bytes;

TEST(DescribeConfigs, V1RequestBytes) {
  DescribeConfigsRequest request;
  request.resources.push_back({2, "foo", std::vector<std::string_view>{"a"}});
  request.resources.push_back({4, "1", std::nullopt});
  request.include_synonyms = true;
  ByteVec storage;
  auto decoded = expect_exact_bytes(request, 1,
                                    "00000002"             // resources: 2
                                    "02 0003 666f6f"       //   topic "foo"
                                    "00000001 0001 61"     //   keys: ["a"]
                                    "04 0001 31 ffffffff"  //   broker "1", keys: null
                                    "01",                  // include synonyms
                                    storage);
  ASSERT_EQ(decoded.resources.size(), 2u);
  EXPECT_FALSE(decoded.resources[1].configuration_keys.has_value());
  EXPECT_TRUE(decoded.include_synonyms);
}

TEST(DescribeConfigs, V4RequestBytes) {
  DescribeConfigsRequest request;
  request.resources.push_back({2, "t", std::nullopt});
  request.include_documentation = true;
  ByteVec storage;
  expect_exact_bytes(request, 4,
                     "02"           // resources: 1
                     "02 02 74 00"  //   topic "t", keys: null
                     "00"           //   tagged fields
                     "00 01"        // synonyms no, documentation yes
                     "00",          // tagged fields
                     storage);
}

TEST(DescribeConfigs, V0ResponseHasIsDefaultAndNoSource) {
  DescribeConfigsResponse response;
  auto& r = response.results.emplace_back();
  r.resource_type = 2;
  r.resource_name = "t";
  auto& c = r.configs.emplace_back();
  c.name = "a";
  c.value = "b";
  c.is_default = true;
  c.config_source = 5;
  ByteVec storage;
  expect_exact_bytes(response, 0,
                     "00000000"         // throttle
                     "00000001"         // results: 1
                     "0000 ffff"        //   no error, null message
                     "02 0001 74"       //   topic "t"
                     "00000001"         //   configs: 1
                     "0001 61 0001 62"  //     "a" = "b"
                     "00 01 00",        //     read only no, default yes, sensitive no
                     storage);
}

TEST(DescribeConfigs, V3ResponseHasSynonymsTypeAndDocumentation) {
  DescribeConfigsResponse response;
  auto& r = response.results.emplace_back();
  r.resource_type = 4;
  r.resource_name = "1";
  auto& c = r.configs.emplace_back();
  c.name = "a";
  c.value = std::nullopt;
  c.config_source = 4;
  c.synonyms.push_back({"b", std::string("c"), 4});
  c.config_type = 3;
  c.documentation = "d";
  ByteVec storage;
  expect_exact_bytes(response, 3,
                     "00000000 00000001"            // throttle, results: 1
                     "0000 ffff 04 0001 31"         //   broker "1"
                     "00000001"                     //   configs: 1
                     "0001 61 ffff"                 //     "a" = null
                     "00 04 00"                     //     read only, source 4, sensitive
                     "00000001 0001 62 0001 63 04"  // synonyms: b=c (4)
                     "03 0001 64",                  //     type int, doc "d"
                     storage);
}

}  // namespace
}  // namespace kb::protocol
