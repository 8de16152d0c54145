#pragma once

#include "kb/handlers/api_registry.hpp"
#include "kb/protocol/messages/share_acknowledge.hpp"
#include "kb/protocol/messages/share_fetch.hpp"
#include "kb/protocol/messages/share_group_offsets.hpp"
#include "kb/share/share_state.hpp"
#include "kb/storage/partition_log.hpp"

namespace kb::handlers {

// Share groups' data side (KIP-932): ShareFetch and ShareAcknowledge at the
// versions of Kafka 4.4 (1-2; 0 was early access and is not served by it).
inline constexpr protocol::VersionRange kShareFetchServed{1, 2};
inline constexpr protocol::VersionRange kShareAcknowledgeServed{1, 2};

std::optional<protocol::ShareFetchResponse> handle_share_fetch(
    RequestContext& ctx, const protocol::ShareFetchRequest& request, int16_t version);
std::optional<protocol::ShareAcknowledgeResponse> handle_share_acknowledge(
    RequestContext& ctx, const protocol::ShareAcknowledgeRequest& request, int16_t version);

// Where a share-partition may start in the log (null: an empty log), for
// the group's share.auto.offset.reset.
share::LogBounds share_log_bounds(storage::PartitionLog* log);

ApiEntry share_fetch_entry();
ApiEntry share_acknowledge_entry();

// The share groups' offsets (start offsets) for the admin client, Kafka 4.4's
// versions.
inline constexpr protocol::VersionRange kDescribeShareGroupOffsetsServed{0, 1};
inline constexpr protocol::VersionRange kAlterShareGroupOffsetsServed{0, 0};
inline constexpr protocol::VersionRange kDeleteShareGroupOffsetsServed{0, 0};

ApiEntry describe_share_group_offsets_entry();
ApiEntry alter_share_group_offsets_entry();
ApiEntry delete_share_group_offsets_entry();

}  // namespace kb::handlers
