// CreateAcls, DescribeAcls and DeleteAcls with the StandardAuthorizer
// configured, against a real log directory: the ACLs are metadata records and
// survive a restart.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "kb/cluster/startup.hpp"
#include "kb/handlers/acls.hpp"
#include "kb/protocol/error_code.hpp"

namespace kb::handlers {
namespace {

using protocol::ErrorCode;
using protocol::to_wire;
using Creation = protocol::CreateAclsRequest::Creation;

constexpr int8_t kTopic = 2, kGroup = 3, kCluster = 4;
constexpr int8_t kAny = 1, kMatch = 2, kLiteral = 3, kPrefixed = 4;
constexpr int8_t kRead = 3, kWrite = 4, kAlter = 7, kDescribe = 8;
constexpr int8_t kDeny = 2, kAllow = 3;

class AclsAuthorizerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "kb-acls-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    load(state_);
  }
  void TearDown() override {
    state_.logs.reset();
    state_.metadata_log.reset();
    std::filesystem::remove_all(dir_);
  }

  void load(cluster::BrokerState& state) {
    security::AuthorizerConfig config;
    config.enabled = true;
    config.super_users = {"User:admin"};
    state.authorizer.configure(config);
    cluster::LogDirOptions options;
    options.log_dir = dir_;
    ASSERT_TRUE(cluster::load_log_dir(options, state).ok());
  }

  template <class Response, class Request>
  std::optional<Response> run(std::optional<Response> (*handle)(RequestContext&, const Request&,
                                                                int16_t),
                              const Request& request, std::string_view principal = "User:admin",
                              int16_t version = 3) {
    protocol::RequestHeader header{static_cast<int16_t>(Request::kApiKey), version, 1, "t"};
    ApiRegistry registry;
    RequestContext ctx{header, registry, state_, Clock::now(), Clock::now(), true, {}};
    ctx.principal = principal;
    ctx.client_host = "/127.0.0.1";
    auto response = handle(ctx, request, version);
    closed_ = ctx.close_connection;
    return response;
  }

  protocol::CreateAclsResponse create(std::vector<Creation> creations,
                                      std::string_view principal = "User:admin") {
    protocol::CreateAclsRequest r;
    r.creations = std::move(creations);
    auto response = run(&handle_create_acls, r, principal);
    EXPECT_TRUE(response.has_value());
    return response.value_or(protocol::CreateAclsResponse{});
  }

  protocol::DescribeAclsResponse describe(int8_t type = kAny, int8_t pattern = kAny,
                                          std::optional<std::string_view> name = std::nullopt,
                                          std::string_view principal = "User:admin") {
    protocol::DescribeAclsRequest r;
    r.resource_type_filter = type;
    r.resource_name_filter = name;
    r.pattern_type_filter = pattern;
    r.operation = kAny;
    r.permission_type = kAny;
    auto response = run(&handle_describe_acls, r, principal);
    EXPECT_TRUE(response.has_value());
    return response.value_or(protocol::DescribeAclsResponse{});
  }

  cluster::BrokerState state_;
  std::filesystem::path dir_;
  bool closed_ = false;
};

TEST_F(AclsAuthorizerTest, CreateDescribeDeleteAndRestart) {
  auto created = create({{kTopic, "orders", kLiteral, "User:alice", "*", kRead, kAllow},
                         {kTopic, "orders", kLiteral, "User:alice", "*", kWrite, kAllow},
                         {kTopic, "pay", kPrefixed, "User:bob", "10.0.0.1", kRead, kDeny},
                         {kGroup, "g", kLiteral, "User:alice", "*", kRead, kAllow},
                         // the same ACL again: a success that adds nothing
                         {kTopic, "orders", kLiteral, "User:alice", "*", kRead, kAllow}});
  ASSERT_EQ(created.results.size(), 5U);
  for (const auto& r : created.results) EXPECT_EQ(r.error_code, 0) << r.error_message.value_or("");
  EXPECT_EQ(state_.authorizer.acls().size(), 4U);
  EXPECT_TRUE(state_.authorizer.authorize({"User:alice", "/127.0.0.1"},
                                          security::AclOperation::kRead,
                                          security::ResourceType::kTopic, "orders"));

  auto all = describe();
  EXPECT_EQ(all.error_code, 0);
  // Grouped by pattern, in Kafka's order: TOPIC "pay" sorts before "orders"
  // (names reversed), GROUP last.
  ASSERT_EQ(all.resources.size(), 3U);
  EXPECT_EQ(all.resources[0].resource_name, "pay");
  EXPECT_EQ(all.resources[0].pattern_type, kPrefixed);
  EXPECT_EQ(all.resources[1].resource_name, "orders");
  EXPECT_EQ(all.resources[1].acls.size(), 2U);
  EXPECT_EQ(all.resources[2].resource_type, kGroup);
  // MATCH: what applies to the topic "payments".
  auto match = describe(kTopic, kMatch, "payments");
  ASSERT_EQ(match.resources.size(), 1U);
  EXPECT_EQ(match.resources[0].acls[0].host, "10.0.0.1");
  EXPECT_EQ(match.resources[0].acls[0].permission_type, kDeny);

  // A restart replays the records.
  {
    cluster::BrokerState reloaded;
    state_.metadata_log.reset();
    state_.logs.reset();
    load(reloaded);
    EXPECT_EQ(reloaded.authorizer.acls().by_id(),
              [&] { return state_.authorizer.acls().by_id(); }());
    state_.authorizer.acls() = security::AclStore{};
    reloaded.metadata_log.reset();
    reloaded.logs.reset();
    load(state_);
    EXPECT_EQ(state_.authorizer.acls().size(), 4U);
  }

  protocol::DeleteAclsRequest del;
  del.filters.push_back({kTopic, "orders", kLiteral, std::nullopt, std::nullopt, kAny, kAny});
  del.filters.push_back({kTopic, std::nullopt, kAny, "User:alice", std::nullopt, kRead, kAny});
  auto deleted = run(&handle_delete_acls, del);
  ASSERT_TRUE(deleted.has_value());
  ASSERT_EQ(deleted->filter_results.size(), 2U);
  EXPECT_EQ(deleted->filter_results[0].matching_acls.size(), 2U);
  // Both filters name alice's READ: reported by both, removed once.
  ASSERT_EQ(deleted->filter_results[1].matching_acls.size(), 1U);
  EXPECT_EQ(deleted->filter_results[1].matching_acls[0].resource_name, "orders");
  EXPECT_EQ(state_.authorizer.acls().size(), 2U);

  cluster::BrokerState reloaded;
  state_.metadata_log.reset();
  state_.logs.reset();
  load(reloaded);
  EXPECT_EQ(reloaded.authorizer.acls().size(), 2U);
  reloaded.metadata_log.reset();
  reloaded.logs.reset();
}

TEST_F(AclsAuthorizerTest, CreationsRefusedAsKafkaRefusesThem) {
  auto r = create({{kCluster, "my-cluster", kLiteral, "User:a", "*", kAlter, kAllow},
                   {kTopic, "", kLiteral, "User:a", "*", kRead, kAllow},
                   {kCluster, "kafka-cluster", kLiteral, "User:a", "*", kAlter, kAllow},
                   {99, "x", kLiteral, "User:a", "*", kRead, kAllow}});
  ASSERT_EQ(r.results.size(), 4U);
  EXPECT_EQ(r.results[0].error_code, to_wire(ErrorCode::kInvalidRequest));
  EXPECT_EQ(r.results[0].error_message,
            "The only valid name for the CLUSTER resource is kafka-cluster");
  EXPECT_EQ(r.results[1].error_code, to_wire(ErrorCode::kInvalidRequest));
  EXPECT_EQ(r.results[1].error_message, "Invalid empty resource name");
  EXPECT_EQ(r.results[2].error_code, 0);
  EXPECT_EQ(r.results[3].error_code, to_wire(ErrorCode::kInvalidRequest));
  EXPECT_EQ(r.results[3].error_message, "Invalid resourceType UNKNOWN");
  // ANY or MATCH anywhere: Kafka fails the whole request.
  r = create({{kTopic, "t", kLiteral, "User:a", "*", kRead, kAllow},
              {kTopic, "t", kMatch, "User:a", "*", kRead, kAllow}});
  ASSERT_EQ(r.results.size(), 2U);
  for (const auto& x : r.results) {
    EXPECT_EQ(x.error_code, to_wire(ErrorCode::kUnknownServerError));
    EXPECT_FALSE(x.error_message.has_value());
  }
  EXPECT_EQ(state_.authorizer.acls().size(), 1U);
  // UNKNOWN (0) closes the connection, as before.
  protocol::CreateAclsRequest unknown;
  unknown.creations.push_back({kTopic, "t", kLiteral, "User:a", "*", 0, kAllow});
  EXPECT_FALSE(run(&handle_create_acls, unknown).has_value());
  EXPECT_TRUE(closed_);
}

TEST_F(AclsAuthorizerTest, TheAclApisNeedClusterPermissions) {
  // alice may not describe or alter ACLs until she is allowed to.
  auto r = create({{kTopic, "t", kLiteral, "User:a", "*", kRead, kAllow}}, "User:alice");
  ASSERT_EQ(r.results.size(), 1U);
  EXPECT_EQ(r.results[0].error_code, to_wire(ErrorCode::kClusterAuthorizationFailed));
  EXPECT_EQ(describe(kAny, kAny, std::nullopt, "User:alice").error_code,
            to_wire(ErrorCode::kClusterAuthorizationFailed));
  protocol::DeleteAclsRequest del;
  del.filters.push_back({kAny, std::nullopt, kAny, std::nullopt, std::nullopt, kAny, kAny});
  auto d = run(&handle_delete_acls, del, "User:alice");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->filter_results[0].error_code, to_wire(ErrorCode::kClusterAuthorizationFailed));

  create({{kCluster, "kafka-cluster", kLiteral, "User:alice", "*", kAlter, kAllow}});
  // ALTER implies DESCRIBE.
  auto described = describe(kAny, kAny, std::nullopt, "User:alice");
  EXPECT_EQ(described.error_code, 0);
  EXPECT_EQ(described.resources.size(), 1U);
  r = create({{kTopic, "t", kLiteral, "User:a", "*", kDescribe, kAllow}}, "User:alice");
  EXPECT_EQ(r.results[0].error_code, 0);
}

TEST_F(AclsAuthorizerTest, DeleteFiltersOfUnknownValuesAreInvalid) {
  protocol::DeleteAclsRequest del;
  del.filters.push_back({99, std::nullopt, kAny, std::nullopt, std::nullopt, kAny, kAny});
  del.filters.push_back({kAny, std::nullopt, kAny, std::nullopt, std::nullopt, 99, kAny});
  auto d = run(&handle_delete_acls, del);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->filter_results[0].error_code, to_wire(ErrorCode::kInvalidRequest));
  EXPECT_EQ(d->filter_results[0].error_message, "Unknown patternFilter.");
  EXPECT_EQ(d->filter_results[1].error_message, "Unknown entryFilter.");
}

}  // namespace
}  // namespace kb::handlers
