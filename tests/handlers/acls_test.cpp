// The ACL APIs as a Kafka broker without an authorizer answers them.

#include "kb/handlers/acls.hpp"

#include <gtest/gtest.h>

#include "kb/protocol/error_code.hpp"

namespace kb::handlers {
namespace {

using protocol::ErrorCode;
using protocol::to_wire;

class AclsTest : public ::testing::Test {
 protected:
  template <class Response, class Request>
  std::optional<Response> run(std::optional<Response> (*handle)(RequestContext&, const Request&,
                                                                int16_t),
                              const Request& request, int16_t version = 3) {
    protocol::RequestHeader header{static_cast<int16_t>(Request::kApiKey), version, 1, "t"};
    ApiRegistry registry;
    RequestContext ctx{header, registry, state_, Clock::now(), Clock::now(), true, {}};
    auto response = handle(ctx, request, version);
    closed_ = ctx.close_connection;
    return response;
  }

  cluster::BrokerState state_;
  bool closed_ = false;
};

// Every topic ACL, as MirrorMaker 2 asks for them.
protocol::DescribeAclsRequest any_topic_acl() {
  protocol::DescribeAclsRequest r;
  r.resource_type_filter = 2;  // TOPIC
  r.pattern_type_filter = 1;   // ANY
  r.operation = 1;             // ANY
  r.permission_type = 1;       // ANY
  return r;
}

TEST_F(AclsTest, AdvertisedAtKafka4sVersions) {
  ApiRegistry registry = make_broker_registry();
  for (int16_t key : {int16_t{29}, int16_t{30}, int16_t{31}}) {
    const ApiEntry* entry = registry.find(key);
    ASSERT_NE(entry, nullptr) << key;
    EXPECT_EQ(entry->versions.min, 1);
    EXPECT_EQ(entry->versions.max, 3);
    EXPECT_EQ(entry->first_flexible, 2);
  }
}

TEST_F(AclsTest, DescribeAnswersSecurityDisabled) {
  for (int16_t version : {int16_t{1}, int16_t{2}, int16_t{3}}) {
    auto response = run(&handle_describe_acls, any_topic_acl(), version);
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(response->error_code, to_wire(ErrorCode::kSecurityDisabled));
    EXPECT_EQ(response->error_message, "No Authorizer is configured on the broker");
    EXPECT_TRUE(response->resources.empty());
    EXPECT_FALSE(closed_);
  }
}

TEST_F(AclsTest, CreateAnswersSecurityDisabledForEachCreation) {
  protocol::CreateAclsRequest r;
  r.creations.push_back({2, "orders", 3, "User:alice", "*", 3, 3});
  r.creations.push_back({4, "g", 4, "User:bob", "127.0.0.1", 2, 2});
  auto response = run(&handle_create_acls, r);
  ASSERT_TRUE(response.has_value());
  ASSERT_EQ(response->results.size(), 2U);
  for (const auto& result : response->results) {
    EXPECT_EQ(result.error_code, to_wire(ErrorCode::kSecurityDisabled));
    EXPECT_EQ(result.error_message, "No Authorizer is configured.");
  }
  r.creations.clear();
  EXPECT_TRUE(run(&handle_create_acls, r)->results.empty());
}

TEST_F(AclsTest, DeleteAnswersSecurityDisabledForEachFilter) {
  protocol::DeleteAclsRequest r;
  r.filters.push_back({2, "orders", 3, std::nullopt, std::nullopt, 1, 1});
  r.filters.push_back({1, std::nullopt, 1, "User:bob", std::nullopt, 1, 1});
  r.filters.push_back({1, std::nullopt, 1, std::nullopt, std::nullopt, 1, 1});
  auto response = run(&handle_delete_acls, r);
  ASSERT_TRUE(response.has_value());
  ASSERT_EQ(response->filter_results.size(), 3U);
  for (const auto& result : response->filter_results) {
    EXPECT_EQ(result.error_code, to_wire(ErrorCode::kSecurityDisabled));
    EXPECT_EQ(result.error_message, "No Authorizer is configured.");
    EXPECT_TRUE(result.matching_acls.empty());
  }
}

// Kafka's request parser throws on an UNKNOWN (0) type, and its socket server
// closes the connection; codes it does not know but that are not 0 pass.
TEST_F(AclsTest, UnknownElementsCloseTheConnection) {
  for (int field = 0; field < 4; ++field) {
    auto r = any_topic_acl();
    int8_t* codes[] = {&r.resource_type_filter, &r.pattern_type_filter, &r.operation,
                       &r.permission_type};
    *codes[field] = protocol::kAclUnknownCode;
    EXPECT_FALSE(run(&handle_describe_acls, r).has_value()) << field;
    EXPECT_TRUE(closed_) << field;

    protocol::CreateAclsRequest create;
    create.creations.push_back({2, "t", 3, "User:a", "*", 3, 3});
    create.creations.push_back({2, "t", 3, "User:a", "*", 3, 3});
    int8_t* create_codes[] = {&create.creations[1].resource_type,
                              &create.creations[1].resource_pattern_type,
                              &create.creations[1].operation, &create.creations[1].permission_type};
    *create_codes[field] = protocol::kAclUnknownCode;
    EXPECT_FALSE(run(&handle_create_acls, create).has_value()) << field;
    EXPECT_TRUE(closed_) << field;

    protocol::DeleteAclsRequest del;
    del.filters.push_back({2, "t", 3, std::nullopt, std::nullopt, 1, 1});
    int8_t* delete_codes[] = {&del.filters[0].resource_type_filter,
                              &del.filters[0].pattern_type_filter, &del.filters[0].operation,
                              &del.filters[0].permission_type};
    *delete_codes[field] = protocol::kAclUnknownCode;
    EXPECT_FALSE(run(&handle_delete_acls, del).has_value()) << field;
    EXPECT_TRUE(closed_) << field;
  }
  auto unusual = any_topic_acl();
  unusual.resource_type_filter = 99;  // not a type Kafka knows, but not UNKNOWN's code
  auto response = run(&handle_describe_acls, unusual);
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->error_code, to_wire(ErrorCode::kSecurityDisabled));
}

}  // namespace
}  // namespace kb::handlers
