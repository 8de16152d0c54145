#include "kb/protocol/messages/metadata.hpp"

#include <gtest/gtest.h>

#include "message_test_util.hpp"

namespace kb::protocol {
namespace {

using test::ByteVec;
using test::decode_message;
using test::expect_exact_bytes;
using test::from_hex;

TEST(Metadata, V12ResponseBytes) {
  MetadataResponse response;
  response.brokers.push_back({1, "localhost", 9092, std::nullopt});
  response.cluster_id = "c1";
  response.controller_id = 1;
  auto& topic = response.topics.emplace_back();
  topic.name = "foo";
  for (uint8_t i = 0; i < 16; ++i) topic.topic_id.bytes[i] = static_cast<uint8_t>(0x10 + i);
  auto& partition = topic.partitions.emplace_back();
  partition.leader_id = 1;
  partition.leader_epoch = 0;
  partition.replica_nodes = {1};
  partition.isr_nodes = {1};
  ByteVec storage;
  auto decoded = expect_exact_bytes(response, 12,
                                    "00000000"                          // throttle time
                                    "02"                                // brokers: 1
                                    "00000001"                          //   node id
                                    "0a 6c6f63616c686f7374"             //   host "localhost"
                                    "00002384"                          //   port 9092
                                    "00"                                //   rack: null
                                    "00"                                //   tagged fields
                                    "03 6331"                           // cluster id "c1"
                                    "00000001"                          // controller id
                                    "02"                                // topics: 1
                                    "0000"                              //   error code
                                    "04 666f6f"                         //   name "foo"
                                    "101112131415161718191a1b1c1d1e1f"  //   topic id
                                    "00"                                //   is internal
                                    "02"                                //   partitions: 1
                                    "0000"                              //     error code
                                    "00000000"                          //     partition index
                                    "00000001"                          //     leader id
                                    "00000000"                          //     leader epoch
                                    "02 00000001"                       //     replicas [1]
                                    "02 00000001"                       //     isr [1]
                                    "01"                                //     offline replicas []
                                    "00"                                //     tagged fields
                                    "80000000"  //   topic authorized operations: unset
                                    "00"        //   tagged fields
                                    "00",       // tagged fields (no cluster operations after v10)
                                    storage);
  ASSERT_EQ(decoded.brokers.size(), 1u);
  EXPECT_EQ(decoded.brokers[0].host, "localhost");
  EXPECT_EQ(decoded.cluster_id, std::optional<std::string>("c1"));
  ASSERT_EQ(decoded.topics.size(), 1u);
  EXPECT_EQ(decoded.topics[0].name, std::optional<std::string>("foo"));
  EXPECT_EQ(decoded.topics[0].topic_authorized_operations, INT32_MIN);
}

TEST(Metadata, V12ResponseNullTopicName) {
  MetadataResponse response;
  response.topics.emplace_back().error_code = 100;  // unknown topic id
  ByteVec storage;
  auto decoded =
      expect_exact_bytes(response, 12,
                         "00000000 01 00 ffffffff"  // throttle, brokers, cluster, controller
                         "02 0064 00"               // topics: 1, error 100, name null
                         "00000000000000000000000000000000"  // topic id
                         "00 01 80000000 00"                 // internal, partitions, ops, tags
                         "00",
                         storage);
  EXPECT_FALSE(decoded.topics.at(0).name.has_value());
}

TEST(Metadata, V0AndV1RequestBytes) {
  MetadataRequest request;
  request.topics.emplace().push_back({wire::Uuid{}, "foo"});
  ByteVec storage;
  expect_exact_bytes(request, 0, "00000001 0003 666f6f", storage);

  MetadataRequest all;  // null topics: every topic (v1+)
  auto decoded = expect_exact_bytes(all, 1, "ffffffff", storage);
  EXPECT_FALSE(decoded.topics.has_value());
}

TEST(Metadata, V12RequestBytes) {
  MetadataRequest request;
  request.topics.emplace().push_back({wire::Uuid{}, "foo"});
  request.include_topic_authorized_operations = true;
  ByteVec storage;
  auto decoded = expect_exact_bytes(request, 12,
                                    "02"                                // topics: 1
                                    "00000000000000000000000000000000"  //   topic id
                                    "04 666f6f"                         //   name "foo"
                                    "00"                                //   tagged fields
                                    "01"                                // allow auto creation
                                    "01"                                // topic operations
                                    "00",                               // tagged fields
                                    storage);
  ASSERT_TRUE(decoded.topics.has_value());
  EXPECT_EQ(decoded.topics->at(0).name, std::optional<std::string_view>("foo"));
  EXPECT_TRUE(decoded.allow_auto_topic_creation);
}

TEST(Metadata, V9To10HaveClusterOperationsV11DoesNot) {
  MetadataRequest request;
  request.include_cluster_authorized_operations = true;
  MetadataRequest decoded;
  ByteVec v10 = test::encode_message(request, 10);
  ASSERT_TRUE(decode_message(v10, decoded, 10));
  EXPECT_TRUE(decoded.include_cluster_authorized_operations);
  ByteVec v11 = test::encode_message(request, 11);
  EXPECT_EQ(v11.size() + 1, v10.size());
}

}  // namespace
}  // namespace kb::protocol
