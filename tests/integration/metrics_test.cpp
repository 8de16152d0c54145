// The metrics endpoint (kb.metrics.listener) scraped by a real Prometheus
// (Debian's `prometheus`, scripts/install-deps.sh test) while confluent-kafka
// produces, consumes with a group and has a produce refused; the series are
// read back through Prometheus's HTTP API. A scrape of thousands of
// partitions goes out in chunks, one step of the page per loop turn, and
// another client's ApiVersions are answered between them. After a restart,
// partitions whose logs were not opened again have their gauges too, after a
// clean shutdown and after a SIGKILL.

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "kb/protocol/messages/api_versions.hpp"
#include "kb/protocol/messages/client_quotas.hpp"
#include "kb/protocol/messages/consumer_group_heartbeat.hpp"
#include "kb/protocol/messages/create_topics.hpp"
#include "kb/protocol/messages/fetch.hpp"
#include "kb/protocol/messages/produce.hpp"
#include "kb/storage/record_batch.hpp"
#include "support/apache_kafka.hpp"
#include "support/broker_process.hpp"
#include "support/kafka_client.hpp"
#include "support/shell_command.hpp"

namespace kb::testing {
namespace {

const std::string kPython = "/usr/bin/python3";

// A Prometheus server scraping one target every second, stopped (SIGTERM,
// then SIGKILL) with the test.
class PrometheusProcess {
 public:
  PrometheusProcess(const std::filesystem::path& dir, uint16_t target_port)
      : port_(free_loopback_port()) {
    write_text_file(dir / "prometheus.yml",
                    "global:\n"
                    "  scrape_interval: 1s\n"
                    "  scrape_timeout: 1s\n"
                    "scrape_configs:\n"
                    "  - job_name: kb\n"
                    "    static_configs:\n"
                    "      - targets: ['127.0.0.1:" +
                        std::to_string(target_port) + "']\n");
    log_ = dir / "prometheus.log";
    const std::string config = "--config.file=" + (dir / "prometheus.yml").string();
    const std::string storage = "--storage.tsdb.path=" + (dir / "tsdb").string();
    const std::string listen = "--web.listen-address=127.0.0.1:" + std::to_string(port_);
    const std::string log_path = log_.string();
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
      }
      execlp("prometheus", "prometheus", config.c_str(), storage.c_str(), listen.c_str(),
             static_cast<char*>(nullptr));
      _exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!loopback_port_accepts(port_)) {
      if (std::chrono::steady_clock::now() > deadline)
        throw std::runtime_error("prometheus did not start:\n" + read_file(log_));
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ~PrometheusProcess() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    for (int i = 0; i < 200; ++i) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  PrometheusProcess(const PrometheusProcess&) = delete;
  PrometheusProcess& operator=(const PrometheusProcess&) = delete;

  std::string log() const { return read_file(log_); }

  // The value of an instant query whose answer is one series (or the sum the
  // query asks for), nullopt when it has none.
  std::optional<double> query(const std::string& promql) const {
    const CommandResult r = run_command("curl -sfG http://127.0.0.1:" + std::to_string(port_) +
                                            "/api/v1/query --data-urlencode 'query=" + promql + "'",
                                        10);
    if (r.status != 0) return std::nullopt;
    static const std::regex kValue(R"re("value":\[[0-9.e+]+,"([^"]+)"\])re");
    std::smatch m;
    if (!std::regex_search(r.output, m, kValue)) return std::nullopt;
    return std::stod(m[1].str());
  }

  // Queries until `accept` holds for the value (Prometheus scrapes once a
  // second), up to `bound`; the last value seen.
  template <class Accept>
  std::optional<double> wait_for(const std::string& promql, Accept accept,
                                 std::chrono::seconds bound = std::chrono::seconds(30)) const {
    const auto deadline = std::chrono::steady_clock::now() + bound;
    std::optional<double> v;
    while (true) {
      v = query(promql);
      if (v && accept(*v)) return v;
      if (std::chrono::steady_clock::now() > deadline) return v;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
  }

 private:
  uint16_t port_;
  std::filesystem::path log_;
  pid_t pid_ = -1;
};

// Creates `topic` with `partitions` partitions (CreateTopics v7) and checks
// it was created.
void create_topic(RawClient& client, const std::string& topic, int32_t partitions,
                  int32_t timeout_ms = 30000) {
  protocol::CreateTopicsRequest create;
  auto& t = create.topics.emplace_back();
  t.name = topic;
  t.num_partitions = partitions;
  t.replication_factor = -1;
  create.timeout_ms = timeout_ms;
  std::vector<uint8_t> body;
  ASSERT_EQ(call<protocol::CreateTopicsResponse>(client, create, 7, body).topics.at(0).error_code,
            0);
}

bool prometheus_missing(std::string* why) {
  if (!command_succeeds("command -v prometheus")) {
    *why = "prometheus is not installed (scripts/install-deps.sh test)";
    return true;
  }
  if (!command_succeeds("command -v curl")) {
    *why = "curl is not installed";
    return true;
  }
  if (!command_succeeds(kPython + " -c 'import confluent_kafka'")) {
    *why = "python3-confluent-kafka is not installed (scripts/install-deps.sh test)";
    return true;
  }
  return false;
}

TEST(Metrics, PrometheusScrapesKafkasSeriesWhileClientsProduceConsumeAndFail) {
  std::string why;
  if (prometheus_missing(&why)) {
    if (labs_required()) FAIL() << why;
    GTEST_SKIP() << why;
  }
  auto dir = make_temp_dir("kb-metrics-");
  // Every append synced: flush times get samples.
  BrokerProcess broker({{"kb.metrics.listener", "http://127.0.0.1:0/metrics"},
                        {"log.flush.interval.messages", "1"}});
  auto found = broker.wait_for_log(std::regex(R"(Metrics on http://127\.0\.0\.1:(\d+)/metrics)"));
  ASSERT_EQ(found.size(), 2u) << broker.log();
  const auto metrics_port = static_cast<uint16_t>(std::stoi(found[1]));

  // The page itself: Prometheus's text format, an unknown path a 404.
  const CommandResult page =
      run_command("curl -s -D - http://127.0.0.1:" + std::to_string(metrics_port) + "/metrics", 10);
  EXPECT_NE(page.output.find("Content-Type: text/plain; version=0.0.4"), std::string::npos)
      << page.output.substr(0, 500);
  EXPECT_NE(page.output.find("# TYPE kafka_server_brokertopicmetrics_messagesin_total counter"),
            std::string::npos);
  const CommandResult missing = run_command(
      "curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:" + std::to_string(metrics_port) +
          "/nothing",
      10);
  EXPECT_EQ(missing.output, "404");

  PrometheusProcess prometheus(dir, metrics_port);
  // Scraped, and every line of the page parsed.
  ASSERT_EQ(prometheus.wait_for("up{job=\"kb\"}", [](double v) { return v == 1; }), 1.0)
      << prometheus.log();

  const CommandResult load =
      run_command(kPython + " " + std::string(KB_CLIENT_SCRIPTS_DIR) +
                      "/metrics_clients.py 127.0.0.1:" + std::to_string(broker.port()),
                  90);
  ASSERT_EQ(load.status, 0) << load.output;
  ASSERT_NE(load.output.find("OK"), std::string::npos) << load.output;

  auto equals = [](double want) { return [want](double v) { return v == want; }; };
  auto positive = [](double v) { return v > 0; };

  // Counters moved by what the clients did.
  EXPECT_EQ(prometheus.wait_for(
                "kafka_server_brokertopicmetrics_messagesin_total{topic=\"metered\"}", equals(70)),
            70.0);
  EXPECT_EQ(prometheus.wait_for("kafka_server_brokertopicmetrics_failedproducerequests_total{"
                                "topic=\"stale\"}",
                                equals(1)),
            1.0);
  EXPECT_EQ(prometheus.wait_for("kafka_server_brokertopicmetrics_messagesin_total{topic=\"stale\"}",
                                [](double) { return true; }),
            0.0);
  EXPECT_GE(prometheus
                .wait_for("kafka_network_requestmetrics_errors_total{request=\"Produce\","
                          "error=\"INVALID_TIMESTAMP\"}",
                          positive)
                .value_or(0),
            1.0);
  const auto bytes_in = prometheus.wait_for(
      "kafka_server_brokertopicmetrics_bytesin_total{topic=\"metered\"}", positive);
  const auto bytes_out = prometheus.wait_for(
      "kafka_server_brokertopicmetrics_bytesout_total{topic=\"metered\"}", positive);
  ASSERT_TRUE(bytes_in && bytes_out);
  EXPECT_GT(*bytes_in, 70.0 * 8);  // at least the values' bytes
  // The totals are the sum over topics.
  EXPECT_EQ(prometheus.wait_for("kafka_server_brokertopicmetrics_messagesin_total{topic=\"\"}",
                                [](double v) { return v >= 70; }),
            prometheus.query("sum(kafka_server_brokertopicmetrics_messagesin_total{topic!=\"\"})"));

  // Histograms have samples.
  EXPECT_GE(
      prometheus
          .wait_for("kafka_network_requestmetrics_totaltimems_count{request=\"Produce\"}", positive)
          .value_or(0),
      3.0);
  EXPECT_GT(prometheus
                .wait_for("kafka_network_requestmetrics_totaltimems{request=\"Produce\","
                          "quantile=\"0.99\"}",
                          positive)
                .value_or(0),
            0.0);
  EXPECT_GT(
      prometheus
          .wait_for("kafka_network_requestmetrics_localtimems_count{request=\"Fetch\"}", positive)
          .value_or(0),
      0.0);
  EXPECT_GE(prometheus
                .wait_for("kafka_network_requestmetrics_responsesendtimems_count{request="
                          "\"Produce\"}",
                          positive)
                .value_or(0),
            3.0);
  EXPECT_GT(prometheus.wait_for("kafka_log_logflushstats_logflushrateandtimems_count", positive)
                .value_or(0),
            0.0);

  // The group's lag and the log's offsets.
  EXPECT_EQ(prometheus.wait_for("sum(kafka_consumergroup_lag{consumergroup=\"metered-group\","
                                "topic=\"metered\"})",
                                equals(20)),
            20.0);
  EXPECT_EQ(prometheus.wait_for("kafka_consumergroup_current_offset{consumergroup=\"metered-"
                                "group\",topic=\"metered\",partition=\"0\"}",
                                equals(50)),
            50.0);
  EXPECT_EQ(prometheus.wait_for("kafka_log_log_logendoffset{topic=\"metered\",partition=\"0\"}",
                                equals(70)),
            70.0);
  EXPECT_GT(prometheus.wait_for("kafka_log_log_size{topic=\"metered\",partition=\"0\"}", positive)
                .value_or(0),
            0.0);
  EXPECT_EQ(
      prometheus.wait_for("kafka_coordinator_group_groupmetadatamanager_numgroupsempty", equals(1)),
      1.0);
  // A KIP-848 consumer group next to the classic one: Kafka 4's group
  // coordinator counts groups by protocol, and consumer groups by state.
  {
    TypedClient client(broker.port());
    protocol::ConsumerGroupHeartbeatRequest join;
    join.group_id = "metered-848";
    join.member_id = "metered-848-member-000";
    join.rebalance_timeout_ms = 30000;
    const std::vector<std::string_view> topics{"metered"};
    join.subscribed_topic_names = topics;
    join.topic_partitions.emplace();
    const auto joined = client.call<protocol::ConsumerGroupHeartbeatResponse>(join, 1);
    EXPECT_EQ(joined.error_code, 0);
  }
  EXPECT_EQ(
      prometheus.wait_for(
          "kafka_server_group_coordinator_metrics_group_count{protocol=\"consumer\"}", equals(1)),
      1.0);
  EXPECT_EQ(
      prometheus.wait_for(
          "kafka_server_group_coordinator_metrics_group_count{protocol=\"classic\"}", equals(1)),
      1.0);
  EXPECT_EQ(prometheus.wait_for("sum(kafka_server_group_coordinator_metrics_consumer_group_count)",
                                equals(1)),
            1.0);

  // Connections, and the process.
  EXPECT_GT(prometheus
                .wait_for("kafka_server_socket_server_metrics_connection_creation_total{"
                          "listener=\"PLAINTEXT\"}",
                          [](double v) { return v >= 3; })
                .value_or(0),
            2.0);
  EXPECT_GT(prometheus.wait_for("process_resident_memory_bytes", positive).value_or(0), 1e6);
  EXPECT_GT(prometheus.wait_for("process_cpu_seconds_total", positive).value_or(0), 0.0);
  broker.stop();
  std::filesystem::remove_all(dir);
}

// Reads an HTTP answer with a chunked body from `fd`, calling `on_chunk`
// as each chunk (the last, empty one too) has arrived. False when it is not
// one (a length instead of chunks, a malformed chunk, the connection gone).
class ChunkedReader {
 public:
  explicit ChunkedReader(int fd) : fd_(fd) {}
  bool read(std::string& head, std::string& body, const std::function<void(size_t)>& on_chunk) {
    head.clear();
    body.clear();
    if (!line_until("\r\n\r\n", head)) return false;
    if (head.find("Transfer-Encoding: chunked\r\n") == std::string::npos) return false;
    for (;;) {
      std::string size_line;
      if (!line_until("\r\n", size_line)) return false;
      const size_t size = std::stoul(size_line, nullptr, 16);
      std::string data;
      if (!take(size + 2, data) || data.substr(size) != "\r\n") return false;
      on_chunk(size);
      if (size == 0) return true;
      body.append(data, 0, size);
    }
  }

 private:
  bool fill() {
    char buf[65536];
    for (;;) {
      const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n > 0) {
        in_.append(buf, static_cast<size_t>(n));
        return true;
      }
      if (n < 0 && errno == EINTR) continue;
      return false;
    }
  }
  bool line_until(std::string_view end, std::string& out) {
    size_t at = 0;
    while ((at = in_.find(end)) == std::string::npos)
      if (!fill()) return false;
    out = in_.substr(0, at + end.size());
    in_.erase(0, at + end.size());
    return true;
  }
  bool take(size_t n, std::string& out) {
    while (in_.size() < n)
      if (!fill()) return false;
    out = in_.substr(0, n);
    in_.erase(0, n);
    return true;
  }
  int fd_;
  std::string in_;
};

TEST(Metrics, AScrapeOfThousandsOfPartitionsGoesInStepsWithOtherClientsAnsweredBetween) {
  constexpr int32_t kPartitions = 1000;
  BrokerProcess broker(
      std::map<std::string, std::string>{{"kb.metrics.listener", "http://127.0.0.1:0/metrics"}});
  auto found = broker.wait_for_log(std::regex(R"(Metrics on http://127\.0\.0\.1:(\d+)/metrics)"));
  ASSERT_EQ(found.size(), 2u) << broker.log();
  const auto metrics_port = static_cast<uint16_t>(std::stoi(found[1]));

  // A topic of many partitions, a record in each, so that every log is open.
  RawClient admin(broker.port(), std::chrono::seconds(120));
  {
    ASSERT_NO_FATAL_FAILURE(create_topic(admin, "wide", kPartitions, 120000));
    std::vector<uint8_t> body;
    storage::RecordBatchBuilder builder;
    const std::string value = "v";
    builder.add_record(std::nullopt,
                       storage::Bytes(reinterpret_cast<const uint8_t*>(value.data()), value.size()),
                       1700000000000);
    const std::vector<uint8_t> batch = builder.build();
    protocol::ProduceRequest produce;
    produce.acks = 1;
    produce.timeout_ms = 60000;
    auto& topic = produce.topic_data.emplace_back();
    topic.name = "wide";
    for (int32_t p = 0; p < kPartitions; ++p)
      topic.partition_data.push_back({p, storage::Bytes(batch)});
    auto produced = call<protocol::ProduceResponse>(admin, produce, 9, body);
    for (const auto& p : produced.responses.at(0).partition_responses)
      ASSERT_EQ(p.error_code, 0) << p.index;
  }

  // Another client sends ApiVersions one after another meanwhile; events on
  // both sides are numbered by one counter.
  std::atomic<uint64_t> clock{0};
  std::atomic<bool> stop{false};
  std::mutex mutex;
  std::vector<uint64_t> answers;
  std::string ping_error;
  std::thread pinger([&] {
    try {
      RawClient other(broker.port());
      while (!stop.load()) {
        protocol::ApiVersionsRequest ping;
        ping.client_software_name = "kb-test";
        ping.client_software_version = "1";
        std::vector<uint8_t> body;
        auto versions = call<protocol::ApiVersionsResponse>(other, ping, 3, body);
        if (versions.error_code != 0) throw std::runtime_error("ApiVersions failed");
        const uint64_t at = ++clock;
        std::lock_guard lock(mutex);
        answers.push_back(at);
      }
    } catch (const std::exception& e) {
      std::lock_guard lock(mutex);
      ping_error = e.what();
    }
  });

  // Scrapes until one had an ApiVersions answered between its first and
  // last chunk (each scrape spans tens of loop turns; a busy machine may
  // keep the pinger off the CPU through one of them).
  RawClient scraper(metrics_port);
  ChunkedReader reader(scraper.fd());
  size_t answered_between = 0;
  size_t scrapes = 0;
  size_t chunks = 0;
  std::string head, page;
  for (; scrapes < 20 && answered_between == 0; ++scrapes) {
    const std::string get = "GET /metrics HTTP/1.1\r\nHost: kb\r\n\r\n";
    scraper.send_bytes({reinterpret_cast<const uint8_t*>(get.data()), get.size()});
    uint64_t first = 0, last = 0;
    chunks = 0;
    ASSERT_TRUE(reader.read(head, page, [&](size_t size) {
      if (size > 0 && ++chunks == 1) first = ++clock;
      if (size == 0) last = ++clock;
    })) << head;
    std::lock_guard lock(mutex);
    for (uint64_t at : answers) answered_between += (at > first && at < last) ? 1 : 0;
  }
  stop = true;
  pinger.join();
  EXPECT_EQ(ping_error, "");
  EXPECT_GE(answered_between, 1u) << "in " << scrapes << " scrapes";
  EXPECT_GT(chunks, 1u);
  // The page is whole: every partition's gauges, each family once.
  size_t sizes = 0;
  for (size_t at = page.find("\nkafka_log_log_size{topic=\"wide\""); at != std::string::npos;
       at = page.find("\nkafka_log_log_size{topic=\"wide\"", at + 1))
    ++sizes;
  EXPECT_EQ(sizes, static_cast<size_t>(kPartitions));
  EXPECT_NE(page.find("kafka_log_log_logendoffset{topic=\"wide\",partition=\"999\"} 1\n"),
            std::string::npos);
  EXPECT_EQ(page.find("# TYPE kafka_log_log_size gauge"),
            page.rfind("# TYPE kafka_log_log_size gauge"));
  EXPECT_NE(page.find("kb_event_loop_longest_turn_seconds "), std::string::npos);
}

std::string scrape(uint16_t port) {
  return run_command("curl -s http://127.0.0.1:" + std::to_string(port) + "/metrics", 10).output;
}

uint16_t metrics_port_of(BrokerProcess& broker) {
  auto found = broker.wait_for_log(std::regex(R"(Metrics on http://127\.0\.0\.1:(\d+)/metrics)"));
  return found.size() == 2 ? static_cast<uint16_t>(std::stoi(found[1])) : 0;
}

// Produces `count` records, one batch, to the partition.
void produce_records(RawClient& client, std::string_view topic, int32_t partition, int count) {
  storage::RecordBatchBuilder builder;
  const std::string value(100, 'x');
  for (int i = 0; i < count; ++i)
    builder.add_record(std::nullopt,
                       storage::Bytes(reinterpret_cast<const uint8_t*>(value.data()), value.size()),
                       1700000000000);
  const std::vector<uint8_t> batch = builder.build();
  protocol::ProduceRequest produce;
  produce.acks = -1;
  produce.timeout_ms = 10000;
  auto& t = produce.topic_data.emplace_back();
  t.name = topic;
  t.partition_data.push_back({partition, storage::Bytes(batch)});
  std::vector<uint8_t> body;
  auto produced = call<protocol::ProduceResponse>(client, produce, 9, body);
  ASSERT_EQ(produced.responses.at(0).partition_responses.at(0).error_code, 0);
}

// The value of a sample on the page, nullopt without it.
std::optional<double> sample_of(const std::string& page, const std::string& series) {
  const size_t at = page.find("\n" + series + " ");
  if (at == std::string::npos) return std::nullopt;
  return std::stod(page.substr(at + series.size() + 2));
}

// The series names of the README's metrics table (the first column of each
// row of "## Metrics (Prometheus)"), with its shorthands expanded:
// "`a_b_c`, `..._d`" is a_b_c and a_b_d (the "..." stands for the previous
// name less as many parts as follow it), "x_{p,q}_y" is x_p_y and x_q_y.
std::set<std::string> readme_metric_names() {
  const std::string readme =
      read_file(std::filesystem::path(KB_CLIENT_SCRIPTS_DIR) / "../../../README.md");
  const size_t section = readme.find("\n## Metrics (Prometheus)\n");
  if (section == std::string::npos) return {};
  const size_t end = readme.find("\n## ", section + 1);
  std::istringstream lines(readme.substr(section, end - section));
  std::set<std::string> names;
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.starts_with("| `")) continue;
    const std::string first = line.substr(2, line.find(" | ", 2) - 2);
    static const std::regex kName("`([^`]+)`");
    std::string previous;
    for (auto it = std::sregex_iterator(first.begin(), first.end(), kName);
         it != std::sregex_iterator(); ++it) {
      std::string name = (*it)[1];
      if (name.starts_with("..._")) {
        const std::string tail = name.substr(4);
        const auto parts = static_cast<size_t>(std::count(tail.begin(), tail.end(), '_') + 1);
        std::string base = previous;
        for (size_t i = 0; i < parts; ++i) base.erase(base.rfind('_'));
        name = base + "_" + tail;
      }
      previous = name;
      const size_t open = name.find('{');
      if (open == std::string::npos) {
        names.insert(name);
        continue;
      }
      const size_t close = name.find('}', open);
      std::istringstream choices(name.substr(open + 1, close - open - 1));
      for (std::string choice; std::getline(choices, choice, ',');)
        names.insert(name.substr(0, open) + choice + name.substr(close + 1));
    }
  }
  return names;
}

// The README's table against the page: every family the endpoint serves is
// listed, and every listed one is served (the quota sensors once a client
// is measured against a quota, so one is).
TEST(Metrics, TheReadmeListsEverySeriesTheEndpointServesAndNoOther) {
  const std::set<std::string> listed = readme_metric_names();
  ASSERT_GT(listed.size(), 30u);
  BrokerProcess broker(
      std::map<std::string, std::string>{{"kb.metrics.listener", "http://127.0.0.1:0/metrics"}});
  const uint16_t port = metrics_port_of(broker);
  ASSERT_NE(port, 0) << broker.log();
  RawClient client(broker.port(), std::chrono::seconds(30));
  {
    // Generous quotas for every client id: each is measured, none throttled.
    protocol::AlterClientQuotasRequest quotas;
    auto& entry = quotas.entries.emplace_back();
    entry.entity.push_back({"client-id", std::nullopt});
    entry.ops.push_back({"producer_byte_rate", 1e9, false});
    entry.ops.push_back({"consumer_byte_rate", 1e9, false});
    entry.ops.push_back({"request_percentage", 1000, false});
    std::vector<uint8_t> body;
    const auto altered = call<protocol::AlterClientQuotasResponse>(client, quotas, 1, body);
    ASSERT_EQ(altered.entries.size(), 1u);
    ASSERT_EQ(altered.entries[0].error_code, 0);
  }
  ASSERT_NO_FATAL_FAILURE(create_topic(client, "listed", 1));
  std::vector<uint8_t> body;
  produce_records(client, "listed", 0, 3);
  protocol::FetchRequest fetch;
  fetch.max_wait_ms = 0;
  fetch.min_bytes = 0;
  fetch.max_bytes = 1 << 20;
  auto& ft = fetch.topics.emplace_back();
  ft.topic = "listed";
  auto& fp = ft.partitions.emplace_back();
  fp.partition = 0;
  fp.fetch_offset = 0;
  fp.partition_max_bytes = 1 << 20;
  ASSERT_EQ(call<protocol::FetchResponse>(client, fetch, 11, body)
                .responses.at(0)
                .partitions.at(0)
                .error_code,
            0);

  const std::string page = scrape(port);
  std::set<std::string> served;
  static const std::regex kType(R"(# TYPE (\S+) )");
  for (auto it = std::sregex_iterator(page.begin(), page.end(), kType);
       it != std::sregex_iterator(); ++it)
    served.insert((*it)[1]);
  ASSERT_GT(served.size(), 30u) << page.substr(0, 2000);
  for (const std::string& name : served)
    EXPECT_TRUE(listed.contains(name)) << name << " is served but not in the README's table";
  for (const std::string& name : listed)
    EXPECT_TRUE(served.contains(name)) << name << " is in the README's table but not served";
  broker.stop();
}

TEST(Metrics, PartitionsNotOpenedSinceARestartHaveTheirLogGauges) {
  auto dir = make_temp_dir("kb-metrics-restart-");
  const std::filesystem::path log_dir = dir / "data";
  const std::map<std::string, std::string> config{
      {"kb.metrics.listener", "http://127.0.0.1:0/metrics"}};
  std::map<std::string, double> before;
  {
    BrokerProcess broker(config, log_dir);
    RawClient client(broker.port(), std::chrono::seconds(30));
    ASSERT_NO_FATAL_FAILURE(create_topic(client, "kept", 3));
    produce_records(client, "kept", 0, 5);
    produce_records(client, "kept", 0, 2);
    produce_records(client, "kept", 1, 3);
    const std::string page = scrape(metrics_port_of(broker));
    for (int p = 0; p < 2; ++p)
      for (const char* gauge : {"kafka_log_log_size", "kafka_log_log_logstartoffset",
                                "kafka_log_log_logendoffset", "kafka_log_log_numlogsegments"}) {
        const std::string series =
            std::string(gauge) + "{topic=\"kept\",partition=\"" + std::to_string(p) + "\"}";
        auto value = sample_of(page, series);
        ASSERT_TRUE(value) << series << "\n" << page;
        before[series] = *value;
      }
    EXPECT_EQ(before["kafka_log_log_logendoffset{topic=\"kept\",partition=\"0\"}"], 7.0);
    EXPECT_GT(before["kafka_log_log_size{topic=\"kept\",partition=\"0\"}"], 700.0);
    broker.stop();
  }
  // After a clean shutdown, then after a SIGKILL: no client touches the
  // partitions, yet the gauges are what they were.
  for (const bool crash : {false, true}) {
    BrokerProcess broker(config, log_dir);
    const uint16_t port = metrics_port_of(broker);
    ASSERT_NE(port, 0) << broker.log();
    ASSERT_FALSE(
        broker.wait_for_log(std::regex("read the partition logs not opened yet: (\\d+) partitions"))
            .empty())
        << broker.log();
    const std::string page = scrape(port);
    for (const auto& [series, value] : before)
      EXPECT_EQ(sample_of(page, series), value) << series << (crash ? " after a SIGKILL" : "");
    // The third partition holds an empty segment.
    EXPECT_EQ(sample_of(page, "kafka_log_log_logendoffset{topic=\"kept\",partition=\"2\"}"), 0.0);
    if (!crash) {
      broker.kill_hard();
    } else {
      // The next start recovers them: a scan after an unclean shutdown read
      // the segments recovery reads.
      EXPECT_NE(broker.log().find("no clean shutdown marker"), std::string::npos);
      broker.stop();
    }
  }
  std::filesystem::remove_all(dir);
}

// After a SIGKILL, logs are recovered as they are first opened: a fetch of
// many partitions at once says so on stderr.
TEST(Metrics, RecoveringManyLogsOnFirstOpenIsLogged) {
  constexpr int32_t kPartitions = 150;
  auto dir = make_temp_dir("kb-recovery-lines-");
  const std::filesystem::path log_dir = dir / "data";
  {
    BrokerProcess broker({}, log_dir);
    RawClient client(broker.port(), std::chrono::seconds(60));
    ASSERT_NO_FATAL_FAILURE(create_topic(client, "many", kPartitions, 60000));
    for (int32_t p = 0; p < kPartitions; ++p) produce_records(client, "many", p, 2);
    broker.kill_hard();
  }
  BrokerProcess broker({}, log_dir);
  RawClient client(broker.port(), std::chrono::seconds(60));
  // Opening each partition (a produce) recovers its log.
  for (int32_t p = 0; p < kPartitions; ++p) produce_records(client, "many", p, 1);
  const auto line = broker.wait_for_log(std::regex(
      R"(recovering partition logs as they are first opened \(no clean shutdown\): (\d+) recovered, ([0-9.]+) MiB)"));
  ASSERT_EQ(line.size(), 3u) << broker.log();
  EXPECT_EQ(line[1], "100");
  EXPECT_GT(std::stod(line[2]), 0.0);
  broker.stop();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kb::testing
