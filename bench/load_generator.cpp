// kb_load_generator: drives a Kafka-compatible server with pipelined ApiVersions v4 requests from
// a single epoll thread and reports throughput and latency percentiles.
//
// Modes:
//   load (default)   --connections N --depth D --seconds S [--warmup W]
//   --idle N         opens N connections, sends nothing, holds them for --seconds, closes them
//   --response-size  sends one request and prints the response frame size (length prefix included)
//
// Any connection error, unexpected close or correlation id mismatch ends the run with exit code 1.

#include <signal.h>
#include <sys/epoll.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <exception>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/core.h>

#include "bench_net.hpp"

namespace kb::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr uint16_t kApiVersionsKey = 18;
constexpr uint16_t kApiVersionsVersion = 4;
constexpr std::string_view kClientId = "kb-bench";
constexpr std::string_view kClientSoftwareName = "kb-bench";
constexpr std::string_view kClientSoftwareVersion = "1.0";

// Request frame layout: int32 size, int16 api_key, int16 api_version, int32 correlation_id, ...
constexpr size_t kRequestCorrelationOffset = 8;
// Response frame layout: int32 size, int32 correlation_id (ApiVersions always uses header v0).
constexpr size_t kResponseCorrelationOffset = 4;
constexpr size_t kSizePrefixBytes = 4;
constexpr uint32_t kMaxResponseBytes = 64u << 20;

constexpr size_t kReadChunk = 64 << 10;
constexpr size_t kMaxEventsPerWait = 256;
constexpr auto kConnectTimeout = std::chrono::seconds(10);
constexpr auto kResponseSizeTimeout = std::chrono::seconds(10);

constexpr std::string_view kUsage =
    "usage: kb_load_generator [--host 127.0.0.1] --port P\n"
    "         [--connections N] [--depth D] [--seconds S] [--warmup W]   pipelined load\n"
    "         --idle N [--seconds S]                                     hold N idle connections\n"
    "         --response-size                                            print one response size\n";

enum class Mode { kLoad, kIdle, kResponseSize };

struct Options {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  Mode mode = Mode::kLoad;
  int connections = 1;
  int depth = 1;
  int seconds = 5;
  int warmup_seconds = 0;
};

Options ParseOptions(int argc, char** argv) {
  Options options;
  bool have_port = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view name = argv[i];
    if (name == "--response-size") {
      options.mode = Mode::kResponseSize;
      continue;
    }
    if (i + 1 >= argc) throw std::invalid_argument(std::string(name) + ": missing value");
    const std::string_view value = argv[++i];
    if (name == "--host") {
      options.host = std::string(value);
    } else if (name == "--port") {
      options.port = ParseInt<uint16_t>(name, value, 1);
      have_port = true;
    } else if (name == "--connections") {
      options.connections = ParseInt<int>(name, value, 1, 60000);
    } else if (name == "--depth") {
      options.depth = ParseInt<int>(name, value, 1, 1 << 16);
    } else if (name == "--seconds") {
      options.seconds = ParseInt<int>(name, value, 1, 24 * 3600);
    } else if (name == "--warmup") {
      options.warmup_seconds = ParseInt<int>(name, value, 0, 3600);
    } else if (name == "--idle") {
      options.mode = Mode::kIdle;
      options.connections = ParseInt<int>(name, value, 1, 60000);
    } else {
      throw std::invalid_argument("unknown option '" + std::string(name) + "'");
    }
  }
  if (!have_port) throw std::invalid_argument("--port is required");
  return options;
}

void AppendBe16(std::string& out, uint16_t value) {
  out.resize(out.size() + 2);
  PutBe16(out.data() + out.size() - 2, value);
}

void AppendBe32(std::string& out, uint32_t value) {
  out.resize(out.size() + 4);
  PutBe32(out.data() + out.size() - 4, value);
}

// Compact strings carry (length + 1) as an unsigned varint, then the bytes.
void AppendCompactString(std::string& out, std::string_view text) {
  uint64_t length_plus_one = text.size() + 1;
  while (length_plus_one >= 0x80) {
    out.push_back(static_cast<char>((length_plus_one & 0x7f) | 0x80));
    length_plus_one >>= 7;
  }
  out.push_back(static_cast<char>(length_plus_one));
  out.append(text);
}

// Encodes one ApiVersions v4 request frame with the given correlation id. Every request is this
// template with the correlation id patched in.
std::string EncodeApiVersionsRequest(uint32_t correlation_id) {
  std::string frame(kSizePrefixBytes, '\0');  // Patched once the frame is complete.
  // Request header v2.
  AppendBe16(frame, kApiVersionsKey);
  AppendBe16(frame, kApiVersionsVersion);
  AppendBe32(frame, correlation_id);
  AppendBe16(frame, static_cast<uint16_t>(kClientId.size()));
  frame.append(kClientId);
  frame.push_back('\0');  // No header tagged fields.
  // ApiVersions v4 body.
  AppendCompactString(frame, kClientSoftwareName);
  AppendCompactString(frame, kClientSoftwareVersion);
  frame.push_back('\0');  // No body tagged fields.
  PutBe32(frame.data(), static_cast<uint32_t>(frame.size() - kSizePrefixBytes));
  return frame;
}

int MillisecondsUntil(Clock::time_point deadline) {
  const auto remaining = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::max<std::chrono::milliseconds::rep>(remaining.count(), 0));
}

// Re-raises the pending error of a socket (reported through EPOLLERR) as an exception.
[[noreturn]] void ThrowSocketError(int fd, const std::string& what) {
  int error = 0;
  socklen_t length = sizeof(error);
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) < 0)
    ThrowErrno(what + ": getsockopt");
  errno = error != 0 ? error : EIO;
  ThrowErrno(what);
}

Fd CreateEpoll() {
  Fd epoll(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll.valid()) ThrowErrno("epoll_create1");
  return epoll;
}

void AddToEpoll(int epoll_fd, int fd, uint32_t events, uint32_t index) {
  epoll_event event{};
  event.events = events;
  event.data.u32 = index;
  if (::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event) < 0) ThrowErrno("epoll_ctl(ADD)");
}

// epoll_wait that treats EINTR as "no events".
int WaitForEvents(int epoll_fd, std::vector<epoll_event>& events, int timeout_ms) {
  const int count =
      ::epoll_wait(epoll_fd, events.data(), static_cast<int>(events.size()), timeout_ms);
  if (count < 0 && errno != EINTR) ThrowErrno("epoll_wait");
  return std::max(count, 0);
}

// Opens `count` non-blocking TCP_NODELAY connections with all handshakes in flight at once, so
// a slow accept loop on the server cannot serialize them. Throws on the first failure.
std::vector<Fd> ConnectAll(const sockaddr_in& address, int count) {
  const Fd epoll = CreateEpoll();
  std::vector<Fd> sockets;
  sockets.reserve(count);
  int connecting = 0;
  for (int i = 0; i < count; ++i) {
    Fd socket(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!socket.valid()) ThrowErrno("socket");
    SetTcpNoDelay(socket.get());
    const auto* raw_address = reinterpret_cast<const sockaddr*>(&address);
    if (::connect(socket.get(), raw_address, sizeof(address)) < 0) {
      if (errno != EINPROGRESS) ThrowErrno(fmt::format("connection {}: connect", i));
      AddToEpoll(epoll.get(), socket.get(), EPOLLOUT, static_cast<uint32_t>(i));
      ++connecting;
    }
    sockets.push_back(std::move(socket));
  }

  const auto deadline = Clock::now() + kConnectTimeout;
  std::vector<epoll_event> events(kMaxEventsPerWait);
  while (connecting > 0) {
    if (Clock::now() >= deadline) {
      throw std::runtime_error(fmt::format("{} of {} connections not established after {} s",
                                           connecting, count, kConnectTimeout.count()));
    }
    const int ready = WaitForEvents(epoll.get(), events, MillisecondsUntil(deadline));
    for (int i = 0; i < ready; ++i) {
      const uint32_t index = events[i].data.u32;
      const int fd = sockets[index].get();
      int error = 0;
      socklen_t length = sizeof(error);
      if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) < 0) {
        ThrowErrno("getsockopt(SO_ERROR)");
      }
      if (error != 0) {
        errno = error;
        ThrowErrno(fmt::format("connection {}: connect", index));
      }
      // Established: stop watching it so it is not reported again.
      if (::epoll_ctl(epoll.get(), EPOLL_CTL_DEL, fd, nullptr) < 0) ThrowErrno("epoll_ctl(DEL)");
      --connecting;
    }
  }
  return sockets;
}

// Log-linear latency histogram: exact below 128 ns, then 128 buckets per power of two, so a
// reported percentile is within 1% of the exact one at fixed memory and O(1) per sample.
class LatencyHistogram {
 public:
  LatencyHistogram() : buckets_(kBucketCount) {}

  void Record(Clock::duration latency) {
    const auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(latency).count();
    ++buckets_[BucketOf(nanos > 0 ? static_cast<uint64_t>(nanos) : 0)];
    ++count_;
  }

  uint64_t count() const { return count_; }

  // Smallest latency (bucket midpoint, in microseconds) that `fraction` of the samples reach.
  double PercentileMicros(double fraction) const {
    if (count_ == 0) return 0;
    const auto rank = std::max<uint64_t>(
        1, static_cast<uint64_t>(std::ceil(fraction * static_cast<double>(count_))));
    uint64_t seen = 0;
    for (size_t bucket = 0; bucket < buckets_.size(); ++bucket) {
      seen += buckets_[bucket];
      if (seen >= rank) return MidpointNanos(bucket) / 1000.0;
    }
    return MidpointNanos(buckets_.size() - 1) / 1000.0;
  }

 private:
  static constexpr int kSubBucketBits = 7;
  static constexpr uint64_t kSubBuckets = uint64_t{1} << kSubBucketBits;
  static constexpr size_t kBucketCount = (64 - kSubBucketBits + 1) * kSubBuckets;

  static size_t BucketOf(uint64_t nanos) {
    if (nanos < kSubBuckets) return nanos;
    // Keep the top kSubBucketBits + 1 bits: (nanos >> shift) lies in [kSubBuckets, 2*kSubBuckets).
    const int shift = static_cast<int>(std::bit_width(nanos)) - kSubBucketBits - 1;
    return (static_cast<size_t>(shift) + 1) * kSubBuckets + ((nanos >> shift) - kSubBuckets);
  }

  static double MidpointNanos(size_t bucket) {
    if (bucket < kSubBuckets) return static_cast<double>(bucket);
    const size_t shift = bucket / kSubBuckets - 1;
    const uint64_t low = (kSubBuckets + bucket % kSubBuckets) << shift;
    return static_cast<double>(low) + static_cast<double>(uint64_t{1} << shift) / 2;
  }

  std::vector<uint64_t> buckets_;
  uint64_t count_ = 0;
};

struct InFlightRequest {
  uint32_t correlation_id;
  Clock::time_point sent_at;
};

struct Connection {
  Fd socket;
  uint32_t index = 0;
  std::string out;  // Encoded requests the kernel has not accepted yet.
  size_t out_sent = 0;
  bool waiting_for_writable = false;  // EPOLLOUT armed.
  std::vector<char> in;               // Received bytes; at most one partial frame after parsing.
  size_t in_length = 0;
  std::deque<InFlightRequest> in_flight;  // Oldest first: responses arrive in request order.
  uint32_t next_correlation_id = 0;
};

// Keeps `depth` requests in flight on every connection until the deadline.
class PipelinedLoad {
 public:
  PipelinedLoad(const Options& options, std::vector<Fd> sockets)
      : depth_(static_cast<size_t>(options.depth)),
        warmup_(options.warmup_seconds),
        duration_(options.seconds),
        request_template_(EncodeApiVersionsRequest(0)),
        epoll_(CreateEpoll()) {
    connections_.resize(sockets.size());
    for (size_t i = 0; i < sockets.size(); ++i) {
      connections_[i].socket = std::move(sockets[i]);
      connections_[i].index = static_cast<uint32_t>(i);
      AddToEpoll(epoll_.get(), connections_[i].socket.get(), EPOLLIN, connections_[i].index);
    }
  }

  // Runs warmup plus measurement; throws on any connection or protocol error.
  void Run() {
    measure_from_ = Clock::now() + warmup_;
    const auto deadline = measure_from_ + duration_;
    for (Connection& connection : connections_) Refill(connection);

    std::vector<epoll_event> events(kMaxEventsPerWait);
    auto now = Clock::now();
    while (now < deadline) {
      const int ready = WaitForEvents(epoll_.get(), events, MillisecondsUntil(deadline));
      for (int i = 0; i < ready; ++i) {
        Connection& connection = connections_[events[i].data.u32];
        const uint32_t flags = events[i].events;
        if (flags & EPOLLERR) ThrowSocketError(connection.socket.get(), Label(connection));
        if (flags & (EPOLLIN | EPOLLHUP)) ReadResponses(connection);
        if ((flags & EPOLLOUT) && connection.waiting_for_writable) Flush(connection);
        Refill(connection);
      }
      now = Clock::now();
    }
    measured_ = now - measure_from_;
  }

  const LatencyHistogram& latencies() const { return latencies_; }
  double measured_seconds() const { return std::chrono::duration<double>(measured_).count(); }

 private:
  static std::string Label(const Connection& connection) {
    return fmt::format("connection {}", connection.index);
  }

  // Tops the pipeline up to `depth_` and sends all new requests with a single write().
  void Refill(Connection& connection) {
    const size_t missing = depth_ - connection.in_flight.size();
    if (missing == 0) return;
    const auto now = Clock::now();
    for (size_t i = 0; i < missing; ++i) {
      const uint32_t correlation_id = connection.next_correlation_id++;
      const size_t offset = connection.out.size();
      connection.out.append(request_template_);
      PutBe32(connection.out.data() + offset + kRequestCorrelationOffset, correlation_id);
      connection.in_flight.push_back({correlation_id, now});
    }
    // With EPOLLOUT armed the socket buffer is full; the writable event sends the batch.
    if (!connection.waiting_for_writable) Flush(connection);
  }

  void Flush(Connection& connection) {
    const ssize_t written =
        ::write(connection.socket.get(), connection.out.data() + connection.out_sent,
                connection.out.size() - connection.out_sent);
    if (written < 0) {
      if (errno != EAGAIN && errno != EINTR) ThrowErrno(Label(connection) + ": write");
    } else {
      connection.out_sent += static_cast<size_t>(written);
    }
    const bool drained = connection.out_sent == connection.out.size();
    if (drained) {
      connection.out.clear();
      connection.out_sent = 0;
    }
    SetWaitingForWritable(connection, !drained);
  }

  void SetWaitingForWritable(Connection& connection, bool waiting) {
    if (connection.waiting_for_writable == waiting) return;
    epoll_event event{};
    event.events = EPOLLIN | (waiting ? EPOLLOUT : 0u);
    event.data.u32 = connection.index;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, connection.socket.get(), &event) < 0) {
      ThrowErrno("epoll_ctl(MOD)");
    }
    connection.waiting_for_writable = waiting;
  }

  void ReadResponses(Connection& connection) {
    std::vector<char>& in = connection.in;
    if (in.size() - connection.in_length < kReadChunk) in.resize(connection.in_length + kReadChunk);
    const ssize_t received = ::read(connection.socket.get(), in.data() + connection.in_length,
                                    in.size() - connection.in_length);
    if (received < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      ThrowErrno(Label(connection) + ": read");
    }
    if (received == 0) {
      throw std::runtime_error(
          fmt::format("{}: server closed the connection with {} requests outstanding",
                      Label(connection), connection.in_flight.size()));
    }
    // Every frame in this read arrived at the same moment.
    const auto now = Clock::now();
    connection.in_length += static_cast<size_t>(received);

    size_t offset = 0;
    while (connection.in_length - offset >= kSizePrefixBytes) {
      const uint32_t size = GetBe32(in.data() + offset);
      if (size < kResponseCorrelationOffset || size > kMaxResponseBytes) {
        throw std::runtime_error(
            fmt::format("{}: invalid response frame size {}", Label(connection), size));
      }
      if (connection.in_length - offset - kSizePrefixBytes < size) break;  // Partial frame.
      const uint32_t correlation_id = GetBe32(in.data() + offset + kResponseCorrelationOffset);
      if (connection.in_flight.empty()) {
        throw std::runtime_error(fmt::format("{}: response {} arrived with no request outstanding",
                                             Label(connection), correlation_id));
      }
      const InFlightRequest oldest = connection.in_flight.front();
      if (correlation_id != oldest.correlation_id) {
        throw std::runtime_error(
            fmt::format("{}: correlation id mismatch: got {}, oldest outstanding request is {}",
                        Label(connection), correlation_id, oldest.correlation_id));
      }
      connection.in_flight.pop_front();
      if (now >= measure_from_) latencies_.Record(now - oldest.sent_at);
      offset += kSizePrefixBytes + size;
    }
    std::copy(in.begin() + static_cast<std::ptrdiff_t>(offset),
              in.begin() + static_cast<std::ptrdiff_t>(connection.in_length), in.begin());
    connection.in_length -= offset;
  }

  const size_t depth_;
  const std::chrono::seconds warmup_;
  const std::chrono::seconds duration_;
  const std::string request_template_;
  Fd epoll_;
  std::vector<Connection> connections_;
  Clock::time_point measure_from_;
  Clock::duration measured_{};
  LatencyHistogram latencies_;
};

void RunLoad(const Options& options, const sockaddr_in& address) {
  PipelinedLoad load(options, ConnectAll(address, options.connections));
  load.Run();
  const LatencyHistogram& latencies = load.latencies();
  const double seconds = load.measured_seconds();
  fmt::print(
      "connections={} depth={} seconds={:.2f} requests={} requests_per_sec={:.0f} "
      "p50_us={:.1f} p99_us={:.1f}\n",
      options.connections, options.depth, seconds, latencies.count(),
      static_cast<double>(latencies.count()) / seconds, latencies.PercentileMicros(0.50),
      latencies.PercentileMicros(0.99));
}

// Holds connections open without traffic; the server closing one (or sending anything) is an
// error, since an idle client must be kept.
void RunIdle(const Options& options, const sockaddr_in& address) {
  const std::vector<Fd> sockets = ConnectAll(address, options.connections);
  // Printed as soon as every handshake is done so a script can sample the server's memory.
  fmt::print("idle_connections={} established\n", sockets.size());
  std::fflush(stdout);

  const Fd epoll = CreateEpoll();
  for (size_t i = 0; i < sockets.size(); ++i) {
    AddToEpoll(epoll.get(), sockets[i].get(), EPOLLIN | EPOLLRDHUP, static_cast<uint32_t>(i));
  }
  const auto deadline = Clock::now() + std::chrono::seconds(options.seconds);
  std::vector<epoll_event> events(kMaxEventsPerWait);
  while (Clock::now() < deadline) {
    const int ready = WaitForEvents(epoll.get(), events, MillisecondsUntil(deadline));
    if (ready == 0) continue;
    const uint32_t index = events[0].data.u32;
    const std::string label = fmt::format("idle connection {}", index);
    if (events[0].events & EPOLLERR) ThrowSocketError(sockets[index].get(), label);
    throw std::runtime_error(label + ": server closed it or sent unsolicited data");
  }
  fmt::print("idle_connections={} held_seconds={} closed\n", sockets.size(), options.seconds);
}

void WriteAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t written = ::write(fd, bytes.data(), bytes.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      ThrowErrno("write");
    }
    bytes.remove_prefix(static_cast<size_t>(written));
  }
}

// Blocking read of exactly `size` bytes; the socket's SO_RCVTIMEO bounds each read.
std::string ReadExactly(int fd, size_t size) {
  std::string bytes(size, '\0');
  size_t filled = 0;
  while (filled < size) {
    const ssize_t received = ::read(fd, bytes.data() + filled, size - filled);
    if (received < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) throw std::runtime_error("timed out waiting for the response");
      ThrowErrno("read");
    }
    if (received == 0) throw std::runtime_error("server closed the connection before responding");
    filled += static_cast<size_t>(received);
  }
  return bytes;
}

// Sends one request and returns the size of the response frame, length prefix included.
uint32_t MeasureResponseSize(const sockaddr_in& address) {
  std::vector<Fd> sockets = ConnectAll(address, 1);
  const int fd = sockets[0].get();
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) ThrowErrno("fcntl");
  const timeval timeout{.tv_sec = kResponseSizeTimeout.count(), .tv_usec = 0};
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout)) < 0 ||
      ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout)) < 0) {
    ThrowErrno("setsockopt(SO_RCVTIMEO)");
  }

  constexpr uint32_t kCorrelationId = 1;
  WriteAll(fd, EncodeApiVersionsRequest(kCorrelationId));
  const uint32_t size = GetBe32(ReadExactly(fd, kSizePrefixBytes).data());
  if (size < kResponseCorrelationOffset || size > kMaxResponseBytes) {
    throw std::runtime_error(fmt::format("invalid response frame size {}", size));
  }
  const std::string body = ReadExactly(fd, size);
  const uint32_t correlation_id = GetBe32(body.data());
  if (correlation_id != kCorrelationId) {
    throw std::runtime_error(
        fmt::format("correlation id mismatch: got {}, sent {}", correlation_id, kCorrelationId));
  }
  return static_cast<uint32_t>(kSizePrefixBytes) + size;
}

int Main(int argc, char** argv) {
  Options options;
  try {
    options = ParseOptions(argc, argv);
  } catch (const std::invalid_argument& error) {
    fmt::print(stderr, "kb_load_generator: {}\n{}", error.what(), kUsage);
    return 2;
  }
  try {
    // A write to a connection the server reset must surface as EPIPE, not kill us silently.
    if (std::signal(SIGPIPE, SIG_IGN) == SIG_ERR) ThrowErrno("signal(SIGPIPE)");
    const sockaddr_in address = MakeIpv4Address(options.host, options.port);
    switch (options.mode) {
      case Mode::kResponseSize:
        fmt::print("{}\n", MeasureResponseSize(address));
        break;
      case Mode::kIdle:
        EnsureFdLimit(static_cast<rlim_t>(options.connections) + 16);
        RunIdle(options, address);
        break;
      case Mode::kLoad:
        EnsureFdLimit(static_cast<rlim_t>(options.connections) + 16);
        RunLoad(options, address);
        break;
    }
  } catch (const std::exception& error) {
    fmt::print(stderr, "kb_load_generator: error: {}\n", error.what());
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace kb::bench

int main(int argc, char** argv) { return kb::bench::Main(argc, argv); }
