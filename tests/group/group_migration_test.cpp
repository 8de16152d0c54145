// Groups changing protocol while they have members (Kafka's
// group.consumer.migration.policy): a classic group becomes a consumer group
// when a consumer-protocol member joins, its classic members keep working
// through JoinGroup/SyncGroup/Heartbeat/LeaveGroup/OffsetCommit, and the
// group goes back to the classic protocol when the last consumer-protocol
// member leaves; every step written as Kafka writes it and replayed.

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kb/base/byte_buffer.hpp"
#include "kb/cluster/topic_table.hpp"
#include "kb/group/coordinator.hpp"
#include "kb/group/records.hpp"
#include "kb/protocol/error_code.hpp"
#include "kb/wire/serde.hpp"
#include "kb/wire/writer.hpp"
#include "memory_store.hpp"

namespace kb::group {
namespace {

using protocol::ErrorCode;
using protocol::to_wire;

constexpr int16_t kNone = 0;

using test::count;
using test::MemoryStore;
using test::owned_of;
using test::topic_id;

// What the Java consumer sends as its protocol metadata: a
// ConsumerProtocolSubscription (version 3) of topic "t" with what it owns.
std::vector<uint8_t> subscription(const std::set<int32_t>& owned,
                                  std::optional<std::string> rack = std::nullopt) {
  records::ConsumerProtocolSubscription s;
  s.topics = {"t"};
  if (!owned.empty()) s.owned_partitions.push_back({"t", {owned.begin(), owned.end()}});
  s.generation_id = -1;
  s.rack_id = std::move(rack);
  ByteBuffer out;
  wire::Writer writer(out);
  writer.int16(3);
  wire::encode(writer, s, 3, false);
  return {out.data(), out.data() + out.size()};
}

std::vector<uint8_t> assignment_of(const std::set<int32_t>& partitions) {
  records::ConsumerProtocolAssignment a;
  if (!partitions.empty())
    a.assigned_partitions.push_back({"t", {partitions.begin(), partitions.end()}});
  return encode_assignment(a, 3);
}

std::set<int32_t> partitions_in(std::span<const uint8_t> assignment) {
  std::set<int32_t> out;
  auto a = decode_assignment(assignment);
  EXPECT_TRUE(a.has_value());
  if (a)
    for (const auto& t : a->assigned_partitions)
      out.insert(t.partitions.begin(), t.partitions.end());
  return out;
}

class GroupMigrationTest : public ::testing::Test {
 protected:
  explicit GroupMigrationTest(MigrationPolicy policy = MigrationPolicy::kBidirectional) {
    config_.consumer_migration_policy = policy;
    coordinator_ = std::make_unique<GroupCoordinator>(config_, &store_);
    topics_.add_topic("t", topic_id(1));
    for (int32_t p = 0; p < 6; ++p) {
      cluster::PartitionInfo info;
      info.partition_index = p;
      topics_.set_partition(topic_id(1), info);
    }
    version_ = 1;
  }

  // A classic consumer: its member id, generation and what it owns.
  struct Classic {
    std::string id;
    uint64_t connection = 0;
    int32_t correlation = 0;
    int32_t generation = -1;
    std::set<int32_t> owned;
  };

  JoinParams join_params(Classic& c, const std::vector<uint8_t>& meta) {
    JoinParams jp;
    jp.group_id = "g";
    jp.member_id = c.id;
    jp.client_id = "classic";
    jp.client_host = "/127.0.0.1";
    jp.session_timeout_ms = 10000;
    jp.rebalance_timeout_ms = 20000;
    jp.protocol_type = "consumer";
    jp.protocols = {{"range", meta}, {"cooperative-sticky", meta}};
    return jp;
  }

  // JoinGroup as a new request (asked again by the same key while parked).
  Outcome<JoinResult> join(Classic& c, Millis now, bool again = false) {
    if (!again) ++c.correlation;
    const std::vector<uint8_t> meta = subscription(c.owned);
    Outcome<JoinResult> o = coordinator_->join({c.connection, c.correlation}, join_params(c, meta),
                                               now, {&topics_, version_});
    if (o.result && o.result->error == kNone) {
      c.id = o.result->member_id;
      c.generation = o.result->generation;
    }
    return o;
  }

  Outcome<SyncResult> sync(
      Classic& c, Millis now,
      std::vector<std::pair<std::string_view, std::span<const uint8_t>>> assignments = {}) {
    SyncParams sp;
    sp.group_id = "g";
    sp.generation = c.generation;
    sp.member_id = c.id;
    sp.protocol_type = "consumer";
    sp.protocol_name = "range";
    sp.assignments = std::move(assignments);
    auto o = coordinator_->sync(sp, now, &topics_);
    if (o.result && o.result->error == kNone) c.owned = partitions_in(o.result->assignment);
    return o;
  }

  int16_t heartbeat(Classic& c, Millis now) {
    return coordinator_->heartbeat("g", c.generation, {c.id, std::nullopt}, now);
  }

  // A classic consumer rejoining after REBALANCE_IN_PROGRESS (joins, syncs).
  void rejoin(Classic& c, Millis now) {
    auto j = join(c, now);
    ASSERT_TRUE(j.result);
    ASSERT_EQ(j.result->error, kNone);
    auto s = sync(c, now);
    ASSERT_TRUE(s.result);
    ASSERT_EQ(s.result->error, kNone);
  }

  // A classic group of a and b: t-0..2 to a, t-3..5 to b, generation 1.
  void start_classic_group(Classic& a, Classic& b) {
    a.connection = 1;
    b.connection = 2;
    ASSERT_FALSE(join(a, 0).result);  // the first rebalance waits for more
    ASSERT_FALSE(join(b, 0).result);
    coordinator_->advance(3000);
    auto ja = join(a, 3000, true);
    auto jb = join(b, 3000, true);
    ASSERT_TRUE(ja.result && jb.result);
    ASSERT_EQ(ja.result->error, kNone);
    ASSERT_EQ(jb.result->error, kNone);
    Classic& leader = ja.result->leader == a.id ? a : b;
    Classic& follower = &leader == &a ? b : a;
    const auto first = assignment_of({0, 1, 2});
    const auto second = assignment_of({3, 4, 5});
    ASSERT_TRUE(sync(leader, 3001, {{a.id, first}, {b.id, second}}).result);
    ASSERT_TRUE(sync(follower, 3001).result);
    ASSERT_EQ(a.owned, (std::set<int32_t>{0, 1, 2}));
    ASSERT_EQ(b.owned, (std::set<int32_t>{3, 4, 5}));
    ASSERT_EQ(coordinator_->find_classic("g")->state_name(), "Stable");
  }

  // A consumer-protocol member.
  struct Member {
    explicit Member(std::string member_id) : id(std::move(member_id)) {}
    std::string id;
    int32_t epoch = 0;
    TopicPartitionSet owned;
  };

  ConsumerHeartbeatResult beat(Member& m, Millis now) {
    ConsumerHeartbeatParams p;
    p.group_id = "g";
    p.member_id = m.id;
    p.member_epoch = m.epoch;
    p.client_id = "consumer";
    p.client_host = "/127.0.0.1";
    p.version = 1;
    const std::vector<std::string_view> names{"t"};
    if (m.epoch == 0) {
      p.rebalance_timeout_ms = 30000;
      p.subscribed_topic_names = names;
      p.owned.emplace();
    } else {
      p.owned = owned_of(m.owned);
    }
    auto r = coordinator_->consumer_heartbeat(p, {&topics_, version_}, now);
    if (r.error == kNone) {
      m.epoch = r.member_epoch;
      if (r.assignment) m.owned = *r.assignment;
    }
    return r;
  }

  // A consumer-protocol member with a group instance id joining.
  ConsumerHeartbeatResult beat_static(Member& m, std::string_view instance, Millis now) {
    ConsumerHeartbeatParams p;
    p.group_id = "g";
    p.member_id = m.id;
    p.member_epoch = 0;
    p.instance_id = instance;
    p.client_id = "consumer";
    p.client_host = "/127.0.0.1";
    p.version = 1;
    const std::vector<std::string_view> names{"t"};
    p.rebalance_timeout_ms = 30000;
    p.subscribed_topic_names = names;
    p.owned.emplace();
    auto r = coordinator_->consumer_heartbeat(p, {&topics_, version_}, now);
    if (r.error == kNone) {
      m.epoch = r.member_epoch;
      if (r.assignment) m.owned = *r.assignment;
    }
    return r;
  }

  // A classic member with a group instance id joining without a member id.
  Outcome<JoinResult> join_static(Classic& c, std::string_view instance, Millis now) {
    ++c.correlation;
    const std::vector<uint8_t> meta = subscription(c.owned);
    JoinParams jp = join_params(c, meta);
    jp.instance_id = instance;
    Outcome<JoinResult> o =
        coordinator_->join({c.connection, c.correlation}, jp, now, {&topics_, version_});
    if (o.result && o.result->error == kNone) {
      c.id = o.result->member_id;
      c.generation = o.result->generation;
    }
    return o;
  }

  const ConsumerGroup* consumer_group() const { return coordinator_->find_consumer("g"); }

  std::unique_ptr<GroupCoordinator> reload() { return test::replayed(store_, config_); }

  // Every partition held by at most one member of the consumer group.
  void expect_no_partition_twice() const {
    std::set<int32_t> seen;
    for (const auto& [id, m] : consumer_group()->members)
      for (const auto* set : {&m.assigned, &m.pending_revocation})
        for (const auto& [t, parts] : *set)
          for (int32_t p : parts) EXPECT_TRUE(seen.insert(p).second) << "partition " << p;
  }

  GroupConfig config_;
  MemoryStore store_;
  cluster::TopicTable topics_;
  int64_t version_ = 0;
  std::unique_ptr<GroupCoordinator> coordinator_;
};

TEST(MigrationPolicyTest, KafkasNamesInAnyCase) {
  EXPECT_EQ(parse_migration_policy("bidirectional"), MigrationPolicy::kBidirectional);
  EXPECT_EQ(parse_migration_policy("UPGRADE"), MigrationPolicy::kUpgrade);
  EXPECT_EQ(parse_migration_policy("Downgrade"), MigrationPolicy::kDowngrade);
  EXPECT_EQ(parse_migration_policy("disabled"), MigrationPolicy::kDisabled);
  EXPECT_FALSE(parse_migration_policy("both"));
  EXPECT_EQ(GroupConfig{}.consumer_migration_policy, MigrationPolicy::kBidirectional);
}

// The classic members become consumer-group members with their partitions,
// written as Kafka writes them: the classic group's record tombstoned, each
// member's ConsumerGroupMemberMetadata carrying its ClassicMemberMetadata.
TEST_F(GroupMigrationTest, AConsumerMemberJoiningMovesTheClassicGroupWithItsAssignments) {
  Classic a, b;
  start_classic_group(a, b);
  store_.log.clear();
  Member c("c");
  auto r = beat(c, 4000);
  ASSERT_EQ(r.error, kNone);
  ASSERT_NE(consumer_group(), nullptr);
  const ConsumerGroup& g = *consumer_group();
  EXPECT_EQ(g.members.size(), 3u);
  const ConsumerMember& ma = g.members.at(a.id);
  ASSERT_TRUE(ma.uses_classic_protocol());
  EXPECT_EQ(ma.classic->session_timeout_ms, 10000);
  ASSERT_EQ(ma.classic->supported_protocols.size(), 2u);
  EXPECT_EQ(ma.classic->supported_protocols[0].name, "range");
  EXPECT_EQ(ma.member_epoch, 1);  // the classic generation
  EXPECT_EQ(ma.assigned.at(topic_id(1)), (std::set<int32_t>{0, 1, 2}));
  EXPECT_EQ(g.members.at(b.id).assigned.at(topic_id(1)), (std::set<int32_t>{3, 4, 5}));
  EXPECT_FALSE(g.members.at("c").uses_classic_protocol());
  EXPECT_EQ(g.group_epoch, 2);    // the generation, then c's join
  EXPECT_EQ(count(c.owned), 0u);  // all still the classic members'

  // First record: the classic group's tombstone; then the members as Kafka
  // writes them, with their classic metadata.
  const auto& log = store_.log.begin()->second;
  ASSERT_FALSE(log.empty());
  EXPECT_TRUE(std::holds_alternative<GroupMetadataKey>(decode_key(log.front().key)));
  EXPECT_FALSE(log.front().value);
  auto key = decode_key(log[1].key);
  ASSERT_TRUE(std::holds_alternative<ConsumerGroupRecordKey>(key));
  EXPECT_EQ(std::get<ConsumerGroupRecordKey>(key).type, kConsumerGroupMemberMetadataType);
  auto value = decode_consumer_group_value<ConsumerGroupMemberMetadataValue>(*log[1].value);
  ASSERT_TRUE(value && value->classic_member_metadata);
  EXPECT_EQ(value->classic_member_metadata->session_timeout_ms, 10000);
  EXPECT_EQ(value->subscribed_topic_names, std::vector<std::string>{"t"});
  expect_no_partition_twice();

  // The replay gives the same group.
  auto reloaded = reload();
  const ConsumerGroup* replayed = reloaded->find_consumer("g");
  ASSERT_NE(replayed, nullptr);
  EXPECT_TRUE(replayed->members.at(a.id).uses_classic_protocol());
  EXPECT_FALSE(replayed->members.at("c").uses_classic_protocol());
  EXPECT_EQ(replayed->members.at(b.id).assigned, g.members.at(b.id).assigned);
  EXPECT_EQ(replayed->group_epoch, g.group_epoch);
}

// The classic members are told to rejoin, give up what the new target takes
// from them, and the consumer-protocol member gets it only then; no
// partition is ever held twice.
TEST_F(GroupMigrationTest, ClassicMembersRejoinAndHandPartitionsOverInOrder) {
  Classic a, b;
  start_classic_group(a, b);
  Member c("c");
  ASSERT_EQ(beat(c, 4000).error, kNone);
  EXPECT_EQ(heartbeat(a, 4001), to_wire(ErrorCode::kRebalanceInProgress));
  EXPECT_EQ(heartbeat(b, 4001), to_wire(ErrorCode::kRebalanceInProgress));
  Millis now = 4002;
  for (int round = 0; round < 6; ++round, now += 10) {
    for (Classic* m : {&a, &b})
      if (heartbeat(*m, now) == to_wire(ErrorCode::kRebalanceInProgress)) rejoin(*m, now);
    beat(c, now);
    expect_no_partition_twice();
  }
  EXPECT_EQ(a.owned.size(), 2u);
  EXPECT_EQ(b.owned.size(), 2u);
  EXPECT_EQ(count(c.owned), 2u);
  EXPECT_EQ(heartbeat(a, now), kNone);
  EXPECT_EQ(consumer_group()->state_name(), "Stable");
  std::set<int32_t> all(a.owned.begin(), a.owned.end());
  all.insert(b.owned.begin(), b.owned.end());
  for (const auto& [t, parts] : c.owned) all.insert(parts.begin(), parts.end());
  EXPECT_EQ(all.size(), 6u);
  // Their generation is their member epoch.
  EXPECT_EQ(a.generation, consumer_group()->members.at(a.id).member_epoch);
}

TEST_F(GroupMigrationTest, ClassicMembersCommitWithTheirGenerationAndOldVersions) {
  Classic a, b;
  start_classic_group(a, b);
  Member c("c");
  ASSERT_EQ(beat(c, 4000).error, kNone);
  std::vector<int16_t> errors;
  const std::vector<CommitPartition> parts{{"t", 0, 42, -1, std::nullopt}};
  CommitParams cp;
  cp.group_id = "g";
  cp.member_id = a.id;
  cp.generation = a.generation;
  cp.api_version = 8;
  EXPECT_EQ(coordinator_->commit(cp, parts, errors, 4001), kNone);
  EXPECT_EQ(coordinator_->find("g")->offsets.at({"t", 0}).offset, 42);
  cp.generation = a.generation + 5;
  EXPECT_EQ(coordinator_->commit(cp, parts, errors, 4002), to_wire(ErrorCode::kIllegalGeneration));
  // A consumer-protocol member still needs v9+.
  CommitParams cc;
  cc.group_id = "g";
  cc.member_id = "c";
  cc.generation = c.epoch;
  cc.api_version = 8;
  EXPECT_EQ(coordinator_->commit(cc, parts, errors, 4003), to_wire(ErrorCode::kUnsupportedVersion));
  EXPECT_EQ(coordinator_->validate_fetch("g", a.id, a.generation + 1, 4004),
            to_wire(ErrorCode::kIllegalGeneration));
}

// A classic member that never rejoins when told to is fenced after its
// rebalance timeout; one that goes silent, after its own session timeout.
TEST_F(GroupMigrationTest, ClassicMembersInsideAreFencedOnTheirOwnTimeouts) {
  Classic a, b;
  start_classic_group(a, b);
  Member c("c");
  ASSERT_EQ(beat(c, 4000).error, kNone);
  ASSERT_EQ(heartbeat(a, 4001), to_wire(ErrorCode::kRebalanceInProgress));
  // b rejoins and syncs, then goes silent: gone 10 s (its session) later.
  ASSERT_EQ(heartbeat(b, 4001), to_wire(ErrorCode::kRebalanceInProgress));
  rejoin(b, 4002);
  // a keeps heartbeating but never rejoins: gone after its rebalance
  // timeout (20 s from when it was first told).
  for (Millis t = 5000; t < 24001; t += 3000) {
    EXPECT_EQ(heartbeat(a, t), to_wire(ErrorCode::kRebalanceInProgress));
    beat(c, t);
    if (t == 11000) {
      coordinator_->advance(4002 + 9999);
      EXPECT_TRUE(consumer_group()->members.contains(b.id));
      coordinator_->advance(4002 + 10000);
      EXPECT_FALSE(consumer_group()->members.contains(b.id));
    }
  }
  coordinator_->advance(24000);
  EXPECT_TRUE(consumer_group()->members.contains(a.id));
  coordinator_->advance(24001);
  ASSERT_NE(consumer_group(), nullptr);
  EXPECT_FALSE(consumer_group()->members.contains(a.id));
  EXPECT_TRUE(consumer_group()->members.contains("c"));
}

TEST_F(GroupMigrationTest, ANewClassicMemberJoinsAConsumerGroup) {
  Member c("c");
  ASSERT_EQ(beat(c, 0).error, kNone);
  ASSERT_EQ(count(c.owned), 6u);
  Classic d;
  d.connection = 9;
  // Like the Java consumer: first without an id, told to come back with one.
  {
    ++d.correlation;
    JoinParams jp = join_params(d, subscription({}));
    jp.require_known_member_id = true;
    const std::vector<uint8_t> meta = subscription({});
    jp.protocols = {{"range", meta}};
    auto o = coordinator_->join({d.connection, d.correlation}, jp, 10, {&topics_, version_});
    ASSERT_TRUE(o.result);
    ASSERT_EQ(o.result->error, to_wire(ErrorCode::kMemberIdRequired));
    d.id = o.result->member_id;
  }
  auto j = join(d, 20);
  ASSERT_TRUE(j.result);
  ASSERT_EQ(j.result->error, kNone);
  EXPECT_EQ(j.result->protocol_name, "range");
  EXPECT_TRUE(j.result->leader.empty());
  EXPECT_TRUE(consumer_group()->members.at(d.id).uses_classic_protocol());
  // Nothing yet: c has to give three up first.
  ASSERT_EQ(sync(d, 21).result->error, kNone);
  EXPECT_TRUE(d.owned.empty());
  for (Millis t = 30; t < 100; t += 10) {
    beat(c, t);
    if (heartbeat(d, t) == to_wire(ErrorCode::kRebalanceInProgress)) rejoin(d, t);
    expect_no_partition_twice();
  }
  EXPECT_EQ(d.owned.size(), 3u);
  EXPECT_EQ(count(c.owned), 3u);
  // A protocol the classic members do not share is refused.
  Classic e;
  e.connection = 10;
  ++e.correlation;
  JoinParams jp = join_params(e, subscription({}));
  const std::vector<uint8_t> meta = subscription({});
  jp.protocols = {{"roundrobin", meta}};
  auto refused = coordinator_->join({e.connection, e.correlation}, jp, 200, {&topics_, version_});
  ASSERT_TRUE(refused.result);
  EXPECT_EQ(refused.result->error, to_wire(ErrorCode::kInconsistentGroupProtocol));
}

TEST_F(GroupMigrationTest, ClassicLeaveGroupRemovesTheMemberAndBumpsTheEpoch) {
  Classic a, b;
  start_classic_group(a, b);
  Member c("c");
  ASSERT_EQ(beat(c, 4000).error, kNone);
  const int32_t epoch = consumer_group()->group_epoch;
  const std::vector<MemberRef> leaving{{a.id, std::nullopt}, {"nobody", std::nullopt}};
  auto errors = coordinator_->leave("g", leaving, 4001);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0], kNone);
  EXPECT_EQ(errors[1], to_wire(ErrorCode::kUnknownMemberId));
  EXPECT_FALSE(consumer_group()->members.contains(a.id));
  EXPECT_EQ(consumer_group()->group_epoch, epoch + 1);
  // A consumer-protocol member cannot leave that way.
  const std::vector<MemberRef> consumer{{"c", std::nullopt}};
  EXPECT_EQ(coordinator_->leave("g", consumer, 4002).front(), to_wire(ErrorCode::kUnknownMemberId));
}

// The last consumer-protocol member leaves: the group goes back to the
// classic protocol with its classic members and their target assignments,
// and rebalances; written as the consumer group's tombstones and a
// GroupMetadata record, which the replay agrees with.
TEST_F(GroupMigrationTest, TheLastConsumerMemberLeavingGivesTheGroupBackToTheClassicOnes) {
  Classic a, b;
  start_classic_group(a, b);
  Member c("c");
  ASSERT_EQ(beat(c, 4000).error, kNone);
  store_.log.clear();
  Member leaving = c;
  leaving.epoch = kLeaveGroupMemberEpoch;
  ASSERT_EQ(beat(leaving, 4001).error, kNone);
  const ClassicGroup* classic = coordinator_->find_classic("g");
  ASSERT_NE(classic, nullptr);
  EXPECT_EQ(classic->members.size(), 2u);
  EXPECT_EQ(classic->state_name(), "PreparingRebalance");
  EXPECT_EQ(classic->protocol, "range");
  EXPECT_EQ(partitions_in(classic->members.at(a.id).assignment), (std::set<int32_t>{0, 1}));
  // The consumer group's tombstones, then the classic group's record.
  const auto& log = store_.log.begin()->second;
  ASSERT_GE(log.size(), 2u);
  for (size_t i = 0; i + 1 < log.size(); ++i) EXPECT_FALSE(log[i].value);
  EXPECT_TRUE(std::holds_alternative<GroupMetadataKey>(decode_key(log.back().key)));
  EXPECT_TRUE(log.back().value);
  // The classic group's generation is the consumer group's epoch: a, still
  // at the generation it had before c came, is told so and rejoins; both
  // then share a new generation.
  EXPECT_EQ(classic->generation, 2);
  EXPECT_EQ(heartbeat(a, 4002), to_wire(ErrorCode::kIllegalGeneration));
  ASSERT_FALSE(join(a, 4003).result);
  auto jb = join(b, 4004);
  ASSERT_TRUE(jb.result);
  EXPECT_EQ(jb.result->error, kNone);
  EXPECT_GT(jb.result->generation, 2);
  auto reloaded = reload();
  ASSERT_NE(reloaded->find_classic("g"), nullptr);
  EXPECT_EQ(reloaded->find_consumer("g"), nullptr);
}

// Kafka's rule: a classic static member taking the place of the last
// consumer-protocol member (same group instance id) turns the group back into
// a classic group at once, Stable when the subscription is the same, the new
// member with the old one's partitions.
TEST_F(GroupMigrationTest, AClassicStaticMemberReplacingTheLastConsumerMemberDowngrades) {
  Classic a, b;
  start_classic_group(a, b);
  Member c("c");
  ASSERT_EQ(beat_static(c, "instance-c", 4000).error, kNone);
  ASSERT_NE(consumer_group(), nullptr);
  // c gets its share once a and b gave theirs up.
  Millis now = 4002;
  for (int round = 0; round < 6; ++round, now += 10) {
    for (Classic* m : {&a, &b})
      if (heartbeat(*m, now) == to_wire(ErrorCode::kRebalanceInProgress)) rejoin(*m, now);
    beat(c, now);
  }
  ASSERT_NE(consumer_group(), nullptr);
  ASSERT_EQ(consumer_group()->state_name(), "Stable");
  const TopicPartitionSet c_target = consumer_group()->members.at("c").assigned;
  ASSERT_FALSE(c_target.empty());
  const int32_t epoch = consumer_group()->group_epoch;

  // c's process restarts as a classic consumer with the same instance id.
  Classic d;
  d.connection = 9;
  auto joined = join_static(d, "instance-c", 5000);
  ASSERT_TRUE(joined.result);
  ASSERT_EQ(joined.result->error, kNone);
  EXPECT_EQ(consumer_group(), nullptr);
  const ClassicGroup* classic = coordinator_->find_classic("g");
  ASSERT_NE(classic, nullptr);
  EXPECT_EQ(classic->state_name(), "Stable");
  EXPECT_EQ(classic->generation, epoch);
  EXPECT_EQ(joined.result->generation, epoch);
  EXPECT_EQ(classic->members.size(), 3u);
  EXPECT_EQ(classic->static_members.at("instance-c"), d.id);
  EXPECT_FALSE(classic->members.contains("c"));
  // Its SyncGroup gets what c had.
  auto s = sync(d, 5001);
  ASSERT_TRUE(s.result);
  ASSERT_EQ(s.result->error, kNone);
  EXPECT_EQ(d.owned.size(), count(c_target));
  // Written: the replay finds the classic group.
  auto reloaded = reload();
  ASSERT_NE(reloaded->find_classic("g"), nullptr);
  EXPECT_EQ(reloaded->find_classic("g")->members.size(), 3u);
  EXPECT_EQ(reloaded->find_consumer("g"), nullptr);
}

class UpgradeOnlyTest : public GroupMigrationTest {
 protected:
  UpgradeOnlyTest() : GroupMigrationTest(MigrationPolicy::kUpgrade) {}
};

TEST_F(UpgradeOnlyTest, TheGroupStaysAConsumerGroupWhenTheLastConsumerMemberLeaves) {
  Classic a, b;
  start_classic_group(a, b);
  Member c("c");
  ASSERT_EQ(beat(c, 4000).error, kNone);
  Member leaving = c;
  leaving.epoch = kLeaveGroupMemberEpoch;
  ASSERT_EQ(beat(leaving, 4001).error, kNone);
  ASSERT_NE(consumer_group(), nullptr);
  EXPECT_EQ(consumer_group()->members.size(), 2u);
}

TEST_F(UpgradeOnlyTest, AClassicStaticMemberReplacingTheLastConsumerMemberKeepsTheConsumerGroup) {
  Classic a, b;
  start_classic_group(a, b);
  Member c("c");
  ASSERT_EQ(beat_static(c, "instance-c", 4000).error, kNone);
  Classic d;
  d.connection = 9;
  auto joined = join_static(d, "instance-c", 5000);
  ASSERT_TRUE(joined.result);
  EXPECT_EQ(joined.result->error, kNone);
  ASSERT_NE(consumer_group(), nullptr);
  EXPECT_EQ(consumer_group()->members.size(), 3u);
  EXPECT_EQ(coordinator_->find_classic("g"), nullptr);
}

class MigrationDisabledTest : public GroupMigrationTest {
 protected:
  MigrationDisabledTest() : GroupMigrationTest(MigrationPolicy::kDisabled) {}
};

TEST_F(MigrationDisabledTest, AClassicGroupWithMembersIsNotTakenOver) {
  Classic a, b;
  start_classic_group(a, b);
  Member c("c");
  EXPECT_EQ(beat(c, 4000).error, to_wire(ErrorCode::kGroupIdNotFound));
  EXPECT_NE(coordinator_->find_classic("g"), nullptr);
  EXPECT_EQ(heartbeat(a, 4001), kNone);
}

// A consumer-protocol member joining while the classic group rebalances:
// parked joins are answered REBALANCE_IN_PROGRESS at once.
TEST_F(GroupMigrationTest, ParkedJoinsAreToldToRejoinWhenTheGroupMoves) {
  Classic a, b;
  start_classic_group(a, b);
  Classic d;
  d.connection = 5;
  ASSERT_FALSE(join(d, 4000).result);  // a rebalance starts; d waits for a and b
  Member c("c");
  ASSERT_EQ(beat(c, 4001).error, kNone);
  auto parked = join(d, 4002, true);
  ASSERT_TRUE(parked.result);
  EXPECT_EQ(parked.result->error, to_wire(ErrorCode::kRebalanceInProgress));
  ASSERT_NE(consumer_group(), nullptr);
}

}  // namespace
}  // namespace kb::group
