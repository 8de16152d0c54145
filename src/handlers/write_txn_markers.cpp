// WriteTxnMarkers: COMMIT or ABORT markers written to the partitions named,
// as Kafka's partition leader writes them for its transaction coordinator.
// Here the coordinator writes its own markers directly (kb/txn/log_markers);
// this API serves Admin.abortTransaction (`kafka-transactions abort`), which
// ends a hanging transaction on one partition. Each marker is checked against
// the partition's producer state first, as Kafka's is before an append
// (version 2 carries the transaction version, KIP-1228: stricter from 2).

#include <limits>

#include <spdlog/spdlog.h>

#include "kb/group/records.hpp"
#include "kb/handlers/transactions.hpp"
#include "kb/protocol/error_code.hpp"
#include "kb/protocol/messages/write_txn_markers.hpp"
#include "kb/txn/log_markers.hpp"

namespace kb::handlers {

using protocol::ErrorCode;
using protocol::WriteTxnMarkersRequest;
using protocol::WriteTxnMarkersResponse;

namespace {

ErrorCode write_marker(RequestContext& ctx, txn::LogMarkerWriter& writer,
                       const WriteTxnMarkersRequest::WritableTxnMarker& marker,
                       const cluster::TopicInfo* topic, int32_t index, int64_t now_ms) {
  if (topic == nullptr || topic->partition(index) == nullptr)
    return ErrorCode::kUnknownTopicOrPartition;
  if (!ctx.state.logs) return ErrorCode::kKafkaStorageError;
  if (topic->name != group::kOffsetsTopic) {
    // A marker older than the producer's epoch, or from a coordinator older
    // than the one that wrote its last marker, is refused.
    auto log = ctx.state.logs->find_or_create(topic->name, index, topic->id);
    auto table = log ? ctx.state.producer_states.find_or_load(topic->id, index, **log, now_ms)
                     : storage::Result<storage::ProducerStateTable*>(log.error());
    if (!table) {
      spdlog::error("transaction marker for {}-{}: {}", topic->name, index, table.error().message);
      return ErrorCode::kKafkaStorageError;
    }
    if (const storage::ProducerEntry* entry = (*table)->find(marker.producer_id)) {
      if (marker.producer_epoch < entry->epoch) return ErrorCode::kInvalidProducerEpoch;
      // Transactions v2 (v2's TransactionVersion 2): a marker carries the
      // epoch after the transaction's, so one at the data's own epoch is
      // stale, unless nothing is open here (a marker resent) or the epoch is
      // the last one.
      if (marker.transaction_version >= txn::kTransactionsV2 &&
          marker.producer_epoch == entry->epoch && entry->current_txn_first_offset >= 0 &&
          marker.producer_epoch != std::numeric_limits<int16_t>::max())
        return ErrorCode::kInvalidProducerEpoch;
      if (entry->coordinator_epoch > marker.coordinator_epoch)
        return ErrorCode::kTransactionCoordinatorFenced;
    }
  }
  const txn::TopicPartition partition{topic->name, index};
  const auto failed =
      writer.write_markers(marker.producer_id, marker.producer_epoch, marker.transaction_result,
                           marker.coordinator_epoch, std::span(&partition, 1));
  return failed.empty() ? ErrorCode::kNone : ErrorCode::kKafkaStorageError;
}

std::optional<WriteTxnMarkersResponse> handle_write_txn_markers(
    RequestContext& ctx, const WriteTxnMarkersRequest& request, int16_t /*version*/) {
  WriteTxnMarkersResponse response;
  txn::LogMarkerWriter writer(ctx.state, ctx.txn_offsets);
  const int64_t now = txn_time();
  // Only brokers write markers: CLUSTER_ACTION, or every partition is refused.
  const bool allowed = ctx.authorized_cluster(security::AclOperation::kClusterAction);
  for (const auto& marker : request.markers) {
    auto& result = response.markers.emplace_back();
    result.producer_id = marker.producer_id;
    for (const auto& t : marker.topics) {
      auto& topic_result = result.topics.emplace_back();
      topic_result.name = std::string(t.name);
      const cluster::TopicInfo* topic = ctx.state.topics.find(t.name);
      for (int32_t index : t.partition_indexes)
        topic_result.partitions.push_back(
            {index, protocol::to_wire(allowed ? write_marker(ctx, writer, marker, topic, index, now)
                                              : protocol::ErrorCode::kClusterAuthorizationFailed)});
    }
  }
  return response;
}

}  // namespace

ApiEntry write_txn_markers_entry() {
  return make_entry<WriteTxnMarkersRequest, WriteTxnMarkersResponse, &handle_write_txn_markers>(
      "WriteTxnMarkers", WriteTxnMarkersRequest::kVersions);
}

}  // namespace kb::handlers
