// kb_topic_create_bench: how long a broker takes to create a topic of many partitions, and how
// long another client waits meanwhile.
//
//   kb_topic_create_bench --port P [--partitions N] [--topic NAME] [--ping-interval-ms MS]
//                         [--timeout-seconds S]
//
// One connection sends CreateTopics v7 (one topic of N partitions, replication factor 1) and
// waits for the answer; a second connection sends ApiVersions v4 every MS milliseconds, one at a
// time, from before the CreateTopics request until after its answer. Prints one line of key=value
// figures: create_ms (request to answer), error (the topic's error code), pings (ApiVersions
// answered while the creation ran), worst_gap_ms (the longest time between two ApiVersions answers
// in that window, counting from the CreateTopics request to the first one and from the last one
// to the CreateTopics answer), worst_gap_from_ms (when that gap began, from the CreateTopics
// request) and worst_latency_ms (the slowest ApiVersions round trip).

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <exception>
#include <mutex>
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

constexpr std::string_view kUsage =
    "usage: kb_topic_create_bench --port P [--partitions N] [--topic NAME] [--ping-interval-ms MS]"
    "\n                             [--timeout-seconds S]\n";

struct Options {
  uint16_t port = 0;
  int32_t partitions = 2000;
  std::string topic = "bench-create";
  int ping_interval_ms = 2;
  int timeout_seconds = 300;
};

Options ParseOptions(int argc, char** argv) {
  Options options;
  bool have_port = false;
  for (int i = 1; i < argc; i += 2) {
    const std::string_view name = argv[i];
    if (i + 1 >= argc) throw std::invalid_argument(std::string(name) + ": missing value");
    const std::string_view value = argv[i + 1];
    if (name == "--port") {
      options.port = ParseInt<uint16_t>(name, value, 1);
      have_port = true;
    } else if (name == "--partitions") {
      options.partitions = ParseInt<int32_t>(name, value, 1, 10000);
    } else if (name == "--topic") {
      options.topic = std::string(value);
    } else if (name == "--ping-interval-ms") {
      options.ping_interval_ms = ParseInt<int>(name, value, 0, 1000);
    } else if (name == "--timeout-seconds") {
      options.timeout_seconds = ParseInt<int>(name, value, 1, 3600);
    } else {
      throw std::invalid_argument("unknown option " + std::string(name));
    }
  }
  if (!have_port) throw std::invalid_argument("--port is required");
  return options;
}

// CreateTopics v7: one topic, no assignments, no configs, validate_only false.
std::string EncodeCreateTopicsV7(uint32_t correlation_id, std::string_view topic,
                                 int32_t partitions, int32_t timeout_ms) {
  std::string frame = BeginFlexibleRequest(19, 7, correlation_id, "kb-bench");
  AppendUvarint(frame, 2);  // one topic
  AppendCompactString(frame, topic);
  AppendBe32(frame, static_cast<uint32_t>(partitions));
  AppendBe16(frame, 1);     // replication factor
  AppendUvarint(frame, 1);  // no assignments
  AppendUvarint(frame, 1);  // no configs
  frame.push_back('\0');    // topic tagged fields
  AppendBe32(frame, static_cast<uint32_t>(timeout_ms));
  frame.push_back('\0');  // validate_only
  frame.push_back('\0');  // body tagged fields
  FinishFrame(frame);
  return frame;
}

// The first topic's error code of a CreateTopics v7 response frame.
int16_t CreateTopicsError(const std::vector<char>& body, size_t size) {
  WireReader reader(body.data(), size);
  reader.I32();               // correlation id
  reader.SkipTaggedFields();  // response header v1
  reader.I32();               // throttle time
  if (reader.Uvarint() < 2) throw std::runtime_error("CreateTopics answered no topic");
  reader.CompactString();  // name
  reader.Skip(16);         // topic id
  return reader.I16();
}

struct PingLog {
  std::mutex mutex;
  std::vector<Clock::time_point> answers;
  Clock::duration worst_latency{};
};

void Ping(uint16_t port, std::chrono::milliseconds interval, std::chrono::seconds timeout,
          const std::atomic<bool>& stop, PingLog& log, std::exception_ptr& failure) {
  try {
    Fd socket = ConnectBlocking(port, timeout);
    std::vector<char> body;
    for (uint32_t correlation = 1; !stop.load(); ++correlation) {
      const std::string request = EncodeApiVersionsV4Request(correlation);
      const auto sent = Clock::now();
      SendAll(socket.get(), request.data(), request.size());
      ReadFrame(socket.get(), body, 1 << 20);
      const auto answered = Clock::now();
      {
        std::lock_guard lock(log.mutex);
        log.answers.push_back(answered);
        log.worst_latency = std::max(log.worst_latency, answered - sent);
      }
      std::this_thread::sleep_for(interval);
    }
  } catch (...) {
    failure = std::current_exception();
  }
}

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

int Run(const Options& options) {
  const std::chrono::seconds timeout(options.timeout_seconds);
  Fd admin = ConnectBlocking(options.port, timeout);
  std::atomic<bool> stop{false};
  PingLog log;
  std::exception_ptr ping_failure;
  std::thread pinger(Ping, options.port, std::chrono::milliseconds(options.ping_interval_ms),
                     timeout, std::cref(stop), std::ref(log), std::ref(ping_failure));
  // Let the pinger's connection get going before the creation starts.
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::lock_guard lock(log.mutex);
    if (!log.answers.empty() || ping_failure) break;
  }

  const std::string request = EncodeCreateTopicsV7(
      1, options.topic, options.partitions, static_cast<int32_t>(options.timeout_seconds * 1000));
  const auto started = Clock::now();
  SendAll(admin.get(), request.data(), request.size());
  std::vector<char> body;
  const size_t size = ReadFrame(admin.get(), body, 1 << 20);
  const auto answered = Clock::now();
  stop = true;
  pinger.join();
  if (ping_failure) std::rethrow_exception(ping_failure);
  const int16_t error = CreateTopicsError(body, size);

  Clock::duration worst_gap{};
  Clock::time_point worst_gap_start = started;
  Clock::time_point previous = started;
  size_t pings = 0;
  auto gap_until = [&](Clock::time_point at) {
    if (at - previous > worst_gap) {
      worst_gap = at - previous;
      worst_gap_start = previous;
    }
    previous = at;
  };
  for (const auto& at : log.answers) {
    if (at <= started || at >= answered) continue;
    ++pings;
    gap_until(at);
  }
  gap_until(answered);
  fmt::print(
      "partitions={} create_ms={:.1f} error={} pings={} worst_gap_ms={:.1f} "
      "worst_gap_from_ms={:.1f} worst_latency_ms={:.1f}\n",
      options.partitions, Ms(answered - started), error, pings, Ms(worst_gap),
      Ms(worst_gap_start - started), Ms(log.worst_latency));
  return error == 0 ? 0 : 1;
}

}  // namespace
}  // namespace kb::bench

int main(int argc, char** argv) {
  try {
    return kb::bench::Run(kb::bench::ParseOptions(argc, argv));
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "kb_topic_create_bench: %s\n%s", e.what(),
                 std::string(kb::bench::kUsage).c_str());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kb_topic_create_bench: %s\n", e.what());
    return 1;
  }
}
