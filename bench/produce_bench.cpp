// kb_produce_bench: produce throughput and latency against the broker, and the disk figures it
// is judged by, measured by the same program.
//
// Subcommands:
//
//   produce --port P --topic T --batch-file F [--partitions N] [--acks A] [--in-flight K]
//           [--bytes B] [--seconds S] [--timeout-seconds S]
//       One blocking connection sends Produce v9 requests, each carrying the batch in F (as
//       kb_bench_log_dir batch writes it) once for each of partitions 0..N-1, keeping up to K
//       requests in flight (the Java producer's max.in.flight.requests.per.connection), until B
//       record bytes were acknowledged or S seconds passed. Every partition answer must be error
//       0 with consecutive base offsets. With acks 0 nothing is read back. Prints one line of
//       key=value figures: bytes, seconds, mb_per_sec, requests, p50_us, p99_us, max_us (latency
//       from a request's send to its response).
//
//   write --file F --bytes B --chunk-bytes C [--sync none|end|each] [--files N]
//       The plain writer: appends B bytes to a new file F in C-byte write() calls; with sync end
//       one fdatasync at the end (inside the timing), with sync each one after every write.
//       With N files (F.0 .. F.N-1) each chunk is written as N writes of C/N bytes, one to each
//       file, as a broker writes one request's batches to N partitions, and the fdatasyncs are of
//       all N files at once, a thread each. Prints bytes, seconds, mb_per_sec, write_seconds
//       (before the final fdatasync of sync end), and with sync each p50_us/p99_us/max_us per
//       chunk written and synced.
//
//   sync --dir D
//       fdatasync of every segment (*.log) below D, a broker's log directory after a run, all at
//       once on one thread each, so that what the broker was sent is timed until it is on the
//       disk (index files, which recovery rebuilds, are left out). Prints files, seconds.
//
//   ping --port P [--seconds S]
//       One connection sends ApiVersions v4, one after another, for S seconds: what another
//       client waits while the broker does something long (the longest wait is about the
//       broker's longest loop turn meanwhile). Prints pings, p50_us, p99_us, max_us.
//
// MB/s are 10^6 record-batch bytes per second.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fmt/core.h>

#include "bench_kafka.hpp"
#include "bench_net.hpp"

namespace kb::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr uint16_t kProduceKey = 0;
constexpr uint16_t kProduceVersion = 9;
constexpr std::string_view kClientId = "kb-produce-bench";
constexpr uint32_t kMaxFrameBytes = 16u << 20;
constexpr int32_t kRequestTimeoutMs = 30000;

constexpr std::string_view kUsage =
    "usage: kb_produce_bench produce --port P --topic T --batch-file F [--partitions N]\n"
    "                                [--acks A] [--in-flight K] [--bytes B] [--seconds S]\n"
    "                                [--timeout-seconds S]\n"
    "       kb_produce_bench write --file F --bytes B --chunk-bytes C [--sync none|end|each]\n"
    "                              [--files N]\n"
    "       kb_produce_bench sync --dir D\n"
    "       kb_produce_bench ping --port P [--seconds S]\n";

struct Options {
  std::string command;
  uint16_t port = 0;
  std::string topic;
  std::string batch_file;
  int32_t partitions = 1;
  int16_t acks = 1;
  int in_flight = 5;
  uint64_t bytes = 256ull << 20;
  double seconds = 10;
  int timeout_seconds = 60;
  std::string file;
  uint64_t chunk_bytes = 16 << 10;
  std::string sync = "none";
  int files = 1;
  std::string dir;
};

Options ParseOptions(int argc, char** argv) {
  if (argc < 2) throw std::invalid_argument("missing subcommand");
  Options o;
  o.command = argv[1];
  if (o.command != "produce" && o.command != "write" && o.command != "sync" && o.command != "ping")
    throw std::invalid_argument("unknown subcommand '" + o.command + "'");
  for (int i = 2; i < argc; ++i) {
    const std::string_view name = argv[i];
    if (i + 1 >= argc) throw std::invalid_argument(std::string(name) + ": missing value");
    const std::string_view value = argv[++i];
    if (name == "--port") {
      o.port = ParseInt<uint16_t>(name, value, 1);
    } else if (name == "--topic") {
      o.topic = std::string(value);
    } else if (name == "--batch-file") {
      o.batch_file = std::string(value);
    } else if (name == "--partitions") {
      o.partitions = ParseInt<int32_t>(name, value, 1, 1024);
    } else if (name == "--acks") {
      o.acks = ParseInt<int16_t>(name, value, -1, 1);
    } else if (name == "--in-flight") {
      o.in_flight = ParseInt<int>(name, value, 1, 64);
    } else if (name == "--bytes") {
      o.bytes = ParseInt<uint64_t>(name, value, 1);
    } else if (name == "--seconds") {
      o.seconds = static_cast<double>(ParseInt<int>(name, value, 1, 3600));
    } else if (name == "--timeout-seconds") {
      o.timeout_seconds = ParseInt<int>(name, value, 1, 3600);
    } else if (name == "--file") {
      o.file = std::string(value);
    } else if (name == "--chunk-bytes") {
      o.chunk_bytes = ParseInt<uint64_t>(name, value, 1, 1ull << 30);
    } else if (name == "--files") {
      o.files = ParseInt<int>(name, value, 1, 1024);
    } else if (name == "--dir") {
      o.dir = std::string(value);
    } else if (name == "--sync") {
      o.sync = std::string(value);
      if (o.sync != "none" && o.sync != "end" && o.sync != "each")
        throw std::invalid_argument("--sync: none, end or each");
    } else {
      throw std::invalid_argument("unknown option '" + std::string(name) + "'");
    }
  }
  if (o.command == "produce" && (o.port == 0 || o.topic.empty() || o.batch_file.empty()))
    throw std::invalid_argument("produce needs --port, --topic and --batch-file");
  if (o.command == "write" && o.file.empty()) throw std::invalid_argument("write needs --file");
  if (o.command == "sync" && o.dir.empty()) throw std::invalid_argument("sync needs --dir");
  if (o.command == "ping" && o.port == 0) throw std::invalid_argument("ping needs --port");
  return o;
}

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Latency percentiles in microseconds over `samples` (sorted in place).
struct Percentiles {
  double p50 = 0, p99 = 0, max = 0;
};
Percentiles Summarize(std::vector<double>& samples) {
  Percentiles p;
  if (samples.empty()) return p;
  std::sort(samples.begin(), samples.end());
  auto at = [&](double q) {
    const auto index = static_cast<size_t>(q * static_cast<double>(samples.size() - 1) + 0.5);
    return samples[std::min(index, samples.size() - 1)];
  };
  p.p50 = at(0.50);
  p.p99 = at(0.99);
  p.max = samples.back();
  return p;
}

// Produce v9: transactional id null, acks, timeout, one topic with the batch once per partition.
std::string EncodeProduce(uint32_t correlation_id, const Options& o, std::string_view batch) {
  std::string frame = BeginFlexibleRequest(kProduceKey, kProduceVersion, correlation_id, kClientId);
  frame.push_back('\0');  // transactional_id: null compact string
  AppendBe16(frame, static_cast<uint16_t>(o.acks));
  AppendBe32(frame, static_cast<uint32_t>(kRequestTimeoutMs));
  AppendUvarint(frame, 2);  // one topic
  AppendCompactString(frame, o.topic);
  AppendUvarint(frame, static_cast<uint64_t>(o.partitions) + 1);
  for (int32_t p = 0; p < o.partitions; ++p) {
    AppendBe32(frame, static_cast<uint32_t>(p));
    AppendUvarint(frame, batch.size() + 1);
    frame.append(batch);
    frame.push_back('\0');  // partition tagged fields
  }
  frame.push_back('\0');  // topic tagged fields
  frame.push_back('\0');  // request tagged fields
  FinishFrame(frame);
  return frame;
}

// Checks a Produce v9 response: every partition error 0, base offsets as expected (advanced).
void CheckProduceResponse(const char* data, size_t size, uint32_t correlation_id,
                          std::vector<int64_t>& next_offsets, int32_t records_per_batch) {
  WireReader r(data, size);
  if (static_cast<uint32_t>(r.I32()) != correlation_id)
    throw std::runtime_error("correlation id mismatch");
  r.SkipTaggedFields();
  for (uint64_t topics = r.Uvarint() - 1; topics > 0; --topics) {
    r.CompactString();
    for (uint64_t parts = r.Uvarint() - 1; parts > 0; --parts) {
      const int32_t index = r.I32();
      const int16_t error = r.I16();
      const int64_t base_offset = r.I64();
      r.I64();  // log append time
      r.I64();  // log start offset
      for (uint64_t errors = r.Uvarint() - 1; errors > 0; --errors) {
        r.I32();
        r.CompactString();
        r.SkipTaggedFields();
      }
      const std::string_view message = r.CompactString();
      r.SkipTaggedFields();
      if (error != 0)
        throw std::runtime_error(fmt::format("partition {}: error {} {}", index, error, message));
      if (index < 0 || static_cast<size_t>(index) >= next_offsets.size())
        throw std::runtime_error(fmt::format("answer for unknown partition {}", index));
      auto& expected = next_offsets[static_cast<size_t>(index)];
      if (expected >= 0 && base_offset != expected)
        throw std::runtime_error(
            fmt::format("partition {}: base offset {}, expected {}", index, base_offset, expected));
      expected = base_offset + records_per_batch;
    }
    r.SkipTaggedFields();
  }
}

int32_t RecordCount(std::string_view batch) {
  // Record batch v2: records count int32 at byte 57.
  if (batch.size() < 61) throw std::runtime_error("the batch file is too short");
  return static_cast<int32_t>(GetBe32(batch.data() + 57));
}

void Produce(const Options& o) {
  const std::string batch = ReadWholeFile(o.batch_file);
  const int32_t records = RecordCount(batch);
  Fd socket = ConnectBlocking(o.port, std::chrono::seconds(o.timeout_seconds));
  std::vector<int64_t> next_offsets(static_cast<size_t>(o.partitions), -1);
  std::vector<char> body;
  std::vector<double> latencies_us;
  std::deque<std::pair<uint32_t, Clock::time_point>> in_flight;
  const uint64_t request_bytes = batch.size() * static_cast<uint64_t>(o.partitions);
  const auto limit = std::chrono::duration<double>(o.seconds);
  uint32_t correlation_id = 1;
  uint64_t sent_bytes = 0, acked_bytes = 0, requests = 0;

  std::string frame = EncodeProduce(correlation_id, o, batch);
  const auto start = Clock::now();
  auto sending_done = [&] { return sent_bytes >= o.bytes || Clock::now() - start >= limit; };
  for (;;) {
    while (!sending_done() && (o.acks == 0 || static_cast<int>(in_flight.size()) < o.in_flight)) {
      PutBe32(frame.data() + kRequestCorrelationOffset, correlation_id);
      in_flight.emplace_back(correlation_id, Clock::now());
      SendAll(socket.get(), frame.data(), frame.size());
      ++correlation_id;
      ++requests;
      sent_bytes += request_bytes;
      if (o.acks == 0) in_flight.clear();
    }
    if (in_flight.empty()) break;
    const size_t size = ReadFrame(socket.get(), body, kMaxFrameBytes);
    const auto [id, sent_at] = in_flight.front();
    in_flight.pop_front();
    latencies_us.push_back(
        std::chrono::duration<double, std::micro>(Clock::now() - sent_at).count());
    CheckProduceResponse(body.data(), size, id, next_offsets, records);
    acked_bytes += request_bytes;
  }
  if (o.acks == 0) acked_bytes = sent_bytes;
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const Percentiles p = Summarize(latencies_us);
  fmt::print(
      "bytes={} seconds={:.3f} mb_per_sec={:.1f} requests={} request_bytes={} p50_us={:.0f} "
      "p99_us={:.0f} max_us={:.0f}\n",
      acked_bytes, seconds, static_cast<double>(acked_bytes) / seconds / 1e6, requests,
      request_bytes, p.p50, p.p99, p.max);
}

// fdatasync of every file at once, a thread each (one file: on this thread).
void SyncAll(const std::vector<Fd>& files, const std::string& name) {
  std::vector<int> errors(files.size(), 0);
  if (files.size() == 1) {
    if (::fdatasync(files[0].get()) != 0) errors[0] = errno;
  } else {
    std::vector<std::jthread> syncers;
    for (size_t i = 0; i < files.size(); ++i)
      syncers.emplace_back([&, i] {
        if (::fdatasync(files[i].get()) != 0) errors[i] = errno;
      });
  }
  for (int error : errors)
    if (error != 0) throw std::runtime_error("fdatasync " + name + ": " + std::strerror(error));
}

void Write(const Options& o) {
  std::vector<Fd> files;
  std::vector<std::string> names;
  for (int i = 0; i < o.files; ++i) {
    names.push_back(o.files == 1 ? o.file : o.file + "." + std::to_string(i));
    files.emplace_back(
        ::open(names.back().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!files.back().valid()) ThrowErrno("open " + names.back());
  }
  const size_t piece = std::max<size_t>(o.chunk_bytes / static_cast<size_t>(o.files), 1);
  std::string chunk(piece * static_cast<size_t>(o.files), 'x');
  for (size_t i = 0; i < chunk.size(); ++i) chunk[i] = static_cast<char>('a' + i * 7 % 26);
  std::vector<double> latencies_us;
  uint64_t written = 0;
  const auto start = Clock::now();
  while (written < o.bytes) {
    const auto before = Clock::now();
    for (size_t f = 0; f < files.size(); ++f) {
      const char* data = chunk.data() + f * piece;
      size_t done = 0;
      while (done < piece) {
        const ssize_t n = ::write(files[f].get(), data + done, piece - done);
        if (n < 0) {
          if (errno == EINTR) continue;
          ThrowErrno("write " + names[f]);
        }
        done += static_cast<size_t>(n);
      }
    }
    if (o.sync == "each") {
      SyncAll(files, o.file);
      latencies_us.push_back(
          std::chrono::duration<double, std::micro>(Clock::now() - before).count());
    }
    written += chunk.size();
  }
  const double write_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (o.sync == "end") SyncAll(files, o.file);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const Percentiles p = Summarize(latencies_us);
  fmt::print(
      "bytes={} seconds={:.3f} mb_per_sec={:.1f} write_seconds={:.3f} writes={} p50_us={:.0f} "
      "p99_us={:.0f} max_us={:.0f}\n",
      written, seconds, static_cast<double>(written) / seconds / 1e6, write_seconds,
      written / chunk.size(), p.p50, p.p99, p.max);
}

void Sync(const Options& o) {
  std::vector<Fd> segments;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(o.dir))
    if (entry.is_regular_file() && entry.path().extension() == ".log") {
      segments.emplace_back(::open(entry.path().c_str(), O_RDONLY | O_CLOEXEC));
      if (!segments.back().valid()) ThrowErrno("open " + entry.path().string());
    }
  const auto start = Clock::now();
  if (!segments.empty()) SyncAll(segments, "the segments below " + o.dir);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  fmt::print("files={} seconds={:.3f}\n", segments.size(), seconds);
}

// Set by SIGTERM or SIGINT: the pinger stops and prints what it measured.
volatile std::sig_atomic_t g_stop_pinging = 0;
extern "C" void StopPinging(int /*signal*/) { g_stop_pinging = 1; }

void Ping(const Options& o) {
  std::signal(SIGTERM, StopPinging);
  std::signal(SIGINT, StopPinging);
  Fd socket = ConnectBlocking(o.port, std::chrono::seconds(o.timeout_seconds));
  std::vector<char> body;
  std::vector<double> latencies_us;
  const auto until = Clock::now() + std::chrono::duration<double>(o.seconds);
  for (uint32_t correlation = 1; Clock::now() < until && g_stop_pinging == 0; ++correlation) {
    const std::string request = EncodeApiVersionsV4Request(correlation);
    const auto sent = Clock::now();
    SendAll(socket.get(), request.data(), request.size());
    ReadFrame(socket.get(), body, kMaxFrameBytes);
    latencies_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - sent).count());
  }
  const size_t pings = latencies_us.size();
  const Percentiles p = Summarize(latencies_us);
  fmt::print("pings={} p50_us={:.0f} p99_us={:.0f} max_us={:.0f}\n", pings, p.p50, p.p99, p.max);
}

int Main(int argc, char** argv) {
  Options options;
  try {
    options = ParseOptions(argc, argv);
  } catch (const std::invalid_argument& error) {
    fmt::print(stderr, "kb_produce_bench: {}\n{}", error.what(), kUsage);
    return 2;
  }
  try {
    if (options.command == "produce")
      Produce(options);
    else if (options.command == "write")
      Write(options);
    else if (options.command == "ping")
      Ping(options);
    else
      Sync(options);
  } catch (const std::exception& error) {
    fmt::print(stderr, "kb_produce_bench {}: error: {}\n", options.command, error.what());
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace kb::bench

int main(int argc, char** argv) { return kb::bench::Main(argc, argv); }
