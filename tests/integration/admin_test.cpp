// Topic administration against the real broker binary, over the raw protocol
// at the versions clients use: CreateTopics, CreatePartitions, DeleteTopics,
// DescribeConfigs, DescribeCluster, Metadata per listener, and what survives
// a restart.

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <regex>
#include <thread>

#include "kb/protocol/error_code.hpp"
#include "kb/protocol/messages/create_partitions.hpp"
#include "kb/protocol/messages/create_topics.hpp"
#include "kb/protocol/messages/delete_topics.hpp"
#include "kb/protocol/messages/describe_cluster.hpp"
#include "kb/protocol/messages/describe_configs.hpp"
#include "kb/protocol/messages/fetch.hpp"
#include "kb/protocol/messages/metadata.hpp"
#include "support/broker_process.hpp"
#include "support/kafka_client.hpp"

namespace kb::testing {
namespace {

using namespace protocol;

template <class Response, class Request>
Response call(RawClient& client, const Request& request, int16_t version) {
  static int32_t correlation_id = 1;
  const int32_t id = correlation_id++;
  client.send_bytes(encode_request(request, version, id));
  auto frame = client.read_frame();
  if (!frame) throw std::runtime_error("connection closed");
  ResponseFrame r = split_response(*frame, version >= Response::kFirstFlexible);
  EXPECT_EQ(r.correlation_id, id);
  return decode_response<Response>(r.body, version);
}

CreateTopicsRequest create_request(const std::string& name, int32_t partitions,
                                   std::vector<std::pair<std::string, std::string>> configs = {}) {
  // The request views its strings: keep them alive in statics of the test.
  static std::deque<std::string> names;
  CreateTopicsRequest request;
  names.push_back(name);
  auto& t = request.topics.emplace_back();
  t.name = names.back();
  t.num_partitions = partitions;
  t.replication_factor = -1;
  for (auto& [k, v] : configs) {
    names.push_back(k);
    std::string_view key = names.back();
    names.push_back(v);
    t.configs.push_back({key, std::string_view(names.back())});
  }
  request.timeout_ms = 5000;
  return request;
}

MetadataResponse metadata(RawClient& client, int16_t version = 12) {
  MetadataRequest request;
  if (version == 0) request.topics.emplace();  // v0: empty means all
  return call<MetadataResponse>(client, request, version);
}

const MetadataResponse::MetadataResponseTopic* find_topic(const MetadataResponse& m,
                                                          const std::string& name) {
  auto it =
      std::find_if(m.topics.begin(), m.topics.end(), [&](const auto& t) { return t.name == name; });
  return it == m.topics.end() ? nullptr : &*it;
}

TEST(AdminIntegration, CreateGrowDescribeDeleteAtEachVersion) {
  BrokerProcess broker;
  RawClient client(broker.port());
  for (int16_t version : std::vector<int16_t>{0, 1, 2, 3, 4, 5, 6, 7}) {
    const std::string name = "topic-v" + std::to_string(version);
    auto created = call<CreateTopicsResponse>(
        client, create_request(name, 2, {{"retention.ms", "60000"}}), version);
    ASSERT_EQ(created.topics.size(), 1u);
    EXPECT_EQ(created.topics[0].name, name);
    EXPECT_EQ(created.topics[0].error_code, 0) << "v" << version;
    if (version >= 5) {
      EXPECT_EQ(created.topics[0].num_partitions, 2);
      EXPECT_EQ(created.topics[0].replication_factor, 1);
      ASSERT_TRUE(created.topics[0].configs.has_value());
      EXPECT_FALSE(created.topics[0].configs->empty());
    }
    if (version >= 7) {
      EXPECT_NE(created.topics[0].topic_id, wire::Uuid{});
    }
    auto again = call<CreateTopicsResponse>(client, create_request(name, 2), version);
    EXPECT_EQ(again.topics.at(0).error_code, to_wire(ErrorCode::kTopicAlreadyExists));
  }
  auto m = metadata(client);
  for (int v = 0; v <= 7; ++v) {
    const auto* t = find_topic(m, "topic-v" + std::to_string(v));
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->partitions.size(), 2u);
  }
  EXPECT_TRUE(std::filesystem::exists(broker.log_dir() / "topic-v3-1" / "partition.metadata"));

  for (int16_t version : std::vector<int16_t>{0, 1, 2, 3}) {
    const std::string name = "topic-v" + std::to_string(version);
    CreatePartitionsRequest grow;
    grow.topics.push_back({name, 4, std::nullopt});
    auto grown = call<CreatePartitionsResponse>(client, grow, version);
    ASSERT_EQ(grown.results.size(), 1u);
    EXPECT_EQ(grown.results[0].error_code, 0);
    auto shrink = call<CreatePartitionsResponse>(client, grow, version);
    EXPECT_EQ(shrink.results.at(0).error_code, to_wire(ErrorCode::kInvalidPartitions));
  }
  m = metadata(client, 1);
  EXPECT_EQ(find_topic(m, "topic-v2")->partitions.size(), 4u);

  for (int16_t version : std::vector<int16_t>{0, 1, 2, 3, 4}) {
    DescribeConfigsRequest describe;
    describe.resources.push_back({2, "topic-v4", std::nullopt});
    describe.resources.push_back({4, "1", std::vector<std::string_view>{"num.partitions"}});
    describe.include_synonyms = true;
    describe.include_documentation = true;
    auto d = call<DescribeConfigsResponse>(client, describe, version);
    ASSERT_EQ(d.results.size(), 2u);
    EXPECT_EQ(d.results[0].error_code, 0);
    auto retention = std::find_if(d.results[0].configs.begin(), d.results[0].configs.end(),
                                  [](const auto& c) { return c.name == "retention.ms"; });
    ASSERT_NE(retention, d.results[0].configs.end());
    EXPECT_EQ(retention->value, "60000");
    if (version >= 1) {
      EXPECT_EQ(retention->config_source, 1);
      EXPECT_FALSE(retention->synonyms.empty());
    }
    if (version >= 3) {
      EXPECT_TRUE(retention->documentation.has_value());
    }
    ASSERT_EQ(d.results[1].configs.size(), 1u);
    EXPECT_EQ(d.results[1].configs[0].value, "1");
  }

  for (int16_t version : std::vector<int16_t>{0, 1, 2, 3, 4, 5}) {
    DeleteTopicsRequest del;
    static std::deque<std::string> names;
    names.push_back("topic-v" + std::to_string(version));
    del.topic_names = {names.back(), "never-existed"};
    del.timeout_ms = 5000;
    auto r = call<DeleteTopicsResponse>(client, del, version);
    ASSERT_EQ(r.responses.size(), 2u);
    EXPECT_EQ(r.responses[0].error_code, 0);
    EXPECT_EQ(r.responses[1].error_code, to_wire(ErrorCode::kUnknownTopicOrPartition));
  }
  m = metadata(client);
  const auto* t6 = find_topic(m, "topic-v6");
  ASSERT_NE(t6, nullptr);
  DeleteTopicsRequest by_id;
  by_id.topics.push_back({std::nullopt, t6->topic_id});
  auto r = call<DeleteTopicsResponse>(client, by_id, 6);
  ASSERT_EQ(r.responses.size(), 1u);
  EXPECT_EQ(r.responses[0].error_code, 0);
  EXPECT_EQ(r.responses[0].name, "topic-v6");
  r = call<DeleteTopicsResponse>(client, by_id, 6);
  EXPECT_EQ(r.responses.at(0).error_code, to_wire(ErrorCode::kUnknownTopicId));

  m = metadata(client);
  ASSERT_EQ(m.topics.size(), 1u);
  EXPECT_EQ(m.topics[0].name, "topic-v7");
  EXPECT_FALSE(std::filesystem::exists(broker.log_dir() / "topic-v3-0"));
}

TEST(AdminIntegration, TopicsSurviveRestartAndDeletedNamesCanReturn) {
  auto dir = make_temp_dir("kb-admin-restart-");
  wire::Uuid first_id;
  {
    BrokerProcess broker({}, dir / "data");
    RawClient client(broker.port());
    auto created = call<CreateTopicsResponse>(
        client, create_request("kept", 3, {{"cleanup.policy", "compact"}}), 7);
    ASSERT_EQ(created.topics.at(0).error_code, 0);
    call<CreateTopicsResponse>(client, create_request("dropped", 2), 7);
    // The metadata log's own name is refused (its directory would be taken).
    auto reserved = call<CreateTopicsResponse>(client, create_request("__cluster_metadata", 1), 7);
    EXPECT_EQ(reserved.topics.at(0).error_code, to_wire(ErrorCode::kInvalidRequest));
    EXPECT_EQ(reserved.topics.at(0).num_partitions, -1);
    first_id = find_topic(metadata(client), "dropped")->topic_id;
    DeleteTopicsRequest del;
    del.topic_names = {"dropped"};
    ASSERT_EQ(call<DeleteTopicsResponse>(client, del, 5).responses.at(0).error_code, 0);
    // Created again under the same name, without its old config.
    ASSERT_EQ(
        call<CreateTopicsResponse>(client, create_request("dropped", 1), 7).topics.at(0).error_code,
        0);
    EXPECT_EQ(broker.stop().code, 0);
  }
  {
    BrokerProcess broker({}, dir / "data");
    RawClient client(broker.port());
    auto m = metadata(client);
    ASSERT_EQ(m.topics.size(), 2u);
    EXPECT_EQ(find_topic(m, "kept")->partitions.size(), 3u);
    const auto* dropped = find_topic(m, "dropped");
    ASSERT_NE(dropped, nullptr);
    EXPECT_EQ(dropped->partitions.size(), 1u);
    EXPECT_NE(dropped->topic_id, first_id);
    DescribeConfigsRequest describe;
    describe.resources.push_back({2, "kept", std::vector<std::string_view>{"cleanup.policy"}});
    auto d = call<DescribeConfigsResponse>(client, describe, 4);
    EXPECT_EQ(d.results.at(0).configs.at(0).value, "compact");
  }
  std::filesystem::remove_all(dir);
}

// Each listener answers with its own advertised address.
TEST(AdminIntegration, MetadataAndDescribeClusterAnnounceTheListenerUsed) {
  BrokerProcess broker(
      {{"listeners",
        "PLAINTEXT://127.0.0.1:0,EXTERNAL://127.0.0.1:0,"
        "CONTROLLER://127.0.0.1:0"},
       {"listener.security.protocol.map",
        "PLAINTEXT:PLAINTEXT,EXTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT"},
       {"advertised.listeners", "PLAINTEXT://127.0.0.1:0,EXTERNAL://external.example:29092"}});
  const auto match = broker.wait_for_log(std::regex("Listening on EXTERNAL://[^:]+:(\\d+)\n"));
  ASSERT_EQ(match.size(), 2u) << broker.log();
  const auto external_port = static_cast<uint16_t>(std::stoi(match[1]));

  RawClient internal(broker.port());
  auto m = metadata(internal, 4);
  ASSERT_EQ(m.brokers.size(), 1u);
  EXPECT_EQ(m.brokers[0].host, "127.0.0.1");
  EXPECT_EQ(m.brokers[0].port, broker.port());

  RawClient external(external_port);
  m = metadata(external, 12);
  ASSERT_EQ(m.brokers.size(), 1u);
  EXPECT_EQ(m.brokers[0].host, "external.example");
  EXPECT_EQ(m.brokers[0].port, 29092);
  for (int16_t version : std::vector<int16_t>{0, 1}) {
    auto c = call<DescribeClusterResponse>(external, DescribeClusterRequest{}, version);
    EXPECT_EQ(c.error_code, 0);
    ASSERT_EQ(c.brokers.size(), 1u);
    EXPECT_EQ(c.brokers[0].host, "external.example");
    EXPECT_EQ(c.controller_id, 1);
    EXPECT_FALSE(c.cluster_id.empty());
  }
  auto c = call<DescribeClusterResponse>(internal, DescribeClusterRequest{}, 1);
  EXPECT_EQ(c.brokers.at(0).port, broker.port());
}

// A long-poll Fetch waiting on a topic that is deleted answers at once that
// the topic is gone, instead of holding its connection until max_wait_ms.
TEST(AdminIntegration, DeletionWakesAWaitingFetch) {
  BrokerProcess broker;
  RawClient admin(broker.port());
  ASSERT_EQ(
      call<CreateTopicsResponse>(admin, create_request("waited", 1), 7).topics.at(0).error_code, 0);
  RawClient consumer(broker.port(), std::chrono::seconds(20));
  FetchRequest fetch;
  fetch.max_wait_ms = 10000;
  fetch.min_bytes = 1;
  auto& t = fetch.topics.emplace_back();
  t.topic = "waited";
  t.partitions.push_back({0, -1, 0, -1, -1, 1 << 20, {}});
  consumer.send_bytes(encode_request(fetch, 12, 77));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the fetch is waiting

  const auto start = std::chrono::steady_clock::now();
  DeleteTopicsRequest del;
  del.topic_names = {"waited"};
  ASSERT_EQ(call<DeleteTopicsResponse>(admin, del, 5).responses.at(0).error_code, 0);
  auto frame = consumer.read_frame();
  ASSERT_TRUE(frame);
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_LT(waited, std::chrono::seconds(5));
  ResponseFrame r = split_response(*frame, true);
  EXPECT_EQ(r.correlation_id, 77);
  auto response = decode_response<FetchResponse>(r.body, 12);
  ASSERT_EQ(response.responses.size(), 1u);
  EXPECT_EQ(response.responses[0].partitions.at(0).error_code,
            to_wire(ErrorCode::kUnknownTopicOrPartition));
}

}  // namespace
}  // namespace kb::testing
