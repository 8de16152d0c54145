#include "kb/handlers/init_producer_id.hpp"

#include <spdlog/spdlog.h>

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
  if (no_id != no_epoch) return refusal(ErrorCode::kInvalidRequest);
  if (request.transactional_id) {
    if (request.transactional_id->empty()) return refusal(ErrorCode::kInvalidRequest);
    spdlog::debug(
        "InitProducerId from client '{}' with transactional id '{}' refused: "
        "transactions are not supported",
        ctx.header.client_id.value_or(""), *request.transactional_id);
    return refusal(ErrorCode::kTransactionalIdAuthorizationFailed);
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
