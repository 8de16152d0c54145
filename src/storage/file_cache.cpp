#include "kb/storage/file_cache.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>

#include "file_io.hpp"

namespace kb::storage {

Status sync_file(const FileToSync& target) {
  if (target.file) return detail::sync_data(target.file->fd(), target.file->path());
  auto handle = detail::FileHandle::open(target.path, O_RDONLY);
  if (!handle) {
    if (handle.error().error_number == ENOENT) return {};  // removed: nothing left to sync
    return handle.error();
  }
  struct stat st {};
  if (::fstat(handle->get(), &st) == 0 && S_ISDIR(st.st_mode)) {
    if (::fsync(handle->get()) != 0)
      return detail::io_error("cannot sync directory", target.path, errno);
    return {};
  }
  return detail::sync_data(handle->get(), target.path);
}

FileSlot::FileSlot(std::shared_ptr<std::atomic<size_t>> count,
                   std::shared_ptr<std::atomic<size_t>> slots)
    : count_(std::move(count)), slots_(std::move(slots)) {
  count_->fetch_add(1, std::memory_order_relaxed);
  slots_->fetch_add(1, std::memory_order_relaxed);
}

void FileSlot::reset() {
  if (!count_) return;
  count_->fetch_sub(1, std::memory_order_relaxed);
  slots_->fetch_sub(1, std::memory_order_relaxed);
  count_.reset();
  slots_.reset();
}

CachedFile::~CachedFile() { close(); }

Result<std::shared_ptr<OpenFile>> CachedFile::get() {
  if (file_) {
    cache_.unlink(*this);
    cache_.link_newest(*this);
    return file_;
  }
  auto opened = cache_.open(path_, O_RDWR, this);
  if (!opened && !out_of_descriptors(opened.error())) {
    // Reads still work from a read-only file.
    auto read_only = cache_.open(path_, O_RDONLY, this);
    if (read_only) opened = std::move(read_only);
  }
  if (!opened) return opened.error();
  adopt(*opened);
  return file_;
}

void CachedFile::adopt(std::shared_ptr<OpenFile> file) {
  close();
  if (!file) return;
  file_ = std::move(file);
  cache_.link_newest(*this);
}

void CachedFile::close() {
  if (!file_) return;
  cache_.unlink(*this);
  file_.reset();
}

FileCache::FileCache(size_t capacity)
    : capacity_(std::max<size_t>(capacity, 1)),
      count_(std::make_shared<std::atomic<size_t>>(0)),
      slots_(std::make_shared<std::atomic<size_t>>(0)) {}

FileCache::~FileCache() {
  // Entries outliving their cache would point at it: let them go first.
  while (oldest_ != nullptr) oldest_->close();
}

void FileCache::set_capacity(size_t capacity) {
  capacity_ = std::max<size_t>(capacity, 1);
  while (open_files() > capacity_ && oldest_ != nullptr) oldest_->close();
}

void FileCache::link_newest(CachedFile& entry) {
  entry.older_ = newest_;
  entry.newer_ = nullptr;
  if (newest_ != nullptr) newest_->newer_ = &entry;
  newest_ = &entry;
  if (oldest_ == nullptr) oldest_ = &entry;
  ++cached_;
}

void FileCache::unlink(CachedFile& entry) {
  if (entry.newer_ != nullptr)
    entry.newer_->older_ = entry.older_;
  else
    newest_ = entry.older_;
  if (entry.older_ != nullptr)
    entry.older_->newer_ = entry.newer_;
  else
    oldest_ = entry.newer_;
  entry.newer_ = entry.older_ = nullptr;
  --cached_;
}

bool FileCache::make_room(const CachedFile* keep) {
  CachedFile* candidate = oldest_;
  while (open_files() >= capacity_ && candidate != nullptr) {
    CachedFile* next = candidate->newer_;
    if (candidate != keep) candidate->close();
    candidate = next;
  }
  return open_files() < capacity_;
}

bool FileCache::try_pin() {
  if (pinned_ >= capacity_ / 2) return false;
  ++pinned_;
  return true;
}

Result<FileSlot> FileCache::reserve_slot() {
  if (reserved_slots() >= capacity_ / 8)
    return Error{fmt::format("no descriptor to hold ahead: {} of {} held so already",
                             reserved_slots(), capacity_ / 8),
                 EMFILE};
  if (!make_room(nullptr))
    return Error{fmt::format("all {} descriptors for partition files are in use", capacity_),
                 EMFILE};
  return FileSlot(count_, slots_);
}

std::shared_ptr<OpenFile> FileCache::adopt_descriptor(int fd, std::filesystem::path path) {
  return std::make_shared<OpenFile>(fd, std::move(path), count_);
}

Result<std::shared_ptr<OpenFile>> FileCache::open(const std::filesystem::path& path, int flags,
                                                  const CachedFile* keep) {
  if (!make_room(keep))
    return Error{fmt::format("cannot open {}: all {} descriptors for partition files are in use "
                             "(held by responses being sent and syncs)",
                             path.string(), capacity_),
                 EMFILE};
  auto handle = detail::FileHandle::open(path, flags);
  if (!handle) return handle.error();
  return std::make_shared<OpenFile>(handle->release(), path, count_);
}

}  // namespace kb::storage
