#include "kb/cluster/producers.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <limits>

#include "kb/cluster/broker_state.hpp"
#include "kb/cluster/metadata_image.hpp"
#include "kb/cluster/startup.hpp"
#include "kb/cluster/topic_admin.hpp"
#include "kb/storage/record_batch.hpp"

#include "cluster/log_dir_fixture.hpp"

namespace kb::cluster {
namespace {

using ProducersTest = LogDirTest;

TEST_F(ProducersTest, IdsComeInPersistedBlocks) {
  {
    BrokerState state;
    load(state);
    for (int64_t expected = 0; expected < 1500; ++expected) {
      auto id = allocate_producer_id(state);
      ASSERT_TRUE(id.ok()) << id.error().message;
      ASSERT_EQ(*id, expected);
    }
    EXPECT_EQ(state.next_producer_id, 2000);  // two blocks taken
  }
  BrokerState again;
  load(again);
  EXPECT_EQ(again.next_producer_id, 2000);
  auto id = allocate_producer_id(again);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, 2000);  // the unused rest of the second block is never handed out
}

TEST_F(ProducersTest, ExhaustedIdSpaceIsAnError) {
  BrokerState state;
  load(state);
  state.next_producer_id = std::numeric_limits<int64_t>::max() - 10;
  EXPECT_FALSE(allocate_producer_id(state).ok());
}

TEST_F(ProducersTest, StateIsPerPartitionAndForgottenWithItsTopic) {
  BrokerState state;
  load(state);
  auto created = create_topic(state, "idem", 2);
  ASSERT_EQ(created.error, CreateTopicError::kNone);
  const wire::Uuid id = created.topic->id;
  auto log0 = state.logs->find_or_create("idem", 0, id);
  auto log1 = state.logs->find_or_create("idem", 1, id);
  ASSERT_TRUE(log0.ok() && log1.ok());

  const int64_t now = 1800000000000;
  auto t0 = state.producer_states.find_or_load(id, 0, **log0, now);
  ASSERT_TRUE(t0.ok());
  storage::RecordBatchHeader h;
  h.producer_id = 5;
  h.producer_epoch = 0;
  h.base_sequence = 0;
  h.max_timestamp = now;
  (*t0)->update(h);
  auto t1 = state.producer_states.find_or_load(id, 1, **log1, now);
  ASSERT_TRUE(t1.ok());
  EXPECT_NE(*t0, *t1);
  EXPECT_EQ((*t1)->find(5), nullptr);
  auto again = state.producer_states.find_or_load(id, 0, **log0, now + 1000);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *t0);
  EXPECT_NE((*again)->find(5), nullptr);

  // A day later (and an expiration check due) the silent producer is gone.
  auto later = state.producer_states.find_or_load(id, 0, **log0, now + kProducerIdExpirationMs);
  ASSERT_TRUE(later.ok());
  EXPECT_EQ((*later)->find(5), nullptr);

  EXPECT_EQ(state.producer_states.loaded_count(), 2u);
  apply_metadata_record(state, storage::RemoveTopicRecord{id});
  EXPECT_EQ(state.producer_states.loaded_count(), 0u);
}

}  // namespace
}  // namespace kb::cluster
