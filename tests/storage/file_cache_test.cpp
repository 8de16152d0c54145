// The budget of open partition files: a bounded cache that closes the least
// recently used files and reopens them on demand, files still held elsewhere
// (a response being sent) staying valid and counted, and the partition log
// opening its files through it: rolled and deleted segments hold no
// descriptors, and a log with more segments than the budget stays readable.

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>
#include <memory>
#include <vector>

#include "kb/storage/file_cache.hpp"
#include "kb/storage/partition_log.hpp"
#include "storage_test_util.hpp"

namespace kb::storage {
namespace {

namespace fs = std::filesystem;
using test::ByteVec;

// Descriptors this process has open now.
size_t open_descriptors() {
  size_t n = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

std::vector<fs::path> make_files(const test::TempDir& dir, int count) {
  std::vector<fs::path> paths;
  for (int i = 0; i < count; ++i) {
    paths.push_back(dir.path() / ("f" + std::to_string(i)));
    test::write_whole_file(paths.back(), test::text_bytes("file " + std::to_string(i)));
  }
  return paths;
}

std::string read_all(const OpenFile& file) {
  char buffer[64] = {};
  const ssize_t n = ::pread(file.fd(), buffer, sizeof(buffer), 0);
  return n > 0 ? std::string(buffer, static_cast<size_t>(n)) : std::string();
}

TEST(FileCache, KeepsAtMostItsCapacityOpenClosingTheLeastRecentlyUsed) {
  test::TempDir dir;
  auto paths = make_files(dir, 5);
  FileCache cache(3);
  std::vector<std::unique_ptr<CachedFile>> files;
  for (const auto& p : paths) files.push_back(std::make_unique<CachedFile>(cache, p));
  const size_t before = open_descriptors();
  for (int round = 0; round < 3; ++round) {
    for (size_t i = 0; i < files.size(); ++i) {
      auto file = files[i]->get();
      ASSERT_TRUE(file.ok()) << file.error().message;
      EXPECT_EQ(read_all(**file), "file " + std::to_string(i));
      EXPECT_LE(cache.open_files(), 3u);
    }
  }
  EXPECT_EQ(cache.cached_files(), 3u);
  EXPECT_LE(open_descriptors(), before + 3);
  // The three used last are open; using one makes it the newest, so the next
  // file opened closes the oldest of the others.
  EXPECT_EQ(files[0]->if_open(), nullptr);
  EXPECT_NE(files[2]->if_open(), nullptr);
  ASSERT_TRUE(files[2]->get().ok());
  ASSERT_TRUE(files[0]->get().ok());
  EXPECT_EQ(files[3]->if_open(), nullptr) << "the least recently used";
  EXPECT_NE(files[2]->if_open(), nullptr);
  EXPECT_NE(files[4]->if_open(), nullptr);
  files.clear();
  EXPECT_EQ(cache.open_files(), 0u);
  EXPECT_EQ(open_descriptors(), before);
}

TEST(FileCache, AFileHeldElsewhereStaysValidAndCountsUntilLetGo) {
  test::TempDir dir;
  auto paths = make_files(dir, 4);
  FileCache cache(2);
  CachedFile a(cache, paths[0]), b(cache, paths[1]), c(cache, paths[2]), d(cache, paths[3]);
  std::shared_ptr<OpenFile> response_file = a.get().value();  // a response being sent holds it
  ASSERT_NE(response_file, nullptr);
  ASSERT_TRUE(b.get().ok());
  ASSERT_TRUE(c.get().ok());  // closes a in the cache: the response still has it
  EXPECT_EQ(a.if_open(), nullptr);
  EXPECT_EQ(read_all(*response_file), "file 0");
  EXPECT_LE(cache.open_files(), 2u);

  // Both counted files held elsewhere: no room, and the cache says so with
  // EMFILE (a shortage for this one request) rather than open more.
  std::shared_ptr<OpenFile> second = c.get().value();
  ASSERT_NE(second, nullptr);
  auto refused = d.get();
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(out_of_descriptors(refused.error())) << refused.error().message;
  EXPECT_EQ(cache.open_files(), 2u);

  // Once let go, the descriptors are free again.
  response_file.reset();
  second.reset();
  auto opened = d.get();
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  EXPECT_EQ(read_all(**opened), "file 3");
  EXPECT_LE(cache.open_files(), 2u);
}

TEST(FileCache, SyncByPathSkipsARemovedFile) {
  test::TempDir dir;
  auto paths = make_files(dir, 1);
  EXPECT_TRUE(sync_file(FileToSync(paths[0])).ok());
  fs::remove(paths[0]);
  EXPECT_TRUE(sync_file(FileToSync(paths[0])).ok()) << "nothing left to sync";
}

// Many small segments under a budget of two open files: reads reach every
// segment, rolled segments keep no descriptor (their index files neither),
// and deleting segments closes their files.
TEST(PartitionLogFiles, ManySegmentsStayWithinTheBudgetAndStayReadable) {
  test::TempDir dir;
  PartitionLogOptions options;
  options.segment_bytes = 400;
  options.file_cache = std::make_shared<FileCache>(2);
  auto log = test::new_log(dir, options);
  ASSERT_TRUE(log);
  const size_t before = open_descriptors();
  std::vector<ByteVec> batches;
  while (log->segment_count() < 60) {
    batches.push_back(test::make_batch(0, 2, 1700000000000, 60));
    auto appended = log->append(batches.back());
    ASSERT_TRUE(appended.ok()) << appended.error().message;
    ASSERT_LE(options.file_cache->open_files(), 2u);
  }
  EXPECT_LE(open_descriptors(), before + 2);
  {
    // The checkpoint's and a flush's syncs go by path (the active .log
    // shared): nothing is kept open for them.
    auto indexes = log->index_sync_snapshot();
    ASSERT_TRUE(indexes.ok()) << indexes.error().message;
    for (const auto& f : indexes->index_files) EXPECT_EQ(f.file, nullptr);
    auto data = log->flush_snapshot();
    ASSERT_TRUE(data.ok());
    EXPECT_EQ(data->data_files.size(), 61u) << "60 segments and their directory";
    for (const auto& f : data->data_files) ASSERT_TRUE(sync_file(f).ok());
    EXPECT_LE(open_descriptors(), before + 2);
  }

  // Every offset is readable, from the oldest segment to the newest.
  int64_t offset = 0;
  for (const auto& batch : batches) {
    auto read = log->read(offset, 1);
    ASSERT_TRUE(read.ok()) << read.error().message;
    auto bytes = read->read_bytes();
    ASSERT_TRUE(bytes.ok());
    auto view = RecordBatchView::parse(*bytes, CrcCheck::verify);
    ASSERT_TRUE(view) << "offset " << offset;
    EXPECT_EQ(view->base_offset(), offset);
    EXPECT_EQ(bytes->size(), batch.size());
    offset = view->next_offset();
    ASSERT_LE(options.file_cache->open_files(), 2u);
  }

  // Reads hold their files (a Fetch response being sent): counted, and once
  // the budget is held elsewhere, another segment's read is refused for
  // this request only.
  const auto last_offset = static_cast<int64_t>(2 * batches.size() - 2);
  auto first = log->read(0, 1);
  auto second = log->read(last_offset / 2, 1);
  ASSERT_TRUE(first.ok() && second.ok());
  auto third = log->read(last_offset, 1);
  ASSERT_FALSE(third.ok());
  EXPECT_TRUE(out_of_descriptors(third.error())) << third.error().message;
  *first = LogReadResult{};
  ASSERT_TRUE(log->read(last_offset, 1).ok());
  *second = LogReadResult{};

  // Retention deletes segments: their files are closed with them.
  auto deleted = log->delete_expired_segments({-1, 400}, 0);
  ASSERT_TRUE(deleted.ok());
  EXPECT_GT(*deleted, 50u);
  EXPECT_LE(open_descriptors(), before + 2);
  log.reset();
  EXPECT_EQ(options.file_cache->open_files(), 0u);
  EXPECT_LE(open_descriptors(), before);
}

// With no budget given, a log keeps what it opened, as before; deleting a
// segment still closes its file at once.
TEST(PartitionLogFiles, DeletedSegmentsCloseTheirFiles) {
  test::TempDir dir;
  PartitionLogOptions options;
  options.segment_bytes = 400;
  auto log = test::new_log(dir, options);
  ASSERT_TRUE(log);
  while (log->segment_count() < 30)
    ASSERT_TRUE(log->append(test::make_batch(0, 2, 1700000000000, 60)).ok());
  for (int64_t base : log->segment_base_offsets()) ASSERT_TRUE(log->read(base, 1).ok());
  const size_t with_all_open = open_descriptors();
  auto deleted = log->delete_expired_segments({-1, 0}, 0);
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(*deleted, 30u) << "the full active one too, after a roll";
  EXPECT_LE(open_descriptors() + 29, with_all_open);
}

}  // namespace
}  // namespace kb::storage
