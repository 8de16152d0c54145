#include "kb/base/incremental_hash_map.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>

namespace kb::base {
namespace {

TEST(IncrementalHashMap, FindsInsertsReplacesAndErases) {
  IncrementalHashMap<std::string, int> m;
  EXPECT_EQ(m.find("a"), nullptr);
  EXPECT_FALSE(m.erase("a"));
  m.insert_or_assign("a", 1);
  m.insert_or_assign("b", 2);
  ASSERT_NE(m.find("a"), nullptr);
  EXPECT_EQ(*m.find("a"), 1);
  m.insert_or_assign("a", 3);
  EXPECT_EQ(*m.find("a"), 3);
  EXPECT_EQ(m.size(), 2u);
  EXPECT_TRUE(m.erase("a"));
  EXPECT_EQ(m.find("a"), nullptr);
  EXPECT_EQ(*m.find("b"), 2);
  EXPECT_EQ(m.size(), 1u);
}

// Every entry stays findable while the table grows, in the middle of moving
// buckets as well; values never move in memory.
TEST(IncrementalHashMap, EntriesStayFindableAndInPlaceWhileItGrows) {
  IncrementalHashMap<int, int> m;
  std::map<int, const int*> where;
  bool saw_moving = false;
  for (int i = 0; i < 100000; ++i) {
    where[i] = &m.insert_or_assign(i, i * 2);
    saw_moving = saw_moving || m.moving();
    if (i % 997 == 0)
      for (int j = 0; j <= i; j += 13) {
        ASSERT_NE(m.find(j), nullptr) << j << " after " << i;
        ASSERT_EQ(m.find(j), where[j]);
        ASSERT_EQ(*m.find(j), j * 2);
      }
  }
  EXPECT_TRUE(saw_moving);
  EXPECT_EQ(m.size(), 100000u);
  EXPECT_GE(m.bucket_count(), 100000u);
  EXPECT_EQ(m.find(100000), nullptr);
}

// A grown table's old buckets are all moved well before it fills again: at
// most one old table exists, and each insert moves a bounded number of them.
TEST(IncrementalHashMap, TheOldTableIsEmptiedBeforeTheNextGrowth) {
  IncrementalHashMap<int, int> m;
  size_t buckets = 0;
  for (int i = 0; i < 50000; ++i) {
    m.insert_or_assign(i, i);
    if (m.bucket_count() != buckets) {
      // Grown: it holds as many entries as the old table had buckets.
      if (buckets != 0) {
        EXPECT_EQ(m.bucket_count(), buckets * 2);
      }
      buckets = m.bucket_count();
      EXPECT_LE(m.size(), buckets);
    }
    // Moving lasts at most a quarter of the old table's buckets in inserts.
    if (m.moving()) {
      EXPECT_LE(m.size(), buckets / 2 + buckets / 8 + 1);
    }
  }
}

TEST(IncrementalHashMap, ErasesWhileMovingAndMatchesAMap) {
  IncrementalHashMap<std::string, int> m;
  std::map<std::string, int> model;
  std::mt19937 random(7);
  for (int i = 0; i < 60000; ++i) {
    const std::string key = "k" + std::to_string(random() % 20000);
    if (random() % 3 == 0) {
      EXPECT_EQ(m.erase(key), model.erase(key) == 1);
    } else {
      m.insert_or_assign(key, i);
      model[key] = i;
    }
  }
  EXPECT_EQ(m.size(), model.size());
  for (int k = 0; k < 20000; ++k) {
    const std::string key = "k" + std::to_string(k);
    auto it = model.find(key);
    const int* found = m.find(key);
    if (it == model.end()) {
      EXPECT_EQ(found, nullptr) << key;
    } else {
      ASSERT_NE(found, nullptr) << key;
      EXPECT_EQ(*found, it->second);
    }
  }
}

TEST(IncrementalHashMap, AKnownHashFindsTheSameEntry) {
  IncrementalHashMap<std::string, int> m;
  for (int i = 0; i < 1000; ++i) m.insert_or_assign("t" + std::to_string(i), i);
  const size_t hash = m.hash_of("t500");
  ASSERT_NE(m.find("t500", hash), nullptr);
  EXPECT_EQ(m.find("t500", hash), m.find("t500"));
}

TEST(IncrementalHashMap, MovesAndClears) {
  IncrementalHashMap<int, std::string> a;
  for (int i = 0; i < 1000; ++i) a.insert_or_assign(i, std::to_string(i));
  IncrementalHashMap<int, std::string> b(std::move(a));
  EXPECT_EQ(b.size(), 1000u);
  EXPECT_EQ(*b.find(999), "999");
  EXPECT_EQ(a.size(), 0u);  // NOLINT(bugprone-use-after-move): a moved-from map is empty
  EXPECT_EQ(a.find(1), nullptr);
  b.clear();
  EXPECT_EQ(b.find(1), nullptr);
  b.insert_or_assign(1, "one");
  EXPECT_EQ(*b.find(1), "one");
}

}  // namespace
}  // namespace kb::base
