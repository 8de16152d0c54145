// kb_echo_server: the throughput ceiling the broker is compared against. A single-threaded epoll
// server that answers every int32 length-prefixed request frame with a fixed-size frame carrying
// the request's correlation id and nothing else, so it costs only the I/O the broker also pays:
// one read and one write per connection per loop turn, EPOLLOUT armed only while output remains.
//
// usage: kb_echo_server --port P --response-bytes B
//   B is the whole response frame including its 4-byte length prefix (see kb_load_generator
//   --response-size). --port 0 picks a free port; the chosen one is printed on stdout.

#include <signal.h>
#include <sys/epoll.h>

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/core.h>

#include "bench_net.hpp"

namespace kb::bench {
namespace {

constexpr size_t kSizePrefixBytes = 4;
// Request frame layout: int32 size, int16 api_key, int16 api_version, int32 correlation_id.
constexpr size_t kRequestCorrelationOffset = 8;
constexpr size_t kCorrelationIdBytes = 4;
constexpr uint32_t kMaxRequestBytes = 100u << 20;
constexpr size_t kReadChunk = 64 << 10;
// A client that stops reading its responses stops being read once this much output is queued.
constexpr size_t kMaxQueuedOutput = 4 << 20;
constexpr int kMaxEventsPerWait = 256;

constexpr std::string_view kUsage = "usage: kb_echo_server --port P --response-bytes B\n";

struct Options {
  uint16_t port = 0;
  uint32_t response_bytes = 0;
};

Options ParseOptions(int argc, char** argv) {
  Options options;
  bool have_port = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view name = argv[i];
    if (i + 1 >= argc) throw std::invalid_argument(std::string(name) + ": missing value");
    const std::string_view value = argv[++i];
    if (name == "--port") {
      options.port = ParseInt<uint16_t>(name, value, 0);
      have_port = true;
    } else if (name == "--response-bytes") {
      // The response must at least hold its size and the correlation id.
      options.response_bytes =
          ParseInt<uint32_t>(name, value, kSizePrefixBytes + kCorrelationIdBytes, 64u << 20);
    } else {
      throw std::invalid_argument("unknown option '" + std::string(name) + "'");
    }
  }
  if (!have_port || options.response_bytes == 0) {
    throw std::invalid_argument("--port and --response-bytes are required");
  }
  return options;
}

struct Connection {
  explicit Connection(Fd fd) : socket(std::move(fd)) {}

  Fd socket;
  std::string in;   // Partial request frame carried over to the next read.
  std::string out;  // Responses the kernel has not accepted yet.
  size_t out_sent = 0;
  uint32_t interest = EPOLLIN;  // Events currently registered with epoll.

  size_t queued_output() const { return out.size() - out_sent; }
};

class EchoServer {
 public:
  explicit EchoServer(const Options& options)
      : response_bytes_(options.response_bytes), read_buffer_(kReadChunk) {
    epoll_ = Fd(::epoll_create1(EPOLL_CLOEXEC));
    if (!epoll_.valid()) ThrowErrno("epoll_create1");
    listener_ = Fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!listener_.valid()) ThrowErrno("socket");
    const int on = 1;
    if (::setsockopt(listener_.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0) {
      ThrowErrno("setsockopt(SO_REUSEADDR)");
    }
    sockaddr_in address = MakeIpv4Address("127.0.0.1", options.port);
    auto* raw_address = reinterpret_cast<sockaddr*>(&address);
    if (::bind(listener_.get(), raw_address, sizeof(address)) < 0) {
      ThrowErrno(fmt::format("bind 127.0.0.1:{}", options.port));
    }
    if (::listen(listener_.get(), SOMAXCONN) < 0) ThrowErrno("listen");
    socklen_t length = sizeof(address);
    if (::getsockname(listener_.get(), raw_address, &length) < 0) {
      ThrowErrno("getsockname");
    }
    port_ = ntohs(address.sin_port);
    Register(listener_.get(), EPOLLIN, EPOLL_CTL_ADD);
  }

  uint16_t port() const { return port_; }

  [[noreturn]] void Run() {
    epoll_event events[kMaxEventsPerWait];
    for (;;) {
      const int ready = ::epoll_wait(epoll_.get(), events, kMaxEventsPerWait, -1);
      if (ready < 0) {
        if (errno == EINTR) continue;
        ThrowErrno("epoll_wait");
      }
      for (int i = 0; i < ready; ++i) {
        const int fd = events[i].data.fd;
        if (fd == listener_.get()) {
          AcceptAll();
        } else if (!Serve(*connections_[fd], events[i].events)) {
          connections_[fd].reset();  // Closing the socket also removes it from epoll.
        }
      }
    }
  }

 private:
  void Register(int fd, uint32_t events, int operation) {
    epoll_event event{};
    event.events = events;
    event.data.fd = fd;
    if (::epoll_ctl(epoll_.get(), operation, fd, &event) < 0) ThrowErrno("epoll_ctl");
  }

  void AcceptAll() {
    for (;;) {
      Fd socket(::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
      if (!socket.valid()) {
        if (errno == EAGAIN) return;
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EMFILE || errno == ENFILE) ThrowErrno("accept4 (raise ulimit -n)");
        ThrowErrno("accept4");
      }
      const int on = 1;
      if (::setsockopt(socket.get(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) < 0) {
        LogConnectionError("setsockopt(TCP_NODELAY)");
        continue;  // Dropping the Fd closes the connection.
      }
      const int fd = socket.get();
      Register(fd, EPOLLIN, EPOLL_CTL_ADD);
      if (static_cast<size_t>(fd) >= connections_.size()) connections_.resize(fd + 1);
      connections_[fd] = std::make_unique<Connection>(std::move(socket));
    }
  }

  // Handles one readiness report; returns false when the connection must be closed.
  bool Serve(Connection& connection, uint32_t events) {
    if (events & EPOLLERR) {
      int error = 0;
      socklen_t length = sizeof(error);
      if (::getsockopt(connection.socket.get(), SOL_SOCKET, SO_ERROR, &error, &length) == 0) {
        errno = error;
      }
      LogConnectionError("socket error");
      return false;
    }
    if ((events & (EPOLLIN | EPOLLHUP)) && !ReadOnce(connection)) return false;
    if (connection.queued_output() > 0 && !WriteOnce(connection)) return false;
    UpdateInterest(connection);
    return true;
  }

  bool ReadOnce(Connection& connection) {
    const ssize_t received =
        ::read(connection.socket.get(), read_buffer_.data(), read_buffer_.size());
    if (received == 0) return false;  // The client closed.
    if (received < 0) {
      if (errno == EAGAIN || errno == EINTR) return true;
      LogConnectionError("read");
      return false;
    }
    // Parse straight from the shared buffer unless a partial frame is waiting to be completed.
    const bool continues_frame = !connection.in.empty();
    std::string_view input(read_buffer_.data(), static_cast<size_t>(received));
    if (continues_frame) {
      connection.in.append(input);
      input = connection.in;
    }
    const size_t consumed = AnswerFrames(connection, input);
    if (consumed == kProtocolError) return false;
    if (continues_frame) {
      connection.in.erase(0, consumed);
    } else {
      connection.in.assign(input.substr(consumed));
    }
    return true;
  }

  static constexpr size_t kProtocolError = static_cast<size_t>(-1);

  // Queues one response per complete request frame in `input`; returns the bytes consumed, or
  // kProtocolError for a frame too short to hold a correlation id or absurdly large.
  size_t AnswerFrames(Connection& connection, std::string_view input) {
    size_t offset = 0;
    while (input.size() - offset >= kSizePrefixBytes) {
      const uint32_t size = GetBe32(input.data() + offset);
      if (size < kRequestCorrelationOffset + kCorrelationIdBytes - kSizePrefixBytes ||
          size > kMaxRequestBytes) {
        fmt::print(stderr, "kb_echo_server: closing a connection: bad request frame size {}\n",
                   size);
        return kProtocolError;
      }
      if (input.size() - offset - kSizePrefixBytes < size) break;  // Partial frame.
      const size_t response = connection.out.size();
      connection.out.append(response_bytes_, '\0');
      PutBe32(connection.out.data() + response,
              response_bytes_ - static_cast<uint32_t>(kSizePrefixBytes));
      std::memcpy(connection.out.data() + response + kSizePrefixBytes,
                  input.data() + offset + kRequestCorrelationOffset, kCorrelationIdBytes);
      offset += kSizePrefixBytes + size;
    }
    return offset;
  }

  bool WriteOnce(Connection& connection) {
    const ssize_t written =
        ::write(connection.socket.get(), connection.out.data() + connection.out_sent,
                connection.queued_output());
    if (written < 0) {
      if (errno == EAGAIN || errno == EINTR) return true;
      LogConnectionError("write");
      return false;
    }
    connection.out_sent += static_cast<size_t>(written);
    if (connection.out_sent == connection.out.size()) {
      connection.out.clear();
      connection.out_sent = 0;
    } else if (connection.out_sent > connection.out.size() / 2) {
      // Compact so the queue does not grow without bound under a slow reader.
      connection.out.erase(0, connection.out_sent);
      connection.out_sent = 0;
    }
    return true;
  }

  void UpdateInterest(Connection& connection) {
    const size_t queued = connection.queued_output();
    const uint32_t interest =
        (queued < kMaxQueuedOutput ? EPOLLIN : 0u) | (queued > 0 ? EPOLLOUT : 0u);
    if (interest == connection.interest) return;
    Register(connection.socket.get(), interest, EPOLL_CTL_MOD);
    connection.interest = interest;
  }

  // Resets by the client are the normal end of a benchmark run; anything else is worth a line.
  static void LogConnectionError(const char* what) {
    if (errno == ECONNRESET || errno == EPIPE) return;
    fmt::print(stderr, "kb_echo_server: closing a connection: {}: {}\n", what,
               std::strerror(errno));
  }

  const uint32_t response_bytes_;
  std::vector<char> read_buffer_;  // Shared: idle connections own no buffers.
  Fd epoll_;
  Fd listener_;
  uint16_t port_ = 0;
  std::vector<std::unique_ptr<Connection>> connections_;  // Indexed by descriptor.
};

int Main(int argc, char** argv) {
  Options options;
  try {
    options = ParseOptions(argc, argv);
  } catch (const std::invalid_argument& error) {
    fmt::print(stderr, "kb_echo_server: {}\n{}", error.what(), kUsage);
    return 2;
  }
  try {
    // A write to a connection the client reset must fail with EPIPE, not kill the server.
    if (std::signal(SIGPIPE, SIG_IGN) == SIG_ERR) ThrowErrno("signal(SIGPIPE)");
    RaiseFdLimitToHard();
    EchoServer server(options);
    fmt::print("kb_echo_server listening on 127.0.0.1:{} response_bytes={}\n", server.port(),
               options.response_bytes);
    std::fflush(stdout);
    server.Run();
  } catch (const std::exception& error) {
    fmt::print(stderr, "kb_echo_server: error: {}\n", error.what());
    return 1;
  }
}

}  // namespace
}  // namespace kb::bench

int main(int argc, char** argv) { return kb::bench::Main(argc, argv); }
