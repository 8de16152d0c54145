#include "kb/protocol/messages/describe_topic_partitions.hpp"

#include <gtest/gtest.h>

#include "message_test_util.hpp"

namespace kb::protocol {
namespace {

using test::ByteVec;
using test::decode_message;
using test::expect_exact_bytes;
using test::from_hex;

TEST(DescribeTopicPartitions, V0RequestOneTopicNullCursor) {
  DescribeTopicPartitionsRequest request;
  request.topics.push_back({"foo"});
  ByteVec storage;
  auto decoded = expect_exact_bytes(request, 0,
                                    "02"         // topics: 1 (compact)
                                    "04 666f6f"  //   name "foo"
                                    "00"         //   tagged fields
                                    "000007d0"   // response partition limit 2000
                                    "ff"         // cursor: null
                                    "00",        // tagged fields
                                    storage);
  ASSERT_EQ(decoded.topics.size(), 1u);
  EXPECT_EQ(decoded.topics[0].name, "foo");
  EXPECT_EQ(decoded.response_partition_limit, 2000);
  EXPECT_FALSE(decoded.cursor.has_value());
}

TEST(DescribeTopicPartitions, V0RequestWithCursor) {
  DescribeTopicPartitionsRequest request;
  request.response_partition_limit = 1;
  request.cursor.emplace();
  request.cursor->topic_name = "bar";
  request.cursor->partition_index = 3;
  ByteVec storage;
  auto decoded = expect_exact_bytes(request, 0,
                                    "01"         // topics: none
                                    "00000001"   // response partition limit
                                    "01"         // cursor: present
                                    "04 626172"  //   topic name "bar"
                                    "00000003"   //   partition index
                                    "00"         //   tagged fields
                                    "00",        // tagged fields
                                    storage);
  ASSERT_TRUE(decoded.cursor.has_value());
  EXPECT_EQ(decoded.cursor->topic_name, "bar");
  EXPECT_EQ(decoded.cursor->partition_index, 3);
}

TEST(DescribeTopicPartitions, UnknownTagInsideATopicIsSkipped) {
  const ByteVec bytes = from_hex(
      "02 04 666f6f"
      "01 07 02 beef"  // one unknown tag (7) of two bytes
      "000007d0 ff 00");
  DescribeTopicPartitionsRequest request;
  ASSERT_TRUE(decode_message(bytes, request, 0));
  ASSERT_EQ(request.topics.size(), 1u);
  EXPECT_EQ(request.topics[0].name, "foo");
}

// Kafka's readers take tags in any order (only its writers sort them).
TEST(DescribeTopicPartitions, TagsOutOfOrderAreRead) {
  const ByteVec bytes = from_hex("01 000007d0 ff  02 05 00 03 00");
  DescribeTopicPartitionsRequest request;
  EXPECT_TRUE(decode_message(bytes, request, 0));
  EXPECT_EQ(request.response_partition_limit, 2000);
}

TEST(DescribeTopicPartitions, V0ResponseOneTopicOnePartition) {
  DescribeTopicPartitionsResponse response;
  auto& topic = response.topics.emplace_back();
  topic.name = "foo";
  for (uint8_t i = 0; i < 16; ++i) topic.topic_id.bytes[i] = i;
  topic.topic_authorized_operations = 0x0df8;
  auto& partition = topic.partitions.emplace_back();
  partition.leader_id = 1;
  partition.leader_epoch = 5;
  partition.replica_nodes = {1};
  partition.isr_nodes = {1};
  ByteVec storage;
  auto decoded = expect_exact_bytes(response, 0,
                                    "00000000"                          // throttle time
                                    "02"                                // topics: 1
                                    "0000"                              //   error code
                                    "04 666f6f"                         //   name "foo"
                                    "000102030405060708090a0b0c0d0e0f"  // topic id
                                    "00"                                //   is internal
                                    "02"                                //   partitions: 1
                                    "0000"                              //     error code
                                    "00000000"                          //     partition index
                                    "00000001"                          //     leader id
                                    "00000005"                          //     leader epoch
                                    "02 00000001"                       //  replica nodes [1]
                                    "02 00000001"                       //  isr nodes [1]
                                    "00"        //     eligible leader replicas: null
                                    "00"        //     last known elr: null
                                    "01"        //     offline replicas: []
                                    "00"        //     tagged fields
                                    "00000df8"  //   topic authorized operations
                                    "00"        //   tagged fields
                                    "ff"        // next cursor: null
                                    "00",       // tagged fields
                                    storage);
  ASSERT_EQ(decoded.topics.size(), 1u);
  EXPECT_EQ(decoded.topics[0].name, "foo");
  EXPECT_EQ(decoded.topics[0].topic_id, topic.topic_id);
  ASSERT_EQ(decoded.topics[0].partitions.size(), 1u);
  EXPECT_EQ(decoded.topics[0].partitions[0].leader_epoch, 5);
  EXPECT_FALSE(decoded.topics[0].partitions[0].eligible_leader_replicas.has_value());
  EXPECT_FALSE(decoded.next_cursor.has_value());
}

}  // namespace
}  // namespace kb::protocol
