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

TEST(TopicTable, ManyTopicsAreFoundByNameAndIdWhileTheIndexGrows) {
  TopicTable t;
  auto id = [](int n) {
    Uuid u;
    u.bytes[12] = static_cast<uint8_t>(n >> 16);
    u.bytes[13] = static_cast<uint8_t>(n >> 8);
    u.bytes[14] = static_cast<uint8_t>(n);
    u.bytes[15] = 1;
    return u;
  };
  for (int i = 0; i < 20000; ++i) {
    t.add_topic("flood-" + std::to_string(i), id(i));
    ASSERT_TRUE(t.set_partition(id(i), partition(0)));
  }
  for (int i = 0; i < 20000; i += 7) {
    const std::string name = "flood-" + std::to_string(i);
    const TopicInfo* by_name = t.find(name);
    ASSERT_NE(by_name, nullptr) << name;
    EXPECT_EQ(by_name, t.find(id(i)));
    EXPECT_EQ(by_name->name, name);
    EXPECT_EQ(by_name->partitions.size(), 1u);
  }
  for (int i = 0; i < 20000; i += 2) ASSERT_TRUE(t.remove_topic(id(i)));
  EXPECT_EQ(t.size(), 10000u);
  EXPECT_EQ(t.find("flood-0"), nullptr);
  ASSERT_NE(t.find("flood-1"), nullptr);
  EXPECT_EQ(t.find("flood-1")->id, id(1));
  // The ordered listing agrees with the index.
  size_t listed = 0;
  for (const auto& [name, topic] : t.topics()) {
    EXPECT_EQ(t.find(name), &topic);
    ++listed;
  }
  EXPECT_EQ(listed, 10000u);
}

TEST(TopicTable, AnIdNamingAnotherTopicMovesIt) {
  TopicTable t;
  t.add_topic("old.name", id_of(1));
  t.add_topic("old.name", id_of(1));  // replayed: still one topic
  EXPECT_EQ(t.size(), 1u);
  t.add_topic("new_name", id_of(1));
  EXPECT_EQ(t.find("old.name"), nullptr);
  EXPECT_EQ(t.find(id_of(1))->name, "new_name");
  EXPECT_EQ(t.size(), 1u);
  // The old name's folded form no longer collides.
  EXPECT_EQ(t.find_colliding("old_name"), nullptr);
  EXPECT_EQ(t.find_colliding("new.name")->name, "new_name");
}

TEST(TopicTable, CollisionsFollowAddsAndRemoves) {
  TopicTable t;
  t.add_topic("a.b", id_of(1));
  EXPECT_EQ(t.find_colliding("a.b"), nullptr);  // itself is no collision
  EXPECT_EQ(t.find_colliding("a_b")->name, "a.b");
  EXPECT_EQ(t.find_colliding("ab"), nullptr);
  t.add_topic("a_b", id_of(2));  // replayed from a log Kafka wrote
  EXPECT_EQ(t.find_colliding("a_b")->name, "a.b");
  EXPECT_EQ(t.find_colliding("a.b")->name, "a_b");
  EXPECT_TRUE(t.remove_topic(id_of(1)));
  EXPECT_EQ(t.find_colliding("a_b"), nullptr);
  EXPECT_EQ(t.find_colliding("a.b")->name, "a_b");
  EXPECT_TRUE(t.remove_topic(id_of(2)));
  EXPECT_EQ(t.find_colliding("a.b"), nullptr);
}

TEST(TopicTable, RemovalsCountWhenAKeptPointerMayBeStale) {
  TopicTable t;
  t.add_topic("a", id_of(1));
  const uint64_t before = t.removals();
  t.add_topic("b", id_of(2));
  EXPECT_EQ(t.removals(), before);  // adding leaves pointers valid
  t.remove_topic(id_of(1));
  EXPECT_GT(t.removals(), before);
  const uint64_t after_remove = t.removals();
  t.add_topic("b", id_of(3));  // recreated under a new id
  EXPECT_GT(t.removals(), after_remove);
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
