#include "kb/security/acl.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <tuple>

namespace kb::security {

namespace {

template <class E>
E enum_of(int8_t code, int8_t max) {
  if (code < 0 || code > max) return E{0};
  return static_cast<E>(code);
}

int8_t code(auto e) { return static_cast<int8_t>(e); }

// Kafka's StandardAcl.kafkaPrincipal needs a colon; an ACL without one can
// match nobody.
bool principal_matches(std::string_view acl_principal, std::string_view principal) {
  if (acl_principal.find(':') == std::string_view::npos) return false;
  return acl_principal == principal || acl_principal == kWildcardPrincipal;
}

std::string_view bare_host(std::string_view host) {
  if (!host.empty() && host.front() == '/') host.remove_prefix(1);
  return host;
}

bool host_matches(std::string_view acl_host, std::string_view host) {
  return acl_host == kWildcard || acl_host == bare_host(host);
}

// Whether an ACL's pattern covers the literal resource `name`.
bool pattern_covers(const Acl& acl, std::string_view name) {
  switch (acl.pattern_type) {
    case PatternType::kLiteral:
      return acl.resource_name == name || acl.resource_name == kWildcard;
    case PatternType::kPrefixed:
      return name.starts_with(acl.resource_name);
    default:
      return false;
  }
}

enum class Verdict { kNoMatch, kAllow, kDeny };

// One ACL applied to an action whose resource it covers (Kafka's findResult):
// an ALLOW of READ, WRITE, DELETE or ALTER allows DESCRIBE too, and one of
// ALTER_CONFIGS allows DESCRIBE_CONFIGS; a DENY denies only what it names.
Verdict verdict(const Acl& acl, const AclSession& session, AclOperation op) {
  if (!principal_matches(acl.principal, session.principal)) return Verdict::kNoMatch;
  if (!host_matches(acl.host, session.host)) return Verdict::kNoMatch;
  if (acl.operation != AclOperation::kAll) {
    if (acl.permission == AclPermission::kAllow) {
      switch (op) {
        case AclOperation::kDescribe:
          if (acl.operation != AclOperation::kDescribe && acl.operation != AclOperation::kRead &&
              acl.operation != AclOperation::kWrite && acl.operation != AclOperation::kDelete &&
              acl.operation != AclOperation::kAlter)
            return Verdict::kNoMatch;
          break;
        case AclOperation::kDescribeConfigs:
          if (acl.operation != AclOperation::kDescribeConfigs &&
              acl.operation != AclOperation::kAlterConfigs)
            return Verdict::kNoMatch;
          break;
        default:
          if (acl.operation != op) return Verdict::kNoMatch;
      }
    } else if (acl.operation != op) {
      return Verdict::kNoMatch;
    }
  }
  return acl.permission == AclPermission::kAllow ? Verdict::kAllow : Verdict::kDeny;
}

}  // namespace

ResourceType resource_type_of(int8_t c) { return enum_of<ResourceType>(c, 7); }
PatternType pattern_type_of(int8_t c) { return enum_of<PatternType>(c, 4); }
AclOperation operation_of(int8_t c) { return enum_of<AclOperation>(c, 15); }
AclPermission permission_of(int8_t c) { return enum_of<AclPermission>(c, 3); }

std::string_view name_of(ResourceType t) {
  static constexpr std::string_view kNames[] = {
      "UNKNOWN",          "ANY", "TOPIC", "GROUP", "CLUSTER", "TRANSACTIONAL_ID",
      "DELEGATION_TOKEN", "USER"};
  return kNames[code(t)];
}

std::string_view name_of(PatternType t) {
  static constexpr std::string_view kNames[] = {"UNKNOWN", "ANY", "MATCH", "LITERAL", "PREFIXED"};
  return kNames[code(t)];
}

std::string_view name_of(AclOperation o) {
  static constexpr std::string_view kNames[] = {"UNKNOWN",
                                                "ANY",
                                                "ALL",
                                                "READ",
                                                "WRITE",
                                                "CREATE",
                                                "DELETE",
                                                "ALTER",
                                                "DESCRIBE",
                                                "CLUSTER_ACTION",
                                                "DESCRIBE_CONFIGS",
                                                "ALTER_CONFIGS",
                                                "IDEMPOTENT_WRITE",
                                                "CREATE_TOKENS",
                                                "DESCRIBE_TOKENS",
                                                "TWO_PHASE_COMMIT"};
  return kNames[code(o)];
}

std::string_view name_of(AclPermission p) {
  static constexpr std::string_view kNames[] = {"UNKNOWN", "ANY", "DENY", "ALLOW"};
  return kNames[code(p)];
}

bool AclOrder::operator()(const Acl& a, const Acl& b) const {
  if (a.resource_type != b.resource_type) return a.resource_type < b.resource_type;
  if (a.resource_name != b.resource_name) return b.resource_name < a.resource_name;
  // Java compares strings by UTF-16 units and std::string by bytes; both
  // orders agree on which name is a prefix of which, all the walk needs.
  return std::tie(a.pattern_type, a.operation, a.principal, a.host, a.permission) <
         std::tie(b.pattern_type, b.operation, b.principal, b.host, b.permission);
}

std::string new_acl_problem(const Acl& acl) {
  if (acl.resource_type == ResourceType::kUnknown || acl.resource_type == ResourceType::kAny)
    return fmt::format("Invalid resourceType {}", name_of(acl.resource_type));
  if (acl.pattern_type != PatternType::kLiteral && acl.pattern_type != PatternType::kPrefixed)
    return fmt::format("Invalid patternType {}", name_of(acl.pattern_type));
  if (acl.operation == AclOperation::kUnknown || acl.operation == AclOperation::kAny)
    return fmt::format("Invalid operation {}", name_of(acl.operation));
  if (acl.permission != AclPermission::kAllow && acl.permission != AclPermission::kDeny)
    return fmt::format("Invalid permissionType {}", name_of(acl.permission));
  if (acl.resource_name.empty()) return "Resource name should not be empty";
  return {};
}

bool AclFilter::matches(const Acl& acl) const {
  // The resource pattern (Kafka's ResourcePatternFilter.matches).
  if (resource_type != ResourceType::kAny && resource_type != acl.resource_type) return false;
  if (pattern_type != PatternType::kAny && pattern_type != PatternType::kMatch &&
      pattern_type != acl.pattern_type)
    return false;
  if (resource_name) {
    if (pattern_type == PatternType::kAny || pattern_type == acl.pattern_type) {
      if (*resource_name != acl.resource_name) return false;
    } else {
      // MATCH: the ACLs that would apply to a resource of this name.
      switch (acl.pattern_type) {
        case PatternType::kLiteral:
          if (*resource_name != acl.resource_name && acl.resource_name != kWildcard) return false;
          break;
        case PatternType::kPrefixed:
          if (!std::string_view(*resource_name).starts_with(acl.resource_name)) return false;
          break;
        default:
          return false;
      }
    }
  }
  // The entry (AccessControlEntryFilter.matches).
  if (principal && *principal != acl.principal) return false;
  if (host && *host != acl.host) return false;
  if (operation != AclOperation::kAny && operation != acl.operation) return false;
  return permission == AclPermission::kAny || permission == acl.permission;
}

bool AclFilter::pattern_unknown() const {
  return resource_type == ResourceType::kUnknown || pattern_type == PatternType::kUnknown;
}

bool AclFilter::entry_unknown() const {
  return operation == AclOperation::kUnknown || permission == AclPermission::kUnknown;
}

void AclStore::add(const wire::Uuid& id, Acl acl) {
  remove(id);
  ++ids_by_acl_[acl];
  by_id_.emplace(id, std::move(acl));
}

bool AclStore::remove(const wire::Uuid& id) {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return false;
  if (auto a = ids_by_acl_.find(it->second); a != ids_by_acl_.end() && --a->second == 0)
    ids_by_acl_.erase(a);
  by_id_.erase(it);
  return true;
}

std::vector<std::pair<wire::Uuid, Acl>> AclStore::matching(const AclFilter& filter) const {
  std::vector<std::pair<wire::Uuid, Acl>> out;
  for (const auto& [id, acl] : by_id_)
    if (filter.matches(acl)) out.emplace_back(id, acl);
  std::stable_sort(out.begin(), out.end(),
                   [](const auto& a, const auto& b) { return AclOrder{}(a.second, b.second); });
  return out;
}

std::string parse_authorizer_config(const std::optional<std::string>& class_name,
                                    const std::optional<std::string>& super_users,
                                    const std::optional<std::string>& allow_if_no_acl,
                                    AuthorizerConfig& out) {
  out = AuthorizerConfig{};
  if (class_name && !class_name->empty()) {
    if (*class_name != kStandardAuthorizerClass)
      return fmt::format("authorizer.class.name: '{}' is not served; the only authorizer is {}",
                         *class_name, kStandardAuthorizerClass);
    out.enabled = true;
  }
  if (super_users) {
    std::string_view rest = *super_users;
    while (true) {
      const size_t semi = rest.find(';');
      std::string_view item = rest.substr(0, semi);
      // Java's String.trim: every character up to the space.
      while (!item.empty() && static_cast<unsigned char>(item.front()) <= ' ')
        item.remove_prefix(1);
      while (!item.empty() && static_cast<unsigned char>(item.back()) <= ' ') item.remove_suffix(1);
      if (!item.empty()) {
        if (item.find(':') == std::string_view::npos)
          return fmt::format(
              "super.users: expected a string in format principalType:principalName but got {}",
              item);
        out.super_users.emplace(item);
      }
      if (semi == std::string_view::npos) break;
      rest.remove_prefix(semi + 1);
    }
  }
  if (allow_if_no_acl) {
    // Java's Boolean.parseBoolean of the trimmed value: "true" in any case.
    std::string v;
    for (char c : *allow_if_no_acl)
      if (static_cast<unsigned char>(c) > ' ') v += static_cast<char>(std::tolower(c));
    out.allow_if_no_acl = v == "true";
  }
  return {};
}

bool Authorizer::is_super_user(std::string_view principal) const {
  return config_.super_users.contains(principal);
}

bool Authorizer::authorize(const AclSession& session, AclOperation op, ResourceType type,
                           std::string_view name) const {
  if (!config_.enabled) return true;
  if (is_super_user(session.principal)) return true;
  // Every ACL of the type whose pattern covers the name: a matching DENY
  // wins, then a matching ALLOW; ACLs on the resource that match neither the
  // principal, the host nor the operation deny; no ACL on it at all gives the
  // allow.everyone.if.no.acl.found answer.
  bool has_resource_acls = false;
  bool allowed = false;
  bool denied = false;
  acls_.for_each_of_type(type, [&](const Acl& acl) {
    if (denied || !pattern_covers(acl, name)) return;
    has_resource_acls = true;
    switch (verdict(acl, session, op)) {
      case Verdict::kAllow:
        allowed = true;
        break;
      case Verdict::kDeny:
        denied = true;
        break;
      case Verdict::kNoMatch:
        break;
    }
  });
  if (denied) return false;
  if (allowed) return true;
  return has_resource_acls ? false : config_.allow_if_no_acl;
}

bool Authorizer::authorize_any(const AclSession& session, AclOperation op,
                               ResourceType type) const {
  if (!config_.enabled) return true;
  // A made-up name first, so that super users and the no-ACL default answer
  // as for any resource.
  if (authorize(session, op, type, "hardcode")) return true;
  std::set<std::string, std::less<>> deny_literal;
  std::set<std::string, std::less<>> deny_prefixed;
  std::vector<const Acl*> allows;
  bool wildcard_allow = false;
  bool wildcard_deny = false;
  acls_.for_each_of_type(type, [&](const Acl& acl) {
    if (!host_matches(acl.host, session.host)) return;
    if (acl.principal != session.principal && acl.principal != kWildcardPrincipal) return;
    if (acl.operation != op && acl.operation != AclOperation::kAll) return;
    const bool literal = acl.pattern_type == PatternType::kLiteral;
    if (acl.permission == AclPermission::kDeny) {
      if (literal && acl.resource_name == kWildcard) wildcard_deny = true;
      if (literal) deny_literal.insert(acl.resource_name);
      if (acl.pattern_type == PatternType::kPrefixed) deny_prefixed.insert(acl.resource_name);
    } else if (acl.permission == AclPermission::kAllow) {
      if (literal && acl.resource_name == kWildcard)
        wildcard_allow = true;
      else if (literal || acl.pattern_type == PatternType::kPrefixed)
        allows.push_back(&acl);
    }
  });
  if (wildcard_deny) return false;
  if (wildcard_allow) return true;
  // An allowed name (or prefix) counts unless a DENY covers all of it: the
  // same literal name, or a denied prefix of it.
  for (const Acl* allow : allows) {
    if (allow->pattern_type == PatternType::kLiteral && deny_literal.contains(allow->resource_name))
      continue;
    bool dominated = false;
    for (size_t len = 1; len <= allow->resource_name.size() && !dominated; ++len)
      dominated = deny_prefixed.contains(std::string_view(allow->resource_name).substr(0, len));
    if (!dominated) return true;
  }
  return false;
}

std::vector<AclOperation> supported_operations(ResourceType type) {
  using enum AclOperation;
  switch (type) {
    case ResourceType::kTopic:
      return {kRead, kWrite, kCreate, kDelete, kAlter, kDescribe, kDescribeConfigs, kAlterConfigs};
    case ResourceType::kGroup:
      return {kRead, kDelete, kDescribe, kDescribeConfigs, kAlterConfigs};
    case ResourceType::kCluster:
      return {kCreate,          kAlter,        kDescribe,       kClusterAction,
              kDescribeConfigs, kAlterConfigs, kIdempotentWrite};
    case ResourceType::kTransactionalId:
      return {kWrite, kDescribe};
    case ResourceType::kDelegationToken:
      return {kDescribe};
    case ResourceType::kUser:
      return {kCreateTokens, kDescribeTokens};
    default:
      return {};
  }
}

int32_t Authorizer::authorized_operations(const AclSession& session, ResourceType type,
                                          std::string_view name) const {
  int32_t bits = 0;
  for (AclOperation op : supported_operations(type))
    if (authorize(session, op, type, name)) bits |= 1 << code(op);
  return bits;
}

}  // namespace kb::security
