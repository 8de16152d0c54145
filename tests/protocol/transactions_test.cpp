#include "kb/protocol/messages/transactions.hpp"

#include <gtest/gtest.h>

#include "message_test_util.hpp"

namespace kb::protocol {
namespace {

using test::ByteVec;
using test::expect_exact_bytes;

TEST(AddPartitionsToTxn, V3RequestBytes) {
  AddPartitionsToTxnRequest request;
  request.v3_and_below_transactional_id = "tx";
  request.v3_and_below_producer_id = 5;
  request.v3_and_below_producer_epoch = 1;
  request.v3_and_below_topics.push_back({"t", {0, 2}});
  ByteVec storage;
  auto decoded = expect_exact_bytes(request, 3,
                                    "03 7478"               // transactional id "tx" (compact)
                                    "0000000000000005"      // producer id
                                    "0001"                  // epoch
                                    "02"                    // one topic
                                    "02 74"                 // "t"
                                    "03 00000000 00000002"  // partitions 0, 2
                                    "00"                    // topic tags
                                    "00",                   // request tags
                                    storage);
  EXPECT_EQ(decoded.v3_and_below_topics[0].partitions, (std::vector<int32_t>{0, 2}));
}

TEST(AddPartitionsToTxn, V4BatchesTransactions) {
  AddPartitionsToTxnRequest request;
  AddPartitionsToTxnRequest::AddPartitionsToTxnTransaction txn;
  txn.transactional_id = "a";
  txn.producer_id = 1;
  txn.producer_epoch = 0;
  txn.verify_only = true;
  txn.topics.push_back({"t", {3}});
  request.transactions.push_back(txn);
  ByteVec storage;
  auto decoded = expect_exact_bytes(request, 4,
                                    "02"                       // one transaction
                                    "02 61"                    // "a"
                                    "0000000000000001"         // producer id
                                    "0000"                     // epoch
                                    "01"                       // verify only
                                    "02 02 74 02 00000003 00"  // topic "t", partition 3
                                    "00"                       // transaction tags
                                    "00",                      // request tags
                                    storage);
  ASSERT_EQ(decoded.transactions.size(), 1U);
  EXPECT_TRUE(decoded.transactions[0].verify_only);
}

TEST(EndTxn, V5ResponseCarriesTheProducer) {
  EndTxnResponse response;
  response.error_code = 0;
  response.producer_id = 9;
  response.producer_epoch = 2;
  ByteVec storage;
  expect_exact_bytes(response, 5, "00000000 0000 0000000000000009 0002 00", storage);
  expect_exact_bytes(response, 0, "00000000 0000", storage);
}

TEST(TxnOffsetCommit, V3RequestBytes) {
  TxnOffsetCommitRequest request;
  request.transactional_id = "x";
  request.group_id = "g";
  request.producer_id = 7;
  request.producer_epoch = 0;
  request.generation_id = 4;
  request.member_id = "m";
  TxnOffsetCommitRequest::TxnOffsetCommitRequestPartition p;
  p.partition_index = 1;
  p.committed_offset = 42;
  p.committed_leader_epoch = -1;
  request.topics.push_back({"t", {}, {p}});
  ByteVec storage;
  auto decoded = expect_exact_bytes(request, 3,
                                    "02 78 02 67"  // "x", "g"
                                    "0000000000000007 0000"
                                    "00000004 02 6d 00"  // generation, "m", instance null
                                    "02 02 74"           // one topic "t"
                                    "02 00000001 000000000000002a ffffffff 00 00"  // partition
                                    "00 00",  // topic tags, request tags
                                    storage);
  EXPECT_EQ(decoded.topics[0].partitions[0].committed_offset, 42);
  EXPECT_FALSE(decoded.topics[0].partitions[0].committed_metadata.has_value());

  // v6 names the topic by id in place of its name (KIP-1319).
  request.topics[0].topic_id.bytes.fill(0xab);
  ByteVec by_id_storage;
  auto by_id = expect_exact_bytes(request, 6,
                                  "02 78 02 67"  // "x", "g"
                                  "0000000000000007 0000"
                                  "00000004 02 6d 00"  // generation, "m", instance null
                                  "02 abababababababababababababababab"          // one topic, by id
                                  "02 00000001 000000000000002a ffffffff 00 00"  // partition
                                  "00 00",  // topic tags, request tags
                                  by_id_storage);
  EXPECT_EQ(by_id.topics[0].topic_id, request.topics[0].topic_id);
  EXPECT_TRUE(by_id.topics[0].name.empty());
}

}  // namespace
}  // namespace kb::protocol
