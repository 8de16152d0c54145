#include "kb/cluster/topic_admin.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "kb/cluster/config_catalog.hpp"
#include "kb/cluster/startup.hpp"

#include "cluster/log_dir_fixture.hpp"

namespace kb::cluster {
namespace {

using TopicAdminTest = LogDirTest;

TEST(TopicName, KafkaRules) {
  EXPECT_TRUE(topic_name_problem("orders.v1_x-2").empty());
  EXPECT_FALSE(topic_name_problem("").empty());
  EXPECT_FALSE(topic_name_problem(".").empty());
  EXPECT_FALSE(topic_name_problem("..").empty());
  EXPECT_FALSE(topic_name_problem("a/b").empty());
  EXPECT_FALSE(topic_name_problem("../etc").empty());
  EXPECT_FALSE(topic_name_problem(std::string("a\0b", 3)).empty());
  EXPECT_FALSE(topic_name_problem(std::string(250, 'a')).empty());
  EXPECT_TRUE(topic_name_problem(std::string(249, 'a')).empty());
}

TEST_F(TopicAdminTest, CreatedTopicSurvivesARestart) {
  wire::Uuid id;
  {
    BrokerState state;
    load(state);
    auto r = create_topic(state, "orders", 3);
    ASSERT_EQ(r.error, CreateTopicError::kNone) << r.message;
    ASSERT_NE(r.topic, nullptr);
    EXPECT_EQ(r.topic->partitions.size(), 3u);
    id = r.topic->id;
    EXPECT_EQ(create_topic(state, "orders", 1).error, CreateTopicError::kAlreadyExists);
    EXPECT_EQ(create_topic(state, "more", 2).error, CreateTopicError::kNone);
  }
  BrokerState again;
  load(again);
  const TopicInfo* t = again.topics.find("orders");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->id, id);
  EXPECT_EQ(t->partitions.size(), 3u);
  EXPECT_NE(again.topics.find("more"), nullptr);
  EXPECT_EQ(again.features.at("metadata.version"), 25);
}

// One request's topics are checked one by one, each against the existing
// topics and those before it; they are written together.
TEST_F(TopicAdminTest, CreateTopicsChecksEachAgainstTheOnesBeforeIt) {
  BrokerState state;
  load(state);
  std::vector<NewTopic> topics(5);
  topics[0].name = "a.b";
  topics[1].name = "a_b";  // collides with the first
  topics[2].name = "x";
  topics[3].name = "x";  // named twice
  topics[4].name = "bad/name";
  const auto results = create_topics(state, topics, false, true);
  ASSERT_EQ(results.size(), 5u);
  EXPECT_EQ(results[0].error, AdminError::kNone);
  EXPECT_EQ(results[1].error, AdminError::kInvalidName);
  EXPECT_NE(results[1].message.find("a.b"), std::string::npos) << results[1].message;
  EXPECT_EQ(results[2].error, AdminError::kNone);
  EXPECT_EQ(results[3].error, AdminError::kAlreadyExists);
  EXPECT_EQ(results[3].topic, results[2].topic);
  EXPECT_EQ(results[4].error, AdminError::kInvalidName);
  EXPECT_EQ(state.topics.size(), 2u);
  // The collision index follows deletions: a_b may be created once a.b is gone.
  ASSERT_TRUE(delete_topic(state, results[0].topic->id).ok());
  EXPECT_EQ(colliding_topic(state.topics, "a_b"), "");
  EXPECT_EQ(create_topic(state, "a_b", 1).error, AdminError::kNone);
  EXPECT_EQ(colliding_topic(state.topics, "a.b"), "a_b");
}

TEST_F(TopicAdminTest, RefusesCollisionsInvalidNamesAndPartitionCounts) {
  BrokerState state;
  load(state);
  ASSERT_EQ(create_topic(state, "a.b", 1).error, CreateTopicError::kNone);
  EXPECT_EQ(create_topic(state, "a_b", 1).error, CreateTopicError::kInvalidName);
  EXPECT_EQ(create_topic(state, "x/y", 1).error, CreateTopicError::kInvalidName);
  EXPECT_EQ(create_topic(state, "zero", 0).error, CreateTopicError::kInvalidPartitions);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "x"));
  // The metadata log's own topic name is refused, and its directory untouched.
  EXPECT_EQ(create_topic(state, "__cluster_metadata", 1).error, CreateTopicError::kInvalidRequest);
  EXPECT_TRUE(std::filesystem::exists(dir_ / "__cluster_metadata-0" / "00000000000000000000.log"));
  BrokerState again;
  load(again);
  EXPECT_NE(again.topics.find("a.b"), nullptr);
}

TEST_F(TopicAdminTest, CreateWithConfigsValidatesEverythingBeforeWriting) {
  BrokerState state;
  load(state);
  NewTopic t;
  t.name = "conf";
  t.partitions = 2;
  t.configs = {{"retention.ms", "1000"}, {"cleanup.policy", "compact,delete"}};
  // validate_only: the answer, nothing written.
  auto checked = create_topic(state, t, true);
  ASSERT_EQ(checked.error, AdminError::kNone) << checked.message;
  EXPECT_EQ(checked.partitions, 2);
  EXPECT_EQ(checked.replication_factor, 1);
  EXPECT_EQ(checked.topic, nullptr);
  EXPECT_EQ(state.topics.find("conf"), nullptr);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "conf-0"));

  NewTopic bad = t;
  bad.configs["no.such.config"] = "1";
  EXPECT_EQ(create_topic(state, bad, false).error, AdminError::kInvalidConfig);
  bad = t;
  bad.configs["retention.ms"] = "soon";
  EXPECT_EQ(create_topic(state, bad, false).error, AdminError::kInvalidConfig);
  bad = t;
  bad.configs["cleanup.policy"] = "shred";
  EXPECT_EQ(create_topic(state, bad, false).error, AdminError::kInvalidConfig);
  bad = t;
  bad.replication_factor = 3;
  EXPECT_EQ(create_topic(state, bad, false).error, AdminError::kInvalidReplicationFactor);
  bad.replication_factor = 0;
  EXPECT_EQ(create_topic(state, bad, false).error, AdminError::kInvalidReplicationFactor);
  bad = t;
  bad.partitions = -2;
  EXPECT_EQ(create_topic(state, bad, false).error, AdminError::kInvalidPartitions);
  EXPECT_EQ(state.topics.size(), 0u);
  // The metadata log exists from the start, empty: nothing was written to it.
  EXPECT_EQ(state.metadata_log->log_end_offset(), 0);

  auto created = create_topic(state, t, false);
  ASSERT_EQ(created.error, AdminError::kNone) << created.message;
  EXPECT_TRUE(std::filesystem::exists(dir_ / "conf-0" / "partition.metadata"));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "conf-1"));
  EXPECT_EQ(state.configs.at({kTopicResource, "conf"}).at("retention.ms"), "1000");

  BrokerState again;
  load(again);
  EXPECT_EQ(again.configs.at({kTopicResource, "conf"}).at("cleanup.policy"), "compact,delete");
  EXPECT_EQ(again.topics.find("conf")->partitions.size(), 2u);
}

TEST_F(TopicAdminTest, ManualAssignmentsNameOnlyThisBroker) {
  BrokerState state;
  load(state);
  NewTopic t;
  t.name = "manual";
  t.assignments = {{1, {1}}, {0, {1}}};
  auto r = create_topic(state, t, false);
  ASSERT_EQ(r.error, AdminError::kNone) << r.message;
  EXPECT_EQ(r.topic->partitions.size(), 2u);

  NewTopic bad;
  bad.name = "bad";
  bad.assignments = {{0, {2}}};
  EXPECT_EQ(create_topic(state, bad, false).error, AdminError::kInvalidReplicaAssignment);
  bad.assignments = {{0, {1, 1}}};
  EXPECT_EQ(create_topic(state, bad, false).error, AdminError::kInvalidReplicaAssignment);
  bad.assignments = {{0, {}}};
  EXPECT_EQ(create_topic(state, bad, false).error, AdminError::kInvalidReplicaAssignment);
  bad.assignments = {{0, {1}}, {2, {1}}};  // not 0..n-1
  EXPECT_EQ(create_topic(state, bad, false).error, AdminError::kInvalidReplicaAssignment);
  bad.assignments = {{0, {1}}};
  bad.partitions = 1;  // assignments want -1
  EXPECT_EQ(create_topic(state, bad, false).error, AdminError::kInvalidRequest);
}

TEST_F(TopicAdminTest, DeletionIsReplayedAndTheNameCanBeUsedAgain) {
  wire::Uuid first_id;
  {
    BrokerState state;
    load(state);
    NewTopic t;
    t.name = "gone";
    t.partitions = 2;
    t.configs = {{"retention.ms", "1000"}};
    auto r = create_topic(state, t, false);
    ASSERT_EQ(r.error, AdminError::kNone);
    first_id = r.topic->id;
    // Some data in a partition, and its log open.
    auto log = state.logs->find("gone", 0);
    ASSERT_TRUE(log && *log != nullptr);
    ASSERT_TRUE(delete_topic(state, first_id).ok());
    EXPECT_EQ(state.topics.find("gone"), nullptr);
    EXPECT_EQ(state.logs->open_count(), 0u);
    EXPECT_FALSE(state.configs.contains({kTopicResource, "gone"}));
    EXPECT_FALSE(std::filesystem::exists(dir_ / "gone-0"));
    EXPECT_FALSE(std::filesystem::exists(dir_ / "gone-1"));
    EXPECT_EQ(delete_topic(state, first_id).error, AdminError::kUnknownTopic);
  }
  {
    BrokerState state;
    load(state);
    EXPECT_EQ(state.topics.find("gone"), nullptr);
    EXPECT_FALSE(state.configs.contains({kTopicResource, "gone"}));
    auto r = create_topic(state, "gone", 1);
    ASSERT_EQ(r.error, AdminError::kNone) << r.message;
    EXPECT_NE(r.topic->id, first_id);
  }
  BrokerState state;
  load(state);
  const TopicInfo* t = state.topics.find("gone");
  ASSERT_NE(t, nullptr);
  EXPECT_NE(t->id, first_id);
  EXPECT_EQ(t->partitions.size(), 1u);
  EXPECT_EQ(state.topics.find(first_id), nullptr);
  EXPECT_FALSE(state.configs.contains({kTopicResource, "gone"}));
}

TEST_F(TopicAdminTest, LeftoverDirectoriesAreMovedAsideOrRemoved) {
  // A directory with neither partition.metadata nor data (a creation cut
  // short by a crash) is moved aside, not reused; one with data but no
  // partition.metadata is kept and its topic name refused.
  std::filesystem::create_directories(dir_ / "again-0");
  { std::ofstream(dir_ / "again-0" / "00000000000000000000.log"); }
  std::filesystem::create_directories(dir_ / "held-0");
  { std::ofstream(dir_ / "held-0" / "00000000000000000000.log") << "old"; }
  // A directory a deletion marked is removed at start-up; other names stay.
  const auto marked = dir_ / "old-3.0123456789abcdef0123456789abcdef-delete";
  std::filesystem::create_directories(marked);
  std::filesystem::create_directories(dir_ / "keep-delete");
  BrokerState state;
  load(state);
  EXPECT_FALSE(std::filesystem::exists(marked));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "keep-delete"));
  EXPECT_EQ(create_topic(state, "held", 1).error, AdminError::kAlreadyExists);
  EXPECT_TRUE(std::filesystem::exists(dir_ / "held-0" / "00000000000000000000.log"));
  ASSERT_EQ(create_topic(state, "again", 1).error, AdminError::kNone);
  size_t strays = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir_))
    if (e.path().filename().string().starts_with("again-0.") &&
        e.path().filename().string().ends_with("-stray"))
      ++strays;
  EXPECT_EQ(strays, 1u);
  auto log = state.logs->find("again", 0);
  ASSERT_TRUE(log && *log != nullptr);
  EXPECT_EQ((*log)->log_end_offset(), 0);
  EXPECT_EQ((*log)->topic_id(), state.topics.find("again")->id);
}

TEST_F(TopicAdminTest, PartitionsOnlyGrow) {
  BrokerState state;
  load(state);
  ASSERT_EQ(create_topic(state, "grow", 2).error, AdminError::kNone);
  EXPECT_EQ(create_partitions(state, "grow", 2, std::nullopt, false).error,
            AdminError::kInvalidPartitions);
  EXPECT_EQ(create_partitions(state, "grow", 1, std::nullopt, false).error,
            AdminError::kInvalidPartitions);
  EXPECT_EQ(create_partitions(state, "nope", 3, std::nullopt, false).error,
            AdminError::kUnknownTopic);
  EXPECT_EQ(
      create_partitions(state, "grow", 4, std::vector<std::vector<int32_t>>{{1}}, false).error,
      AdminError::kInvalidReplicaAssignment);
  EXPECT_EQ(
      create_partitions(state, "grow", 3, std::vector<std::vector<int32_t>>{{7}}, false).error,
      AdminError::kInvalidReplicaAssignment);
  EXPECT_TRUE(create_partitions(state, "grow", 5, std::nullopt, true).ok());
  EXPECT_EQ(state.topics.find("grow")->partitions.size(), 2u);
  EXPECT_TRUE(
      create_partitions(state, "grow", 4, std::vector<std::vector<int32_t>>{{1}, {1}}, false).ok());
  EXPECT_EQ(state.topics.find("grow")->partitions.size(), 4u);
  EXPECT_TRUE(std::filesystem::exists(dir_ / "grow-3"));
  BrokerState again;
  load(again);
  const TopicInfo* t = again.topics.find("grow");
  ASSERT_NE(t, nullptr);
  ASSERT_EQ(t->partitions.size(), 4u);
  EXPECT_EQ(t->partitions[3].leader, 1);
}

// Apache Kafka's controlled shutdown of its one node leaves every partition
// without a leader, its ISR empty and the node its eligible leader replica;
// Kafka's controller elects the node again when its broker is unfenced. So
// does start-up here: a PartitionChangeRecord per partition (leader and ISR
// this node, the ELR emptied, the leader epoch one up), kept across restarts.
// A partition this node may not lead (neither in the ISR nor the ELR) stays
// offline, as in Kafka without unclean leader election.
TEST_F(TopicAdminTest, PartitionsKafkasControlledShutdownLeftLeaderlessAreElectedAgain) {
  {
    BrokerState state;
    load(state);
    auto created = create_topic(state, "orders", 2);
    ASSERT_EQ(created.error, AdminError::kNone) << created.message;
    const Uuid id = created.topic->id;
    storage::PartitionChangeRecord shutdown;
    shutdown.topic_id = id;
    shutdown.partition_id = 0;
    shutdown.isr = std::vector<int32_t>{};
    shutdown.leader = -1;
    shutdown.eligible_leader_replicas = std::vector<int32_t>{1};
    shutdown.last_known_elr = std::vector<int32_t>{1};
    storage::PartitionChangeRecord lost = shutdown;
    lost.partition_id = 1;
    lost.eligible_leader_replicas = std::vector<int32_t>{};
    ASSERT_TRUE(append_metadata(state, {shutdown, lost}).ok());
    ASSERT_EQ(state.topics.find("orders")->partitions[0].leader, -1);
  }
  BrokerState state;
  load(state);
  const LeaderElection election = elect_leaderless_partitions(state);
  ASSERT_TRUE(election.status.ok()) << election.status.error().message;
  EXPECT_EQ(election.elected, 1u);
  EXPECT_EQ(election.offline, std::vector<std::string>{"orders-1"});
  auto check = [](const BrokerState& s) {
    const TopicInfo* t = s.topics.find("orders");
    ASSERT_NE(t, nullptr);
    const PartitionInfo& p = t->partitions[0];
    EXPECT_EQ(p.leader, 1);
    EXPECT_EQ(p.isr, std::vector<int32_t>{1});
    EXPECT_TRUE(p.eligible_leader_replicas.empty());
    EXPECT_TRUE(p.last_known_elr.empty());
    EXPECT_EQ(p.leader_epoch, 2);  // 0, then the shutdown's change, then the election
    EXPECT_EQ(t->partitions[1].leader, -1);
  };
  check(state);
  BrokerState again;
  load(again);
  check(again);
  EXPECT_EQ(elect_leaderless_partitions(again).elected, 0u);
}

// Kafka's mark of a deleted topic's directory is recognised (the start-up
// scan leaves it to the removal instead of naming it an unknown entry).
TEST_F(TopicAdminTest, KafkasDeletionMarkIsRecognised) {
  EXPECT_TRUE(is_deleted_partition_dir_name("doomed-0.8eee3fb72ef44508bbdc029a10cc0cf5-delete"));
  EXPECT_FALSE(is_deleted_partition_dir_name("keep-delete"));
  EXPECT_FALSE(is_deleted_partition_dir_name("doomed-0.8eee3fb72ef44508bbdc029a10cc0cf5-stray"));
  std::filesystem::create_directories(dir_ / "doomed-0.8eee3fb72ef44508bbdc029a10cc0cf5-delete");
  const PartitionDirScan scan = scan_partition_dirs(dir_, TopicTable{}, {});
  EXPECT_TRUE(scan.unknown_entries.empty());
  EXPECT_TRUE(scan.orphans.empty());
}

TEST(ConfigCatalog, TopicConfigsAreCheckedByType) {
  EXPECT_EQ(topic_config_problem("retention.ms", "-1"), "");
  EXPECT_EQ(topic_config_problem("preallocate", "TRUE"), "");
  EXPECT_EQ(topic_config_problem("min.cleanable.dirty.ratio", "0.25"), "");
  EXPECT_EQ(topic_config_problem("message.timestamp.type", "LogAppendTime"), "");
  EXPECT_NE(topic_config_problem("message.timestamp.type", "Now"), "");
  EXPECT_NE(topic_config_problem("min.cleanable.dirty.ratio", "2"), "");
  EXPECT_NE(topic_config_problem("segment.bytes", "10"), "");
  EXPECT_NE(topic_config_problem("segment.bytes", "99999999999"), "");
  EXPECT_NE(topic_config_problem("preallocate", "yes"), "");
  EXPECT_NE(topic_config_problem("log.retention.ms", "1"), "");  // a broker key
}

// The messages Kafka 4.4's ConfigDef gives (checked against Kafka itself).
TEST(ConfigCatalog, ProblemsAreTheMessagesKafkaGives) {
  EXPECT_EQ(topic_config_problem("no.such", "1"), "Unknown topic config name: no.such");
  EXPECT_EQ(topic_config_problem("retention.ms", "abc"),
            "Invalid value abc for configuration retention.ms: Not a number of type LONG");
  EXPECT_EQ(topic_config_problem("segment.bytes", "99999999999"),
            "Invalid value 99999999999 for configuration segment.bytes: Not a number of type INT");
  EXPECT_EQ(topic_config_problem("retention.ms", "-5"),
            "Invalid value -5 for configuration retention.ms: Value must be at least -1");
  EXPECT_EQ(topic_config_problem("max.decompressed.message.bytes", "0"),
            "Invalid value 0 for configuration max.decompressed.message.bytes: Value must be at "
            "least 1");
  EXPECT_EQ(topic_config_problem("preallocate", "yes"),
            "Invalid value yes for configuration preallocate: Expected value to be either true "
            "or false");
  EXPECT_EQ(topic_config_problem("min.cleanable.dirty.ratio", "2"),
            "Invalid value 2.0 for configuration min.cleanable.dirty.ratio: Value must be no "
            "more than 1");
  EXPECT_EQ(topic_config_problem("min.cleanable.dirty.ratio", "x"),
            "Invalid value x for configuration min.cleanable.dirty.ratio: Not a number of type "
            "DOUBLE");
  EXPECT_EQ(topic_config_problem("cleanup.policy", "compact,foo"),
            "Invalid value foo for configuration cleanup.policy: String must be one of: "
            "compact, delete");
  EXPECT_EQ(topic_config_problem("compression.type", "brotli"),
            "Invalid value brotli for configuration compression.type: String must be one of: "
            "uncompressed, zstd, lz4, snappy, gzip, producer");
  EXPECT_EQ(topic_config_problem("message.timestamp.type", "Now"),
            "Invalid value Now for configuration message.timestamp.type: String must be one of: "
            "CreateTime, LogAppendTime");
  EXPECT_EQ(topic_config_problem("remote.copy.lag.ms", "-1"), "");
}

TEST(ConfigCatalog, EffectiveValuesFollowKafkasPrecedence) {
  BrokerState state;
  state.static_configs["log.retention.hours"] = "24";
  state.static_configs["log.segment.bytes"] = "1048576";
  state.configs[{kTopicResource, "t"}]["segment.bytes"] = "2097152";
  auto configs = describe_topic_configs(state, "t");
  auto find = [&](std::string_view name) {
    auto it = std::find_if(configs.begin(), configs.end(),
                           [&](const EffectiveConfig& c) { return c.def->name == name; });
    EXPECT_NE(it, configs.end()) << name;
    return *it;
  };
  // Kafka 4.4's answers (ConfigHelper): the value in effect comes from
  // log.retention.hours, but synonyms are listed only from the first
  // log.retention.ms on, so none is, and the source is DEFAULT_CONFIG.
  auto retention = find("retention.ms");
  EXPECT_EQ(retention.value, "86400000");
  EXPECT_EQ(retention.source, ConfigSource::kDefault);
  EXPECT_TRUE(retention.synonyms.empty());
  auto segment = find("segment.bytes");
  EXPECT_EQ(segment.value, "2097152");
  EXPECT_EQ(segment.source, ConfigSource::kTopic);
  ASSERT_EQ(segment.synonyms.size(), 3u);
  EXPECT_EQ(segment.synonyms[1].value, "1048576");
  auto unset = describe_topic_configs(BrokerState{}, "t");
  auto default_retention = std::find_if(unset.begin(), unset.end(), [](const EffectiveConfig& c) {
    return c.def->name == "retention.ms";
  });
  ASSERT_NE(default_retention, unset.end());
  EXPECT_EQ(default_retention->value, "604800000");
  EXPECT_EQ(default_retention->source, ConfigSource::kDefault);
  EXPECT_TRUE(default_retention->synonyms.empty());
  auto flush = find("flush.messages");
  EXPECT_EQ(flush.source, ConfigSource::kDefault);
  EXPECT_EQ(flush.value, "9223372036854775807");
  ASSERT_EQ(flush.synonyms.size(), 1u);
  EXPECT_EQ(flush.synonyms[0].name, "log.flush.interval.messages");
  // A topic-only config lists no synonym.
  EXPECT_TRUE(find("follower.replication.throttled.replicas").synonyms.empty());

  // Once log.retention.ms is set at some level, the list starts there and
  // goes on to the hours (set and default), each in its own unit; flush.ms
  // falls back to log.flush.scheduler.interval.ms and lists nothing.
  state.configs[{kBrokerResource, "1"}]["log.retention.ms"] = "36000000";
  state.static_configs["log.flush.scheduler.interval.ms"] = "100000";
  configs = describe_topic_configs(state, "t");
  retention = find("retention.ms");
  EXPECT_EQ(retention.value, "36000000");
  EXPECT_EQ(retention.source, ConfigSource::kDynamicBroker);
  ASSERT_EQ(retention.synonyms.size(), 3u);
  EXPECT_EQ(retention.synonyms[0].name, "log.retention.ms");
  EXPECT_EQ(retention.synonyms[1].name, "log.retention.hours");
  EXPECT_EQ(retention.synonyms[1].value, "24");
  EXPECT_EQ(retention.synonyms[1].source, ConfigSource::kStaticBroker);
  EXPECT_EQ(retention.synonyms[2].value, "168");
  EXPECT_EQ(retention.synonyms[2].source, ConfigSource::kDefault);
  auto flush_ms = find("flush.ms");
  EXPECT_EQ(flush_ms.value, "100000");
  EXPECT_EQ(flush_ms.source, ConfigSource::kDefault);
  EXPECT_TRUE(flush_ms.synonyms.empty());

  state.node_id = 3;
  auto broker = describe_broker_configs(state);
  auto node = std::find_if(broker.begin(), broker.end(),
                           [](const EffectiveConfig& c) { return c.def->name == "node.id"; });
  ASSERT_NE(node, broker.end());
  EXPECT_EQ(node->value, "3");
  EXPECT_TRUE(node->read_only);
  auto hours = std::find_if(broker.begin(), broker.end(), [](const EffectiveConfig& c) {
    return c.def->name == "log.retention.hours";
  });
  ASSERT_NE(hours, broker.end());
  EXPECT_EQ(hours->value, "24");
  EXPECT_EQ(hours->source, ConfigSource::kStaticBroker);
}

}  // namespace
}  // namespace kb::cluster
