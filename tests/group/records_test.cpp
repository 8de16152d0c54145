#include "kb/group/records.hpp"

#include <gtest/gtest.h>

namespace kb::group {
namespace {

TEST(GroupRecords, JavaStringHashOverUtf16CodeUnits) {
  EXPECT_EQ(java_string_hash(""), 0);
  EXPECT_EQ(java_string_hash("a"), 97);
  EXPECT_EQ(java_string_hash("hello"), 99162322);
  // U+00E9 is one UTF-16 unit; U+1F600 is a surrogate pair.
  EXPECT_EQ(java_string_hash("\xc3\xa9"), 0xE9);
  EXPECT_EQ(java_string_hash("\xf0\x9f\x98\x80"), 31 * 0xD83D + 0xDE00);
}

TEST(GroupRecords, PartitionForIsKafkasAbsModulo) {
  // "polygenelubricants".hashCode() is Integer.MIN_VALUE: Kafka's abs gives 0.
  EXPECT_EQ(java_string_hash("polygenelubricants"), INT32_MIN);
  EXPECT_EQ(offsets_partition_for("polygenelubricants", 50), 0);
  // A negative hash: abs before the modulo.
  const int32_t h = java_string_hash("console-consumer-12345");
  const int32_t expected = (h < 0 ? -h : h) % 50;
  EXPECT_EQ(offsets_partition_for("console-consumer-12345", 50), expected);
  EXPECT_EQ(offsets_partition_for("hello", 50), 99162322 % 50);
}

TEST(GroupRecords, OffsetCommitRoundTripsInKafkasFormat) {
  std::vector<uint8_t> key = encode_key(OffsetCommitKey{"g", "t", 3});
  // [int16 version 1][string g][string t][int32 3]
  EXPECT_EQ(key, (std::vector<uint8_t>{0, 1, 0, 1, 'g', 0, 1, 't', 0, 0, 0, 3}));
  auto decoded = decode_key(key);
  ASSERT_TRUE(std::holds_alternative<OffsetCommitKey>(decoded));
  EXPECT_EQ(std::get<OffsetCommitKey>(decoded).partition, 3);

  std::vector<uint8_t> value = encode_value(OffsetCommitValue{42, 7, "meta", 1000, -1, {}});
  EXPECT_EQ(value[0], 0);
  EXPECT_EQ(value[1], 3);
  auto v = decode_offset_commit_value(value);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->offset, 42);
  EXPECT_EQ(v->leader_epoch, 7);
  EXPECT_EQ(v->metadata, "meta");
  EXPECT_EQ(v->commit_timestamp, 1000);
}

TEST(GroupRecords, ReadsOlderAndFlexibleValueVersions) {
  // OffsetCommitValue v1: offset, metadata, commit and expire timestamps.
  std::vector<uint8_t> v1{0, 1, 0, 0, 0, 0, 0,    0,    0,    5,    0,    0,    0,    0,
                          0, 0, 0, 0, 0, 9, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  auto v = decode_offset_commit_value(v1);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->offset, 5);
  EXPECT_EQ(v->commit_timestamp, 9);
  // v4 is flexible: compact string, tagged fields at the end.
  std::vector<uint8_t> v4{0, 4, 0,   0, 0, 0, 0, 0, 0, 6, 0, 0, 0,
                          1, 2, 'x', 0, 0, 0, 0, 0, 0, 0, 3, 0};
  v = decode_offset_commit_value(v4);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->offset, 6);
  EXPECT_EQ(v->leader_epoch, 1);
  EXPECT_EQ(v->metadata, "x");
  EXPECT_EQ(v->commit_timestamp, 3);
  EXPECT_FALSE(decode_offset_commit_value(std::vector<uint8_t>{0, 9}));
  EXPECT_FALSE(decode_offset_commit_value(std::vector<uint8_t>{0, 3, 1}));
}

TEST(GroupRecords, GroupMetadataRoundTrips) {
  GroupMetadataValue value;
  value.protocol_type = "consumer";
  value.generation = 4;
  value.protocol = "range";
  value.leader = "m1";
  value.current_state_timestamp = 77;
  value.members.push_back({"m1", "i1", "client", "/127.0.0.1", 300000, 45000, {1, 2}, {3}});
  auto bytes = encode_value(value);
  EXPECT_EQ(bytes[1], 3);
  auto decoded = decode_group_metadata_value(bytes);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->generation, 4);
  EXPECT_EQ(decoded->protocol, "range");
  ASSERT_EQ(decoded->members.size(), 1u);
  EXPECT_EQ(decoded->members[0].group_instance_id, "i1");
  EXPECT_EQ(decoded->members[0].subscription, (std::vector<uint8_t>{1, 2}));
  EXPECT_EQ(decoded->members[0].assignment, (std::vector<uint8_t>{3}));
  auto key = decode_key(encode_key(GroupMetadataKey{"grp"}));
  ASSERT_TRUE(std::holds_alternative<GroupMetadataKey>(key));
  EXPECT_EQ(std::get<GroupMetadataKey>(key).group, "grp");
}

TEST(GroupRecords, SubscriptionTopicsOfEveryConsumerProtocolVersion) {
  // v3 as a Java consumer sends it: topics, user data (null), owned
  // partitions, generation, rack; newer versions read as the known format.
  const std::vector<uint8_t> v3{0,    3,                               // version
                                0,    0,    0,    2,    0, 1, 't',     // topics: "t"
                                0,    2,    'u',  'v',                 //         "uv"
                                0xff, 0xff, 0xff, 0xff,                // user data: null
                                0,    0,    0,    1,    0, 1, 't',     // owned partitions: t
                                0,    0,    0,    1,    0, 0, 0,   0,  //   [0]
                                0,    0,    0,    5,                   // generation
                                0xff, 0xff};                           // rack: null
  EXPECT_EQ(subscription_topics(v3), (std::vector<std::string>{"t", "uv"}));
  std::vector<uint8_t> v9 = v3;
  v9[1] = 9;
  EXPECT_EQ(subscription_topics(v9), (std::vector<std::string>{"t", "uv"}));
  const std::vector<uint8_t> v0_none{0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff};
  EXPECT_EQ(subscription_topics(v0_none), std::vector<std::string>{});

  // Whatever the version says, version 0 is read: a negative one too, and
  // what follows version 0's fields is not looked at (a cut v3 still reads).
  const std::vector<uint8_t> minus_one{0xff, 0xff, 0, 0, 0, 1, 0, 1, 'a', 0xff, 0xff, 0xff, 0xff};
  EXPECT_EQ(subscription_topics(minus_one), std::vector<std::string>{"a"});
  const std::vector<uint8_t> v3_cut(v3.begin(), v3.begin() + 20);
  EXPECT_EQ(subscription_topics(v3_cut), (std::vector<std::string>{"t", "uv"}));

  EXPECT_FALSE(subscription_topics(std::vector<uint8_t>{}));
  EXPECT_FALSE(subscription_topics(std::vector<uint8_t>{0}));  // version cut
  EXPECT_FALSE(subscription_topics(std::vector<uint8_t>{0, 0, 0, 0, 0, 1, 0, 5, 'a'}));  // cut
  EXPECT_FALSE(subscription_topics(std::vector<uint8_t>{0, 0, 0x7f, 0, 0, 0}));  // count too big
  // Version 0 has user data (nullable bytes): without it, not a subscription.
  EXPECT_FALSE(subscription_topics(std::vector<uint8_t>{0, 1, 0, 0, 0, 1, 0, 1, 'a'}));
  EXPECT_FALSE(subscription_topics(
      std::vector<uint8_t>{0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0}));  // null topics
}

TEST(GroupRecords, MemberMetadataClassicMetadataIsATaggedNullableStruct) {
  // A consumer-protocol member: the classic metadata null, written as Kafka
  // writes it (tag 0, size 1, varint 0), and read back null.
  ConsumerGroupMemberMetadataValue member;
  member.client_id = "c";
  member.classic_member_metadata.reset();
  const std::vector<uint8_t> bytes = encode_value(member);
  ASSERT_GE(bytes.size(), 4u);
  EXPECT_EQ(std::vector<uint8_t>(bytes.end() - 4, bytes.end()), (std::vector<uint8_t>{1, 0, 1, 0}));
  auto decoded = decode_consumer_group_value<ConsumerGroupMemberMetadataValue>(bytes);
  ASSERT_TRUE(decoded);
  EXPECT_FALSE(decoded->classic_member_metadata);
  EXPECT_EQ(*decoded, member);

  // Without the tag (its count 0): Kafka's default, an empty classic metadata.
  std::vector<uint8_t> untagged(bytes.begin(), bytes.end() - 4);
  untagged.push_back(0);
  decoded = decode_consumer_group_value<ConsumerGroupMemberMetadataValue>(untagged);
  ASSERT_TRUE(decoded);
  ASSERT_TRUE(decoded->classic_member_metadata);
  EXPECT_EQ(decoded->classic_member_metadata->session_timeout_ms, 0);

  // A classic member's metadata: marker 1, then the struct.
  member.classic_member_metadata.emplace();
  member.classic_member_metadata->session_timeout_ms = 45000;
  decoded = decode_consumer_group_value<ConsumerGroupMemberMetadataValue>(encode_value(member));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, member);
}

}  // namespace
}  // namespace kb::group
