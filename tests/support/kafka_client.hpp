#pragma once

// A blocking raw-protocol client for tests: it sends frames and reads whole
// response frames, with timeouts, so a test can never hang on the broker.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "kb/base/byte_buffer.hpp"
#include "kb/protocol/api_key.hpp"
#include "kb/protocol/header.hpp"
#include "kb/wire/serde.hpp"
#include "kb/wire/writer.hpp"

namespace kb::testing {

class RawClient {
 public:
  explicit RawClient(uint16_t port, std::chrono::milliseconds timeout = std::chrono::seconds(10))
      : timeout_(timeout) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error("socket failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) < 0) {
      ::close(fd_);
      throw std::runtime_error(std::string("connect failed: ") + std::strerror(errno));
    }
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  ~RawClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;
  RawClient(RawClient&& o) noexcept : fd_(o.fd_), timeout_(o.timeout_) { o.fd_ = -1; }

  void send_bytes(std::span<const uint8_t> bytes) {
    size_t sent = 0;
    while (sent < bytes.size()) {
      ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        throw std::runtime_error(std::string("send failed: ") + std::strerror(errno));
      }
      sent += static_cast<size_t>(n);
    }
  }

  // Reads exactly n bytes; nullopt when the broker closed the connection first.
  std::optional<std::vector<uint8_t>> read_exactly(size_t n) {
    std::vector<uint8_t> out(n);
    size_t got = 0;
    auto deadline = std::chrono::steady_clock::now() + timeout_;
    while (got < n) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) throw std::runtime_error("timed out waiting for the broker");
      pollfd p{fd_, POLLIN, 0};
      int r = ::poll(&p, 1, static_cast<int>(left.count()));
      if (r < 0 && errno == EINTR) continue;
      if (r == 0) throw std::runtime_error("timed out waiting for the broker");
      ssize_t k = ::recv(fd_, out.data() + got, n - got, 0);
      if (k == 0) return std::nullopt;
      if (k < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        if (errno == ECONNRESET) return std::nullopt;
        throw std::runtime_error(std::string("recv failed: ") + std::strerror(errno));
      }
      got += static_cast<size_t>(k);
    }
    return out;
  }

  // One whole response frame without its size prefix; nullopt when closed.
  std::optional<std::vector<uint8_t>> read_frame() {
    auto size = read_exactly(4);
    if (!size) return std::nullopt;
    uint32_t n = (uint32_t{(*size)[0]} << 24) | (uint32_t{(*size)[1]} << 16) |
                 (uint32_t{(*size)[2]} << 8) | (*size)[3];
    if (n > 256u * 1024 * 1024) throw std::runtime_error("absurd response size");
    return read_exactly(n);
  }

  // True when the broker closes the connection (EOF) within the timeout.
  bool closed_by_peer() {
    try {
      while (true) {
        auto b = read_exactly(1);
        if (!b) return true;
      }
    } catch (const std::exception&) {
      return false;
    }
  }

  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  std::chrono::milliseconds timeout_;
};

// Encodes a whole request frame: size, header (v1 or v2), body.
template <class Request>
std::vector<uint8_t> encode_request(const Request& request, int16_t version, int32_t correlation_id,
                                    std::optional<std::string_view> client_id = "kb-test") {
  ByteBuffer buf;
  wire::Writer w(buf);
  size_t size_at = w.reserve_int32();
  const bool flexible = version >= Request::kFirstFlexible;
  protocol::write_request_header(
      w, {static_cast<int16_t>(Request::kApiKey), version, correlation_id, client_id},
      protocol::request_header_version(Request::kApiKey, version));
  wire::encode(w, request, version, flexible);
  w.patch_int32(size_at, static_cast<int32_t>(buf.size() - 4));
  return {buf.data(), buf.data() + buf.size()};
}

// Splits a response frame into correlation id and body (after the header).
struct ResponseFrame {
  int32_t correlation_id = 0;
  std::vector<uint8_t> body;
};

inline ResponseFrame split_response(const std::vector<uint8_t>& frame, bool flexible_header) {
  wire::Reader r(frame);
  ResponseFrame out;
  protocol::ResponseHeader header;
  const int16_t header_version = flexible_header ? 1 : 0;
  wire::decode(r, header, header_version, flexible_header);
  out.correlation_id = header.correlation_id;
  if (!r.ok()) throw std::runtime_error("malformed response header");
  out.body.assign(frame.begin() + static_cast<long>(r.position()), frame.end());
  return out;
}

template <class Response>
Response decode_response(const std::vector<uint8_t>& body, int16_t version) {
  Response response;
  wire::Reader r(body);
  wire::decode(r, response, version, version >= Response::kFirstFlexible);
  if (!r.ok()) throw std::runtime_error("response does not decode");
  if (!r.at_end()) throw std::runtime_error("response has trailing bytes");
  return response;
}

// One request and its response on `client`. The decoded response views
// `body`, which must outlive it. Throws when the broker closes the connection.
template <class Response, class Request>
Response call(RawClient& client, const Request& request, int16_t version,
              std::vector<uint8_t>& body, int32_t correlation_id = 1) {
  client.send_bytes(encode_request(request, version, correlation_id));
  auto frame = client.read_frame();
  if (!frame) throw std::runtime_error("broker closed the connection");
  // ApiVersions answers with response header v0 at every version.
  const bool flexible_header =
      version >= Response::kFirstFlexible && Response::kApiKey != protocol::ApiKey::kApiVersions;
  auto split = split_response(*frame, flexible_header);
  if (split.correlation_id != correlation_id) throw std::runtime_error("correlation id mismatch");
  body = std::move(split.body);
  return decode_response<Response>(body, version);
}

}  // namespace kb::testing

namespace kb::testing {

// A connection that sends typed requests and decodes their responses. The
// last response body is kept (decoded responses view it) until the next call.
class TypedClient {
 public:
  explicit TypedClient(uint16_t port) : raw_(port) {}

  template <class Response, class Request>
  Response call(const Request& request, int16_t version) {
    const int32_t id = next_id_++;
    raw_.send_bytes(encode_request(request, version, id));
    auto frame = raw_.read_frame();
    if (!frame) throw std::runtime_error("broker closed the connection");
    auto split = split_response(*frame, version >= Response::kFirstFlexible);
    if (split.correlation_id != id) throw std::runtime_error("correlation id mismatch");
    body_ = std::move(split.body);
    return decode_response<Response>(body_, version);
  }

  RawClient& raw() { return raw_; }

 private:
  RawClient raw_;
  std::vector<uint8_t> body_;
  int32_t next_id_ = 1;
};

}  // namespace kb::testing
