#include "kb/protocol/messages/fetch.hpp"

#include <gtest/gtest.h>

#include "message_test_util.hpp"

namespace kb::protocol {
namespace {

using test::ByteVec;
using test::decode_message;
using test::encode_message;
using test::expect_exact_bytes;
using test::from_hex;
using test::hex;

wire::Uuid counting_uuid() {
  wire::Uuid id;
  for (uint8_t i = 0; i < 16; ++i) id.bytes[i] = static_cast<uint8_t>(0xa0 + i);
  return id;
}

TEST(Fetch, V16ResponseOnePartition) {
  const uint8_t records[] = {0xaa, 0xbb, 0xcc};
  FetchResponse response;
  response.session_id = 42;
  auto& topic = response.responses.emplace_back();
  topic.topic_id = counting_uuid();
  auto& partition = topic.partitions.emplace_back();
  partition.high_watermark = 10;
  partition.last_stable_offset = 10;
  partition.log_start_offset = 0;
  partition.current_leader = {1, 7};
  partition.records = wire::Bytes(records);
  response.node_endpoints.push_back({1, "h", 9092, std::nullopt});
  ByteVec storage;
  auto decoded =
      expect_exact_bytes(response, 16,
                         "00000000"                           // throttle time
                         "0000"                               // error code
                         "0000002a"                           // session id 42
                         "02"                                 // responses: 1
                         "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"   //   topic id
                         "02"                                 //   partitions: 1
                         "00000000"                           //     partition index
                         "0000"                               //     error code
                         "000000000000000a"                   //     high watermark 10
                         "000000000000000a"                   //     last stable offset 10
                         "0000000000000000"                   //     log start offset 0
                         "00"                                 //     aborted transactions: null
                         "ffffffff"                           //     preferred read replica -1
                         "04 aabbcc"                          //     records: 3 bytes
                         "01"                                 //     tagged fields: 1
                         "01 09 00000001 00000007 00"         //       1 current leader {1, 7}
                         "00"                                 //   tagged fields
                         "01"                                 // tagged fields: 1
                         "00 0d"                              //   0 node endpoints, 13 bytes:
                         "02 00000001 02 68 00002384 00 00",  //     [{1, "h", 9092, null}]
                         storage);
  ASSERT_EQ(decoded.responses.size(), 1u);
  ASSERT_EQ(decoded.responses[0].partitions.size(), 1u);
  const auto& p = decoded.responses[0].partitions[0];
  EXPECT_EQ(p.current_leader, (FetchResponse::LeaderIdAndEpoch{1, 7}));
  EXPECT_EQ(p.diverging_epoch, FetchResponse::EpochEndOffset{});
  EXPECT_FALSE(p.aborted_transactions.has_value());
  ASSERT_TRUE(p.records.has_value());
  EXPECT_EQ(hex(*p.records), "aa bb cc");
  ASSERT_EQ(decoded.node_endpoints.size(), 1u);
  EXPECT_EQ(decoded.node_endpoints[0].port, 9092);
  EXPECT_FALSE(decoded.node_endpoints[0].rack.has_value());
}

TEST(Fetch, V4ResponseWithAbortedTransactions) {
  FetchResponse response;
  response.throttle_time_ms = 1;
  auto& topic = response.responses.emplace_back();
  topic.topic = "t";
  auto& partition = topic.partitions.emplace_back();
  partition.partition_index = 2;
  partition.high_watermark = 5;
  partition.last_stable_offset = 3;
  partition.aborted_transactions.emplace().push_back({9, 4});
  ByteVec storage;
  auto decoded = expect_exact_bytes(response, 4,
                                    "00000001"          // throttle time
                                    "00000001"          // responses: 1
                                    "0001 74"           //   topic "t"
                                    "00000001"          //   partitions: 1
                                    "00000002"          //     partition index
                                    "0000"              //     error code
                                    "0000000000000005"  //     high watermark
                                    "0000000000000003"  //     last stable offset
                                    "00000001"          //     aborted: 1
                                    "0000000000000009"  //       producer id
                                    "0000000000000004"  //       first offset
                                    "ffffffff",         //     records: null
                                    storage);
  ASSERT_EQ(decoded.responses.size(), 1u);
  EXPECT_EQ(decoded.responses[0].topic, "t");
  EXPECT_FALSE(decoded.responses[0].partitions[0].records.has_value());
}

TEST(Fetch, V15RequestBytes) {
  FetchRequest request;
  request.replica_state = {3, 8};
  request.max_wait_ms = 500;
  request.min_bytes = 1;
  request.isolation_level = 1;
  auto& topic = request.topics.emplace_back();
  topic.topic_id = counting_uuid();
  auto& partition = topic.partitions.emplace_back();
  partition.fetch_offset = 100;
  partition.partition_max_bytes = 0x100000;
  request.rack_id = "r";
  ByteVec storage;
  auto decoded = expect_exact_bytes(request, 15,
                                    "000001f4"  // max wait 500 (no replica id in v15)
                                    "00000001"  // min bytes
                                    "7fffffff"  // max bytes
                                    "01"        // isolation level
                                    "00000000"  // session id
                                    "ffffffff"  // session epoch
                                    "02"        // topics: 1
                                    "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"  // topic id
                                    "02"                                //   partitions: 1
                                    "00000000"                          //     partition
                                    "ffffffff"                          //     current leader epoch
                                    "0000000000000064"                  //     fetch offset 100
                                    "ffffffff"                          //     last fetched epoch
                                    "ffffffffffffffff"                  //     log start offset
                                    "00100000"                          //     partition max bytes
                                    "00"                                //     tagged fields
                                    "00"                                //   tagged fields
                                    "01"                                // forgotten topics: none
                                    "02 72"                             // rack id "r"
                                    "01"                                // tagged fields: 1
                                    "01 0d 00000003 0000000000000008 00",  // 1 replica state
                                    storage);
  EXPECT_EQ(decoded.replica_state, (FetchRequest::ReplicaState{3, 8}));
  EXPECT_FALSE(decoded.cluster_id.has_value());
  EXPECT_EQ(decoded.rack_id, "r");
}

TEST(Fetch, RequestKnownAndUnknownTagsInterleave) {
  // v15 with topics, forgotten topics and rack id empty, then three root tags:
  // the two known ones (0 cluster id, 1 replica state) and an unknown 2.
  const ByteVec bytes = from_hex(
      "000001f4 00000001 7fffffff 00 00000000 ffffffff 01 01 01"
      "03"                                  // tagged fields: 3
      "00 02 02 63"                         //   0 cluster id "c"
      "01 0d 00000003 0000000000000008 00"  //   1 replica state {3, 8}
      "02 01 ff");                          //   2 unknown
  FetchRequest request;
  ASSERT_TRUE(decode_message(bytes, request, 15));
  EXPECT_EQ(request.cluster_id, std::optional<std::string_view>("c"));
  EXPECT_EQ(request.replica_state.replica_id, 3);
  EXPECT_EQ(request.replica_state.replica_epoch, 8);
}

TEST(Fetch, TaggedStructCutShortFails) {
  // The replica state tag holds 4 bytes: too few for its fields.
  const ByteVec bytes = from_hex(
      "000001f4 00000001 7fffffff 00 00000000 ffffffff 01 01 01"
      "01 01 04 00000003");
  FetchRequest request;
  EXPECT_FALSE(decode_message(bytes, request, 15));
}

TEST(Fetch, V17PartitionCarriesReplicaDirectoryId) {
  FetchRequest request;
  auto& partition = request.topics.emplace_back().partitions.emplace_back();
  partition.replica_directory_id = counting_uuid();
  const ByteVec bytes = encode_message(request, 17);
  FetchRequest decoded;
  ASSERT_TRUE(decode_message(bytes, decoded, 17));
  EXPECT_EQ(decoded.topics.at(0).partitions.at(0).replica_directory_id, counting_uuid());
  // Not written before v17 (v16 is flexible but has no such tag).
  FetchRequest older;
  ASSERT_TRUE(decode_message(encode_message(request, 16), older, 16));
  EXPECT_TRUE(older.topics.at(0).partitions.at(0).replica_directory_id.is_zero());
}

}  // namespace
}  // namespace kb::protocol
