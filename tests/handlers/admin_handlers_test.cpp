// The topic admin handlers against a real log directory: CreateTopics,
// DeleteTopics, CreatePartitions, DescribeConfigs, DescribeCluster, and the
// listener-dependent broker address of Metadata.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include "kb/cluster/config_catalog.hpp"
#include "kb/cluster/startup.hpp"
#include "kb/cluster/topic_admin.hpp"
#include "kb/handlers/create_partitions.hpp"
#include "kb/handlers/create_topics.hpp"
#include "kb/handlers/delete_topics.hpp"
#include "kb/handlers/describe_cluster.hpp"
#include "kb/handlers/describe_configs.hpp"
#include "kb/handlers/metadata.hpp"
#include "kb/protocol/error_code.hpp"

namespace kb::handlers {
namespace {

using protocol::ErrorCode;
using protocol::to_wire;

class AdminHandlersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "kb-adminh-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    cluster::LogDirOptions options;
    options.log_dir = dir_;
    ASSERT_TRUE(cluster::load_log_dir(options, state).ok());
    state.endpoints = {{"PLAINTEXT", "0.0.0.0", 9092}, {"EXTERNAL", "broker.example", 19092}};
  }
  void TearDown() override {
    state.logs.reset();
    state.metadata_log.reset();
    std::filesystem::remove_all(dir_);
  }

  template <class Response, class Request>
  Response run(std::optional<Response> (*handle)(RequestContext&, const Request&, int16_t),
               const Request& request, int16_t version, std::string_view listener = {}) {
    protocol::RequestHeader header{0, version, 1, "t"};
    ApiRegistry registry;
    RequestContext ctx{header, registry, state, Clock::now(), Clock::now(), true, {}, listener};
    auto response = handle(ctx, request, version);
    EXPECT_TRUE(response.has_value());
    return response ? *response : Response{};
  }

  protocol::CreateTopicsResponse create(const std::vector<std::string>& names, int32_t partitions,
                                        int16_t version = 7, bool validate_only = false) {
    protocol::CreateTopicsRequest request;
    for (const auto& n : names) {
      auto& t = request.topics.emplace_back();
      t.name = n;
      t.num_partitions = partitions;
      t.replication_factor = -1;
    }
    request.validate_only = validate_only;
    return run(&handle_create_topics, request, version);
  }

  cluster::BrokerState state;
  std::filesystem::path dir_;
};

TEST_F(AdminHandlersTest, CreateTopicsAnswersEachTopic) {
  auto r = create({"a", "b.c", "b_c", "bad name", "a"}, 2);
  // "a" twice: one INVALID_REQUEST, and neither is created.
  ASSERT_EQ(r.topics.size(), 4u);
  EXPECT_EQ(r.topics[0].name, "a");
  EXPECT_EQ(r.topics[0].error_code, to_wire(ErrorCode::kInvalidRequest));
  EXPECT_EQ(r.topics[1].error_code, 0);
  EXPECT_EQ(r.topics[1].num_partitions, 2);
  EXPECT_EQ(r.topics[1].replication_factor, 1);
  EXPECT_NE(r.topics[1].topic_id, wire::Uuid{});
  ASSERT_TRUE(r.topics[1].configs.has_value());
  EXPECT_EQ(r.topics[1].configs->size(), cluster::topic_config_defs().size());
  EXPECT_EQ(r.topics[2].error_code, to_wire(ErrorCode::kInvalidTopicException));  // collides
  EXPECT_EQ(r.topics[3].error_code, to_wire(ErrorCode::kInvalidTopicException));
  EXPECT_EQ(state.topics.find("a"), nullptr);
  EXPECT_NE(state.topics.find("b.c"), nullptr);

  auto again = create({"b.c"}, 1, 4);
  EXPECT_EQ(again.topics.at(0).error_code, to_wire(ErrorCode::kTopicAlreadyExists));
  EXPECT_EQ(again.topics.at(0).error_message, "Topic 'b.c' already exists.");
}

TEST_F(AdminHandlersTest, CreateTopicsValidateOnlyAndConfigs) {
  protocol::CreateTopicsRequest request;
  auto& t = request.topics.emplace_back();
  t.name = "v";
  t.num_partitions = -1;
  t.replication_factor = -1;
  t.configs.push_back({"max.message.bytes", "1000"});
  request.validate_only = true;
  auto r = run(&handle_create_topics, request, 5);
  ASSERT_EQ(r.topics.size(), 1u);
  EXPECT_EQ(r.topics[0].error_code, 0);
  EXPECT_EQ(r.topics[0].num_partitions, 1);  // num.partitions
  auto it = std::find_if(r.topics[0].configs->begin(), r.topics[0].configs->end(),
                         [](const auto& c) { return c.name == "max.message.bytes"; });
  ASSERT_NE(it, r.topics[0].configs->end());
  EXPECT_EQ(it->value, "1000");
  EXPECT_EQ(it->config_source, 1);  // the topic's own
  EXPECT_EQ(state.topics.find("v"), nullptr);

  t.configs[0].value = std::nullopt;
  r = run(&handle_create_topics, request, 5);
  EXPECT_EQ(r.topics[0].error_code, to_wire(ErrorCode::kInvalidConfig));
  t.configs[0] = {"max.message.bytez", "1"};
  r = run(&handle_create_topics, request, 5);
  EXPECT_EQ(r.topics[0].error_code, to_wire(ErrorCode::kInvalidConfig));
}

TEST_F(AdminHandlersTest, DeleteTopicsByNameAndById) {
  create({"x", "y", "z"}, 1);
  const wire::Uuid y = state.topics.find("y")->id;

  protocol::DeleteTopicsRequest by_name;
  by_name.topic_names = {"x", "nope", "x"};
  auto r = run(&handle_delete_topics, by_name, 5);
  ASSERT_EQ(r.responses.size(), 2u);
  EXPECT_EQ(r.responses[0].error_code, to_wire(ErrorCode::kInvalidRequest));
  EXPECT_EQ(r.responses[1].error_code, to_wire(ErrorCode::kUnknownTopicOrPartition));
  EXPECT_NE(state.topics.find("x"), nullptr);

  protocol::DeleteTopicsRequest v6;
  v6.topics.push_back({std::nullopt, y});
  v6.topics.push_back({std::string_view("x"), {}});
  wire::Uuid unknown;
  unknown.bytes[3] = 9;
  v6.topics.push_back({std::nullopt, unknown});
  v6.topics.push_back({std::string_view("z"), y});  // both: refused
  v6.topics.push_back({std::nullopt, {}});          // neither: refused
  r = run(&handle_delete_topics, v6, 6);
  ASSERT_EQ(r.responses.size(), 5u);
  auto result_for = [&](std::optional<std::string> name, const wire::Uuid& id) {
    auto it = std::find_if(r.responses.begin(), r.responses.end(),
                           [&](const auto& x) { return x.name == name && x.topic_id == id; });
    EXPECT_NE(it, r.responses.end());
    return it == r.responses.end() ? int16_t{-100} : it->error_code;
  };
  EXPECT_EQ(result_for("y", y), 0);
  EXPECT_EQ(result_for(std::nullopt, unknown), to_wire(ErrorCode::kUnknownTopicId));
  EXPECT_EQ(result_for("z", y), to_wire(ErrorCode::kInvalidRequest));
  EXPECT_EQ(result_for(std::nullopt, {}), to_wire(ErrorCode::kInvalidRequest));
  EXPECT_EQ(state.topics.find("x"), nullptr);
  EXPECT_EQ(state.topics.find("y"), nullptr);
  EXPECT_NE(state.topics.find("z"), nullptr);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "x-0"));

  state.static_configs["delete.topic.enable"] = "false";
  protocol::DeleteTopicsRequest disabled;
  disabled.topic_names = {"z"};
  r = run(&handle_delete_topics, disabled, 3);
  EXPECT_EQ(r.responses.at(0).error_code, to_wire(ErrorCode::kTopicDeletionDisabled));
}

TEST_F(AdminHandlersTest, CreatePartitionsPerTopic) {
  create({"p"}, 1);
  protocol::CreatePartitionsRequest request;
  request.topics.push_back({"p", 3, std::nullopt});
  request.topics.push_back({"q", 3, std::nullopt});
  auto r = run(&handle_create_partitions, request, 3);
  ASSERT_EQ(r.results.size(), 2u);
  EXPECT_EQ(r.results[0].error_code, 0);
  EXPECT_FALSE(r.results[0].error_message.has_value());
  EXPECT_EQ(r.results[1].error_code, to_wire(ErrorCode::kUnknownTopicOrPartition));
  EXPECT_EQ(state.topics.find("p")->partitions.size(), 3u);
  request.topics = {{"p", 2, std::nullopt}, {"p", 9, std::nullopt}};
  r = run(&handle_create_partitions, request, 0);
  ASSERT_EQ(r.results.size(), 1u);
  EXPECT_EQ(r.results[0].error_code, to_wire(ErrorCode::kInvalidRequest));
  request.topics = {{"p", 2, std::nullopt}};
  r = run(&handle_create_partitions, request, 0);
  EXPECT_EQ(r.results.at(0).error_code, to_wire(ErrorCode::kInvalidPartitions));
}

TEST_F(AdminHandlersTest, DescribeConfigsOfATopic) {
  protocol::CreateTopicsRequest create_request;
  auto& t = create_request.topics.emplace_back();
  t.name = "c";
  t.num_partitions = 1;
  t.replication_factor = 1;
  t.configs.push_back({"retention.ms", "5000"});
  run(&handle_create_topics, create_request, 2);
  state.static_configs["log.segment.bytes"] = "1048576";

  protocol::DescribeConfigsRequest request;
  std::vector<std::string_view> keys = {"retention.ms", "segment.bytes", "flush.ms"};
  request.resources.push_back({2, "c", keys});
  request.resources.push_back({2, "missing", std::nullopt});
  request.resources.push_back({2, "in/valid", std::nullopt});
  request.include_synonyms = true;
  request.include_documentation = true;
  auto r = run(&handle_describe_configs, request, 3);
  ASSERT_EQ(r.results.size(), 3u);
  const auto& configs = r.results[0].configs;
  ASSERT_EQ(configs.size(), 3u);
  for (const auto& c : configs) {
    if (c.name == "retention.ms") {
      EXPECT_EQ(c.value, "5000");
      EXPECT_EQ(c.config_source, 1);
      // Kafka 4.4 lists the topic's own value only: its default, named
      // log.retention.hours, comes before any log.retention.ms.
      ASSERT_EQ(c.synonyms.size(), 1u);
      EXPECT_EQ(c.synonyms[0].name, "retention.ms");
      EXPECT_EQ(c.config_type, 5);  // LONG
      EXPECT_TRUE(c.documentation.has_value());
    } else if (c.name == "segment.bytes") {
      EXPECT_EQ(c.value, "1048576");
      EXPECT_EQ(c.config_source, 4);  // server.properties
    } else {
      EXPECT_EQ(c.name, "flush.ms");
      EXPECT_EQ(c.config_source, 5);
    }
  }
  EXPECT_EQ(r.results[1].error_code, to_wire(ErrorCode::kUnknownTopicOrPartition));
  EXPECT_EQ(r.results[1].error_message, "");  // Kafka's: empty
  EXPECT_EQ(r.results[2].error_code, to_wire(ErrorCode::kInvalidTopicException));

  // v0: no synonyms, is_default instead of a source.
  request.resources.resize(1);
  auto v0 = run(&handle_describe_configs, request, 0);
  for (const auto& c : v0.results.at(0).configs) {
    EXPECT_TRUE(c.synonyms.empty());
    EXPECT_EQ(c.is_default, c.name == "flush.ms") << c.name;
  }
  // Synonyms and documentation only when asked.
  request.include_synonyms = false;
  request.include_documentation = false;
  auto plain = run(&handle_describe_configs, request, 4);
  for (const auto& c : plain.results.at(0).configs) {
    EXPECT_TRUE(c.synonyms.empty());
    EXPECT_FALSE(c.documentation.has_value());
  }
}

TEST_F(AdminHandlersTest, DescribeConfigsOfTheBroker) {
  state.static_configs["num.partitions"] = "4";
  protocol::DescribeConfigsRequest request;
  request.resources.push_back({4, "1", std::nullopt});
  request.resources.push_back({4, "", std::nullopt});
  request.resources.push_back({4, "2", std::nullopt});
  request.resources.push_back({4, "one", std::nullopt});
  request.resources.push_back({8, "1", std::nullopt});
  request.resources.push_back({8, "2", std::nullopt});
  request.resources.push_back({8, "", std::nullopt});
  auto r = run(&handle_describe_configs, request, 4);
  ASSERT_EQ(r.results.size(), 7u);
  EXPECT_EQ(r.results[0].error_code, 0);
  auto np = std::find_if(r.results[0].configs.begin(), r.results[0].configs.end(),
                         [](const auto& c) { return c.name == "num.partitions"; });
  ASSERT_NE(np, r.results[0].configs.end());
  EXPECT_EQ(np->value, "4");
  EXPECT_EQ(np->config_source, 4);
  EXPECT_TRUE(np->read_only);
  EXPECT_EQ(r.results[1].error_code, 0);
  EXPECT_TRUE(r.results[1].configs.empty());  // no cluster-wide dynamic defaults
  EXPECT_EQ(r.results[2].error_code, to_wire(ErrorCode::kInvalidRequest));
  EXPECT_EQ(r.results[3].error_code, to_wire(ErrorCode::kInvalidRequest));
  // BROKER_LOGGER of this node: its root logger's level, as Kafka lists it.
  EXPECT_EQ(r.results[4].error_code, 0);
  ASSERT_EQ(r.results[4].configs.size(), 1u);
  EXPECT_EQ(r.results[4].configs[0].name, "root");
  EXPECT_EQ(r.results[4].configs[0].config_source, 6);  // DYNAMIC_BROKER_LOGGER_CONFIG
  EXPECT_FALSE(r.results[4].configs[0].read_only);
  EXPECT_EQ(r.results[5].error_code, to_wire(ErrorCode::kInvalidRequest));
  EXPECT_EQ(r.results[5].error_message, "Unexpected broker id, expected 1 but received 2");
  EXPECT_EQ(r.results[6].error_message, "Broker id must not be empty");
}

// Key store passwords and PEM keys set for a TLS listener are listed, as
// Kafka lists them: sensitive, with no value (synonyms too); the rest of the
// ssl.* keys with their values.
TEST_F(AdminHandlersTest, DescribeConfigsHidesSslSecrets) {
  state.static_configs["ssl.keystore.location"] = "/etc/kafka/server.p12";
  state.static_configs["ssl.keystore.password"] = "secret";
  state.static_configs["listener.name.ssl.ssl.key.password"] = "secret";
  protocol::DescribeConfigsRequest request;
  request.resources.push_back({4, "1", std::nullopt});
  request.include_synonyms = true;
  auto r = run(&handle_describe_configs, request, 4);
  ASSERT_EQ(r.results.size(), 1u);
  auto find = [&](std::string_view name) {
    const auto& configs = r.results[0].configs;
    auto it =
        std::find_if(configs.begin(), configs.end(), [&](const auto& c) { return c.name == name; });
    EXPECT_NE(it, configs.end()) << name;
    return it;
  };
  auto location = find("ssl.keystore.location");
  EXPECT_EQ(location->value, "/etc/kafka/server.p12");
  EXPECT_FALSE(location->is_sensitive);
  for (std::string_view name : {"ssl.keystore.password", "listener.name.ssl.ssl.key.password"}) {
    auto secret = find(name);
    EXPECT_TRUE(secret->is_sensitive) << name;
    EXPECT_FALSE(secret->value.has_value()) << name;
    EXPECT_EQ(secret->config_source, 4) << name;  // STATIC_BROKER_CONFIG
    for (const auto& synonym : secret->synonyms) EXPECT_FALSE(synonym.value.has_value());
  }
}

TEST_F(AdminHandlersTest, BrokerAddressFollowsTheListener) {
  protocol::DescribeClusterRequest request;
  request.include_cluster_authorized_operations = true;
  auto external = run(&handle_describe_cluster, request, 1, "EXTERNAL");
  ASSERT_EQ(external.brokers.size(), 1u);
  EXPECT_EQ(external.brokers[0].host, "broker.example");
  EXPECT_EQ(external.brokers[0].port, 19092);
  EXPECT_EQ(external.cluster_id, state.cluster_id);
  EXPECT_EQ(external.controller_id, 1);
  EXPECT_NE(external.cluster_authorized_operations, INT32_MIN);
  auto internal = run(&handle_describe_cluster, request, 0, "PLAINTEXT");
  ASSERT_EQ(internal.brokers.size(), 1u);
  EXPECT_EQ(internal.brokers[0].host, "localhost");  // never the wildcard
  EXPECT_EQ(internal.brokers[0].port, 9092);
  // v2: fenced brokers asked for too; the one broker, serving, is not fenced.
  request.include_fenced_brokers = true;
  auto v2 = run(&handle_describe_cluster, request, 2, "PLAINTEXT");
  ASSERT_EQ(v2.brokers.size(), 1u);
  EXPECT_FALSE(v2.brokers[0].is_fenced);
  request.endpoint_type = 2;
  EXPECT_EQ(run(&handle_describe_cluster, request, 1).error_code,
            to_wire(ErrorCode::kUnsupportedEndpointType));

  protocol::MetadataRequest metadata;
  metadata.topics.emplace();
  auto m = run(&handle_metadata, metadata, 12, "EXTERNAL");
  ASSERT_EQ(m.brokers.size(), 1u);
  EXPECT_EQ(m.brokers[0].host, "broker.example");
  m = run(&handle_metadata, metadata, 12, "");
  EXPECT_EQ(m.brokers.at(0).port, 9092);  // unknown listener: the first
}

// DescribeConfigs naming the same topic thousands of times runs in steps and
// answers each naming in full, a repeat with a copy of the first answer.
TEST_F(AdminHandlersTest, DescribeConfigsOfRepeatedResourcesRunsInStepsAndAnswersEach) {
  protocol::CreateTopicsRequest create_request;
  auto& t = create_request.topics.emplace_back();
  t.name = "c";
  t.num_partitions = 1;
  t.replication_factor = 1;
  t.configs.push_back({"retention.ms", "5000"});
  run(&handle_create_topics, create_request, 2);

  protocol::DescribeConfigsRequest request;
  std::vector<std::string_view> keys = {"retention.ms"};
  for (int i = 0; i < 200; ++i) {
    request.resources.push_back({2, "c", std::nullopt});
    request.resources.push_back({4, "1", std::nullopt});
    request.resources.push_back({2, "missing", std::nullopt});
    request.resources.push_back({2, "c", keys});
  }
  request.include_synonyms = true;
  // Answered at once, for comparison.
  const auto whole = run(&handle_describe_configs, request, 3);
  ASSERT_EQ(whole.results.size(), 800u);

  protocol::RequestHeader header{32, 3, 1, "t"};
  ApiRegistry registry;
  RequestContext ctx{header, registry, state, Clock::now(), Clock::now(), true};
  ctx.step_deadline = Clock::time_point::min();  // every step yields after its first resource
  std::optional<protocol::DescribeConfigsResponse> stepped;
  int steps = 0;
  for (; !stepped && steps < 10000; ++steps) stepped = handle_describe_configs(ctx, request, 3);
  ASSERT_TRUE(stepped.has_value());
  EXPECT_GT(steps, 100);
  ASSERT_EQ(stepped->results.size(), 800u);
  for (size_t i = 0; i < 800; ++i) {
    const auto& a = stepped->results[i];
    const auto& b = whole.results[i];
    EXPECT_EQ(a.resource_type, b.resource_type) << i;
    EXPECT_EQ(a.resource_name, b.resource_name) << i;
    EXPECT_EQ(a.error_code, b.error_code) << i;
    ASSERT_EQ(a.configs.size(), b.configs.size()) << i;
    for (size_t k = 0; k < a.configs.size(); ++k) {
      EXPECT_EQ(a.configs[k].name, b.configs[k].name);
      EXPECT_EQ(a.configs[k].value, b.configs[k].value);
      EXPECT_EQ(a.configs[k].synonyms.size(), b.configs[k].synonyms.size());
    }
  }
  EXPECT_GT(stepped->results[0].configs.size(), 20u);  // every key of the topic
  EXPECT_EQ(stepped->results[3].configs.size(), 1u);   // the one key asked for
  EXPECT_EQ(stepped->results[2].error_code, to_wire(ErrorCode::kUnknownTopicOrPartition));
  EXPECT_GT(stepped->results[1].configs.size(), 20u);  // the broker's
}

// A Metadata request handled a topic per step remembers what it looked up,
// but a topic deleted between its steps is looked up again, never answered
// from what the request remembered of it.
TEST_F(AdminHandlersTest, MetadataStepsForgetATopicDeletedBetweenThem) {
  state.auto_create_topics = true;
  ASSERT_EQ(create({"gone", "kept"}, 1).topics.at(0).error_code, 0);
  const wire::Uuid gone_id = state.topics.find("gone")->id;
  protocol::MetadataRequest request;
  request.topics.emplace();
  for (const char* name : {"new-a", "gone", "new-b", "kept", "gone", "new-a"}) {
    auto& t = request.topics->emplace_back();
    t.name = name;
  }
  request.allow_auto_topic_creation = true;
  protocol::RequestHeader header{3, 12, 1, "t"};
  ApiRegistry registry;
  RequestContext ctx{header, registry, state, Clock::now(), Clock::now(), true};
  ctx.step_deadline = Clock::time_point::min();  // every step yields after its first item
  std::optional<protocol::MetadataResponse> response;
  int steps = 0;
  for (; !response && steps < 100; ++steps) {
    if (steps == 1) {  // after the creating step, before any answer
      ASSERT_TRUE(cluster::delete_topic(state, gone_id).ok());
    }
    response = handle_metadata(ctx, request, 12);
  }
  ASSERT_TRUE(response.has_value());
  EXPECT_GT(steps, 5);  // it did run in steps, the deletion among them
  ASSERT_EQ(response->topics.size(), 6u);
  std::vector<std::string> names;
  for (const auto& t : response->topics) names.push_back(t.name.value_or(""));
  EXPECT_EQ(names, (std::vector<std::string>{"new-a", "gone", "new-b", "kept", "gone", "new-a"}));
  EXPECT_EQ(response->topics[0].error_code, 0);
  EXPECT_EQ(response->topics[0].topic_id, state.topics.find("new-a")->id);
  EXPECT_EQ(response->topics[5].topic_id, state.topics.find("new-a")->id);
  EXPECT_EQ(response->topics[2].error_code, 0);
  EXPECT_EQ(response->topics[3].topic_id, state.topics.find("kept")->id);
  // Existing when creation looked, deleted before the answer: unknown now.
  EXPECT_EQ(state.topics.find("gone"), nullptr);
  EXPECT_EQ(response->topics[1].error_code, to_wire(ErrorCode::kUnknownTopicOrPartition));
  EXPECT_EQ(response->topics[4].error_code, to_wire(ErrorCode::kUnknownTopicOrPartition));
  EXPECT_TRUE(response->topics[1].partitions.empty());
}

}  // namespace
}  // namespace kb::handlers
