#pragma once

// Kafka's feature flags as this broker knows them: the levels it supports
// (ApiVersions' SupportedFeatures; Admin.describeFeatures and kafka-features
// read them) and the metadata.version it writes into a metadata log it starts.

#include <array>
#include <cstdint>
#include <string_view>

namespace kb::cluster {

// metadata.version written into a metadata log this broker starts (4.0-IV3).
inline constexpr int16_t kBootstrapMetadataVersion = 25;
// group.version written beside it, as Kafka 4.0 formats a new cluster: 1,
// the consumer group protocol of KIP-848.
inline constexpr int16_t kBootstrapGroupVersion = 1;
// transaction.version likewise: Kafka formats at the highest level whose
// bootstrap metadata.version (4.0-IV2 for levels 1 and 2) is reached: 2,
// KIP-890's transactions v2.
inline constexpr int16_t kBootstrapTransactionVersion = 2;
// share.version likewise: 0, as Kafka 4.4 formats a cluster at this
// broker's newest metadata.version (4.0-IV3): its level 1 (share groups,
// KIP-932) bootstraps from metadata.version 4.2-IV0. `kafka-broker format
// --feature share.version=1` turns share groups on, as Kafka's format does.
inline constexpr int16_t kBootstrapShareVersion = 0;

struct SupportedFeature {
  std::string_view name;
  int16_t min_level;
  int16_t max_level;
};

// Kafka 4.x's features, each up to the level whose behaviour is served here.
// metadata.version from 3.3-IV3 (7), the oldest Kafka 4.x reads; group.version
// up to 1 (KIP-848's consumer groups); transaction.version up to 2 (KIP-890's
// transactions v2); share.version up to 1 (KIP-932's share groups); the others
// stay at 0 until what their level 1 switches on exists: streams groups
// (KIP-1071), a dynamic quorum
// (kraft.version) and eligible leader replicas, which a single node has no
// use for.
inline constexpr std::array<SupportedFeature, 7> kSupportedFeatures = {{
    {"metadata.version", 7, kBootstrapMetadataVersion},
    {"kraft.version", 0, 0},
    {"transaction.version", 0, 2},
    {"group.version", 0, 1},
    {"eligible.leader.replicas.version", 0, 0},
    {"share.version", 0, 1},
    {"streams.version", 0, 0},
}};

// The level of feature `name` this broker serves when `finalized` is the
// finalized one: no higher than it implements (an unknown feature as it is).
constexpr int16_t served_level(std::string_view name, int16_t finalized) {
  for (const SupportedFeature& f : kSupportedFeatures)
    if (f.name == name) return finalized > f.max_level ? f.max_level : finalized;
  return finalized;
}

}  // namespace kb::cluster
