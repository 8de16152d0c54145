// The code scripts/gen_messages.py writes for the made-up schemas in
// gen_messages/schemas (gen_messages_test.py checks the generator still writes
// exactly this header): the bytes it reads and writes are the protocol's, byte
// by byte, for nested structs, a common struct, nullable fields from a middle
// version, tagged fields (scalar, string, struct, from a later version) and a
// field removed in a later version.
#include "protocol/gen_messages/expected/heartbeat_fixture.hpp"

#include <gtest/gtest.h>

#include "message_test_util.hpp"

namespace kb::protocol::gen_fixture {
namespace {

using test::ByteVec;
using test::expect_exact_bytes;

TEST(GeneratedFixture, RoundTripsAtEveryVersion) {
  test::expect_round_trips_at_every_version<HeartbeatRequest>();
  test::expect_round_trips_at_every_version<HeartbeatResponse>();
}

TEST(GeneratedFixture, TruncationsFailAtEveryLength) {
  test::expect_truncations_fail<HeartbeatRequest>();
  test::expect_truncations_fail<HeartbeatResponse>();
}

TEST(GeneratedFixture, UnknownTagsAreSkipped) {
  test::expect_unknown_tags_skipped<HeartbeatRequest>();
  test::expect_unknown_tags_skipped<HeartbeatResponse>();
}

TEST(GeneratedFixture, V1RequestBeforeFlexibleVersions) {
  HeartbeatRequest request;
  request.group_id = "g";
  HeartbeatRequest::FixtureTopic topic;
  topic.name = "t";
  topic.partitions = {5};
  topic.owner.host = "h";
  request.topics.emplace({topic});
  ByteVec storage;
  auto decoded = expect_exact_bytes(request, 1,
                                    "0001 67"                              // group_id
                                    " 00000001 0001 74 00000001 00000005"  // topic, partitions
                                    " 0001 68 00002384"                    // owner: h, 9092
                                    " ffff"                                // note: null
                                    " ffffffff"                            // old_weight: -1
                                    " 7fffffffffffffff",                   // throttle_hint
                                    storage);
  ASSERT_TRUE(decoded.topics.has_value());
  ASSERT_EQ(decoded.topics->size(), 1u);
  EXPECT_EQ((*decoded.topics)[0].owner.port, 9092);
  EXPECT_FALSE(decoded.note.has_value());
}

TEST(GeneratedFixture, NullIsRefusedAndNeverWrittenBeforeItsVersion) {
  // v0: topics may not be null. An unset field goes out as an empty array...
  HeartbeatRequest request;
  ByteVec storage;
  auto decoded = expect_exact_bytes(request, 0, "0000 00000000 ffffffff 7fffffffffffffff", storage);
  ASSERT_TRUE(decoded.topics.has_value());
  EXPECT_TRUE(decoded.topics->empty());
  // ...and a null one does not decode, as Kafka's readers refuse it.
  const ByteVec null_topics = test::from_hex("0000 ffffffff ffffffff 7fffffffffffffff");
  HeartbeatRequest refused;
  EXPECT_FALSE(test::decode_message(null_topics, refused, 0));
  // From v1 null is allowed and stays null.
  HeartbeatRequest at_v1;
  EXPECT_TRUE(test::decode_message(test::from_hex("0000 ffffffff ffff ffffffff 7fffffffffffffff"),
                                   at_v1, 1));
  EXPECT_FALSE(at_v1.topics.has_value());
}

TEST(GeneratedFixture, V2RequestWithATaggedStruct) {
  HeartbeatRequest request;
  HeartbeatRequest::FixtureTopic topic;
  topic.name = "t";
  topic.owner.host = "h";
  topic.owner.port = 1;
  topic.owner.is_fenced = false;
  request.topics.emplace({topic});
  const ByteVec payload = {0xab};
  request.payload = wire::Bytes(payload);
  request.leader.leader_id = 3;
  request.leader.hosts = {"a"};
  ByteVec storage;
  auto decoded = expect_exact_bytes(request, 2,
                                    "01"                        // group_id: ""
                                    " 02 02 74 01"              // one topic "t", no partitions
                                    " 02 68 00000001 00 00 00"  // owner, its tags, the topic's
                                    " 00 ffffffff"              // note: null, old_weight -1
                                    " 7fffffffffffffff 02 ab"   // throttle_hint, payload
                                    " 01 02 08 00000003 02 02 61 00",  // tag 2: the leader
                                    storage);
  EXPECT_EQ(decoded.leader.leader_id, 3);
  ASSERT_EQ(decoded.leader.hosts.size(), 1u);
  EXPECT_EQ(decoded.leader.hosts[0], "a");
  EXPECT_FALSE(decoded.rack.has_value());
}

TEST(GeneratedFixture, V3RequestDropsARemovedFieldAndTagsFromALaterVersion) {
  HeartbeatRequest request;
  request.group_id = "g";
  request.note = "n";
  request.throttle_hint = 1;
  request.rack = "r";
  request.epoch = 7;
  ByteVec storage;
  auto decoded = expect_exact_bytes(request, 3,
                                    "02 67 00 02 6e"        // group_id, topics: null, note
                                    " 0000000000000001 00"  // throttle_hint, payload: null
                                    " 02 00 02 02 72"       // tag 0: rack
                                    " 01 04 00000007",      // tag 1: epoch
                                    storage);
  EXPECT_FALSE(decoded.topics.has_value());
  EXPECT_EQ(decoded.rack, std::optional<std::string_view>("r"));
  EXPECT_EQ(decoded.epoch, 7);
  // At v2 the epoch has no tag: it is not written.
  request.epoch = -1;
  const ByteVec v2 = test::encode_message(request, 2);
  request.epoch = 7;
  EXPECT_EQ(test::hex(test::encode_message(request, 2)), test::hex(v2));
}

TEST(GeneratedFixture, V0AndV2Responses) {
  HeartbeatResponse response;
  response.error_code = 3;
  response.endpoints.push_back({"x", 2});
  response.assignment = {1, 2};
  ByteVec storage;
  expect_exact_bytes(response, 0, "0003 00000001 0001 78 00000002 00000002 0102 ffffffff", storage);

  HeartbeatResponse v2;
  v2.cursor = HeartbeatResponse::FixtureCursor{5};
  v2.coordinator = {"c", 9};
  auto decoded = expect_exact_bytes(v2, 2,
                                    "00000000 0000 01 01 00"   // throttle, error, [], b"", null
                                    " 01 0000000000000005 00"  // cursor
                                    " 01 00 07 02 63 00000009 00",  // tag 0: coordinator
                                    storage);
  ASSERT_TRUE(decoded.cursor.has_value());
  EXPECT_EQ(decoded.cursor->offset, 5);
  EXPECT_EQ(decoded.coordinator.host, "c");
}

}  // namespace
}  // namespace kb::protocol::gen_fixture
