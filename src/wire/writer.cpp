#include "kb/wire/writer.hpp"

#include <unistd.h>

#include <bit>
#include <cerrno>
#include <limits>
#include <stdexcept>
#include <system_error>

namespace kb::wire {

void Writer::float64(double v) { be(std::bit_cast<uint64_t>(v)); }

void Writer::uvarlong(uint64_t v) {
  uint8_t* p = out_.prepare(10);
  size_t n = 0;
  while (v >= 0x80) {
    p[n++] = static_cast<uint8_t>(v | 0x80);
    v >>= 7;
  }
  p[n++] = static_cast<uint8_t>(v);
  out_.commit(n);
}

namespace {
// A length the encoding cannot carry is a bug upstream; encoding it anyway
// would corrupt the frame, so refuse (the service closes that connection).
void check_length(size_t n, size_t max) {
  if (n > max) throw std::length_error("value too long for its wire encoding");
}
}  // namespace

void Writer::string(std::string_view s) {
  check_length(s.size(), std::numeric_limits<int16_t>::max());
  int16(static_cast<int16_t>(s.size()));
  out_.append(s.data(), s.size());
}

void Writer::nullable_string(std::optional<std::string_view> s) {
  if (!s) return int16(-1);
  string(*s);
}

void Writer::compact_string(std::string_view s) {
  check_length(s.size(), std::numeric_limits<int32_t>::max() - 1);
  uvarint(static_cast<uint32_t>(s.size() + 1));
  out_.append(s.data(), s.size());
}

void Writer::compact_nullable_string(std::optional<std::string_view> s) {
  if (!s) return uvarint(0);
  compact_string(*s);
}

void Writer::bytes(std::span<const uint8_t> b) {
  check_length(b.size(), std::numeric_limits<int32_t>::max());
  int32(static_cast<int32_t>(b.size()));
  out_.append(b);
}

void Writer::nullable_bytes(std::optional<std::span<const uint8_t>> b) {
  if (!b) return int32(-1);
  bytes(*b);
}

void Writer::compact_bytes(std::span<const uint8_t> b) {
  check_length(b.size(), std::numeric_limits<int32_t>::max() - 1);
  uvarint(static_cast<uint32_t>(b.size() + 1));
  out_.append(b);
}

void Writer::compact_nullable_bytes(std::optional<std::span<const uint8_t>> b) {
  if (!b) return uvarint(0);
  compact_bytes(*b);
}

void Writer::bytes_from_file(const FileRange& range) {
  check_length(range.length, std::numeric_limits<int32_t>::max());
  int32(static_cast<int32_t>(range.length));
  file_content(range);
}

void Writer::compact_bytes_from_file(const FileRange& range) {
  check_length(range.length, std::numeric_limits<int32_t>::max() - 1);
  uvarint(static_cast<uint32_t>(range.length + 1));
  file_content(range);
}

void Writer::file_content(const FileRange& range) {
  if (files_ != nullptr) {
    files_->entries.push_back({out_.size(), range});
    files_->bytes += range.length;
    return;
  }
  const auto length = static_cast<size_t>(range.length);
  uint8_t* dst = out_.prepare(length);
  size_t done = 0;
  while (done < length) {
    ssize_t n =
        ::pread(range.fd, dst + done, length - done, static_cast<off_t>(range.offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::system_error(errno, std::generic_category(), "reading a file range");
    if (n == 0) throw std::runtime_error("reading a file range: the file ends before it");
    done += static_cast<size_t>(n);
  }
  out_.commit(length);
}

void Writer::patch_int32(size_t at, int32_t v) {
  auto u = static_cast<uint32_t>(v);
  uint8_t* p = out_.data() + at;
  p[0] = static_cast<uint8_t>(u >> 24);
  p[1] = static_cast<uint8_t>(u >> 16);
  p[2] = static_cast<uint8_t>(u >> 8);
  p[3] = static_cast<uint8_t>(u);
}

}  // namespace kb::wire
