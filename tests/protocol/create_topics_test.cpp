#include "kb/protocol/messages/create_topics.hpp"

#include <gtest/gtest.h>

#include "message_test_util.hpp"

namespace kb::protocol {
namespace {

using test::ByteVec;
using test::expect_exact_bytes;

TEST(CreateTopics, V5RequestBytes) {
  CreateTopicsRequest request;
  auto& topic = request.topics.emplace_back();
  topic.name = "foo";
  topic.num_partitions = 3;
  topic.replication_factor = 1;
  topic.configs.push_back({"cleanup.policy", "compact"});
  topic.configs.push_back({"x", std::nullopt});
  ByteVec storage;
  auto decoded = expect_exact_bytes(request, 5,
                                    "02"                               // topics: 1
                                    "04 666f6f"                        //   name "foo"
                                    "00000003"                         //   partitions
                                    "0001"                             //   replication
                                    "01"                               //   assignments: none
                                    "03"                               //   configs: 2
                                    "0f 636c65616e75702e706f6c696379"  //     "cleanup.policy"
                                    "08 636f6d70616374 00"             //     "compact"
                                    "02 78 00 00"                      //     "x", null
                                    "00"                               //   tagged fields
                                    "0000ea60"                         // timeout 60000
                                    "00"                               // validate only
                                    "00",                              // tagged fields
                                    storage);
  ASSERT_EQ(decoded.topics.size(), 1u);
  const auto& t = decoded.topics[0];
  EXPECT_EQ(t.name, "foo");
  ASSERT_EQ(t.configs.size(), 2u);
  EXPECT_EQ(t.configs[0].value, std::optional<std::string_view>("compact"));
  EXPECT_FALSE(t.configs[1].value.has_value());
}

TEST(CreateTopics, V0RequestWithAssignments) {
  CreateTopicsRequest request;
  auto& topic = request.topics.emplace_back();
  topic.name = "t";
  topic.num_partitions = -1;
  topic.replication_factor = -1;
  topic.assignments.push_back({0, {1, 2}});
  request.timeout_ms = 100;
  ByteVec storage;
  expect_exact_bytes(request, 0,
                     "00000001 0001 74 ffffffff ffff"  // topics: 1, "t", -1, -1
                     "00000001 00000000"               //   assignments: 1, partition 0
                     "00000002 00000001 00000002"      //     brokers [1, 2]
                     "00000000"                        //   configs: none
                     "00000064",                       // timeout 100
                     storage);
}

TEST(CreateTopics, V7ResponseBytes) {
  CreateTopicsResponse response;
  auto& result = response.topics.emplace_back();
  result.name = "foo";
  result.topic_id.bytes[15] = 1;
  result.num_partitions = 3;
  result.replication_factor = 1;
  result.topic_config_error_code = 29;
  auto& config = result.configs.emplace().emplace_back();
  config.name = "a";
  config.value = "b";
  config.config_source = 5;
  ByteVec storage;
  auto decoded = expect_exact_bytes(response, 7,
                                    "00000000"                          // throttle time
                                    "02"                                // topics: 1
                                    "04 666f6f"                         //   name "foo"
                                    "00000000000000000000000000000001"  //   topic id
                                    "0000"                              //   error code
                                    "00"                                //   error message: null
                                    "00000003"                          //   partitions
                                    "0001"                              //   replication
                                    "02"                                //   configs: 1
                                    "02 61 02 62"                       //     "a" = "b"
                                    "00 05 00"                          //     ro, source, sensitive
                                    "00"                                //     tagged fields
                                    "01 00 02 001d"                     //   tag 0: config error 29
                                    "00",                               // tagged fields
                                    storage);
  ASSERT_EQ(decoded.topics.size(), 1u);
  EXPECT_EQ(decoded.topics[0].topic_config_error_code, 29);
  ASSERT_TRUE(decoded.topics[0].configs.has_value());
  EXPECT_EQ(decoded.topics[0].configs->at(0).config_source, 5);
}

TEST(CreateTopics, V4ResponseBytes) {
  CreateTopicsResponse response;
  auto& result = response.topics.emplace_back();
  result.name = "t";
  result.error_code = 36;
  result.error_message = "exists";
  ByteVec storage;
  expect_exact_bytes(response, 4, "00000000 00000001 0001 74 0024 0006 657869737473", storage);
}

}  // namespace
}  // namespace kb::protocol
