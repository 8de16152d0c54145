// The group APIs over raw protocol at the versions the Java consumer sends
// (FindCoordinator 4+, JoinGroup 9, SyncGroup 5, Heartbeat 4, OffsetCommit
// 8-9, OffsetFetch 8-9, LeaveGroup 5), and the admin ones (DeleteGroups 0-2,
// OffsetDelete 0), against the broker binary.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "kb/protocol/messages/delete_groups.hpp"
#include "kb/protocol/messages/describe_groups.hpp"
#include "kb/protocol/messages/find_coordinator.hpp"
#include "kb/protocol/messages/heartbeat.hpp"
#include "kb/protocol/messages/join_group.hpp"
#include "kb/protocol/messages/leave_group.hpp"
#include "kb/protocol/messages/list_groups.hpp"
#include "kb/protocol/messages/metadata.hpp"
#include "kb/protocol/messages/offset_commit.hpp"
#include "kb/protocol/messages/offset_delete.hpp"
#include "kb/protocol/messages/offset_fetch.hpp"
#include "kb/protocol/messages/produce.hpp"
#include "kb/protocol/messages/sync_group.hpp"
#include "kb/storage/record_batch.hpp"
#include "kb/wire/writer.hpp"
#include "support/broker_process.hpp"
#include "support/kafka_client.hpp"

namespace kb::testing {
namespace {

using namespace kb::protocol;

constexpr int16_t kNone = 0;
constexpr int16_t kIllegalGeneration = 22;
constexpr int16_t kUnknownMemberId = 25;
constexpr int16_t kInvalidSessionTimeout = 26;
constexpr int16_t kRebalanceInProgress = 27;
constexpr int16_t kCoordinatorNotAvailable = 15;
constexpr int16_t kNonEmptyGroup = 68;
constexpr int16_t kGroupIdNotFound = 69;
constexpr int16_t kUnknownTopicOrPartition = 3;
constexpr int16_t kGroupSubscribedToTopic = 86;
constexpr int16_t kMemberIdRequired = 79;
constexpr int16_t kInvalidTopicException = 17;

// A ConsumerProtocolSubscription v1: topics [topica], user data null, no owned partitions.
const std::vector<uint8_t> kSubscription{0,   1,   0,   0,    0,    1,    0,    6, 't', 'o', 'p',
                                         'i', 'c', 'a', 0xff, 0xff, 0xff, 0xff, 0, 0,   0,   0};

class GroupsProtocolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = make_temp_dir("kb-groups-");
    start();
    RawClient client(broker_->port());
    // The topic the group commits for (auto-created with 2 partitions).
    MetadataRequest metadata;
    metadata.topics.emplace();
    metadata.topics->push_back({{}, std::string_view("topica")});
    topica_id_ = call<MetadataResponse>(client, metadata, 12).topics.at(0).topic_id;
  }
  void TearDown() override {
    broker_.reset();
    std::filesystem::remove_all(root_);
  }

  void start() {
    broker_ = std::make_unique<BrokerProcess>(
        std::map<std::string, std::string>{{"num.partitions", "2"},
                                           {"group.initial.rebalance.delay.ms", "0"}},
        root_ / "data");
  }

  template <class Response, class Request>
  Response call(RawClient& client, const Request& request, int16_t version) {
    const int32_t id = next_id_++;
    client.send_bytes(encode_request(request, version, id));
    return read<Response>(client, id, version);
  }

  template <class Response>
  Response read(RawClient& client, int32_t id, int16_t version) {
    auto frame = client.read_frame();
    if (!frame) throw std::runtime_error("broker closed the connection");
    auto split = split_response(*frame, version >= Response::kFirstFlexible);
    EXPECT_EQ(split.correlation_id, id);
    bodies_.push_back(std::move(split.body));
    return decode_response<Response>(bodies_.back(), version);
  }

  JoinGroupRequest join_request(std::string_view member_id, int32_t session_ms = 10000) {
    JoinGroupRequest r;
    r.group_id = "jgroup";
    r.session_timeout_ms = session_ms;
    r.rebalance_timeout_ms = 20000;
    r.member_id = member_id;
    r.protocol_type = "consumer";
    r.protocols.push_back({"range", kSubscription});
    r.reason = "test";
    return r;
  }

  // MEMBER_ID_REQUIRED, then the join with the given id (answered at once
  // when this member completes the rebalance).
  std::string member_id_for(RawClient& client) {
    auto first = call<JoinGroupResponse>(client, join_request(""), 9);
    EXPECT_EQ(first.error_code, kMemberIdRequired);
    EXPECT_FALSE(first.member_id.empty());
    return first.member_id;
  }

  SyncGroupRequest sync_request(std::string_view member_id, int32_t generation) {
    SyncGroupRequest r;
    r.group_id = "jgroup";
    r.generation_id = generation;
    r.member_id = member_id;
    r.protocol_type = "consumer";
    r.protocol_name = "range";
    return r;
  }

  HeartbeatResponse heartbeat(RawClient& client, std::string_view member_id, int32_t generation) {
    HeartbeatRequest r;
    r.group_id = "jgroup";
    r.generation_id = generation;
    r.member_id = member_id;
    return call<HeartbeatResponse>(client, r, 4);
  }

  OffsetCommitResponse commit(RawClient& client, std::string_view group, int32_t generation,
                              std::string_view member_id, int64_t offset, int16_t version) {
    OffsetCommitRequest r;
    r.group_id = group;
    r.generation_id_or_member_epoch = generation;
    r.member_id = member_id;
    auto& t = r.topics.emplace_back();
    t.name = "topica";
    t.topic_id = topica_id_;  // v10 names it by id
    t.partitions.push_back({0, offset, 4, -1, std::string_view("meta-0")});
    t.partitions.push_back({1, offset + 1, -1, -1, std::nullopt});
    return call<OffsetCommitResponse>(client, r, version);
  }

  OffsetFetchResponse fetch_offsets(RawClient& client, std::string_view group, int16_t version,
                                    bool all_topics) {
    OffsetFetchRequest r;
    auto& g = r.groups.emplace_back();
    g.group_id = group;
    if (!all_topics) {
      g.topics.emplace();
      g.topics->push_back({"topica", topica_id_, {0, 1, 7}});
    }
    return call<OffsetFetchResponse>(client, r, version);
  }

  // The group's committed offset for one partition of topica (OffsetFetch v9).
  int64_t committed_offset(RawClient& client, std::string_view group, int32_t partition) {
    auto fetched = fetch_offsets(client, group, 9, false);
    for (const auto& p : fetched.groups.at(0).topics.at(0).partitions)
      if (p.partition_index == partition) return p.committed_offset;
    ADD_FAILURE() << "no partition " << partition << " in the answer";
    return -2;
  }

  std::filesystem::path root_;
  std::unique_ptr<BrokerProcess> broker_;
  wire::Uuid topica_id_;
  int32_t next_id_ = 1;
  std::vector<std::vector<uint8_t>> bodies_;
};

TEST_F(GroupsProtocolTest, FindCoordinatorAnswersEveryGroupKeyWithThisBroker) {
  RawClient client(broker_->port());
  FindCoordinatorRequest batch;
  batch.coordinator_keys = {"g1", "g2"};
  for (int16_t version : {int16_t{4}, int16_t{5}, int16_t{6}}) {
    auto r = call<FindCoordinatorResponse>(client, batch, version);
    ASSERT_EQ(r.coordinators.size(), 2u);
    EXPECT_EQ(r.coordinators[0].key, "g1");
    EXPECT_EQ(r.coordinators[1].key, "g2");
    for (const auto& c : r.coordinators) {
      EXPECT_EQ(c.error_code, kNone);
      EXPECT_EQ(c.node_id, 1);
      EXPECT_EQ(c.host, "127.0.0.1");
      EXPECT_EQ(c.port, broker_->port());
    }
  }
  FindCoordinatorRequest single;
  single.key = "g1";
  auto old = call<FindCoordinatorResponse>(client, single, 0);
  EXPECT_EQ(old.error_code, kNone);
  EXPECT_EQ(old.port, broker_->port());
  // Transactional ids are coordinated here too.
  batch.key_type = 1;
  auto txn = call<FindCoordinatorResponse>(client, batch, 4);
  EXPECT_EQ(txn.coordinators.at(0).error_code, kNone);
  EXPECT_EQ(txn.coordinators.at(0).node_id, 1);
  EXPECT_EQ(txn.coordinators.at(0).port, broker_->port());

  // __consumer_offsets now exists, internal, with 50 partitions.
  MetadataRequest metadata;
  auto m = call<MetadataResponse>(client, metadata, 12);
  bool found = false;
  for (const auto& t : m.topics)
    if (t.name == "__consumer_offsets") {
      found = true;
      EXPECT_TRUE(t.is_internal);
      EXPECT_EQ(t.partitions.size(), 50u);
    }
  EXPECT_TRUE(found);
}

TEST_F(GroupsProtocolTest, JavaConsumerLifecycle) {
  RawClient client(broker_->port());
  auto bad = call<JoinGroupResponse>(client, join_request("", 1000), 9);
  EXPECT_EQ(bad.error_code, kInvalidSessionTimeout);

  const std::string member = member_id_for(client);
  auto joined = call<JoinGroupResponse>(client, join_request(member), 9);
  ASSERT_EQ(joined.error_code, kNone);
  EXPECT_EQ(joined.generation_id, 1);
  EXPECT_EQ(joined.protocol_type, "consumer");
  EXPECT_EQ(joined.protocol_name, "range");
  EXPECT_EQ(joined.leader, member);
  EXPECT_EQ(joined.member_id, member);
  ASSERT_EQ(joined.members.size(), 1u);
  EXPECT_EQ(joined.members[0].metadata, kSubscription);

  const std::vector<uint8_t> assignment{0, 1, 2, 3};
  auto sync = sync_request(member, 1);
  sync.assignments.push_back({member, assignment});
  auto synced = call<SyncGroupResponse>(client, sync, 5);
  EXPECT_EQ(synced.error_code, kNone);
  EXPECT_EQ(synced.assignment, assignment);
  EXPECT_EQ(synced.protocol_type, "consumer");
  EXPECT_EQ(synced.protocol_name, "range");
  EXPECT_EQ(heartbeat(client, member, 1).error_code, kNone);
  EXPECT_EQ(heartbeat(client, member, 0).error_code, kIllegalGeneration);

  for (int16_t version : {int16_t{8}, int16_t{9}}) {
    auto committed = commit(client, "jgroup", 1, member, 40 + version, version);
    ASSERT_EQ(committed.topics.size(), 1u);
    for (const auto& p : committed.topics[0].partitions) EXPECT_EQ(p.error_code, kNone);
    auto fetched = fetch_offsets(client, "jgroup", version, false);
    ASSERT_EQ(fetched.groups.size(), 1u);
    const auto& parts = fetched.groups[0].topics.at(0).partitions;
    ASSERT_EQ(parts.size(), 3u);
    EXPECT_EQ(parts[0].committed_offset, 40 + version);
    EXPECT_EQ(parts[0].committed_leader_epoch, 4);
    EXPECT_EQ(parts[0].metadata, "meta-0");
    EXPECT_EQ(parts[1].committed_offset, 41 + version);
    EXPECT_EQ(parts[1].metadata, "");
    EXPECT_EQ(parts[2].committed_offset, -1);  // never committed
  }
  auto all = fetch_offsets(client, "jgroup", 9, true);
  ASSERT_EQ(all.groups.at(0).topics.size(), 1u);
  EXPECT_EQ(all.groups[0].topics[0].partitions.size(), 2u);
  EXPECT_EQ(commit(client, "jgroup", 7, member, 1, 9).topics[0].partitions[0].error_code,
            kIllegalGeneration);
  EXPECT_EQ(commit(client, "nogroup", 3, "x", 1, 9).topics[0].partitions[0].error_code,
            kGroupIdNotFound);
  EXPECT_EQ(commit(client, "nogroup", 3, "x", 1, 8).topics[0].partitions[0].error_code,
            kIllegalGeneration);

  DescribeGroupsRequest describe;
  describe.groups = {"jgroup", "nogroup"};
  auto described = call<DescribeGroupsResponse>(client, describe, 5);
  ASSERT_EQ(described.groups.size(), 2u);
  EXPECT_EQ(described.groups[0].group_state, "Stable");
  EXPECT_EQ(described.groups[0].protocol_data, "range");
  ASSERT_EQ(described.groups[0].members.size(), 1u);
  EXPECT_EQ(described.groups[0].members[0].member_assignment, assignment);
  EXPECT_EQ(described.groups[0].members[0].client_host, "/127.0.0.1");
  EXPECT_EQ(described.groups[1].group_state, "Dead");

  LeaveGroupRequest leave;
  leave.group_id = "jgroup";
  leave.members.push_back({member, std::nullopt, std::string_view("closing")});
  auto left = call<LeaveGroupResponse>(client, leave, 5);
  EXPECT_EQ(left.error_code, kNone);
  ASSERT_EQ(left.members.size(), 1u);
  EXPECT_EQ(left.members[0].error_code, kNone);
  EXPECT_EQ(heartbeat(client, member, 1).error_code, kUnknownMemberId);

  ListGroupsRequest list;
  list.states_filter = {"empty"};
  auto listed = call<ListGroupsResponse>(client, list, 5);
  ASSERT_EQ(listed.groups.size(), 1u);
  EXPECT_EQ(listed.groups[0].group_id, "jgroup");
  EXPECT_EQ(listed.groups[0].group_state, "Empty");
  EXPECT_EQ(listed.groups[0].group_type, "classic");
  list.states_filter = {"Stable"};
  EXPECT_TRUE(call<ListGroupsResponse>(client, list, 5).groups.empty());
  // An empty group takes simple commits (generation -1).
  EXPECT_EQ(commit(client, "jgroup", -1, "", 99, 9).topics[0].partitions[0].error_code, kNone);
}

TEST_F(GroupsProtocolTest, ParkedJoinIsAnsweredInOrderOnItsConnection) {
  RawClient a(broker_->port());
  RawClient b(broker_->port());
  const std::string a_id = member_id_for(a);
  ASSERT_EQ(call<JoinGroupResponse>(a, join_request(a_id), 9).generation_id, 1);
  ASSERT_EQ(call<SyncGroupResponse>(a, sync_request(a_id, 1), 5).error_code, kNone);

  // b's join waits for a; b's next request on that connection waits behind it.
  const std::string b_id = member_id_for(b);
  b.send_bytes(encode_request(join_request(b_id), 9, 500));
  FindCoordinatorRequest find;
  find.coordinator_keys = {"jgroup"};
  b.send_bytes(encode_request(find, 4, 501));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));

  EXPECT_EQ(heartbeat(a, a_id, 1).error_code, kRebalanceInProgress);
  auto a_joined = call<JoinGroupResponse>(a, join_request(a_id), 9);
  ASSERT_EQ(a_joined.error_code, kNone);
  EXPECT_EQ(a_joined.generation_id, 2);
  EXPECT_EQ(a_joined.leader, a_id);
  EXPECT_EQ(a_joined.members.size(), 2u);

  auto b_joined = read<JoinGroupResponse>(b, 500, 9);
  EXPECT_EQ(b_joined.error_code, kNone);
  EXPECT_EQ(b_joined.generation_id, 2);
  EXPECT_EQ(b_joined.member_id, b_id);
  EXPECT_TRUE(b_joined.members.empty());
  EXPECT_EQ(read<FindCoordinatorResponse>(b, 501, 4).coordinators.at(0).error_code, kNone);

  // b's SyncGroup waits for the leader's assignment.
  b.send_bytes(encode_request(sync_request(b_id, 2), 5, 502));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const std::vector<uint8_t> for_a{1}, for_b{2};
  auto leader_sync = sync_request(a_id, 2);
  leader_sync.assignments = {{a_id, for_a}, {b_id, for_b}};
  EXPECT_EQ(call<SyncGroupResponse>(a, leader_sync, 5).assignment, for_a);
  auto b_synced = read<SyncGroupResponse>(b, 502, 5);
  EXPECT_EQ(b_synced.error_code, kNone);
  EXPECT_EQ(b_synced.assignment, for_b);
}

TEST_F(GroupsProtocolTest, SilentMemberIsRemovedAfterItsSessionTimeout) {
  RawClient a(broker_->port());
  RawClient b(broker_->port());
  const std::string a_id = member_id_for(a);
  call<JoinGroupResponse>(a, join_request(a_id), 9);
  call<SyncGroupResponse>(a, sync_request(a_id, 1), 5);
  const std::string b_id = member_id_for(b);
  b.send_bytes(encode_request(join_request(b_id, 6000), 9, 700));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_EQ(call<JoinGroupResponse>(a, join_request(a_id), 9).generation_id, 2);
  ASSERT_EQ(read<JoinGroupResponse>(b, 700, 9).generation_id, 2);
  call<SyncGroupResponse>(a, sync_request(a_id, 2), 5);
  call<SyncGroupResponse>(b, sync_request(b_id, 2), 5);

  // a heartbeats, b is silent: after b's 6 s session the group rebalances.
  const auto start = std::chrono::steady_clock::now();
  int16_t error = kNone;
  while (error == kNone && std::chrono::steady_clock::now() - start < std::chrono::seconds(15)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    error = heartbeat(a, a_id, 2).error_code;
  }
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(error, kRebalanceInProgress);
  EXPECT_GE(waited, std::chrono::milliseconds(5500));
  auto rejoined = call<JoinGroupResponse>(a, join_request(a_id), 9);
  EXPECT_EQ(rejoined.generation_id, 3);
  EXPECT_EQ(rejoined.members.size(), 1u);
  EXPECT_EQ(heartbeat(b, b_id, 2).error_code, kUnknownMemberId);
}

TEST_F(GroupsProtocolTest, CommittedOffsetsAndGroupsSurviveARestart) {
  {
    RawClient client(broker_->port());
    const std::string member = member_id_for(client);
    call<JoinGroupResponse>(client, join_request(member), 9);
    call<SyncGroupResponse>(client, sync_request(member, 1), 5);
    commit(client, "jgroup", 1, member, 10, 9);
    commit(client, "jgroup", 1, member, 20, 9);  // the latest wins
    commit(client, "simple", -1, "", 5, 8);
  }
  broker_.reset();
  start();
  RawClient client(broker_->port());
  auto fetched = fetch_offsets(client, "jgroup", 8, true);
  const auto& parts = fetched.groups.at(0).topics.at(0).partitions;
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].committed_offset, 20);
  EXPECT_EQ(parts[0].metadata, "meta-0");
  EXPECT_EQ(parts[1].committed_offset, 21);
  EXPECT_EQ(committed_offset(client, "simple", 0), 5);
  DescribeGroupsRequest describe;
  describe.groups = {"jgroup"};
  auto described = call<DescribeGroupsResponse>(client, describe, 5);
  EXPECT_EQ(described.groups.at(0).group_state, "Stable");
  EXPECT_EQ(described.groups.at(0).members.size(), 1u);
}

// OffsetCommit 10 and OffsetFetch 10 name the topic by id; what they commit
// is the topic's, seen by name at v9; an id no topic has is UNKNOWN_TOPIC_ID.
TEST_F(GroupsProtocolTest, OffsetCommitAndFetchByTopicIdAtV10) {
  RawClient client(broker_->port());
  ASSERT_FALSE(topica_id_.is_zero());
  auto committed = commit(client, "by-id", -1, "", 30, 10);
  ASSERT_EQ(committed.topics.size(), 1u);
  EXPECT_EQ(committed.topics[0].topic_id, topica_id_);
  for (const auto& p : committed.topics[0].partitions) EXPECT_EQ(p.error_code, 0);
  EXPECT_EQ(committed_offset(client, "by-id", 0), 30);  // v9, by name
  EXPECT_EQ(committed_offset(client, "by-id", 1), 31);

  auto fetched = fetch_offsets(client, "by-id", 10, false);
  const auto& topic = fetched.groups.at(0).topics.at(0);
  EXPECT_EQ(topic.topic_id, topica_id_);
  ASSERT_EQ(topic.partitions.size(), 3u);
  EXPECT_EQ(topic.partitions[0].committed_offset, 30);
  EXPECT_EQ(topic.partitions[0].metadata, "meta-0");
  EXPECT_EQ(topic.partitions[1].committed_offset, 31);
  EXPECT_EQ(topic.partitions[2].committed_offset, -1);  // no partition 7, no offset
  auto all = fetch_offsets(client, "by-id", 10, true);
  ASSERT_EQ(all.groups.at(0).topics.size(), 1u);
  EXPECT_EQ(all.groups[0].topics[0].topic_id, topica_id_);

  wire::Uuid unknown;
  unknown.bytes.fill(0x42);
  const wire::Uuid known = topica_id_;
  topica_id_ = unknown;
  auto refused = commit(client, "by-id", -1, "", 99, 10);
  for (const auto& p : refused.topics.at(0).partitions) EXPECT_EQ(p.error_code, 100);
  auto unknown_fetch = fetch_offsets(client, "by-id", 10, false);
  EXPECT_EQ(unknown_fetch.groups.at(0).topics.at(0).topic_id, unknown);
  for (const auto& p : unknown_fetch.groups[0].topics[0].partitions) {
    EXPECT_EQ(p.error_code, 100);
    EXPECT_EQ(p.committed_offset, -1);
  }
  topica_id_ = known;
  EXPECT_EQ(committed_offset(client, "by-id", 0), 30);  // nothing was written
}

TEST_F(GroupsProtocolTest, DeleteGroupsAtEveryVersionAndTheDeletionSurvivesARestart) {
  {
    RawClient client(broker_->port());
    // jgroup has a member: it cannot be deleted.
    const std::string member = member_id_for(client);
    call<JoinGroupResponse>(client, join_request(member), 9);
    call<SyncGroupResponse>(client, sync_request(member, 1), 5);
    commit(client, "kept", -1, "", 5, 8);
    for (int16_t version = DeleteGroupsRequest::kVersions.min;
         version <= DeleteGroupsRequest::kVersions.max; ++version) {
      SCOPED_TRACE(::testing::Message() << "version " << version);
      const std::string group = "deleted-" + std::to_string(version);
      commit(client, group, -1, "", 40 + version, 8);
      ASSERT_EQ(committed_offset(client, group, 0), 40 + version);
      DeleteGroupsRequest request;
      request.groups_names = {group, "jgroup", "missing"};
      auto response = call<DeleteGroupsResponse>(client, request, version);
      ASSERT_EQ(response.results.size(), 3u);
      EXPECT_EQ(response.results[0].group_id, group);
      EXPECT_EQ(response.results[0].error_code, kNone);
      EXPECT_EQ(response.results[1].error_code, kNonEmptyGroup);
      EXPECT_EQ(response.results[2].error_code, kGroupIdNotFound);
      EXPECT_EQ(committed_offset(client, group, 0), -1);
    }
  }
  broker_.reset();
  start();
  RawClient client(broker_->port());
  for (int16_t version = 0; version <= 2; ++version)
    EXPECT_EQ(committed_offset(client, "deleted-" + std::to_string(version), 0), -1);
  EXPECT_EQ(committed_offset(client, "kept", 0), 5);
  EXPECT_EQ(committed_offset(client, "jgroup", 0), -1);  // it never committed
  ListGroupsRequest list;
  std::vector<std::string> listed;
  for (const auto& g : call<ListGroupsResponse>(client, list, 5).groups)
    listed.push_back(g.group_id);
  std::sort(listed.begin(), listed.end());
  EXPECT_EQ(listed, (std::vector<std::string>{"jgroup", "kept"}));
}

TEST_F(GroupsProtocolTest, OffsetDeleteOfOnePartitionKeepsTheOthers) {
  RawClient client(broker_->port());
  commit(client, "simple", -1, "", 5, 8);  // topica-0: 5, topica-1: 6
  OffsetDeleteRequest request;
  request.group_id = "simple";
  request.topics.push_back({"topica", {{0}}});
  request.topics.push_back({"nosuchtopic", {{0}}});
  auto response = call<OffsetDeleteResponse>(client, request, 0);
  EXPECT_EQ(response.error_code, kNone);
  ASSERT_EQ(response.topics.size(), 2u);
  EXPECT_EQ(response.topics[0].name, "topica");
  ASSERT_EQ(response.topics[0].partitions.size(), 1u);
  EXPECT_EQ(response.topics[0].partitions[0].error_code, kNone);
  ASSERT_EQ(response.topics[1].partitions.size(), 1u);
  EXPECT_EQ(response.topics[1].partitions[0].error_code, kUnknownTopicOrPartition);
  EXPECT_EQ(committed_offset(client, "simple", 0), -1);
  EXPECT_EQ(committed_offset(client, "simple", 1), 6);

  // A consuming group subscribed to topica keeps its offsets there.
  const std::string member = member_id_for(client);
  call<JoinGroupResponse>(client, join_request(member), 9);
  call<SyncGroupResponse>(client, sync_request(member, 1), 5);
  commit(client, "jgroup", 1, member, 30, 9);
  request.group_id = "jgroup";
  response = call<OffsetDeleteResponse>(client, request, 0);
  EXPECT_EQ(response.error_code, kNone);
  EXPECT_EQ(response.topics.at(0).partitions.at(0).error_code, kGroupSubscribedToTopic);
  EXPECT_EQ(committed_offset(client, "jgroup", 0), 30);
  request.group_id = "missing";
  EXPECT_EQ(call<OffsetDeleteResponse>(client, request, 0).error_code, kGroupIdNotFound);

  broker_.reset();
  start();
  RawClient after(broker_->port());
  EXPECT_EQ(committed_offset(after, "simple", 0), -1);
  EXPECT_EQ(committed_offset(after, "simple", 1), 6);
  EXPECT_EQ(committed_offset(after, "jgroup", 0), 30);
}

// A well-formed offset commit record (OffsetCommitKey v1, OffsetCommitValue
// v3) in a batch, as the coordinator itself writes to __consumer_offsets.
std::vector<uint8_t> offset_commit_batch(std::string_view group, std::string_view topic,
                                         int32_t partition, int64_t offset) {
  ByteBuffer key, value;
  wire::Writer k(key);
  k.int16(1);
  k.string(group);
  k.string(topic);
  k.int32(partition);
  wire::Writer v(value);
  v.int16(3);
  v.int64(offset);
  v.int32(-1);
  v.string("");
  v.int64(1700000000000);
  storage::RecordBatchBuilder builder;
  builder.add_record(key.span(), value.span(), 1700000000000);
  return builder.build();
}

// Kafka refuses client writes to internal topics (INVALID_TOPIC_EXCEPTION): a
// forged commit sent to every __consumer_offsets partition is not stored, so
// the group still has its own committed offset after a restart.
TEST_F(GroupsProtocolTest, ClientsCannotProduceToConsumerOffsets) {
  {
    RawClient client(broker_->port());
    commit(client, "simple", -1, "", 5, 8);  // creates __consumer_offsets
    const auto forged = offset_commit_batch("simple", "topica", 0, 999);
    ProduceRequest produce;
    produce.acks = -1;
    produce.timeout_ms = 5000;
    auto& topic = produce.topic_data.emplace_back();
    topic.name = "__consumer_offsets";
    for (int32_t p = 0; p < 50; ++p) topic.partition_data.push_back({p, storage::Bytes(forged)});
    auto answer = call<ProduceResponse>(client, produce, 11);
    ASSERT_EQ(answer.responses.size(), 1u);
    EXPECT_EQ(answer.responses[0].name, "__consumer_offsets");
    ASSERT_EQ(answer.responses[0].partition_responses.size(), 50u);
    for (const auto& p : answer.responses[0].partition_responses) {
      EXPECT_EQ(p.error_code, kInvalidTopicException) << "partition " << p.index;
      EXPECT_EQ(p.base_offset, -1);
    }
  }
  broker_.reset();
  start();
  RawClient client(broker_->port());
  EXPECT_EQ(committed_offset(client, "simple", 0), 5);
}

}  // namespace
}  // namespace kb::testing
