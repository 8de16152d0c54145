// kb_fetch_bench: fetch throughput of one partition, against the broker and against a ceiling.
//
// Subcommands (all on 127.0.0.1, one blocking connection, one request in flight, as a consumer
// fetching from one broker does):
//
//   consume --port P --topic T [--partition N] [--max-bytes B] [--partition-max-bytes B]
//           [--expect-end-offset O] [--timeout-seconds S]
//       Consumes the whole partition from offset 0 with Fetch v12 (flexible, by topic name, no
//       fetch session): the next fetch offset is the last offset of the last whole batch received
//       + 1, until the high watermark. Prints one line of key=value figures.
//
//   serve --file F --mode pread|sendfile [--port P] [--chunk-bytes C]
//       The ceiling: answers each request frame [int32 correlation id][int64 position]
//       [int32 max bytes] with a frame [int32 correlation id][int64 file size][bytes of F from
//       position, at most max bytes], copied with pread + write in C-byte chunks or with
//       sendfile. --port 0 (the default) picks a free port; "port=N" is printed on stdout.
//       Serves one connection after another until SIGTERM/SIGINT.
//
//   read --port P [--max-bytes B] [--timeout-seconds S]
//       The consumer loop against `serve`: the same blocking request/response reader, asking for
//       B bytes at the next position until the whole file has arrived. Prints key=value figures.
//
// MB/s are 10^6 bytes per second of record bytes (the partition's .log content) delivered.

#include <signal.h>
#include <sys/sendfile.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/core.h>

#include "bench_kafka.hpp"
#include "bench_net.hpp"

namespace kb::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr uint16_t kFetchKey = 1;
constexpr uint16_t kFetchVersion = 12;
constexpr std::string_view kClientId = "kb-fetch-bench";
constexpr int32_t kMaxWaitMs = 500;
constexpr int32_t kMinBytes = 1;
constexpr uint32_t kMaxFrameBytes = 256u << 20;
// Consecutive responses without a whole batch below the high watermark before giving up.
constexpr int kMaxEmptyResponses = 20;

// Batch header (record batch v2): base offset int64 at 0, batch length int32 at 8 (bytes after
// that field), last offset delta int32 at 23, record count int32 at 57.
constexpr size_t kBatchLogOverhead = 12;
constexpr size_t kBatchLastOffsetDeltaAt = 23;
constexpr size_t kBatchRecordCountAt = 57;
constexpr size_t kBatchHeaderBytes = 61;

constexpr std::string_view kUsage =
    "usage: kb_fetch_bench consume --port P --topic T [--partition N] [--max-bytes B]\n"
    "                              [--partition-max-bytes B] [--expect-end-offset O]\n"
    "                              [--timeout-seconds S]\n"
    "       kb_fetch_bench serve --file F --mode pread|sendfile [--port P] [--chunk-bytes C]\n"
    "       kb_fetch_bench read --port P [--max-bytes B] [--timeout-seconds S]\n";

struct Options {
  std::string command;
  uint16_t port = 0;
  bool have_port = false;
  std::string topic;
  int32_t partition = 0;
  int32_t max_bytes = 50 << 20;
  int32_t partition_max_bytes = 8 << 20;
  bool have_max_bytes = false;
  std::optional<int64_t> expect_end_offset;
  int timeout_seconds = 120;
  std::string file;
  std::string mode;
  uint32_t chunk_bytes = 1 << 20;
};

Options ParseOptions(int argc, char** argv) {
  if (argc < 2) throw std::invalid_argument("missing subcommand");
  Options options;
  options.command = argv[1];
  if (options.command != "consume" && options.command != "serve" && options.command != "read") {
    throw std::invalid_argument("unknown subcommand '" + options.command + "'");
  }
  for (int i = 2; i < argc; ++i) {
    const std::string_view name = argv[i];
    if (i + 1 >= argc) throw std::invalid_argument(std::string(name) + ": missing value");
    const std::string_view value = argv[++i];
    if (name == "--port") {
      options.port = ParseInt<uint16_t>(name, value, 0);
      options.have_port = true;
    } else if (name == "--topic") {
      options.topic = std::string(value);
    } else if (name == "--partition") {
      options.partition = ParseInt<int32_t>(name, value, 0);
    } else if (name == "--max-bytes") {
      options.max_bytes = ParseInt<int32_t>(name, value, 1);
      options.have_max_bytes = true;
    } else if (name == "--partition-max-bytes") {
      options.partition_max_bytes = ParseInt<int32_t>(name, value, 1);
    } else if (name == "--expect-end-offset") {
      options.expect_end_offset = ParseInt<int64_t>(name, value, 0);
    } else if (name == "--timeout-seconds") {
      options.timeout_seconds = ParseInt<int>(name, value, 1, 3600);
    } else if (name == "--file") {
      options.file = std::string(value);
    } else if (name == "--mode") {
      options.mode = std::string(value);
    } else if (name == "--chunk-bytes") {
      options.chunk_bytes = ParseInt<uint32_t>(name, value, 4096, 64u << 20);
    } else {
      throw std::invalid_argument("unknown option '" + std::string(name) + "'");
    }
  }
  if (options.command == "consume" && (!options.have_port || options.topic.empty())) {
    throw std::invalid_argument("consume: --port and --topic are required");
  }
  if (options.command == "read" && !options.have_port) {
    throw std::invalid_argument("read: --port is required");
  }
  if (options.command == "read" && !options.have_max_bytes) {
    options.max_bytes = options.partition_max_bytes;  // Same response sizes as the consumer's.
  }
  if (options.command == "serve" &&
      (options.file.empty() || (options.mode != "pread" && options.mode != "sendfile"))) {
    throw std::invalid_argument("serve: --file and --mode pread|sendfile are required");
  }
  return options;
}

// --- The consumer-side loop --------------------------------------------------------------------

struct LoopResult {
  uint64_t payload_bytes = 0;  // Record bytes (or file bytes) delivered.
  uint64_t frame_bytes = 0;    // Response frames, size prefixes included.
  uint64_t requests = 0;
  double seconds = 0;
};

// One request in flight at a time: send the request `step` encodes, read the whole response
// frame into a reused buffer, let `step` look at it; until `step` says it is done.
template <typename Step>
LoopResult RunRequestLoop(int fd, Step& step) {
  LoopResult result;
  std::vector<char> body;
  std::string request;
  uint32_t correlation_id = 0;
  const auto start = Clock::now();
  for (;;) {
    ++correlation_id;
    step.EncodeRequest(correlation_id, request);
    SendAll(fd, request.data(), request.size());
    const size_t size = ReadFrame(fd, body, kMaxFrameBytes);
    ++result.requests;
    result.frame_bytes += 4 + size;
    if (size < 4 || GetBe32(body.data()) != correlation_id) {
      throw std::runtime_error(fmt::format("response {}: correlation id mismatch", correlation_id));
    }
    if (step.OnResponse(body.data() + 4, size - 4, result.payload_bytes)) break;
  }
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return result;
}

void PrintResult(const LoopResult& result, std::string_view extra) {
  const double mb_per_sec =
      result.seconds > 0 ? static_cast<double>(result.payload_bytes) / 1e6 / result.seconds : 0;
  fmt::print("bytes={} frame_bytes={} requests={} seconds={:.3f} mb_per_sec={:.1f}{}\n",
             result.payload_bytes, result.frame_bytes, result.requests, result.seconds, mb_per_sec,
             extra);
}

// --- consume: Fetch v12 against the broker -----------------------------------------------------

class FetchStep {
 public:
  explicit FetchStep(const Options& options) : options_(options) {}

  void EncodeRequest(uint32_t correlation_id, std::string& frame) const {
    frame = BeginFlexibleRequest(kFetchKey, kFetchVersion, correlation_id, kClientId);
    AppendBe32(frame, static_cast<uint32_t>(-1));  // replica_id: a consumer
    AppendBe32(frame, kMaxWaitMs);
    AppendBe32(frame, kMinBytes);
    AppendBe32(frame, static_cast<uint32_t>(options_.max_bytes));
    frame.push_back('\0');                         // isolation_level: READ_UNCOMMITTED
    AppendBe32(frame, 0);                          // session_id: no session
    AppendBe32(frame, static_cast<uint32_t>(-1));  // session_epoch: full fetch, no session
    AppendUvarint(frame, 1 + 1);                   // topics: one
    AppendCompactString(frame, options_.topic);
    AppendUvarint(frame, 1 + 1);  // partitions: one
    AppendBe32(frame, static_cast<uint32_t>(options_.partition));
    AppendBe32(frame, static_cast<uint32_t>(-1));  // current_leader_epoch: unknown
    AppendBe64(frame, static_cast<uint64_t>(next_offset_));
    AppendBe32(frame, static_cast<uint32_t>(-1));  // last_fetched_epoch
    AppendBe64(frame, static_cast<uint64_t>(-1));  // log_start_offset (followers only)
    AppendBe32(frame, static_cast<uint32_t>(options_.partition_max_bytes));
    frame.push_back('\0');           // partition tagged fields
    frame.push_back('\0');           // topic tagged fields
    AppendUvarint(frame, 1);         // forgotten_topics_data: empty
    AppendCompactString(frame, "");  // rack_id
    frame.push_back('\0');           // body tagged fields
    FinishFrame(frame);
  }

  // Walks the response; returns true once the high watermark is reached.
  bool OnResponse(const char* data, size_t size, uint64_t& payload_bytes) {
    WireReader in(data, size);
    in.SkipTaggedFields();  // response header v1
    in.I32();               // throttle_time_ms
    if (const int16_t error = in.I16(); error != 0) {
      throw std::runtime_error(fmt::format("fetch error code {}", error));
    }
    in.I32();  // session_id
    bool got_batch = false;
    for (int64_t topics = in.CompactLength(); topics > 0; --topics) {
      in.CompactString();  // topic
      for (int64_t partitions = in.CompactLength(); partitions > 0; --partitions) {
        const int32_t index = in.I32();
        const int16_t error = in.I16();
        const int64_t high_watermark = in.I64();
        in.I64();  // last_stable_offset
        in.I64();  // log_start_offset
        for (int64_t aborted = in.CompactLength(); aborted > 0; --aborted) in.Skip(16);
        in.I32();  // preferred_read_replica
        const int64_t records_length = in.CompactLength();
        const char* records = in.here();
        if (records_length > 0) in.Skip(static_cast<size_t>(records_length));
        in.SkipTaggedFields();
        if (index != options_.partition) continue;
        if (error != 0) {
          throw std::runtime_error(
              fmt::format("partition {} at offset {}: error code {}", index, next_offset_, error));
        }
        high_watermark_ = high_watermark;
        if (records_length > 0) {
          got_batch |= WalkBatches(records, static_cast<size_t>(records_length), payload_bytes);
        }
      }
      in.SkipTaggedFields();
    }
    in.SkipTaggedFields();

    if (high_watermark_ >= 0 && next_offset_ >= high_watermark_) return true;
    empty_responses_ = got_batch ? 0 : empty_responses_ + 1;
    if (empty_responses_ >= kMaxEmptyResponses) {
      throw std::runtime_error(fmt::format("no progress at offset {} (high watermark {})",
                                           next_offset_, high_watermark_));
    }
    return false;
  }

  int64_t next_offset() const { return next_offset_; }
  int64_t high_watermark() const { return high_watermark_; }
  uint64_t batches() const { return batches_; }
  uint64_t records() const { return records_; }

 private:
  // Counts the whole batches (a response may end with a partial one) and moves the fetch
  // offset past the last of them. Returns whether there was one.
  bool WalkBatches(const char* data, size_t size, uint64_t& payload_bytes) {
    size_t at = 0;
    bool any = false;
    while (size - at >= kBatchHeaderBytes) {
      WireReader header(data + at, size - at);
      const int64_t base_offset = header.I64();
      const int32_t length = header.I32();
      if (length < static_cast<int32_t>(kBatchHeaderBytes - kBatchLogOverhead)) {
        throw std::runtime_error(
            fmt::format("bad batch length {} at offset {}", length, base_offset));
      }
      const size_t batch_bytes = kBatchLogOverhead + static_cast<size_t>(length);
      if (batch_bytes > size - at) break;  // a partial batch at the end
      header.Skip(kBatchLastOffsetDeltaAt - 12);
      const int32_t last_offset_delta = header.I32();
      header.Skip(kBatchRecordCountAt - kBatchLastOffsetDeltaAt - 4);
      const int32_t record_count = header.I32();
      const int64_t last_offset = base_offset + last_offset_delta;
      if (last_offset >= next_offset_) {
        next_offset_ = last_offset + 1;
        payload_bytes += batch_bytes;
        ++batches_;
        records_ += static_cast<uint64_t>(record_count);
        any = true;
      }
      at += batch_bytes;
    }
    return any;
  }

  const Options& options_;
  int64_t next_offset_ = 0;
  int64_t high_watermark_ = -1;
  int empty_responses_ = 0;
  uint64_t batches_ = 0;
  uint64_t records_ = 0;
};

void RunConsume(const Options& options) {
  const Fd socket = ConnectBlocking(options.port, std::chrono::seconds(30));
  FetchStep step(options);
  const auto deadline = Clock::now() + std::chrono::seconds(options.timeout_seconds);
  struct Bounded {
    FetchStep& step;
    Clock::time_point deadline;
    void EncodeRequest(uint32_t id, std::string& frame) const { step.EncodeRequest(id, frame); }
    bool OnResponse(const char* data, size_t size, uint64_t& payload) {
      if (Clock::now() > deadline) throw std::runtime_error("time limit reached");
      return step.OnResponse(data, size, payload);
    }
  } bounded{step, deadline};
  const LoopResult result = RunRequestLoop(socket.get(), bounded);
  if (options.expect_end_offset && step.next_offset() != *options.expect_end_offset) {
    throw std::runtime_error(fmt::format("consumed up to offset {}, expected {}",
                                         step.next_offset(), *options.expect_end_offset));
  }
  PrintResult(result, fmt::format(" batches={} records={} end_offset={}", step.batches(),
                                  step.records(), step.next_offset()));
}

// --- read: the same loop against `serve` -------------------------------------------------------

class RawStep {
 public:
  explicit RawStep(uint32_t max_bytes) : max_bytes_(max_bytes) {}

  void EncodeRequest(uint32_t correlation_id, std::string& frame) const {
    frame.assign(4, '\0');
    AppendBe32(frame, correlation_id);
    AppendBe64(frame, position_);
    AppendBe32(frame, max_bytes_);
    FinishFrame(frame);
  }

  bool OnResponse(const char* data, size_t size, uint64_t& payload_bytes) {
    WireReader in(data, size);
    const auto file_size = static_cast<uint64_t>(in.I64());
    if (in.remaining() == 0 && position_ < file_size) {
      throw std::runtime_error(fmt::format("empty response at position {}", position_));
    }
    position_ += in.remaining();
    payload_bytes += in.remaining();
    return position_ >= file_size;
  }

 private:
  uint32_t max_bytes_;
  uint64_t position_ = 0;
};

void RunRead(const Options& options) {
  const Fd socket = ConnectBlocking(options.port, std::chrono::seconds(30));
  RawStep step(static_cast<uint32_t>(options.max_bytes));
  const auto deadline = Clock::now() + std::chrono::seconds(options.timeout_seconds);
  struct Bounded {
    RawStep& step;
    Clock::time_point deadline;
    void EncodeRequest(uint32_t id, std::string& frame) const { step.EncodeRequest(id, frame); }
    bool OnResponse(const char* data, size_t size, uint64_t& payload) {
      if (Clock::now() > deadline) throw std::runtime_error("time limit reached");
      return step.OnResponse(data, size, payload);
    }
  } bounded{step, deadline};
  PrintResult(RunRequestLoop(socket.get(), bounded), "");
}

// --- serve: the ceiling ------------------------------------------------------------------------

volatile std::sig_atomic_t g_stop = 0;
void OnStopSignal(int) { g_stop = 1; }

class FileServer {
 public:
  explicit FileServer(const Options& options)
      : options_(options), file_(::open(options.file.c_str(), O_RDONLY | O_CLOEXEC)) {
    if (!file_.valid()) ThrowErrno("open " + options.file);
    struct stat status {};
    if (::fstat(file_.get(), &status) < 0) ThrowErrno("fstat " + options.file);
    file_size_ = static_cast<uint64_t>(status.st_size);
    if (options.mode == "pread") chunk_.resize(options.chunk_bytes);

    listener_ = Fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
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
    if (::listen(listener_.get(), 16) < 0) ThrowErrno("listen");
    socklen_t length = sizeof(address);
    if (::getsockname(listener_.get(), raw_address, &length) < 0) ThrowErrno("getsockname");
    port_ = ntohs(address.sin_port);
  }

  uint16_t port() const { return port_; }

  void Run() {
    while (g_stop == 0) {
      Fd connection(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!connection.valid()) {
        if (errno == EINTR) continue;
        ThrowErrno("accept");
      }
      SetTcpNoDelay(connection.get());
      SetSocketTimeouts(connection.get(), std::chrono::seconds(60));
      try {
        Serve(connection.get());
      } catch (const std::exception& error) {
        if (g_stop == 0) fmt::print(stderr, "kb_fetch_bench serve: connection: {}\n", error.what());
      }
    }
  }

 private:
  void Serve(int fd) {
    std::vector<char> request;
    for (;;) {
      char prefix[4];
      if (!RecvExact(fd, prefix, sizeof(prefix))) return;  // the client is done
      const uint32_t size = GetBe32(prefix);
      if (size != 16) throw std::runtime_error(fmt::format("unexpected request size {}", size));
      request.resize(size);
      if (!RecvExact(fd, request.data(), size)) throw std::runtime_error("connection closed");
      WireReader in(request.data(), size);
      const auto correlation_id = static_cast<uint32_t>(in.I32());
      const auto position = static_cast<uint64_t>(in.I64());
      const auto max_bytes = static_cast<uint32_t>(in.I32());
      const uint64_t length =
          position >= file_size_ ? 0 : std::min<uint64_t>(max_bytes, file_size_ - position);

      char header[16];
      PutBe32(header, static_cast<uint32_t>(12 + length));
      PutBe32(header + 4, correlation_id);
      PutBe32(header + 8, static_cast<uint32_t>(file_size_ >> 32));
      PutBe32(header + 12, static_cast<uint32_t>(file_size_));
      SendAll(fd, header, sizeof(header), length > 0 ? MSG_MORE : 0);
      if (options_.mode == "sendfile") {
        SendFile(fd, position, length);
      } else {
        PreadWrite(fd, position, length);
      }
    }
  }

  void SendFile(int fd, uint64_t position, uint64_t length) {
    auto offset = static_cast<off_t>(position);
    while (length > 0) {
      const ssize_t sent = ::sendfile(fd, file_.get(), &offset, length);
      if (sent < 0) {
        if (errno == EINTR) continue;
        ThrowErrno("sendfile");
      }
      if (sent == 0) throw std::runtime_error("sendfile: file shrank");
      length -= static_cast<uint64_t>(sent);
    }
  }

  void PreadWrite(int fd, uint64_t position, uint64_t length) {
    while (length > 0) {
      const size_t want = std::min<uint64_t>(length, chunk_.size());
      const ssize_t got = ::pread(file_.get(), chunk_.data(), want, static_cast<off_t>(position));
      if (got < 0) {
        if (errno == EINTR) continue;
        ThrowErrno("pread");
      }
      if (got == 0) throw std::runtime_error("pread: file shrank");
      SendAll(fd, chunk_.data(), static_cast<size_t>(got));
      position += static_cast<uint64_t>(got);
      length -= static_cast<uint64_t>(got);
    }
  }

  const Options& options_;
  Fd file_;
  uint64_t file_size_ = 0;
  std::vector<char> chunk_;
  Fd listener_;
  uint16_t port_ = 0;
};

void RunServe(const Options& options) {
  // Without SA_RESTART, a stop signal interrupts the blocking accept/recv so the loop can end.
  struct sigaction action {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  if (::sigaction(SIGTERM, &action, nullptr) < 0 || ::sigaction(SIGINT, &action, nullptr) < 0) {
    ThrowErrno("sigaction");
  }
  FileServer server(options);
  fmt::print("port={}\n", server.port());
  std::fflush(stdout);
  server.Run();
}

int Main(int argc, char** argv) {
  Options options;
  try {
    options = ParseOptions(argc, argv);
  } catch (const std::invalid_argument& error) {
    fmt::print(stderr, "kb_fetch_bench: {}\n{}", error.what(), kUsage);
    return 2;
  }
  try {
    if (std::signal(SIGPIPE, SIG_IGN) == SIG_ERR) ThrowErrno("signal(SIGPIPE)");
    if (options.command == "consume") {
      RunConsume(options);
    } else if (options.command == "read") {
      RunRead(options);
    } else {
      RunServe(options);
    }
  } catch (const std::exception& error) {
    if (options.command == "serve" && g_stop != 0) return 0;
    fmt::print(stderr, "kb_fetch_bench {}: error: {}\n", options.command, error.what());
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace kb::bench

int main(int argc, char** argv) { return kb::bench::Main(argc, argv); }
