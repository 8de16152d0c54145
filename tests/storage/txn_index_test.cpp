#include "kb/storage/txn_index.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "kb/storage/partition_log.hpp"
#include "kb/storage/producer_state.hpp"
#include "storage_test_util.hpp"

namespace kb::storage {
namespace {

using test::ByteVec;
using wire::Uuid;

// The header of a transactional batch of `count` records at `base_offset`.
RecordBatchHeader txn_batch(int64_t producer_id, int16_t epoch, int32_t base_sequence,
                            int32_t count, int64_t base_offset) {
  RecordBatchHeader h;
  h.producer_id = producer_id;
  h.producer_epoch = epoch;
  h.base_sequence = base_sequence;
  h.record_count = count;
  h.last_offset_delta = count - 1;
  h.base_offset = base_offset;
  h.max_timestamp = 1700000000000;
  h.attributes = batch_attributes::kTransactional;
  return h;
}

RecordBatchHeader marker_at(int64_t producer_id, int16_t epoch, int64_t offset) {
  RecordBatchHeader h = txn_batch(producer_id, epoch, -1, 1, offset);
  h.attributes = batch_attributes::kTransactional | batch_attributes::kControl;
  return h;
}

ByteVec txn_records(int64_t producer_id, int16_t epoch, int32_t base_sequence, int count) {
  RecordBatchBuilder builder;
  builder.set_producer_id(producer_id)
      .set_producer_epoch(epoch)
      .set_base_sequence(base_sequence)
      .set_transactional(true);
  for (int i = 0; i < count; ++i)
    builder.add_record(std::nullopt, test::as_bytes("v"), 1700000000000 + i);
  return builder.build();
}

ByteVec marker_records(int64_t producer_id, int16_t epoch, bool commit) {
  RecordBatchBuilder builder;
  builder.set_producer_id(producer_id)
      .set_producer_epoch(epoch)
      .set_transactional(true)
      .set_control(true);
  const ByteVec key = {0, 0, 0, static_cast<uint8_t>(commit ? 1 : 0)};
  const ByteVec value = {0, 0, 0, 0, 0, 5};
  builder.add_record(Bytes(key), Bytes(value), 1700000000000);
  return builder.build();
}

TEST(TxnIndex, KafkaLayoutAndTornTail) {
  const AbortedTxn txn{0x0102030405060708, 10, 20, 15};
  EXPECT_EQ(encode_aborted_txn(txn), test::from_hex("0000"
                                                    "0102030405060708"
                                                    "000000000000000a"
                                                    "0000000000000014"
                                                    "000000000000000f"));
  ByteVec two = encode_aborted_txn(txn);
  const ByteVec second = encode_aborted_txn({9, 1, 2, 3});
  two.insert(two.end(), second.begin(), second.end());
  two.push_back(0);  // a torn third entry
  auto decoded = decode_txn_index(two);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, (std::vector<AbortedTxn>{txn, {9, 1, 2, 3}}));
  two[kAbortedTxnSize + 1] = 7;  // version 7
  EXPECT_FALSE(decode_txn_index(two).ok());
}

TEST(TxnIndex, AppendsPerSegmentAndReadsInSegmentOrder) {
  test::TempDir dir;
  ASSERT_TRUE(append_aborted_txn(dir.path(), 100, {1, 100, 105, 106}).ok());
  ASSERT_TRUE(append_aborted_txn(dir.path(), 0, {2, 3, 7, 8}).ok());
  ASSERT_TRUE(append_aborted_txn(dir.path(), 100, {3, 101, 110, 111}).ok());
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "00000000000000000100.txnindex"));
  EXPECT_EQ(std::filesystem::file_size(dir.path() / "00000000000000000100.txnindex"),
            2 * kAbortedTxnSize);
  auto all = read_txn_indexes(dir.path());
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3U);
  EXPECT_EQ((*all)[0].producer_id, 2);
  EXPECT_EQ((*all)[2].producer_id, 3);
}

TEST(ProducerStateTxn, OngoingTransactionsHoldTheLastStableOffset) {
  ProducerStateTable table;
  EXPECT_FALSE(table.first_unstable_offset());
  EXPECT_FALSE(table.update(txn_batch(1, 0, 0, 3, 10)));
  EXPECT_FALSE(table.update(txn_batch(2, 0, 0, 2, 13)));
  EXPECT_FALSE(table.update(txn_batch(1, 0, 3, 1, 15)));  // the same transaction goes on
  EXPECT_EQ(table.first_unstable_offset(), 10);
  EXPECT_EQ(table.find(1)->current_txn_first_offset, 10);
  // Producer 1 commits: producer 2's transaction holds the offset now.
  EXPECT_FALSE(table.update(marker_at(1, 0, 16), true, 5));
  EXPECT_EQ(table.first_unstable_offset(), 13);
  EXPECT_EQ(table.find(1)->current_txn_first_offset, -1);
  EXPECT_EQ(table.find(1)->coordinator_epoch, 5);
  // Producer 2 aborts: an aborted transaction, stable past its marker.
  auto aborted = table.update(marker_at(2, 0, 17), false, 5);
  ASSERT_TRUE(aborted);
  EXPECT_EQ(*aborted, (AbortedTxn{2, 13, 17, 18}));
  EXPECT_FALSE(table.first_unstable_offset());
  // A marker for a producer with nothing ongoing changes nothing.
  EXPECT_FALSE(table.update(marker_at(2, 0, 18), false, 5));
  // A fenced producer's marker at a bumped epoch: its old batches are refused.
  EXPECT_FALSE(table.update(txn_batch(3, 0, 0, 1, 19)));
  ASSERT_TRUE(table.update(marker_at(3, 1, 20), false, 5));
  EXPECT_EQ(table.check(txn_batch(3, 0, 1, 1, 0)).verdict, SequenceVerdict::old_epoch);
  EXPECT_EQ(table.check(txn_batch(3, 1, 0, 1, 0)).verdict, SequenceVerdict::append);
  // An ongoing transaction's producer never expires.
  EXPECT_FALSE(table.update(txn_batch(4, 0, 0, 1, 21)));
  EXPECT_EQ(table.remove_expired(1700000000000 + 1000, 10), 3U);
  EXPECT_NE(table.find(4), nullptr);
}

TEST(ProducerStateTxn, SnapshotCarriesTheOngoingTransaction) {
  ProducerStateTable table;
  table.update(txn_batch(1, 0, 0, 3, 10));
  table.update(txn_batch(2, 0, 0, 1, 13));
  table.update(marker_at(2, 0, 14), true, 3);
  ProducerStateTable restored;
  ASSERT_TRUE(decode_producer_snapshot(encode_producer_snapshot(table), restored).ok());
  EXPECT_EQ(restored.find(1)->current_txn_first_offset, 10);
  EXPECT_EQ(restored.find(2)->current_txn_first_offset, -1);
  EXPECT_EQ(restored.find(2)->coordinator_epoch, 3);
  EXPECT_EQ(restored.first_unstable_offset(), 10);
}

TEST(ProducerStateTxn, LoadFindsOngoingAndAbortedTransactionsInTheLog) {
  test::TempDir dir;
  auto log = PartitionLog::create(dir.path(), "txn", 0, Uuid{{7}});
  ASSERT_TRUE(log.ok());
  auto append = [&](const ByteVec& batch) { ASSERT_TRUE((*log)->append(batch).ok()); };
  append(txn_records(1, 0, 0, 2));      // 0-1
  append(txn_records(2, 0, 0, 1));      // 2
  append(marker_records(1, 0, false));  // 3: producer 1 aborts
  append(txn_records(2, 0, 1, 1));      // 4
  append(marker_records(2, 0, true));   // 5: producer 2 commits
  append(txn_records(3, 0, 0, 2));      // 6-7: still open
  auto marker = read_marker(**log, 3);
  ASSERT_TRUE(marker.ok());
  EXPECT_EQ(*marker, std::optional<bool>(false));
  EXPECT_EQ(*read_marker(**log, 5), std::optional<bool>(true));
  EXPECT_EQ(*read_marker(**log, 4), std::nullopt);

  // No index entry was written (a crash before it): the load finds the
  // abort in the log and indexes it.
  auto loaded = load_producer_state(**log);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(loaded->table.first_unstable_offset(), 6);
  ASSERT_EQ(loaded->aborted.size(), 1U);
  EXPECT_EQ(loaded->aborted[0], (AbortedTxn{1, 0, 3, 2}));
  auto indexed = read_txn_indexes(dir.path() / "txn-0");
  ASSERT_TRUE(indexed.ok());
  EXPECT_EQ(*indexed, loaded->aborted);
  // Loaded again: the entry is not doubled.
  auto again = load_producer_state(**log);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->aborted.size(), 1U);
  EXPECT_EQ(read_txn_indexes(dir.path() / "txn-0")->size(), 1U);
}

}  // namespace
}  // namespace kb::storage
