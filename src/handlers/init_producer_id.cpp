#include "kb/handlers/init_producer_id.hpp"

#include <spdlog/spdlog.h>

#include "kb/handlers/transactions.hpp"
#include "kb/protocol/error_code.hpp"
#include "kb/storage/record_batch.hpp"

namespace kb::handlers {

using protocol::ErrorCode;
using protocol::InitProducerIdRequest;
using protocol::InitProducerIdResponse;
using protocol::to_wire;

namespace {

InitProducerIdResponse refusal(ErrorCode error) {
  InitProducerIdResponse response;
  response.error_code = to_wire(error);
  response.producer_id = storage::kNoProducerId;
  response.producer_epoch = storage::kNoProducerEpoch;
  return response;
}

}  // namespace

std::optional<InitProducerIdResponse> handle_init_producer_id(RequestContext& ctx,
                                                              const InitProducerIdRequest& request,
                                                              int16_t /*version*/) {
  const bool no_id = request.producer_id == storage::kNoProducerId;
  const bool no_epoch = request.producer_epoch == storage::kNoProducerEpoch;
  // WRITE on the transactional id; an idempotent producer needs
  // IDEMPOTENT_WRITE on the cluster or WRITE on some topic.
  if (request.transactional_id &&
      !ctx.authorized(security::AclOperation::kWrite, security::ResourceType::kTransactionalId,
                      *request.transactional_id))
    return refusal(ErrorCode::kTransactionalIdAuthorizationFailed);
  if (!request.transactional_id &&
      !ctx.authorized_cluster(security::AclOperation::kIdempotentWrite) &&
      !ctx.authorized_any(security::AclOperation::kWrite, security::ResourceType::kTopic))
    return refusal(ErrorCode::kClusterAuthorizationFailed);
  if (no_id != no_epoch) return refusal(ErrorCode::kInvalidRequest);
  if (request.transactional_id) {
    if (request.transactional_id->empty()) return refusal(ErrorCode::kInvalidRequest);
    if (!ctx.transactions) return refusal(ErrorCode::kCoordinatorNotAvailable);
    std::optional<txn::ProducerIdAndEpoch> expected;
    if (!no_id) expected = txn::ProducerIdAndEpoch{request.producer_id, request.producer_epoch};
    const txn::InitResult init = ctx.transactions->init_producer_id(
        *request.transactional_id, request.transaction_timeout_ms, expected, txn_time());
    if (init.error != 0) return refusal(static_cast<ErrorCode>(init.error));
    InitProducerIdResponse response;
    response.producer_id = init.producer_id;
    response.producer_epoch = init.producer_epoch;
    wait_for_metadata(ctx);  // a new id block's ProducerIdsRecord, __transaction_state
    return response;
  }
  auto id = cluster::allocate_producer_id(ctx.state);
  if (!id) {
    spdlog::error("InitProducerId: {}", id.error().message);
    return refusal(ErrorCode::kUnknownServerError);
  }
  InitProducerIdResponse response;
  response.producer_id = *id;
  response.producer_epoch = 0;
  wait_for_metadata(ctx);  // the block's ProducerIdsRecord
  return response;
}

ApiEntry init_producer_id_entry() {
  return make_entry<InitProducerIdRequest, InitProducerIdResponse, &handle_init_producer_id>(
      "InitProducerId", InitProducerIdRequest::kVersions);
}

}  // namespace kb::handlers
