#pragma once

// What clients and Kafka's tools ask of the partition logs besides reading and
// writing: OffsetForLeaderEpoch (23), DeleteRecords (21), DescribeLogDirs (35)
// and DescribeProducers (61).

#include "kb/handlers/api_registry.hpp"
#include "kb/protocol/messages/delete_records.hpp"
#include "kb/protocol/messages/describe_log_dirs.hpp"
#include "kb/protocol/messages/describe_producers.hpp"
#include "kb/protocol/messages/offset_for_leader_epoch.hpp"

namespace kb::handlers {

// The end offset of the requested leader epoch, from the epochs the
// partition's batches carry and the partition's current leader epoch, as
// Kafka's leader epoch cache answers; a current_leader_epoch below the
// partition's is FENCED_LEADER_EPOCH, above it UNKNOWN_LEADER_EPOCH.
std::optional<protocol::OffsetForLeaderEpochResponse> handle_offset_for_leader_epoch(
    RequestContext& ctx, const protocol::OffsetForLeaderEpochRequest& request, int16_t version);
ApiEntry offset_for_leader_epoch_entry();

// Moves each partition's log start offset (-1: to the high watermark), which
// deletes the segments wholly below it; OFFSET_OUT_OF_RANGE past the high
// watermark, POLICY_VIOLATION where cleanup.policy lacks delete.
std::optional<protocol::DeleteRecordsResponse> handle_delete_records(
    RequestContext& ctx, const protocol::DeleteRecordsRequest& request, int16_t version);
ApiEntry delete_records_entry();

// The one log directory: its partitions (all, or those asked for) with their
// sizes, and the file system's total and usable bytes.
std::optional<protocol::DescribeLogDirsResponse> handle_describe_log_dirs(
    RequestContext& ctx, const protocol::DescribeLogDirsRequest& request, int16_t version);
ApiEntry describe_log_dirs_entry();

// The idempotent producers each partition's producer state knows.
std::optional<protocol::DescribeProducersResponse> handle_describe_producers(
    RequestContext& ctx, const protocol::DescribeProducersRequest& request, int16_t version);
ApiEntry describe_producers_entry();

}  // namespace kb::handlers
