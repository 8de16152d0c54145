// PartitionLog::read against a plain model: whole batches from the one that
// holds the fetch offset while they fit in max_bytes (the first always), with
// the offset index used to skip headers.

#include <gtest/gtest.h>

#include <random>

#include "kb/storage/partition_log.hpp"
#include "kb/storage/record_batch.hpp"
#include "storage_test_util.hpp"

namespace kb::storage {
namespace {

using test::ByteVec;

TEST(PartitionLogRead, MatchesModelForRandomOffsetsAndLimits) {
  for (uint32_t interval : {0u, 64u, 4096u}) {
    test::TempDir dir;
    PartitionLogOptions options;
    options.index_interval_bytes = interval;
    auto log = PartitionLog::create(dir.path(), "model", 0, wire::Uuid{{3}}, options);
    ASSERT_TRUE(log.ok()) << log.error().message;
    std::mt19937 rng(interval + 11);
    struct Batch {
      int64_t base;
      int64_t next;
      size_t size;
    };
    std::vector<Batch> model;
    for (int i = 0; i < 300; ++i) {
      ByteVec b = test::make_batch(0, 1 + static_cast<int>(rng() % 4), 1700000000000, rng() % 300);
      auto appended = (*log)->append(b);
      ASSERT_TRUE(appended.ok());
      model.push_back({appended->first_offset, appended->last_offset + 1, b.size()});
    }
    for (int q = 0; q < 2000; ++q) {
      const int64_t offset = static_cast<int64_t>(rng() % static_cast<uint32_t>(model.back().next));
      const uint64_t max_bytes = rng() % 6000;
      auto read = (*log)->read(offset, max_bytes);
      ASSERT_TRUE(read.ok());
      size_t first = 0;
      while (model[first].next <= offset) ++first;
      uint64_t expected = model[first].size;
      for (size_t i = first + 1; i < model.size() && expected + model[i].size <= max_bytes; ++i)
        expected += model[i].size;
      ASSERT_EQ(read->first_batch_base_offset, model[first].base) << "offset " << offset;
      ASSERT_EQ(read->length, expected)
          << "offset " << offset << " max " << max_bytes << " interval " << interval;
    }
  }
}

}  // namespace
}  // namespace kb::storage
