#include "kb/group/coordinator.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kb/group/records.hpp"
#include "kb/protocol/error_code.hpp"
#include "memory_store.hpp"

namespace kb::group {
namespace {

using protocol::ErrorCode;
using protocol::to_wire;

constexpr int16_t kNone = 0;

using test::MemoryStore;

const std::vector<uint8_t> kRangeMeta{1, 2, 3};
const std::vector<uint8_t> kRoundRobinMeta{4, 5};

class CoordinatorTest : public ::testing::Test {
 protected:
  CoordinatorTest() : coordinator_(make_config(), &store_) {}

  static GroupConfig make_config() {
    GroupConfig c;
    c.initial_rebalance_delay_ms = 0;
    return c;
  }

  JoinParams params(std::string_view member_id, int32_t session = 10000,
                    int32_t rebalance = 20000) {
    JoinParams p;
    p.group_id = "g";
    p.member_id = member_id;
    p.client_id = "client";
    p.client_host = "/127.0.0.1";
    p.session_timeout_ms = session;
    p.rebalance_timeout_ms = rebalance;
    p.protocol_type = "consumer";
    p.protocols = {{"range", kRangeMeta}};
    p.require_known_member_id = true;
    return p;
  }

  // The JoinGroup dance of a new member: MEMBER_ID_REQUIRED, then the join.
  Outcome<JoinResult> join_new(int32_t correlation, Millis now, std::string* member_id) {
    auto first = coordinator_.join({1, correlation}, params(""), now);
    EXPECT_TRUE(first.result);
    EXPECT_EQ(first.result->error, to_wire(ErrorCode::kMemberIdRequired));
    *member_id = first.result->member_id;
    return coordinator_.join({1, correlation + 1}, params(*member_id), now);
  }

  // Members a (the leader) and b, both synced in generation 2, at time 0.
  void form_group_of_two(std::string* a, std::string* b) {
    join_new(1, 0, a);
    sync(*a, 1, 0);
    join_new(10, 0, b);
    coordinator_.join({2, 1}, params(*a), 0);
    coordinator_.join({1, 11}, params(*b), 0);
    sync(*a, 2, 0);
    sync(*b, 2, 0);
  }

  Outcome<SyncResult> sync(
      std::string_view member_id, int32_t generation, Millis now,
      std::vector<std::pair<std::string_view, std::span<const uint8_t>>> assignments = {}) {
    SyncParams p;
    p.group_id = "g";
    p.generation = generation;
    p.member_id = member_id;
    p.assignments = std::move(assignments);
    return coordinator_.sync(p, now);
  }

  ClassicGroupState state() const { return coordinator_.find_classic("g")->state; }

  // Runs the coordinator's timers at `now` until group g has no count change
  // queued; how many rounds that took.
  int settle_counts(Millis now) {
    int rounds = 0;
    while (!coordinator_.find_classic("g")->counts_settled() && rounds < 10000) {
      coordinator_.advance(now);
      ++rounds;
    }
    return rounds;
  }

  // A coordinator that replays what this one wrote, as at start-up.
  static std::unique_ptr<GroupCoordinator> reload(const MemoryStore& store) {
    auto reloaded = std::make_unique<GroupCoordinator>(make_config(), nullptr);
    for (const auto& [partition, records] : store.log)
      for (const auto& r : records) {
        std::optional<std::span<const uint8_t>> value;
        if (r.value) value = std::span<const uint8_t>(*r.value);
        reloaded->load(r.key, value);
      }
    reloaded->finish_load(1000);
    return reloaded;
  }

  // Commits outside group management (generation -1) to group `group_id`.
  void commit_simple(std::string_view group_id, const std::vector<CommitPartition>& parts) {
    std::vector<int16_t> errors;
    ASSERT_EQ(coordinator_.commit({group_id, -1, "", std::nullopt, false}, parts, errors, 0),
              kNone);
  }

  MemoryStore store_;
  GroupCoordinator coordinator_;
};

TEST_F(CoordinatorTest, FirstMemberJoinsSyncsAndIsStable) {
  std::string a;
  auto joined = join_new(1, 0, &a);
  ASSERT_TRUE(joined.result);
  EXPECT_EQ(joined.result->error, kNone);
  EXPECT_EQ(joined.result->generation, 1);
  EXPECT_EQ(joined.result->leader, a);
  EXPECT_EQ(joined.result->member_id, a);
  EXPECT_EQ(joined.result->protocol_name, "range");
  ASSERT_EQ(joined.result->members.size(), 1u);
  EXPECT_EQ(joined.result->members[0].metadata, kRangeMeta);
  EXPECT_EQ(state(), ClassicGroupState::kCompletingRebalance);

  const std::vector<uint8_t> assignment{9, 9};
  auto synced = sync(a, 1, 10, {{a, assignment}});
  ASSERT_TRUE(synced.result);
  EXPECT_EQ(synced.result->error, kNone);
  EXPECT_EQ(synced.result->assignment, assignment);
  EXPECT_EQ(state(), ClassicGroupState::kStable);
  EXPECT_EQ(coordinator_.heartbeat("g", 1, {a, std::nullopt}, 20), kNone);
  // The assignment was written as group metadata.
  ASSERT_EQ(store_.log.size(), 1u);
  EXPECT_EQ(store_.log.begin()->first, coordinator_.partition_for("g"));
}

TEST_F(CoordinatorTest, SecondMemberRebalancesAndFollowerWaitsForLeaderAssignment) {
  std::string a, b;
  join_new(1, 0, &a);
  sync(a, 1, 0);
  auto b_join = join_new(10, 100, &b);
  EXPECT_FALSE(b_join.result);  // parked until a rejoins
  EXPECT_EQ(state(), ClassicGroupState::kPreparingRebalance);
  EXPECT_EQ(coordinator_.heartbeat("g", 1, {a, std::nullopt}, 100),
            to_wire(ErrorCode::kRebalanceInProgress));

  const uint64_t before = coordinator_.changes();
  auto a_join = coordinator_.join({2, 1}, params(a), 200);
  ASSERT_TRUE(a_join.result);
  EXPECT_GT(coordinator_.changes(), before);
  EXPECT_EQ(a_join.result->generation, 2);
  EXPECT_EQ(a_join.result->leader, a);
  EXPECT_EQ(a_join.result->members.size(), 2u);

  // b's parked join, asked again, now has its answer (and only once).
  auto b_again = coordinator_.join({1, 11}, params(b), 200);
  ASSERT_TRUE(b_again.result);
  EXPECT_EQ(b_again.result->error, kNone);
  EXPECT_EQ(b_again.result->generation, 2);
  EXPECT_TRUE(b_again.result->members.empty());

  auto b_sync = sync(b, 2, 300);
  EXPECT_FALSE(b_sync.result);
  const std::vector<uint8_t> for_a{1}, for_b{2};
  auto a_sync = sync(a, 2, 300, {{a, for_a}, {b, for_b}});
  ASSERT_TRUE(a_sync.result);
  EXPECT_EQ(a_sync.result->assignment, for_a);
  auto b_sync_again = sync(b, 2, 300);
  ASSERT_TRUE(b_sync_again.result);
  EXPECT_EQ(b_sync_again.result->assignment, for_b);
  EXPECT_EQ(state(), ClassicGroupState::kStable);
}

TEST_F(CoordinatorTest, MissedSessionTimeoutRemovesMemberAndRebalances) {
  std::string a, b;
  form_group_of_two(&a, &b);
  ASSERT_EQ(state(), ClassicGroupState::kStable);
  ASSERT_TRUE(coordinator_.next_deadline());
  // a heartbeats, b does not.
  EXPECT_EQ(coordinator_.heartbeat("g", 2, {a, std::nullopt}, 6000), kNone);
  coordinator_.advance(10001);
  EXPECT_EQ(state(), ClassicGroupState::kPreparingRebalance);
  EXPECT_FALSE(coordinator_.find_classic("g")->members.contains(b));
  EXPECT_EQ(coordinator_.heartbeat("g", 2, {b, std::nullopt}, 10001),
            to_wire(ErrorCode::kUnknownMemberId));
  auto rejoined = coordinator_.join({2, 2}, params(a), 10002);
  ASSERT_TRUE(rejoined.result);
  EXPECT_EQ(rejoined.result->generation, 3);
  EXPECT_EQ(rejoined.result->members.size(), 1u);
}

TEST_F(CoordinatorTest, MemberNotRejoiningIsDroppedAtTheRebalanceTimeout) {
  std::string a, b;
  join_new(1, 0, &a);
  sync(a, 1, 0);
  auto b_join = join_new(10, 100, &b);
  ASSERT_FALSE(b_join.result);
  // a keeps heartbeating but never rejoins: after the rebalance timeout
  // (20 s) the generation completes without it.
  for (Millis t = 1000; t < 20100; t += 3000) coordinator_.heartbeat("g", 1, {a, std::nullopt}, t);
  coordinator_.advance(20100);
  EXPECT_EQ(state(), ClassicGroupState::kCompletingRebalance);
  EXPECT_FALSE(coordinator_.find_classic("g")->members.contains(a));
  auto b_again = coordinator_.join({1, 11}, params(b), 20100);
  ASSERT_TRUE(b_again.result);
  EXPECT_EQ(b_again.result->leader, b);
  EXPECT_EQ(b_again.result->generation, 2);
}

TEST_F(CoordinatorTest, LeaveRebalancesAndTheLastLeaveEmptiesTheGroup) {
  std::string a, b;
  form_group_of_two(&a, &b);
  std::vector<MemberRef> leaving{{b, std::nullopt}, {"nobody", std::nullopt}};
  auto errors = coordinator_.leave("g", leaving, 10);
  EXPECT_EQ(errors, (std::vector<int16_t>{kNone, to_wire(ErrorCode::kUnknownMemberId)}));
  EXPECT_EQ(state(), ClassicGroupState::kPreparingRebalance);
  auto a_join = coordinator_.join({2, 2}, params(a), 20);
  ASSERT_TRUE(a_join.result);
  EXPECT_EQ(a_join.result->generation, 3);
  std::vector<MemberRef> last{{a, std::nullopt}};
  coordinator_.leave("g", last, 30);
  EXPECT_EQ(state(), ClassicGroupState::kEmpty);
  EXPECT_EQ(coordinator_.find_classic("g")->generation, 4);
}

TEST_F(CoordinatorTest, RefusesInconsistentProtocolsAndBadSessionTimeouts) {
  std::string a;
  join_new(1, 0, &a);
  auto other_type = params("");
  other_type.protocol_type = "connect";
  EXPECT_EQ(coordinator_.join({3, 1}, other_type, 0).result->error,
            to_wire(ErrorCode::kInconsistentGroupProtocol));
  auto other_protocol = params("");
  other_protocol.protocols = {{"roundrobin", kRoundRobinMeta}};
  EXPECT_EQ(coordinator_.join({3, 2}, other_protocol, 0).result->error,
            to_wire(ErrorCode::kInconsistentGroupProtocol));
  EXPECT_EQ(coordinator_.join({3, 3}, params("", 5999), 0).result->error,
            to_wire(ErrorCode::kInvalidSessionTimeout));
  EXPECT_EQ(coordinator_.join({3, 4}, params("", 1800001), 0).result->error,
            to_wire(ErrorCode::kInvalidSessionTimeout));
  auto unknown = params("who");
  EXPECT_EQ(coordinator_.join({3, 5}, unknown, 0).result->error,
            to_wire(ErrorCode::kUnknownMemberId));
  EXPECT_EQ(sync(a, 7, 0).result->error, to_wire(ErrorCode::kIllegalGeneration));
  EXPECT_EQ(coordinator_.heartbeat("g", 7, {a, std::nullopt}, 0),
            to_wire(ErrorCode::kIllegalGeneration));
}

TEST_F(CoordinatorTest, ChoosesTheProtocolMostMembersPrefer) {
  auto p1 = params("");
  p1.require_known_member_id = false;
  p1.protocols = {{"range", kRangeMeta}, {"roundrobin", kRoundRobinMeta}};
  auto first = coordinator_.join({1, 1}, p1, 0);
  ASSERT_TRUE(first.result);
  sync(first.result->member_id, 1, 0);
  auto p2 = p1;
  p2.protocols = {{"roundrobin", kRoundRobinMeta}, {"range", kRangeMeta}};
  auto p3 = p2;
  EXPECT_FALSE(coordinator_.join({2, 1}, p2, 0).result);
  EXPECT_FALSE(coordinator_.join({3, 1}, p3, 0).result);
  auto p1_again = p1;
  p1_again.member_id = first.result->member_id;
  auto done = coordinator_.join({1, 2}, p1_again, 0);
  ASSERT_TRUE(done.result);
  EXPECT_EQ(done.result->protocol_name, "roundrobin");
  for (const auto& m : done.result->members) EXPECT_EQ(m.metadata, kRoundRobinMeta);
}

// The group counts which protocols its members support as they join, change
// and leave: a protocol is a candidate only while every member lists it.
TEST_F(CoordinatorTest, ProtocolSupportFollowsMembersAsTheyChangeAndLeave) {
  auto p1 = params("");
  p1.require_known_member_id = false;
  p1.protocols = {{"range", kRangeMeta}, {"roundrobin", kRoundRobinMeta}};
  auto first = coordinator_.join({1, 1}, p1, 0);
  ASSERT_TRUE(first.result);
  const std::string a = first.result->member_id;
  sync(a, 1, 0);
  EXPECT_EQ(coordinator_.find_classic("g")->protocol_support.at("range"), 1);
  // b lists roundrobin only, and twice (counted once).
  auto p2 = p1;
  p2.protocols = {{"roundrobin", kRoundRobinMeta}, {"roundrobin", kRoundRobinMeta}};
  EXPECT_FALSE(coordinator_.join({2, 1}, p2, 0).result);
  EXPECT_EQ(coordinator_.find_classic("g")->protocol_support.at("roundrobin"), 2);
  // A third member offering only range cannot join: b does not support it.
  auto p3 = p1;
  p3.protocols = {{"range", kRangeMeta}};
  EXPECT_EQ(coordinator_.join({3, 1}, p3, 0).result->error,
            to_wire(ErrorCode::kInconsistentGroupProtocol));
  auto a_again = p1;
  a_again.member_id = a;
  auto done = coordinator_.join({1, 2}, a_again, 0);
  ASSERT_TRUE(done.result);
  EXPECT_EQ(done.result->protocol_name, "roundrobin");
  // a rejoins with range first and sticky: its old protocols are counted no more.
  a_again.protocols = {{"sticky", kRangeMeta}, {"roundrobin", kRoundRobinMeta}};
  coordinator_.join({1, 3}, a_again, 0);
  const ClassicGroup& g = *coordinator_.find_classic("g");
  EXPECT_FALSE(g.protocol_support.contains("range"));
  EXPECT_EQ(g.protocol_support.at("sticky"), 1);
  EXPECT_EQ(g.protocol_support.at("roundrobin"), 2);
  std::vector<MemberRef> leaving{{a, std::nullopt}};
  coordinator_.leave("g", leaving, 0);
  EXPECT_FALSE(coordinator_.find_classic("g")->protocol_support.contains("sticky"));
  EXPECT_EQ(coordinator_.find_classic("g")->protocol_support.at("roundrobin"), 1);
}

// 100,000 protocols in one JoinGroup: checking and choosing them is linear
// (it was members x protocols x protocols), and counting them is done a
// slice per timer round (each a turn of the broker's loop), the join
// answered once they are counted. No timing here; the benchmark prints it.
TEST_F(CoordinatorTest, AHundredThousandProtocolsAreCountedInSlicesAndMatchedInLinearTime) {
  std::vector<std::string> names;
  names.reserve(100000);
  for (int i = 0; i < 100000; ++i) names.push_back("p" + std::to_string(i));
  auto many = params("");
  many.require_known_member_id = false;
  many.protocols.clear();
  for (const auto& n : names) many.protocols.push_back({n, kRangeMeta});
  EXPECT_FALSE(coordinator_.join({1, 1}, many, 0).result);
  EXPECT_GT(settle_counts(0), 10);
  auto first = coordinator_.join({1, 1}, many, 0);  // the parked request, asked again
  ASSERT_TRUE(first.result);
  EXPECT_EQ(first.result->protocol_name, "p0");
  // A second member lists them the other way round, a third as the first:
  // each votes for its first choice, two to one.
  sync(first.result->member_id, 1, 0);
  auto reversed = many;
  std::reverse(reversed.protocols.begin(), reversed.protocols.end());
  EXPECT_FALSE(coordinator_.join({2, 1}, reversed, 0).result);
  // The third is checked against the others once the second is counted: it
  // waits without joining, and is asked again.
  EXPECT_FALSE(coordinator_.join({3, 1}, many, 0).result);
  EXPECT_EQ(coordinator_.find_classic("g")->members.size(), 2u);
  EXPECT_GT(settle_counts(0), 10);
  EXPECT_FALSE(coordinator_.join({3, 1}, many, 0).result);
  EXPECT_EQ(coordinator_.find_classic("g")->members.size(), 3u);
  settle_counts(0);
  auto again = many;
  again.member_id = first.result->member_id;
  auto done = coordinator_.join({1, 2}, again, 0);
  ASSERT_TRUE(done.result);
  EXPECT_EQ(done.result->protocol_name, "p0");
  EXPECT_EQ(done.result->members.size(), 3u);
  EXPECT_EQ(coordinator_.find_classic("g")->protocol_support.size(), 100000u);
  EXPECT_EQ(coordinator_.find_classic("g")->protocol_support.at("p99999"), 3);
}

// A rebalance waits for the counts of a member that left: the protocol is
// chosen from the members that stay.
TEST_F(CoordinatorTest, ARebalanceCompletesOnlyWithTheCountsMade) {
  auto big = params("");
  big.require_known_member_id = false;
  big.protocols.clear();
  std::vector<std::string> names;
  for (int i = 0; i < 5000; ++i) names.push_back("only-b-" + std::to_string(i));
  for (const auto& n : names) big.protocols.push_back({n, kRangeMeta});
  big.protocols.push_back({"range", kRangeMeta});
  auto small = params("");
  small.require_known_member_id = false;
  auto a = coordinator_.join({1, 1}, small, 0);
  ASSERT_TRUE(a.result);
  const std::string a_id = a.result->member_id;
  sync(a_id, 1, 0);
  EXPECT_FALSE(coordinator_.join({2, 1}, big, 0).result);
  settle_counts(0);
  auto a_again = small;
  a_again.member_id = a_id;
  auto gen2 = coordinator_.join({1, 2}, a_again, 0);
  ASSERT_TRUE(gen2.result);
  EXPECT_EQ(gen2.result->protocol_name, "range");
  EXPECT_EQ(coordinator_.find_classic("g")->protocol_support.size(), 5001u);
  // b leaves: its 5,001 names are uncounted in slices; a rejoining waits for them.
  const std::string b_id = gen2.result->members.at(0).member_id == a_id
                               ? gen2.result->members.at(1).member_id
                               : gen2.result->members.at(0).member_id;
  std::vector<MemberRef> leaving{{b_id, std::nullopt}};
  coordinator_.leave("g", leaving, 0);
  EXPECT_FALSE(coordinator_.find_classic("g")->counts_settled());
  EXPECT_FALSE(coordinator_.join({1, 3}, a_again, 0).result);
  EXPECT_GT(settle_counts(0), 1);
  auto gen3 = coordinator_.join({1, 3}, a_again, 0);
  ASSERT_TRUE(gen3.result);
  EXPECT_EQ(gen3.result->generation, 3);
  EXPECT_EQ(gen3.result->protocol_name, "range");
  EXPECT_EQ(gen3.result->members.size(), 1u);
  EXPECT_EQ(coordinator_.find_classic("g")->protocol_support.size(), 1u);
}

// A member keeps the list its JoinGroup was read into (no copy), and one
// rejoining with its protocols in another order changes no counts: the new
// first protocol is chosen all the same.
TEST_F(CoordinatorTest, AReorderedRejoinKeepsTheCountsAndSharesItsList) {
  auto list = std::make_shared<ProtocolList>();
  list->add("range", kRangeMeta);
  list->add("roundrobin", kRoundRobinMeta);
  auto p = params("");
  p.require_known_member_id = false;
  p.protocols.clear();
  p.protocol_list = list;
  auto first = coordinator_.join({1, 1}, p, 0);
  ASSERT_TRUE(first.result);
  EXPECT_EQ(first.result->protocol_name, "range");
  const std::string a = first.result->member_id;
  EXPECT_EQ(coordinator_.member_protocols("g", a), list);
  auto reordered = std::make_shared<ProtocolList>();
  reordered->add("roundrobin", kRoundRobinMeta);
  reordered->add("range", kRangeMeta);
  auto again = p;
  again.member_id = a;
  again.protocol_list = reordered;
  // As a JoinGroup read in steps passes it: compared with the member's list.
  again.compared_with = list;
  again.same_list = false;
  again.same_names = true;
  auto done = coordinator_.join({1, 2}, again, 0);
  ASSERT_TRUE(done.result);
  EXPECT_EQ(done.result->protocol_name, "roundrobin");
  EXPECT_EQ(coordinator_.member_protocols("g", a), reordered);
  const ClassicGroup& g = *coordinator_.find_classic("g");
  EXPECT_EQ(g.protocol_support.size(), 2u);
  EXPECT_EQ(g.protocol_support.at("range"), 1);
  EXPECT_EQ(g.protocol_support.at("roundrobin"), 1);
  EXPECT_EQ(coordinator_.member_protocols("g", "nobody"), nullptr);
  EXPECT_EQ(coordinator_.member_protocols("other", a), nullptr);
}

// A comparison made with protocols the member no longer has is not trusted:
// the coordinator compares again.
TEST_F(CoordinatorTest, AComparisonWithProtocolsTheMemberNoLongerHasIsNotUsed) {
  auto p = params("");
  p.require_known_member_id = false;
  auto first = coordinator_.join({1, 1}, p, 0);
  ASSERT_TRUE(first.result);
  const std::string a = first.result->member_id;
  auto stale = std::make_shared<ProtocolList>();
  stale->add("sticky", kRangeMeta);
  auto changed = std::make_shared<ProtocolList>();
  changed->add("sticky", kRangeMeta);
  auto again = p;
  again.member_id = a;
  again.protocols.clear();
  again.protocol_list = changed;
  again.compared_with = stale;  // not the member's: its "same names" is wrong for it
  again.same_list = true;
  again.same_names = true;
  auto done = coordinator_.join({1, 2}, again, 0);
  ASSERT_TRUE(done.result);
  EXPECT_EQ(done.result->protocol_name, "sticky");
  const ClassicGroup& g = *coordinator_.find_classic("g");
  EXPECT_FALSE(g.protocol_support.contains("range"));
  EXPECT_EQ(g.protocol_support.at("sticky"), 1);
}

TEST_F(CoordinatorTest, StaticMemberRejoinsWithoutRebalanceAndFencesItsOldId) {
  auto p = params("");
  p.instance_id = "instance-1";
  auto first = coordinator_.join({1, 1}, p, 0);  // static members need no MEMBER_ID_REQUIRED
  ASSERT_TRUE(first.result);
  ASSERT_EQ(first.result->error, kNone);
  const std::string old_id = first.result->member_id;
  const std::vector<uint8_t> assignment{5};
  sync(old_id, 1, 0, {{old_id, assignment}});

  // The same instance restarts: a new member id, same generation, no rebalance.
  auto again = coordinator_.join({2, 1}, p, 100);
  ASSERT_TRUE(again.result);
  EXPECT_EQ(again.result->error, kNone);
  const std::string new_id = again.result->member_id;
  EXPECT_NE(new_id, old_id);
  EXPECT_EQ(again.result->generation, 1);
  EXPECT_EQ(state(), ClassicGroupState::kStable);
  EXPECT_EQ(coordinator_.heartbeat("g", 1, {old_id, "instance-1"}, 200),
            to_wire(ErrorCode::kFencedInstanceId));
  EXPECT_EQ(coordinator_.heartbeat("g", 1, {new_id, "instance-1"}, 200), kNone);
  SyncParams sp;
  sp.group_id = "g";
  sp.generation = 1;
  sp.member_id = new_id;
  sp.instance_id = "instance-1";
  auto synced = coordinator_.sync(sp, 300);
  ASSERT_TRUE(synced.result);
  EXPECT_EQ(synced.result->assignment, assignment);
}

TEST_F(CoordinatorTest, InitialDelayGathersMembersOfANewGroup) {
  GroupConfig config;
  config.initial_rebalance_delay_ms = 3000;
  GroupCoordinator delayed(config, nullptr);
  auto p = params("");
  p.require_known_member_id = false;
  EXPECT_FALSE(delayed.join({1, 1}, p, 0).result);
  EXPECT_FALSE(delayed.join({2, 1}, p, 1000).result);
  delayed.advance(3999);
  EXPECT_EQ(delayed.find_classic("g")->state, ClassicGroupState::kPreparingRebalance);
  ASSERT_TRUE(delayed.next_deadline());
  EXPECT_EQ(*delayed.next_deadline(), 4000);
  delayed.advance(4000);
  EXPECT_EQ(delayed.find_classic("g")->state, ClassicGroupState::kCompletingRebalance);
  auto r1 = delayed.join({1, 1}, p, 4000);
  auto r2 = delayed.join({2, 1}, p, 4000);
  ASSERT_TRUE(r1.result && r2.result);
  EXPECT_EQ(r1.result->generation, 1);
  EXPECT_EQ(r2.result->generation, 1);
  EXPECT_EQ(r1.result->members.size() + r2.result->members.size(), 2u);
}

TEST_F(CoordinatorTest, GroupMaxSizeRefusesNewMembers) {
  GroupConfig config = make_config();
  config.max_size = 1;
  GroupCoordinator small(config, nullptr);
  auto first = small.join({1, 1}, params(""), 0);
  EXPECT_EQ(first.result->error, to_wire(ErrorCode::kMemberIdRequired));
  EXPECT_EQ(small.join({2, 1}, params(""), 0).result->error,
            to_wire(ErrorCode::kGroupMaxSizeReached));
}

TEST_F(CoordinatorTest, CommitsAreCheckedAgainstGenerationAndMember) {
  std::vector<int16_t> errors;
  const std::vector<CommitPartition> parts{{"t", 0, 42, 3, "meta"}};
  CommitParams simple{"solo", -1, "", std::nullopt, false};
  EXPECT_EQ(coordinator_.commit(simple, parts, errors, 0), kNone);
  EXPECT_EQ(errors, std::vector<int16_t>{kNone});
  const Group* solo = coordinator_.find("solo");
  ASSERT_TRUE(solo);
  auto& committed = solo->offsets.at({"t", 0});
  EXPECT_EQ(committed.offset, 42);
  EXPECT_EQ(committed.leader_epoch, 3);
  EXPECT_EQ(committed.metadata, "meta");

  CommitParams unknown_group{"nope", 3, "m", std::nullopt, false};
  EXPECT_EQ(coordinator_.commit(unknown_group, parts, errors, 0),
            to_wire(ErrorCode::kIllegalGeneration));
  unknown_group.unknown_group_is_not_found = true;
  EXPECT_EQ(coordinator_.commit(unknown_group, parts, errors, 0),
            to_wire(ErrorCode::kGroupIdNotFound));

  std::string a;
  join_new(1, 0, &a);
  CommitParams during_sync{"g", 1, a, std::nullopt, false};
  EXPECT_EQ(coordinator_.commit(during_sync, parts, errors, 0),
            to_wire(ErrorCode::kRebalanceInProgress));
  sync(a, 1, 0);
  EXPECT_EQ(coordinator_.commit(during_sync, parts, errors, 0), kNone);
  CommitParams old_generation{"g", 0, a, std::nullopt, false};
  EXPECT_EQ(coordinator_.commit(old_generation, parts, errors, 0),
            to_wire(ErrorCode::kIllegalGeneration));
  CommitParams stranger{"g", 1, "stranger", std::nullopt, false};
  EXPECT_EQ(coordinator_.commit(stranger, parts, errors, 0), to_wire(ErrorCode::kUnknownMemberId));

  const std::string big(5000, 'x');
  const std::vector<CommitPartition> too_big{{"t", 1, 1, -1, big}, {"t", 2, 2, -1, std::nullopt}};
  EXPECT_EQ(coordinator_.commit(during_sync, too_big, errors, 0), kNone);
  EXPECT_EQ(errors, (std::vector<int16_t>{to_wire(ErrorCode::kOffsetMetadataTooLarge), kNone}));
  EXPECT_FALSE(coordinator_.find("g")->offsets.contains({"t", 1}));
  EXPECT_EQ(coordinator_.find("g")->offsets.at({"t", 2}).metadata, "");

  store_.fail = true;
  EXPECT_EQ(coordinator_.commit(simple, parts, errors, 0), kNone);
  EXPECT_EQ(errors, std::vector<int16_t>{to_wire(ErrorCode::kCoordinatorNotAvailable)});
}

TEST_F(CoordinatorTest, ReloadRestoresOffsetsAndGroupsAndHonoursTombstones) {
  std::vector<int16_t> errors;
  std::string a;
  join_new(1, 0, &a);
  const std::vector<uint8_t> assignment{7};
  sync(a, 1, 0, {{a, assignment}});
  const std::vector<CommitPartition> parts{{"t", 0, 10, -1, "m"}, {"t", 1, 20, -1, std::nullopt}};
  coordinator_.commit({"g", 1, a, std::nullopt, false}, parts, errors, 0);
  // A tombstone for t-1, as an offset deletion writes it.
  store_.append(coordinator_.partition_for("g"),
                std::vector<CoordinatorRecord>{{encode_key(OffsetCommitKey{"g", "t", 1}), {}}});

  auto reloaded = reload(store_);
  const ClassicGroup* g = reloaded->find_classic("g");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->state, ClassicGroupState::kStable);
  EXPECT_EQ(g->generation, 1);
  EXPECT_EQ(g->leader, a);
  EXPECT_EQ(g->members.at(a).assignment, assignment);
  EXPECT_EQ(g->offsets.at({"t", 0}).offset, 10);
  EXPECT_EQ(g->offsets.at({"t", 0}).metadata, "m");
  EXPECT_FALSE(g->offsets.contains({"t", 1}));
  // The restored member goes on heartbeating; silence ends its session.
  EXPECT_EQ(reloaded->heartbeat("g", 1, {a, std::nullopt}, 2000), kNone);
  reloaded->advance(2000 + 10001);
  EXPECT_EQ(reloaded->find_classic("g")->state, ClassicGroupState::kEmpty);
}

TEST_F(CoordinatorTest, OffsetsOfEmptyGroupsExpireAfterTheRetention) {
  GroupConfig config = make_config();
  config.offsets_retention_ms = 0;  // everything committed is old enough
  config.retention_check_interval_ms = 1000;
  MemoryStore store;
  GroupCoordinator c(config, &store);
  std::vector<int16_t> errors;
  const std::vector<CommitPartition> parts{{"t", 0, 5, -1, std::nullopt}};
  c.commit({"simple", -1, "", std::nullopt, false}, parts, errors, 0);
  auto p = params("");
  p.require_known_member_id = false;
  auto joined = c.join({1, 1}, p, 0);  // a consuming group keeps its offsets
  ASSERT_TRUE(joined.result);
  SyncParams sp;
  sp.group_id = "g";
  sp.generation = 1;
  sp.member_id = joined.result->member_id;
  ASSERT_TRUE(c.sync(sp, 0).result);
  ASSERT_EQ(c.commit({"g", 1, joined.result->member_id, std::nullopt, false}, parts, errors, 0), 0);
  c.advance(999);
  EXPECT_TRUE(c.find("simple"));
  ASSERT_TRUE(c.next_deadline());
  EXPECT_LE(*c.next_deadline(), 1000);
  c.heartbeat("g", 1, {joined.result->member_id, std::nullopt}, 900);
  c.advance(1000);
  EXPECT_FALSE(c.find("simple"));
  ASSERT_TRUE(c.find("g"));
  EXPECT_EQ(c.find("g")->offsets.size(), 1u);
  // The tombstones went to the simple group's partition: its offset and its metadata.
  const auto& records = store.log.at(c.partition_for("simple"));
  ASSERT_GE(records.size(), 3u);
  EXPECT_FALSE(records[records.size() - 2].value);
  EXPECT_FALSE(records.back().value);
}

// A ConsumerProtocolSubscription v0: [version][topics][user data: null].
std::vector<uint8_t> subscription(std::initializer_list<std::string_view> topics) {
  std::vector<uint8_t> out{0, 0, 0, 0, 0, static_cast<uint8_t>(topics.size())};
  for (std::string_view t : topics) {
    out.push_back(0);
    out.push_back(static_cast<uint8_t>(t.size()));
    out.insert(out.end(), t.begin(), t.end());
  }
  out.insert(out.end(), {0xff, 0xff, 0xff, 0xff});
  return out;
}

TEST_F(CoordinatorTest, DeleteGroupRemovesAnEmptyGroupAndItsOffsetsForGood) {
  commit_simple("g", {{"t", 0, 10, -1, std::nullopt}, {"u", 3, 30, -1, std::nullopt}});
  commit_simple("other", {{"t", 0, 7, -1, std::nullopt}});
  EXPECT_EQ(coordinator_.delete_group("g", 0), kNone);
  EXPECT_FALSE(coordinator_.find("g"));
  // Its offsets' tombstones and then its own, in its partition.
  const auto& records = store_.log.at(coordinator_.partition_for("g"));
  ASSERT_GE(records.size(), 3u);
  const std::vector<CoordinatorRecord> last(records.end() - 3, records.end());
  EXPECT_EQ(last[0].key, encode_key(OffsetCommitKey{"g", "t", 0}));
  EXPECT_EQ(last[1].key, encode_key(OffsetCommitKey{"g", "u", 3}));
  EXPECT_EQ(last[2].key, encode_key(GroupMetadataKey{"g"}));
  for (const auto& r : last) EXPECT_FALSE(r.value);
  // Gone after a restart too; the other group is untouched.
  auto reloaded = reload(store_);
  EXPECT_FALSE(reloaded->find("g"));
  ASSERT_TRUE(reloaded->find("other"));
  EXPECT_EQ(reloaded->find("other")->offsets.at({"t", 0}).offset, 7);
  // Deleted once: not found the second time.
  EXPECT_EQ(coordinator_.delete_group("g", 0), to_wire(ErrorCode::kGroupIdNotFound));
}

TEST_F(CoordinatorTest, DeleteGroupRefusesGroupsWithMembersUnknownOnesAndEmptyIds) {
  EXPECT_EQ(coordinator_.delete_group("", 0), to_wire(ErrorCode::kInvalidGroupId));
  EXPECT_EQ(coordinator_.delete_group("nope", 0), to_wire(ErrorCode::kGroupIdNotFound));
  std::string a;
  join_new(1, 0, &a);
  EXPECT_EQ(coordinator_.delete_group("g", 0), to_wire(ErrorCode::kNonEmptyGroup));
  sync(a, 1, 0);
  EXPECT_EQ(coordinator_.delete_group("g", 0), to_wire(ErrorCode::kNonEmptyGroup));
  const std::vector<MemberRef> leaving{{a, std::nullopt}};
  coordinator_.leave("g", leaving, 0);
  ASSERT_EQ(state(), ClassicGroupState::kEmpty);
  EXPECT_EQ(coordinator_.delete_group("g", 0), kNone);
  EXPECT_FALSE(coordinator_.find("g"));
  // The id is free again: a new member starts generation 1 of a new group.
  std::string b;
  auto joined = join_new(10, 0, &b);
  ASSERT_TRUE(joined.result);
  EXPECT_EQ(joined.result->generation, 1);
}

TEST_F(CoordinatorTest, DeleteGroupKeepsEverythingWhenTheStoreFails) {
  commit_simple("g", {{"t", 0, 10, -1, std::nullopt}});
  store_.fail = true;
  EXPECT_EQ(coordinator_.delete_group("g", 0), to_wire(ErrorCode::kCoordinatorNotAvailable));
  ASSERT_TRUE(coordinator_.find("g"));
  EXPECT_EQ(coordinator_.find("g")->offsets.size(), 1u);
}

TEST_F(CoordinatorTest, OffsetDeleteOfAnEmptyGroupDeletesJustThosePartitions) {
  commit_simple("g", {{"t", 0, 10, -1, std::nullopt},
                      {"t", 1, 11, -1, std::nullopt},
                      {"u", 0, 20, -1, std::nullopt}});
  std::vector<int16_t> errors;
  const std::vector<TopicPartitionRef> t0_and_missing{{"t", 0}, {"t", 7}};
  EXPECT_EQ(coordinator_.delete_offsets("g", t0_and_missing, errors, 0), kNone);
  EXPECT_EQ(errors, (std::vector<int16_t>{kNone, kNone}));
  const Group* g = coordinator_.find("g");
  ASSERT_TRUE(g);
  EXPECT_FALSE(g->offsets.contains({"t", 0}));
  EXPECT_TRUE(g->offsets.contains({"t", 1}));
  EXPECT_TRUE(g->offsets.contains({"u", 0}));
  // One tombstone: t-0's (t-7 had nothing to delete).
  const auto& records = store_.log.at(coordinator_.partition_for("g"));
  EXPECT_EQ(records.back().key, encode_key(OffsetCommitKey{"g", "t", 0}));
  EXPECT_FALSE(records.back().value);
  auto reloaded = reload(store_);
  ASSERT_TRUE(reloaded->find("g"));
  EXPECT_EQ(reloaded->find("g")->offsets.size(), 2u);
  EXPECT_FALSE(reloaded->find("g")->offsets.contains({"t", 0}));

  // The last offsets of an Empty group: the group stays, Empty and without
  // offsets (Kafka 4.x), so DeleteGroups right after finds it.
  const std::vector<TopicPartitionRef> rest{{"t", 1}, {"u", 0}};
  EXPECT_EQ(coordinator_.delete_offsets("g", rest, errors, 0), kNone);
  EXPECT_EQ(errors, (std::vector<int16_t>{kNone, kNone}));
  ASSERT_TRUE(coordinator_.find("g"));
  EXPECT_TRUE(coordinator_.find("g")->offsets.empty());
  EXPECT_EQ(coordinator_.find_classic("g")->state, ClassicGroupState::kEmpty);
  EXPECT_EQ(records.back().key, encode_key(OffsetCommitKey{"g", "u", 0}));
  EXPECT_EQ(coordinator_.delete_group("g", 0), kNone);
  EXPECT_FALSE(coordinator_.find("g"));
  EXPECT_FALSE(reload(store_)->find("g"));
}

TEST_F(CoordinatorTest, AnEmptyGroupLeftWithoutOffsetsGoesAtTheNextOffsetsCleanup) {
  commit_simple("g", {{"t", 0, 10, -1, std::nullopt}});
  std::vector<int16_t> errors;
  const std::vector<TopicPartitionRef> t0{{"t", 0}};
  EXPECT_EQ(coordinator_.delete_offsets("g", t0, errors, 0), kNone);
  ASSERT_TRUE(coordinator_.find("g"));
  // The cleanup runs every retention check interval.
  const int64_t interval = make_config().retention_check_interval_ms;
  coordinator_.advance(0);
  ASSERT_TRUE(coordinator_.find("g"));
  coordinator_.advance(interval - 1);
  ASSERT_TRUE(coordinator_.find("g"));
  coordinator_.advance(interval);
  EXPECT_FALSE(coordinator_.find("g"));
}

TEST_F(CoordinatorTest, OffsetDeleteKeepsOffsetsOfTopicsTheMembersConsume) {
  auto p = params("");
  p.require_known_member_id = false;
  const std::vector<uint8_t> subscribed = subscription({"t", "v"});
  p.protocols = {{"range", subscribed}};
  auto joined = coordinator_.join({1, 1}, p, 0);
  ASSERT_TRUE(joined.result);
  const std::string a = joined.result->member_id;
  sync(a, 1, 0);
  std::vector<int16_t> errors;
  ASSERT_EQ(coordinator_.commit(
                {"g", 1, a, std::nullopt, false},
                std::vector<CommitPartition>{{"t", 0, 1, -1, {}}, {"u", 0, 2, -1, {}}}, errors, 0),
            kNone);

  const std::vector<TopicPartitionRef> both{{"t", 0}, {"u", 0}};
  EXPECT_EQ(coordinator_.delete_offsets("g", both, errors, 0), kNone);
  EXPECT_EQ(errors, (std::vector<int16_t>{to_wire(ErrorCode::kGroupSubscribedToTopic), kNone}));
  ASSERT_TRUE(coordinator_.find("g"));
  EXPECT_TRUE(coordinator_.find("g")->offsets.contains({"t", 0}));
  EXPECT_FALSE(coordinator_.find("g")->offsets.contains({"u", 0}));
  EXPECT_EQ(state(), ClassicGroupState::kStable);

  // Once the group is Empty nothing is consumed: t-0 may go (the group stays).
  const std::vector<MemberRef> leaving{{a, std::nullopt}};
  coordinator_.leave("g", leaving, 0);
  const std::vector<TopicPartitionRef> t0{{"t", 0}};
  EXPECT_EQ(coordinator_.delete_offsets("g", t0, errors, 0), kNone);
  EXPECT_EQ(errors, std::vector<int16_t>{kNone});
  ASSERT_TRUE(coordinator_.find("g"));
  EXPECT_TRUE(coordinator_.find("g")->offsets.empty());
}

TEST_F(CoordinatorTest, OffsetDeleteGroupLevelErrors) {
  std::vector<int16_t> errors;
  const std::vector<TopicPartitionRef> t0{{"t", 0}};
  EXPECT_EQ(coordinator_.delete_offsets("", t0, errors, 0), to_wire(ErrorCode::kInvalidGroupId));
  EXPECT_EQ(coordinator_.delete_offsets("nope", t0, errors, 0),
            to_wire(ErrorCode::kGroupIdNotFound));
  // Members of another protocol than the consumer's: their offsets are off limits.
  auto p = params("");
  p.require_known_member_id = false;
  p.protocol_type = "connect";
  ASSERT_TRUE(coordinator_.join({1, 1}, p, 0).result);
  EXPECT_EQ(coordinator_.delete_offsets("g", t0, errors, 0), to_wire(ErrorCode::kNonEmptyGroup));

  commit_simple("simple", {{"t", 0, 1, -1, std::nullopt}});
  store_.fail = true;
  EXPECT_EQ(coordinator_.delete_offsets("simple", t0, errors, 0),
            to_wire(ErrorCode::kCoordinatorNotAvailable));
  EXPECT_TRUE(coordinator_.find("simple")->offsets.contains({"t", 0}));
}

TEST_F(CoordinatorTest, AnUnreadableSubscriptionSubscribesTheGroupToNothing) {
  // Kafka's rule: when a member's subscription cannot be read, the group's
  // subscribed topics are unknown, and no offset is held back for them.
  auto p = params("");
  p.require_known_member_id = false;  // its metadata {1, 2, 3} is no subscription
  auto joined = coordinator_.join({1, 1}, p, 0);
  ASSERT_TRUE(joined.result);
  sync(joined.result->member_id, 1, 0);
  std::vector<int16_t> errors;
  ASSERT_EQ(coordinator_.commit({"g", 1, joined.result->member_id, std::nullopt, false},
                                std::vector<CommitPartition>{{"t", 0, 1, -1, {}}}, errors, 0),
            kNone);
  const std::vector<TopicPartitionRef> t0{{"t", 0}};
  EXPECT_EQ(coordinator_.delete_offsets("g", t0, errors, 0), kNone);
  EXPECT_EQ(errors, std::vector<int16_t>{kNone});
  EXPECT_FALSE(coordinator_.find("g")->offsets.contains({"t", 0}));
}

std::vector<uint8_t> hex_bytes(std::string_view hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

// What Apache Kafka 4.4 wrote into __consumer_offsets for group "g3", a
// console consumer of the KIP-848 protocol (group.protocol=consumer) that
// read topic "plain" and left: its consumer group records (types 3, 5-8),
// offset commits (key type 1, value version 4 with the topic id in a tag) and
// the tombstones and epoch bumps of its leaving. All are replayed into a
// consumer group (the tagged fields of Kafka 4.1+ skipped); a value of a
// version newer than Kafka 4.4's is named unreadable.
TEST(CoordinatorLoad, Kafka44ConsumerGroupRecordsAreNamedAndTheirOffsetsServed) {
  using Loaded = GroupCoordinator::Loaded;
  GroupConfig config;
  GroupCoordinator coordinator(config, nullptr);
  const std::string member = "0016365f774b346751435338475249447248506f6a705977";
  const std::string topic_id = "b625402842584ab598aee51226027170";
  struct Record {
    std::string key;
    std::optional<std::string> value;
    Loaded loaded;
  };
  const std::vector<Record> records = {
      {"000500026733" + member,
       "0000000011636f6e736f6c652d636f6e73756d65720b2f3132372e302e302e310206706c61696e01000493e000"
       "01000100",
       Loaded::kUsed},
      {"000300026733", "000000000002010008d7c96371ede7a111", Loaded::kUsed},
      {"000700026733" + member, "000002" + topic_id + "040000000000000001000000020000",
       Loaded::kUsed},
      {"000600026733", "000000000002010008000001a24e93ebed", Loaded::kUsed},
      {"0001000267330005706c61696e00000002",
       "00040000000000000000ffffffff01000001a24e93eebc010010" + topic_id, Loaded::kUsed},
      {"0001000267330005706c61696e00000000",
       "00040000000000000064ffffffff01000001a24e93eebc010010" + topic_id, Loaded::kUsed},
      {"000700026733" + member, std::nullopt, Loaded::kUsed},
      {"000300026733", "00000000000300", Loaded::kUsed},
      // A version 5 OffsetCommitValue: newer than any Kafka writes today.
      {"0001000267330005706c61696e00000001", "00050000000000000007ffffffff01000001a24e93eebc00",
       Loaded::kUnreadable},
  };
  for (const Record& r : records) {
    const std::vector<uint8_t> key = hex_bytes(r.key);
    std::optional<std::vector<uint8_t>> value;
    if (r.value) value = hex_bytes(*r.value);
    std::optional<std::span<const uint8_t>> value_span;
    if (value) value_span = std::span<const uint8_t>(*value);
    EXPECT_EQ(coordinator.load(key, value_span), r.loaded) << r.key;
    auto typed = key_type_and_group(key);
    ASSERT_TRUE(typed) << r.key;
    EXPECT_EQ(typed->group, "g3");
  }
  coordinator.finish_load(0);
  const ConsumerGroup* g3 = coordinator.find_consumer("g3");
  ASSERT_NE(g3, nullptr);
  EXPECT_EQ(g3->group_epoch, 3);
  EXPECT_EQ(g3->assignment_epoch, 2);
  ASSERT_EQ(g3->members.size(), 1u);
  const ConsumerMember& m = g3->members.begin()->second;
  EXPECT_EQ(m.id, "6_wK4gQCS8GRIDrHPojpYw");
  EXPECT_EQ(m.client_id, "console-consumer");
  EXPECT_EQ(m.client_host, "/127.0.0.1");
  EXPECT_EQ(m.subscribed_topic_names, std::vector<std::string>{"plain"});
  EXPECT_FALSE(m.subscribed_topic_regex);  // Kafka writes "" for none
  EXPECT_EQ(m.rebalance_timeout_ms, 300000);
  EXPECT_TRUE(g3->target.empty());
  ASSERT_EQ(g3->offsets.size(), 2u);
  EXPECT_EQ(g3->offsets.at({"plain", 0}).offset, 100);
  EXPECT_EQ(g3->offsets.at({"plain", 2}).offset, 0);
  EXPECT_EQ(coordinator_record_type_name(3), "ConsumerGroupMetadata");
  EXPECT_EQ(coordinator_record_type_name(8), "ConsumerGroupCurrentMemberAssignment");
  EXPECT_EQ(coordinator_record_type_name(23), "StreamsGroupTopology");
  EXPECT_EQ(coordinator_record_type_name(9), "unknown type");
}

}  // namespace
}  // namespace kb::group
