// Share groups (KIP-932), group side, over raw protocol against the broker
// binary: ShareGroupHeartbeat and ShareGroupDescribe at v1 (Kafka 4.4's),
// ListGroups, DescribeGroups and DeleteGroups answering for share groups, the
// other protocols refused on a share group's id, the feature gate
// (share.version finalized by `kafka-broker format --feature`), and the group
// as it was after a restart.

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "kb/protocol/messages/api_versions.hpp"
#include "kb/protocol/messages/consumer_group_heartbeat.hpp"
#include "kb/protocol/messages/delete_groups.hpp"
#include "kb/protocol/messages/describe_groups.hpp"
#include "kb/protocol/messages/join_group.hpp"
#include "kb/protocol/messages/list_groups.hpp"
#include "kb/protocol/messages/metadata.hpp"
#include "kb/protocol/messages/share_group_describe.hpp"
#include "kb/protocol/messages/share_group_heartbeat.hpp"
#include "kb/protocol/messages/share_group_offsets.hpp"
#include "support/broker_process.hpp"
#include "support/kafka_client.hpp"

namespace kb::testing {
namespace {

using namespace kb::protocol;

constexpr int16_t kNone = 0;
constexpr int16_t kUnsupportedVersion = 35;
constexpr int16_t kInvalidRequest = 42;
constexpr int16_t kFencedMemberEpoch = 110;
constexpr int16_t kGroupIdNotFound = 69;
constexpr int16_t kNonEmptyGroup = 68;
constexpr int16_t kInconsistentGroupProtocol = 23;
constexpr int16_t kUnknownMemberId = 25;

const std::string kClusterId = "MkU3OEVBNTcwNTJENDM2Qk";

std::map<std::string, std::string> broker_config() { return {{"num.partitions", "2"}}; }

// A log directory formatted as `kafka-broker format` does, with `features`.
void format(const std::filesystem::path& dir, const std::vector<std::string>& features) {
  std::vector<std::string> args = {"format", "-t", kClusterId, "--override",
                                   "log.dirs=" + dir.string()};
  for (const auto& f : features) args.insert(args.end(), {"--feature", f});
  auto [status, output] = run_broker_once(args, std::chrono::seconds(30));
  ASSERT_EQ(status.code, 0) << output;
}

ShareGroupHeartbeatRequest heartbeat(std::string_view member, int32_t epoch,
                                     std::optional<std::vector<std::string_view>> topics = {}) {
  ShareGroupHeartbeatRequest r;
  r.group_id = "sg";
  r.member_id = member;
  r.member_epoch = epoch;
  r.subscribed_topic_names = std::move(topics);
  return r;
}

ShareGroupDescribeResponse::DescribedGroup describe(TypedClient& client, std::string_view id) {
  ShareGroupDescribeRequest r;
  r.group_ids = {id};
  r.include_authorized_operations = true;
  auto response = client.call<ShareGroupDescribeResponse>(r, 1);
  if (response.groups.size() != 1) throw std::runtime_error("one group expected");
  return response.groups.front();
}

// The start offsets of the group's share-partitions (DescribeShareGroupOffsets
// of every topic): by partition, or the group's error.
std::map<int32_t, int64_t> start_offsets(TypedClient& client, std::string_view id, int16_t& error) {
  protocol::DescribeShareGroupOffsetsRequest r;
  r.groups.emplace_back().group_id = id;
  auto response = client.call<protocol::DescribeShareGroupOffsetsResponse>(r, 1);
  std::map<int32_t, int64_t> out;
  error = response.groups.at(0).error_code;
  for (const auto& t : response.groups.at(0).topics)
    for (const auto& p : t.partitions) out[p.partition_index] = p.start_offset;
  return out;
}

size_t assigned(const ShareGroupHeartbeatResponse& r) {
  size_t n = 0;
  if (r.assignment)
    for (const auto& t : r.assignment->topic_partitions) n += t.partitions.size();
  return n;
}

// Heartbeats on at the member's epoch, as a share consumer does, until the
// group assigns it `partitions` partitions (at most two seconds); the last
// answer.
ShareGroupHeartbeatResponse heartbeat_until_assigned(TypedClient& client, std::string_view member,
                                                     int32_t epoch, size_t partitions) {
  ShareGroupHeartbeatResponse r;
  for (int i = 0; i < 200; ++i) {
    r = client.call<ShareGroupHeartbeatResponse>(heartbeat(member, epoch), 1);
    if (r.error_code != 0 || (r.assignment && assigned(r) == partitions)) break;
    epoch = r.member_epoch;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return r;
}

class ShareGroupsTest : public ::testing::Test {
 protected:
  void SetUp() override { root_ = make_temp_dir("kb-share-groups-"); }
  void TearDown() override {
    broker_.reset();
    std::filesystem::remove_all(root_);
  }

  void start() { broker_ = std::make_unique<BrokerProcess>(broker_config(), root_ / "data"); }

  // The topic the group consumes, auto-created with 2 partitions.
  wire::Uuid create_topic(TypedClient& client, std::string_view name) {
    MetadataRequest metadata;
    metadata.topics.emplace();
    metadata.topics->push_back({{}, name});
    return client.call<MetadataResponse>(metadata, 12).topics.at(0).topic_id;
  }

  std::filesystem::path root_;
  std::unique_ptr<BrokerProcess> broker_;
};

TEST_F(ShareGroupsTest, RefusedUntilShareVersionIsFinalized) {
  start();  // a new metadata log: share.version is not finalized
  TypedClient client(broker_->port());
  ApiVersionsRequest versions;
  std::vector<uint8_t> body;  // ApiVersions answers with response header v0
  auto advertised = call<ApiVersionsResponse>(client.raw(), versions, 4, body, 1000);
  std::map<int16_t, std::pair<int16_t, int16_t>> ranges;
  for (const auto& k : advertised.api_keys) ranges[k.api_key] = {k.min_version, k.max_version};
  EXPECT_EQ(ranges.at(76), std::make_pair(int16_t{1}, int16_t{1}));
  EXPECT_EQ(ranges.at(77), std::make_pair(int16_t{1}, int16_t{1}));
  bool share_supported = false;
  for (const auto& f : advertised.supported_features)
    if (f.name == "share.version") share_supported = f.max_version == 1;
  EXPECT_TRUE(share_supported);
  for (const auto& f : advertised.finalized_features) EXPECT_NE(f.name, "share.version");

  create_topic(client, "t");
  auto r = client.call<ShareGroupHeartbeatResponse>(
      heartbeat("m1", 0, std::vector<std::string_view>{"t"}), 1);
  EXPECT_EQ(r.error_code, kUnsupportedVersion);
  auto d = describe(client, "sg");
  EXPECT_EQ(d.error_code, kUnsupportedVersion);
}

TEST_F(ShareGroupsTest, HeartbeatsDescribeListDeleteAndRestart) {
  format(root_ / "data", {"share.version=1"});
  start();
  TypedClient client(broker_->port());
  ApiVersionsRequest versions;
  std::vector<uint8_t> body;  // ApiVersions answers with response header v0
  auto advertised = call<ApiVersionsResponse>(client.raw(), versions, 4, body, 1000);
  bool finalized = false;
  for (const auto& f : advertised.finalized_features)
    if (f.name == "share.version") finalized = f.max_version_level == 1;
  EXPECT_TRUE(finalized);
  const wire::Uuid topic = create_topic(client, "t");

  // Kafka's checks before the coordinator: a member id the client made.
  EXPECT_EQ(client.call<ShareGroupHeartbeatResponse>(heartbeat("", 0), 1).error_code,
            kInvalidRequest);
  auto r = client.call<ShareGroupHeartbeatResponse>(heartbeat("m1", 0), 1);
  EXPECT_EQ(r.error_code, kInvalidRequest);
  EXPECT_EQ(r.error_message.value_or(""), "SubscribedTopicNames must be set in first request.");

  // The first member joins; nothing is assigned before the partitions'
  // share state is initialized (Kafka's order), then both partitions are, in
  // the next group epoch.
  auto a = client.call<ShareGroupHeartbeatResponse>(
      heartbeat("member-a", 0, std::vector<std::string_view>{"t"}), 1);
  ASSERT_EQ(a.error_code, kNone) << a.error_message.value_or("");
  EXPECT_EQ(a.member_id.value_or(""), "member-a");
  EXPECT_EQ(a.member_epoch, 1);
  EXPECT_EQ(a.heartbeat_interval_ms, 5000);
  ASSERT_TRUE(a.assignment.has_value());
  EXPECT_EQ(assigned(a), 0u);
  a = heartbeat_until_assigned(client, "member-a", 1, 2);
  ASSERT_EQ(a.error_code, kNone);
  EXPECT_EQ(a.member_epoch, 2);
  EXPECT_EQ(assigned(a), 2u);
  // The second shares them at once: their state is initialized.
  auto b = client.call<ShareGroupHeartbeatResponse>(
      heartbeat("member-b", 0, std::vector<std::string_view>{"t"}), 1);
  ASSERT_EQ(b.error_code, kNone);
  EXPECT_EQ(b.member_epoch, 3);
  EXPECT_EQ(assigned(b), 1u);
  a = client.call<ShareGroupHeartbeatResponse>(heartbeat("member-a", 2), 1);
  ASSERT_EQ(a.error_code, kNone);
  EXPECT_EQ(a.member_epoch, 3);
  EXPECT_EQ(assigned(a), 1u);
  EXPECT_EQ(client.call<ShareGroupHeartbeatResponse>(heartbeat("member-a", 7), 1).error_code,
            kFencedMemberEpoch);

  auto d = describe(client, "sg");
  ASSERT_EQ(d.error_code, kNone);
  EXPECT_EQ(d.group_state, "Stable");
  EXPECT_EQ(d.group_epoch, 3);
  EXPECT_EQ(d.assignment_epoch, 3);
  EXPECT_EQ(d.assignor_name, "simple");
  EXPECT_NE(d.authorized_operations, INT32_MIN);
  ASSERT_EQ(d.members.size(), 2u);
  std::set<int32_t> partitions;
  for (const auto& m : d.members) {
    EXPECT_EQ(m.member_epoch, 3);
    EXPECT_EQ(m.client_id, "kb-test");
    EXPECT_EQ(m.subscribed_topic_names, std::vector<std::string>{"t"});
    ASSERT_EQ(m.assignment.topic_partitions.size(), 1u);
    EXPECT_EQ(m.assignment.topic_partitions[0].topic_id, topic);
    EXPECT_EQ(m.assignment.topic_partitions[0].topic_name, "t");
    for (int32_t p : m.assignment.topic_partitions[0].partitions) partitions.insert(p);
  }
  EXPECT_EQ(partitions, (std::set<int32_t>{0, 1}));
  auto missing = describe(client, "nope");
  EXPECT_EQ(missing.error_code, kGroupIdNotFound);
  EXPECT_EQ(missing.error_message.value_or(""), "Group nope not found.");

  // ListGroups: type and protocol type "share", state Stable.
  ListGroupsRequest list;
  list.types_filter = {"share"};
  auto listed = client.call<ListGroupsResponse>(list, 5);
  ASSERT_EQ(listed.groups.size(), 1u);
  EXPECT_EQ(listed.groups[0].group_id, "sg");
  EXPECT_EQ(listed.groups[0].protocol_type, "share");
  EXPECT_EQ(listed.groups[0].group_state, "Stable");
  EXPECT_EQ(listed.groups[0].group_type, "share");
  list.types_filter = {"consumer"};
  EXPECT_TRUE(client.call<ListGroupsResponse>(list, 5).groups.empty());

  // The other protocols on a share group's id.
  DescribeGroupsRequest classic;
  classic.groups = {"sg"};
  auto dg = client.call<DescribeGroupsResponse>(classic, 6);
  ASSERT_EQ(dg.groups.size(), 1u);
  EXPECT_EQ(dg.groups[0].error_code, kGroupIdNotFound);
  EXPECT_EQ(dg.groups[0].error_message.value_or(""), "Group sg is not a classic group.");
  ConsumerGroupHeartbeatRequest consumer;
  consumer.group_id = "sg";
  consumer.member_id = "c1";
  consumer.rebalance_timeout_ms = 1000;
  consumer.subscribed_topic_names = std::vector<std::string_view>{"t"};
  consumer.topic_partitions.emplace();
  EXPECT_EQ(client.call<ConsumerGroupHeartbeatResponse>(consumer, 1).error_code, kGroupIdNotFound);
  JoinGroupRequest join;
  join.group_id = "sg";
  join.session_timeout_ms = 10000;
  join.rebalance_timeout_ms = 10000;
  join.protocol_type = "consumer";
  EXPECT_EQ(client.call<JoinGroupResponse>(join, 9).error_code, kInconsistentGroupProtocol);
  DeleteGroupsRequest del;
  del.groups_names = {"sg"};
  auto deleted = client.call<DeleteGroupsResponse>(del, 2);
  EXPECT_EQ(deleted.results.at(0).error_code, kNonEmptyGroup);

  // A restart: the group comes back from __consumer_offsets as it was, and
  // its members heartbeat on at their epochs.
  ASSERT_EQ(broker_->stop().code, 0) << broker_->log();
  start();
  TypedClient again(broker_->port());
  d = describe(again, "sg");
  ASSERT_EQ(d.error_code, kNone);
  EXPECT_EQ(d.group_epoch, 3);
  EXPECT_EQ(d.assignment_epoch, 3);
  ASSERT_EQ(d.members.size(), 2u);
  partitions.clear();
  for (const auto& m : d.members) {
    EXPECT_EQ(m.member_epoch, 3);
    for (const auto& t : m.assignment.topic_partitions)
      partitions.insert(t.partitions.begin(), t.partitions.end());
  }
  EXPECT_EQ(partitions, (std::set<int32_t>{0, 1}));
  // The share state initialized for them is back too.
  int16_t offsets_error = -1;
  EXPECT_EQ(start_offsets(again, "sg", offsets_error),
            (std::map<int32_t, int64_t>{{0, 0}, {1, 0}}));
  EXPECT_EQ(offsets_error, kNone);
  a = again.call<ShareGroupHeartbeatResponse>(heartbeat("member-a", 3), 1);
  EXPECT_EQ(a.error_code, kNone);
  EXPECT_EQ(a.member_epoch, 3);

  // Both leave; the empty group is deleted, and stays deleted.
  for (std::string_view m : {"member-a", "member-b"}) {
    auto left = again.call<ShareGroupHeartbeatResponse>(heartbeat(m, -1), 1);
    EXPECT_EQ(left.error_code, kNone);
    EXPECT_EQ(left.member_epoch, -1);
  }
  EXPECT_EQ(again.call<ShareGroupHeartbeatResponse>(heartbeat("member-a", -1), 1).error_code,
            kUnknownMemberId);
  EXPECT_EQ(describe(again, "sg").group_state, "Empty");
  deleted = again.call<DeleteGroupsResponse>(del, 2);
  EXPECT_EQ(deleted.results.at(0).error_code, kNone);
  EXPECT_EQ(describe(again, "sg").error_code, kGroupIdNotFound);
  ASSERT_EQ(broker_->stop().code, 0);
  start();
  TypedClient third(broker_->port());
  EXPECT_EQ(describe(third, "sg").error_code, kGroupIdNotFound);
  EXPECT_TRUE(start_offsets(third, "sg", offsets_error).empty());
  EXPECT_EQ(offsets_error, kGroupIdNotFound);
}

}  // namespace
}  // namespace kb::testing
