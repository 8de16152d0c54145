// Hostile clients against a running broker: measures the ApiVersions latency of one
// well-behaved client (a request every millisecond on its own connection) while the broker is
// idle, then while each kind of abuse runs, then all of them at once:
//   idle-10k      10,000 connections opened and left idle
//   slowloris     1,000 connections that each send half a frame and stop
//   non-reader    clients that pipeline requests and never read a response
//   bad-frames    connections sending negative, oversized and too-small frame sizes
//   storm         new connections opened and dropped, 5,000 a second by default
//   all           everything above together
//   metadata-flood  Metadata requests each naming 2,000 new topics (auto-creation), one after
//                 another on one connection: each creates its topics (records appended and
//                 synced together, off the event loop)
//   join-flood    JoinGroup requests offering 100,000 protocols, one after another: a member
//                 rejoining with its protocols in a new order (a rebalance and a protocol
//                 choice each time)
//   tls-handshakes  (with --tls-port) connections to the broker's TLS listener, 500 a second by
//                 default, each sending a ClientHello and never finishing the handshake: the
//                 broker does its half (key exchange, signature) and waits for a Finished that
//                 never comes, until its handshake timeout closes the connection; the probe
//                 stays on the plaintext listener
//   fd-hungry     two producers writing 1 KiB records to 8 partitions of a topic with 16 KiB
//                 segments and 256 KiB retention (segments roll and are deleted all the time;
//                 the broker runs retention every second): the broker's open descriptors are
//                 printed too
// For each phase it prints p50/p99/max latency, the p99 ratio to idle (target: at most 2x) and
// the broker's RSS (from /proc, with --broker-pid).
//
//   kb_hostile_bench --port P [--broker-pid PID] [--seconds S] [--idle N] [--slowloris N]
//                    [--storm-rate CONNECTIONS_PER_S] [--flood-topics N] [--flood-protocols N]
//                    [--tls-port P] [--tls-rate HANDSHAKES_PER_S] [--only PHASE[,PHASE...]]
//
// --only runs the named phases alone (after idle), for looking at one closely.
//
// The join flood wants a broker with group.initial.rebalance.delay.ms=0.

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench_kafka.hpp"
#include "bench_net.hpp"

namespace kb::bench {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::microseconds;
using std::chrono::milliseconds;

struct Options {
  uint16_t port = 0;
  int broker_pid = 0;
  int seconds = 5;
  int idle_connections = 10'000;
  int slowloris = 1'000;
  // New connections per second in the storm. Unpaced, the storm thread takes a whole client
  // CPU and the measurement becomes one of the client machine, not of the broker.
  int storm_rate = 5'000;
  int flood_topics = 2'000;       // new topics named by each Metadata request
  int flood_protocols = 100'000;  // protocols offered by each JoinGroup
  uint16_t tls_port = 0;          // the broker's TLS listener; 0: no TLS phase
  int tls_rate = 500;             // half-finished handshakes started per second
  std::string only;               // ",a,b,": run just these phases; empty: all
  bool runs(const std::string& phase) const {
    return only.empty() || only.find("," + phase + ",") != std::string::npos;
  }
};

// A non-blocking connection to 127.0.0.1:port (connect may still be in progress).
Fd ConnectNonBlocking(uint16_t port, bool reset_on_close) {
  Fd socket(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!socket.valid()) ThrowErrno("socket");
  if (reset_on_close) {
    // Closing with RST leaves no TIME_WAIT behind, so a storm cannot run out of ports.
    linger l{1, 0};
    ::setsockopt(socket.get(), SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  }
  const sockaddr_in address = MakeIpv4Address("127.0.0.1", port);
  if (::connect(socket.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) < 0 &&
      errno != EINPROGRESS)
    ThrowErrno("connect");
  return socket;
}

bool WaitWritable(int fd, int timeout_ms) {
  pollfd p{fd, POLLOUT, 0};
  return ::poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLOUT);
}

std::string BrokerMemory(int pid) {
  if (pid <= 0) return "-";
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line, rss = "?", peak = "?";
  while (std::getline(status, line)) {
    auto value = [&] {
      auto v = line.substr(line.find(':') + 1);
      v.erase(0, v.find_first_not_of(" \t"));
      return v.substr(0, v.find(' '));
    };
    if (line.starts_with("VmRSS:")) rss = value();
    if (line.starts_with("VmHWM:")) peak = value();
  }
  return std::to_string(std::stol(rss) / 1024) + " MiB (peak " +
         std::to_string(std::stol(peak) / 1024) + ")";
}

// --- The well-behaved client ---------------------------------------------------------------------

struct Latency {
  double p50_us = 0, p99_us = 0, max_us = 0;
  size_t samples = 0;
  size_t failures = 0;
};

Latency Probe(uint16_t port, int seconds) {
  Latency out;
  std::vector<double> samples;
  std::vector<char> body;
  Fd socket;
  const auto end = Clock::now() + std::chrono::seconds(seconds);
  auto next = Clock::now();
  uint32_t correlation = 1;
  while (Clock::now() < end) {
    std::this_thread::sleep_until(next);
    next += milliseconds(1);
    try {
      if (!socket.valid()) socket = ConnectBlocking(port, milliseconds(5000));
      const std::string request = EncodeApiVersionsV4Request(correlation++);
      const auto start = Clock::now();
      SendAll(socket.get(), request.data(), request.size());
      ReadFrame(socket.get(), body, 1 << 20);
      samples.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    } catch (const std::exception&) {
      ++out.failures;  // counted, and the next request uses a new connection
      socket.Reset();
    }
  }
  std::sort(samples.begin(), samples.end());
  out.samples = samples.size();
  if (!samples.empty()) {
    out.p50_us = samples[samples.size() / 2];
    out.p99_us = samples[std::min(samples.size() - 1, samples.size() * 99 / 100)];
    out.max_us = samples.back();
  }
  return out;
}

// --- Abuse ---------------------------------------------------------------------------------------

// Something hostile that runs until stopped; held connections are closed on Stop.
class Abuse {
 public:
  virtual ~Abuse() { Stop(); }
  virtual void Start() = 0;
  void Stop() {
    stop_ = true;
    for (auto& t : threads_) t.join();
    threads_.clear();
    held_.clear();
  }
  std::string note;

 protected:
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
  std::vector<Fd> held_;
};

class IdleConnections final : public Abuse {
 public:
  IdleConnections(uint16_t port, int count) : port_(port), count_(count) {}
  void Start() override {
    int open = 0;
    for (int i = 0; i < count_; ++i) {
      Fd fd = ConnectNonBlocking(port_, true);
      if (WaitWritable(fd.get(), 2000)) ++open;
      held_.push_back(std::move(fd));
    }
    note = std::to_string(open) + " connected";
  }

 private:
  uint16_t port_;
  int count_;
};

class Slowloris final : public Abuse {
 public:
  Slowloris(uint16_t port, int count) : port_(port), count_(count) {}
  void Start() override {
    // A frame announcing 1,000 bytes, of which only the header arrives.
    std::string half = EncodeApiVersionsV4Request(1);
    PutBe32(half.data(), 1000);
    half.resize(half.size() / 2);
    int sent = 0;
    for (int i = 0; i < count_; ++i) {
      Fd fd = ConnectNonBlocking(port_, true);
      if (WaitWritable(fd.get(), 2000) && ::send(fd.get(), half.data(), half.size(),
                                                 MSG_NOSIGNAL) == static_cast<ssize_t>(half.size()))
        ++sent;
      held_.push_back(std::move(fd));
    }
    note = std::to_string(sent) + " half frames";
  }

 private:
  uint16_t port_;
  int count_;
};

class NonReaders final : public Abuse {
 public:
  NonReaders(uint16_t port, int count) : port_(port), count_(count) {}
  void Start() override {
    for (int i = 0; i < count_; ++i) {
      Fd fd = ConnectNonBlocking(port_, true);
      int small = 4096;
      ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
      held_.push_back(std::move(fd));
    }
    threads_.emplace_back([this] {
      std::string burst;
      for (uint32_t i = 0; i < 64; ++i) burst += EncodeApiVersionsV4Request(i);
      while (!stop_) {
        bool sent_any = false;
        for (auto& fd : held_) {
          ssize_t n = ::send(fd.get(), burst.data(), burst.size(), MSG_NOSIGNAL);
          if (n > 0) {
            sent_any = true;
            sent_ += static_cast<size_t>(n);
          }
        }
        // Everything is full: the broker stopped reading them, as it should.
        if (!sent_any) std::this_thread::sleep_for(milliseconds(10));
      }
    });
  }
  ~NonReaders() override {
    Stop();
    std::printf("    (non-readers sent %zu KiB of requests before their sockets filled)\n",
                sent_.load() / 1024);
  }

 private:
  uint16_t port_;
  int count_;
  std::atomic<size_t> sent_{0};
};

class BadFrames final : public Abuse {
 public:
  explicit BadFrames(uint16_t port) : port_(port) {}
  void Start() override {
    threads_.emplace_back([this] {
      const uint32_t sizes[] = {0xfffffff0u, 0x7fffffffu, 0u, 3u, 0x80000000u};
      uint64_t closed = 0, total = 0;
      for (size_t i = 0; !stop_; ++i) {
        try {
          Fd fd = ConnectNonBlocking(port_, true);
          if (!WaitWritable(fd.get(), 1000)) continue;
          char frame[12] = {};
          PutBe32(frame, sizes[i % std::size(sizes)]);
          ::send(fd.get(), frame, sizeof(frame), MSG_NOSIGNAL);
          ++total;
          // The broker closes such a connection: wait (bounded) for its FIN.
          pollfd p{fd.get(), POLLIN, 0};
          char sink[64];
          if (::poll(&p, 1, 1000) == 1 && ::recv(fd.get(), sink, sizeof(sink), 0) == 0) ++closed;
        } catch (const std::exception&) {
          std::this_thread::sleep_for(milliseconds(1));
        }
      }
      closed_ = closed;
      total_ = total;
    });
  }
  ~BadFrames() override {
    Stop();
    std::printf("    (bad frames: %lu of %lu connections closed by the broker)\n",
                static_cast<unsigned long>(closed_), static_cast<unsigned long>(total_));
  }

 private:
  uint16_t port_;
  uint64_t closed_ = 0, total_ = 0;
};

class Storm final : public Abuse {
 public:
  Storm(uint16_t port, int rate) : port_(port), rate_(rate) {}
  void Start() override {
    threads_.emplace_back([this] {
      auto next = Clock::now();
      const auto gap = std::chrono::nanoseconds(1'000'000'000 / rate_);
      while (!stop_) {
        next += gap;
        if (next > Clock::now()) std::this_thread::sleep_until(next);
        try {
          Fd fd = ConnectNonBlocking(port_, true);
          WaitWritable(fd.get(), 1000);
          ++connections_;
        } catch (const std::exception&) {
          std::this_thread::sleep_for(milliseconds(1));
        }
      }
    });
    started_ = Clock::now();
  }
  ~Storm() override {
    Stop();
    const double s = std::chrono::duration<double>(Clock::now() - started_).count();
    std::printf("    (storm: %.0f connections/s)\n", static_cast<double>(connections_) / s);
  }

 private:
  uint16_t port_;
  int rate_;
  std::atomic<uint64_t> connections_{0};
  Clock::time_point started_;
};

// TLS handshakes begun and left: each connection sends a ClientHello (OpenSSL, any certificate
// accepted) and is then held without another byte, so the broker answers it and waits. Paced at
// `rate` a second; the broker's handshake timeout closes them.
class TlsHandshakeFlood final : public Abuse {
 public:
  TlsHandshakeFlood(uint16_t port, int rate) : port_(port), rate_(rate) {}
  void Start() override {
    threads_.emplace_back([this] {
      SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
      if (ctx == nullptr) return;
      SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
      auto next = Clock::now();
      const auto gap = std::chrono::nanoseconds(1'000'000'000 / rate_);
      while (!stop_) {
        next += gap;
        if (next > Clock::now()) std::this_thread::sleep_until(next);
        try {
          Fd fd = ConnectNonBlocking(port_, true);
          if (!WaitWritable(fd.get(), 1000)) continue;
          SSL* ssl = SSL_new(ctx);
          SSL_set_fd(ssl, fd.get());
          // Non-blocking: the ClientHello goes out, then it wants to read, and never does.
          if (SSL_connect(ssl) <= 0 && SSL_get_error(ssl, -1) == SSL_ERROR_WANT_READ) ++begun_;
          SSL_free(ssl);  // the socket stays open, held below
          ERR_clear_error();
          held_.push_back(std::move(fd));
        } catch (const std::exception&) {
          std::this_thread::sleep_for(milliseconds(1));
        }
      }
      SSL_CTX_free(ctx);
    });
    started_ = Clock::now();
  }
  ~TlsHandshakeFlood() override {
    Stop();
    const double s = std::chrono::duration<double>(Clock::now() - started_).count();
    std::printf("    (tls-handshakes: %.0f ClientHellos/s left unfinished)\n",
                static_cast<double>(begun_) / s);
  }

 private:
  uint16_t port_;
  int rate_;
  std::atomic<uint64_t> begun_{0};
  Clock::time_point started_;
};

// Requests whose size the client chooses, sent one after another on one connection; the note
// says how many were answered and their mean time.
class RequestFlood : public Abuse {
 public:
  explicit RequestFlood(uint16_t port) : port_(port) {}
  void Start() override {
    threads_.emplace_back([this] {
      try {
        Fd fd = ConnectBlocking(port_, milliseconds(60'000));
        std::vector<char> body;
        for (uint32_t round = 0; !stop_; ++round) {
          const std::string request = Next(round);
          const auto start = Clock::now();
          SendAll(fd.get(), request.data(), request.size());
          const size_t size = ReadFrame(fd.get(), body, 256u << 20);
          Check(body, size);
          total_ms_ += std::chrono::duration<double, std::milli>(Clock::now() - start).count();
          ++answered_;
        }
      } catch (const std::exception& e) {
        error_ = e.what();
      }
    });
  }
  ~RequestFlood() override { Stop(); }
  std::string Summary() {
    Stop();
    if (!error_.empty()) return "failed: " + error_;
    char text[96];
    std::snprintf(text, sizeof(text), "%zu answered, %.0f ms each", answered_,
                  answered_ > 0 ? total_ms_ / static_cast<double>(answered_) : 0.0);
    return text;
  }

 protected:
  virtual std::string Next(uint32_t round) = 0;
  virtual void Check(const std::vector<char>& body, size_t size) = 0;

 private:
  uint16_t port_;
  size_t answered_ = 0;
  double total_ms_ = 0;
  std::string error_;
};

// Metadata v12 naming `topics` topics never seen before, auto-creation allowed.
class MetadataFlood final : public RequestFlood {
 public:
  MetadataFlood(uint16_t port, int topics) : RequestFlood(port), topics_(topics) {}

 protected:
  std::string Next(uint32_t round) override {
    std::string frame = BeginFlexibleRequest(3, 12, round + 1, "kb-bench");
    AppendUvarint(frame, static_cast<uint64_t>(topics_) + 1);
    for (int i = 0; i < topics_; ++i) {
      frame.append(16, '\0');  // no topic id
      AppendCompactString(frame, "flood-" + std::to_string(round) + "-" + std::to_string(i));
      frame.push_back('\0');
    }
    frame.push_back(1);  // allow_auto_topic_creation
    frame.push_back(0);  // include_topic_authorized_operations
    frame.push_back('\0');
    FinishFrame(frame);
    return frame;
  }
  void Check(const std::vector<char>& body, size_t size) override {
    WireReader reader(body.data(), size);
    reader.Skip(4);  // correlation id
    reader.SkipTaggedFields();
    reader.Skip(4);  // throttle
    for (uint64_t brokers = reader.Uvarint(); brokers > 1; --brokers) {
      reader.Skip(4);
      reader.CompactString();
      reader.Skip(4);
      reader.CompactString();
      reader.SkipTaggedFields();
    }
    reader.CompactString();  // cluster id
    reader.Skip(4);          // controller
    const uint64_t topics = reader.Uvarint();
    if (topics != static_cast<uint64_t>(topics_) + 1)
      throw std::runtime_error("Metadata answered " + std::to_string(topics) + " - 1 topics");
    if (reader.I16() != 0) throw std::runtime_error("Metadata refused a new topic");
  }

 private:
  int topics_;
};

// JoinGroup v9 offering `protocols` protocols: the first request learns the member id
// (MEMBER_ID_REQUIRED), the second joins, and from then on the member rejoins with its
// protocols in the other order, which is a change: a rebalance and a new protocol choice.
class JoinFlood final : public RequestFlood {
 public:
  JoinFlood(uint16_t port, int protocols) : RequestFlood(port), protocols_(protocols) {}

 protected:
  std::string Next(uint32_t round) override {
    std::string frame = BeginFlexibleRequest(11, 9, round + 1, "kb-bench");
    AppendCompactString(frame, "join-flood");
    AppendBe32(frame, 30'000);  // session timeout
    AppendBe32(frame, 60'000);  // rebalance timeout
    AppendCompactString(frame, member_id_);
    AppendUvarint(frame, 0);  // no group instance id
    AppendCompactString(frame, "consumer");
    AppendUvarint(frame, static_cast<uint64_t>(protocols_) + 1);
    for (int i = 0; i < protocols_; ++i) {
      const int n = round % 2 == 0 ? i : protocols_ - 1 - i;
      AppendCompactString(frame, "protocol-" + std::to_string(n));
      AppendUvarint(frame, 1 + 4);
      AppendBe32(frame, static_cast<uint32_t>(n));
      frame.push_back('\0');
    }
    AppendUvarint(frame, 0);  // no reason
    frame.push_back('\0');
    FinishFrame(frame);
    return frame;
  }
  void Check(const std::vector<char>& body, size_t size) override {
    WireReader reader(body.data(), size);
    reader.Skip(4);
    reader.SkipTaggedFields();
    reader.Skip(4);  // throttle
    const int16_t error = reader.I16();
    reader.Skip(4);  // generation
    reader.CompactString();
    reader.CompactString();
    reader.CompactString();  // leader
    reader.Skip(1);          // skip_assignment
    const std::string_view member = reader.CompactString();
    if (error == 79) {  // MEMBER_ID_REQUIRED
      member_id_ = std::string(member);
      return;
    }
    if (error != 0) throw std::runtime_error("JoinGroup error " + std::to_string(error));
  }

 private:
  int protocols_;
  std::string member_id_;
};

// --- Descriptor-hungry producers
// ------------------------------------------------------------------

uint32_t Crc32c(const char* data, size_t size) {
  static const auto table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) != 0 ? 0x82f63b78u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t crc = 0xffffffffu;
  for (size_t i = 0; i < size; ++i)
    crc = table[(crc ^ static_cast<uint8_t>(data[i])) & 0xff] ^ (crc >> 8);
  return crc ^ 0xffffffffu;
}

void AppendVarint(std::string& out, int64_t value) {
  AppendUvarint(out, (static_cast<uint64_t>(value) << 1) ^ static_cast<uint64_t>(value >> 63));
}

// A record batch (magic 2) of one record with a `value_bytes` value.
std::string EncodeRecordBatch(size_t value_bytes) {
  std::string record;
  record.push_back('\0');    // attributes
  AppendVarint(record, 0);   // timestamp delta
  AppendVarint(record, 0);   // offset delta
  AppendVarint(record, -1);  // null key
  AppendVarint(record, static_cast<int64_t>(value_bytes));
  record.append(value_bytes, 'v');
  AppendVarint(record, 0);  // headers
  std::string batch;
  AppendBe64(batch, 0);            // base offset
  AppendBe32(batch, 0);            // batch length, below
  AppendBe32(batch, 0xffffffffu);  // partition leader epoch
  batch.push_back(2);              // magic
  AppendBe32(batch, 0);            // crc, below
  const size_t crc_from = batch.size();
  AppendBe16(batch, 0);  // attributes
  AppendBe32(batch, 0);  // last offset delta
  const auto now = static_cast<uint64_t>(
      std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  AppendBe64(batch, now);           // base timestamp
  AppendBe64(batch, now);           // max timestamp
  AppendBe64(batch, ~uint64_t{0});  // producer id
  AppendBe16(batch, 0xffff);        // producer epoch
  AppendBe32(batch, 0xffffffffu);   // base sequence
  AppendBe32(batch, 1);             // records
  AppendVarint(batch, static_cast<int64_t>(record.size()));
  batch += record;
  PutBe32(batch.data() + 8, static_cast<uint32_t>(batch.size() - 12));
  PutBe32(batch.data() + 17, Crc32c(batch.data() + crc_from, batch.size() - crc_from));
  return batch;
}

// CreateTopics v7: one topic with configs.
std::string EncodeCreateTopicWithConfigs(
    uint32_t correlation_id, std::string_view topic, int32_t partitions,
    const std::vector<std::pair<std::string, std::string>>& configs) {
  std::string frame = BeginFlexibleRequest(19, 7, correlation_id, "kb-hostile");
  AppendUvarint(frame, 2);  // one topic
  AppendCompactString(frame, topic);
  AppendBe32(frame, static_cast<uint32_t>(partitions));
  AppendBe16(frame, 1);     // replication factor
  AppendUvarint(frame, 1);  // no assignments
  AppendUvarint(frame, configs.size() + 1);
  for (const auto& [name, value] : configs) {
    AppendCompactString(frame, name);
    AppendCompactString(frame, value);
    frame.push_back('\0');
  }
  frame.push_back('\0');  // topic tagged fields
  AppendBe32(frame, 30000);
  frame.push_back('\0');  // validate_only
  frame.push_back('\0');  // body tagged fields
  FinishFrame(frame);
  return frame;
}

// Produce v9, acks=1: the batch to each of `partitions`.
std::string EncodeProduceToAll(uint32_t correlation_id, std::string_view topic, int32_t partitions,
                               std::string_view batch) {
  std::string frame = BeginFlexibleRequest(0, 9, correlation_id, "kb-hostile");
  frame.push_back('\0');  // transactional id: null
  AppendBe16(frame, 1);   // acks
  AppendBe32(frame, 30000);
  AppendUvarint(frame, 2);
  AppendCompactString(frame, topic);
  AppendUvarint(frame, static_cast<uint64_t>(partitions) + 1);
  for (int32_t p = 0; p < partitions; ++p) {
    AppendBe32(frame, static_cast<uint32_t>(p));
    AppendUvarint(frame, batch.size() + 1);
    frame.append(batch);
    frame.push_back('\0');
  }
  frame.push_back('\0');
  frame.push_back('\0');
  FinishFrame(frame);
  return frame;
}

size_t OpenDescriptors(int pid) {
  if (pid <= 0) return 0;
  size_t n = 0;
  std::error_code ec;
  for (std::filesystem::directory_iterator it("/proc/" + std::to_string(pid) + "/fd", ec), end;
       !ec && it != end; it.increment(ec))
    ++n;
  return n;
}

class DescriptorHungry final : public Abuse {
  static constexpr std::string_view kTopic = "kb-hostile-fd-hungry";
  static constexpr int32_t kPartitions = 8;

 public:
  DescriptorHungry(uint16_t port, int broker_pid) : port_(port), broker_pid_(broker_pid) {}
  void Start() override {
    {
      Fd admin = ConnectBlocking(port_, milliseconds(5000));
      const std::string create = EncodeCreateTopicWithConfigs(
          1, kTopic, kPartitions, {{"segment.bytes", "16384"}, {"retention.bytes", "262144"}});
      SendAll(admin.get(), create.data(), create.size());
      std::vector<char> body;
      ReadFrame(admin.get(), body, 1 << 20);  // created, or there from an earlier run
    }
    before_ = OpenDescriptors(broker_pid_);
    for (int producer = 0; producer < 2; ++producer)
      threads_.emplace_back([this] {
        const std::string batch = EncodeRecordBatch(1000);
        std::vector<char> body;
        try {
          Fd socket = ConnectBlocking(port_, milliseconds(5000));
          for (uint32_t id = 1; !stop_; ++id) {
            const std::string frame = EncodeProduceToAll(id, kTopic, kPartitions, batch);
            SendAll(socket.get(), frame.data(), frame.size());
            ReadFrame(socket.get(), body, 1 << 20);
            ++requests_;
            if (id % 64 == 0) most_ = std::max<size_t>(most_, OpenDescriptors(broker_pid_));
          }
        } catch (const std::exception&) {
          failed_ = true;
        }
      });
    note = "2 producers, 16 KiB segments";
  }
  ~DescriptorHungry() override {
    Stop();
    std::printf(
        "    (fd-hungry: %zu produce requests of 8 KiB%s; broker descriptors %zu before, "
        "at most %zu during)\n",
        requests_.load(), failed_ ? ", a producer FAILED" : "", before_, most_.load());
  }

 private:
  uint16_t port_;
  int broker_pid_;
  size_t before_ = 0;
  std::atomic<size_t> requests_{0};
  std::atomic<size_t> most_{0};
  std::atomic<bool> failed_{false};
};

// --- Main ----------------------------------------------------------------------------------------

void PrintRow(const std::string& phase, const Latency& l, double idle_p99, const std::string& mem,
              const std::string& note) {
  const double ratio = idle_p99 > 0 ? l.p99_us / idle_p99 : 1.0;
  std::printf("%-12s %8.0f %8.0f %9.0f %7.2f %-5s %8zu %6zu  %-26s %s\n", phase.c_str(), l.p50_us,
              l.p99_us, l.max_us, ratio, ratio <= 2.0 ? "ok" : "MISS", l.samples, l.failures,
              mem.c_str(), note.c_str());
  std::fflush(stdout);
}

int Main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--port")
      o.port = ParseInt<uint16_t>(flag, value, 1);
    else if (flag == "--broker-pid")
      o.broker_pid = ParseInt<int>(flag, value, 1);
    else if (flag == "--seconds")
      o.seconds = ParseInt<int>(flag, value, 1, 600);
    else if (flag == "--idle")
      o.idle_connections = ParseInt<int>(flag, value, 0, 60'000);
    else if (flag == "--slowloris")
      o.slowloris = ParseInt<int>(flag, value, 0, 60'000);
    else if (flag == "--storm-rate")
      o.storm_rate = ParseInt<int>(flag, value, 1, 1'000'000);
    else if (flag == "--flood-topics")
      o.flood_topics = ParseInt<int>(flag, value, 0, 1'000'000);
    else if (flag == "--flood-protocols")
      o.flood_protocols = ParseInt<int>(flag, value, 0, 10'000'000);
    else if (flag == "--tls-port")
      o.tls_port = ParseInt<uint16_t>(flag, value, 1);
    else if (flag == "--tls-rate")
      o.tls_rate = ParseInt<int>(flag, value, 1, 100'000);
    else if (flag == "--only")
      o.only = "," + value + ",";
    else
      throw std::invalid_argument("unknown option " + flag);
  }
  if (o.port == 0) throw std::invalid_argument("--port is required");
  EnsureFdLimit(static_cast<rlim_t>(o.idle_connections + o.slowloris + 1024));

  std::printf("%-12s %8s %8s %9s %7s %-5s %8s %6s  %-26s %s\n", "phase", "p50 us", "p99 us",
              "max us", "p99/idle", "", "samples", "fails", "broker RSS", "");
  const Latency idle = Probe(o.port, o.seconds);
  PrintRow("idle", idle, idle.p99_us, BrokerMemory(o.broker_pid), "");

  using Factory = std::function<std::vector<std::unique_ptr<Abuse>>()>;
  auto one = [](Abuse* a) {
    std::vector<std::unique_ptr<Abuse>> v;
    v.emplace_back(a);
    return v;
  };
  const std::vector<std::pair<std::string, Factory>> phases = {
      {"idle-10k", [&] { return one(new IdleConnections(o.port, o.idle_connections)); }},
      {"slowloris", [&] { return one(new Slowloris(o.port, o.slowloris)); }},
      {"non-reader", [&] { return one(new NonReaders(o.port, 8)); }},
      {"bad-frames", [&] { return one(new BadFrames(o.port)); }},
      {"storm", [&] { return one(new Storm(o.port, o.storm_rate)); }},
      {"all",
       [&] {
         std::vector<std::unique_ptr<Abuse>> v;
         v.emplace_back(new IdleConnections(o.port, o.idle_connections));
         v.emplace_back(new Slowloris(o.port, o.slowloris));
         v.emplace_back(new NonReaders(o.port, 8));
         v.emplace_back(new BadFrames(o.port));
         v.emplace_back(new Storm(o.port, o.storm_rate));
         return v;
       }},
      {"tls-handshakes", [&] { return one(new TlsHandshakeFlood(o.tls_port, o.tls_rate)); }},
      {"fd-hungry", [&] { return one(new DescriptorHungry(o.port, o.broker_pid)); }},
  };
  for (const auto& [name, make] : phases) {
    if (!o.runs(name) || (name == "tls-handshakes" && o.tls_port == 0)) continue;
    auto abuses = make();
    std::string note;
    for (auto& a : abuses) {
      a->Start();
      if (!a->note.empty()) note += (note.empty() ? "" : ", ") + a->note;
    }
    std::this_thread::sleep_for(milliseconds(500));  // let the broker take them in
    const Latency l = Probe(o.port, o.seconds);
    PrintRow(name, l, idle.p99_us, BrokerMemory(o.broker_pid), note);
    abuses.clear();
    std::this_thread::sleep_for(milliseconds(1500));  // closes and lingers settle
  }
  // The floods: the probe runs while one client sends big requests one after another.
  const std::vector<std::pair<std::string, std::function<std::unique_ptr<RequestFlood>()>>> floods =
      {
          {"metadata-flood",
           [&] { return std::make_unique<MetadataFlood>(o.port, o.flood_topics); }},
          {"join-flood", [&] { return std::make_unique<JoinFlood>(o.port, o.flood_protocols); }},
      };
  for (const auto& [name, make] : floods) {
    if ((name == "metadata-flood" ? o.flood_topics : o.flood_protocols) == 0 || !o.runs(name))
      continue;
    auto flood = make();
    flood->Start();
    const Latency l = Probe(o.port, o.seconds);
    const std::string summary = flood->Summary();
    PrintRow(name, l, idle.p99_us, BrokerMemory(o.broker_pid), summary);
    std::this_thread::sleep_for(milliseconds(500));
  }
  std::printf("%-12s %s after all phases\n", "final", BrokerMemory(o.broker_pid).c_str());
  return 0;
}

}  // namespace
}  // namespace kb::bench

int main(int argc, char** argv) {
  try {
    return kb::bench::Main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kb_hostile_bench: %s\n", e.what());
    return 1;
  }
}
