// Bytes arriving in arbitrary pieces through the net layer's frame cutter: a
// real TcpServer on loopback with a small read chunk (so the server cuts reads
// mid-frame too), a low output high-water mark, and a handler that echoes each
// frame and sometimes holds the connection for a turn. The client sends the
// input in pieces whose sizes the input chooses, then half-closes. Whatever the
// pieces, the frames handled must be exactly those a plain cut of the whole
// stream gives (up to the first invalid size), each echo must come back, and
// the server must close the connection: anything else is a bug.
//
// Input: [piece sizes...] 0x00 [stream]. Each piece size byte b sends b bytes
// (the last piece takes what is left).

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include "fuzz_support.hpp"
#include "kb/net/event_loop.hpp"
#include "kb/net/tcp_server.hpp"

namespace {

using namespace kb;

constexpr size_t kMinFrame = 8;
constexpr size_t kMaxFrame = 600;
// Turns the server gets to finish one input; more is a hang.
constexpr int kMaxTurns = 20'000;

uint32_t read_be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

class EchoHandler final : public net::FrameHandler {
 public:
  explicit EchoHandler(net::EventLoop& loop) : loop_(loop) {}
  std::vector<std::vector<uint8_t>> frames;

  void on_open(net::Connection& conn) override { open_[conn.id()] = &conn; }
  void on_close(net::Connection& conn) override { open_.erase(conn.id()); }
  void on_frame(net::Connection& conn, std::span<const uint8_t> frame) override {
    frames.emplace_back(frame.begin(), frame.end());
    // Echo: size prefix + the frame, so the client can count what came back.
    uint8_t prefix[4] = {
        static_cast<uint8_t>(frame.size() >> 24), static_cast<uint8_t>(frame.size() >> 16),
        static_cast<uint8_t>(frame.size() >> 8), static_cast<uint8_t>(frame.size())};
    conn.output().append(prefix, 4);
    conn.output().append(frame);
    // A frame starting with 0xff answers "later": the connection is held and
    // resumed on the next turn, as a waiting request does.
    if (frame[0] == 0xff) {
      conn.hold();
      const uint64_t id = conn.id();
      loop_.run_after(std::chrono::milliseconds(0), [this, id] {
        auto it = open_.find(id);
        if (it != open_.end()) it->second->resume();
      });
    }
  }

 private:
  net::EventLoop& loop_;
  std::unordered_map<uint64_t, net::Connection*> open_;
};

struct Harness {
  net::EventLoop loop;
  EchoHandler handler{loop};
  std::unique_ptr<net::TcpServer> server;

  Harness() {
    net::ServerOptions options;
    options.min_frame_size = kMinFrame;
    options.max_frame_size = kMaxFrame;
    options.output_high_water = 256;
    options.read_chunk = 7;
    server = std::make_unique<net::TcpServer>(loop, handler, options);
    if (!server->listen({"127.0.0.1", 0}).empty()) std::abort();
  }

  void turn() {
    loop.run_after(std::chrono::milliseconds(0), [this] { loop.stop(); });
    loop.run();
  }
};

Harness& harness() {
  static Harness* h = [] {
    fuzz::quiet_logs();
    return new Harness();
  }();
  return *h;
}

// What a plain cut of the whole stream gives: the frames, and whether it ends
// in an invalid size (after which nothing more is handled).
struct Cut {
  std::vector<std::span<const uint8_t>> frames;
  bool invalid = false;
};

Cut reference_cut(std::span<const uint8_t> stream) {
  Cut cut;
  while (stream.size() >= 4) {
    size_t size = read_be32(stream.data());
    if (size < kMinFrame || size > kMaxFrame) {
      cut.invalid = true;
      break;
    }
    if (stream.size() < size + 4) break;
    cut.frames.push_back(stream.subspan(4, size));
    stream = stream.subspan(4 + size);
  }
  return cut;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<size_t> pieces;
  size_t i = 0;
  while (i < size && data[i] != 0 && pieces.size() < 64) pieces.push_back(data[i++]);
  if (i < size && data[i] == 0) ++i;
  std::span<const uint8_t> stream(data + i, size - i);
  if (stream.size() > 8 * kMaxFrame) return -1;
  const Cut expected = reference_cut(stream);

  Harness& h = harness();
  h.handler.frames.clear();

  int client = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(h.server->bound_port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) < 0 &&
      errno != EINPROGRESS)
    std::abort();

  size_t echoed = 0;
  bool server_closed = false;
  auto drain_client = [&] {
    uint8_t sink[4096];
    for (;;) {
      ssize_t n = ::recv(client, sink, sizeof(sink), 0);
      if (n > 0) {
        echoed += static_cast<size_t>(n);
        continue;
      }
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) server_closed = true;
      return;
    }
  };

  size_t sent = 0;
  size_t piece = 0;
  int turns = 0;
  while (sent < stream.size() && !server_closed) {
    size_t want = piece < pieces.size() ? pieces[piece] : stream.size() - sent;
    want = std::min(want, stream.size() - sent);
    ssize_t n = ::send(client, stream.data() + sent, want, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      if (static_cast<size_t>(n) == want) ++piece;
    } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOTCONN) {
      break;  // the server closed (an invalid size): what it handled is checked below
    }
    h.turn();
    drain_client();
    if (++turns > kMaxTurns) std::abort();
  }
  ::shutdown(client, SHUT_WR);
  while (!server_closed) {
    h.turn();
    drain_client();
    if (++turns > kMaxTurns) std::abort();  // the server never closed: a hang
  }
  ::close(client);
  while (h.server->connection_count() > 0) {
    h.turn();
    if (++turns > kMaxTurns) std::abort();
  }

  // Every frame of the stream was handled, in order, and nothing else.
  const auto& got = h.handler.frames;
  if (got.size() != expected.frames.size()) std::abort();
  size_t expected_echo = 0;
  for (size_t f = 0; f < got.size(); ++f) {
    if (!std::equal(got[f].begin(), got[f].end(), expected.frames[f].begin(),
                    expected.frames[f].end()))
      std::abort();
    expected_echo += got[f].size() + 4;
  }
  if (echoed != expected_echo) std::abort();
  return 0;
}
