#include "kb/protocol/messages/alter_configs.hpp"

#include <gtest/gtest.h>

#include "kb/protocol/messages/incremental_alter_configs.hpp"
#include "message_test_util.hpp"

namespace kb::protocol {
namespace {

using test::ByteVec;
using test::expect_exact_bytes;

TEST(AlterConfigs, V0RequestBytes) {
  AlterConfigsRequest request;
  auto& topic = request.resources.emplace_back();
  topic.resource_type = 2;
  topic.resource_name = "foo";
  topic.configs.push_back({"a", std::string_view("1")});
  topic.configs.push_back({"b", std::nullopt});
  request.validate_only = true;
  ByteVec storage;
  auto decoded = expect_exact_bytes(request, 0,
                                    "00000001"         // resources: 1
                                    "02 0003 666f6f"   //   topic "foo"
                                    "00000002"         //   configs: 2
                                    "0001 61 0001 31"  //     a=1
                                    "0001 62 ffff"     //     b=null
                                    "01",              // validate only
                                    storage);
  ASSERT_EQ(decoded.resources.at(0).configs.size(), 2u);
  EXPECT_FALSE(decoded.resources[0].configs[1].value.has_value());
  EXPECT_TRUE(decoded.validate_only);
}

TEST(AlterConfigs, V2ResponseBytes) {
  AlterConfigsResponse response;
  response.responses.push_back({40, std::string("bad"), 2, "t"});
  ByteVec storage;
  auto decoded = expect_exact_bytes(response, 2,
                                    "00000000"       // throttle time
                                    "02"             // responses: 1
                                    "0028 04626164"  //   INVALID_CONFIG, "bad"
                                    "02 02 74"       //   topic "t"
                                    "00"             //   tagged fields
                                    "00",            // tagged fields
                                    storage);
  EXPECT_EQ(decoded.responses.at(0).error_message, "bad");
}

TEST(IncrementalAlterConfigs, V1RequestBytes) {
  IncrementalAlterConfigsRequest request;
  auto& topic = request.resources.emplace_back();
  topic.resource_type = 2;
  topic.resource_name = "t";
  topic.configs.push_back({"r", 0, std::string_view("5")});
  topic.configs.push_back({"c", 1, std::nullopt});
  ByteVec storage;
  auto decoded = expect_exact_bytes(request, 1,
                                    "02"                 // resources: 1
                                    "02 02 74"           //   topic "t"
                                    "03"                 //   configs: 2
                                    "02 72 00 02 35 00"  //     r SET "5"
                                    "02 63 01 00 00"     //     c DELETE null
                                    "00"                 //   tagged fields
                                    "00"                 // validate only
                                    "00",                // tagged fields
                                    storage);
  ASSERT_EQ(decoded.resources.at(0).configs.size(), 2u);
  EXPECT_EQ(decoded.resources[0].configs[1].config_operation, 1);
  EXPECT_FALSE(decoded.resources[0].configs[1].value.has_value());
}

TEST(IncrementalAlterConfigs, V0ResponseBytes) {
  IncrementalAlterConfigsResponse response;
  response.throttle_time_ms = 1;
  response.responses.push_back({0, std::nullopt, 4, "1"});
  ByteVec storage;
  auto decoded = expect_exact_bytes(response, 0,
                                    "00000001"     // throttle time
                                    "00000001"     // responses: 1
                                    "0000 ffff"    //   no error, null message
                                    "04 0001 31",  //   broker "1"
                                    storage);
  EXPECT_FALSE(decoded.responses.at(0).error_message.has_value());
}

}  // namespace
}  // namespace kb::protocol
