#include "kb/cluster/topic_admin.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "kb/cluster/startup.hpp"

namespace kb::cluster {
namespace {

class TopicAdminTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "kb-admin-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void load(BrokerState& state) {
    LogDirOptions options;
    options.log_dir = dir_;
    ASSERT_TRUE(load_log_dir(options, state).ok());
  }
  std::filesystem::path dir_;
};

TEST(TopicName, KafkaRules) {
  EXPECT_TRUE(topic_name_problem("orders.v1_x-2").empty());
  EXPECT_FALSE(topic_name_problem("").empty());
  EXPECT_FALSE(topic_name_problem(".").empty());
  EXPECT_FALSE(topic_name_problem("..").empty());
  EXPECT_FALSE(topic_name_problem("a/b").empty());
  EXPECT_FALSE(topic_name_problem("../etc").empty());
  EXPECT_FALSE(topic_name_problem(std::string("a\0b", 3)).empty());
  EXPECT_FALSE(topic_name_problem(std::string(250, 'a')).empty());
  EXPECT_TRUE(topic_name_problem(std::string(249, 'a')).empty());
}

TEST_F(TopicAdminTest, CreatedTopicSurvivesARestart) {
  wire::Uuid id;
  {
    BrokerState state;
    load(state);
    auto r = create_topic(state, "orders", 3);
    ASSERT_EQ(r.error, CreateTopicError::kNone) << r.message;
    ASSERT_NE(r.topic, nullptr);
    EXPECT_EQ(r.topic->partitions.size(), 3u);
    id = r.topic->id;
    EXPECT_EQ(create_topic(state, "orders", 1).error, CreateTopicError::kAlreadyExists);
    EXPECT_EQ(create_topic(state, "more", 2).error, CreateTopicError::kNone);
  }
  BrokerState again;
  load(again);
  const TopicInfo* t = again.topics.find("orders");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->id, id);
  EXPECT_EQ(t->partitions.size(), 3u);
  EXPECT_NE(again.topics.find("more"), nullptr);
  EXPECT_EQ(again.features.at("metadata.version"), 25);
}

TEST_F(TopicAdminTest, RefusesCollisionsInvalidNamesAndPartitionCounts) {
  BrokerState state;
  load(state);
  ASSERT_EQ(create_topic(state, "a.b", 1).error, CreateTopicError::kNone);
  EXPECT_EQ(create_topic(state, "a_b", 1).error, CreateTopicError::kInvalidName);
  EXPECT_EQ(create_topic(state, "x/y", 1).error, CreateTopicError::kInvalidName);
  EXPECT_EQ(create_topic(state, "zero", 0).error, CreateTopicError::kInvalidPartitions);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "x"));
}

}  // namespace
}  // namespace kb::cluster
