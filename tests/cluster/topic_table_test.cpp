#include "kb/cluster/topic_table.hpp"

#include <gtest/gtest.h>

namespace kb::cluster {
namespace {

Uuid id_of(uint8_t n) {
  Uuid u;
  u.bytes[15] = n;
  return u;
}

PartitionInfo partition(int32_t index, int32_t leader = 1) {
  PartitionInfo p;
  p.partition_index = index;
  p.leader = leader;
  p.replicas = {leader};
  p.isr = {leader};
  return p;
}

TEST(TopicTable, FindsByNameAndId) {
  TopicTable t;
  t.add_topic("orders", id_of(1));
  ASSERT_NE(t.find("orders"), nullptr);
  EXPECT_EQ(t.find(id_of(1))->name, "orders");
  EXPECT_EQ(t.find("missing"), nullptr);
  EXPECT_EQ(t.find(id_of(2)), nullptr);
}

TEST(TopicTable, PartitionsStaySortedAndReplace) {
  TopicTable t;
  t.add_topic("a", id_of(1));
  EXPECT_TRUE(t.set_partition(id_of(1), partition(2)));
  EXPECT_TRUE(t.set_partition(id_of(1), partition(0)));
  EXPECT_TRUE(t.set_partition(id_of(1), partition(1)));
  EXPECT_TRUE(t.set_partition(id_of(1), partition(1, 7)));
  const TopicInfo* topic = t.find("a");
  ASSERT_EQ(topic->partitions.size(), 3u);
  for (int32_t i = 0; i < 3; ++i) EXPECT_EQ(topic->partitions[i].partition_index, i);
  EXPECT_EQ(topic->partition(1)->leader, 7);
  EXPECT_EQ(topic->partition(3), nullptr);
  EXPECT_FALSE(t.set_partition(id_of(9), partition(0)));
}

TEST(TopicTable, SortedByNameAndRemovable) {
  TopicTable t;
  t.add_topic("zeta", id_of(1));
  t.add_topic("alpha", id_of(2));
  t.add_topic("mid", id_of(3));
  std::vector<std::string> names;
  for (const auto& [name, topic] : t.topics()) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"alpha", "mid", "zeta"}));
  EXPECT_TRUE(t.remove_topic(id_of(3)));
  EXPECT_FALSE(t.remove_topic(id_of(3)));
  EXPECT_EQ(t.find("mid"), nullptr);
  EXPECT_EQ(t.size(), 2u);
}

TEST(TopicTable, RecreatedTopicReplacesOldId) {
  TopicTable t;
  t.add_topic("x", id_of(1));
  t.set_partition(id_of(1), partition(0));
  t.add_topic("x", id_of(2));
  EXPECT_EQ(t.find(id_of(1)), nullptr);
  EXPECT_EQ(t.find("x")->id, id_of(2));
  EXPECT_TRUE(t.find("x")->partitions.empty());
}

TEST(TopicTable, InternalTopics) {
  TopicInfo t;
  t.name = "__consumer_offsets";
  EXPECT_TRUE(t.is_internal());
  t.name = "orders";
  EXPECT_FALSE(t.is_internal());
}

}  // namespace
}  // namespace kb::cluster
