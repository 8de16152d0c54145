#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "kb/base/byte_buffer.hpp"
#include "kb/base/file_range.hpp"
#include "kb/wire/uuid.hpp"

namespace kb::wire {

// File ranges a Writer was given, each with the buffer position it belongs
// at: whoever sends the buffer sends the range's bytes there.
struct FileRanges {
  struct Entry {
    size_t at;  // offset within the buffer's readable bytes
    FileRange range;
  };
  std::vector<Entry> entries;
  uint64_t bytes = 0;  // their total length
};

// Appends Kafka's wire encodings to a ByteBuffer. Lengths that are only known
// after the body is written (frame sizes, batch lengths) use a reserved slot.
class Writer {
 public:
  // With `files`, bytes that live in a file (Fetch records) are recorded there
  // instead of being read into `out` (see bytes_from_file).
  explicit Writer(ByteBuffer& out, FileRanges* files = nullptr)
      : out_(out), files_(files), start_(out.size()) {}

  ByteBuffer& buffer() { return out_; }
  // Bytes written through this writer so far.
  size_t written() const { return out_.size() - start_; }
  // Offset of the next byte within the buffer's readable bytes.
  size_t offset() const { return out_.size(); }

  void int8(int8_t v) { out_.push_back(static_cast<uint8_t>(v)); }
  void int16(int16_t v) { be(static_cast<uint16_t>(v)); }
  void int32(int32_t v) { be(static_cast<uint32_t>(v)); }
  void int64(int64_t v) { be(static_cast<uint64_t>(v)); }
  void uint16(uint16_t v) { be(v); }
  void uint32(uint32_t v) { be(v); }
  void float64(double v);
  void boolean(bool v) { out_.push_back(v ? 1 : 0); }
  void uvarint(uint32_t v) { uvarlong(v); }
  void uvarlong(uint64_t v);
  void varint(int32_t v) {
    uvarint((static_cast<uint32_t>(v) << 1) ^ static_cast<uint32_t>(v >> 31));
  }
  void varlong(int64_t v) {
    uvarlong((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
  }
  void uuid(const Uuid& v) { out_.append(v.bytes.data(), v.bytes.size()); }

  void string(std::string_view s);
  void nullable_string(std::optional<std::string_view> s);
  void compact_string(std::string_view s);
  void compact_nullable_string(std::optional<std::string_view> s);
  void bytes(std::span<const uint8_t> b);
  void nullable_bytes(std::optional<std::span<const uint8_t>> b);
  void compact_bytes(std::span<const uint8_t> b);
  void compact_nullable_bytes(std::optional<std::span<const uint8_t>> b);
  // bytes / compact_bytes whose content is a file range: with FileRanges only
  // the length goes into the buffer and the range is recorded at that point;
  // without, the range is read into the buffer (std::system_error if that
  // fails).
  void bytes_from_file(const FileRange& range);
  void compact_bytes_from_file(const FileRange& range);
  // -1 writes a null array.
  void array_length(int32_t n) { int32(n); }
  void compact_array_length(int32_t n) { uvarint(static_cast<uint32_t>(n) + 1); }
  void raw(std::span<const uint8_t> b) { out_.append(b); }

  // Reserves four bytes for a big-endian int32 filled in later.
  size_t reserve_int32() {
    size_t at = out_.size();
    int32(0);
    return at;
  }
  void patch_int32(size_t at, int32_t v);
  void patch_uint32(size_t at, uint32_t v) { patch_int32(at, static_cast<int32_t>(v)); }

 private:
  template <typename T>
  void be(T v) {
    uint8_t* p = out_.prepare(sizeof(T));
    for (size_t i = 0; i < sizeof(T); ++i)
      p[i] = static_cast<uint8_t>(v >> (8 * (sizeof(T) - 1 - i)));
    out_.commit(sizeof(T));
  }

  void file_content(const FileRange& range);

  ByteBuffer& out_;
  FileRanges* files_;
  size_t start_;
};

// Size in bytes of an unsigned varint.
constexpr size_t uvarint_size(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

}  // namespace kb::wire
