#include "kb/handlers/describe_topic_partitions.hpp"

#include <gtest/gtest.h>

namespace kb::handlers {
namespace {

using protocol::DescribeTopicPartitionsRequest;
using Request = DescribeTopicPartitionsRequest;

wire::Uuid id_of(uint8_t n) {
  wire::Uuid u;
  u.bytes[0] = 0xab;
  u.bytes[15] = n;
  return u;
}

class DescribeTopicPartitionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    add("bar", 1, 1);
    add("foo", 2, 3);
    add("__consumer_offsets", 3, 2);
  }
  void add(const std::string& name, uint8_t id, int32_t partitions) {
    state.topics.add_topic(name, id_of(id));
    for (int32_t i = 0; i < partitions; ++i) {
      cluster::PartitionInfo p;
      p.partition_index = i;
      p.leader = 1;
      p.leader_epoch = i;
      p.replicas = {1};
      p.isr = {1};
      state.topics.set_partition(id_of(id), p);
    }
  }
  protocol::DescribeTopicPartitionsResponse run(const Request& r) {
    protocol::RequestHeader header{75, 0, 1, "t"};
    ApiRegistry registry;
    RequestContext ctx{header, registry, state, Clock::now(), Clock::now(), true, {}};
    return *handle_describe_topic_partitions(ctx, r, 0);
  }
  cluster::BrokerState state;
};

TEST_F(DescribeTopicPartitionsTest, UnknownTopic) {
  Request r;
  r.topics.push_back({"nope"});
  auto resp = run(r);
  ASSERT_EQ(resp.topics.size(), 1u);
  EXPECT_EQ(resp.topics[0].error_code, 3);
  EXPECT_EQ(resp.topics[0].name, "nope");
  EXPECT_TRUE(resp.topics[0].topic_id.is_zero());
  EXPECT_TRUE(resp.topics[0].partitions.empty());
  EXPECT_FALSE(resp.next_cursor);
}

TEST_F(DescribeTopicPartitionsTest, SeveralTopicsSortedWithPartitions) {
  Request r;
  r.topics = {{"foo"}, {"nope"}, {"bar"}, {"foo"}};
  auto resp = run(r);
  ASSERT_EQ(resp.topics.size(), 3u);
  EXPECT_EQ(resp.topics[0].name, "bar");
  EXPECT_EQ(resp.topics[1].name, "foo");
  EXPECT_EQ(resp.topics[2].name, "nope");
  EXPECT_EQ(resp.topics[1].topic_id, id_of(2));
  ASSERT_EQ(resp.topics[1].partitions.size(), 3u);
  for (int32_t i = 0; i < 3; ++i) {
    EXPECT_EQ(resp.topics[1].partitions[i].partition_index, i);
    EXPECT_EQ(resp.topics[1].partitions[i].leader_epoch, i);
    EXPECT_EQ(resp.topics[1].partitions[i].replica_nodes, std::vector<int32_t>{1});
  }
  EXPECT_EQ(resp.topics[1].topic_authorized_operations, 0x0df8);
  EXPECT_FALSE(resp.next_cursor);
}

TEST_F(DescribeTopicPartitionsTest, EmptyListMeansAllTopicsAndInternalFlag) {
  auto resp = run(Request{});
  ASSERT_EQ(resp.topics.size(), 3u);
  EXPECT_EQ(resp.topics[0].name, "__consumer_offsets");
  EXPECT_TRUE(resp.topics[0].is_internal);
  EXPECT_FALSE(resp.topics[1].is_internal);
}

TEST_F(DescribeTopicPartitionsTest, PagesWithLimitOneAndCursor) {
  Request r;
  r.topics = {{"foo"}, {"bar"}};
  r.response_partition_limit = 1;
  std::vector<std::pair<std::string, int32_t>> seen;
  for (int page = 0; page < 10; ++page) {
    auto resp = run(r);
    for (const auto& t : resp.topics)
      for (const auto& p : t.partitions) seen.emplace_back(*t.name, p.partition_index);
    if (!resp.next_cursor) break;
    // Views into the response's strings: keep them alive across the next run.
    static std::string cursor_topic;
    cursor_topic = resp.next_cursor->topic_name;
    r.cursor = Request::Cursor{cursor_topic, resp.next_cursor->partition_index};
  }
  const std::vector<std::pair<std::string, int32_t>> expected = {
      {"bar", 0}, {"foo", 0}, {"foo", 1}, {"foo", 2}};
  EXPECT_EQ(seen, expected);
}

TEST_F(DescribeTopicPartitionsTest, CursorInsideTopic) {
  Request r;
  r.topics = {{"foo"}};
  r.cursor = Request::Cursor{"foo", 1};
  auto resp = run(r);
  ASSERT_EQ(resp.topics.size(), 1u);
  ASSERT_EQ(resp.topics[0].partitions.size(), 2u);
  EXPECT_EQ(resp.topics[0].partitions[0].partition_index, 1);
}

}  // namespace
}  // namespace kb::handlers
