#pragma once

// A bounded set of open partition files (as Redpanda and RocksDB keep one):
// segment files are opened when first needed and closed again, least recently
// used first, when the budget of descriptors is reached, so a broker with
// more partitions than descriptors keeps serving all of them.
//
// Files are shared (OpenFile): a file the cache closes stays open for whoever
// still holds it (a Fetch response being sent, a sync on a helper thread)
// until they let go. Every file the cache opened counts against its capacity
// until then, wherever it is held, so the descriptors of partition files stay
// under the capacity: when everything counted is held elsewhere, opening one
// more fails (EMFILE, for that request only) instead of taking descriptors the
// rest of the broker needs.
//
// Not thread-safe, except that OpenFiles may be dropped on any thread.

#include <atomic>
#include <cstddef>
#include <filesystem>
#include <memory>

#include "kb/storage/partition_log.hpp"
#include "kb/storage/result.hpp"

namespace kb::storage {

class FileCache;

// A descriptor counted in a FileCache's budget before its file is opened (by
// a helper thread, for a file made ahead of its use), until let go of, on
// any thread.
class FileSlot {
 public:
  FileSlot() = default;
  ~FileSlot() { reset(); }
  FileSlot(FileSlot&& other) noexcept = default;
  FileSlot& operator=(FileSlot&& other) noexcept {
    if (this != &other) {
      reset();
      count_ = std::move(other.count_);
      slots_ = std::move(other.slots_);
    }
    return *this;
  }
  FileSlot(const FileSlot&) = delete;
  FileSlot& operator=(const FileSlot&) = delete;
  explicit operator bool() const { return count_ != nullptr; }
  void reset();

 private:
  friend class FileCache;
  FileSlot(std::shared_ptr<std::atomic<size_t>> count, std::shared_ptr<std::atomic<size_t>> slots);
  std::shared_ptr<std::atomic<size_t>> count_;
  std::shared_ptr<std::atomic<size_t>> slots_;
};

// One file of a partition (a segment's .log) that is open or not: get()
// opens it when it is not, through the cache that may close it again later.
// Lives at a stable address (it is linked into its cache's list).
class CachedFile {
 public:
  CachedFile(FileCache& cache, std::filesystem::path path)
      : cache_(cache), path_(std::move(path)) {}
  ~CachedFile();
  CachedFile(const CachedFile&) = delete;
  CachedFile& operator=(const CachedFile&) = delete;

  // The open file (read-write, or read-only when the file allows no more),
  // opened now when it is not. An error when it cannot be opened, or when no
  // descriptor is left in the budget (error_number EMFILE).
  Result<std::shared_ptr<OpenFile>> get();
  // The open file, or null: never opens one.
  const std::shared_ptr<OpenFile>& if_open() const { return file_; }
  // A file opened by the owner (say, created), kept from now on.
  void adopt(std::shared_ptr<OpenFile> file);
  // The cache lets go of the file (holders elsewhere keep it open).
  void close();
  const std::filesystem::path& path() const { return path_; }

 private:
  friend class FileCache;
  FileCache& cache_;
  std::filesystem::path path_;
  std::shared_ptr<OpenFile> file_;
  CachedFile* newer_ = nullptr;  // toward the most recently used
  CachedFile* older_ = nullptr;
};

class FileCache {
 public:
  // At most `capacity` files counted at once (at least 1).
  explicit FileCache(size_t capacity);
  ~FileCache();
  FileCache(const FileCache&) = delete;
  FileCache& operator=(const FileCache&) = delete;

  size_t capacity() const { return capacity_; }
  void set_capacity(size_t capacity);
  // Files opened through the cache and not yet closed, wherever they are held.
  size_t open_files() const { return count_->load(std::memory_order_relaxed); }
  // Of those, the ones the cache keeps (it closes them as it needs room).
  size_t cached_files() const { return cached_; }

  // Opens a file counted against the capacity, closing the least recently
  // used cached files first when the capacity is reached (never `keep`).
  // `flags` as for open(2) (O_CLOEXEC is added).
  Result<std::shared_ptr<OpenFile>> open(const std::filesystem::path& path, int flags,
                                         const CachedFile* keep = nullptr);

  // Deferred appends keep their segment's file open until written (the
  // appends of one Produce to many partitions): at most half the capacity is
  // kept so at once. False: no room, the append is written now instead.
  bool try_pin();
  void unpin() { --pinned_; }
  size_t pinned() const { return pinned_; }

  // A descriptor counted from now on for a file another thread opens later
  // (a segment's files made ahead of its roll), cached files closed to make
  // room. At most an eighth of the capacity is so held: beyond, or with no
  // room, an error (EMFILE), and the file is made when needed instead.
  Result<FileSlot> reserve_slot();
  size_t reserved_slots() const { return slots_->load(std::memory_order_relaxed); }
  // A descriptor opened elsewhere (in a slot), counted as the cache's from
  // now on; the slot is let go of after.
  std::shared_ptr<OpenFile> adopt_descriptor(int fd, std::filesystem::path path);

 private:
  friend class CachedFile;
  void link_newest(CachedFile& entry);
  void unlink(CachedFile& entry);
  // Closes cached files, oldest first, until one more may be opened; false
  // when none is left to close and the capacity is still reached.
  bool make_room(const CachedFile* keep);

  size_t capacity_;
  std::shared_ptr<std::atomic<size_t>> count_;
  CachedFile* newest_ = nullptr;
  CachedFile* oldest_ = nullptr;
  size_t cached_ = 0;
  size_t pinned_ = 0;
  std::shared_ptr<std::atomic<size_t>> slots_;
};

}  // namespace kb::storage
