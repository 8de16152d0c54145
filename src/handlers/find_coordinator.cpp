#include "kb/handlers/announced_broker.hpp"
#include "kb/handlers/groups.hpp"
#include "kb/protocol/error_code.hpp"

namespace kb::handlers {

using protocol::ErrorCode;
using protocol::FindCoordinatorRequest;
using protocol::FindCoordinatorResponse;
using protocol::to_wire;

namespace {

constexpr int8_t kGroupKey = 0;
constexpr int8_t kTransactionKey = 1;

FindCoordinatorResponse::Coordinator find(RequestContext& ctx, std::string_view key,
                                          int8_t key_type) {
  FindCoordinatorResponse::Coordinator c;
  c.key = std::string(key);
  c.node_id = -1;
  c.port = -1;
  ErrorCode error = ErrorCode::kNone;
  // DESCRIBE on the group or transactional id comes first.
  using security::AclOperation;
  using security::ResourceType;
  if (key_type == kGroupKey && !ctx.authorized(AclOperation::kDescribe, ResourceType::kGroup, key))
    error = ErrorCode::kGroupAuthorizationFailed;
  else if (key_type == kTransactionKey &&
           !ctx.authorized(AclOperation::kDescribe, ResourceType::kTransactionalId, key))
    error = ErrorCode::kTransactionalIdAuthorizationFailed;
  else if (key_type == kTransactionKey) {
    // This broker coordinates every transactional id too.
    if (!ctx.transactions || !ctx.transactions->ready())
      error = ErrorCode::kCoordinatorNotAvailable;
  } else if (key_type != kGroupKey) {
    error = ErrorCode::kInvalidRequest;
  } else if (!ctx.groups || !ctx.groups->ready()) {
    error = ErrorCode::kCoordinatorNotAvailable;
  }
  const std::optional<AnnouncedBroker> broker = announced_broker(ctx);
  if (error == ErrorCode::kNone && !broker) error = ErrorCode::kCoordinatorNotAvailable;
  if (error != ErrorCode::kNone) {
    c.error_code = to_wire(error);
    c.host.clear();
    return c;
  }
  // This broker coordinates every group, reached as Metadata announces it.
  c.node_id = ctx.state.node_id;
  c.host = broker->host;
  c.port = broker->port;
  return c;
}

}  // namespace

std::optional<FindCoordinatorResponse> handle_find_coordinator(
    RequestContext& ctx, const FindCoordinatorRequest& request, int16_t version) {
  FindCoordinatorResponse response;
  if (version >= 4) {
    for (std::string_view key : request.coordinator_keys)
      response.coordinators.push_back(find(ctx, key, request.key_type));
    wait_for_metadata(ctx);  // __consumer_offsets may have been created just now
    return response;
  }
  FindCoordinatorResponse::Coordinator c = find(ctx, request.key, request.key_type);
  response.error_code = c.error_code;
  response.node_id = c.node_id;
  response.host = std::move(c.host);
  response.port = c.port;
  wait_for_metadata(ctx);
  return response;
}

ApiEntry find_coordinator_entry() {
  return make_entry<FindCoordinatorRequest, FindCoordinatorResponse, &handle_find_coordinator>(
      "FindCoordinator", FindCoordinatorRequest::kVersions);
}

}  // namespace kb::handlers
