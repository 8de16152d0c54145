// Groups' own configs reach the parts that use them: at start-up from what
// the metadata holds, then as each ConfigRecord for a group is replayed.

#include "kb/broker/group_config_link.hpp"

#include <gtest/gtest.h>

#include <string>

#include "kb/cluster/metadata_image.hpp"
#include "kb/storage/metadata_records.hpp"

namespace kb::broker {
namespace {

using cluster::kGroupResource;

void replay(cluster::BrokerState& state, std::string_view group, std::string_view name,
            std::optional<std::string_view> value) {
  storage::ConfigRecord r{kGroupResource, std::string(group), std::string(name),
                          value ? std::optional<std::string>(std::string(*value)) : std::nullopt};
  cluster::apply_metadata_record(state, storage::MetadataRecord{r});
}

TEST(GroupConfigLink, ConfigsReachTheShareStateAndTheCoordinator) {
  cluster::BrokerState state;
  // Already in the metadata at start-up.
  state.configs[{kGroupResource, "s"}]["share.auto.offset.reset"] = "earliest";
  state.configs[{kGroupResource, "s"}]["share.record.lock.duration.ms"] = "20000";
  group::GroupCoordinator groups;
  share::SharePartitionOptions broker;
  broker.record_lock_duration_ms = 30000;
  broker.delivery_count_limit = 5;
  share::ShareState shares(broker);
  const share::SharePartitionKey key{"s", wire::Uuid{}, 0};
  shares.initialize(key, 0);
  {
    GroupConfigLink link(state, &groups, &shares);
    EXPECT_EQ(shares.group_settings("s").auto_offset_reset.kind,
              share::AutoOffsetReset::Kind::kEarliest);
    EXPECT_EQ(shares.find(key)->options().record_lock_duration_ms, 20000);
    EXPECT_EQ(shares.options_for("other").record_lock_duration_ms, 30000);

    // Changed while running: existing partitions take it.
    replay(state, "s", "share.delivery.count.limit", "3");
    replay(state, "s", "share.isolation.level", "read_committed");
    EXPECT_EQ(shares.find(key)->options().delivery_count_limit, 3);
    EXPECT_TRUE(shares.group_settings("s").read_committed);
    replay(state, "s", "share.record.lock.duration.ms", std::nullopt);
    EXPECT_EQ(shares.find(key)->options().record_lock_duration_ms, 30000);

    // A consumer group's heartbeat interval, in its next answer.
    replay(state, "c", "consumer.heartbeat.interval.ms", "9000");
    group::ConsumerHeartbeatParams p;
    p.group_id = "c";
    p.member_id = "m";
    p.client_id = "client";
    p.client_host = "/127.0.0.1";
    p.version = 1;
    p.rebalance_timeout_ms = 30000;
    const std::vector<std::string_view> names{"t"};
    p.subscribed_topic_names = names;
    p.owned.emplace();
    cluster::TopicTable topics;
    auto r = groups.consumer_heartbeat(p, {&topics, 0}, 0);
    ASSERT_EQ(r.error, 0);
    EXPECT_EQ(r.heartbeat_interval_ms, 9000);
  }
  // The link is gone: later records reach nothing.
  EXPECT_TRUE(state.reconfigurables.empty());
}

TEST(GroupConfigLink, ShareSettingsFromValues) {
  cluster::GroupConfigValues v;
  v.share_auto_offset_reset = "by_duration:PT1H";
  v.share_isolation_level = "read_uncommitted";
  v.share_partition_max_record_locks = 500;
  const share::ShareGroupSettings s = share_group_settings(v);
  EXPECT_EQ(s.auto_offset_reset.kind, share::AutoOffsetReset::Kind::kByDuration);
  EXPECT_EQ(s.auto_offset_reset.duration_ms, 3600000);
  EXPECT_FALSE(s.read_committed);
  EXPECT_EQ(s.max_record_locks, 500);
  EXPECT_EQ(s.record_lock_duration_ms, std::nullopt);
  EXPECT_EQ(share_group_settings({}).auto_offset_reset.kind, share::AutoOffsetReset::Kind::kLatest);
}

}  // namespace
}  // namespace kb::broker
