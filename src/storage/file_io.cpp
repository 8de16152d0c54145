#include "file_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

namespace kb::storage::detail {

std::string errno_text(int error) { return std::strerror(error); }

Error io_error(std::string_view what, const std::filesystem::path& path, int error) {
  return Error{fmt::format("{} {}: {}", what, path.string(), errno_text(error)), error};
}

Result<FileHandle> FileHandle::open(const std::filesystem::path& path, int flags, unsigned mode) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return io_error("cannot open", path, errno);
  return FileHandle(fd);
}

void FileHandle::reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Result<uint64_t> file_size(int fd, const std::filesystem::path& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return io_error("cannot stat", path, errno);
  return static_cast<uint64_t>(st.st_size);
}

Result<size_t> pread_some(int fd, uint64_t position, std::span<uint8_t> out,
                          const std::filesystem::path& path) {
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n =
        ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(position + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("cannot read", path, errno);
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

Status pread_exact(int fd, uint64_t position, std::span<uint8_t> out,
                   const std::filesystem::path& path) {
  auto n = pread_some(fd, position, out, path);
  if (!n) return n.error();
  if (*n != out.size())
    return Error{fmt::format("cannot read {}: {} bytes at {} reach past the end of the file",
                             path.string(), out.size(), position)};
  return {};
}

Status pwrite_all(int fd, uint64_t position, std::span<const uint8_t> bytes,
                  const std::filesystem::path& path) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n =
        ::pwrite(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(position + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("cannot write", path, errno);
    }
    done += static_cast<size_t>(n);
  }
  return {};
}

Status pwrite_all(int fd, uint64_t position, std::span<const std::span<const uint8_t>> pieces,
                  const std::filesystem::path& path) {
  constexpr size_t kMaxPieces = 1024;  // Linux's UIO_MAXIOV
  std::vector<iovec> vec;
  vec.reserve(std::min(pieces.size(), kMaxPieces));
  size_t next = 0;  // the first piece not yet in `vec`
  size_t skip = 0;  // bytes of pieces[next] already written
  while (next < pieces.size()) {
    vec.clear();
    for (size_t i = next; i < pieces.size() && vec.size() < kMaxPieces; ++i) {
      const auto piece = i == next ? pieces[i].subspan(skip) : pieces[i];
      if (!piece.empty()) vec.push_back({const_cast<uint8_t*>(piece.data()), piece.size()});
    }
    if (vec.empty()) break;  // only empty pieces were left
    ssize_t n =
        ::pwritev(fd, vec.data(), static_cast<int>(vec.size()), static_cast<off_t>(position));
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("cannot write", path, errno);
    }
    if (n == 0) return io_error("cannot write", path, EIO);
    position += static_cast<uint64_t>(n);
    // Step over what was written: whole pieces, then part of the next.
    auto left = static_cast<size_t>(n);
    while (next < pieces.size() && left >= pieces[next].size() - skip) {
      left -= pieces[next].size() - skip;
      skip = 0;
      ++next;
    }
    skip += left;
  }
  return {};
}

Status truncate_file(int fd, uint64_t size, const std::filesystem::path& path) {
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0)
    return io_error("cannot truncate", path, errno);
  return {};
}

Status sync_data(int fd, const std::filesystem::path& path) {
  if (::fdatasync(fd) != 0) return io_error("cannot sync", path, errno);
  return {};
}

void start_writeback(int fd, uint64_t offset, uint64_t length) {
  while (::sync_file_range(fd, static_cast<off64_t>(offset), static_cast<off64_t>(length),
                           SYNC_FILE_RANGE_WRITE) != 0 &&
         errno == EINTR) {
  }
}

Status sync_directory(const std::filesystem::path& dir) {
  auto handle = FileHandle::open(dir, O_RDONLY | O_DIRECTORY);
  if (!handle) return handle.error();
  if (::fsync(handle->get()) != 0) return io_error("cannot sync directory", dir, errno);
  return {};
}

Result<std::vector<uint8_t>> read_file_bytes(const std::filesystem::path& path) {
  auto handle = FileHandle::open(path, O_RDONLY);
  if (!handle) return handle.error();
  auto size = file_size(handle->get(), path);
  if (!size) return size.error();
  std::vector<uint8_t> bytes(*size);
  auto n = pread_some(handle->get(), 0, bytes, path);
  if (!n) return n.error();
  bytes.resize(*n);
  return bytes;
}

Result<std::string> read_text_file(const std::filesystem::path& path) {
  auto bytes = read_file_bytes(path);
  if (!bytes) return bytes.error();
  return std::string(bytes->begin(), bytes->end());
}

Status write_file_atomically(const std::filesystem::path& path, std::string_view content,
                             bool sync_parent) {
  return write_file_atomically(path, content, {}, sync_parent);
}

Status write_file_atomically(const std::filesystem::path& path, std::string_view head,
                             std::string_view body, bool sync_parent) {
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  {
    auto handle = FileHandle::open(tmp, O_WRONLY | O_CREAT | O_TRUNC);
    if (!handle) return handle.error();
    auto bytes = [](std::string_view text) {
      return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size());
    };
    const std::span<const uint8_t> pieces[] = {bytes(head), bytes(body)};
    if (Status written = pwrite_all(handle->get(), 0, pieces, tmp); !written) return written;
    if (::fsync(handle->get()) != 0) return io_error("cannot sync", tmp, errno);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) return io_error("cannot rename onto", path, errno);
  if (!sync_parent) return {};
  return sync_directory(path.parent_path().empty() ? std::filesystem::path(".")
                                                   : path.parent_path());
}

std::string offset_file_stem(int64_t offset) { return fmt::format("{:020d}", offset); }

std::optional<int64_t> parse_offset_file_name(std::string_view name, std::string_view suffix) {
  if (name.size() != 20 + suffix.size() || name.substr(20) != suffix) return std::nullopt;
  int64_t value = 0;
  for (size_t i = 0; i < 20; ++i) {
    char c = name[i];
    if (c < '0' || c > '9') return std::nullopt;
    int digit = c - '0';
    if (value > (INT64_MAX - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

// ---- FileBatchReader ----

bool FileBatchReader::fill(uint64_t pos, size_t n) {
  if (pos >= buffer_start_ && pos + n <= buffer_start_ + buffer_.size()) return true;
  size_t want = std::max(n, read_ahead_);
  want = static_cast<size_t>(std::min<uint64_t>(want, end_ - pos));
  if (want < n) want = n;  // callers only ask for bytes inside [start, end)
  buffer_.resize(want);
  buffer_start_ = pos;
  auto got = pread_some(fd_, pos, buffer_, path_);
  if (!got) {
    io_error_ = got.error();
    buffer_.clear();
    return false;
  }
  buffer_.resize(*got);
  if (*got < n) {
    // The file shrank below what the caller believed its size was.
    io_error_ = Error{fmt::format("cannot read {}: file ends at {} before the expected {}",
                                  path_.string(), pos + *got, pos + n)};
    return false;
  }
  return true;
}

FileBatchReader::Step FileBatchReader::next(bool whole, CrcCheck check) {
  if (error_ != BatchError::none) return Step::bad;
  if (position_ >= end_) return Step::end;
  const uint64_t left = end_ - position_;
  if (left < batch_layout::kHeaderSize) {
    error_ = BatchError::truncated_header;
    return Step::bad;
  }
  if (!fill(position_, batch_layout::kHeaderSize)) return Step::io_error;
  Bytes header_bytes(buffer_.data() + (position_ - buffer_start_), batch_layout::kHeaderSize);
  auto header = RecordBatchHeader::parse(header_bytes);
  if (header->batch_length < batch_layout::kMinBatchLength) {
    error_ = BatchError::length_too_small;
    return Step::bad;
  }
  const uint64_t size = header->size_in_bytes();
  if (size > left) {
    error_ = BatchError::truncated_batch;
    return Step::bad;
  }
  if (header->magic != batch_layout::kMagicV2) {
    error_ = BatchError::unsupported_magic;
    return Step::bad;
  }
  if (segment_base_offset_) {
    const int64_t max_relative = std::numeric_limits<int32_t>::max();
    if (header->base_offset < offset_floor_ || header->last_offset_delta < 0 ||
        header->base_offset > std::numeric_limits<int64_t>::max() - max_relative ||
        header->last_offset() - *segment_base_offset_ > max_relative) {
      error_ = BatchError::offsets_out_of_order;
      return Step::bad;
    }
    if (next_segment_base_ && header->last_offset() >= *next_segment_base_) {
      error_ = BatchError::offsets_past_next_segment;
      return Step::bad;
    }
    if (contiguous_ && expected_base_ && header->base_offset != *expected_base_) {
      error_ = BatchError::offsets_skip_ahead;
      return Step::bad;
    }
  }
  batch_bytes_ = {};
  if (whole) {
    if (!fill(position_, static_cast<size_t>(size))) return Step::io_error;
    batch_bytes_ = Bytes(buffer_.data() + (position_ - buffer_start_), static_cast<size_t>(size));
    if (check == CrcCheck::verify && compute_batch_crc(batch_bytes_) != header->crc) {
      error_ = BatchError::crc_mismatch;
      return Step::bad;
    }
  }
  header_ = *header;
  if (segment_base_offset_) offset_floor_ = header->next_offset();
  if (contiguous_) expected_base_ = header->next_offset();
  batch_position_ = position_;
  position_ += size;
  return Step::batch;
}

}  // namespace kb::storage::detail
