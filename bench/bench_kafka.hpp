// Kafka wire helpers and blocking-socket helpers shared by the fetch and start-up benchmarks.
// Header-only and independent of the broker (POSIX + C++ standard library), like bench_net.hpp:
// these programs measure the broker from the outside, so they hand-encode what they send.
#pragma once

#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "bench_net.hpp"

namespace kb::bench {

// --- Encoding ----------------------------------------------------------------------------------

inline void AppendBe16(std::string& out, uint16_t value) {
  out.resize(out.size() + 2);
  PutBe16(out.data() + out.size() - 2, value);
}

inline void AppendBe32(std::string& out, uint32_t value) {
  out.resize(out.size() + 4);
  PutBe32(out.data() + out.size() - 4, value);
}

inline void AppendBe64(std::string& out, uint64_t value) {
  AppendBe32(out, static_cast<uint32_t>(value >> 32));
  AppendBe32(out, static_cast<uint32_t>(value));
}

inline void AppendUvarint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

// Compact strings carry (length + 1) as an unsigned varint, then the bytes.
inline void AppendCompactString(std::string& out, std::string_view text) {
  AppendUvarint(out, text.size() + 1);
  out.append(text);
}

// Classic (int16 length) string, as the request header's client id.
inline void AppendString(std::string& out, std::string_view text) {
  AppendBe16(out, static_cast<uint16_t>(text.size()));
  out.append(text);
}

// Starts a request frame: a size placeholder and request header v2 (flexible versions).
inline std::string BeginFlexibleRequest(uint16_t api_key, uint16_t api_version,
                                        uint32_t correlation_id, std::string_view client_id) {
  std::string frame(4, '\0');
  AppendBe16(frame, api_key);
  AppendBe16(frame, api_version);
  AppendBe32(frame, correlation_id);
  AppendString(frame, client_id);
  frame.push_back('\0');  // No header tagged fields.
  return frame;
}

// Patches the int32 size prefix once the frame is complete.
inline void FinishFrame(std::string& frame) {
  PutBe32(frame.data(), static_cast<uint32_t>(frame.size() - 4));
}

// Request frame layout: int32 size, int16 api_key, int16 api_version, int32 correlation_id.
inline constexpr size_t kRequestCorrelationOffset = 8;

// ApiVersions v4 (header v2 request, header v0 response).
inline std::string EncodeApiVersionsV4Request(uint32_t correlation_id) {
  std::string frame = BeginFlexibleRequest(18, 4, correlation_id, "kb-bench");
  AppendCompactString(frame, "kb-bench");
  AppendCompactString(frame, "1.0");
  frame.push_back('\0');  // No body tagged fields.
  FinishFrame(frame);
  return frame;
}

// --- Decoding ----------------------------------------------------------------------------------

// Bounds-checked big-endian reader over a response body; any overrun throws.
class WireReader {
 public:
  WireReader(const char* data, size_t size) : data_(data), size_(size) {}

  size_t position() const { return position_; }
  size_t remaining() const { return size_ - position_; }
  const char* here() const { return data_ + position_; }

  void Skip(size_t count) {
    Need(count);
    position_ += count;
  }
  int8_t I8() {
    Need(1);
    return static_cast<int8_t>(data_[position_++]);
  }
  int16_t I16() { return static_cast<int16_t>(Unsigned(2)); }
  int32_t I32() { return static_cast<int32_t>(Unsigned(4)); }
  int64_t I64() { return static_cast<int64_t>(Unsigned(8)); }
  uint64_t Uvarint() {
    uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      const auto byte = static_cast<uint8_t>(I8());
      value |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return value;
    }
    throw std::runtime_error("malformed varint");
  }
  // A compact string or bytes field: -1 when null, else its length (the cursor is then at the
  // first byte).
  int64_t CompactLength() { return static_cast<int64_t>(Uvarint()) - 1; }
  std::string_view CompactString() {
    const int64_t length = CompactLength();
    if (length < 0) return {};
    const char* start = here();
    Skip(static_cast<size_t>(length));
    return {start, static_cast<size_t>(length)};
  }
  void SkipTaggedFields() {
    for (uint64_t count = Uvarint(); count > 0; --count) {
      Uvarint();  // tag
      Skip(Uvarint());
    }
  }

 private:
  void Need(size_t count) const {
    if (count > size_ - position_) throw std::runtime_error("response truncated");
  }
  uint64_t Unsigned(size_t bytes) {
    Need(bytes);
    uint64_t value = 0;
    for (size_t i = 0; i < bytes; ++i) {
      value = value << 8 | static_cast<uint8_t>(data_[position_ + i]);
    }
    position_ += bytes;
    return value;
  }

  const char* data_;
  size_t size_;
  size_t position_ = 0;
};

// --- Blocking sockets --------------------------------------------------------------------------

// Every blocking send/recv on the socket gives up after `timeout` (EAGAIN), so no run hangs.
inline void SetSocketTimeouts(int fd, std::chrono::milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>(timeout.count() % 1000 * 1000);
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
      ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
    ThrowErrno("setsockopt(SO_RCVTIMEO/SO_SNDTIMEO)");
  }
}

// A blocking TCP_NODELAY connection to 127.0.0.1:port with send/receive timeouts.
inline Fd ConnectBlocking(uint16_t port, std::chrono::milliseconds timeout) {
  Fd socket(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!socket.valid()) ThrowErrno("socket");
  SetTcpNoDelay(socket.get());
  SetSocketTimeouts(socket.get(), timeout);
  const sockaddr_in address = MakeIpv4Address("127.0.0.1", port);
  if (::connect(socket.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) < 0) {
    ThrowErrno("connect 127.0.0.1:" + std::to_string(port));
  }
  return socket;
}

inline void SendAll(int fd, const char* data, size_t size, int flags = 0) {
  while (size > 0) {
    const ssize_t sent = ::send(fd, data, size, flags | MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EINTR) continue;
      ThrowErrno(errno == EAGAIN ? "send: timed out" : "send");
    }
    data += sent;
    size -= static_cast<size_t>(sent);
  }
}

// Receives exactly `size` bytes; false on a clean end of stream before the first byte.
inline bool RecvExact(int fd, char* data, size_t size) {
  size_t done = 0;
  while (done < size) {
    const ssize_t received = ::recv(fd, data + done, size - done, MSG_WAITALL);
    if (received < 0) {
      if (errno == EINTR) continue;
      ThrowErrno(errno == EAGAIN ? "recv: timed out" : "recv");
    }
    if (received == 0) {
      if (done == 0) return false;
      throw std::runtime_error("connection closed in the middle of a frame");
    }
    done += static_cast<size_t>(received);
  }
  return true;
}

// Reads one int32 length-prefixed frame into `body` (resized to the frame's size, capacity
// kept between calls) and returns its size. Throws on end of stream or a frame over `max_size`.
inline size_t ReadFrame(int fd, std::vector<char>& body, uint32_t max_size) {
  char prefix[4];
  if (!RecvExact(fd, prefix, sizeof(prefix))) throw std::runtime_error("connection closed");
  const uint32_t size = GetBe32(prefix);
  if (size > max_size) {
    throw std::runtime_error("response frame of " + std::to_string(size) + " bytes exceeds " +
                             std::to_string(max_size));
  }
  if (body.size() < size) body.resize(size);
  if (!RecvExact(fd, body.data(), size)) throw std::runtime_error("connection closed");
  return size;
}

}  // namespace kb::bench
