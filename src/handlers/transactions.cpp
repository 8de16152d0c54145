#include "kb/handlers/transactions.hpp"

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "kb/group/records.hpp"
#include "kb/group/topic_regex.hpp"
#include "kb/handlers/groups.hpp"
#include "kb/protocol/error_code.hpp"

namespace kb::handlers {

using protocol::AddOffsetsToTxnRequest;
using protocol::AddOffsetsToTxnResponse;
using protocol::AddPartitionsToTxnRequest;
using protocol::AddPartitionsToTxnResponse;
using protocol::EndTxnRequest;
using protocol::EndTxnResponse;
using protocol::ErrorCode;
using protocol::to_wire;
using protocol::TxnOffsetCommitRequest;
using protocol::TxnOffsetCommitResponse;

int64_t txn_time() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {

using TopicResult = AddPartitionsToTxnResponse::AddPartitionsToTxnTopicResult;
using Topics = std::vector<AddPartitionsToTxnRequest::AddPartitionsToTxnTopic>;

// One transaction's partitions added (or, verify_only, checked), as Kafka's
// handleAddPartitionsToTxnRequest: a partition of an unknown topic fails the
// whole request, named UNKNOWN_TOPIC_OR_PARTITION, the others
// OPERATION_NOT_ATTEMPTED.
std::vector<TopicResult> add_partitions(RequestContext& ctx, std::string_view transactional_id,
                                        int64_t producer_id, int16_t producer_epoch,
                                        bool verify_only, const Topics& topics,
                                        int16_t client_transaction_version) {
  std::vector<txn::TopicPartition> partitions;
  std::vector<TopicResult> results;
  bool unknown = false;
  // A client (v3 and below) needs WRITE on the transactional id, then on
  // each topic; a broker's verification (v4+) was checked as a whole.
  const bool client = client_transaction_version == 0;
  const bool id_denied =
      client && !ctx.authorized(security::AclOperation::kWrite,
                                security::ResourceType::kTransactionalId, transactional_id);
  for (const auto& t : topics) {
    const cluster::TopicInfo* topic = ctx.state.topics.find(t.name);
    auto& result = results.emplace_back();
    result.name = std::string(t.name);
    const bool topic_denied =
        client && !(topic != nullptr && topic->is_internal()) &&
        !ctx.authorized(security::AclOperation::kWrite, security::ResourceType::kTopic, t.name);
    for (int32_t p : t.partitions) {
      auto& r = result.results_by_partition.emplace_back();
      r.partition_index = p;
      if (id_denied) {
        r.partition_error_code = to_wire(ErrorCode::kTransactionalIdAuthorizationFailed);
      } else if (topic_denied) {
        r.partition_error_code = to_wire(ErrorCode::kTopicAuthorizationFailed);
        unknown = true;
      } else if (!topic || !topic->partition(p)) {
        r.partition_error_code = to_wire(ErrorCode::kUnknownTopicOrPartition);
        unknown = true;
      }
      partitions.push_back({std::string(t.name), p});
    }
  }
  if (id_denied) return results;
  auto set_all = [&](auto error_of) {
    size_t i = 0;
    for (auto& result : results)
      for (auto& r : result.results_by_partition) r.partition_error_code = error_of(r, i++);
  };
  if (unknown) {
    set_all([](const auto& r, size_t) {
      return r.partition_error_code != 0 ? r.partition_error_code
                                         : to_wire(ErrorCode::kOperationNotAttempted);
    });
    return results;
  }
  if (!ctx.transactions) {
    set_all([](const auto&, size_t) { return to_wire(ErrorCode::kCoordinatorNotAvailable); });
    return results;
  }
  if (verify_only) {
    const std::vector<int16_t> errors = ctx.transactions->verify_partitions(
        transactional_id, producer_id, producer_epoch, partitions);
    set_all([&](const auto&, size_t i) { return errors[i]; });
    return results;
  }
  const int16_t error =
      ctx.transactions->add_partitions(transactional_id, producer_id, producer_epoch, partitions,
                                       txn_time(), client_transaction_version);
  set_all([&](const auto&, size_t) { return error; });
  return results;
}

std::optional<AddPartitionsToTxnResponse> handle_add_partitions_to_txn(
    RequestContext& ctx, const AddPartitionsToTxnRequest& request, int16_t version) {
  AddPartitionsToTxnResponse response;
  // A broker's verification (v4+) needs CLUSTER_ACTION.
  if (version >= 4 && !ctx.authorized_cluster(security::AclOperation::kClusterAction)) {
    response.error_code = to_wire(ErrorCode::kClusterAuthorizationFailed);
    return response;
  }
  if (version < 4) {
    response.results_by_topic_v3_and_below =
        add_partitions(ctx, request.v3_and_below_transactional_id, request.v3_and_below_producer_id,
                       request.v3_and_below_producer_epoch, false, request.v3_and_below_topics, 0);
  } else {
    for (const auto& t : request.transactions) {
      auto& result = response.results_by_transaction.emplace_back();
      result.transactional_id = std::string(t.transactional_id);
      // The broker form (v4+) adding partitions is transactions v2 (a
      // leader adding for a produce of v12+).
      result.topic_results =
          add_partitions(ctx, t.transactional_id, t.producer_id, t.producer_epoch, t.verify_only,
                         t.topics, txn::kTransactionsV2);
    }
  }
  wait_for_metadata(ctx);  // __transaction_state may have been created just now
  return response;
}

std::optional<AddOffsetsToTxnResponse> handle_add_offsets_to_txn(
    RequestContext& ctx, const AddOffsetsToTxnRequest& request, int16_t /*version*/) {
  AddOffsetsToTxnResponse response;
  if (!ctx.authorized(security::AclOperation::kWrite, security::ResourceType::kTransactionalId,
                      request.transactional_id)) {
    response.error_code = to_wire(ErrorCode::kTransactionalIdAuthorizationFailed);
    return response;
  }
  if (!ctx.authorized(security::AclOperation::kRead, security::ResourceType::kGroup,
                      request.group_id)) {
    response.error_code = to_wire(ErrorCode::kGroupAuthorizationFailed);
    return response;
  }
  if (!ctx.transactions || !ctx.groups || !ctx.groups->ready()) {
    response.error_code = to_wire(ErrorCode::kCoordinatorNotAvailable);
    return response;
  }
  if (request.group_id.empty()) {
    response.error_code = to_wire(ErrorCode::kInvalidGroupId);
    return response;
  }
  // The group's __consumer_offsets partition joins the transaction: its
  // marker makes the offsets committed in it visible.
  const std::vector<txn::TopicPartition> partition = {
      {std::string(group::kOffsetsTopic), ctx.groups->partition_for(request.group_id)}};
  response.error_code = ctx.transactions->add_partitions(
      request.transactional_id, request.producer_id, request.producer_epoch, partition, txn_time());
  wait_for_metadata(ctx);
  return response;
}

std::optional<EndTxnResponse> handle_end_txn(RequestContext& ctx, const EndTxnRequest& request,
                                             int16_t version) {
  EndTxnResponse response;
  if (!ctx.authorized(security::AclOperation::kWrite, security::ResourceType::kTransactionalId,
                      request.transactional_id)) {
    response.error_code = to_wire(ErrorCode::kTransactionalIdAuthorizationFailed);
    return response;
  }
  if (!ctx.transactions) {
    response.error_code = to_wire(ErrorCode::kCoordinatorNotAvailable);
    return response;
  }
  // Version 5 is transactions v2 (KIP-890): the epoch is bumped at every end.
  const txn::InitResult ended = ctx.transactions->end_txn(
      request.transactional_id, request.producer_id, request.producer_epoch, request.committed,
      txn_time(), version >= 5 ? txn::kTransactionsV2 : int16_t{0});
  response.error_code = ended.error;
  response.producer_id = ended.producer_id;
  response.producer_epoch = ended.producer_epoch;
  return response;
}

// The transaction check of a TxnOffsetCommit, as Kafka's verification
// answers it to clients before transactions v2.
int16_t verification_error(int16_t error) {
  if (error == to_wire(ErrorCode::kProducerFenced))
    return to_wire(ErrorCode::kInvalidProducerEpoch);
  if (error == to_wire(ErrorCode::kTransactionAbortable))
    return to_wire(ErrorCode::kInvalidTxnState);
  return error;
}

// The implicit add of TxnOffsetCommit 5+, as Kafka's group coordinator
// answers it: a fenced epoch as INVALID_PRODUCER_EPOCH, then its runtime's
// mapping of errors the group client knows.
int16_t implicit_add_error(int16_t error) {
  switch (static_cast<ErrorCode>(error)) {
    case ErrorCode::kProducerFenced:
      return to_wire(ErrorCode::kInvalidProducerEpoch);
    case ErrorCode::kNetworkException:
      return to_wire(ErrorCode::kCoordinatorLoadInProgress);
    case ErrorCode::kNotEnoughReplicas:
    case ErrorCode::kUnknownTopicOrPartition:
    case ErrorCode::kRequestTimedOut:
      return to_wire(ErrorCode::kCoordinatorNotAvailable);
    case ErrorCode::kNotLeaderOrFollower:
      return to_wire(ErrorCode::kNotCoordinator);
    default:
      return error;
  }
}

std::optional<TxnOffsetCommitResponse> handle_txn_offset_commit(
    RequestContext& ctx, const TxnOffsetCommitRequest& request, int16_t version) {
  TxnOffsetCommitResponse response;
  std::vector<group::CommitPartition> partitions;
  std::vector<int16_t*> slots;
  // WRITE on the transactional id, READ on the group: denied, every
  // partition says so; then READ on each topic. v6 names topics by id
  // (KIP-1319).
  int16_t denied = 0;
  if (!ctx.authorized(security::AclOperation::kWrite, security::ResourceType::kTransactionalId,
                      request.transactional_id))
    denied = to_wire(ErrorCode::kTransactionalIdAuthorizationFailed);
  else if (!ctx.authorized(security::AclOperation::kRead, security::ResourceType::kGroup,
                           request.group_id))
    denied = to_wire(ErrorCode::kGroupAuthorizationFailed);
  sort_commit_partitions(ctx.state.topics, request.topics, response.topics, partitions, slots,
                         version >= 6, denied == 0 ? &ctx : nullptr);
  if (denied != 0) {
    for (auto& t : response.topics)
      for (auto& p : t.partitions) p.error_code = denied;
    return response;
  }
  int16_t group_error = 0;
  std::vector<int16_t> errors;
  if (!ctx.groups || !ctx.transactions || !ctx.txn_offsets || !ctx.groups->ready()) {
    group_error = to_wire(ErrorCode::kCoordinatorNotAvailable);
  } else if (request.group_id.empty()) {
    group_error = to_wire(ErrorCode::kInvalidGroupId);
  } else {
    // The group's partition must be in the producer's ongoing transaction:
    // added before by AddOffsetsToTxn (verified, as Kafka 3.6+ does), or from
    // version 5 (transactions v2) added here.
    const std::vector<txn::TopicPartition> offsets_partition = {
        {std::string(group::kOffsetsTopic), ctx.groups->partition_for(request.group_id)}};
    if (version >= 5)
      group_error = implicit_add_error(ctx.transactions->add_partitions(
          request.transactional_id, request.producer_id, request.producer_epoch, offsets_partition,
          txn_time(), txn::kTransactionsV2));
    else
      group_error =
          verification_error(ctx.transactions
                                 ->verify_partitions(request.transactional_id, request.producer_id,
                                                     request.producer_epoch, offsets_partition)
                                 .front());
    if (group_error == 0) {
      group::TxnCommitParams params;
      params.group.group_id = request.group_id;
      params.group.generation = version >= 3 ? request.generation_id : -1;
      params.group.member_id = request.member_id;
      params.group.instance_id = request.group_instance_id;
      params.producer_id = request.producer_id;
      params.producer_epoch = request.producer_epoch;
      group_error = ctx.txn_offsets->commit(params, partitions, errors, group_time(ctx.now));
    }
  }
  for (size_t i = 0; i < slots.size(); ++i) *slots[i] = group_error != 0 ? group_error : errors[i];
  return response;
}

std::optional<protocol::ListTransactionsResponse> handle_list_transactions(
    RequestContext& ctx, const protocol::ListTransactionsRequest& request, int16_t /*version*/) {
  protocol::ListTransactionsResponse response;
  if (!ctx.transactions) {
    response.error_code = to_wire(ErrorCode::kCoordinatorNotAvailable);
    return response;
  }
  // As Kafka's listTransactionStates: names it does not know are reported
  // (and match nothing); the filters given all apply.
  std::set<txn::TxnState> states;
  for (std::string_view name : request.state_filters) {
    if (auto state = txn::parse_txn_state(name))
      states.insert(*state);
    else
      response.unknown_state_filters.emplace_back(name);
  }
  const std::set<int64_t> producers(request.producer_id_filters.begin(),
                                    request.producer_id_filters.end());
  // v2 (KIP-1152): the transactional ids matching a pattern (RE2J's syntax,
  // the whole id); one RE2J refuses fails the request with
  // INVALID_REGULAR_EXPRESSION and nothing else, as Kafka answers it.
  std::optional<group::TopicRegex> pattern;
  if (request.transactional_id_pattern && !request.transactional_id_pattern->empty()) {
    pattern = group::TopicRegex::compile(*request.transactional_id_pattern);
    if (!pattern) {
      protocol::ListTransactionsResponse refused;
      refused.error_code = to_wire(ErrorCode::kInvalidRegularExpression);
      return refused;
    }
  }
  const int64_t now = txn_time();
  for (const auto& [id, txn] : ctx.transactions->transactions()) {
    if (!request.state_filters.empty() && !states.contains(txn.state)) continue;
    if (!producers.empty() && !producers.contains(txn.producer_id)) continue;
    if (request.duration_filter >= 0 && now - txn.start_ms < request.duration_filter) continue;
    if (pattern && !pattern->matches(id)) continue;
    // Only the transactional ids the principal may describe are listed.
    if (!ctx.authorized(security::AclOperation::kDescribe, security::ResourceType::kTransactionalId,
                        id))
      continue;
    response.transaction_states.push_back(
        {id, txn.producer_id, std::string(txn::to_string(txn.state))});
  }
  return response;
}

std::optional<protocol::DescribeTransactionsResponse> handle_describe_transactions(
    RequestContext& ctx, const protocol::DescribeTransactionsRequest& request,
    int16_t /*version*/) {
  protocol::DescribeTransactionsResponse response;
  for (std::string_view id : request.transactional_ids) {
    auto& out = response.transaction_states.emplace_back();
    out.transactional_id = std::string(id);
    const txn::TxnMetadata* txn = ctx.transactions ? ctx.transactions->find(id) : nullptr;
    if (!ctx.authorized(security::AclOperation::kDescribe, security::ResourceType::kTransactionalId,
                        id)) {
      out.error_code = to_wire(ErrorCode::kTransactionalIdAuthorizationFailed);
    } else if (!ctx.transactions) {
      out.error_code = to_wire(ErrorCode::kCoordinatorNotAvailable);
    } else if (id.empty()) {
      out.error_code = to_wire(ErrorCode::kInvalidRequest);
    } else if (!txn || txn->state == txn::TxnState::kDead) {
      out.error_code = to_wire(ErrorCode::kTransactionalIdNotFound);
    } else {
      out.transaction_state = std::string(txn::to_string(txn->state));
      out.transaction_timeout_ms = txn->timeout_ms;
      out.transaction_start_time_ms = txn->start_ms;
      out.producer_id = txn->producer_id;
      out.producer_epoch = txn->producer_epoch;
      for (const auto& tp : txn->partitions) {
        // Partitions of topics the principal may not describe are left out.
        if (!ctx.authorized(security::AclOperation::kDescribe, security::ResourceType::kTopic,
                            tp.topic))
          continue;
        if (out.topics.empty() || out.topics.back().topic != tp.topic)
          out.topics.push_back({tp.topic, {}});
        out.topics.back().partitions.push_back(tp.partition);
      }
    }
  }
  return response;
}

}  // namespace

ApiEntry list_transactions_entry() {
  return make_entry<protocol::ListTransactionsRequest, protocol::ListTransactionsResponse,
                    &handle_list_transactions>("ListTransactions",
                                               protocol::ListTransactionsRequest::kVersions);
}
ApiEntry describe_transactions_entry() {
  return make_entry<protocol::DescribeTransactionsRequest, protocol::DescribeTransactionsResponse,
                    &handle_describe_transactions>(
      "DescribeTransactions", protocol::DescribeTransactionsRequest::kVersions);
}

ApiEntry add_partitions_to_txn_entry() {
  return make_entry<AddPartitionsToTxnRequest, AddPartitionsToTxnResponse,
                    &handle_add_partitions_to_txn>("AddPartitionsToTxn",
                                                   AddPartitionsToTxnRequest::kVersions);
}
ApiEntry add_offsets_to_txn_entry() {
  return make_entry<AddOffsetsToTxnRequest, AddOffsetsToTxnResponse, &handle_add_offsets_to_txn>(
      "AddOffsetsToTxn", AddOffsetsToTxnRequest::kVersions);
}
// Version 5 of both is transactions v2 (KIP-890), advertised whatever
// transaction.version is finalized, as Kafka does: the request's version
// alone decides.
ApiEntry end_txn_entry() {
  return make_entry<EndTxnRequest, EndTxnResponse, &handle_end_txn>("EndTxn",
                                                                    EndTxnRequest::kVersions);
}
ApiEntry txn_offset_commit_entry() {
  return make_entry<TxnOffsetCommitRequest, TxnOffsetCommitResponse, &handle_txn_offset_commit>(
      "TxnOffsetCommit", TxnOffsetCommitRequest::kVersions);
}

}  // namespace kb::handlers
