#include "kb/handlers/groups.hpp"

#include <gtest/gtest.h>

#include "kb/protocol/header.hpp"

namespace kb::handlers {
namespace {

using namespace kb::protocol;

constexpr int16_t kUnknownMemberId = 25;
constexpr int16_t kInvalidGroupId = 24;
constexpr int16_t kCoordinatorNotAvailable = 15;
constexpr int16_t kUnknownTopicOrPartition = 3;
constexpr int16_t kMemberIdRequired = 79;
constexpr int16_t kNonEmptyGroup = 68;
constexpr int16_t kGroupIdNotFound = 69;
constexpr int16_t kUnknownTopicId = 100;

// The version-dependent shapes of the group APIs' answers, with a
// coordinator but no store.
class GroupHandlersTest : public ::testing::Test {
 protected:
  GroupHandlersTest() : coordinator_(config()) {
    state_.topics.add_topic("t", wire::Uuid{});
    cluster::PartitionInfo p;
    state_.topics.set_partition(wire::Uuid{}, p);
  }
  static group::GroupConfig config() {
    group::GroupConfig c;
    c.initial_rebalance_delay_ms = 0;
    return c;
  }
  RequestContext context(int32_t correlation_id = 1) {
    header_ = RequestHeader{11, 0, correlation_id, "client"};
    RequestContext ctx{header_, registry_, state_, Clock::now(), Clock::now(), true, {}};
    ctx.connection_id = 7;
    ctx.client_host = "/127.0.0.1";
    ctx.groups = &coordinator_;
    return ctx;
  }
  JoinGroupRequest join(std::string_view member_id) {
    JoinGroupRequest r;
    r.group_id = "g";
    r.session_timeout_ms = 10000;
    r.rebalance_timeout_ms = 10000;
    r.member_id = member_id;
    r.protocol_type = "consumer";
    r.protocols.push_back({"range", metadata_});
    return r;
  }

  std::vector<uint8_t> metadata_{1, 2};
  ApiRegistry registry_;
  cluster::BrokerState state_;
  RequestHeader header_;
  group::GroupCoordinator coordinator_;
};

TEST_F(GroupHandlersTest, JoinGroupShapesByVersion) {
  auto ctx = context();
  // v0-3: a member id is handed out at once; the join completes (one member).
  auto v2 = *handle_join_group(ctx, join(""), 2);
  EXPECT_EQ(v2.error_code, 0);
  EXPECT_FALSE(v2.member_id.empty());
  EXPECT_EQ(v2.protocol_name, "range");
  EXPECT_FALSE(v2.protocol_type);  // not in v2

  // v4+: MEMBER_ID_REQUIRED; before v7 the protocol name is an empty string, not null.
  auto ctx2 = context(2);
  auto v6 = *handle_join_group(ctx2, join(""), 6);
  EXPECT_EQ(v6.error_code, kMemberIdRequired);
  EXPECT_EQ(v6.protocol_name, "");
  auto ctx3 = context(3);
  auto v7 = *handle_join_group(ctx3, join(""), 7);
  EXPECT_EQ(v7.error_code, kMemberIdRequired);
  EXPECT_FALSE(v7.protocol_name);

  // An unknown member id is echoed with UNKNOWN_MEMBER_ID.
  auto ctx4 = context(4);
  auto unknown = *handle_join_group(ctx4, join("stranger"), 9);
  EXPECT_EQ(unknown.error_code, kUnknownMemberId);
  EXPECT_EQ(unknown.member_id, "stranger");
}

TEST_F(GroupHandlersTest, ParkedJoinWaitsThenAnswersAndGivesUpWithRebalanceInProgress) {
  auto ctx = context(1);
  auto first = *handle_join_group(ctx, join(""), 2);
  SyncGroupRequest sync;
  sync.group_id = "g";
  sync.generation_id = first.generation_id;
  sync.member_id = first.member_id;
  ASSERT_EQ(handle_sync_group(ctx, sync, 1)->error_code, 0);

  auto second_ctx = context(2);
  second_ctx.connection_id = 8;
  EXPECT_FALSE(handle_join_group(second_ctx, join(""), 2));
  ASSERT_TRUE(second_ctx.wait_until);
  // The time is up without the first member rejoining: the parked join gives up.
  auto last_ctx = context(2);
  last_ctx.connection_id = 8;
  last_ctx.may_wait = false;
  auto given_up = handle_join_group(last_ctx, join(""), 2);
  ASSERT_TRUE(given_up);
  EXPECT_EQ(given_up->error_code, 27);
}

TEST_F(GroupHandlersTest, LeaveGroupOldVersionsAnswerAtTopLevel) {
  auto ctx = context();
  LeaveGroupRequest leave;
  leave.group_id = "g";
  leave.member_id = "nobody";
  EXPECT_EQ(handle_leave_group(ctx, leave, 1)->error_code, kUnknownMemberId);
  leave.members.push_back({"nobody", std::nullopt, std::nullopt});
  auto v3 = *handle_leave_group(ctx, leave, 3);
  EXPECT_EQ(v3.error_code, 0);
  ASSERT_EQ(v3.members.size(), 1u);
  EXPECT_EQ(v3.members[0].error_code, kUnknownMemberId);
}

TEST_F(GroupHandlersTest, OffsetCommitAndFetchAtOldVersions) {
  auto ctx = context();
  OffsetCommitRequest commit;
  commit.group_id = "simple";
  auto& t = commit.topics.emplace_back();
  t.name = "t";
  t.partitions.push_back({0, 12, -1, -1, std::string_view("m")});
  t.partitions.push_back({5, 13, -1, -1, std::nullopt});  // no such partition
  auto committed = *handle_offset_commit(ctx, commit, 2);
  EXPECT_EQ(committed.topics.at(0).partitions.at(0).error_code, 0);
  EXPECT_EQ(committed.topics.at(0).partitions.at(1).error_code, kUnknownTopicOrPartition);
  commit.group_id = "";
  EXPECT_EQ(handle_offset_commit(ctx, commit, 2)->topics.at(0).partitions.at(0).error_code,
            kInvalidGroupId);

  OffsetFetchRequest fetch;
  fetch.group_id = "simple";
  fetch.topics.emplace();
  fetch.topics->push_back({"t", {0, 1}});
  auto v1 = *handle_offset_fetch(ctx, fetch, 1);
  ASSERT_EQ(v1.topics.size(), 1u);
  EXPECT_EQ(v1.topics[0].partitions.at(0).committed_offset, 12);
  EXPECT_EQ(v1.topics[0].partitions.at(0).metadata, "m");
  EXPECT_EQ(v1.topics[0].partitions.at(1).committed_offset, -1);
  fetch.topics.reset();  // v2+: null is every committed offset
  auto v2 = *handle_offset_fetch(ctx, fetch, 2);
  ASSERT_EQ(v2.topics.size(), 1u);
  EXPECT_EQ(v2.topics[0].partitions.size(), 1u);
}

// OffsetCommit 10 and OffsetFetch 10 name topics by id (KIP-848), as Kafka's
// KafkaApis resolves them: an unknown id is UNKNOWN_TOPIC_ID for each of its
// partitions, a known one commits and answers under the topic's name, and
// the offsets of every committed topic leave out topics that are gone.
TEST_F(GroupHandlersTest, OffsetCommitAndFetchByTopicIdAtV10) {
  wire::Uuid u_id, gone_id, unknown_id;
  u_id.bytes.fill(0x11);
  gone_id.bytes.fill(0x22);
  unknown_id.bytes.fill(0x33);
  state_.topics.add_topic("u", u_id);
  state_.topics.add_topic("gone", gone_id);
  for (const wire::Uuid& id : {u_id, gone_id}) {
    cluster::PartitionInfo p;
    state_.topics.set_partition(id, p);
  }
  auto ctx = context();

  OffsetCommitRequest commit;
  commit.group_id = "simple";
  auto& u = commit.topics.emplace_back();
  u.topic_id = u_id;
  u.partitions.push_back({0, 21, -1, -1, std::string_view("m")});
  u.partitions.push_back({4, 22, -1, -1, std::nullopt});  // no such partition
  auto& unknown = commit.topics.emplace_back();
  unknown.topic_id = unknown_id;
  unknown.partitions.push_back({0, 23, -1, -1, std::nullopt});
  unknown.partitions.push_back({1, 24, -1, -1, std::nullopt});
  auto committed = *handle_offset_commit(ctx, commit, 10);
  ASSERT_EQ(committed.topics.size(), 2u);
  EXPECT_EQ(committed.topics[0].topic_id, u_id);
  EXPECT_EQ(committed.topics[0].partitions.at(0).error_code, 0);
  EXPECT_EQ(committed.topics[0].partitions.at(1).error_code, kUnknownTopicOrPartition);
  EXPECT_EQ(committed.topics[1].topic_id, unknown_id);
  EXPECT_EQ(committed.topics[1].partitions.at(0).error_code, kUnknownTopicId);
  EXPECT_EQ(committed.topics[1].partitions.at(1).error_code, kUnknownTopicId);
  // A name at v9 commits to the same topic; "gone" is deleted below.
  OffsetCommitRequest by_name;
  by_name.group_id = "simple";
  auto& gone = by_name.topics.emplace_back();
  gone.name = "gone";
  gone.partitions.push_back({0, 31, -1, -1, std::nullopt});
  EXPECT_EQ(handle_offset_commit(ctx, by_name, 9)->topics.at(0).partitions.at(0).error_code, 0);
  ASSERT_TRUE(state_.topics.remove_topic(gone_id));

  OffsetFetchRequest fetch;
  auto& g = fetch.groups.emplace_back();
  g.group_id = "simple";
  g.topics.emplace();
  g.topics->push_back({"", u_id, {0, 1}});
  g.topics->push_back({"", unknown_id, {0}});
  auto v10 = *handle_offset_fetch(ctx, fetch, 10);
  ASSERT_EQ(v10.groups.size(), 1u);
  const auto& topics = v10.groups[0].topics;
  ASSERT_EQ(topics.size(), 2u);
  EXPECT_EQ(topics[0].topic_id, u_id);
  EXPECT_EQ(topics[0].partitions.at(0).committed_offset, 21);
  EXPECT_EQ(topics[0].partitions.at(0).metadata, "m");
  EXPECT_EQ(topics[0].partitions.at(0).error_code, 0);
  EXPECT_EQ(topics[0].partitions.at(1).committed_offset, -1);
  EXPECT_EQ(topics[1].topic_id, unknown_id);
  ASSERT_EQ(topics[1].partitions.size(), 1u);
  EXPECT_EQ(topics[1].partitions[0].error_code, kUnknownTopicId);
  EXPECT_EQ(topics[1].partitions[0].committed_offset, -1);
  EXPECT_EQ(topics[1].partitions[0].committed_leader_epoch, -1);

  // Every committed offset: by name (v9) the deleted topic's are listed,
  // by id (v10) they are not, and the rest carry their topic's id.
  g.topics.reset();
  auto all_v9 = *handle_offset_fetch(ctx, fetch, 9);
  ASSERT_EQ(all_v9.groups.at(0).topics.size(), 2u);
  EXPECT_EQ(all_v9.groups[0].topics[0].name, "gone");
  EXPECT_EQ(all_v9.groups[0].topics[1].name, "u");
  auto all_v10 = *handle_offset_fetch(ctx, fetch, 10);
  ASSERT_EQ(all_v10.groups.at(0).topics.size(), 1u);
  EXPECT_EQ(all_v10.groups[0].topics[0].topic_id, u_id);
  ASSERT_EQ(all_v10.groups[0].topics[0].partitions.size(), 1u);
  EXPECT_EQ(all_v10.groups[0].topics[0].partitions[0].committed_offset, 21);
}

TEST_F(GroupHandlersTest, DeleteGroupsAnswersEachGroup) {
  auto ctx = context();
  OffsetCommitRequest commit;
  commit.group_id = "simple";
  commit.topics.push_back({"t", {}, {{0, 12, -1, -1, std::nullopt}}});
  ASSERT_EQ(handle_offset_commit(ctx, commit, 2)->topics.at(0).partitions.at(0).error_code, 0);
  ASSERT_EQ(handle_join_group(ctx, join(""), 2)->error_code, 0);  // "g" has a member

  DeleteGroupsRequest request;
  request.groups_names = {"simple", "g", "nope", ""};
  auto response = *handle_delete_groups(ctx, request, 2);
  ASSERT_EQ(response.results.size(), 4u);
  const std::vector<std::pair<std::string, int16_t>> expected{
      {"simple", 0}, {"g", kNonEmptyGroup}, {"nope", kGroupIdNotFound}, {"", kInvalidGroupId}};
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(response.results[i].group_id, expected[i].first);
    EXPECT_EQ(response.results[i].error_code, expected[i].second) << expected[i].first;
  }
  EXPECT_FALSE(coordinator_.find("simple"));
  // The same request at v0: what was deleted is now not found.
  EXPECT_EQ(handle_delete_groups(ctx, request, 0)->results.at(0).error_code, kGroupIdNotFound);
}

TEST_F(GroupHandlersTest, OffsetDeleteAnswersPartitionsOfUnknownTopicsItself) {
  auto ctx = context();
  OffsetCommitRequest commit;
  commit.group_id = "simple";
  commit.topics.push_back({"t", {}, {{0, 12, -1, -1, std::nullopt}}});
  handle_offset_commit(ctx, commit, 2);
  commit.group_id = "kept";
  handle_offset_commit(ctx, commit, 2);

  OffsetDeleteRequest request;
  request.group_id = "simple";
  request.topics.push_back({"x", {{1}, {2}}});  // no such topic
  request.topics.push_back({"t", {{0}}});
  auto response = *handle_offset_delete(ctx, request, 0);
  EXPECT_EQ(response.error_code, 0);
  ASSERT_EQ(response.topics.size(), 2u);
  EXPECT_EQ(response.topics[0].name, "x");
  ASSERT_EQ(response.topics[0].partitions.size(), 2u);
  EXPECT_EQ(response.topics[0].partitions[1].partition_index, 2);
  EXPECT_EQ(response.topics[0].partitions[1].error_code, kUnknownTopicOrPartition);
  ASSERT_EQ(response.topics[1].partitions.size(), 1u);
  EXPECT_EQ(response.topics[1].partitions[0].error_code, 0);
  // Its last offset went; the group stays until the offsets cleanup (Kafka 4.x).
  ASSERT_TRUE(coordinator_.find("simple"));
  EXPECT_TRUE(coordinator_.find("simple")->offsets.empty());
  EXPECT_TRUE(coordinator_.find("kept"));

  // A group-level error stands alone.
  request.group_id = "missing";
  auto unknown = *handle_offset_delete(ctx, request, 0);
  EXPECT_EQ(unknown.error_code, kGroupIdNotFound);
  EXPECT_TRUE(unknown.topics.empty());
  request.group_id = "";
  EXPECT_EQ(handle_offset_delete(ctx, request, 0)->error_code, kInvalidGroupId);
}

// A consumer group (KIP-848) beside a classic one: its heartbeat answers
// with the assignment by topic id, ListGroups gives each its type and state
// (and filters by type), ConsumerGroupDescribe describes only the consumer
// group, DescribeGroups answers Dead for it, and OffsetFetch v9 checks the
// member's epoch.
TEST_F(GroupHandlersTest, ConsumerGroupsBesideClassicGroups) {
  auto ctx = context();
  auto joined = *handle_join_group(ctx, join(""), 2);  // classic group "g"
  ASSERT_EQ(joined.error_code, 0);

  ConsumerGroupHeartbeatRequest beat;
  beat.group_id = "cg";
  beat.member_id = "m1";
  beat.member_epoch = 0;
  beat.rebalance_timeout_ms = 30000;
  beat.subscribed_topic_names = std::vector<std::string_view>{"t"};
  beat.topic_partitions.emplace();
  auto ctx2 = context(2);
  auto hb = *handle_consumer_group_heartbeat(ctx2, beat, 1);
  EXPECT_EQ(hb.error_code, 0);
  EXPECT_EQ(hb.member_id, "m1");
  EXPECT_EQ(hb.member_epoch, 1);
  EXPECT_EQ(hb.heartbeat_interval_ms, 5000);
  ASSERT_TRUE(hb.assignment);
  ASSERT_EQ(hb.assignment->topic_partitions.size(), 1u);
  EXPECT_EQ(hb.assignment->topic_partitions[0].partitions, std::vector<int32_t>{0});

  auto ctx3 = context(3);
  ListGroupsRequest list;
  auto all = *handle_list_groups(ctx3, list, 5);
  ASSERT_EQ(all.groups.size(), 2u);
  EXPECT_EQ(all.groups[0].group_id, "cg");
  EXPECT_EQ(all.groups[0].group_type, "consumer");
  EXPECT_EQ(all.groups[0].protocol_type, "consumer");
  EXPECT_EQ(all.groups[0].group_state, "Stable");
  EXPECT_EQ(all.groups[1].group_type, "classic");
  list.types_filter = {"CONSUMER"};
  auto consumers = *handle_list_groups(ctx3, list, 5);
  ASSERT_EQ(consumers.groups.size(), 1u);
  EXPECT_EQ(consumers.groups[0].group_id, "cg");
  list.types_filter.clear();
  list.states_filter = {"stable"};  // the classic group awaits its SyncGroup
  auto stable = *handle_list_groups(ctx3, list, 5);
  ASSERT_EQ(stable.groups.size(), 1u);
  EXPECT_EQ(stable.groups[0].group_id, "cg");

  ConsumerGroupDescribeRequest describe;
  describe.group_ids = {"cg", "g", "none"};
  auto described = *handle_consumer_group_describe(ctx3, describe, 1);
  ASSERT_EQ(described.groups.size(), 3u);
  EXPECT_EQ(described.groups[0].error_code, 0);
  EXPECT_EQ(described.groups[0].group_state, "Stable");
  EXPECT_EQ(described.groups[0].group_epoch, 1);
  EXPECT_EQ(described.groups[0].assignor_name, "uniform");
  ASSERT_EQ(described.groups[0].members.size(), 1u);
  EXPECT_EQ(described.groups[0].members[0].member_type, 1);
  EXPECT_EQ(described.groups[0].members[0].assignment.topic_partitions[0].topic_name, "t");
  EXPECT_EQ(described.groups[1].error_code, kGroupIdNotFound);
  EXPECT_EQ(described.groups[1].error_message, "Group g is not a consumer group.");
  EXPECT_EQ(described.groups[2].error_code, kGroupIdNotFound);

  DescribeGroupsRequest classic_describe;
  classic_describe.groups = {"cg", "none", "g"};
  auto v5 = *handle_describe_groups(ctx3, classic_describe, 5);
  EXPECT_EQ(v5.groups[0].group_state, "Dead");
  EXPECT_EQ(v5.groups[0].error_code, 0);
  EXPECT_EQ(v5.groups[1].error_code, 0);
  // v6 (KIP-1043): GROUP_ID_NOT_FOUND with the reason, as Kafka's coordinator.
  auto v6 = *handle_describe_groups(ctx3, classic_describe, 6);
  ASSERT_EQ(v6.groups.size(), 3u);
  EXPECT_EQ(v6.groups[0].group_state, "Dead");
  EXPECT_EQ(v6.groups[0].error_code, kGroupIdNotFound);
  EXPECT_EQ(v6.groups[0].error_message, "Group cg is not a classic group.");
  EXPECT_EQ(v6.groups[1].error_code, kGroupIdNotFound);
  EXPECT_EQ(v6.groups[1].error_message, "Group none not found.");
  EXPECT_EQ(v6.groups[2].error_code, 0);  // the classic group
  EXPECT_FALSE(v6.groups[2].error_message.has_value());

  OffsetFetchRequest fetch;
  auto& g = fetch.groups.emplace_back();
  g.group_id = "cg";
  g.member_id = "m1";
  g.member_epoch = 0;
  EXPECT_EQ(handle_offset_fetch(ctx3, fetch, 9)->groups[0].error_code, 113);  // STALE_MEMBER_EPOCH
  fetch.groups[0].member_epoch = 1;
  EXPECT_EQ(handle_offset_fetch(ctx3, fetch, 9)->groups[0].error_code, 0);
}

TEST_F(GroupHandlersTest, WithoutACoordinatorEverythingIsUnavailable) {
  auto ctx = context();
  ctx.groups = nullptr;
  EXPECT_EQ(handle_join_group(ctx, join(""), 9)->error_code, kCoordinatorNotAvailable);
  HeartbeatRequest hb;
  EXPECT_EQ(handle_heartbeat(ctx, hb, 4)->error_code, kCoordinatorNotAvailable);
  FindCoordinatorRequest find;
  find.coordinator_keys = {"g"};
  EXPECT_EQ(handle_find_coordinator(ctx, find, 4)->coordinators.at(0).error_code,
            kCoordinatorNotAvailable);
  SyncGroupRequest sync;
  EXPECT_EQ(handle_sync_group(ctx, sync, 5)->error_code, kCoordinatorNotAvailable);
  DeleteGroupsRequest del;
  del.groups_names = {"g"};
  EXPECT_EQ(handle_delete_groups(ctx, del, 2)->results.at(0).error_code, kCoordinatorNotAvailable);
  OffsetDeleteRequest offsets;
  offsets.group_id = "g";
  EXPECT_EQ(handle_offset_delete(ctx, offsets, 0)->error_code, kCoordinatorNotAvailable);
}

}  // namespace
}  // namespace kb::handlers
