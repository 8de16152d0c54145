#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "kb/wire/uuid.hpp"

namespace kb::wire {

// Where and why a read failed. `what` always points at a string literal.
struct DecodeError {
  size_t position = 0;
  std::string_view what;
};

// A bounds-checked reader over one buffer, with a sticky error: the first
// failed read records its position and reason, and every later read returns a
// zero value without touching memory. Callers check ok() once at the end.
// Nothing is ever read past the end of the span it was given.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> bytes) : bytes_(bytes) {}

  bool ok() const { return !error_; }
  const std::optional<DecodeError>& error() const { return error_; }
  size_t position() const { return pos_; }
  size_t remaining() const { return error_ ? 0 : bytes_.size() - pos_; }
  bool at_end() const { return remaining() == 0; }

  // Records a failure at the current position (the first one wins).
  void fail(std::string_view what);

  int8_t int8();
  int16_t int16();
  int32_t int32();
  int64_t int64();
  uint16_t uint16();
  uint32_t uint32();
  double float64();
  bool boolean();
  uint32_t uvarint() {
    // Most varints in records are one byte long: that case stays inline.
    if (!error_ && pos_ < bytes_.size() && bytes_[pos_] < 0x80) return bytes_[pos_++];
    return uvarint_long();
  }
  uint64_t uvarlong();
  int32_t varint() {  // zigzag
    const uint32_t u = uvarint();
    return static_cast<int32_t>((u >> 1) ^ (~(u & 1) + 1));
  }
  int64_t varlong();  // zigzag
  Uuid uuid();

  // int16 length; -1 is null (an error for the non-nullable form).
  std::string_view string();
  std::optional<std::string_view> nullable_string();
  // uvarint length + 1; 0 is null.
  std::string_view compact_string();
  std::optional<std::string_view> compact_nullable_string();
  // int32 length; -1 is null.
  std::span<const uint8_t> bytes();
  std::optional<std::span<const uint8_t>> nullable_bytes();
  std::span<const uint8_t> compact_bytes();
  std::optional<std::span<const uint8_t>> compact_nullable_bytes();

  // Element counts: -1 means a null array. A count that cannot fit in the bytes
  // left (every element takes at least min_element_size bytes) is an error
  // before the caller allocates anything.
  int32_t array_length(size_t min_element_size = 1);
  int32_t compact_array_length(size_t min_element_size = 1);

  // The next n bytes as a view; an error when fewer are left.
  std::span<const uint8_t> raw(size_t n);
  void skip(size_t n) { raw(n); }

 private:
  bool need(size_t n);
  uint32_t uvarint_long();
  template <typename T>
  T read_be();
  std::optional<std::string_view> sized_string(int64_t length, bool nullable);
  std::optional<std::span<const uint8_t>> sized_bytes(int64_t length, bool nullable);
  int32_t checked_count(int64_t count, size_t min_element_size);

  std::span<const uint8_t> bytes_;
  size_t pos_ = 0;
  std::optional<DecodeError> error_;
};

}  // namespace kb::wire
