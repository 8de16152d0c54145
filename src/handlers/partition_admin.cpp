#include "kb/handlers/partition_admin.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>
#include <string>
#include <unordered_set>
#include <vector>

#include "kb/protocol/error_code.hpp"

namespace kb::handlers {

using protocol::AlterPartitionReassignmentsRequest;
using protocol::AlterPartitionReassignmentsResponse;
using protocol::ElectLeadersRequest;
using protocol::ElectLeadersResponse;
using protocol::ErrorCode;
using protocol::ListPartitionReassignmentsRequest;
using protocol::ListPartitionReassignmentsResponse;
using protocol::to_wire;

namespace {

constexpr int8_t kPreferredElection = 0;
constexpr int8_t kUncleanElection = 1;

// Kafka's default messages (Errors.message()).
constexpr const char* kElectionNotNeededMessage = "Leader election not needed for topic partition.";
constexpr const char* kNoReassignmentMessage = "No partition reassignment is in progress.";

struct Outcome {
  ErrorCode error = ErrorCode::kNone;
  std::optional<std::string> message;
};

// Kafka's ReplicationControlManager.electLeader. A partition led by its
// preferred replica (preferred election) or by anyone (unclean) needs none;
// otherwise the election would need a replica this node is not, so no
// leader is available.
Outcome elect(const cluster::BrokerState& state, std::string_view topic_name, int32_t index,
              int8_t type) {
  const cluster::TopicInfo* topic = state.topics.find(topic_name);
  if (topic == nullptr)
    return {ErrorCode::kUnknownTopicOrPartition, "No such topic as " + std::string(topic_name)};
  const cluster::PartitionInfo* p = topic->partition(index);
  if (p == nullptr)
    return {ErrorCode::kUnknownTopicOrPartition,
            "No such partition as " + std::string(topic_name) + "-" + std::to_string(index)};
  const int32_t preferred = p->replicas.empty() ? -1 : p->replicas.front();
  if (type == kPreferredElection) {
    if (p->leader == preferred) return {ErrorCode::kElectionNotNeeded, kElectionNotNeededMessage};
    return {ErrorCode::kPreferredLeaderNotAvailable, "The preferred leader was not available."};
  }
  if (p->leader >= 0) return {ErrorCode::kElectionNotNeeded, kElectionNotNeededMessage};
  return {ErrorCode::kEligibleLeadersNotAvailable,
          "Eligible topic partition leaders are not available."};
}

bool reassigning(const cluster::PartitionInfo& p) {
  return !p.adding_replicas.empty() || !p.removing_replicas.empty();
}

// Kafka's alterPartitionReassignment and validateManualPartitionAssignment:
// the only broker registered is this one, so the only valid target is this
// node alone, and it is already where the partition is.
// v1's allow_replication_factor_change false: once the target is valid, it
// must keep the partition's replication factor (while a reassignment is in
// progress, its replicas and those being added less those being removed).
Outcome reassign(const cluster::BrokerState& state, std::string_view topic_name,
                 const AlterPartitionReassignmentsRequest::ReassignablePartition& target,
                 bool allow_replication_factor_change) {
  const cluster::TopicInfo* topic = state.topics.find(topic_name);
  if (topic == nullptr)
    return {ErrorCode::kUnknownTopicOrPartition,
            "Unable to find a topic named " + std::string(topic_name) + "."};
  const cluster::PartitionInfo* p = topic->partition(target.partition_index);
  if (p == nullptr)
    return {ErrorCode::kUnknownTopicOrPartition, "Unable to find partition " +
                                                     std::string(topic_name) + ":" +
                                                     std::to_string(target.partition_index) + "."};
  if (!target.replicas) {
    if (!reassigning(*p)) return {ErrorCode::kNoReassignmentInProgress, kNoReassignmentMessage};
    return {ErrorCode::kInvalidReplicaAssignment, "Unable to revert partition assignment for " +
                                                      std::string(topic_name) + ":" +
                                                      std::to_string(target.partition_index) +
                                                      ": this single-node broker moves no "
                                                      "replicas."};
  }
  if (target.replicas->empty())
    return {ErrorCode::kInvalidReplicaAssignment,
            "The manual partition assignment includes an empty replica list."};
  std::vector<int32_t> sorted = *target.replicas;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (sorted[i] != state.node_id)
      return {ErrorCode::kInvalidReplicaAssignment,
              "The manual partition assignment includes broker " + std::to_string(sorted[i]) +
                  ", but no such broker is registered."};
    if (i > 0 && sorted[i] == sorted[i - 1])
      return {ErrorCode::kInvalidReplicaAssignment,
              "The manual partition assignment includes the broker " + std::to_string(sorted[i]) +
                  " more than once."};
  }
  if (!allow_replication_factor_change) {
    std::set<int32_t> current(p->replicas.begin(), p->replicas.end());
    if (reassigning(*p)) {
      current.insert(p->adding_replicas.begin(), p->adding_replicas.end());
      for (int32_t r : p->removing_replicas) current.erase(r);
    }
    if (current.size() != target.replicas->size())
      return {ErrorCode::kInvalidReplicationFactor, "The replication factor is changed from " +
                                                        std::to_string(current.size()) + " to " +
                                                        std::to_string(target.replicas->size())};
  }
  // The target is this node alone: done when the partition is already there.
  if (p->replicas == *target.replicas && !reassigning(*p)) return {};
  return {ErrorCode::kInvalidReplicaAssignment,
          "Partition " + std::string(topic_name) + ":" + std::to_string(target.partition_index) +
              " has replicas on other brokers: this single-node broker moves no replicas."};
}

void list_reassigning(const cluster::TopicInfo& topic, const std::vector<int32_t>* only,
                      ListPartitionReassignmentsResponse& response) {
  ListPartitionReassignmentsResponse::OngoingTopicReassignment t;
  t.name = topic.name;
  // A set: the partitions asked for are looked up, never scanned per partition.
  const std::unordered_set<int32_t> wanted =
      only ? std::unordered_set<int32_t>(only->begin(), only->end())
           : std::unordered_set<int32_t>{};
  for (const auto& p : topic.partitions) {
    if (!reassigning(p)) continue;
    if (only && !wanted.contains(p.partition_index)) continue;
    t.partitions.push_back({p.partition_index, p.replicas, p.adding_replicas, p.removing_replicas});
  }
  if (!t.partitions.empty()) response.topics.push_back(std::move(t));
}

}  // namespace

std::optional<ElectLeadersResponse> handle_elect_leaders(RequestContext& ctx,
                                                         const ElectLeadersRequest& request,
                                                         int16_t /*version*/) {
  ElectLeadersResponse response;
  if (!ctx.authorized_cluster(security::AclOperation::kAlter)) {
    response.error_code = to_wire(ErrorCode::kClusterAuthorizationFailed);
    return response;
  }
  if (request.election_type != kPreferredElection && request.election_type != kUncleanElection) {
    // Kafka's controller refuses the whole request (ElectLeadersRequest.getErrorResponse).
    response.error_code = to_wire(ErrorCode::kInvalidRequest);
    const std::string message =
        "Unknown election type " + std::to_string(static_cast<int>(request.election_type));
    if (request.topic_partitions)
      for (const auto& t : *request.topic_partitions) {
        auto& out = response.replica_election_results.emplace_back();
        out.topic = std::string(t.topic);
        for (int32_t index : t.partitions)
          out.partition_result.push_back({index, response.error_code, message});
      }
    return response;
  }
  if (!request.topic_partitions) {
    // Every partition; those already led as wanted are left out, as Kafka's
    // controller does.
    for (const auto& [name, topic] : ctx.state.topics.topics()) {
      auto& out = response.replica_election_results.emplace_back();
      out.topic = name;
      for (const auto& p : topic.partitions) {
        Outcome o = elect(ctx.state, name, p.partition_index, request.election_type);
        if (o.error != ErrorCode::kElectionNotNeeded)
          out.partition_result.push_back({p.partition_index, to_wire(o.error), o.message});
      }
    }
    return response;
  }
  for (const auto& t : *request.topic_partitions) {
    auto& out = response.replica_election_results.emplace_back();
    out.topic = std::string(t.topic);
    for (int32_t index : t.partitions) {
      Outcome o = elect(ctx.state, t.topic, index, request.election_type);
      out.partition_result.push_back({index, to_wire(o.error), o.message});
    }
  }
  return response;
}

std::optional<AlterPartitionReassignmentsResponse> handle_alter_partition_reassignments(
    RequestContext& ctx, const AlterPartitionReassignmentsRequest& request, int16_t /*version*/) {
  AlterPartitionReassignmentsResponse response;
  response.allow_replication_factor_change = request.allow_replication_factor_change;
  if (!ctx.authorized_cluster(security::AclOperation::kAlter)) {
    response.error_code = to_wire(ErrorCode::kClusterAuthorizationFailed);
    return response;
  }
  for (const auto& t : request.topics) {
    auto& out = response.responses.emplace_back();
    out.name = std::string(t.name);
    for (const auto& p : t.partitions) {
      Outcome o = reassign(ctx.state, t.name, p, request.allow_replication_factor_change);
      if (o.error != ErrorCode::kNone)
        spdlog::info("partition reassignment of {}:{} refused: {}", t.name, p.partition_index,
                     o.message.value_or(""));
      out.partitions.push_back({p.partition_index, to_wire(o.error), o.message});
    }
  }
  return response;
}

std::optional<ListPartitionReassignmentsResponse> handle_list_partition_reassignments(
    RequestContext& ctx, const ListPartitionReassignmentsRequest& request, int16_t /*version*/) {
  ListPartitionReassignmentsResponse response;
  if (!ctx.authorized_cluster(security::AclOperation::kDescribe)) {
    response.error_code = to_wire(ErrorCode::kClusterAuthorizationFailed);
    return response;
  }
  if (!request.topics) {
    for (const auto& [name, topic] : ctx.state.topics.topics())
      list_reassigning(topic, nullptr, response);
    return response;
  }
  for (const auto& t : *request.topics)
    if (const cluster::TopicInfo* topic = ctx.state.topics.find(t.name))
      list_reassigning(*topic, &t.partition_indexes, response);
  return response;
}

ApiEntry elect_leaders_entry() {
  return make_entry<ElectLeadersRequest, ElectLeadersResponse, &handle_elect_leaders>(
      "ElectLeaders", ElectLeadersRequest::kVersions);
}

ApiEntry alter_partition_reassignments_entry() {
  return make_entry<AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse,
                    &handle_alter_partition_reassignments>(
      "AlterPartitionReassignments", AlterPartitionReassignmentsRequest::kVersions);
}

ApiEntry list_partition_reassignments_entry() {
  return make_entry<ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse,
                    &handle_list_partition_reassignments>(
      "ListPartitionReassignments", ListPartitionReassignmentsRequest::kVersions);
}

}  // namespace kb::handlers
