#pragma once

#include "kb/handlers/api_registry.hpp"
#include "kb/protocol/messages/describe_topic_partitions.hpp"

namespace kb::handlers {

// Partitions per response at most, whatever the request asks (Kafka's
// max.request.partition.size.limit default).
inline constexpr int32_t kMaxDescribePartitions = 2000;

std::optional<protocol::DescribeTopicPartitionsResponse> handle_describe_topic_partitions(
    RequestContext& ctx, const protocol::DescribeTopicPartitionsRequest& request, int16_t version);

ApiEntry describe_topic_partitions_entry();

}  // namespace kb::handlers
