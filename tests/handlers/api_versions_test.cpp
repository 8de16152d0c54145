#include "kb/handlers/api_versions.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "kb/cluster/features.hpp"
#include "kb/protocol/header.hpp"
#include "kb/protocol/messages/fetch.hpp"

namespace kb::handlers {
namespace {

TEST(ApiRegistry, FindsRegisteredEntriesOnly) {
  ApiRegistry registry = make_broker_registry();
  EXPECT_NE(registry.find(18), nullptr);
  EXPECT_EQ(registry.find(-1), nullptr);
  EXPECT_EQ(registry.find(127), nullptr);
  EXPECT_EQ(registry.find(32000), nullptr);
}

TEST(ApiRegistry, RejectsDuplicateKeys) {
  ApiRegistry registry;
  registry.add(api_versions_entry());
  EXPECT_THROW(registry.add(api_versions_entry()), std::logic_error);
}

// What is advertised is exactly what the registry dispatches.
TEST(ApiVersionsHandler, ListsEveryRegistryEntryWithItsRange) {
  ApiRegistry registry = make_broker_registry();
  protocol::RequestHeader header{18, 4, 1, "t"};
  cluster::BrokerState state;
  RequestContext ctx{header, registry, state, Clock::now(), Clock::now(), true, {}};
  auto response = *handle_api_versions(ctx, {}, 4);
  EXPECT_EQ(response.error_code, 0);
  ASSERT_EQ(response.api_keys.size(), registry.entries().size());
  std::set<int16_t> keys;
  for (const auto& k : response.api_keys) {
    const ApiEntry* e = registry.find(k.api_key);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(k.min_version, e->versions.min);
    EXPECT_EQ(k.max_version, e->versions.max);
    keys.insert(k.api_key);
  }
  EXPECT_EQ(keys.size(), response.api_keys.size());
}

// Kafka's feature lists: every supported feature from v4 on, only those whose
// minimum level is above 0 before (KAFKA-17492), and finalized levels above 0.
TEST(ApiVersionsHandler, ListsFeaturesAsKafkaDoes) {
  ApiRegistry registry = make_broker_registry();
  protocol::RequestHeader header{18, 4, 1, "t"};
  cluster::BrokerState state;
  state.features["metadata.version"] = 25;
  state.features["group.version"] = 0;
  RequestContext ctx{header, registry, state, Clock::now(), Clock::now(), true, {}};

  auto v4 = *handle_api_versions(ctx, {}, 4);
  std::set<std::string> names;
  for (const auto& f : v4.supported_features) names.insert(f.name);
  EXPECT_EQ(names, (std::set<std::string>{
                       "metadata.version", "kraft.version", "transaction.version", "group.version",
                       "eligible.leader.replicas.version", "share.version", "streams.version"}));
  const auto mv = std::find_if(v4.supported_features.begin(), v4.supported_features.end(),
                               [](const auto& f) { return f.name == "metadata.version"; });
  ASSERT_NE(mv, v4.supported_features.end());
  EXPECT_EQ(mv->min_version, 7);  // 3.3-IV3
  EXPECT_EQ(mv->max_version, 25);
  ASSERT_EQ(v4.finalized_features.size(), 1u);
  EXPECT_EQ(v4.finalized_features[0].name, "metadata.version");
  EXPECT_EQ(v4.finalized_features[0].min_version_level, 25);
  EXPECT_EQ(v4.finalized_features[0].max_version_level, 25);
  EXPECT_EQ(v4.finalized_features_epoch, -1);  // no metadata log here

  // Before the metadata log has a record, metadata.version, group.version
  // and transaction.version are finalized at the levels they will be written
  // at (Kafka 4.4 formats transaction.version 2: transactions v2).
  state.features.clear();
  auto fresh = *handle_api_versions(ctx, {}, 4);
  ASSERT_EQ(fresh.finalized_features.size(), 3u);
  EXPECT_EQ(fresh.finalized_features[0].name, "metadata.version");
  EXPECT_EQ(fresh.finalized_features[0].max_version_level, cluster::kBootstrapMetadataVersion);
  EXPECT_EQ(fresh.finalized_features[1].name, "group.version");
  EXPECT_EQ(fresh.finalized_features[1].max_version_level, 1);
  EXPECT_EQ(fresh.finalized_features[2].name, "transaction.version");
  EXPECT_EQ(fresh.finalized_features[2].max_version_level, 2);
  // Once written: group.version 1 as the log says.
  state.features["metadata.version"] = 25;
  state.features["group.version"] = 1;
  auto written = *handle_api_versions(ctx, {}, 4);
  ASSERT_EQ(written.finalized_features.size(), 2u);
  EXPECT_EQ(written.finalized_features[0].name, "group.version");
  EXPECT_EQ(written.finalized_features[0].min_version_level, 1);

  // Levels a directory of Kafka's finalized beyond what is served here are
  // announced at the served ones (share.version 1, share groups, is served:
  // a level 2 of a newer Kafka is announced at 1); transaction.version 2 is.
  state.features["metadata.version"] = 33;
  state.features["transaction.version"] = 2;
  state.features["share.version"] = 2;
  auto beyond = *handle_api_versions(ctx, {}, 4);
  std::map<std::string, int16_t> announced;
  for (const auto& f : beyond.finalized_features) {
    EXPECT_EQ(f.min_version_level, f.max_version_level) << f.name;
    announced[f.name] = f.max_version_level;
  }
  EXPECT_EQ(announced, (std::map<std::string, int16_t>{{"group.version", 1},
                                                       {"metadata.version", 25},
                                                       {"share.version", 1},
                                                       {"transaction.version", 2}}));
  // A directory at level 1 stays there (transactions v1 for the Java producer).
  state.features["transaction.version"] = 1;
  auto level1 = *handle_api_versions(ctx, {}, 4);
  for (const auto& f : level1.finalized_features) {
    if (f.name == "transaction.version") {
      EXPECT_EQ(f.max_version_level, 1);
    }
  }

  auto v3 = *handle_api_versions(ctx, {}, 3);
  ASSERT_EQ(v3.supported_features.size(), 1u);
  EXPECT_EQ(v3.supported_features[0].name, "metadata.version");
}

// Kafka 4.4 serves Fetch up to v18; @platformatic/kafka and the Java clients
// use the newest version both sides have.
TEST(ApiRegistry, FetchUpToV18AsKafka44) {
  ApiRegistry registry = make_broker_registry();
  const ApiEntry* fetch = registry.find(1);
  ASSERT_NE(fetch, nullptr);
  EXPECT_EQ(fetch->versions.min, 0);
  EXPECT_EQ(fetch->versions.max, protocol::FetchRequest::kVersions.max);
  EXPECT_EQ(fetch->versions.max, 18);
}

TEST(ApiVersionsHandler, UnsupportedAnswerListsOnlyApiVersions) {
  ApiRegistry registry = make_broker_registry();
  ByteBuffer b;
  wire::Writer w(b);
  write_api_versions_unsupported(registry, w);
  const std::vector<uint8_t> expected = {0, 35, 0, 0, 0, 1, 0, 18, 0, 0, 0, 5};
  EXPECT_EQ(std::vector<uint8_t>(b.data(), b.data() + b.size()), expected);
}

// v5 (KIP-1242): the cluster (and then the node) a client names must be
// this one's, or the answer is REBOOTSTRAP_REQUIRED alone; before v5 the
// fields do not exist and nothing is checked.
TEST(ApiVersionsHandler, V5ChecksTheClusterAndNodeTheClientNames) {
  ApiRegistry registry = make_broker_registry();
  protocol::RequestHeader header{18, 5, 1, "t"};
  cluster::BrokerState state;
  state.cluster_id = "this-cluster";
  state.node_id = 3;
  RequestContext ctx{header, registry, state, Clock::now(), Clock::now(), true, {}};
  protocol::ApiVersionsRequest request;
  EXPECT_EQ(handle_api_versions(ctx, request, 5)->error_code, 0);  // neither named
  request.cluster_id = "this-cluster";
  request.node_id = 3;
  EXPECT_EQ(handle_api_versions(ctx, request, 5)->error_code, 0);
  request.node_id = 4;
  auto other_node = *handle_api_versions(ctx, request, 5);
  EXPECT_EQ(other_node.error_code, 129);
  EXPECT_TRUE(other_node.api_keys.empty());
  EXPECT_TRUE(other_node.finalized_features.empty());
  EXPECT_EQ(handle_api_versions(ctx, request, 4)->error_code, 0);
  request.cluster_id = "another";
  request.node_id = 3;
  EXPECT_EQ(handle_api_versions(ctx, request, 5)->error_code, 129);
  request.cluster_id = std::nullopt;
  request.node_id = 4;  // a node without a cluster: not checked
  EXPECT_EQ(handle_api_versions(ctx, request, 5)->error_code, 0);
}

}  // namespace
}  // namespace kb::handlers
