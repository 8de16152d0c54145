#include "kb/wire/reader.hpp"

#include <bit>
#include <cstring>
#include <limits>

namespace kb::wire {

void Reader::fail(std::string_view what) {
  if (!error_) error_ = DecodeError{pos_, what};
}

bool Reader::need(size_t n) {
  if (error_) return false;
  if (bytes_.size() - pos_ < n) {
    fail("unexpected end of data");
    return false;
  }
  return true;
}

template <typename T>
T Reader::read_be() {
  if (!need(sizeof(T))) return T{};
  T v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v = static_cast<T>((v << 8) | bytes_[pos_ + i]);
  pos_ += sizeof(T);
  return v;
}

int8_t Reader::int8() { return static_cast<int8_t>(read_be<uint8_t>()); }
int16_t Reader::int16() { return static_cast<int16_t>(read_be<uint16_t>()); }
int32_t Reader::int32() { return static_cast<int32_t>(read_be<uint32_t>()); }
int64_t Reader::int64() { return static_cast<int64_t>(read_be<uint64_t>()); }
uint16_t Reader::uint16() { return read_be<uint16_t>(); }
uint32_t Reader::uint32() { return read_be<uint32_t>(); }
double Reader::float64() { return std::bit_cast<double>(read_be<uint64_t>()); }

// Like Kafka, any non-zero byte is true.
bool Reader::boolean() { return read_be<uint8_t>() != 0; }

uint64_t Reader::uvarlong() {
  uint64_t value = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (!need(1)) return 0;
    uint8_t b = bytes_[pos_++];
    if (shift == 63 && b > 1) {
      fail("varlong overflows 64 bits");
      return 0;
    }
    value |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return value;
  }
  fail("varlong longer than 10 bytes");
  return 0;
}

uint32_t Reader::uvarint_long() {
  uint32_t value = 0;
  for (int shift = 0; shift < 35; shift += 7) {
    if (!need(1)) return 0;
    uint8_t b = bytes_[pos_++];
    if (shift == 28 && b > 0x0f) {
      fail("varint overflows 32 bits");
      return 0;
    }
    value |= static_cast<uint32_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return value;
  }
  fail("varint longer than 5 bytes");
  return 0;
}

int64_t Reader::varlong() {
  uint64_t u = uvarlong();
  return static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
}

Uuid Reader::uuid() {
  Uuid id;
  if (!need(16)) return id;
  std::memcpy(id.bytes.data(), bytes_.data() + pos_, 16);
  pos_ += 16;
  return id;
}

std::optional<std::string_view> Reader::sized_string(int64_t length, bool nullable) {
  if (error_) return std::nullopt;
  if (length == -1) {
    if (!nullable) fail("null where a string is required");
    return std::nullopt;
  }
  if (length < 0) {
    fail("negative string length");
    return std::nullopt;
  }
  auto b = raw(static_cast<size_t>(length));
  if (error_) return std::nullopt;
  return std::string_view(reinterpret_cast<const char*>(b.data()), b.size());
}

std::optional<std::span<const uint8_t>> Reader::sized_bytes(int64_t length, bool nullable) {
  if (error_) return std::nullopt;
  if (length == -1) {
    if (!nullable) fail("null where bytes are required");
    return std::nullopt;
  }
  if (length < 0) {
    fail("negative bytes length");
    return std::nullopt;
  }
  auto b = raw(static_cast<size_t>(length));
  if (error_) return std::nullopt;
  return b;
}

std::string_view Reader::string() { return sized_string(int16(), false).value_or(""); }
std::optional<std::string_view> Reader::nullable_string() { return sized_string(int16(), true); }
std::string_view Reader::compact_string() {
  return sized_string(static_cast<int64_t>(uvarint()) - 1, false).value_or("");
}
std::optional<std::string_view> Reader::compact_nullable_string() {
  return sized_string(static_cast<int64_t>(uvarint()) - 1, true);
}
std::span<const uint8_t> Reader::bytes() {
  return sized_bytes(int32(), false).value_or(std::span<const uint8_t>{});
}
std::optional<std::span<const uint8_t>> Reader::nullable_bytes() {
  return sized_bytes(int32(), true);
}
std::span<const uint8_t> Reader::compact_bytes() {
  return sized_bytes(static_cast<int64_t>(uvarint()) - 1, false)
      .value_or(std::span<const uint8_t>{});
}
std::optional<std::span<const uint8_t>> Reader::compact_nullable_bytes() {
  return sized_bytes(static_cast<int64_t>(uvarint()) - 1, true);
}

int32_t Reader::checked_count(int64_t count, size_t min_element_size) {
  if (error_) return 0;
  if (count == -1) return -1;
  if (count < 0) {
    fail("negative array length");
    return 0;
  }
  if (min_element_size == 0) min_element_size = 1;
  if (static_cast<uint64_t>(count) > remaining() / min_element_size) {
    fail("array length exceeds the bytes left");
    return 0;
  }
  return static_cast<int32_t>(count);
}

int32_t Reader::array_length(size_t min_element_size) {
  return checked_count(int32(), min_element_size);
}

int32_t Reader::compact_array_length(size_t min_element_size) {
  return checked_count(static_cast<int64_t>(uvarint()) - 1, min_element_size);
}

std::span<const uint8_t> Reader::raw(size_t n) {
  if (!need(n)) return {};
  auto view = bytes_.subspan(pos_, n);
  pos_ += n;
  return view;
}

}  // namespace kb::wire
