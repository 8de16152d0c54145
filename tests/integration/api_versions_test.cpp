// ApiVersions and connection handling against the real broker binary.

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "kb/protocol/messages/api_versions.hpp"
#include "kb/protocol/messages/metadata.hpp"
#include "support/broker_process.hpp"
#include "support/kafka_client.hpp"

namespace kb::testing {
namespace {

using protocol::ApiVersionsRequest;
using protocol::ApiVersionsResponse;

std::vector<uint8_t> api_versions_request(int16_t version, int32_t correlation_id) {
  ApiVersionsRequest req;
  req.client_software_name = "kb-test";
  req.client_software_version = "1.0";
  return encode_request(req, version, correlation_id);
}

size_t uvarint_size(uint64_t n) {
  size_t size = 1;
  while (n >= 128) {
    n >>= 7;
    ++size;
  }
  return size;
}

// A compact array of features: each a compact string and two int16s, no tags.
template <class Feature>
size_t features_size(const std::vector<Feature>& features) {
  size_t size = uvarint_size(features.size() + 1);
  for (const auto& f : features)
    size += uvarint_size(f.name.size() + 1) + f.name.size() + 2 + 2 + 1;
  return size;
}

// The expected body size, computed from the published layout rather than by
// the broker's own encoder; from v3 the features are tagged fields (0:
// supported, 1: finalized epoch, 2: finalized), each left out when empty.
size_t expected_body_size(int16_t version, const ApiVersionsResponse& resp) {
  const size_t entries = resp.api_keys.size();
  if (version >= 3) {
    size_t tags = 0;
    size_t tagged = 0;
    auto add = [&](size_t field) {
      ++tags;
      tagged += 1 + uvarint_size(field) + field;
    };
    if (!resp.supported_features.empty()) add(features_size(resp.supported_features));
    if (resp.finalized_features_epoch != -1) add(8);
    if (!resp.finalized_features.empty()) add(features_size(resp.finalized_features));
    return 2 + uvarint_size(entries + 1) + entries * (6 + 1) + 4 + uvarint_size(tags) + tagged;
  }
  return 2 + 4 + entries * 6 + (version >= 1 ? 4 : 0);
}

class ApiVersionsTest : public ::testing::Test {
 protected:
  BrokerProcess broker;
};

TEST_F(ApiVersionsTest, EveryVersionAnsweredWithCorrelationIdAndExactSize) {
  RawClient client(broker.port());
  for (int16_t version = 0; version <= 5; ++version) {
    int32_t correlation_id = 1000 + version;
    client.send_bytes(api_versions_request(version, correlation_id));
    auto frame = client.read_frame();
    ASSERT_TRUE(frame) << "closed at v" << version;
    // ApiVersions responses always use response header v0.
    ResponseFrame r = split_response(*frame, false);
    EXPECT_EQ(r.correlation_id, correlation_id);
    auto resp = decode_response<ApiVersionsResponse>(r.body, version);
    EXPECT_EQ(resp.error_code, 0);
    EXPECT_EQ(r.body.size(), expected_body_size(version, resp)) << "v" << version;
    if (version >= 3) {
      // metadata.version: supported from 3.3-IV3, finalized at the level
      // the broker writes into its metadata log (which has no records yet);
      auto mv = std::find_if(resp.supported_features.begin(), resp.supported_features.end(),
                             [](const auto& f) { return f.name == "metadata.version"; });
      ASSERT_NE(mv, resp.supported_features.end()) << "v" << version;
      EXPECT_EQ(mv->min_version, 7);
      // group.version 1 with it: consumer groups of KIP-848; and
      // transaction.version 2: KIP-890's transactions v2.
      ASSERT_EQ(resp.finalized_features.size(), 3u);
      EXPECT_EQ(resp.finalized_features[0].name, "metadata.version");
      EXPECT_EQ(resp.finalized_features[0].max_version_level, mv->max_version);
      EXPECT_EQ(resp.finalized_features[1].name, "group.version");
      EXPECT_EQ(resp.finalized_features[1].max_version_level, 1);
      EXPECT_EQ(resp.finalized_features[2].name, "transaction.version");
      EXPECT_EQ(resp.finalized_features[2].max_version_level, 2);
      EXPECT_EQ(resp.finalized_features_epoch, -1);
      // Features whose minimum level is 0 only from v4 (KAFKA-17492).
      EXPECT_EQ(resp.supported_features.size() > 1, version >= 4);
    }
    auto self = std::find_if(resp.api_keys.begin(), resp.api_keys.end(),
                             [](const auto& k) { return k.api_key == 18; });
    ASSERT_NE(self, resp.api_keys.end());
    EXPECT_EQ(self->min_version, 0);
    EXPECT_EQ(self->max_version, 5);
    EXPECT_TRUE(std::is_sorted(resp.api_keys.begin(), resp.api_keys.end(),
                               [](const auto& a, const auto& b) { return a.api_key < b.api_key; }));
  }
}

TEST_F(ApiVersionsTest, HandBuiltV0RequestGetsExactBytes) {
  RawClient client(broker.port());
  // size 10: api key 18, version 0, correlation id 7, null client id.
  const std::vector<uint8_t> request = {0, 0, 0, 10, 0, 18, 0, 0, 0, 0, 0, 7, 0xff, 0xff};
  client.send_bytes(request);
  auto frame = client.read_frame();
  ASSERT_TRUE(frame);
  ASSERT_GE(frame->size(), 10u);
  EXPECT_EQ((std::vector<uint8_t>(frame->begin(), frame->begin() + 6)),
            (std::vector<uint8_t>{0, 0, 0, 7, 0, 0}));  // correlation id, error 0
  uint32_t entries = (uint32_t{(*frame)[6]} << 24) | (uint32_t{(*frame)[7]} << 16) |
                     (uint32_t{(*frame)[8]} << 8) | (*frame)[9];
  EXPECT_EQ(frame->size(), 4 + 2 + 4 + entries * 6);
}

TEST_F(ApiVersionsTest, UnsupportedVersionGetsErrorInV0Layout) {
  RawClient client(broker.port());
  for (int16_t version : {int16_t{6}, int16_t{1234}, int16_t{1999}}) {
    client.send_bytes(api_versions_request(version, 77));
    auto frame = client.read_frame();
    ASSERT_TRUE(frame);
    // correlation id, error 35, one entry: 18 0-5.
    const std::vector<uint8_t> expected = {0, 0, 0, 77, 0, 35, 0, 0, 0, 1, 0, 18, 0, 0, 0, 5};
    EXPECT_EQ(*frame, expected) << "v" << version;
  }
}

// v5 (KIP-1242): a client naming another cluster, or this cluster and
// another node, gets REBOOTSTRAP_REQUIRED (129) and nothing else; naming
// this cluster and node, or neither, the usual answer.
TEST_F(ApiVersionsTest, V5ClusterAndNodeChecked) {
  RawClient client(broker.port());
  auto ask = [&](std::optional<std::string_view> cluster_id, int32_t node_id) {
    ApiVersionsRequest req;
    req.client_software_name = "kb-test";
    req.client_software_version = "1.0";
    req.cluster_id = cluster_id;
    req.node_id = node_id;
    client.send_bytes(encode_request(req, 5, 9));
    auto frame = client.read_frame();
    if (!frame) throw std::runtime_error("broker closed the connection");
    ResponseFrame r = split_response(*frame, false);
    EXPECT_EQ(r.correlation_id, 9);
    return decode_response<ApiVersionsResponse>(r.body, 5);
  };
  // The broker's own cluster id, as Metadata reports it; v13 adds the
  // top-level error code (NONE, as Kafka's broker leaves it) before the tags.
  protocol::MetadataRequest metadata;
  metadata.topics.emplace();
  client.send_bytes(encode_request(metadata, 12, 8));
  auto frame = client.read_frame();
  ASSERT_TRUE(frame);
  const size_t v12_size = split_response(*frame, true).body.size();
  client.send_bytes(encode_request(metadata, 13, 8));
  frame = client.read_frame();
  ASSERT_TRUE(frame);
  ResponseFrame m = split_response(*frame, true);
  EXPECT_EQ(m.body.size(), v12_size + 2);
  auto described = decode_response<protocol::MetadataResponse>(m.body, 13);
  EXPECT_EQ(described.error_code, 0);
  ASSERT_TRUE(described.cluster_id.has_value());
  const std::string cluster_id = *described.cluster_id;
  const int32_t node_id = described.brokers.at(0).node_id;

  auto same = ask(cluster_id, node_id);
  EXPECT_EQ(same.error_code, 0);
  EXPECT_FALSE(same.api_keys.empty());
  auto unnamed = ask(std::nullopt, 12345);  // no cluster named: the node is not checked
  EXPECT_EQ(unnamed.error_code, 0);
  EXPECT_FALSE(unnamed.api_keys.empty());
  for (auto refused : {ask("another-cluster", node_id), ask(cluster_id, node_id + 1)}) {
    EXPECT_EQ(refused.error_code, 129);
    EXPECT_TRUE(refused.api_keys.empty());
    EXPECT_TRUE(refused.supported_features.empty());
    EXPECT_TRUE(refused.finalized_features.empty());
    EXPECT_EQ(refused.finalized_features_epoch, -1);
  }
  // The connection stays usable.
  EXPECT_EQ(ask(cluster_id, node_id).error_code, 0);
}

TEST_F(ApiVersionsTest, SequentialRequestsOnOneConnection) {
  RawClient client(broker.port());
  for (int i = 0; i < 4; ++i) {
    client.send_bytes(api_versions_request(4, 50 + i));
    auto frame = client.read_frame();
    ASSERT_TRUE(frame);
    EXPECT_EQ(split_response(*frame, false).correlation_id, 50 + i);
  }
}

TEST_F(ApiVersionsTest, ConcurrentClientsReadInReverseOrder) {
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < 3; ++i) clients.push_back(std::make_unique<RawClient>(broker.port()));
  for (int i = 0; i < 3; ++i) clients[i]->send_bytes(api_versions_request(3, 300 + i));
  for (int i = 2; i >= 0; --i) {
    auto frame = clients[i]->read_frame();
    ASSERT_TRUE(frame);
    EXPECT_EQ(split_response(*frame, false).correlation_id, 300 + i);
  }
}

TEST_F(ApiVersionsTest, HundredPipelinedRequestsAnsweredInOrder) {
  RawClient client(broker.port());
  std::vector<uint8_t> all;
  for (int i = 0; i < 100; ++i) {
    auto one = api_versions_request(static_cast<int16_t>(i % 5), i);
    all.insert(all.end(), one.begin(), one.end());
  }
  client.send_bytes(all);
  for (int i = 0; i < 100; ++i) {
    auto frame = client.read_frame();
    ASSERT_TRUE(frame) << i;
    EXPECT_EQ(split_response(*frame, false).correlation_id, i);
  }
}

TEST_F(ApiVersionsTest, ThousandOpenConnectionsAllServed) {
  std::vector<std::unique_ptr<RawClient>> clients;
  clients.reserve(1000);
  for (int i = 0; i < 1000; ++i) clients.push_back(std::make_unique<RawClient>(broker.port()));
  for (int i = 0; i < 1000; ++i) clients[i]->send_bytes(api_versions_request(4, i));
  for (int i = 0; i < 1000; ++i) {
    auto frame = clients[i]->read_frame();
    ASSERT_TRUE(frame) << i;
    EXPECT_EQ(split_response(*frame, false).correlation_id, i);
  }
}

void expect_served(uint16_t port) {
  RawClient fresh(port, std::chrono::seconds(2));
  fresh.send_bytes(api_versions_request(4, 4242));
  auto frame = fresh.read_frame();
  ASSERT_TRUE(frame);
  EXPECT_EQ(split_response(*frame, false).correlation_id, 4242);
}

TEST_F(ApiVersionsTest, BadFramesCloseOnlyTheirConnection) {
  const std::vector<std::vector<uint8_t>> hostile = {
      {0xff, 0xff, 0xff, 0xff},                    // size -1
      {0x7f, 0xff, 0xff, 0xff},                    // size 2^31-1
      {0, 0, 0, 2, 1, 2},                          // smaller than any header
      {0, 0, 0, 12, 0x7f, 0x7f, 0, 0, 0, 0, 0, 1,  // unknown api key 32639
       0xff, 0xff, 0, 0},
      {0, 0, 0, 10, 0, 3, 0x7f, 0, 0, 0, 0, 1,  // Metadata at an absurd version
       0xff, 0xff},
      {0, 0, 0, 9, 0, 18, 0, 4, 0, 0, 0, 1, 0x05},  // v4 header cut inside client id
  };
  for (const auto& bytes : hostile) {
    RawClient bad(broker.port(), std::chrono::seconds(3));
    RawClient bystander(broker.port());
    bad.send_bytes(bytes);
    EXPECT_TRUE(bad.closed_by_peer());
    expect_served(broker.port());
    bystander.send_bytes(api_versions_request(2, 9));
    auto frame = bystander.read_frame();
    ASSERT_TRUE(frame);
  }
  EXPECT_TRUE(broker.alive());
}

TEST_F(ApiVersionsTest, GarbageAndTruncatedFramesLeaveBrokerServing) {
  {
    RawClient garbage(broker.port());
    std::vector<uint8_t> junk(4096);
    for (size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<uint8_t>(i * 131 + 7);
    garbage.send_bytes(junk);
  }
  {
    // A frame cut off before the connection closes.
    RawClient cut(broker.port());
    auto req = api_versions_request(4, 1);
    cut.send_bytes(std::span<const uint8_t>(req.data(), req.size() / 2));
  }
  {
    // Half a frame that never completes must not block anyone else.
    RawClient stalled(broker.port());
    auto req = api_versions_request(4, 1);
    stalled.send_bytes(std::span<const uint8_t>(req.data(), 7));
    expect_served(broker.port());
  }
  expect_served(broker.port());
  EXPECT_TRUE(broker.alive());
}

TEST_F(ApiVersionsTest, MalformedBodyClosesConnection) {
  RawClient client(broker.port(), std::chrono::seconds(3));
  // v3 body whose compact string length runs past the frame.
  const std::vector<uint8_t> bytes = {0, 0, 0, 13,   0,    18,   0,    3,   0,
                                      0, 0, 1, 0xff, 0xff, 0x00, 0x40, 0x61};
  client.send_bytes(bytes);
  EXPECT_TRUE(client.closed_by_peer());
  expect_served(broker.port());
}

TEST(BrokerLifecycle, SigtermExitsZero) {
  BrokerProcess broker;
  RawClient client(broker.port());
  client.send_bytes(api_versions_request(4, 1));
  ASSERT_TRUE(client.read_frame());
  ExitStatus status = broker.stop();
  EXPECT_EQ(status.code, 0);
  EXPECT_EQ(status.signal, 0);
}

TEST(BrokerLifecycle, ConfigErrorsExitTwoWithClearMessage) {
  auto missing = run_broker_once({"/nonexistent/server.properties"}, std::chrono::seconds(10));
  EXPECT_EQ(missing.first.code, 2);
  EXPECT_NE(missing.second.find("/nonexistent/server.properties"), std::string::npos);

  auto dir = make_temp_dir("kb-cfg-");
  auto path = (dir / "bad.properties").string();
  {
    std::ofstream f(path);
    f << "# comment\nlisteners=PLAINTEXT://127.0.0.1:0\nnode.id=abc\n";
  }
  auto bad_value = run_broker_once({path}, std::chrono::seconds(10));
  EXPECT_EQ(bad_value.first.code, 2);
  EXPECT_NE(bad_value.second.find(path + ":3"), std::string::npos) << bad_value.second;
  EXPECT_NE(bad_value.second.find("node.id"), std::string::npos);
  {
    std::ofstream f(path);
    // Java's Properties.load refuses a malformed \\uxxxx escape, so Kafka does not start.
    f << "listeners=PLAINTEXT://127.0.0.1:0\nlog.dirs=" << (dir / "data").string()
      << "\nbad=\\u12\n";
  }
  auto malformed = run_broker_once({path}, std::chrono::seconds(10));
  EXPECT_EQ(malformed.first.code, 2);
  EXPECT_NE(malformed.second.find(path), std::string::npos) << malformed.second;
  EXPECT_NE(malformed.second.find("line 3"), std::string::npos) << malformed.second;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kb::testing
