// Share groups (KIP-932): the simple assignor (partitions shared when members
// outnumber them), joins, leaves, session expiry, fencing on stale epochs,
// the share-state initialization hook, other kinds of groups refusing, and
// replay of the records written.

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kb/cluster/topic_table.hpp"
#include "kb/group/coordinator.hpp"
#include "kb/group/share_assignor.hpp"
#include "kb/group/share_group.hpp"
#include "kb/protocol/error_code.hpp"
#include "memory_store.hpp"

namespace kb::group {
namespace {

using protocol::ErrorCode;
using protocol::to_wire;

constexpr int16_t kNone = 0;

using test::count;
using test::MemoryStore;
using test::topic_id;

// --- The assignor ---------------------------------------------------------

ShareAssignorMember member_of(std::string id, std::set<wire::Uuid> topics,
                              TopicPartitionSet current = {}) {
  return {std::move(id), std::move(topics), std::move(current)};
}

TopicPartitionSet partitions(uint8_t topic, std::set<int32_t> parts) {
  return {{topic_id(topic), std::move(parts)}};
}

// How many members hold each partition.
std::map<std::pair<wire::Uuid, int32_t>, int> sharing(const GroupAssignment& a) {
  std::map<std::pair<wire::Uuid, int32_t>, int> out;
  for (const auto& [m, set] : a)
    for (const auto& [t, parts] : set)
      for (int32_t p : parts) ++out[{t, p}];
  return out;
}

TEST(SimpleAssignor, FewerMembersThanPartitionsSplitsThem) {
  ShareAssignmentSpec spec;
  spec.assignable = partitions(1, {0, 1, 2, 3, 4, 5, 6});
  for (const char* id : {"a", "b", "c"}) spec.members.push_back(member_of(id, {topic_id(1)}));
  GroupAssignment a = assign_simple(spec);
  ASSERT_EQ(a.size(), 3u);
  std::vector<size_t> sizes;
  for (const auto& [m, set] : a) sizes.push_back(count(set));
  std::sort(sizes.begin(), sizes.end());
  EXPECT_EQ(sizes, (std::vector<size_t>{2, 2, 3}));
  auto shared = sharing(a);
  EXPECT_EQ(shared.size(), 7u);
  for (const auto& [p, n] : shared) EXPECT_EQ(n, 1);
}

TEST(SimpleAssignor, MoreMembersThanPartitionsShareThem) {
  ShareAssignmentSpec spec;
  spec.assignable = partitions(1, {0});
  for (const char* id : {"a", "b", "c"}) spec.members.push_back(member_of(id, {topic_id(1)}));
  GroupAssignment a = assign_simple(spec);
  for (const auto& [m, set] : a) EXPECT_EQ(set, partitions(1, {0})) << m;

  // Five members, two partitions: each partition to three, each member one
  // or two.
  spec.assignable = partitions(1, {0, 1});
  spec.members.clear();
  for (const char* id : {"a", "b", "c", "d", "e"})
    spec.members.push_back(member_of(id, {topic_id(1)}));
  a = assign_simple(spec);
  for (const auto& [p, n] : sharing(a)) EXPECT_EQ(n, 3);
  for (const auto& [m, set] : a) {
    EXPECT_GE(count(set), 1u) << m;
    EXPECT_LE(count(set), 2u) << m;
  }
}

TEST(SimpleAssignor, KeepsABalancedAssignment) {
  ShareAssignmentSpec spec;
  spec.assignable = partitions(1, {0, 1, 2, 3});
  spec.members.push_back(member_of("a", {topic_id(1)}, partitions(1, {1, 3})));
  spec.members.push_back(member_of("b", {topic_id(1)}, partitions(1, {0, 2})));
  GroupAssignment a = assign_simple(spec);
  EXPECT_EQ(a["a"], partitions(1, {1, 3}));
  EXPECT_EQ(a["b"], partitions(1, {0, 2}));

  // A third member takes one partition from one of them; the rest stay.
  spec.members.push_back(member_of("c", {topic_id(1)}));
  a = assign_simple(spec);
  EXPECT_EQ(count(a["c"]), 1u);
  EXPECT_EQ(count(a["a"]) + count(a["b"]), 3u);
  for (int32_t p : a["a"][topic_id(1)]) EXPECT_TRUE(p == 1 || p == 3);
  for (int32_t p : a["b"][topic_id(1)]) EXPECT_TRUE(p == 0 || p == 2);
}

TEST(SimpleAssignor, OnlyAssignablePartitionsOfSubscribedTopics) {
  ShareAssignmentSpec spec;
  spec.assignable = partitions(1, {0, 2});  // partition 1 is not initialized
  spec.members.push_back(member_of("a", {topic_id(1)}, partitions(1, {0, 1})));
  GroupAssignment a = assign_simple(spec);
  EXPECT_EQ(a["a"], partitions(1, {0, 2}));
  // No subscription: nothing.
  spec.members = {member_of("a", {})};
  EXPECT_TRUE(assign_simple(spec)["a"].empty());
}

TEST(SimpleAssignor, DifferentSubscriptionsBalancePerTopic) {
  ShareAssignmentSpec spec;
  spec.assignable = partitions(1, {0, 1});
  spec.assignable[topic_id(2)] = {0, 1};
  spec.members.push_back(member_of("m1", {topic_id(1)}));
  spec.members.push_back(member_of("m2", {topic_id(2)}));
  spec.members.push_back(member_of("m3", {topic_id(1), topic_id(2)}));
  GroupAssignment a = assign_simple(spec);
  EXPECT_EQ(count(a["m1"]), 1u);
  EXPECT_EQ(count(a["m2"]), 1u);
  EXPECT_EQ(a["m3"].at(topic_id(1)).size(), 1u);
  EXPECT_EQ(a["m3"].at(topic_id(2)).size(), 1u);
  EXPECT_FALSE(a["m1"].contains(topic_id(2)));
  for (const auto& [p, n] : sharing(a)) EXPECT_EQ(n, 1);
}

// --- The state machine ----------------------------------------------------

class ShareGroupTest : public ::testing::Test {
 protected:
  ShareGroupTest() : coordinator_(std::make_unique<GroupCoordinator>(GroupConfig{}, &store_)) {
    add_topic("t", 1, 4);
  }

  void add_topic(const std::string& name, uint8_t id, int32_t count) {
    topics_.add_topic(name, topic_id(id));
    for (int32_t p = 0; p < count; ++p) {
      cluster::PartitionInfo info;
      info.partition_index = p;
      topics_.set_partition(topic_id(id), info);
    }
    ++version_;
  }

  struct Client {
    explicit Client(std::string member_id) : id(std::move(member_id)) {}
    std::string id;
    int32_t epoch = 0;
    TopicPartitionSet assigned;
  };

  ShareHeartbeatResult beat(Client& c, Millis now,
                            std::optional<std::vector<std::string_view>> topics = std::nullopt,
                            std::string_view group = "g") {
    ShareHeartbeatParams p;
    p.group_id = group;
    p.member_id = c.id;
    p.member_epoch = c.epoch;
    if (c.epoch == 0 && !topics) topics = std::vector<std::string_view>{"t"};
    p.subscribed_topic_names = topics;
    p.client_id = "client";
    p.client_host = "/127.0.0.1";
    auto r = coordinator_->share_heartbeat(p, {&topics_, version_}, now);
    if (r.error == kNone) {
      c.epoch = r.member_epoch;
      if (r.assignment) c.assigned = *r.assignment;
    }
    return r;
  }

  const ShareGroup& group() const { return *coordinator_->find_share("g"); }

  std::unique_ptr<GroupCoordinator> reload() { return test::replayed(store_); }

  MemoryStore store_;
  std::unique_ptr<GroupCoordinator> coordinator_;
  cluster::TopicTable topics_;
  int64_t version_ = 0;
};

TEST_F(ShareGroupTest, MembersJoinAndShareThePartitions) {
  Client a("member-a");
  auto r = beat(a, 0);
  ASSERT_EQ(r.error, kNone);
  EXPECT_EQ(r.member_id, "member-a");
  EXPECT_EQ(r.member_epoch, 1);
  EXPECT_EQ(r.heartbeat_interval_ms, 5000);
  ASSERT_TRUE(r.assignment);
  EXPECT_EQ(count(a.assigned), 4u);
  EXPECT_EQ(group().state_name(), "Stable");
  EXPECT_EQ(group().listed_protocol_type(), "share");
  EXPECT_EQ(to_string(group().type()), "share");

  Client b("member-b");
  ASSERT_EQ(beat(b, 100).error, kNone);
  EXPECT_EQ(b.epoch, 2);
  EXPECT_EQ(count(b.assigned), 2u);
  // a takes its new target on its next heartbeat, at once.
  r = beat(a, 200);
  ASSERT_EQ(r.error, kNone);
  EXPECT_EQ(a.epoch, 2);
  ASSERT_TRUE(r.assignment);
  EXPECT_EQ(count(a.assigned), 2u);
  // A heartbeat with nothing new has no assignment in it.
  r = beat(a, 300);
  EXPECT_FALSE(r.assignment);
  EXPECT_EQ(group().group_epoch, 2);
  EXPECT_EQ(group().assignment_epoch, 2);

  // More members than partitions: they share them.
  std::vector<Client> more;
  for (int i = 0; i < 6; ++i) more.emplace_back("member-" + std::to_string(i));
  for (auto& c : more) ASSERT_EQ(beat(c, 400).error, kNone);
  for (auto& c : more) beat(c, 500);
  beat(a, 500);
  beat(b, 500);
  std::map<int32_t, int> holders;
  for (const auto& [id, m] : group().members)
    for (int32_t p : m.assigned.at(topic_id(1))) ++holders[p];
  ASSERT_EQ(holders.size(), 4u);
  for (const auto& [p, n] : holders) EXPECT_EQ(n, 2);
  EXPECT_TRUE(coordinator_->is_share_member("g", "member-a", 600));
  EXPECT_FALSE(coordinator_->is_share_member("g", "nobody", 600));
  EXPECT_FALSE(coordinator_->is_share_member("other", "member-a", 600));
}

TEST_F(ShareGroupTest, LeaveAndSessionExpiry) {
  Client a("member-a"), b("member-b");
  beat(a, 0);
  beat(b, 0);
  beat(a, 0);
  // b leaves: epoch -1 back, the group's epoch moves, a gets everything.
  b.epoch = -1;
  auto r = beat(b, 10);
  ASSERT_EQ(r.error, kNone);
  EXPECT_EQ(r.member_epoch, -1);
  EXPECT_EQ(r.member_id, "member-b");
  EXPECT_FALSE(group().members.contains("member-b"));
  EXPECT_EQ(group().group_epoch, 3);
  beat(a, 20);
  EXPECT_EQ(count(a.assigned), 4u);
  // Leaving twice: the member is unknown.
  EXPECT_EQ(beat(b, 30).error, to_wire(ErrorCode::kUnknownMemberId));

  // a stops heartbeating: its session (45 s) ends and it is fenced.
  EXPECT_TRUE(coordinator_->next_deadline().has_value());
  coordinator_->advance(20 + 44999);
  EXPECT_TRUE(group().members.contains("member-a"));
  coordinator_->advance(20 + 45000);
  EXPECT_TRUE(group().members.empty());
  EXPECT_EQ(group().state_name(), "Empty");
  // Its next heartbeat is refused: it must rejoin.
  EXPECT_EQ(beat(a, 50000).error, to_wire(ErrorCode::kUnknownMemberId));
  a.epoch = 0;
  EXPECT_EQ(beat(a, 50000).error, kNone);
}

TEST_F(ShareGroupTest, StaleEpochsAreFenced) {
  Client a("member-a"), b("member-b");
  beat(a, 0);  // epoch 1
  beat(b, 0);  // epoch 2
  beat(a, 0);  // a: 2, previous 1
  Client stale = a;
  stale.epoch = 3;  // ahead of what the coordinator gave
  auto r = beat(stale, 1);
  EXPECT_EQ(r.error, to_wire(ErrorCode::kFencedMemberEpoch));
  EXPECT_EQ(*r.error_message,
            "The share group member has a greater member epoch (3) than the one known by the "
            "group coordinator (2). The member must abandon all its partitions and rejoin.");
  // The previous epoch is still taken (the answer with the new one was lost).
  stale.epoch = 1;
  r = beat(stale, 1);
  EXPECT_EQ(r.error, kNone);
  EXPECT_EQ(r.member_epoch, 2);
  // Older than that: fenced.
  Client b2 = b;
  beat(b, 2);
  Client c("member-c");
  beat(c, 3);    // epoch 3
  beat(b, 4);    // b: 3, previous 2
  b2.epoch = 1;  // neither its epoch nor its previous one
  r = beat(b2, 5);
  EXPECT_EQ(r.error, to_wire(ErrorCode::kFencedMemberEpoch));
  EXPECT_NE(r.error_message->find("does not match the previous member epoch (2)"),
            std::string::npos);
}

TEST_F(ShareGroupTest, RequestsKafkaRefuses) {
  Client a("member-a");
  auto invalid = [&](ShareHeartbeatParams p, std::string_view why) {
    auto r = coordinator_->share_heartbeat(p, {&topics_, version_}, 0);
    EXPECT_EQ(r.error, to_wire(ErrorCode::kInvalidRequest)) << why;
    EXPECT_EQ(r.error_message.value_or(""), why);
  };
  ShareHeartbeatParams p;
  p.group_id = "g";
  p.member_id = " ";
  invalid(p, "MemberId can't be empty.");
  p.member_id = "m";
  p.group_id = "";
  invalid(p, "GroupId can't be empty.");
  p.group_id = "g";
  p.rack_id = "";
  invalid(p, "RackId can't be empty.");
  p.rack_id.reset();
  invalid(p, "SubscribedTopicNames must be set in first request.");
  p.subscribed_topic_names = std::vector<std::string_view>{};
  invalid(p, "SubscribedTopicNames must be set in first request.");
  p.member_epoch = -2;
  invalid(p, "MemberEpoch is invalid.");

  // No such group, unless joining; an unknown member.
  a.epoch = 4;
  auto r = beat(a, 0);
  EXPECT_EQ(r.error, to_wire(ErrorCode::kGroupIdNotFound));
  EXPECT_EQ(*r.error_message, "Share group g not found.");
  a.epoch = -1;
  EXPECT_EQ(beat(a, 0).error, to_wire(ErrorCode::kGroupIdNotFound));
  a.epoch = 0;
  beat(a, 0);
  Client ghost("ghost");
  ghost.epoch = 1;
  r = beat(ghost, 0);
  EXPECT_EQ(r.error, to_wire(ErrorCode::kUnknownMemberId));
  EXPECT_EQ(*r.error_message, "Member ghost is not a member of group g.");
}

TEST_F(ShareGroupTest, MaxSize) {
  GroupConfig config;
  config.share_max_size = 2;
  coordinator_ = std::make_unique<GroupCoordinator>(config, &store_);
  Client a("a"), b("b"), c("c");
  EXPECT_EQ(beat(a, 0).error, kNone);
  EXPECT_EQ(beat(b, 0).error, kNone);
  auto r = beat(c, 0);
  EXPECT_EQ(r.error, to_wire(ErrorCode::kGroupMaxSizeReached));
  EXPECT_EQ(*r.error_message, "The share group has reached its maximum capacity of 2 members.");
  // A member already in goes on.
  EXPECT_EQ(beat(a, 1).error, kNone);
}

TEST_F(ShareGroupTest, OtherKindsOfGroupsDoNotMix) {
  Client a("member-a");
  beat(a, 0);
  // A consumer group's heartbeat naming the share group.
  ConsumerHeartbeatParams cp;
  cp.group_id = "g";
  cp.member_id = "c";
  cp.rebalance_timeout_ms = 1000;
  cp.subscribed_topic_names = std::vector<std::string_view>{"t"};
  cp.owned.emplace();
  cp.version = 1;
  auto cr = coordinator_->consumer_heartbeat(cp, {&topics_, version_}, 0);
  EXPECT_EQ(cr.error, to_wire(ErrorCode::kGroupIdNotFound));
  // Even when empty.
  a.epoch = -1;
  beat(a, 1);
  cr = coordinator_->consumer_heartbeat(cp, {&topics_, version_}, 2);
  EXPECT_EQ(cr.error, to_wire(ErrorCode::kGroupIdNotFound));
  EXPECT_EQ(*cr.error_message, "Group g is not a consumer group.");
  // JoinGroup: INCONSISTENT_GROUP_PROTOCOL, no member id.
  JoinParams jp;
  jp.group_id = "g";
  jp.session_timeout_ms = 10000;
  jp.rebalance_timeout_ms = 10000;
  jp.protocol_type = "consumer";
  auto jr = coordinator_->join({1, 1}, jp, 3);
  ASSERT_TRUE(jr.result);
  EXPECT_EQ(jr.result->error, to_wire(ErrorCode::kInconsistentGroupProtocol));
  EXPECT_EQ(jr.result->member_id, "");
  // No offsets are committed to a share group.
  CommitParams commit;
  commit.group_id = "g";
  EXPECT_EQ(coordinator_->validate_offset_commit(commit, 4), to_wire(ErrorCode::kGroupIdNotFound));

  // A share heartbeat naming a consumer group.
  cp.group_id = "cg";
  ASSERT_EQ(coordinator_->consumer_heartbeat(cp, {&topics_, version_}, 5).error, kNone);
  Client s("s");
  auto r = beat(s, 6, std::nullopt, "cg");
  EXPECT_EQ(r.error, to_wire(ErrorCode::kGroupIdNotFound));
  EXPECT_EQ(*r.error_message, "Group cg is not a share group.");
}

TEST_F(ShareGroupTest, PartitionsWaitForTheirShareState) {
  std::vector<SharePartitionsToInitialize> asked;
  std::vector<std::string> deleted;
  coordinator_->set_share_state_hooks(
      [&](const SharePartitionsToInitialize& r) { asked.push_back(r); },
      [&](std::string_view id, const TopicPartitionSet& parts) {
        deleted.push_back(std::string(id) + ":" + std::to_string(count(parts)));
      });
  Client a("member-a");
  auto r = beat(a, 0);
  ASSERT_EQ(r.error, kNone);
  // Nothing to assign until the store answers.
  EXPECT_TRUE(count(a.assigned) == 0);
  ASSERT_EQ(asked.size(), 1u);
  EXPECT_EQ(asked[0].group_id, "g");
  EXPECT_EQ(asked[0].group_epoch, 1);
  ASSERT_EQ(asked[0].topics.size(), 1u);
  EXPECT_EQ(asked[0].topics[0].id, topic_id(1));
  EXPECT_EQ(asked[0].topics[0].name, "t");
  EXPECT_EQ(asked[0].topics[0].partitions, (std::vector<int32_t>{0, 1, 2, 3}));
  EXPECT_EQ(group().state_partitions.initializing.at(topic_id(1)).partitions.size(), 4u);
  // Asked once: the next heartbeat does not ask again.
  beat(a, 10);
  EXPECT_EQ(asked.size(), 1u);

  // Two are initialized, two failed.
  std::vector<int32_t> done = {0, 1}, failed = {2, 3};
  EXPECT_EQ(coordinator_->share_partitions_initialized("g", topic_id(1), done, true), kNone);
  EXPECT_EQ(coordinator_->share_partitions_initialized("g", topic_id(1), failed, false), kNone);
  EXPECT_EQ(coordinator_->share_partitions_initialized("nope", topic_id(1), done, true),
            to_wire(ErrorCode::kGroupIdNotFound));
  // The next heartbeat assigns what is initialized (a new epoch) and asks
  // for the failed ones again.
  r = beat(a, 20);
  ASSERT_EQ(r.error, kNone);
  EXPECT_EQ(a.epoch, 2);
  EXPECT_EQ(a.assigned, partitions(1, {0, 1}));
  ASSERT_EQ(asked.size(), 2u);
  EXPECT_EQ(asked[1].topics[0].partitions, (std::vector<int32_t>{2, 3}));

  // The topic grows: the new partition is asked for.
  cluster::PartitionInfo info;
  info.partition_index = 4;
  topics_.set_partition(topic_id(1), info);
  ++version_;
  beat(a, 30);
  ASSERT_EQ(asked.size(), 3u);
  EXPECT_EQ(asked[2].topics[0].partitions, (std::vector<int32_t>{4}));

  // The state survives a restart.
  auto reloaded = reload();
  const ShareGroup* g = reloaded->find_share("g");
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->state_partitions.initialized.at(topic_id(1)).partitions, (std::set<int32_t>{0, 1}));
  EXPECT_EQ(g->state_partitions.initializing.at(topic_id(1)).partitions,
            (std::set<int32_t>{2, 3, 4}));

  // The store deleted the topic's state (DeleteShareGroupOffsets of the
  // empty group): it is neither initialized nor initializing, also after a
  // restart, and a member subscribing again has it initialized afresh.
  a.epoch = -1;
  beat(a, 40);
  EXPECT_EQ(coordinator_->share_partitions_deleted("g", topic_id(1)), kNone);
  EXPECT_TRUE(group().state_partitions.initialized.empty());
  EXPECT_TRUE(group().state_partitions.initializing.empty());
  EXPECT_TRUE(reload()->find_share("g")->state_partitions.initialized.empty());
  EXPECT_EQ(coordinator_->share_partitions_deleted("nope", topic_id(1)),
            to_wire(ErrorCode::kGroupIdNotFound));
  Client again("member-again");
  beat(again, 45);
  ASSERT_EQ(asked.size(), 4u);
  EXPECT_EQ(asked[3].topics[0].partitions, (std::vector<int32_t>{0, 1, 2, 3, 4}));
  again.epoch = -1;
  beat(again, 46);

  // Deleting the empty group tells the store its share state may go.
  EXPECT_EQ(coordinator_->delete_group("g", 50), kNone);
  EXPECT_EQ(deleted, (std::vector<std::string>{"g:5"}));
}

TEST_F(ShareGroupTest, RecordsReplayIntoTheSameGroup) {
  Client a("member-a"), b("member-b");
  beat(a, 0);
  beat(b, 0);
  beat(a, 0);
  add_topic("u", 2, 2);
  beat(b, 1, std::vector<std::string_view>{"t", "u"});
  beat(a, 2);
  auto reloaded = reload();
  const ShareGroup* g = reloaded->find_share("g");
  ASSERT_NE(g, nullptr);
  const ShareGroup& live = group();
  EXPECT_EQ(g->group_epoch, live.group_epoch);
  EXPECT_EQ(g->metadata_hash, live.metadata_hash);
  EXPECT_NE(g->metadata_hash, 0);
  EXPECT_EQ(g->assignment_epoch, live.assignment_epoch);
  EXPECT_EQ(g->target, live.target);
  EXPECT_EQ(g->state_partitions.initialized.size(), 2u);
  ASSERT_EQ(g->members.size(), 2u);
  for (const auto& [id, m] : live.members) {
    const ShareMember& r = g->members.at(id);
    EXPECT_EQ(r.member_epoch, m.member_epoch) << id;
    EXPECT_EQ(r.previous_member_epoch, m.previous_member_epoch) << id;
    EXPECT_EQ(r.assigned, m.assigned) << id;
    EXPECT_EQ(r.subscribed_topic_names, m.subscribed_topic_names) << id;
    EXPECT_EQ(r.client_id, "client");
    EXPECT_EQ(r.client_host, "/127.0.0.1");
  }
  // The restored members heartbeat on at their epochs, sessions restarted.
  coordinator_ = std::move(reloaded);
  EXPECT_EQ(beat(a, 10).error, kNone);
  EXPECT_EQ(beat(b, 10).error, kNone);

  // Not deleted while it has members; once empty, deleted with tombstones
  // that replay to nothing.
  EXPECT_EQ(coordinator_->delete_group("g", 20), to_wire(ErrorCode::kNonEmptyGroup));
  a.epoch = -1;
  b.epoch = -1;
  beat(a, 30);
  beat(b, 30);
  EXPECT_EQ(group().state_name(), "Empty");
  EXPECT_EQ(coordinator_->delete_group("g", 40), kNone);
  EXPECT_EQ(coordinator_->find("g"), nullptr);
  EXPECT_EQ(reload()->find("g"), nullptr);
}

TEST_F(ShareGroupTest, EmptyGroupsStayThroughTheOffsetsCleanup) {
  GroupConfig config;
  config.retention_check_interval_ms = 10;
  coordinator_ = std::make_unique<GroupCoordinator>(config, &store_);
  Client a("member-a");
  beat(a, 0);
  a.epoch = -1;
  beat(a, 1);
  coordinator_->advance(100);
  coordinator_->advance(200);
  ASSERT_NE(coordinator_->find_share("g"), nullptr);
  EXPECT_EQ(coordinator_->find_share("g")->state_name(), "Empty");
}

}  // namespace
}  // namespace kb::group
