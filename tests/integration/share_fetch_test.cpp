// ShareFetch and ShareAcknowledge (KIP-932) against the real broker, in raw
// frames: share sessions and their epochs, records acquired by one member at
// a time, acknowledgements (piggy-backed and on their own), redelivery with
// delivery counts, lock expiry, the long poll, and a closed connection giving
// back what its sessions held. Members join the share group first, as a
// real client does: it fetches once a heartbeat has assigned it the
// partition (after the group had the partition's state initialized).

#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <thread>

#include "kb/protocol/messages/delete_groups.hpp"
#include "kb/protocol/messages/produce.hpp"
#include "kb/protocol/messages/share_acknowledge.hpp"
#include "kb/protocol/messages/share_fetch.hpp"
#include "kb/protocol/messages/share_group_heartbeat.hpp"
#include "kb/protocol/messages/share_group_offsets.hpp"
#include "kb/storage/record_batch.hpp"
#include "support/broker_process.hpp"
#include "support/kafka_client.hpp"
#include "support/kafka_log_dir_writer.hpp"

namespace kb::testing {
namespace {

using protocol::AlterShareGroupOffsetsRequest;
using protocol::AlterShareGroupOffsetsResponse;
using protocol::DeleteGroupsRequest;
using protocol::DeleteGroupsResponse;
using protocol::DeleteShareGroupOffsetsRequest;
using protocol::DeleteShareGroupOffsetsResponse;
using protocol::DescribeShareGroupOffsetsRequest;
using protocol::DescribeShareGroupOffsetsResponse;
using protocol::ProduceRequest;
using protocol::ProduceResponse;
using protocol::ShareAcknowledgeRequest;
using protocol::ShareAcknowledgeResponse;
using protocol::ShareFetchRequest;
using protocol::ShareFetchResponse;
using protocol::ShareGroupHeartbeatRequest;
using protocol::ShareGroupHeartbeatResponse;

constexpr int16_t kV = 2;
constexpr std::string_view kGroup = "share-g";
constexpr int16_t kInvalidRequest = 42;
constexpr int16_t kInvalidRecordState = 121;
constexpr int16_t kShareSessionNotFound = 122;
constexpr int16_t kInvalidShareSessionEpoch = 123;
constexpr int16_t kShareSessionLimitReached = 133;
constexpr int16_t kUnknownTopicId = 100;
constexpr int16_t kUnsupportedVersion = 35;
constexpr int16_t kNonEmptyGroup = 68;
constexpr int16_t kGroupIdNotFound = 69;

// The log directory's topic, in a cluster formatted with share groups on.
KafkaLogDirSpec orders_spec() {
  KafkaLogDirSpec spec;
  spec.features = {{"share.version", 1}};
  KafkaTopicSpec t;
  t.name = "orders";
  t.partitions = 1;
  t.batches_per_partition = 0;
  spec.topics.push_back(t);
  return spec;
}

std::vector<uint8_t> make_batch(int count, const std::string& tag) {
  storage::RecordBatchBuilder builder;
  std::vector<std::string> values;
  for (int i = 0; i < count; ++i) values.push_back(tag + "-" + std::to_string(i));
  for (const auto& v : values)
    builder.add_record(std::nullopt,
                       storage::Bytes(reinterpret_cast<const uint8_t*>(v.data()), v.size()),
                       1700000000000);
  return builder.build();
}

// A member's view: its connection, share session epoch and group epoch.
struct Member {
  Member(uint16_t port, std::string member_id) : client(port), id(std::move(member_id)) {}
  TypedClient client;
  std::string id;
  int32_t epoch = 0;
  int32_t member_epoch = 0;
};

ShareGroupHeartbeatResponse group_heartbeat(TypedClient& client, std::string_view member,
                                            int32_t member_epoch) {
  ShareGroupHeartbeatRequest r;
  r.group_id = kGroup;
  r.member_id = member;
  r.member_epoch = member_epoch;
  if (member_epoch == 0) r.subscribed_topic_names = std::vector<std::string_view>{"orders"};
  return client.call<ShareGroupHeartbeatResponse>(r, 1);
}

// Heartbeats as a share consumer does until the group assigns the member
// orders-0; false when it never does.
bool join(Member& m) {
  for (int i = 0; i < 200; ++i) {
    auto r = group_heartbeat(m.client, m.id, m.member_epoch);
    if (r.error_code != 0) return false;
    m.member_epoch = r.member_epoch;
    if (r.assignment && !r.assignment->topic_partitions.empty()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

struct Ack {
  int64_t first;
  int64_t last;
  std::vector<int8_t> types;
};

class ShareFetchTest : public ::testing::Test {
 protected:
  void SetUp() override { start({}); }
  void TearDown() override {
    broker_.reset();
    std::filesystem::remove_all(root_);
  }

  void start(std::map<std::string, std::string> extra) {
    root_ = make_temp_dir("kb-share-fetch-");
    written_ = write_kafka_log_dir(root_ / "data", orders_spec());
    topic_id_ = written_.topic_ids.at("orders");
    extra.emplace("group.share.record.lock.duration.ms", "1000");
    extra.emplace("group.share.delivery.count.limit", "3");
    broker_ = std::make_unique<BrokerProcess>(std::move(extra), root_ / "data");
  }

  void produce(int count, const std::string& tag) {
    TypedClient client(broker_->port());
    auto batch = make_batch(count, tag);
    ProduceRequest req;
    req.acks = -1;
    req.timeout_ms = 5000;
    auto& t = req.topic_data.emplace_back();
    t.name = "orders";
    t.partition_data.push_back({0, storage::Bytes(batch)});
    auto resp = client.call<ProduceResponse>(req, 11);
    ASSERT_EQ(resp.responses.at(0).partition_responses.at(0).error_code, 0);
  }

  ShareFetchRequest fetch_request(Member& m, const std::vector<Ack>& acks = {}) {
    ShareFetchRequest req;
    req.group_id = kGroup;
    req.member_id = m.id;
    req.share_session_epoch = m.epoch;
    req.max_wait_ms = 0;
    req.min_bytes = 0;
    req.max_bytes = 1 << 20;
    req.max_records = 500;
    req.batch_size = 500;
    auto& t = req.topics.emplace_back();
    t.topic_id = topic_id_;
    auto& p = t.partitions.emplace_back();
    p.partition_index = 0;
    for (const auto& a : acks) p.acknowledgement_batches.push_back({a.first, a.last, a.types});
    return req;
  }

  // A ShareFetch at the member's epoch; the epoch moves on when it worked.
  ShareFetchResponse share_fetch(Member& m, const std::vector<Ack>& acks = {},
                                 int32_t max_wait_ms = 0, int32_t min_bytes = 0) {
    auto req = fetch_request(m, acks);
    req.max_wait_ms = max_wait_ms;
    req.min_bytes = min_bytes;
    auto resp = m.client.call<ShareFetchResponse>(req, kV);
    if (resp.error_code == 0 && m.epoch >= 0) ++m.epoch;
    return resp;
  }

  ShareAcknowledgeResponse share_ack(Member& m, const std::vector<Ack>& acks) {
    ShareAcknowledgeRequest req;
    req.group_id = kGroup;
    req.member_id = m.id;
    req.share_session_epoch = m.epoch;
    auto& t = req.topics.emplace_back();
    t.topic_id = topic_id_;
    auto& p = t.partitions.emplace_back();
    p.partition_index = 0;
    for (const auto& a : acks) p.acknowledgement_batches.push_back({a.first, a.last, a.types});
    auto resp = m.client.call<ShareAcknowledgeResponse>(req, kV);
    if (resp.error_code == 0 && m.epoch > 0) ++m.epoch;
    return resp;
  }

  // The acquired ranges of the response's only partition (none: empty).
  static std::vector<std::tuple<int64_t, int64_t, int16_t>> acquired(const ShareFetchResponse& r) {
    std::vector<std::tuple<int64_t, int64_t, int16_t>> out;
    for (const auto& t : r.responses)
      for (const auto& p : t.partitions)
        for (const auto& a : p.acquired_records)
          out.emplace_back(a.first_offset, a.last_offset, a.delivery_count);
    return out;
  }
  static const ShareFetchResponse::PartitionData* partition(const ShareFetchResponse& r) {
    if (r.responses.empty() || r.responses[0].partitions.empty()) return nullptr;
    return &r.responses[0].partitions[0];
  }

  // The base offsets of the batches in a partition's records.
  static std::vector<int64_t> batch_bases(const ShareFetchResponse::PartitionData& p) {
    std::vector<int64_t> bases;
    if (!p.records) return bases;
    storage::Bytes bytes(p.records->data(), p.records->size());
    while (bytes.size() >= 61) {
      auto h = storage::RecordBatchHeader::parse(bytes);
      if (!h) break;
      bases.push_back(h->base_offset);
      bytes = bytes.subspan(std::min(bytes.size(), h->size_in_bytes()));
    }
    return bases;
  }

  using Ranges = std::vector<std::tuple<int64_t, int64_t, int16_t>>;

  std::filesystem::path root_;
  WrittenLogDir written_;
  wire::Uuid topic_id_;
  std::unique_ptr<BrokerProcess> broker_;
};

TEST_F(ShareFetchTest, MembersGetDistinctRecordsAndRedeliveries) {
  Member a(broker_->port(), "member-a");
  Member b(broker_->port(), "member-b");
  // Joining has the group's state initialized at the log end (latest).
  ASSERT_TRUE(join(a));
  ASSERT_TRUE(join(b));
  auto first = share_fetch(a);
  ASSERT_EQ(first.error_code, 0);
  EXPECT_EQ(first.acquisition_lock_timeout_ms, 1000);
  ASSERT_NE(partition(first), nullptr);  // a new session answers every partition
  EXPECT_TRUE(acquired(first).empty());

  produce(3, "one");
  produce(3, "two");
  auto got = share_fetch(a);
  ASSERT_EQ(got.error_code, 0);
  EXPECT_EQ(acquired(got), (Ranges{{0, 5, 1}}));
  EXPECT_EQ(batch_bases(*partition(got)), (std::vector<int64_t>{0, 3}));

  // Nothing left for b: everything is a's.
  auto none = share_fetch(b);
  ASSERT_EQ(none.error_code, 0);
  EXPECT_TRUE(acquired(none).empty());

  // a accepts the first batch and releases the second: b gets it, second delivery.
  auto acked = share_ack(a, {{0, 2, {1}}, {3, 5, {2}}});
  ASSERT_EQ(acked.error_code, 0);
  EXPECT_EQ(acked.responses.at(0).partitions.at(0).error_code, 0);
  auto again = share_fetch(b);
  EXPECT_EQ(acquired(again), (Ranges{{3, 5, 2}}));
  EXPECT_EQ(batch_bases(*partition(again)), (std::vector<int64_t>{3}));

  // a cannot acknowledge b's records; b rejects one piggy-backed and accepts the rest.
  auto wrong = share_ack(a, {{3, 5, {1}}});
  EXPECT_EQ(wrong.responses.at(0).partitions.at(0).error_code, kInvalidRecordState);
  auto piggy = share_fetch(b, {{3, 5, {3, 1, 1}}});
  ASSERT_EQ(piggy.error_code, 0);
  ASSERT_NE(partition(piggy), nullptr);
  EXPECT_EQ(partition(piggy)->acknowledge_error_code, 0);
  EXPECT_TRUE(acquired(piggy).empty());
}

TEST_F(ShareFetchTest, UnacknowledgedRecordsReturnWhenTheLockExpires) {
  Member a(broker_->port(), "member-a");
  Member b(broker_->port(), "member-b");
  ASSERT_TRUE(join(a));
  ASSERT_TRUE(join(b));
  ASSERT_EQ(share_fetch(a).error_code, 0);
  produce(2, "x");
  EXPECT_EQ(acquired(share_fetch(a)), (Ranges{{0, 1, 1}}));
  ASSERT_EQ(share_fetch(b).error_code, 0);
  // b long-polls; a's lock (1 s) expires meanwhile and b is answered.
  const auto asked = std::chrono::steady_clock::now();
  auto got = share_fetch(b, {}, 10000, 1);
  const auto waited = std::chrono::steady_clock::now() - asked;
  EXPECT_EQ(acquired(got), (Ranges{{0, 1, 2}}));
  EXPECT_LT(waited, std::chrono::seconds(5));
  // a's late acknowledgement is refused.
  auto late = share_ack(a, {{0, 1, {1}}});
  EXPECT_EQ(late.responses.at(0).partitions.at(0).error_code, kInvalidRecordState);
  // Released twice more: at the delivery limit (3) the records are archived.
  EXPECT_EQ(share_ack(b, {{0, 1, {2}}}).responses.at(0).partitions.at(0).error_code, 0);
  EXPECT_EQ(acquired(share_fetch(a)), (Ranges{{0, 1, 3}}));
  EXPECT_EQ(share_ack(a, {{0, 1, {2}}}).responses.at(0).partitions.at(0).error_code, 0);
  EXPECT_TRUE(acquired(share_fetch(b)).empty());
}

TEST_F(ShareFetchTest, LongPollAnswersWhenRecordsArrive) {
  Member a(broker_->port(), "member-a");
  ASSERT_TRUE(join(a));
  ASSERT_EQ(share_fetch(a).error_code, 0);
  std::thread producer([this] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    produce(4, "late");
  });
  const auto asked = std::chrono::steady_clock::now();
  auto got = share_fetch(a, {}, 10000, 1);
  const auto waited = std::chrono::steady_clock::now() - asked;
  producer.join();
  EXPECT_EQ(acquired(got), (Ranges{{0, 3, 1}}));
  EXPECT_LT(waited, std::chrono::seconds(5));
  // Nothing more: the poll ends at max_wait_ms.
  const auto again = std::chrono::steady_clock::now();
  auto empty = share_fetch(a, {}, 300, 1);
  EXPECT_TRUE(acquired(empty).empty());
  EXPECT_GE(std::chrono::steady_clock::now() - again, std::chrono::milliseconds(250));
}

TEST_F(ShareFetchTest, SessionEpochsAndRequestErrors) {
  Member a(broker_->port(), "member-a");
  ASSERT_TRUE(join(a));
  // No session yet.
  a.epoch = 1;
  EXPECT_EQ(share_fetch(a).error_code, kShareSessionNotFound);
  a.epoch = -1;
  EXPECT_EQ(share_fetch(a).error_code, kShareSessionNotFound);
  a.epoch = 0;
  // Acknowledgements cannot open a session.
  EXPECT_EQ(share_fetch(a, {{0, 0, {1}}}).error_code, kInvalidRequest);
  ASSERT_EQ(share_fetch(a).error_code, 0);
  EXPECT_EQ(a.epoch, 1);
  // A wrong epoch.
  a.epoch = 5;
  EXPECT_EQ(share_fetch(a).error_code, kInvalidShareSessionEpoch);
  a.epoch = 1;
  ASSERT_EQ(share_fetch(a).error_code, 0);
  // ShareAcknowledge at epoch 0 and at a wrong epoch.
  a.epoch = 0;
  EXPECT_EQ(share_ack(a, {}).error_code, kInvalidShareSessionEpoch);
  a.epoch = 9;
  EXPECT_EQ(share_ack(a, {}).error_code, kInvalidShareSessionEpoch);

  // Group and member ids.
  auto req = fetch_request(a);
  req.share_session_epoch = 0;
  req.group_id = std::string_view{};
  EXPECT_EQ(a.client.call<ShareFetchResponse>(req, kV).error_code, kInvalidRequest);
  req.group_id = kGroup;
  const std::string long_id(37, 'm');
  req.member_id = long_id;
  EXPECT_EQ(a.client.call<ShareFetchResponse>(req, kV).error_code, kInvalidRequest);
  // A renewal carrying fetch parameters.
  req.member_id = "member-r";
  req.is_renew_ack = true;
  EXPECT_EQ(a.client.call<ShareFetchResponse>(req, kV).error_code, kInvalidRequest);

  // An unknown topic id is told per partition.
  Member u(broker_->port(), "member-u");
  ASSERT_TRUE(join(u));
  auto unknown = fetch_request(u);
  unknown.topics[0].topic_id.bytes.fill(0x5a);
  auto resp = u.client.call<ShareFetchResponse>(unknown, kV);
  ASSERT_EQ(resp.error_code, 0);
  EXPECT_EQ(resp.responses.at(0).partitions.at(0).error_code, kUnknownTopicId);

  // Closing the session gives the records back.
  Member c(broker_->port(), "member-c");
  ASSERT_TRUE(join(c));
  ASSERT_EQ(share_fetch(c).error_code, 0);
  produce(2, "c");
  EXPECT_EQ(acquired(share_fetch(c)), (Ranges{{0, 1, 1}}));
  c.epoch = -1;
  ASSERT_EQ(share_fetch(c).error_code, 0);
  a.epoch = 2;
  EXPECT_EQ(acquired(share_fetch(a)), (Ranges{{0, 1, 2}}));
}

TEST_F(ShareFetchTest, ClosedConnectionReleasesItsRecords) {
  Member a(broker_->port(), "member-a");
  ASSERT_TRUE(join(a));
  ASSERT_EQ(share_fetch(a).error_code, 0);
  produce(5, "x");
  {
    Member gone(broker_->port(), "member-gone");
    ASSERT_TRUE(join(gone));
    // The fetch that opens the session acquires too.
    EXPECT_EQ(acquired(share_fetch(gone)), (Ranges{{0, 4, 1}}));
  }
  // Well before the 1 s lock would expire.
  Ranges got;
  for (int i = 0; i < 50 && got.empty(); ++i) {
    got = acquired(share_fetch(a));
    if (got.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(got, (Ranges{{0, 4, 2}}));
}

// The state is in __share_group_state: after a restart the records a
// member held are available again with their delivery counts, and the
// offset admin APIs read and move the start offset.
TEST_F(ShareFetchTest, StateSurvivesARestartAndOffsetsAreAdministered) {
  {
    Member a(broker_->port(), "member-a");
    ASSERT_TRUE(join(a));
    ASSERT_EQ(share_fetch(a).error_code, 0);
    produce(3, "x");
    EXPECT_EQ(acquired(share_fetch(a)), (Ranges{{0, 2, 1}}));
    auto acked = share_ack(a, {{0, 1, {2, 1}}});
    ASSERT_EQ(acked.responses.at(0).partitions.at(0).error_code, 0);
    // 0 released, 1 accepted, 2 still held when the broker goes.
  }
  broker_->stop();
  broker_ = std::make_unique<BrokerProcess>(
      std::map<std::string, std::string>{{"group.share.record.lock.duration.ms", "1000"},
                                         {"group.share.delivery.count.limit", "3"}},
      root_ / "data");

  TypedClient admin(broker_->port());
  auto describe = [&](int16_t version) {
    DescribeShareGroupOffsetsRequest req;
    auto& g = req.groups.emplace_back();
    g.group_id = kGroup;
    g.topics.emplace();
    auto& t = g.topics->emplace_back();
    t.topic_name = "orders";
    t.partitions = {0};
    return admin.call<DescribeShareGroupOffsetsResponse>(req, version);
  };
  auto before = describe(1);
  ASSERT_EQ(before.groups.at(0).error_code, 0);
  const auto& p = before.groups.at(0).topics.at(0).partitions.at(0);
  EXPECT_EQ(p.error_code, 0);
  EXPECT_EQ(p.start_offset, 0);
  EXPECT_EQ(p.lag, 2);  // 3 records after the start, one done
  EXPECT_EQ(before.groups.at(0).topics.at(0).topic_id, topic_id_);

  Member b(broker_->port(), "member-b");
  ASSERT_TRUE(join(b));
  EXPECT_EQ(acquired(share_fetch(b)), (Ranges{{0, 0, 2}, {2, 2, 2}}));
  b.epoch = -1;
  ASSERT_EQ(share_fetch(b).error_code, 0);

  // Offsets move only in a group nobody consumes from: a (back from the
  // group's records) and b leave first.
  AlterShareGroupOffsetsRequest busy;
  busy.group_id = kGroup;
  busy.topics.emplace_back().topic_name = "orders";
  busy.topics[0].partitions.push_back({0, 3});
  EXPECT_EQ(admin.call<AlterShareGroupOffsetsResponse>(busy, 0).error_code, kNonEmptyGroup);
  for (const char* m : {"member-a", "member-b"})
    ASSERT_EQ(group_heartbeat(admin, m, -1).error_code, 0) << m;

  AlterShareGroupOffsetsRequest alter;
  alter.group_id = kGroup;
  auto& at = alter.topics.emplace_back();
  at.topic_name = "orders";
  at.partitions.push_back({0, 3});
  auto& missing = alter.topics.emplace_back();
  missing.topic_name = "no-such-topic";
  missing.partitions.push_back({0, 0});
  auto altered = admin.call<AlterShareGroupOffsetsResponse>(alter, 0);
  ASSERT_EQ(altered.error_code, 0);
  EXPECT_EQ(altered.responses.at(0).partitions.at(0).error_code, 0);
  EXPECT_EQ(altered.responses.at(1).partitions.at(0).error_code, 3);  // UNKNOWN_TOPIC_OR_PARTITION
  EXPECT_EQ(describe(0).groups.at(0).topics.at(0).partitions.at(0).start_offset, 3);

  DeleteShareGroupOffsetsRequest del;
  del.group_id = kGroup;
  del.topics.push_back({"orders"});
  auto deleted = admin.call<DeleteShareGroupOffsetsResponse>(del, 0);
  ASSERT_EQ(deleted.error_code, 0);
  EXPECT_EQ(deleted.responses.at(0).error_code, 0);
  // The partition has no state left: no start offset.
  auto after = describe(1);
  ASSERT_EQ(after.groups.at(0).error_code, 0);
  EXPECT_EQ(after.groups.at(0).topics.at(0).partitions.at(0).start_offset, -1);

  // A member joining again has the state initialized afresh (latest: 3).
  Member c(broker_->port(), "member-c");
  ASSERT_TRUE(join(c));
  EXPECT_EQ(describe(1).groups.at(0).topics.at(0).partitions.at(0).start_offset, 3);
  ASSERT_EQ(group_heartbeat(c.client, c.id, -1).error_code, 0);

  // Deleting the group deletes its state; nothing of it is left, also after
  // a restart.
  DeleteGroupsRequest delete_group;
  delete_group.groups_names = {kGroup};
  ASSERT_EQ(admin.call<DeleteGroupsResponse>(delete_group, 2).results.at(0).error_code, 0);
  EXPECT_EQ(describe(1).groups.at(0).error_code, kGroupIdNotFound);
  broker_->stop();
  broker_ = std::make_unique<BrokerProcess>(std::map<std::string, std::string>{}, root_ / "data");
  TypedClient third(broker_->port());
  DescribeShareGroupOffsetsRequest all;
  all.groups.emplace_back().group_id = kGroup;
  EXPECT_EQ(third.call<DescribeShareGroupOffsetsResponse>(all, 1).groups.at(0).error_code,
            kGroupIdNotFound);
}

// Share groups are off until share.version is finalized at 1: ShareFetch,
// ShareAcknowledge and the offset changes answer UNSUPPORTED_VERSION, as
// Kafka 4.4's broker does.
TEST(ShareFetchFeature, RefusedWithoutShareVersion) {
  auto root = make_temp_dir("kb-share-off-");
  KafkaLogDirSpec spec = orders_spec();
  spec.features.clear();
  auto written = write_kafka_log_dir(root / "data", spec);
  {
    BrokerProcess broker({}, root / "data");
    TypedClient client(broker.port());
    ShareFetchRequest fetch;
    fetch.group_id = kGroup;
    fetch.member_id = "m1";
    fetch.max_records = 10;
    auto& tp = fetch.topics.emplace_back();
    tp.topic_id = written.topic_ids.at("orders");
    tp.partitions.emplace_back().partition_index = 0;
    EXPECT_EQ(client.call<ShareFetchResponse>(fetch, kV).error_code, kUnsupportedVersion);
    ShareAcknowledgeRequest ack;
    ack.group_id = kGroup;
    ack.member_id = "m1";
    ack.share_session_epoch = 1;
    EXPECT_EQ(client.call<ShareAcknowledgeResponse>(ack, kV).error_code, kUnsupportedVersion);
    DeleteShareGroupOffsetsRequest del;
    del.group_id = kGroup;
    del.topics.push_back({"orders"});
    EXPECT_EQ(client.call<DeleteShareGroupOffsetsResponse>(del, 0).error_code, kUnsupportedVersion);
  }
  std::filesystem::remove_all(root);
}

TEST(ShareFetchLimits, SessionCacheBound) {
  auto root = make_temp_dir("kb-share-limit-");
  auto written = write_kafka_log_dir(root / "data", orders_spec());
  {
    BrokerProcess broker({{"group.share.max.share.sessions", "1"}}, root / "data");
    auto request = [&](const std::string& member) {
      ShareFetchRequest req;
      req.group_id = kGroup;
      req.member_id = member;
      req.max_records = 10;
      auto& tp = req.topics.emplace_back();
      tp.topic_id = written.topic_ids.at("orders");
      tp.partitions.emplace_back().partition_index = 0;
      return req;
    };
    TypedClient one(broker.port());
    TypedClient two(broker.port());
    EXPECT_EQ(one.call<ShareFetchResponse>(request("m1"), kV).error_code, 0);
    EXPECT_EQ(two.call<ShareFetchResponse>(request("m2"), kV).error_code,
              kShareSessionLimitReached);
    // The same member opening again replaces its own session.
    EXPECT_EQ(one.call<ShareFetchResponse>(request("m1"), kV).error_code, 0);
  }
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace kb::testing
