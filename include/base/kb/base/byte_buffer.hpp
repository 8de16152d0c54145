#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <utility>

namespace kb {

// A growable byte buffer with a read cursor. Unlike std::vector it never
// zero-fills what it grows into, and consuming from the front is O(1): the
// bytes are only moved down when more room is needed at the back.
class ByteBuffer {
 public:
  ByteBuffer() = default;
  ByteBuffer(const ByteBuffer&) = delete;
  ByteBuffer& operator=(const ByteBuffer&) = delete;
  ByteBuffer(ByteBuffer&& other) noexcept { swap(other); }
  ByteBuffer& operator=(ByteBuffer&& other) noexcept {
    ByteBuffer moved(std::move(other));
    swap(moved);
    return *this;
  }
  void swap(ByteBuffer& other) noexcept {
    std::swap(storage_, other.storage_);
    std::swap(begin_, other.begin_);
    std::swap(end_, other.end_);
    std::swap(capacity_, other.capacity_);
  }

  const uint8_t* data() const { return storage_.get() + begin_; }
  uint8_t* data() { return storage_.get() + begin_; }
  size_t size() const { return end_ - begin_; }
  bool empty() const { return end_ == begin_; }
  size_t capacity() const { return capacity_; }
  std::span<const uint8_t> span() const { return {data(), size()}; }

  // Makes room for at least n more bytes at the back and returns where they go.
  uint8_t* prepare(size_t n) {
    if (capacity_ - end_ < n) make_room(n);
    return storage_.get() + end_;
  }
  // Marks n bytes written after prepare().
  void commit(size_t n) { end_ += n; }

  void append(const void* bytes, size_t n) {
    if (n == 0) return;
    std::memcpy(prepare(n), bytes, n);
    end_ += n;
  }
  void append(std::span<const uint8_t> bytes) { append(bytes.data(), bytes.size()); }
  void push_back(uint8_t b) {
    *prepare(1) = b;
    ++end_;
  }

  // Drops n bytes from the front.
  void consume(size_t n) {
    begin_ += n;
    if (begin_ == end_) begin_ = end_ = 0;
  }
  // Drops bytes from the back so that size() == n.
  void truncate(size_t n) { end_ = begin_ + n; }
  void clear() { begin_ = end_ = 0; }
  // Returns the memory to the allocator (idle connections should hold none).
  void release() {
    storage_.reset();
    begin_ = end_ = capacity_ = 0;
  }

 private:
  void make_room(size_t n) {
    const size_t used = size();
    if (begin_ > 0 && capacity_ - used >= n && used <= capacity_ / 2) {
      std::memmove(storage_.get(), data(), used);
    } else {
      size_t cap = capacity_ == 0 ? 256 : capacity_;
      while (cap - used < n) cap *= 2;
      auto fresh = std::unique_ptr<uint8_t[]>(new uint8_t[cap]);
      if (used > 0) std::memcpy(fresh.get(), data(), used);
      storage_ = std::move(fresh);
      capacity_ = cap;
    }
    begin_ = 0;
    end_ = used;
  }

  std::unique_ptr<uint8_t[]> storage_;
  size_t begin_ = 0;
  size_t end_ = 0;
  size_t capacity_ = 0;
};

}  // namespace kb
