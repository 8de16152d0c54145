#pragma once

// Helpers for the net layer tests: a blocking loopback client with timeouts, a
// thread that runs it, a way to run the EventLoop in the test thread until a
// condition holds (bounded in time), and a FrameHandler that records what it
// sees and echoes frames back by default.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "kb/net/event_loop.hpp"
#include "kb/net/tcp_server.hpp"

namespace kb::net::test {

using namespace std::chrono_literals;
using Bytes = std::vector<uint8_t>;

inline void put_be32(Bytes& out, uint32_t v) {
  out.push_back(static_cast<uint8_t>(v >> 24));
  out.push_back(static_cast<uint8_t>(v >> 16));
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

inline uint32_t get_be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// A payload of `size` bytes whose content depends on `seed`, so frames can be
// told apart and a misplaced byte shows.
inline Bytes payload(size_t size, uint32_t seed) {
  Bytes out(size);
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < size; ++i) {
    x = x * 1103515245u + 12345u;
    out[i] = static_cast<uint8_t>(x >> 16);
  }
  return out;
}

// The size prefix followed by the payload.
inline Bytes framed(std::span<const uint8_t> body) {
  Bytes out;
  out.reserve(body.size() + 4);
  put_be32(out, static_cast<uint32_t>(body.size()));
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

inline void append(Bytes& out, std::span<const uint8_t> more) {
  out.insert(out.end(), more.begin(), more.end());
}

// A blocking IPv4 loopback client. Every receive and send is bounded by the
// timeout, so a misbehaving server fails a test instead of hanging it.
class Client {
 public:
  // rcvbuf > 0 shrinks the receive buffer before connecting (and so turns off
  // autotuning), which bounds how much the server can push into the kernel.
  explicit Client(uint16_t port, std::chrono::milliseconds timeout = 2000ms, int rcvbuf = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return;
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (rcvbuf > 0) setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) connected_ = true;
  }
  ~Client() { close(); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return connected_; }
  int fd() const { return fd_; }

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    connected_ = false;
  }

  // Closes with SO_LINGER 0, so the server sees a reset rather than an EOF.
  void reset() {
    linger l{1, 0};
    setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    close();
  }

  void shutdown_write() { ::shutdown(fd_, SHUT_WR); }

  bool send_all(std::span<const uint8_t> bytes) {
    size_t sent = 0;
    while (sent < bytes.size()) {
      ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      sent += static_cast<size_t>(n);
    }
    return true;
  }

  // Exactly n bytes, or false on timeout, EOF or error.
  bool read_exact(uint8_t* out, size_t n) {
    size_t got = 0;
    while (got < n) {
      ssize_t r = ::recv(fd_, out + got, n - got, 0);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return false;
      got += static_cast<size_t>(r);
    }
    return true;
  }

  // One length-prefixed frame (payload only), or nullopt on timeout, EOF or error.
  std::optional<Bytes> read_frame() {
    uint8_t prefix[4];
    if (!read_exact(prefix, 4)) return std::nullopt;
    Bytes body(get_be32(prefix));
    if (!read_exact(body.data(), body.size())) return std::nullopt;
    return body;
  }

  enum class End { kClosed, kTimeout };
  // Reads (and counts) whatever is left until the server closes (EOF or
  // reset) or the timeout passes.
  End read_until_closed(size_t* extra_bytes = nullptr) {
    uint8_t buf[4096];
    size_t extra = 0;
    End end = End::kTimeout;
    while (true) {
      ssize_t r = ::recv(fd_, buf, sizeof(buf), 0);
      if (r > 0) {
        extra += static_cast<size_t>(r);
        continue;
      }
      if (r < 0 && errno == EINTR) continue;
      end = (r == 0 || errno == ECONNRESET || errno == EPIPE) ? End::kClosed : End::kTimeout;
      break;
    }
    if (extra_bytes) *extra_bytes = extra;
    return end;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

// Runs `body` on a second thread; joins in the destructor.
class ClientThread {
 public:
  explicit ClientThread(std::function<void()> body)
      : thread_([this, body = std::move(body)] {
          body();
          done_ = true;
        }) {}
  ~ClientThread() { join(); }
  ClientThread(const ClientThread&) = delete;
  ClientThread& operator=(const ClientThread&) = delete;

  bool done() const { return done_; }
  void join() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::atomic<bool> done_{false};
  std::thread thread_;
};

// Runs the loop in this thread until `until()` holds (checked every
// millisecond, in the loop thread, after `tick()` if given) or `limit` passes.
// Returns whether the condition was met. No timer of its own is left behind.
inline bool run_loop_until(EventLoop& loop, const std::function<bool()>& until,
                           std::chrono::milliseconds limit = 4000ms,
                           const std::function<void()>& tick = {}) {
  bool met = false;
  EventLoop::TimerId poll_id = 0;
  std::function<void()> poll = [&] {
    if (tick) tick();
    if (until()) {
      met = true;
      loop.stop();
      return;
    }
    poll_id = loop.run_after(1ms, poll);
  };
  poll_id = loop.run_after(0ms, poll);
  EventLoop::TimerId watchdog = loop.run_after(limit, [&] { loop.stop(); });
  loop.run();
  loop.cancel(poll_id);
  loop.cancel(watchdog);
  return met;
}

// Polls an atomic from the client thread (bounded).
template <typename Pred>
bool wait_for(Pred pred, std::chrono::milliseconds limit = 2000ms) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(200us);
  }
  return true;
}

// Records every callback; echoes each frame back (with its prefix) unless
// `respond` says otherwise. Atomics may be read from the client thread; the
// rest only from the loop thread or after the loop has stopped.
class RecordingHandler : public FrameHandler {
 public:
  std::function<void(Connection&, std::span<const uint8_t>)> respond;
  std::function<bool(Connection&)> frames_handled;  // on_frames_handled (default: true)

  std::atomic<int> opened{0};
  std::atomic<int> closed{0};
  std::atomic<int> frames{0};
  std::vector<Bytes> received;
  std::vector<uint64_t> frame_conn;  // which connection each received frame came from
  std::vector<uint64_t> open_ids;
  std::vector<uint64_t> close_ids;
  std::map<uint64_t, Connection*> live;

  static void echo(Connection& conn, std::span<const uint8_t> frame) {
    uint8_t prefix[4] = {
        static_cast<uint8_t>(frame.size() >> 24), static_cast<uint8_t>(frame.size() >> 16),
        static_cast<uint8_t>(frame.size() >> 8), static_cast<uint8_t>(frame.size())};
    conn.output().append(prefix, 4);
    conn.output().append(frame);
  }

  void on_open(Connection& conn) override {
    open_ids.push_back(conn.id());
    live[conn.id()] = &conn;
    ++opened;
  }
  void on_frame(Connection& conn, std::span<const uint8_t> frame) override {
    received.emplace_back(frame.begin(), frame.end());
    frame_conn.push_back(conn.id());
    ++frames;
    if (respond)
      respond(conn, frame);
    else
      echo(conn, frame);
  }
  bool on_frames_handled(Connection& conn) override {
    return frames_handled ? frames_handled(conn) : true;
  }
  void on_close(Connection& conn) override {
    close_ids.push_back(conn.id());
    live.erase(conn.id());
    ++closed;
  }
};

}  // namespace kb::net::test
