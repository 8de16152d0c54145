#pragma once

// ACLs and their authorizer with the semantics of Kafka's StandardAuthorizer:
// what an ACL is, how filters select ACLs (DescribeAcls, DeleteAcls), and how
// a principal's action on a resource is allowed or denied. Knows no sockets,
// requests or metadata records: callers hand it codes and strings.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "kb/wire/uuid.hpp"

namespace kb::security {

// Kafka's codes (ResourceType, PatternType, AclOperation, AclPermissionType);
// a code Kafka does not know reads as kUnknown, as its fromCode does.
enum class ResourceType : int8_t {
  kUnknown = 0,
  kAny = 1,
  kTopic = 2,
  kGroup = 3,
  kCluster = 4,
  kTransactionalId = 5,
  kDelegationToken = 6,
  kUser = 7,
};
enum class PatternType : int8_t { kUnknown = 0, kAny = 1, kMatch = 2, kLiteral = 3, kPrefixed = 4 };
enum class AclOperation : int8_t {
  kUnknown = 0,
  kAny = 1,
  kAll = 2,
  kRead = 3,
  kWrite = 4,
  kCreate = 5,
  kDelete = 6,
  kAlter = 7,
  kDescribe = 8,
  kClusterAction = 9,
  kDescribeConfigs = 10,
  kAlterConfigs = 11,
  kIdempotentWrite = 12,
  kCreateTokens = 13,
  kDescribeTokens = 14,
  kTwoPhaseCommit = 15,
};
enum class AclPermission : int8_t { kUnknown = 0, kAny = 1, kDeny = 2, kAllow = 3 };

ResourceType resource_type_of(int8_t code);
PatternType pattern_type_of(int8_t code);
AclOperation operation_of(int8_t code);
AclPermission permission_of(int8_t code);
// Kafka's enum names (TOPIC, PREFIXED, DESCRIBE_CONFIGS, ALLOW, ...).
std::string_view name_of(ResourceType t);
std::string_view name_of(PatternType t);
std::string_view name_of(AclOperation o);
std::string_view name_of(AclPermission p);

// The one name a CLUSTER resource has.
inline constexpr std::string_view kClusterResourceName = "kafka-cluster";
// A literal resource name, principal or host that matches every one.
inline constexpr std::string_view kWildcard = "*";
inline constexpr std::string_view kWildcardPrincipal = "User:*";

// One ACL (Kafka's StandardAcl): a resource pattern and an entry.
struct Acl {
  ResourceType resource_type = ResourceType::kUnknown;
  std::string resource_name;
  PatternType pattern_type = PatternType::kUnknown;
  std::string principal;  // "User:alice", "User:*"
  std::string host;       // "*" or an address as the client's ("127.0.0.1")
  AclOperation operation = AclOperation::kUnknown;
  AclPermission permission = AclPermission::kUnknown;

  bool operator==(const Acl&) const = default;
};

// Kafka's order of ACLs: by resource type, then resource name REVERSED (so
// that the names that are prefixes of a name follow it), then pattern type,
// operation, principal, host and permission.
struct AclOrder {
  using is_transparent = void;
  bool operator()(const Acl& a, const Acl& b) const;
  // A resource type alone sorts before its first ACL (lower_bound(type)).
  bool operator()(const Acl& a, ResourceType t) const { return a.resource_type < t; }
  bool operator()(ResourceType t, const Acl& a) const { return t < a.resource_type; }
};

// Why Kafka's controller refuses to create `acl` (INVALID_REQUEST), or empty.
std::string new_acl_problem(const Acl& acl);

// What DescribeAcls and DeleteAcls select ACLs with (Kafka's AclBindingFilter).
// A null name, principal or host matches any.
struct AclFilter {
  ResourceType resource_type = ResourceType::kAny;
  std::optional<std::string> resource_name;
  PatternType pattern_type = PatternType::kAny;
  std::optional<std::string> principal;
  std::optional<std::string> host;
  AclOperation operation = AclOperation::kAny;
  AclPermission permission = AclPermission::kAny;

  bool matches(const Acl& acl) const;
  // A filter naming an UNKNOWN type, pattern, operation or permission
  // (Kafka refuses it: "Unknown patternFilter." / "Unknown entryFilter.").
  bool pattern_unknown() const;
  bool entry_unknown() const;
};

// The ACLs of the cluster by their ids, as the metadata log's
// AccessControlEntryRecord / RemoveAccessControlEntryRecord leave them.
class AclStore {
 public:
  // Adds (or replaces) the ACL with this id.
  void add(const wire::Uuid& id, Acl acl);
  // False when no ACL has this id.
  bool remove(const wire::Uuid& id);
  bool contains(const Acl& acl) const { return ids_by_acl_.contains(acl); }
  size_t size() const { return by_id_.size(); }
  const std::map<wire::Uuid, Acl>& by_id() const { return by_id_; }
  // The ACLs a filter selects, in Kafka's order.
  std::vector<std::pair<wire::Uuid, Acl>> matching(const AclFilter& filter) const;
  // Every ACL of one resource type, in Kafka's order.
  template <class Fn>
  void for_each_of_type(ResourceType type, Fn&& fn) const {
    for (auto it = ids_by_acl_.lower_bound(type);
         it != ids_by_acl_.end() && it->first.resource_type == type; ++it)
      fn(it->first);
  }

 private:
  std::map<wire::Uuid, Acl> by_id_;
  // Kafka's order; an identical ACL under two ids (possible only in a log
  // Kafka did not write) is counted.
  std::map<Acl, int, AclOrder> ids_by_acl_;
};

// authorizer.class.name, super.users and allow.everyone.if.no.acl.found.
struct AuthorizerConfig {
  bool enabled = false;
  std::set<std::string, std::less<>> super_users;
  bool allow_if_no_acl = false;
};

inline constexpr std::string_view kStandardAuthorizerClass =
    "org.apache.kafka.metadata.authorizer.StandardAuthorizer";

// Reads the three keys from their values (absent: nullopt). Returns an error
// naming the key, or empty.
std::string parse_authorizer_config(const std::optional<std::string>& class_name,
                                    const std::optional<std::string>& super_users,
                                    const std::optional<std::string>& allow_if_no_acl,
                                    AuthorizerConfig& out);

// Who asks: a principal as Kafka prints it ("User:alice") and the client's
// address ("127.0.0.1"; a leading '/' as Java prints addresses is ignored).
struct AclSession {
  std::string_view principal;
  std::string_view host;
};

// Kafka's StandardAuthorizer over an AclStore.
class Authorizer {
 public:
  void configure(AuthorizerConfig config) { config_ = std::move(config); }
  const AuthorizerConfig& config() const { return config_; }
  bool enabled() const { return config_.enabled; }
  AclStore& acls() { return acls_; }
  const AclStore& acls() const { return acls_; }

  // Whether `session` may do `op` on the resource named `name` (a literal
  // name). Always true without an authorizer.
  bool authorize(const AclSession& session, AclOperation op, ResourceType type,
                 std::string_view name) const;
  // Whether `session` may do `op` on at least one resource of `type` (Kafka's
  // authorizeByResourceType: an idempotent producer with WRITE on any topic).
  bool authorize_any(const AclSession& session, AclOperation op, ResourceType type) const;
  // The bit set (1 << code) of the operations `session` may do on the named
  // resource out of those Kafka supports for its type (the authorized
  // operations fields of Metadata, DescribeGroups, DescribeCluster, ...).
  int32_t authorized_operations(const AclSession& session, ResourceType type,
                                std::string_view name) const;

 private:
  bool is_super_user(std::string_view principal) const;

  AuthorizerConfig config_;
  AclStore acls_;
};

// The operations Kafka supports per resource type (AclEntry.supportedOperations).
std::vector<AclOperation> supported_operations(ResourceType type);

}  // namespace kb::security
