// The StandardAuthorizer against the real broker binary, frame by frame over
// SASL/PLAIN: admin (a super user) grants alice what she needs, bob gets
// nothing, and every API answers each of them with Kafka's codes. The ACLs
// survive a restart.

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <regex>
#include <string>

#include "kb/protocol/messages/acls.hpp"
#include "kb/protocol/messages/client_quotas.hpp"
#include "kb/protocol/messages/consumer_group_describe.hpp"
#include "kb/protocol/messages/consumer_group_heartbeat.hpp"
#include "kb/protocol/messages/create_topics.hpp"
#include "kb/protocol/messages/delete_topics.hpp"
#include "kb/protocol/messages/describe_groups.hpp"
#include "kb/protocol/messages/fetch.hpp"
#include "kb/protocol/messages/find_coordinator.hpp"
#include "kb/protocol/messages/init_producer_id.hpp"
#include "kb/protocol/messages/join_group.hpp"
#include "kb/protocol/messages/list_groups.hpp"
#include "kb/protocol/messages/metadata.hpp"
#include "kb/protocol/messages/offset_commit.hpp"
#include "kb/protocol/messages/offset_fetch.hpp"
#include "kb/protocol/messages/produce.hpp"
#include "kb/protocol/messages/sasl.hpp"
#include "kb/protocol/messages/transactions.hpp"
#include "kb/storage/record_batch.hpp"
#include "support/broker_process.hpp"
#include "support/kafka_client.hpp"
#include "support/shell_command.hpp"

namespace kb::testing {
namespace {

using namespace protocol;  // NOLINT(google-build-using-namespace): many message types

constexpr int16_t kTopicAuthorizationFailed = 29;
constexpr int16_t kGroupAuthorizationFailed = 30;
constexpr int16_t kClusterAuthorizationFailed = 31;
constexpr int16_t kTransactionalIdAuthorizationFailed = 53;

constexpr int8_t kTopic = 2, kGroup = 3, kCluster = 4, kTransactionalId = 5;
constexpr int8_t kLiteral = 3, kPrefixed = 4;
constexpr int8_t kRead = 3, kWrite = 4, kCreate = 5;
constexpr int8_t kAllow = 3;

std::map<std::string, std::string> acl_config() {
  return {{"listeners",
           "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:0"},
          {"sasl.enabled.mechanisms", "PLAIN"},
          {"listener.name.sasl_plaintext.plain.sasl.jaas.config",
           "org.apache.kafka.common.security.plain.PlainLoginModule required "
           "user_admin=\"admin-secret\" user_alice=\"alice-secret\" user_bob=\"bob-secret\";"},
          {"authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer"},
          {"super.users", "User:admin"}};
}

uint16_t sasl_port(BrokerProcess& broker) {
  auto m = broker.wait_for_log(std::regex("Listening on SASL_PLAINTEXT://[^ ]*:([0-9]+)"));
  if (m.size() < 2) throw std::runtime_error("no SASL listener:\n" + broker.log());
  return static_cast<uint16_t>(std::stoi(m[1]));
}

// A connection authenticated as `user` (password "<user>-secret").
class UserClient : public TypedClient {
 public:
  UserClient(uint16_t port, const std::string& user) : TypedClient(port) {
    SaslHandshakeRequest hs;
    hs.mechanism = "PLAIN";
    if (call<SaslHandshakeResponse>(hs, 1).error_code != 0)
      throw std::runtime_error("handshake failed");
    const std::string token = std::string(1, '\0') + user + '\0' + user + "-secret";
    SaslAuthenticateRequest auth;
    auth.auth_bytes = wire::Bytes(reinterpret_cast<const uint8_t*>(token.data()), token.size());
    if (call<SaslAuthenticateResponse>(auth, 2).error_code != 0)
      throw std::runtime_error("authentication of " + user + " failed");
  }
};

std::vector<uint8_t> one_record_batch(std::string_view value) {
  storage::RecordBatchBuilder builder;
  builder.add_record(std::nullopt,
                     storage::Bytes(reinterpret_cast<const uint8_t*>(value.data()), value.size()),
                     1700000000000);
  return builder.build();
}

int16_t produce(UserClient& c, std::string_view topic, const std::vector<uint8_t>& batch) {
  ProduceRequest req;
  req.acks = -1;
  req.timeout_ms = 5000;
  auto& t = req.topic_data.emplace_back();
  t.name = topic;
  t.partition_data.push_back({0, storage::Bytes(batch)});
  return c.call<ProduceResponse>(req, 9).responses.at(0).partition_responses.at(0).error_code;
}

int16_t fetch(UserClient& c, std::string_view topic) {
  FetchRequest req;
  req.max_wait_ms = 0;
  req.min_bytes = 0;
  req.max_bytes = 1 << 20;
  auto& t = req.topics.emplace_back();
  t.topic = topic;
  auto& p = t.partitions.emplace_back();
  p.partition = 0;
  p.partition_max_bytes = 1 << 20;
  return c.call<FetchResponse>(req, 12).responses.at(0).partitions.at(0).error_code;
}

MetadataResponse metadata(UserClient& c, std::optional<std::vector<std::string_view>> names,
                          bool operations = false) {
  MetadataRequest req;
  if (names) {
    req.topics.emplace();
    for (auto n : *names) req.topics->push_back({{}, n});
  }
  req.allow_auto_topic_creation = true;
  req.include_topic_authorized_operations = operations;
  return c.call<MetadataResponse>(req, 12);
}

int16_t create_topic(UserClient& c, std::string_view name) {
  CreateTopicsRequest req;
  auto& t = req.topics.emplace_back();
  t.name = name;
  t.num_partitions = 1;
  t.replication_factor = -1;
  req.timeout_ms = 5000;
  return c.call<CreateTopicsResponse>(req, 7).topics.at(0).error_code;
}

void grant(UserClient& admin, std::vector<CreateAclsRequest::Creation> creations) {
  CreateAclsRequest req;
  req.creations = std::move(creations);
  for (const auto& r : admin.call<CreateAclsResponse>(req, 3).results)
    ASSERT_EQ(r.error_code, 0) << r.error_message.value_or("");
}

int16_t find_coordinator(UserClient& c, int8_t key_type, std::string_view key) {
  FindCoordinatorRequest req;
  req.key_type = key_type;
  req.coordinator_keys = {key};
  return c.call<FindCoordinatorResponse>(req, 4).coordinators.at(0).error_code;
}

int16_t commit_offset(UserClient& c, std::string_view group, std::string_view topic) {
  OffsetCommitRequest req;
  req.group_id = group;
  req.generation_id_or_member_epoch = -1;
  auto& t = req.topics.emplace_back();
  t.name = topic;
  t.partitions.push_back({0, 1, -1, -1, std::nullopt});
  return c.call<OffsetCommitResponse>(req, 8).topics.at(0).partitions.at(0).error_code;
}

InitProducerIdResponse init_producer_id(UserClient& c,
                                        std::optional<std::string_view> transactional_id) {
  InitProducerIdRequest req;
  req.transactional_id = transactional_id;
  req.transaction_timeout_ms = 60000;
  return c.call<InitProducerIdResponse>(req, 4);
}

class AclTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = make_temp_dir("kb-acl-");
    start();
  }
  void TearDown() override {
    broker_.reset();
    std::error_code ec;
    std::filesystem::remove_all(data_, ec);
  }
  void start() {
    broker_.reset();
    broker_ = std::make_unique<BrokerProcess>(acl_config(), data_ / "data");
    port_ = sasl_port(*broker_);
  }

  std::filesystem::path data_;
  std::unique_ptr<BrokerProcess> broker_;
  uint16_t port_ = 0;
};

TEST_F(AclTest, EveryApiAnswersWithKafkasAuthorizationCodes) {
  UserClient admin(port_, "admin");
  UserClient alice(port_, "alice");
  UserClient bob(port_, "bob");
  ASSERT_EQ(create_topic(admin, "orders"), 0);
  grant(admin, {{kTopic, "orders", kLiteral, "User:alice", "*", kWrite, kAllow},
                {kTopic, "orders", kLiteral, "User:alice", "*", kRead, kAllow},
                {kGroup, "app", kPrefixed, "User:alice", "*", kRead, kAllow},
                {kTransactionalId, "tx-alice", kLiteral, "User:alice", "*", kWrite, kAllow}});
  const auto batch = one_record_batch("hello");

  // Produce and Fetch: WRITE and READ on the topic.
  EXPECT_EQ(produce(alice, "orders", batch), 0);
  EXPECT_EQ(produce(bob, "orders", batch), kTopicAuthorizationFailed);
  EXPECT_EQ(fetch(alice, "orders"), 0);
  EXPECT_EQ(fetch(bob, "orders"), kTopicAuthorizationFailed);
  // A topic that does not exist is not said not to exist to who may not see it.
  EXPECT_EQ(produce(bob, "nowhere", batch), kTopicAuthorizationFailed);
  EXPECT_EQ(fetch(bob, "nowhere"), kTopicAuthorizationFailed);

  // Metadata: bob sees no topic, and named ones are refused, existing or not
  // (and not created: CREATE is needed for that).
  auto all = metadata(bob, std::nullopt);
  EXPECT_TRUE(all.topics.empty());
  EXPECT_EQ(all.brokers.size(), 1U);
  auto named = metadata(bob, std::vector<std::string_view>{"orders", "nowhere"});
  ASSERT_EQ(named.topics.size(), 2U);
  for (const auto& t : named.topics) {
    EXPECT_EQ(t.error_code, kTopicAuthorizationFailed);
    EXPECT_TRUE(t.topic_id.is_zero());
  }
  auto alices = metadata(alice, std::nullopt, true);
  ASSERT_EQ(alices.topics.size(), 1U);
  EXPECT_EQ(alices.topics[0].name, "orders");
  // READ, WRITE and the DESCRIBE they imply.
  EXPECT_EQ(alices.topics[0].topic_authorized_operations, (1 << 3) | (1 << 4) | (1 << 8));
  EXPECT_EQ(
      metadata(admin, std::vector<std::string_view>{"orders"}, true)
          .topics.at(0)
          .topic_authorized_operations,
      (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 10) | (1 << 11));

  // CreateTopics and DeleteTopics: CREATE and DELETE.
  EXPECT_EQ(create_topic(bob, "bobs"), kTopicAuthorizationFailed);
  DeleteTopicsRequest del;
  del.topic_names = {"orders"};
  del.timeout_ms = 5000;
  EXPECT_EQ(bob.call<DeleteTopicsResponse>(del, 5).responses.at(0).error_code,
            kTopicAuthorizationFailed);
  grant(admin, {{kCluster, "kafka-cluster", kLiteral, "User:bob", "*", kCreate, kAllow}});
  EXPECT_EQ(create_topic(bob, "bobs"), 0);

  // Groups: DESCRIBE to find the coordinator, READ to join and commit.
  EXPECT_EQ(find_coordinator(alice, 0, "app-1"), 0);
  EXPECT_EQ(find_coordinator(bob, 0, "app-1"), kGroupAuthorizationFailed);
  JoinGroupRequest join;
  join.group_id = "app-1";
  join.session_timeout_ms = 10000;
  join.rebalance_timeout_ms = 10000;
  join.protocol_type = "consumer";
  join.protocols.push_back({"range", {}});
  EXPECT_EQ(bob.call<JoinGroupResponse>(join, 9).error_code, kGroupAuthorizationFailed);
  EXPECT_EQ(commit_offset(bob, "app-1", "orders"), kGroupAuthorizationFailed);
  EXPECT_EQ(commit_offset(alice, "app-1", "orders"), 0);
  EXPECT_EQ(commit_offset(alice, "app-1", "bobs"), kTopicAuthorizationFailed);
  OffsetFetchRequest offsets;
  offsets.groups.push_back({"app-1", std::nullopt, -1, std::nullopt});
  EXPECT_EQ(bob.call<OffsetFetchResponse>(offsets, 9).groups.at(0).error_code,
            kGroupAuthorizationFailed);
  auto fetched = alice.call<OffsetFetchResponse>(offsets, 9);
  ASSERT_EQ(fetched.groups.at(0).topics.size(), 1U);
  EXPECT_EQ(fetched.groups[0].topics[0].partitions.at(0).committed_offset, 1);
  ListGroupsRequest list;
  EXPECT_EQ(alice.call<ListGroupsResponse>(list, 5).groups.size(), 1U);
  EXPECT_TRUE(bob.call<ListGroupsResponse>(list, 5).groups.empty());
  DescribeGroupsRequest describe;
  describe.groups = {"app-1"};
  EXPECT_EQ(bob.call<DescribeGroupsResponse>(describe, 5).groups.at(0).error_code,
            kGroupAuthorizationFailed);

  // Transactions and idempotence.
  EXPECT_EQ(init_producer_id(bob, "tx-alice").error_code, kTransactionalIdAuthorizationFailed);
  EXPECT_EQ(find_coordinator(bob, 1, "tx-alice"), kTransactionalIdAuthorizationFailed);
  EXPECT_EQ(init_producer_id(alice, "tx-alice").error_code, 0);
  EXPECT_EQ(init_producer_id(alice, std::nullopt).error_code, 0);  // WRITE on a topic
  UserClient carol_less(port_, "bob");
  // bob has no WRITE anywhere and no IDEMPOTENT_WRITE.
  EXPECT_EQ(init_producer_id(carol_less, std::nullopt).error_code, kClusterAuthorizationFailed);
  EndTxnRequest end;
  end.transactional_id = "tx-alice";
  end.producer_id = 1;
  end.producer_epoch = 0;
  EXPECT_EQ(bob.call<EndTxnResponse>(end, 3).error_code, kTransactionalIdAuthorizationFailed);

  // The ACL APIs themselves need the cluster's ALTER / DESCRIBE.
  DescribeAclsRequest acls;
  acls.resource_type_filter = 1;
  acls.pattern_type_filter = 1;
  acls.operation = 1;
  acls.permission_type = 1;
  EXPECT_EQ(bob.call<DescribeAclsResponse>(acls, 3).error_code, kClusterAuthorizationFailed);
  EXPECT_EQ(admin.call<DescribeAclsResponse>(acls, 3).resources.size(), 4U);
}

// KIP-848 groups as Kafka 4 checks them (KAFKA-18813): a heartbeat naming a
// topic the principal may not describe gets TOPIC_AUTHORIZATION_FAILED and
// does not join; a group whose assignments hold such a topic is described
// as that error alone.
TEST_F(AclTest, ConsumerGroupsNeedDescribeOnTheirTopics) {
  UserClient admin(port_, "admin");
  UserClient alice(port_, "alice");
  UserClient bob(port_, "bob");
  ASSERT_EQ(create_topic(admin, "orders"), 0);
  ASSERT_EQ(create_topic(admin, "secret"), 0);
  grant(admin, {{kTopic, "orders", kLiteral, "User:alice", "*", kRead, kAllow},
                {kGroup, "app", kPrefixed, "User:alice", "*", kRead, kAllow},
                {kGroup, "app", kPrefixed, "User:bob", "*", kRead, kAllow}});
  auto heartbeat = [](UserClient& c, std::string_view member,
                      const std::vector<std::string_view>& topics) {
    ConsumerGroupHeartbeatRequest req;
    req.group_id = "app-848";
    req.member_id = member;
    req.rebalance_timeout_ms = 30000;
    req.subscribed_topic_names = topics;
    req.topic_partitions.emplace();
    return c.call<ConsumerGroupHeartbeatResponse>(req, 1);
  };
  // One topic out of two not describable: refused, the code alone.
  auto refused = heartbeat(alice, "alice-member-0000000", {"orders", "secret"});
  EXPECT_EQ(refused.error_code, kTopicAuthorizationFailed);
  EXPECT_FALSE(refused.error_message.has_value());
  EXPECT_EQ(refused.member_epoch, 0);
  EXPECT_EQ(heartbeat(bob, "bob-member-000000000", {"orders"}).error_code,
            kTopicAuthorizationFailed);
  // alice may: she joins and gets the partition.
  auto joined = heartbeat(alice, "alice-member-0000000", {"orders"});
  ASSERT_EQ(joined.error_code, 0);
  EXPECT_EQ(joined.member_epoch, 1);
  ASSERT_TRUE(joined.assignment.has_value());
  ASSERT_EQ(joined.assignment->topic_partitions.size(), 1U);

  ConsumerGroupDescribeRequest describe;
  describe.group_ids = {"app-848"};
  auto seen = alice.call<ConsumerGroupDescribeResponse>(describe, 0);
  ASSERT_EQ(seen.groups.size(), 1U);
  EXPECT_EQ(seen.groups[0].error_code, 0);
  ASSERT_EQ(seen.groups[0].members.size(), 1U);
  // bob may describe the group but not "orders", which its member holds.
  auto hidden = bob.call<ConsumerGroupDescribeResponse>(describe, 0);
  ASSERT_EQ(hidden.groups.size(), 1U);
  EXPECT_EQ(hidden.groups[0].group_id, "app-848");
  EXPECT_EQ(hidden.groups[0].error_code, kTopicAuthorizationFailed);
  EXPECT_TRUE(hidden.groups[0].members.empty());
  EXPECT_EQ(hidden.groups[0].group_epoch, 0);

  // A regular expression resolves only to topics the member may describe:
  // "orders|secret" gives alice the partition of orders alone.
  ConsumerGroupHeartbeatRequest by_regex;
  by_regex.group_id = "app-regex";
  by_regex.member_id = "alice-member-regex00";
  by_regex.rebalance_timeout_ms = 30000;
  by_regex.subscribed_topic_regex = "orders|secret";
  by_regex.topic_partitions.emplace();
  auto resolved = alice.call<ConsumerGroupHeartbeatResponse>(by_regex, 1);
  ASSERT_EQ(resolved.error_code, 0) << resolved.error_message.value_or("");
  ASSERT_TRUE(resolved.assignment.has_value());
  ASSERT_EQ(resolved.assignment->topic_partitions.size(), 1U);
  EXPECT_EQ(resolved.assignment->topic_partitions[0].topic_id,
            joined.assignment->topic_partitions[0].topic_id);
  // The super user's member of the same expression gets both.
  by_regex.group_id = "app-regex-admin";
  by_regex.member_id = "admin-member-regex00";
  auto both = admin.call<ConsumerGroupHeartbeatResponse>(by_regex, 1);
  ASSERT_EQ(both.error_code, 0);
  ASSERT_TRUE(both.assignment.has_value());
  EXPECT_EQ(both.assignment->topic_partitions.size(), 2U);
}

// DescribeClientQuotas needs DESCRIBE_CONFIGS and AlterClientQuotas
// ALTER_CONFIGS on the cluster, as in Kafka; a denial answers 31 (for each
// entry of an alteration, which changes nothing).
TEST_F(AclTest, ClientQuotaApisNeedTheClusterConfigOperations) {
  UserClient admin(port_, "admin");
  UserClient bob(port_, "bob");
  AlterClientQuotasRequest alter;
  auto& entry = alter.entries.emplace_back();
  entry.entity.push_back({"user", "bob"});
  entry.entity.push_back({"client-id", std::nullopt});
  entry.ops.push_back({"producer_byte_rate", 1024, false});
  auto denied = bob.call<AlterClientQuotasResponse>(alter, 1);
  ASSERT_EQ(denied.entries.size(), 1U);
  EXPECT_EQ(denied.entries[0].error_code, kClusterAuthorizationFailed);
  EXPECT_EQ(denied.entries[0].error_message, "Cluster authorization failed.");
  ASSERT_EQ(denied.entries[0].entity.size(), 2U);
  EXPECT_EQ(denied.entries[0].entity[0].entity_type, "user");
  EXPECT_EQ(denied.entries[0].entity[1].entity_name, std::nullopt);

  DescribeClientQuotasRequest describe;
  describe.components.push_back({"user", 2, std::nullopt});  // any user
  auto refused = bob.call<DescribeClientQuotasResponse>(describe, 1);
  EXPECT_EQ(refused.error_code, kClusterAuthorizationFailed);
  EXPECT_FALSE(refused.error_message.has_value());
  EXPECT_FALSE(refused.entries.has_value());
  // Nothing was written; the super user may do both.
  auto none = admin.call<DescribeClientQuotasResponse>(describe, 1);
  ASSERT_EQ(none.error_code, 0);
  ASSERT_TRUE(none.entries.has_value());
  EXPECT_TRUE(none.entries->empty());
  EXPECT_EQ(admin.call<AlterClientQuotasResponse>(alter, 1).entries.at(0).error_code, 0);
  EXPECT_EQ(admin.call<DescribeClientQuotasResponse>(describe, 1).entries->size(), 1U);
}

TEST_F(AclTest, AclsSurviveARestart) {
  {
    UserClient admin(port_, "admin");
    ASSERT_EQ(create_topic(admin, "orders"), 0);
    grant(admin, {{kTopic, "ord", kPrefixed, "User:alice", "*", kWrite, kAllow}});
  }
  start();
  UserClient alice(port_, "alice");
  UserClient bob(port_, "bob");
  const auto batch = one_record_batch("after restart");
  EXPECT_EQ(produce(alice, "orders", batch), 0);
  EXPECT_EQ(produce(bob, "orders", batch), kTopicAuthorizationFailed);
  UserClient admin(port_, "admin");
  DeleteAclsRequest del;
  del.filters.push_back({kTopic, std::nullopt, 1, "User:alice", std::nullopt, 1, 1});
  auto deleted = admin.call<DeleteAclsResponse>(del, 3);
  ASSERT_EQ(deleted.filter_results.at(0).matching_acls.size(), 1U);
  EXPECT_EQ(deleted.filter_results[0].matching_acls[0].resource_name, "ord");
  EXPECT_EQ(produce(alice, "orders", batch), kTopicAuthorizationFailed);
  start();
  UserClient alice_again(port_, "alice");
  EXPECT_EQ(produce(alice_again, "orders", batch), kTopicAuthorizationFailed);
}

// librdkafka (kcat) as the principal with the ACLs and as the one without.
TEST_F(AclTest, KcatAsADeniedPrincipalGetsTopicAuthorizationFailed) {
  if (!command_succeeds("command -v kcat")) {
    if (labs_required()) FAIL() << "kcat is not installed";
    GTEST_SKIP() << "kcat is not installed (scripts/install-deps.sh test)";
  }
  {
    UserClient admin(port_, "admin");
    ASSERT_EQ(create_topic(admin, "kcat-acl"), 0);
    grant(admin, {{kTopic, "kcat-acl", kLiteral, "User:alice", "*", kWrite, kAllow},
                  {kTopic, "kcat-acl", kLiteral, "User:alice", "*", kRead, kAllow}});
  }
  auto kcat = [&](const std::string& user) {
    return "kcat -b 127.0.0.1:" + std::to_string(port_) +
           " -X security.protocol=SASL_PLAINTEXT -X sasl.mechanism=PLAIN -X sasl.username=" + user +
           " -X sasl.password=" + user + "-secret";
  };
  auto produced = run_command("printf 'one\\ntwo\\n' | " + kcat("alice") + " -P -t kcat-acl", 60);
  ASSERT_EQ(produced.status, 0) << produced.output;
  auto consumed = run_command(kcat("alice") + " -C -t kcat-acl -o beginning -e -q", 60);
  EXPECT_EQ(consumed.output, "one\ntwo\n");
  auto denied = run_command(
      "printf 'three\\n' | " + kcat("bob") + " -X message.timeout.ms=10000 -P -t kcat-acl", 60);
  EXPECT_NE(denied.output.find("Topic authorization failed"), std::string::npos) << denied.output;
  auto denied_read = run_command(kcat("bob") + " -C -t kcat-acl -o beginning -e -q", 60);
  EXPECT_NE(denied_read.status, 0);
  EXPECT_NE(denied_read.output.find("authorization failed"), std::string::npos)
      << denied_read.output;
}

TEST(AclConfig, AnUnknownAuthorizerClassDoesNotStart) {
  auto dir = make_temp_dir("kb-acl-cfg-");
  auto path = (dir / "server.properties").string();
  {
    std::ofstream f(path);
    f << "listeners=PLAINTEXT://127.0.0.1:0\nlog.dirs=" << (dir / "data").string()
      << "\nauthorizer.class.name=kafka.security.authorizer.AclAuthorizer\n";
  }
  auto [status, output] = run_broker_once({path}, std::chrono::seconds(10));
  EXPECT_EQ(status.code, 2);
  EXPECT_NE(output.find(path + ":3"), std::string::npos) << output;
  EXPECT_NE(output.find("org.apache.kafka.metadata.authorizer.StandardAuthorizer"),
            std::string::npos)
      << output;
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace
}  // namespace kb::testing
