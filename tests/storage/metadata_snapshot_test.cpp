#include "kb/storage/metadata_snapshot.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "kb/storage/metadata_records.hpp"
#include "kb/storage/record_batch.hpp"
#include "storage_test_util.hpp"

namespace kb::storage {
namespace {

namespace fs = std::filesystem;
using test::ByteVec;

std::vector<ByteVec> topic_records(int count) {
  std::vector<ByteVec> values;
  values.push_back(encode_metadata_record(FeatureLevelRecord{"metadata.version", 25}));
  for (int i = 0; i < count; ++i) {
    Uuid id{{static_cast<uint8_t>(i + 1)}};
    values.push_back(encode_metadata_record(TopicRecord{"t" + std::to_string(i), id}));
    PartitionRecord p;
    p.partition_id = 0;
    p.topic_id = id;
    p.replicas = p.isr = {1};
    p.leader = 1;
    values.push_back(encode_metadata_record(p));
  }
  return values;
}

TEST(MetadataSnapshot, FileNamesAreKafkas) {
  EXPECT_EQ(snapshot_file_name({1234, 7}), "00000000000000001234-0000000007.checkpoint");
  test::TempDir dir;
  const ByteVec bytes = encode_metadata_snapshot({10, 2}, 55, 66, topic_records(1));
  ASSERT_TRUE(write_metadata_snapshot(dir.path(), {10, 2}, bytes).ok());
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir.path())) names.push_back(e.path().filename());
  ASSERT_EQ(names, std::vector<std::string>{"00000000000000000010-0000000002.checkpoint"});
  struct stat st {};
  ASSERT_EQ(::stat((dir.path() / names[0]).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0222, 0u) << "a finished snapshot is read-only, as Kafka leaves it";
  EXPECT_EQ(test::read_whole_file(dir.path() / names[0]), bytes);
}

// Header first, the records in batches of at most 1,024 numbered from 0,
// footer last, every batch carrying the snapshot's epoch; the replay reads
// them back in order.
TEST(MetadataSnapshot, WriteThenReplayRoundTrip) {
  test::TempDir dir;
  const std::vector<ByteVec> values = topic_records(700);  // 1,401 records
  const SnapshotId id{5000, 3};
  const ByteVec bytes = encode_metadata_snapshot(id, 1234, 99, values);
  ASSERT_TRUE(write_metadata_snapshot(dir.path(), id, bytes).ok());
  const fs::path file = dir.path() / snapshot_file_name(id);
  EXPECT_EQ(metadata_snapshot_problem(file), "");
  auto timestamp = snapshot_last_contained_timestamp(file);
  ASSERT_TRUE(timestamp.ok());
  EXPECT_EQ(*timestamp, 1234);

  BatchIterator batches(bytes);
  std::vector<RecordBatchView> views;
  while (auto b = batches.next()) views.push_back(*b);
  ASSERT_EQ(views.size(), 4u);  // header, 1024, 377, footer
  EXPECT_TRUE(views.front().is_control());
  EXPECT_TRUE(views.back().is_control());
  EXPECT_EQ(views[1].record_count(), 1024);
  EXPECT_EQ(views[2].record_count(), 377);
  int64_t next = 0;
  for (const auto& v : views) {
    EXPECT_EQ(v.base_offset(), next);
    EXPECT_EQ(v.partition_leader_epoch(), 3);
    next = v.next_offset();
  }

  std::vector<ByteVec> replayed;
  auto summary = replay_metadata_log(dir.path(), [&](const MetadataLogEntry& e) {
    EXPECT_TRUE(e.from_snapshot);
    ByteBuffer out;
    encode_metadata_record(*e.record, e.version, out);
    replayed.emplace_back(out.data(), out.data() + out.size());
  });
  ASSERT_TRUE(summary.ok());
  EXPECT_FALSE(summary->stopped_early()) << summary->stop_message;
  ASSERT_TRUE(summary->snapshot);
  EXPECT_EQ(*summary->snapshot, id);
  EXPECT_EQ(summary->next_offset, 5000);
  EXPECT_EQ(replayed, values);
}

TEST(MetadataSnapshot, DamageIsFound) {
  test::TempDir dir;
  const ByteVec bytes = encode_metadata_snapshot({10, 1}, 0, 0, topic_records(3));
  const fs::path file = dir.path() / "s.checkpoint";
  test::write_whole_file(file, bytes);
  ASSERT_EQ(metadata_snapshot_problem(file), "");

  ByteVec flipped = bytes;
  flipped[bytes.size() / 2] ^= 1;
  test::write_whole_file(file, flipped);
  EXPECT_NE(metadata_snapshot_problem(file).find("CRC"), std::string::npos);

  // Cut at a batch boundary: every batch is whole, but the footer is gone.
  BatchIterator batches(bytes);
  size_t without_footer = 0;
  std::optional<RecordBatchView> last;
  while (auto b = batches.next()) last = b;
  without_footer = bytes.size() - last->size_in_bytes();
  test::write_whole_file(file, ByteVec(bytes.begin(), bytes.begin() + without_footer));
  EXPECT_NE(metadata_snapshot_problem(file).find("SnapshotFooter"), std::string::npos);

  test::write_whole_file(file, ByteVec{});
  EXPECT_NE(metadata_snapshot_problem(file), "");
}

// The newest snapshot that is whole wins; a damaged newer one is passed over
// only when the log holds the records up to its end (here it has none).
TEST(MetadataSnapshot, ReplayPassesOverADamagedNewestSnapshotOnlyWhenTheLogReachesItsEnd) {
  test::TempDir dir;
  ASSERT_TRUE(write_metadata_snapshot(dir.path(), {3},
                                      encode_metadata_snapshot({3}, 0, 0, topic_records(1)))
                  .ok());
  ByteVec newer = encode_metadata_snapshot({5}, 0, 0, topic_records(2));
  newer[newer.size() - 30] ^= 0x80;
  test::write_whole_file(dir.path() / snapshot_file_name({5}), newer);
  size_t records = 0;
  auto summary = replay_metadata_log(dir.path(), [&](const MetadataLogEntry&) { ++records; });
  ASSERT_FALSE(summary.ok());
  EXPECT_NE(summary.error().message.find("before its end offset 5"), std::string::npos)
      << summary.error().message;
}

TEST(MetadataSnapshot, PartialSnapshotsAreRemoved) {
  test::TempDir dir;
  test::write_whole_file(dir.path() / "00000000000000000010-0000000001-abc.checkpoint.part",
                         ByteVec{1});
  test::write_whole_file(dir.path() / "00000000000000000005-0000000001.checkpoint.deleted",
                         ByteVec{1});
  test::write_whole_file(dir.path() / "00000000000000000000.log", ByteVec{});
  EXPECT_EQ(remove_partial_snapshots(dir.path()), 2u);
  EXPECT_TRUE(fs::exists(dir.path() / "00000000000000000000.log"));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}

// The damaged bytes are copied aside, later segments renamed, the segment cut.
TEST(MetadataSnapshot, CutKeepsTheDamagedBytes) {
  test::TempDir dir;
  const ByteVec first = test::make_batch(0, 3);
  const ByteVec second = test::make_batch(3, 2);
  ByteVec segment = first;
  segment.insert(segment.end(), second.begin(), second.end());
  const fs::path log0 = dir.path() / "00000000000000000000.log";
  test::write_whole_file(log0, segment);
  test::write_whole_file(dir.path() / "00000000000000000000.index", ByteVec(8));
  test::write_whole_file(dir.path() / "00000000000000000005.log", test::make_batch(5, 1));
  auto cut = cut_metadata_log(dir.path(), log0, first.size());
  ASSERT_TRUE(cut.ok()) << cut.error().message;
  EXPECT_EQ(cut->bytes_cut, second.size());
  EXPECT_EQ(test::read_whole_file(log0), first);
  EXPECT_EQ(test::read_whole_file(cut->preserved), second);
  EXPECT_EQ(cut->preserved.filename().string(),
            "00000000000000000000.log.at-" + std::to_string(first.size()) + ".damaged");
  EXPECT_FALSE(fs::exists(dir.path() / "00000000000000000000.index"));
  EXPECT_FALSE(fs::exists(dir.path() / "00000000000000000005.log"));
  EXPECT_TRUE(fs::exists(dir.path() / "00000000000000000005.log.damaged"));
}

}  // namespace
}  // namespace kb::storage
