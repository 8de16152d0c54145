#include "kb/handlers/api_versions.hpp"

#include "kb/cluster/features.hpp"
#include "kb/protocol/error_code.hpp"
#include "kb/storage/partition_log.hpp"

namespace kb::handlers {

using protocol::ApiVersionsRequest;
using protocol::ApiVersionsResponse;

std::optional<ApiVersionsResponse> handle_api_versions(RequestContext& ctx,
                                                       const ApiVersionsRequest& request,
                                                       int16_t version) {
  ApiVersionsResponse response;
  // v5 (KIP-1242): a client that names the cluster (and node) it means to
  // reach, reaching another, is told to bootstrap again, with nothing else
  // in the answer, as Kafka's broker does; the node is checked only when the
  // cluster matches.
  if (version >= 5 && request.cluster_id &&
      (*request.cluster_id != ctx.state.cluster_id || request.node_id != ctx.state.node_id)) {
    // REBOOTSTRAP_REQUIRED (KIP-1102): only ApiVersions answers it here.
    response.error_code = protocol::to_wire(protocol::ErrorCode::kRebootstrapRequired);
    return response;
  }
  response.api_keys.reserve(ctx.registry.entries().size());
  for (const ApiEntry& e : ctx.registry.entries())
    response.api_keys.push_back({static_cast<int16_t>(e.key), e.versions.min, e.versions.max});
  // Features as Kafka's ApiVersionsResponse lists them: below v4, none whose
  // minimum level is 0 (older clients cannot read it, KAFKA-17492); finalized
  // levels of 0 are left out; the epoch is the last metadata offset applied
  // (-1: none yet).
  for (const cluster::SupportedFeature& f : cluster::kSupportedFeatures) {
    if (version < 4 && f.min_level == 0) continue;
    response.supported_features.push_back({std::string(f.name), f.min_level, f.max_level});
  }
  // metadata.version is always finalized (Kafka's KRaft brokers put it in):
  // before the metadata log has records, at the level it will be written at,
  // and group.version and transaction.version with it.
  if (!ctx.state.features.contains("metadata.version")) {
    response.finalized_features.push_back({"metadata.version", cluster::kBootstrapMetadataVersion,
                                           cluster::kBootstrapMetadataVersion});
    response.finalized_features.push_back(
        {"group.version", cluster::kBootstrapGroupVersion, cluster::kBootstrapGroupVersion});
    response.finalized_features.push_back({"transaction.version",
                                           cluster::kBootstrapTransactionVersion,
                                           cluster::kBootstrapTransactionVersion});
    if (cluster::kBootstrapShareVersion > 0)
      response.finalized_features.push_back(
          {"share.version", cluster::kBootstrapShareVersion, cluster::kBootstrapShareVersion});
  }
  // A level this broker does not serve is announced at the highest it does:
  // clients switch behaviour on finalized levels (a Java producer uses
  // KIP-890's transactions once transaction.version reaches 2), and a
  // directory Kafka wrote may carry levels beyond this broker's.
  for (const auto& [name, level] : ctx.state.features) {
    const int16_t served = cluster::served_level(name, level);
    if (served != 0) response.finalized_features.push_back({name, served, served});
  }
  if (ctx.state.metadata_log && ctx.state.metadata_log->log_end_offset() > 0)
    response.finalized_features_epoch = ctx.state.metadata_log->log_end_offset() - 1;
  return response;
}

void write_api_versions_unsupported(const ApiRegistry& registry, wire::Writer& out) {
  ApiVersionsResponse response;
  response.error_code = protocol::to_wire(protocol::ErrorCode::kUnsupportedVersion);
  if (const ApiEntry* self = registry.find(static_cast<int16_t>(protocol::ApiKey::kApiVersions)))
    response.api_keys.push_back(
        {static_cast<int16_t>(self->key), self->versions.min, self->versions.max});
  wire::encode(out, response, 0, false);
}

ApiEntry api_versions_entry() {
  return make_entry<ApiVersionsRequest, ApiVersionsResponse, &handle_api_versions>(
      "ApiVersions", ApiVersionsRequest::kVersions);
}

}  // namespace kb::handlers
