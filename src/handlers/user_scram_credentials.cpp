#include "kb/handlers/user_scram_credentials.hpp"

#include <map>
#include <set>

#include <spdlog/spdlog.h>

#include "kb/cluster/topic_admin.hpp"
#include "kb/protocol/error_code.hpp"
#include "kb/security/scram.hpp"

namespace kb::handlers {

using protocol::AlterUserScramCredentialsRequest;
using protocol::AlterUserScramCredentialsResponse;
using protocol::DescribeUserScramCredentialsRequest;
using protocol::DescribeUserScramCredentialsResponse;
using protocol::ErrorCode;
using protocol::to_wire;

namespace {

struct ApiError {
  ErrorCode code = ErrorCode::kNone;
  std::string message;
};

std::optional<security::ScramMechanism> mechanism_of(int8_t type) {
  if (type == static_cast<int8_t>(security::ScramMechanism::kSha256))
    return security::ScramMechanism::kSha256;
  if (type == static_cast<int8_t>(security::ScramMechanism::kSha512))
    return security::ScramMechanism::kSha512;
  return std::nullopt;
}

ApiError validate_name_and_mechanism(std::string_view name, int8_t mechanism) {
  if (name.empty()) return {ErrorCode::kUnacceptableCredential, "Username must not be empty"};
  if (!mechanism_of(mechanism))
    return {ErrorCode::kUnsupportedSaslMechanism, "Unknown SCRAM mechanism"};
  return {};
}

std::optional<DescribeUserScramCredentialsResponse> handle_describe(
    RequestContext& ctx, const DescribeUserScramCredentialsRequest& request, int16_t /*version*/) {
  if (!ctx.authorized_cluster(security::AclOperation::kDescribe)) {
    DescribeUserScramCredentialsResponse denied;
    denied.error_code = to_wire(ErrorCode::kClusterAuthorizationFailed);
    return denied;
  }
  const auto users = ctx.state.scram_credentials.users();
  // Each name asked for, and whether it was asked for twice.
  std::map<std::string, bool, std::less<>> asked;
  if (!request.users || request.users->empty()) {
    for (const auto& [name, credentials] : users) asked[name] = false;
  } else {
    for (const auto& u : *request.users) {
      auto [it, added] = asked.emplace(std::string(u.name), false);
      if (!added) it->second = true;
    }
  }
  DescribeUserScramCredentialsResponse response;
  for (const auto& [name, twice] : asked) {
    auto& result = response.results.emplace_back();
    result.user = name;
    if (twice) {
      result.error_code = to_wire(ErrorCode::kDuplicateResource);
      result.error_message =
          "Cannot describe SCRAM credentials for the same user twice in a single request: " + name;
      continue;
    }
    auto it = users.find(name);
    if (it == users.end()) {
      result.error_code = to_wire(ErrorCode::kResourceNotFound);
      result.error_message = "Attempt to describe a user credential that does not exist: " + name;
      continue;
    }
    for (const auto& [mechanism, iterations] : it->second)
      result.credential_infos.push_back({static_cast<int8_t>(mechanism), iterations});
  }
  for (const auto& r : response.results) ctx.errors.add(r.error_code);
  return response;
}

std::optional<AlterUserScramCredentialsResponse> handle_alter(
    RequestContext& ctx, const AlterUserScramCredentialsRequest& request, int16_t /*version*/) {
  using Deletion = AlterUserScramCredentialsRequest::ScramCredentialDeletion;
  using Upsertion = AlterUserScramCredentialsRequest::ScramCredentialUpsertion;
  if (!ctx.authorized_cluster(security::AclOperation::kAlter)) {
    // Every user named, once, refused.
    std::set<std::string_view> users;
    for (const Deletion& d : request.deletions) users.insert(d.name);
    for (const Upsertion& u : request.upsertions) users.insert(u.name);
    AlterUserScramCredentialsResponse denied;
    for (std::string_view user : users)
      denied.results.push_back({std::string(user), to_wire(ErrorCode::kClusterAuthorizationFailed),
                                "Cluster authorization failed."});
    return denied;
  }
  std::map<std::string, const Deletion*, std::less<>> deletions;
  std::map<std::string, const Upsertion*, std::less<>> upsertions;
  std::map<std::string, ApiError, std::less<>> errors;
  const ApiError twice{ErrorCode::kDuplicateResource,
                       "A user credential cannot be altered twice in the same request"};
  for (const Deletion& d : request.deletions) {
    const std::string name(d.name);
    if (errors.contains(name)) continue;
    if (deletions.erase(name) > 0) {
      errors[name] = twice;
      continue;
    }
    ApiError error = validate_name_and_mechanism(d.name, d.mechanism);
    if (error.code == ErrorCode::kNone &&
        ctx.state.scram_credentials.find(*mechanism_of(d.mechanism), d.name) == nullptr)
      error = {ErrorCode::kResourceNotFound,
               "Attempt to delete a user credential that does not exist"};
    if (error.code != ErrorCode::kNone)
      errors[name] = std::move(error);
    else
      deletions[name] = &d;
  }
  for (const Upsertion& u : request.upsertions) {
    const std::string name(u.name);
    if (errors.contains(name)) continue;
    const bool deleted = deletions.erase(name) > 0;
    if (upsertions.erase(name) > 0 || deleted) {
      errors[name] = twice;
      continue;
    }
    ApiError error = validate_name_and_mechanism(u.name, u.mechanism);
    if (error.code == ErrorCode::kNone && u.iterations < security::kScramMinIterations)
      error = {ErrorCode::kUnacceptableCredential, "Too few iterations"};
    else if (error.code == ErrorCode::kNone && u.iterations > security::kScramMaxIterations)
      error = {ErrorCode::kUnacceptableCredential, "Too many iterations"};
    if (error.code != ErrorCode::kNone)
      errors[name] = std::move(error);
    else
      upsertions[name] = &u;
  }
  std::vector<storage::MetadataRecord> records;
  records.reserve(deletions.size() + upsertions.size());
  for (const auto& [name, d] : deletions)
    records.emplace_back(storage::RemoveUserScramCredentialRecord{name, d->mechanism});
  for (const auto& [name, u] : upsertions) {
    // Only what checks the password is kept: StoredKey and ServerKey.
    const security::ScramCredential c = security::scram_credential(
        *mechanism_of(u->mechanism), u->salted_password, u->salt, u->iterations);
    records.emplace_back(storage::UserScramCredentialRecord{
        name, u->mechanism, c.salt, c.stored_key, c.server_key, c.iterations});
  }
  AlterUserScramCredentialsResponse response;
  if (!records.empty()) {
    if (storage::Status appended = cluster::append_metadata(ctx.state, records); !appended.ok()) {
      spdlog::error("AlterUserScramCredentials: writing the metadata log failed: {}",
                    appended.error().message);
      for (const auto& [name, d] : deletions)
        errors[name] = {ErrorCode::kUnknownServerError, appended.error().message};
      for (const auto& [name, u] : upsertions)
        errors[name] = {ErrorCode::kUnknownServerError, appended.error().message};
      deletions.clear();
      upsertions.clear();
    }
  }
  for (const auto& [name, d] : deletions) response.results.push_back({name, 0, std::nullopt});
  for (const auto& [name, u] : upsertions) response.results.push_back({name, 0, std::nullopt});
  for (const auto& [name, e] : errors)
    response.results.push_back({name, to_wire(e.code), e.message});
  for (const auto& r : response.results) ctx.errors.add(r.error_code);
  wait_for_metadata(ctx);
  return response;
}

}  // namespace

ApiEntry describe_user_scram_credentials_entry() {
  return make_entry<DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse,
                    &handle_describe>("DescribeUserScramCredentials",
                                      DescribeUserScramCredentialsRequest::kVersions);
}

ApiEntry alter_user_scram_credentials_entry() {
  return make_entry<AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse,
                    &handle_alter>("AlterUserScramCredentials",
                                   AlterUserScramCredentialsRequest::kVersions);
}

}  // namespace kb::handlers
