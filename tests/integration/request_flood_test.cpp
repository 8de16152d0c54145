// Requests whose size the client chooses, against the broker binary: one
// Metadata naming 2,000 new topics (auto-creation), one CreateTopics of 2,000
// topics, and a JoinGroup offering 100,000 protocols. The topics' records are
// appended together and synced off the event loop, so another client's
// ApiVersions requests are answered while the big request waits for its
// sync; every topic is there after a SIGKILL. No timing thresholds: the times
// are printed (bench/run_hostile_bench.sh measures them).

#include <poll.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "kb/protocol/error_code.hpp"
#include "kb/protocol/messages/api_versions.hpp"
#include "kb/protocol/messages/create_topics.hpp"
#include "kb/protocol/messages/join_group.hpp"
#include "kb/protocol/messages/metadata.hpp"
#include "support/broker_process.hpp"
#include "support/kafka_client.hpp"

namespace kb::testing {
namespace {

using namespace protocol;
namespace fs = std::filesystem;

constexpr size_t kTopics = 2000;
constexpr auto kBound = std::chrono::seconds(120);

bool readable(const RawClient& client) {
  pollfd p{client.fd(), POLLIN, 0};
  return ::poll(&p, 1, 0) == 1;
}

std::vector<std::string> topic_names(std::string_view prefix) {
  std::vector<std::string> names;
  for (size_t i = 0; i < kTopics; ++i) names.push_back(std::string(prefix) + std::to_string(i));
  return names;
}

MetadataRequest metadata_request(const std::vector<std::string>& names, bool create) {
  MetadataRequest request;
  request.topics.emplace();
  for (const auto& n : names) request.topics->push_back({wire::Uuid{}, n});
  request.allow_auto_topic_creation = create;
  return request;
}

// Sends `frame` on `big`, then ApiVersions on `other`, one after another,
// until the big request's answer is there. Returns how many were answered
// before it.
size_t ping_while_waiting(RawClient& big, RawClient& other, const std::vector<uint8_t>& frame) {
  big.send_bytes(frame);
  const auto deadline = std::chrono::steady_clock::now() + kBound;
  size_t answered_before = 0;
  while (!readable(big) && std::chrono::steady_clock::now() < deadline) {
    ApiVersionsRequest ping;
    ping.client_software_name = "kb-test";
    ping.client_software_version = "1";
    std::vector<uint8_t> body;
    auto versions = call<ApiVersionsResponse>(other, ping, 3, body);
    EXPECT_EQ(versions.error_code, 0);
    if (!readable(big)) ++answered_before;
  }
  return answered_before;
}

// Every name is a topic with one partition (no creation asked).
size_t known_topics(RawClient& client, const std::vector<std::string>& names) {
  std::vector<uint8_t> body;
  auto response = call<MetadataResponse>(client, metadata_request(names, false), 12, body);
  size_t known = 0;
  for (const auto& t : response.topics) known += t.error_code == 0 && t.partitions.size() == 1;
  return known;
}

TEST(RequestFloodIntegration, MetadataAutoCreatingTwoThousandTopicsDoesNotStallOthers) {
  const fs::path root = make_temp_dir("kb-flood-");
  const auto names = topic_names("auto-");
  {
    BrokerProcess broker({}, root / "data");
    RawClient big(broker.port(), kBound);
    RawClient other(broker.port(), kBound);
    const auto started = std::chrono::steady_clock::now();
    const size_t answered =
        ping_while_waiting(big, other, encode_request(metadata_request(names, true), 12, 42));
    auto frame = big.read_frame();
    const auto took = std::chrono::steady_clock::now() - started;
    ASSERT_TRUE(frame);
    ResponseFrame r = split_response(*frame, true);
    ASSERT_EQ(r.correlation_id, 42);
    auto response = decode_response<MetadataResponse>(r.body, 12);
    ASSERT_EQ(response.topics.size(), kTopics);
    for (const auto& t : response.topics) ASSERT_EQ(t.error_code, 0) << *t.name;
    std::printf("Metadata creating %zu topics: %.1f ms; %zu ApiVersions answered meanwhile\n",
                kTopics, std::chrono::duration<double, std::milli>(took).count(), answered);
    EXPECT_GE(answered, 1u) << "ApiVersions waited for the Metadata request";
    // Answered only once the records are on disk: a SIGKILL loses nothing.
    broker.kill_hard();
  }
  BrokerProcess again({}, root / "data");
  RawClient client(again.port(), kBound);
  EXPECT_EQ(known_topics(client, names), kTopics);
  EXPECT_EQ(again.stop().code, 0);
  fs::remove_all(root);
}

TEST(RequestFloodIntegration, CreateTopicsOfTwoThousandTopicsDoesNotStallOthers) {
  const fs::path root = make_temp_dir("kb-flood-");
  const auto names = topic_names("made-");
  {
    BrokerProcess broker({}, root / "data");
    RawClient big(broker.port(), kBound);
    RawClient other(broker.port(), kBound);
    CreateTopicsRequest request;
    for (const auto& n : names) {
      auto& t = request.topics.emplace_back();
      t.name = n;
      t.num_partitions = 1;
      t.replication_factor = -1;
    }
    request.timeout_ms = 120000;
    const auto started = std::chrono::steady_clock::now();
    const size_t answered = ping_while_waiting(big, other, encode_request(request, 7, 43));
    auto frame = big.read_frame();
    const auto took = std::chrono::steady_clock::now() - started;
    ASSERT_TRUE(frame);
    ResponseFrame r = split_response(*frame, true);
    ASSERT_EQ(r.correlation_id, 43);
    auto response = decode_response<CreateTopicsResponse>(r.body, 7);
    ASSERT_EQ(response.topics.size(), kTopics);
    for (const auto& t : response.topics) ASSERT_EQ(t.error_code, 0) << t.name;
    std::printf("CreateTopics of %zu topics: %.1f ms; %zu ApiVersions answered meanwhile\n",
                kTopics, std::chrono::duration<double, std::milli>(took).count(), answered);
    EXPECT_GE(answered, 1u) << "ApiVersions waited for the CreateTopics request";
    // Answered once the records are synced and the directories exist.
    for (const auto& n : {names.front(), names.back()})
      EXPECT_TRUE(fs::exists(broker.log_dir() / (n + "-0") / "partition.metadata")) << n;
    broker.kill_hard();
  }
  BrokerProcess again({}, root / "data");
  RawClient client(again.port(), kBound);
  EXPECT_EQ(known_topics(client, names), kTopics);
  EXPECT_EQ(again.stop().code, 0);
  fs::remove_all(root);
}

TEST(RequestFloodIntegration, JoinGroupWithAHundredThousandProtocolsIsAnswered) {
  BrokerProcess broker(
      std::map<std::string, std::string>{{"group.initial.rebalance.delay.ms", "0"}});
  RawClient client(broker.port(), kBound);
  std::vector<std::string> names;
  for (int i = 0; i < 100000; ++i) names.push_back("protocol-" + std::to_string(i));
  const std::vector<uint8_t> metadata{0, 1, 0, 0, 0, 0};
  JoinGroupRequest join;
  join.group_id = "flood";
  join.session_timeout_ms = 10000;
  join.rebalance_timeout_ms = 20000;
  join.protocol_type = "consumer";
  for (const auto& n : names) join.protocols.push_back({n, metadata});
  std::vector<uint8_t> body;
  const auto started = std::chrono::steady_clock::now();
  auto first = call<JoinGroupResponse>(client, join, 9, body, 1);
  ASSERT_EQ(first.error_code, to_wire(ErrorCode::kMemberIdRequired));
  const std::string member_id(first.member_id);
  join.member_id = member_id;
  auto joined = call<JoinGroupResponse>(client, join, 9, body, 2);
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_EQ(joined.error_code, 0);
  EXPECT_EQ(joined.protocol_name, "protocol-0");
  EXPECT_EQ(joined.leader, member_id);
  std::printf("two JoinGroups of 100,000 protocols: %.1f ms\n",
              std::chrono::duration<double, std::milli>(took).count());
}

// The JoinGroup is read a part per loop turn: another client's ApiVersions
// are answered while it is read, and a member rejoining with its 100,000
// protocols in the other order gets its new first choice.
TEST(RequestFloodIntegration, JoinGroupOfAHundredThousandProtocolsDoesNotStallOthers) {
  BrokerProcess broker(
      std::map<std::string, std::string>{{"group.initial.rebalance.delay.ms", "0"}});
  RawClient big(broker.port(), kBound);
  RawClient other(broker.port(), kBound);
  std::vector<std::string> names;
  for (int i = 0; i < 100000; ++i) names.push_back("protocol-" + std::to_string(i));
  const std::vector<uint8_t> metadata{0, 1, 0, 0, 0, 0};
  JoinGroupRequest join;
  join.group_id = "flood";
  join.session_timeout_ms = 10000;
  join.rebalance_timeout_ms = 20000;
  join.protocol_type = "consumer";
  for (const auto& n : names) join.protocols.push_back({n, metadata});
  std::vector<uint8_t> body;
  auto first = call<JoinGroupResponse>(big, join, 9, body, 1);
  ASSERT_EQ(first.error_code, to_wire(ErrorCode::kMemberIdRequired));
  const std::string member_id(first.member_id);
  join.member_id = member_id;
  std::reverse(join.protocols.begin(), join.protocols.end());
  for (int round = 0; round < 2; ++round) {
    // The new member, then the same member with its protocols the other way round.
    const int32_t correlation = 10 + round;
    const size_t answered = ping_while_waiting(big, other, encode_request(join, 9, correlation));
    auto frame = big.read_frame();
    ASSERT_TRUE(frame);
    ResponseFrame r = split_response(*frame, true);
    ASSERT_EQ(r.correlation_id, correlation);
    auto joined = decode_response<JoinGroupResponse>(r.body, 9);
    ASSERT_EQ(joined.error_code, 0);
    EXPECT_EQ(joined.protocol_name, std::string(join.protocols.front().name));
    EXPECT_EQ(joined.leader, member_id);
    ASSERT_EQ(joined.members.size(), 1u);
    EXPECT_EQ(joined.members[0].metadata, metadata);
    std::printf("JoinGroup of 100,000 protocols (round %d): %zu ApiVersions answered meanwhile\n",
                round, answered);
    EXPECT_GE(answered, 1u) << "ApiVersions waited for the JoinGroup";
    std::reverse(join.protocols.begin(), join.protocols.end());
  }
}

}  // namespace
}  // namespace kb::testing
