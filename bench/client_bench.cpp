// End-to-end benchmark with a real client library (librdkafka): how many messages per second the
// broker takes from a producer and hands to a consumer, and how long a message takes from
// produce() to the consumer at a steady rate.
//
//   kb_client_bench throughput --bootstrap HOST:PORT --topic T --messages N --size BYTES
//   kb_client_bench latency    --bootstrap HOST:PORT --topic T --messages N --rate MSGS_PER_SEC
//
// --set key=value (repeatable) adds a librdkafka setting to the producer and the consumer (e.g.
// security.protocol=SSL, ssl.ca.location=ca.pem).
//
// Prints one result line of key=value fields on stdout (see each mode); diagnostics on stderr.
// It talks to the broker only through librdkafka, like any user's program would.

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void fail(const std::string& what) {
  fmt::print(stderr, "kb_client_bench: {}\n", what);
  std::exit(1);
}

struct Options {
  std::string mode;
  std::string bootstrap;
  std::string topic;
  int64_t messages = 0;
  size_t size = 100;
  int64_t rate = 1000;
  std::string acks = "1";
  std::string idempotence = "false";                          // enable.idempotence (needs acks=all)
  std::vector<std::pair<std::string, std::string>> settings;  // --set key=value
};

Options parse(int argc, char** argv) {
  if (argc < 2) fail("usage: kb_client_bench throughput|latency --bootstrap H:P --topic T ...");
  Options o;
  o.mode = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string_view k = argv[i];
    std::string v = argv[i + 1];
    if (k == "--bootstrap")
      o.bootstrap = v;
    else if (k == "--topic")
      o.topic = v;
    else if (k == "--messages")
      o.messages = std::stoll(v);
    else if (k == "--size")
      o.size = std::stoul(v);
    else if (k == "--rate")
      o.rate = std::stoll(v);
    else if (k == "--acks")
      o.acks = v;
    else if (k == "--idempotence")
      o.idempotence = v;
    else if (k == "--set" && v.find('=') != std::string::npos)
      o.settings.emplace_back(v.substr(0, v.find('=')), v.substr(v.find('=') + 1));
    else
      fail(fmt::format("unknown option {}", k));
  }
  if (o.bootstrap.empty() || o.topic.empty() || o.messages <= 0)
    fail("--bootstrap, --topic and a positive --messages are required");
  if (o.size < sizeof(int64_t)) fail("--size must hold a timestamp (>= 8 bytes)");
  return o;
}

void set(rd_kafka_conf_t* conf, const char* key, const std::string& value) {
  char err[512];
  if (rd_kafka_conf_set(conf, key, value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK)
    fail(fmt::format("config {}={}: {}", key, value, err));
}

// Counts delivery reports; any failed delivery ends the run, since figures over lost messages
// would mean nothing.
std::atomic<int64_t> g_delivered{0};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
  if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR)
    fail(fmt::format("delivery failed: {}", rd_kafka_err2str(m->err)));
  g_delivered.fetch_add(1, std::memory_order_relaxed);
}

rd_kafka_t* make_producer(const Options& o, int linger_ms) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", o.bootstrap);
  set(conf, "acks", o.acks);
  set(conf, "linger.ms", std::to_string(linger_ms));
  set(conf, "batch.size", std::to_string(1 << 20));
  set(conf, "queue.buffering.max.kbytes", std::to_string(256 << 10));
  set(conf, "enable.idempotence", o.idempotence);
  for (const auto& [key, value] : o.settings) set(conf, key.c_str(), value);
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (rk == nullptr) fail(fmt::format("producer: {}", err));
  return rk;
}

rd_kafka_t* make_consumer(const Options& o, int64_t start_offset) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", o.bootstrap);
  for (const auto& [key, value] : o.settings) set(conf, key.c_str(), value);
  set(conf, "group.id", "kb-client-bench");  // required by the API; nothing is committed
  set(conf, "enable.auto.commit", "false");
  set(conf, "fetch.wait.max.ms", "100");
  set(conf, "fetch.min.bytes", "1");
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (rk == nullptr) fail(fmt::format("consumer: {}", err));
  rd_kafka_poll_set_consumer(rk);
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(parts, o.topic.c_str(), 0)->offset = start_offset;
  if (rd_kafka_assign(rk, parts) != RD_KAFKA_RESP_ERR_NO_ERROR) fail("assign failed");
  rd_kafka_topic_partition_list_destroy(parts);
  return rk;
}

void produce_one(rd_kafka_t* rk, const Options& o, std::vector<char>& payload) {
  for (;;) {
    rd_kafka_resp_err_t err =
        rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(o.topic.c_str()), RD_KAFKA_V_PARTITION(0),
                          RD_KAFKA_V_VALUE(payload.data(), payload.size()),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return;
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
      fail(fmt::format("produce: {}", rd_kafka_err2str(err)));
    rd_kafka_poll(rk, 1);  // the local queue is full: let deliveries drain it
  }
}

void flush(rd_kafka_t* rk, int64_t expected) {
  while (g_delivered.load() < expected) {
    if (rd_kafka_flush(rk, 30000) == RD_KAFKA_RESP_ERR__TIMED_OUT) fail("flush timed out");
  }
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

// Producer as fast as librdkafka goes (linger 5 ms, 1 MiB batches), then a consumer reading the
// same messages from where they started. Prints produce and consume msgs/s and MB/s.
void run_throughput(const Options& o) {
  rd_kafka_t* producer = make_producer(o, 5);
  std::vector<char> payload(o.size, 'x');
  // Learn where this run's messages start, so an existing topic does not skew the consumer.
  int64_t low = 0;
  int64_t start = 0;
  produce_one(producer, o, payload);
  flush(producer, 1);
  if (rd_kafka_query_watermark_offsets(producer, o.topic.c_str(), 0, &low, &start, 10000) !=
      RD_KAFKA_RESP_ERR_NO_ERROR)
    fail("query_watermark_offsets failed");
  g_delivered = 0;

  const auto produce_start = Clock::now();
  for (int64_t i = 0; i < o.messages; ++i) {
    produce_one(producer, o, payload);
    if ((i & 1023) == 0) rd_kafka_poll(producer, 0);
  }
  flush(producer, o.messages);
  const double produce_seconds = seconds_since(produce_start);
  rd_kafka_destroy(producer);

  rd_kafka_t* consumer = make_consumer(o, start);
  int64_t consumed = 0;
  uint64_t bytes = 0;
  const auto consume_start = Clock::now();
  while (consumed < o.messages) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer, 1000);
    if (m == nullptr) {
      if (seconds_since(consume_start) > 120) fail("consumer stalled");
      continue;
    }
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      ++consumed;
      bytes += m->len;
    } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      fail(fmt::format("consume: {}", rd_kafka_message_errstr(m)));
    }
    rd_kafka_message_destroy(m);
  }
  const double consume_seconds = seconds_since(consume_start);
  rd_kafka_consumer_close(consumer);
  rd_kafka_destroy(consumer);

  const double mb = static_cast<double>(o.messages) * static_cast<double>(o.size) / 1e6;
  fmt::print(
      "messages={} size={} bytes={} produce_msgs_per_sec={:.0f} produce_mb_per_sec={:.1f} "
      "consume_msgs_per_sec={:.0f} consume_mb_per_sec={:.1f}\n",
      o.messages, o.size, bytes, static_cast<double>(o.messages) / produce_seconds,
      mb / produce_seconds, static_cast<double>(o.messages) / consume_seconds,
      mb / consume_seconds);
}

// A producer at a steady rate (linger 0) and a consumer polling at the same time; each message
// carries its send time. Prints produce-to-consume latency percentiles in microseconds.
void run_latency(const Options& o) {
  rd_kafka_t* producer = make_producer(o, 0);
  std::vector<char> payload(o.size, 'x');
  int64_t low = 0;
  int64_t start = 0;
  produce_one(producer, o, payload);  // creates the topic and opens the connection
  flush(producer, 1);
  if (rd_kafka_query_watermark_offsets(producer, o.topic.c_str(), 0, &low, &start, 10000) !=
      RD_KAFKA_RESP_ERR_NO_ERROR)
    fail("query_watermark_offsets failed");
  g_delivered = 0;

  rd_kafka_t* consumer = make_consumer(o, start);
  std::vector<int64_t> latencies_ns;
  latencies_ns.reserve(static_cast<size_t>(o.messages));
  std::thread reader([&] {
    const auto began = Clock::now();
    while (static_cast<int64_t>(latencies_ns.size()) < o.messages) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer, 100);
      if (m == nullptr) {
        if (seconds_since(began) > 300) fail("consumer stalled");
        continue;
      }
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR && m->len >= sizeof(int64_t)) {
        int64_t sent = 0;
        std::memcpy(&sent, m->payload, sizeof sent);
        latencies_ns.push_back(now_ns() - sent);
      }
      rd_kafka_message_destroy(m);
    }
  });
  // Give the consumer time to be assigned and polling before the clock starts.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));

  const auto interval = std::chrono::nanoseconds(1'000'000'000 / std::max<int64_t>(o.rate, 1));
  auto next = Clock::now();
  for (int64_t i = 0; i < o.messages; ++i) {
    std::this_thread::sleep_until(next);
    next += interval;
    int64_t sent = now_ns();
    std::memcpy(payload.data(), &sent, sizeof sent);
    produce_one(producer, o, payload);
    rd_kafka_poll(producer, 0);
  }
  flush(producer, o.messages);
  reader.join();
  rd_kafka_destroy(producer);
  rd_kafka_consumer_close(consumer);
  rd_kafka_destroy(consumer);

  std::sort(latencies_ns.begin(), latencies_ns.end());
  auto percentile = [&](double p) {
    size_t i = static_cast<size_t>(p * static_cast<double>(latencies_ns.size() - 1));
    return static_cast<double>(latencies_ns[i]) / 1000.0;
  };
  fmt::print("messages={} size={} rate={} p50_us={:.0f} p99_us={:.0f} max_us={:.0f}\n", o.messages,
             o.size, o.rate, percentile(0.50), percentile(0.99), percentile(1.0));
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  if (o.mode == "throughput")
    run_throughput(o);
  else if (o.mode == "latency")
    run_latency(o);
  else
    fail("mode must be throughput or latency");
  return 0;
}
