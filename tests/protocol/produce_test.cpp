#include "kb/protocol/messages/produce.hpp"

#include <gtest/gtest.h>

#include "message_test_util.hpp"

namespace kb::protocol {
namespace {

using test::ByteVec;
using test::decode_message;
using test::expect_exact_bytes;
using test::from_hex;
using test::hex;

TEST(Produce, V11RequestBytes) {
  const uint8_t records[] = {0x01, 0x02, 0x03};
  ProduceRequest request;
  request.acks = -1;
  request.timeout_ms = 30000;
  auto& topic = request.topic_data.emplace_back();
  topic.name = "foo";
  topic.partition_data.push_back({0, wire::Bytes(records)});
  ByteVec storage;
  auto decoded = expect_exact_bytes(request, 11,
                                    "00"         // transactional id: null
                                    "ffff"       // acks -1
                                    "00007530"   // timeout 30000
                                    "02"         // topic data: 1
                                    "04 666f6f"  //   name "foo"
                                    "02"         //   partition data: 1
                                    "00000000"   //     index
                                    "04 010203"  //     records: 3 bytes
                                    "00"         //     tagged fields
                                    "00"         //   tagged fields
                                    "00",        // tagged fields
                                    storage);
  EXPECT_FALSE(decoded.transactional_id.has_value());
  EXPECT_EQ(decoded.acks, -1);
  ASSERT_EQ(decoded.topic_data.size(), 1u);
  ASSERT_EQ(decoded.topic_data[0].partition_data.size(), 1u);
  ASSERT_TRUE(decoded.topic_data[0].partition_data[0].records.has_value());
  EXPECT_EQ(hex(*decoded.topic_data[0].partition_data[0].records), "01 02 03");
  // The records are a view into the request bytes.
  EXPECT_EQ(decoded.topic_data[0].partition_data[0].records->data(), storage.data() + 18);
}

TEST(Produce, V3RequestTransactionalIdAndNullRecords) {
  ProduceRequest request;
  request.transactional_id = "tx";
  request.acks = 1;
  request.timeout_ms = 5;
  request.topic_data.emplace_back().partition_data.push_back({7, std::nullopt});
  request.topic_data[0].name = "t";
  ByteVec storage;
  auto decoded = expect_exact_bytes(request, 3,
                                    "0002 7478"  // transactional id "tx"
                                    "0001"       // acks
                                    "00000005"   // timeout
                                    "00000001"   // topic data: 1
                                    "0001 74"    //   name "t"
                                    "00000001"   //   partition data: 1
                                    "00000007"   //     index
                                    "ffffffff",  //     records: null
                                    storage);
  EXPECT_EQ(decoded.transactional_id, std::optional<std::string_view>("tx"));
  EXPECT_FALSE(decoded.topic_data.at(0).partition_data.at(0).records.has_value());
}

TEST(Produce, V8ResponseWithRecordErrors) {
  ProduceResponse response;
  auto& topic = response.responses.emplace_back();
  topic.name = "foo";
  auto& partition = topic.partition_responses.emplace_back();
  partition.error_code = 87;
  partition.base_offset = 5;
  partition.log_start_offset = 0;
  partition.record_errors.push_back({2, "bad"});
  ByteVec storage;
  auto decoded = expect_exact_bytes(response, 8,
                                    "00000001"          // responses: 1
                                    "0003 666f6f"       //   name "foo"
                                    "00000001"          //   partitions: 1
                                    "00000000"          //     index
                                    "0057"              //     error code 87
                                    "0000000000000005"  //     base offset
                                    "ffffffffffffffff"  //     log append time -1
                                    "0000000000000000"  //     log start offset
                                    "00000001"          //     record errors: 1
                                    "00000002"          //       batch index
                                    "0003 626164"       //       message "bad"
                                    "ffff"              //     error message: null
                                    "00000000",         // throttle time
                                    storage);
  const auto& p = decoded.responses.at(0).partition_responses.at(0);
  ASSERT_EQ(p.record_errors.size(), 1u);
  EXPECT_EQ(p.record_errors[0].batch_index_error_message, std::optional<std::string>("bad"));
  EXPECT_FALSE(p.error_message.has_value());
}

TEST(Produce, V10ResponseTaggedLeaderAndEndpoints) {
  ProduceResponse response;
  auto& partition = response.responses.emplace_back().partition_responses.emplace_back();
  response.responses[0].name = "t";
  partition.error_code = 6;  // not leader
  partition.current_leader = {2, 3};
  response.node_endpoints.push_back({2, "b", 1, std::string("r")});
  ByteVec storage;
  auto decoded = expect_exact_bytes(response, 10,
                                    "02 02 74"                       // responses: 1, name "t"
                                    "02 00000000 0006"               //   partition 0, error 6
                                    "0000000000000000"               //     base offset
                                    "ffffffffffffffff"               //     log append time
                                    "ffffffffffffffff"               //     log start offset
                                    "01"                             //     record errors: none
                                    "00"                             //     error message: null
                                    "01 00 09 00000002 00000003 00"  //  tag 0: leader {2, 3}
                                    "00"                             //   tagged fields
                                    "00000000"                       // throttle time
                                    "01 00 0e"                       // tag 0, 14 bytes:
                                    "02 00000002 02 62 00000001 02 72 00",  // [{2, "b", 1, "r"}]
                                    storage);
  EXPECT_EQ(decoded.responses.at(0).partition_responses.at(0).current_leader,
            (ProduceResponse::LeaderIdAndEpoch{2, 3}));
  ASSERT_EQ(decoded.node_endpoints.size(), 1u);
  EXPECT_EQ(decoded.node_endpoints[0], response.node_endpoints[0]);
}

}  // namespace
}  // namespace kb::protocol
