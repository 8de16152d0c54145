// Consumer groups (KIP-848): joining, target assignment, reconciliation in
// order, fencing on stale epochs, timeouts, regular expressions, static
// members, offsets with member epochs, and replay of the records written.

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kb/cluster/topic_table.hpp"
#include "kb/group/assignor.hpp"
#include "kb/group/coordinator.hpp"
#include "kb/group/records.hpp"
#include "kb/group/topic_regex.hpp"
#include "kb/protocol/error_code.hpp"
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

class ConsumerGroupTest : public ::testing::Test {
 protected:
  ConsumerGroupTest() : coordinator_(std::make_unique<GroupCoordinator>(GroupConfig{}, &store_)) {
    add_topic("t", 1, 6);
  }

  void add_topic(const std::string& name, uint8_t id, int32_t partitions) {
    topics_.add_topic(name, topic_id(id));
    for (int32_t p = 0; p < partitions; ++p) {
      cluster::PartitionInfo info;
      info.partition_index = p;
      topics_.set_partition(topic_id(id), info);
    }
    ++version_;
  }

  // Each member's heartbeat as the Java client sends it: a full one to join,
  // then its epoch and what it owns.
  struct Client {
    explicit Client(std::string member_id, int32_t member_epoch = 0)
        : id(std::move(member_id)), epoch(member_epoch) {}
    std::string id;
    int32_t epoch = 0;
    TopicPartitionSet owned;
  };

  ConsumerHeartbeatResult beat(Client& c, Millis now, std::vector<std::string_view> topics = {"t"},
                               std::optional<std::string_view> instance = std::nullopt,
                               std::optional<std::string_view> regex = std::nullopt,
                               std::optional<std::string_view> assignor = std::nullopt) {
    ConsumerHeartbeatParams p;
    p.group_id = "g";
    p.member_id = c.id;
    p.member_epoch = c.epoch;
    p.instance_id = instance;
    p.client_id = "client";
    p.client_host = "/127.0.0.1";
    p.version = 1;
    p.server_assignor = assignor;
    if (c.epoch == 0) {
      p.rebalance_timeout_ms = 30000;
      if (regex)
        p.subscribed_topic_regex = regex;
      else
        p.subscribed_topic_names = topics;
      p.owned.emplace();
    } else {
      p.owned = owned_of(c.owned);
    }
    auto r = coordinator_->consumer_heartbeat(p, {&topics_, version_}, now);
    if (r.error == kNone) {
      c.epoch = r.member_epoch;
      // The client takes what it is given (revoking first, as it must).
      if (r.assignment) c.owned = *r.assignment;
    }
    return r;
  }

  const ConsumerGroup& group() const { return *coordinator_->find_consumer("g"); }

  std::unique_ptr<GroupCoordinator> reload() { return test::replayed(store_); }

  MemoryStore store_;
  cluster::TopicTable topics_;
  int64_t version_ = 0;
  std::unique_ptr<GroupCoordinator> coordinator_;
};

TEST_F(ConsumerGroupTest, AFirstMemberGetsEveryPartitionAtTheFirstEpoch) {
  Client a("a");
  auto r = beat(a, 0);
  ASSERT_EQ(r.error, kNone);
  EXPECT_EQ(r.member_id, "a");
  EXPECT_EQ(r.member_epoch, 1);
  EXPECT_EQ(r.heartbeat_interval_ms, 5000);
  ASSERT_TRUE(r.assignment);
  EXPECT_EQ(count(*r.assignment), 6u);
  EXPECT_EQ(group().state_name(), "Stable");
  EXPECT_EQ(group().group_epoch, 1);
  EXPECT_EQ(group().assignment_epoch, 1);
  // A heartbeat with nothing new: the same epoch, no assignment sent.
  auto again = beat(a, 1000);
  EXPECT_EQ(again.member_epoch, 1);
  EXPECT_FALSE(again.assignment);
}

TEST_F(ConsumerGroupTest, APartitionMovesOnlyAfterItsOwnerRevokedIt) {
  Client a("a"), b("b");
  beat(a, 0);
  ASSERT_EQ(count(a.owned), 6u);
  // b joins: epoch 2, the target splits the partitions, but a still has them.
  auto rb = beat(b, 10);
  EXPECT_EQ(group().group_epoch, 2);
  EXPECT_EQ(rb.member_epoch, 2);
  EXPECT_EQ(count(*rb.assignment), 0u);  // all still a's
  EXPECT_EQ(group().state_name(), "Reconciling");
  // a is asked to give three up, at its own epoch.
  auto ra = beat(a, 20);
  EXPECT_EQ(ra.member_epoch, 1);
  ASSERT_TRUE(ra.assignment);
  EXPECT_EQ(count(*ra.assignment), 3u);
  EXPECT_EQ(group().members.at("a").state, MemberState::kUnrevokedPartitions);
  // b asks again before a confirmed: still nothing.
  auto rb2 = beat(b, 30);
  EXPECT_EQ(count(b.owned), 0u);
  EXPECT_EQ(group().members.at("b").state, MemberState::kUnreleasedPartitions);
  (void)rb2;
  // a's next heartbeat lists only the three it kept: it moves to epoch 2.
  ra = beat(a, 40);
  EXPECT_EQ(ra.member_epoch, 2);
  // Now b gets the three a gave up.
  beat(b, 50);
  EXPECT_EQ(count(b.owned), 3u);
  EXPECT_EQ(group().state_name(), "Stable");
  for (const auto& [t, parts] : b.owned)
    for (int32_t p : parts) EXPECT_FALSE(a.owned.at(t).contains(p));
}

TEST_F(ConsumerGroupTest, ThreeMembersShareSixPartitionsTwoEach) {
  Client a("a"), b("b"), c("c");
  beat(a, 0);
  beat(b, 0);
  beat(c, 0);
  for (int round = 0; round < 4; ++round)
    for (Client* m : {&a, &b, &c}) beat(*m, 100 + round);
  EXPECT_EQ(count(a.owned), 2u);
  EXPECT_EQ(count(b.owned), 2u);
  EXPECT_EQ(count(c.owned), 2u);
  EXPECT_EQ(group().state_name(), "Stable");
  EXPECT_EQ(a.epoch, 3);
}

TEST_F(ConsumerGroupTest, StaleAndFutureEpochsAreFencedThePreviousOneIsNot) {
  Client a("a"), b("b");
  beat(a, 0);
  beat(b, 0);
  beat(a, 1);
  beat(a, 2);  // a at epoch 2 with three partitions
  ASSERT_EQ(a.epoch, 2);
  Client future = a;
  future.epoch = 5;
  EXPECT_EQ(beat(future, 3).error, to_wire(ErrorCode::kFencedMemberEpoch));
  // The previous epoch with what it has: the answer was lost, accepted.
  Client previous = a;
  previous.epoch = 1;
  EXPECT_EQ(beat(previous, 4).error, kNone);
  // The previous epoch claiming partitions it does not have: fenced.
  Client greedy = a;
  greedy.epoch = 1;
  greedy.owned = {{topic_id(1), {0, 1, 2, 3, 4, 5}}};
  EXPECT_EQ(beat(greedy, 5).error, to_wire(ErrorCode::kFencedMemberEpoch));
  Client unknown("nobody", 3);
  EXPECT_EQ(beat(unknown, 6).error, to_wire(ErrorCode::kUnknownMemberId));
}

TEST_F(ConsumerGroupTest, InvalidRequestsAndUnknownAssignors) {
  ConsumerHeartbeatParams p;
  p.group_id = "g";
  p.member_id = "a";
  p.member_epoch = 0;
  p.version = 1;
  p.owned.emplace();
  p.subscribed_topic_names = std::vector<std::string_view>{"t"};
  // No rebalance timeout in the first request.
  EXPECT_EQ(coordinator_->consumer_heartbeat(p, {&topics_, version_}, 0).error,
            to_wire(ErrorCode::kInvalidRequest));
  p.rebalance_timeout_ms = 1000;
  p.server_assignor = "sticky";
  EXPECT_EQ(coordinator_->consumer_heartbeat(p, {&topics_, version_}, 0).error,
            to_wire(ErrorCode::kUnsupportedAssignor));
  p.server_assignor.reset();
  p.member_id = "";  // version 1: the client names itself
  EXPECT_EQ(coordinator_->consumer_heartbeat(p, {&topics_, version_}, 0).error,
            to_wire(ErrorCode::kInvalidRequest));
  p.version = 0;  // version 0: the coordinator names it
  auto r = coordinator_->consumer_heartbeat(p, {&topics_, version_}, 0);
  EXPECT_EQ(r.error, kNone);
  ASSERT_TRUE(r.member_id);
  EXPECT_EQ(r.member_id->size(), 22u);
  p.member_epoch = 7;
  p.member_id = "x";
  p.group_id = "other";
  EXPECT_EQ(coordinator_->consumer_heartbeat(p, {&topics_, version_}, 0).error,
            to_wire(ErrorCode::kGroupIdNotFound));
}

TEST_F(ConsumerGroupTest, ALostMemberIsFencedAfterItsSessionAndOthersTakeItsPartitions) {
  Client a("a"), b("b");
  beat(a, 0);
  beat(b, 0);
  beat(a, 1);
  beat(b, 2);
  beat(a, 3);
  beat(b, 4);
  ASSERT_EQ(count(b.owned), 3u);
  // b goes quiet; a keeps beating.
  for (Millis t = 5000; t < 45000; t += 5000) beat(a, t);
  EXPECT_TRUE(group().members.contains("b"));
  beat(a, 46000);
  coordinator_->advance(46000);
  EXPECT_FALSE(group().members.contains("b"));
  beat(a, 47000);
  EXPECT_EQ(count(a.owned), 6u);
  EXPECT_EQ(group().state_name(), "Stable");
}

// The group's own consumer.session.timeout.ms and
// consumer.heartbeat.interval.ms (GROUP config resource): the interval in
// the next answer, the timeout from the next heartbeat on.
TEST_F(ConsumerGroupTest, TheGroupsOwnConfigsTakeEffectAtTheNextHeartbeat) {
  Client a("a"), b("b");
  EXPECT_EQ(beat(a, 0).heartbeat_interval_ms, 5000);
  beat(b, 0);
  cluster::GroupConfigValues values;
  values.consumer_session_timeout_ms = 50000;
  values.consumer_heartbeat_interval_ms = 7000;
  coordinator_->set_group_config("g", values);
  // Another group keeps the broker's.
  coordinator_->set_group_config("other", cluster::GroupConfigValues{});
  EXPECT_EQ(beat(a, 1000).heartbeat_interval_ms, 7000);
  beat(b, 1000);  // b's session now ends at 51000, not 46000
  for (Millis t = 6000; t <= 50000; t += 5000) beat(a, t);
  coordinator_->advance(50000);
  EXPECT_TRUE(group().members.contains("b"));
  coordinator_->advance(51000);
  EXPECT_FALSE(group().members.contains("b"));
  // Unset again: the broker's.
  coordinator_->set_group_config("g", cluster::GroupConfigValues{});
  EXPECT_EQ(beat(a, 52000).heartbeat_interval_ms, 5000);
}

TEST_F(ConsumerGroupTest, AMemberThatNeverRevokesIsFencedAfterItsRebalanceTimeout) {
  Client a("a"), b("b");
  beat(a, 0);
  beat(b, 10);
  beat(a, 20);  // asked to revoke three
  ASSERT_EQ(group().members.at("a").state, MemberState::kUnrevokedPartitions);
  // a keeps listing all six.
  Client stubborn = a;
  stubborn.owned = {{topic_id(1), {0, 1, 2, 3, 4, 5}}};
  for (Millis t = 5000; t <= 30000; t += 5000) {
    beat(stubborn, t);
    beat(b, t);
  }
  coordinator_->advance(30021);
  EXPECT_FALSE(group().members.contains("a"));
  beat(b, 31000);
  beat(b, 31001);
  EXPECT_EQ(count(b.owned), 6u);
}

TEST_F(ConsumerGroupTest, LeavingFreesPartitionsAndBumpsTheEpoch) {
  Client a("a"), b("b");
  beat(a, 0);
  beat(b, 0);
  beat(a, 1);
  beat(b, 2);
  beat(a, 3);
  beat(b, 4);
  const int32_t before = group().group_epoch;
  Client leaving = b;
  leaving.epoch = kLeaveGroupMemberEpoch;
  auto r = beat(leaving, 5);
  EXPECT_EQ(r.error, kNone);
  EXPECT_EQ(r.member_epoch, kLeaveGroupMemberEpoch);
  EXPECT_EQ(group().group_epoch, before + 1);
  beat(a, 6);
  EXPECT_EQ(count(a.owned), 6u);
}

TEST_F(ConsumerGroupTest, AStaticMemberComesBackWithItsPartitions) {
  Client a("a1"), b("b");
  beat(a, 0, {"t"}, "instance-a");
  beat(b, 0);
  beat(a, 1, {"t"}, "instance-a");
  beat(b, 2);
  beat(a, 3, {"t"}, "instance-a");
  beat(b, 4);
  const TopicPartitionSet had = a.owned;
  ASSERT_EQ(count(had), 3u);
  // A new process with the same instance id while a1 is still active.
  Client replacement("a2");
  EXPECT_EQ(beat(replacement, 5, {"t"}, "instance-a").error,
            to_wire(ErrorCode::kUnreleasedInstanceId));
  // a1 leaves for now (epoch -2): its partitions stay reserved, no new epoch.
  const int32_t epoch = group().group_epoch;
  Client pause = a;
  pause.epoch = kLeaveGroupStaticMemberEpoch;
  EXPECT_EQ(beat(pause, 6, {"t"}, "instance-a").error, kNone);
  EXPECT_EQ(group().group_epoch, epoch);
  beat(b, 7);
  EXPECT_EQ(count(b.owned), 3u);
  // a2 takes its place and gets the same partitions back at once.
  auto r = beat(replacement, 8, {"t"}, "instance-a");
  ASSERT_EQ(r.error, kNone);
  EXPECT_EQ(replacement.owned, had);
  EXPECT_FALSE(group().members.contains("a1"));
  EXPECT_EQ(group().group_epoch, epoch);
}

TEST_F(ConsumerGroupTest, RegexSubscriptionsFollowTopicsAsTheyAppear) {
  add_topic("orders-eu", 2, 2);
  add_topic("orders-us", 3, 2);
  add_topic("payments", 4, 2);
  Client a("a");
  auto r = beat(a, 0, {}, std::nullopt, "orders-.*");
  ASSERT_EQ(r.error, kNone);
  EXPECT_EQ(count(a.owned), 4u);
  EXPECT_FALSE(a.owned.contains(topic_id(4)));
  // A new matching topic: a new epoch, and its partitions too.
  add_topic("orders-asia", 5, 3);
  beat(a, 10);
  EXPECT_EQ(count(a.owned), 7u);
  auto subscribed = group().subscribed_topics();
  ASSERT_TRUE(subscribed);
  EXPECT_TRUE(subscribed->contains("orders-asia"));
  EXPECT_FALSE(subscribed->contains("payments"));

  Client bad("bad");
  EXPECT_EQ(beat(bad, 20, {}, std::nullopt, "(?=orders).*").error,
            to_wire(ErrorCode::kInvalidRegularExpression));
}

// Kafka 4's ConsumerGroupRegularExpression records: each expression in use
// written with the topics it resolved to (again when they change), a
// tombstone once nobody uses it, and replayed, so a log directory moves to
// Kafka with its expressions resolved.
TEST_F(ConsumerGroupTest, RegularExpressionsAreWrittenAsResolvedAndReplayed) {
  add_topic("orders-eu", 2, 2);
  add_topic("payments", 4, 2);
  auto regex_records = [&] {
    std::vector<std::pair<std::string, std::optional<ConsumerGroupRegularExpressionValue>>> out;
    for (const auto& [partition, records] : store_.log)
      for (const auto& r : records) {
        auto key = decode_key(r.key);
        const auto* k = std::get_if<ConsumerGroupRecordKey>(&key);
        if (k == nullptr || k->type != kConsumerGroupRegularExpressionType) continue;
        std::optional<ConsumerGroupRegularExpressionValue> value;
        if (r.value) {
          value = decode_consumer_group_value<ConsumerGroupRegularExpressionValue>(*r.value);
          EXPECT_TRUE(value);
        }
        out.emplace_back(k->member_id, std::move(value));
      }
    return out;
  };
  Client a("a"), b("b");
  ASSERT_EQ(beat(a, 0, {}, std::nullopt, "orders-.*").error, kNone);
  ASSERT_EQ(beat(b, 1, {}, std::nullopt, "orders-.*").error, kNone);
  auto written = regex_records();
  ASSERT_EQ(written.size(), 1u);  // resolved once: b's is the same expression
  EXPECT_EQ(written[0].first, "orders-.*");
  ASSERT_TRUE(written[0].second);
  EXPECT_EQ(written[0].second->topics, std::vector<std::string>{"orders-eu"});
  EXPECT_EQ(written[0].second->version, version_);
  EXPECT_GT(written[0].second->timestamp, 0);

  add_topic("orders-us", 3, 2);
  beat(a, 10);
  written = regex_records();
  ASSERT_EQ(written.size(), 2u);
  EXPECT_EQ(written[1].second->topics, (std::vector<std::string>{"orders-eu", "orders-us"}));
  {
    auto reloaded = reload();
    const auto& resolved = reloaded->find_consumer("g")->resolved_regexes;
    ASSERT_TRUE(resolved.contains("orders-.*"));
    EXPECT_EQ(resolved.at("orders-.*").topics, written[1].second->topics);
  }
  for (Client* c : {&a, &b}) {
    Client leaving = *c;
    leaving.epoch = kLeaveGroupMemberEpoch;
    ASSERT_EQ(beat(leaving, 20).error, kNone);
  }
  written = regex_records();
  ASSERT_EQ(written.size(), 3u);  // a tombstone when the last user left
  EXPECT_FALSE(written[2].second);
  EXPECT_TRUE(group().resolved_regexes.empty());
  EXPECT_TRUE(reload()->find_consumer("g")->resolved_regexes.empty());
}

TEST(TopicRegexTest, ReadsRe2SyntaxAsKafkaDoes) {
  auto match = [](std::string_view pattern, std::string_view topic) {
    auto re = TopicRegex::compile(pattern);
    EXPECT_TRUE(re) << pattern;
    return re && re->matches(topic);
  };
  EXPECT_TRUE(match("orders-.*", "orders-eu"));
  EXPECT_FALSE(match("orders", "orders-eu"));  // the whole name
  EXPECT_TRUE(match("(?i)ORDERS\\..*", "orders.eu"));
  EXPECT_TRUE(match("\\Qa.b\\E-\\d+", "a.b-12"));
  EXPECT_FALSE(match("\\Qa.b\\E-\\d+", "axb-12"));
  EXPECT_TRUE(match("(?P<region>eu|us)-\\pL+", "eu-orders"));
  EXPECT_TRUE(match("[[:alpha:]]+_[0-9]{2}", "topic_42"));
  EXPECT_TRUE(match("\\Atopic\\z", "topic"));
  EXPECT_TRUE(match("[]a]+", "a]a"));
  for (std::string_view refused :
       {"(a)\\1", "(?=a)a", "(?<=a)b", "(?!a)b", "[a", "a(?i)b", "\\p{Greek}"})
    EXPECT_FALSE(TopicRegex::compile(refused)) << refused;
}

TEST_F(ConsumerGroupTest, OffsetCommitsAreCheckedAgainstMemberEpochs) {
  Client a("a");
  beat(a, 0);
  std::vector<int16_t> errors;
  const std::vector<CommitPartition> parts{{"t", 0, 42, -1, std::nullopt}};
  CommitParams p;
  p.group_id = "g";
  p.member_id = "a";
  p.generation = a.epoch;
  p.api_version = 9;
  EXPECT_EQ(coordinator_->commit(p, parts, errors, 1), kNone);
  EXPECT_EQ(errors, std::vector<int16_t>{kNone});
  EXPECT_EQ(coordinator_->find("g")->offsets.at({"t", 0}).offset, 42);
  p.generation = a.epoch - 1;
  EXPECT_EQ(coordinator_->commit(p, parts, errors, 1), to_wire(ErrorCode::kStaleMemberEpoch));
  p.generation = a.epoch;
  p.api_version = 8;
  EXPECT_EQ(coordinator_->commit(p, parts, errors, 1), to_wire(ErrorCode::kUnsupportedVersion));
  p.api_version = 9;
  p.member_id = "nobody";
  EXPECT_EQ(coordinator_->commit(p, parts, errors, 1), to_wire(ErrorCode::kUnknownMemberId));
  // From outside the group while it has members: refused as Kafka does.
  p.member_id = "";
  p.generation = -1;
  EXPECT_EQ(coordinator_->commit(p, parts, errors, 1), to_wire(ErrorCode::kUnknownMemberId));
  EXPECT_EQ(coordinator_->validate_fetch("g", std::string_view("a"), a.epoch, 1), kNone);
  EXPECT_EQ(coordinator_->validate_fetch("g", std::string_view("a"), a.epoch + 1, 1),
            to_wire(ErrorCode::kStaleMemberEpoch));
  EXPECT_EQ(coordinator_->validate_fetch("g", std::nullopt, -1, 1), kNone);
  // An empty group may be deleted; one with members may not.
  EXPECT_EQ(coordinator_->delete_group("g", 2), to_wire(ErrorCode::kNonEmptyGroup));
}

TEST_F(ConsumerGroupTest, TheRecordsReplayIntoTheSameGroup) {
  Client a("a"), b("b");
  beat(a, 0, {"t"}, "instance-a");
  beat(b, 10);
  beat(a, 20, {"t"}, "instance-a");  // revoking
  std::vector<int16_t> errors;
  const std::vector<CommitPartition> parts{{"t", 1, 7, 3, "m"}};
  CommitParams p{"g", a.epoch, "a", std::string_view("instance-a"), false, 9};
  ASSERT_EQ(coordinator_->commit(p, parts, errors, 30), kNone);

  auto reloaded = reload();
  const ConsumerGroup* g = reloaded->find_consumer("g");
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->group_epoch, group().group_epoch);
  EXPECT_EQ(g->assignment_epoch, group().assignment_epoch);
  EXPECT_EQ(g->target, group().target);
  EXPECT_EQ(g->partition_epochs, group().partition_epochs);
  EXPECT_EQ(g->subscription_metadata, group().subscription_metadata);
  EXPECT_EQ(g->static_members.at("instance-a"), "a");
  ASSERT_EQ(g->members.size(), 2u);
  for (const auto& [id, m] : group().members) {
    const ConsumerMember& r = g->members.at(id);
    EXPECT_EQ(r.member_epoch, m.member_epoch) << id;
    EXPECT_EQ(r.previous_member_epoch, m.previous_member_epoch) << id;
    EXPECT_EQ(r.state, m.state) << id;
    EXPECT_EQ(r.assigned, m.assigned) << id;
    EXPECT_EQ(r.pending_revocation, m.pending_revocation) << id;
    EXPECT_EQ(r.subscribed_topic_names, m.subscribed_topic_names) << id;
    EXPECT_EQ(r.instance_id, m.instance_id) << id;
  }
  EXPECT_EQ(g->offsets.at({"t", 1}).offset, 7);
  EXPECT_EQ(g->state_name(), "Reconciling");

  // The restored group goes on: a revokes, b gets its share.
  coordinator_ = std::move(reloaded);
  beat(a, 100, {"t"}, "instance-a");
  beat(b, 110);
  EXPECT_EQ(count(a.owned), 3u);
  EXPECT_EQ(count(b.owned), 3u);
  EXPECT_EQ(group().state_name(), "Stable");

  // Both leave; the empty group is deleted with tombstones that replay.
  Client la = a, lb = b;
  la.epoch = kLeaveGroupMemberEpoch;
  lb.epoch = kLeaveGroupMemberEpoch;
  beat(la, 200, {"t"}, "instance-a");
  beat(lb, 200);
  EXPECT_EQ(group().state_name(), "Empty");
  EXPECT_EQ(coordinator_->delete_group("g", 300), kNone);
  EXPECT_EQ(reload()->find("g"), nullptr);
}

TEST_F(ConsumerGroupTest, AStoreFailureChangesNothing) {
  Client a("a");
  store_.fail = true;
  EXPECT_EQ(beat(a, 0).error, to_wire(ErrorCode::kCoordinatorNotAvailable));
  store_.fail = false;
  EXPECT_EQ(beat(a, 1).error, kNone);
  EXPECT_EQ(group().group_epoch, 1);
}

TEST_F(ConsumerGroupTest, AClassicGroupWithMembersIsNotTakenOver) {
  JoinParams jp;
  jp.group_id = "g";
  jp.client_id = "c";
  jp.session_timeout_ms = 10000;
  jp.rebalance_timeout_ms = 10000;
  jp.protocol_type = "consumer";
  const std::vector<uint8_t> meta{0, 1};
  jp.protocols = {{"range", meta}};
  coordinator_->join({1, 1}, jp, 0);  // parked: the first rebalance waits for more
  ASSERT_FALSE(coordinator_->find("g")->is_empty());
  Client a("a");
  EXPECT_EQ(beat(a, 0).error, to_wire(ErrorCode::kGroupIdNotFound));
  EXPECT_NE(coordinator_->find_classic("g"), nullptr);
}

// A group that only holds offsets (commits from outside group management)
// becomes a consumer group when a consumer-protocol member joins: the classic
// group's record is tombstoned, the offsets stay, and the replay agrees; once
// that group is empty again, a classic member takes it back the same way.
TEST_F(ConsumerGroupTest, AnEmptyGroupChangesKindKeepingItsOffsets) {
  std::vector<int16_t> errors;
  const std::vector<CommitPartition> parts{{"t", 0, 5, -1, std::nullopt}};
  CommitParams outside;
  outside.group_id = "g";
  ASSERT_EQ(coordinator_->commit(outside, parts, errors, 0), kNone);
  ASSERT_NE(coordinator_->find_classic("g"), nullptr);
  Client a("a");
  ASSERT_EQ(beat(a, 1).error, kNone);
  EXPECT_EQ(group().offsets.at({"t", 0}).offset, 5);
  {
    auto reloaded = reload();
    ASSERT_NE(reloaded->find_consumer("g"), nullptr);
    EXPECT_EQ(reloaded->find("g")->offsets.at({"t", 0}).offset, 5);
  }
  Client leaving = a;
  leaving.epoch = kLeaveGroupMemberEpoch;
  ASSERT_EQ(beat(leaving, 2).error, kNone);

  JoinParams jp;
  jp.group_id = "g";
  jp.client_id = "c";
  jp.session_timeout_ms = 10000;
  jp.rebalance_timeout_ms = 10000;
  jp.protocol_type = "consumer";
  const std::vector<uint8_t> meta{0, 1};
  jp.protocols = {{"range", meta}};
  coordinator_->join({1, 1}, jp, 3);
  ASSERT_NE(coordinator_->find_classic("g"), nullptr);
  coordinator_->advance(3 + 3000);  // the first generation
  SyncParams sp;
  sp.group_id = "g";
  sp.generation = 1;
  sp.member_id = coordinator_->find_classic("g")->members.begin()->first;
  ASSERT_TRUE(coordinator_->sync(sp, 3004).result);  // the group's record written
  EXPECT_EQ(coordinator_->find("g")->offsets.at({"t", 0}).offset, 5);
  auto reloaded = reload();
  ASSERT_NE(reloaded->find_classic("g"), nullptr);
  EXPECT_EQ(reloaded->find("g")->offsets.at({"t", 0}).offset, 5);
}

// Rack-aware placement on one broker (Kafka's rule, KIP-881 as its
// assignors apply it): racks count only when some partitions' replica racks
// differ from the others'. Every partition of a single broker lives on that
// broker's rack, so members' racks (RackId) never move a partition: the
// target is the one a group without racks gets, with either assignor.
TEST_F(ConsumerGroupTest, MemberRacksDoNotChangeTheAssignmentOnOneBroker) {
  add_topic("u", 2, 5);
  for (std::string_view assignor : {kUniformAssignor, kRangeAssignor}) {
    std::map<std::string, TopicPartitionSet> targets[2];
    for (int with_racks = 0; with_racks < 2; ++with_racks) {
      const std::string group_id = std::string(assignor) + (with_racks ? "-racks" : "-none");
      const char* racks[] = {"rack-a", "rack-b", "rack-a"};
      for (int i = 0; i < 3; ++i) {
        const std::string member_id = "m" + std::to_string(i);
        ConsumerHeartbeatParams p;
        p.group_id = group_id;
        p.member_id = member_id;
        p.member_epoch = 0;
        p.version = 1;
        p.rebalance_timeout_ms = 30000;
        const std::vector<std::string_view> names{"t", "u"};
        p.subscribed_topic_names = names;
        p.owned.emplace();
        p.server_assignor = assignor;
        if (with_racks) p.rack_id = racks[i];
        ASSERT_EQ(coordinator_->consumer_heartbeat(p, {&topics_, version_}, 0).error, kNone);
      }
      for (const auto& [id, target] : coordinator_->find_consumer(group_id)->target)
        targets[with_racks][id] = target;
      if (with_racks) {
        EXPECT_EQ(coordinator_->find_consumer(group_id)->members.at("m1").rack_id, "rack-b");
      }
    }
    EXPECT_EQ(targets[0], targets[1]) << assignor;
  }
}

TEST(AssignorTest, RangeGivesContiguousRangesInMemberOrder) {
  AssignmentSpec spec;
  spec.partitions[topic_id(1)] = 7;
  spec.members = {
      {"b", {topic_id(1)}, {}, {}}, {"a", {topic_id(1)}, {}, {}}, {"c", {topic_id(1)}, {}, {}}};
  GroupAssignment out = assign_range(spec);
  EXPECT_EQ(out.at("a").at(topic_id(1)), (std::set<int32_t>{0, 1, 2}));
  EXPECT_EQ(out.at("b").at(topic_id(1)), (std::set<int32_t>{3, 4}));
  EXPECT_EQ(out.at("c").at(topic_id(1)), (std::set<int32_t>{5, 6}));
}

TEST(AssignorTest, UniformIsBalancedAndSticky) {
  AssignmentSpec spec;
  spec.partitions[topic_id(1)] = 10;
  spec.partitions[topic_id(2)] = 2;
  spec.members = {{"a", {topic_id(1), topic_id(2)}, {}, {}},
                  {"b", {topic_id(1), topic_id(2)}, {}, {}}};
  GroupAssignment first = assign_uniform(spec);
  EXPECT_EQ(count(first.at("a")), 6u);
  EXPECT_EQ(count(first.at("b")), 6u);
  // A third member: a and b each give up only what c needs.
  spec.members[0].current = first.at("a");
  spec.members[1].current = first.at("b");
  spec.members.push_back({"c", {topic_id(1), topic_id(2)}, {}, {}});
  GroupAssignment second = assign_uniform(spec);
  for (const char* m : {"a", "b", "c"}) EXPECT_EQ(count(second.at(m)), 4u) << m;
  for (const char* m : {"a", "b"})
    for (const auto& [t, parts] : second.at(m))
      for (int32_t p : parts) EXPECT_TRUE(first.at(m).at(t).contains(p)) << m;
  // Different subscriptions: each gets only what it subscribes to, balanced.
  AssignmentSpec mixed;
  mixed.partitions[topic_id(1)] = 4;
  mixed.partitions[topic_id(2)] = 4;
  mixed.members = {{"a", {topic_id(1)}, {}, {}}, {"b", {topic_id(1), topic_id(2)}, {}, {}}};
  GroupAssignment m = assign_uniform(mixed);
  EXPECT_FALSE(m.at("a").contains(topic_id(2)));
  EXPECT_EQ(count(m.at("a")) + count(m.at("b")), 8u);
  EXPECT_EQ(count(m.at("a")), 4u);
}

TEST_F(ConsumerGroupTest, TheMembersChoiceOfAssignorIsUsed) {
  Client a("a"), b("b");
  beat(a, 0, {"t"}, std::nullopt, std::nullopt, "range");
  beat(b, 0, {"t"}, std::nullopt, std::nullopt, "range");
  beat(a, 1);
  beat(b, 2);
  beat(a, 3);
  beat(b, 4);
  EXPECT_EQ(group().assignor(GroupConfig{}), "range");
  EXPECT_EQ(a.owned.at(topic_id(1)), (std::set<int32_t>{0, 1, 2}));
  EXPECT_EQ(b.owned.at(topic_id(1)), (std::set<int32_t>{3, 4, 5}));
}

}  // namespace
}  // namespace kb::group
