// The authorizer's rules, each as Kafka's StandardAuthorizer applies it.

#include "kb/security/acl.hpp"

#include <gtest/gtest.h>

namespace kb::security {
namespace {

using enum AclOperation;

wire::Uuid id_of(uint8_t n) {
  wire::Uuid id;
  id.bytes[15] = n;
  return id;
}

Acl acl(ResourceType type, std::string name, PatternType pattern, std::string principal,
        AclOperation op, AclPermission permission = AclPermission::kAllow, std::string host = "*") {
  return Acl{type, std::move(name), pattern, std::move(principal), std::move(host), op, permission};
}

class AuthorizerTest : public ::testing::Test {
 protected:
  AuthorizerTest() {
    AuthorizerConfig config;
    config.enabled = true;
    authorizer_.configure(config);
  }

  void add(Acl a) { authorizer_.acls().add(id_of(next_id_++), std::move(a)); }

  bool may(std::string_view principal, AclOperation op, std::string_view topic,
           std::string_view host = "/127.0.0.1") const {
    return authorizer_.authorize({principal, host}, op, ResourceType::kTopic, topic);
  }

  Authorizer authorizer_;
  uint8_t next_id_ = 1;
};

TEST_F(AuthorizerTest, WithoutAnAuthorizerEverythingIsAllowed) {
  Authorizer none;
  EXPECT_TRUE(none.authorize({"User:bob", "/1.2.3.4"}, kWrite, ResourceType::kTopic, "t"));
  EXPECT_TRUE(none.authorize_any({"User:bob", "/1.2.3.4"}, kWrite, ResourceType::kTopic));
}

TEST_F(AuthorizerTest, NoAclDeniesUnlessAllowEveryoneIfNoAclFound) {
  EXPECT_FALSE(may("User:alice", kRead, "orders"));
  AuthorizerConfig config;
  config.enabled = true;
  config.allow_if_no_acl = true;
  authorizer_.configure(config);
  EXPECT_TRUE(may("User:alice", kRead, "orders"));
  // An ACL on the resource for someone else takes the default away.
  add(acl(ResourceType::kTopic, "orders", PatternType::kLiteral, "User:bob", kRead));
  EXPECT_FALSE(may("User:alice", kRead, "orders"));
  EXPECT_TRUE(may("User:alice", kRead, "payments"));
}

TEST_F(AuthorizerTest, LiteralPrefixedAndWildcardPatterns) {
  add(acl(ResourceType::kTopic, "orders", PatternType::kLiteral, "User:alice", kRead));
  add(acl(ResourceType::kTopic, "pay", PatternType::kPrefixed, "User:alice", kWrite));
  add(acl(ResourceType::kTopic, "*", PatternType::kLiteral, "User:carol", kRead));
  EXPECT_TRUE(may("User:alice", kRead, "orders"));
  EXPECT_FALSE(may("User:alice", kRead, "orders2"));  // a literal is not a prefix
  EXPECT_FALSE(may("User:alice", kRead, "order"));
  EXPECT_TRUE(may("User:alice", kWrite, "payments"));
  EXPECT_TRUE(may("User:alice", kWrite, "pay"));
  EXPECT_FALSE(may("User:alice", kWrite, "pa"));
  EXPECT_TRUE(may("User:carol", kRead, "anything"));
  EXPECT_FALSE(may("User:carol", kWrite, "anything"));
  // A prefixed "*" is a prefix like any other.
  add(acl(ResourceType::kTopic, "*", PatternType::kPrefixed, "User:dave", kRead));
  EXPECT_FALSE(may("User:dave", kRead, "orders"));
  EXPECT_TRUE(may("User:dave", kRead, "*star"));
}

TEST_F(AuthorizerTest, ResourceTypesAreSeparate) {
  add(acl(ResourceType::kGroup, "orders", PatternType::kLiteral, "User:alice", kRead));
  EXPECT_FALSE(may("User:alice", kRead, "orders"));
  EXPECT_TRUE(
      authorizer_.authorize({"User:alice", "/127.0.0.1"}, kRead, ResourceType::kGroup, "orders"));
  add(acl(ResourceType::kTransactionalId, "tx", PatternType::kPrefixed, "User:alice", kWrite));
  EXPECT_TRUE(authorizer_.authorize({"User:alice", "/127.0.0.1"}, kWrite,
                                    ResourceType::kTransactionalId, "tx-1"));
  add(acl(ResourceType::kCluster, "kafka-cluster", PatternType::kLiteral, "User:alice", kCreate));
  EXPECT_TRUE(authorizer_.authorize({"User:alice", "/127.0.0.1"}, kCreate, ResourceType::kCluster,
                                    "kafka-cluster"));
  EXPECT_FALSE(authorizer_.authorize({"User:bob", "/127.0.0.1"}, kCreate, ResourceType::kCluster,
                                     "kafka-cluster"));
}

TEST_F(AuthorizerTest, PrincipalsAndTheWildcardPrincipal) {
  add(acl(ResourceType::kTopic, "t", PatternType::kLiteral, "User:*", kRead));
  EXPECT_TRUE(may("User:alice", kRead, "t"));
  EXPECT_TRUE(may("User:ANONYMOUS", kRead, "t"));
  add(acl(ResourceType::kTopic, "u", PatternType::kLiteral, "User:alice", kRead));
  EXPECT_FALSE(may("User:alicex", kRead, "u"));
  EXPECT_FALSE(may("Group:alice", kRead, "u"));
  // Without a colon an ACL's principal is nobody's.
  add(acl(ResourceType::kTopic, "v", PatternType::kLiteral, "alice", kRead));
  EXPECT_FALSE(may("alice", kRead, "v"));
}

TEST_F(AuthorizerTest, HostsAreTheWildcardOrExact) {
  add(acl(ResourceType::kTopic, "t", PatternType::kLiteral, "User:alice", kRead,
          AclPermission::kAllow, "10.0.0.1"));
  EXPECT_TRUE(may("User:alice", kRead, "t", "/10.0.0.1"));
  EXPECT_TRUE(may("User:alice", kRead, "t", "10.0.0.1"));
  EXPECT_FALSE(may("User:alice", kRead, "t", "/10.0.0.2"));
}

TEST_F(AuthorizerTest, DenyWinsOverAllow) {
  add(acl(ResourceType::kTopic, "*", PatternType::kLiteral, "User:*", kAll));
  add(acl(ResourceType::kTopic, "secret", PatternType::kPrefixed, "User:bob", kRead,
          AclPermission::kDeny));
  EXPECT_TRUE(may("User:bob", kRead, "public"));
  EXPECT_FALSE(may("User:bob", kRead, "secret-plans"));
  EXPECT_TRUE(may("User:bob", kWrite, "secret-plans"));  // denies only READ
  EXPECT_TRUE(may("User:alice", kRead, "secret-plans"));
  // A DENY of ALL denies everything, from any host when it says "*".
  add(acl(ResourceType::kTopic, "secret", PatternType::kPrefixed, "User:*", kAll,
          AclPermission::kDeny));
  EXPECT_FALSE(may("User:alice", kDescribe, "secret-plans"));
}

TEST_F(AuthorizerTest, ImpliedDescribeAndDescribeConfigs) {
  for (AclOperation op : {kRead, kWrite, kDelete, kAlter}) {
    Authorizer a;
    a.configure({true, {}, false});
    a.acls().add(id_of(1), acl(ResourceType::kTopic, "t", PatternType::kLiteral, "User:u", op));
    EXPECT_TRUE(a.authorize({"User:u", "/h"}, kDescribe, ResourceType::kTopic, "t")) << name_of(op);
    EXPECT_FALSE(a.authorize({"User:u", "/h"}, kDescribeConfigs, ResourceType::kTopic, "t"));
  }
  add(acl(ResourceType::kTopic, "t", PatternType::kLiteral, "User:u", kCreate));
  EXPECT_FALSE(may("User:u", kDescribe, "t"));  // CREATE does not imply DESCRIBE
  add(acl(ResourceType::kTopic, "c", PatternType::kLiteral, "User:u", kAlterConfigs));
  EXPECT_TRUE(may("User:u", kDescribeConfigs, "c"));
  EXPECT_FALSE(may("User:u", kDescribe, "c"));
  // A DENY of READ does not deny DESCRIBE.
  add(acl(ResourceType::kTopic, "d", PatternType::kLiteral, "User:u", kDescribe));
  add(acl(ResourceType::kTopic, "d", PatternType::kLiteral, "User:u", kRead, AclPermission::kDeny));
  EXPECT_TRUE(may("User:u", kDescribe, "d"));
  EXPECT_FALSE(may("User:u", kRead, "d"));
}

TEST_F(AuthorizerTest, SuperUsersMayDoAnythingDespiteDenies) {
  AuthorizerConfig config;
  ASSERT_EQ(parse_authorizer_config(std::string(kStandardAuthorizerClass),
                                    " User:admin ;User:root;; ", std::nullopt, config),
            "");
  EXPECT_EQ(config.super_users, (std::set<std::string, std::less<>>{"User:admin", "User:root"}));
  authorizer_.configure(config);
  add(acl(ResourceType::kTopic, "*", PatternType::kLiteral, "User:*", kAll, AclPermission::kDeny));
  EXPECT_TRUE(may("User:admin", kWrite, "t"));
  EXPECT_TRUE(may("User:root", kDelete, "t"));
  EXPECT_FALSE(may("User:alice", kWrite, "t"));
}

TEST_F(AuthorizerTest, ConfigKeys) {
  AuthorizerConfig config;
  EXPECT_EQ(parse_authorizer_config(std::nullopt, std::nullopt, std::nullopt, config), "");
  EXPECT_FALSE(config.enabled);
  EXPECT_EQ(parse_authorizer_config(std::string(""), std::nullopt, std::nullopt, config), "");
  EXPECT_FALSE(config.enabled);
  EXPECT_NE(parse_authorizer_config(std::string("kafka.security.authorizer.AclAuthorizer"),
                                    std::nullopt, std::nullopt, config)
                .find("is not served"),
            std::string::npos);
  EXPECT_NE(parse_authorizer_config(std::string(kStandardAuthorizerClass), std::string("admin"),
                                    std::nullopt, config)
                .find("principalType:principalName"),
            std::string::npos);
  for (const char* yes : {"true", "TRUE", " True "}) {
    ASSERT_EQ(parse_authorizer_config(std::string(kStandardAuthorizerClass), std::nullopt,
                                      std::string(yes), config),
              "");
    EXPECT_TRUE(config.allow_if_no_acl) << yes;
  }
  for (const char* no : {"false", "yes", "1", ""}) {
    ASSERT_EQ(parse_authorizer_config(std::string(kStandardAuthorizerClass), std::nullopt,
                                      std::string(no), config),
              "");
    EXPECT_FALSE(config.allow_if_no_acl) << no;
  }
}

TEST_F(AuthorizerTest, AuthorizeAnyAsKafkasAuthorizeByResourceType) {
  const AclSession alice{"User:alice", "/127.0.0.1"};
  EXPECT_FALSE(authorizer_.authorize_any(alice, kWrite, ResourceType::kTopic));
  add(acl(ResourceType::kTopic, "orders", PatternType::kLiteral, "User:alice", kWrite));
  EXPECT_TRUE(authorizer_.authorize_any(alice, kWrite, ResourceType::kTopic));
  EXPECT_FALSE(authorizer_.authorize_any(alice, kRead, ResourceType::kTopic));
  // A denied prefix of the allowed name dominates it.
  add(acl(ResourceType::kTopic, "ord", PatternType::kPrefixed, "User:alice", kWrite,
          AclPermission::kDeny));
  EXPECT_FALSE(authorizer_.authorize_any(alice, kWrite, ResourceType::kTopic));
  add(acl(ResourceType::kTopic, "x", PatternType::kPrefixed, "User:*", kAll));
  EXPECT_TRUE(authorizer_.authorize_any(alice, kWrite, ResourceType::kTopic));
  // A literal wildcard DENY denies at once.
  add(acl(ResourceType::kTopic, "*", PatternType::kLiteral, "User:alice", kWrite,
          AclPermission::kDeny));
  EXPECT_FALSE(authorizer_.authorize_any(alice, kWrite, ResourceType::kTopic));
}

TEST_F(AuthorizerTest, AuthorizedOperationsBitSets) {
  const AclSession alice{"User:alice", "/127.0.0.1"};
  add(acl(ResourceType::kTopic, "t", PatternType::kLiteral, "User:alice", kRead));
  EXPECT_EQ(authorizer_.authorized_operations(alice, ResourceType::kTopic, "t"),
            (1 << 3) | (1 << 8));
  Authorizer none;
  EXPECT_EQ(none.authorized_operations(alice, ResourceType::kCluster, "kafka-cluster"),
            (1 << 5) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 12));
}

TEST(AclFilterTest, MatchesAsKafkasBindingFilter) {
  const Acl literal = acl(ResourceType::kTopic, "orders", PatternType::kLiteral, "User:a", kRead);
  const Acl prefixed = acl(ResourceType::kTopic, "ord", PatternType::kPrefixed, "User:a", kRead);
  const Acl wildcard = acl(ResourceType::kTopic, "*", PatternType::kLiteral, "User:a", kRead);
  AclFilter any;
  EXPECT_TRUE(any.matches(literal));
  EXPECT_TRUE(any.matches(prefixed));
  AclFilter f;
  f.resource_name = "orders";
  EXPECT_TRUE(f.matches(literal));  // ANY: the name exactly
  EXPECT_FALSE(f.matches(prefixed));
  EXPECT_FALSE(f.matches(wildcard));
  f.pattern_type = PatternType::kMatch;  // what applies to "orders"
  EXPECT_TRUE(f.matches(literal));
  EXPECT_TRUE(f.matches(prefixed));
  EXPECT_TRUE(f.matches(wildcard));
  f.pattern_type = PatternType::kPrefixed;
  EXPECT_FALSE(f.matches(prefixed));  // PREFIXED: that pattern and name exactly
  f.resource_name = "ord";
  EXPECT_TRUE(f.matches(prefixed));
  AclFilter entry;
  entry.principal = "User:b";
  EXPECT_FALSE(entry.matches(literal));
  entry.principal = "User:a";
  entry.host = "*";
  entry.operation = kRead;
  entry.permission = AclPermission::kAllow;
  EXPECT_TRUE(entry.matches(literal));
  entry.permission = AclPermission::kDeny;
  EXPECT_FALSE(entry.matches(literal));
  entry.resource_type = ResourceType::kGroup;
  EXPECT_FALSE(entry.matches(literal));
  AclFilter unknown;
  unknown.pattern_type = PatternType::kUnknown;
  EXPECT_TRUE(unknown.pattern_unknown());
  EXPECT_FALSE(unknown.entry_unknown());
}

TEST(AclValidationTest, NewAclProblemsAsKafkasController) {
  Acl a = acl(ResourceType::kTopic, "t", PatternType::kLiteral, "User:a", kRead);
  EXPECT_EQ(new_acl_problem(a), "");
  a.resource_type = ResourceType::kAny;
  EXPECT_EQ(new_acl_problem(a), "Invalid resourceType ANY");
  a.resource_type = ResourceType::kTopic;
  a.pattern_type = PatternType::kMatch;
  EXPECT_EQ(new_acl_problem(a), "Invalid patternType MATCH");
  a.pattern_type = PatternType::kPrefixed;
  a.operation = kAny;
  EXPECT_EQ(new_acl_problem(a), "Invalid operation ANY");
  a.operation = kAll;
  a.permission = AclPermission::kAny;
  EXPECT_EQ(new_acl_problem(a), "Invalid permissionType ANY");
  a.permission = AclPermission::kDeny;
  a.resource_name.clear();
  EXPECT_EQ(new_acl_problem(a), "Resource name should not be empty");
  EXPECT_EQ(resource_type_of(99), ResourceType::kUnknown);
  EXPECT_EQ(operation_of(-1), kUnknown);
}

TEST(AclStoreTest, IdsOrderAndDuplicates) {
  AclStore store;
  const Acl a = acl(ResourceType::kTopic, "a", PatternType::kLiteral, "User:x", kRead);
  const Acl ab = acl(ResourceType::kTopic, "ab", PatternType::kLiteral, "User:x", kRead);
  const Acl g = acl(ResourceType::kGroup, "a", PatternType::kLiteral, "User:x", kRead);
  store.add(id_of(1), a);
  store.add(id_of(2), g);
  store.add(id_of(3), ab);
  store.add(id_of(4), a);  // the same ACL under a second id (not written by Kafka)
  EXPECT_EQ(store.size(), 4U);
  EXPECT_TRUE(store.contains(a));
  // Kafka's order: type, then names reversed.
  auto all = store.matching(AclFilter{});
  ASSERT_EQ(all.size(), 4U);
  EXPECT_EQ(all[0].second, ab);
  EXPECT_EQ(all[1].second, a);
  EXPECT_EQ(all[3].second, g);
  EXPECT_TRUE(store.remove(id_of(1)));
  EXPECT_TRUE(store.contains(a));
  EXPECT_TRUE(store.remove(id_of(4)));
  EXPECT_FALSE(store.contains(a));
  EXPECT_FALSE(store.remove(id_of(4)));
  std::vector<std::string> topics;
  store.for_each_of_type(ResourceType::kTopic,
                         [&](const Acl& x) { topics.push_back(x.resource_name); });
  EXPECT_EQ(topics, std::vector<std::string>{"ab"});
}

}  // namespace
}  // namespace kb::security
