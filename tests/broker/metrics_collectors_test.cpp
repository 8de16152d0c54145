// The log cleaner's gauges, as the JMX exporter names Kafka's: read from the
// broker's cleaning task after it really cleaned a log. The partitions' log
// gauges rendered in steps: the same page as in one go, and a topic deleted
// between two steps leaves a well-formed page.

#include "kb/broker/metrics_collectors.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <regex>
#include <stdexcept>
#include <string>

#include "kb/broker/log_cleaning.hpp"
#include "kb/cluster/startup.hpp"
#include "kb/cluster/topic_admin.hpp"
#include "kb/metrics/metrics.hpp"
#include "kb/net/event_loop.hpp"
#include "kb/storage/record_batch.hpp"

namespace kb::broker {
namespace {

namespace fs = std::filesystem;

std::vector<uint8_t> keyed_batch(std::string_view key, std::string_view value) {
  storage::RecordBatchBuilder builder;
  builder.add_record(storage::Bytes(reinterpret_cast<const uint8_t*>(key.data()), key.size()),
                     storage::Bytes(reinterpret_cast<const uint8_t*>(value.data()), value.size()),
                     1700000000000);
  return builder.build();
}

// The value of the sample `series` (with its labels, if any) on the page.
std::optional<double> sample(const std::string& page, const std::string& series) {
  const std::regex line("(^|\n)" + std::regex_replace(series, std::regex(R"([{}"\\.])"), R"(\$&)") +
                        " ([-0-9.e+]+)\n");
  std::smatch m;
  if (!std::regex_search(page, m, line)) return std::nullopt;
  return std::stod(m[2]);
}

TEST(CleanerMetrics, TheGaugesFollowACleanAndTheWalkBeforeIt) {
  std::string pattern = (fs::temp_directory_path() / "kb-cleaner-metrics-XXXXXX").string();
  ASSERT_NE(mkdtemp(pattern.data()), nullptr);
  const fs::path dir = pattern;
  net::EventLoop loop;
  {
    cluster::BrokerState state;
    cluster::LogDirOptions options;
    options.log_dir = dir;
    ASSERT_TRUE(cluster::load_log_dir(options, state).ok());
    // Six segments of one batch each, the same key: a clean keeps one record.
    const auto batch = keyed_batch("k", std::string(1000, 'v'));
    cluster::NewTopic table;
    table.name = "table";
    table.partitions = 1;
    table.configs = {{"cleanup.policy", "compact"},
                     {"segment.bytes", std::to_string(batch.size())},
                     {"min.cleanable.dirty.ratio", "0.01"}};
    for (const auto& result : cluster::create_topics(state, {table}, false, false))
      ASSERT_EQ(result.error, cluster::AdminError::kNone) << result.message;
    auto log = state.logs->find("table", 0);
    ASSERT_TRUE(log.ok() && *log != nullptr);
    for (int i = 0; i < 6; ++i) ASSERT_TRUE((*log)->append(batch).ok());

    LogCleaningOptions cleaning_options;
    cleaning_options.backoff_ms = 60'000;  // one walk and one clean, then quiet
    LogCleaning cleaning(loop, state, cleaning_options);
    metrics::BrokerMetrics metrics;
    add_broker_collectors(metrics, state, nullptr, nullptr, &cleaning);
    ByteBuffer page_bytes;
    auto render = [&] {
      metrics.render(page_bytes, std::chrono::steady_clock::now());
      return std::string(reinterpret_cast<const char*>(page_bytes.data()), page_bytes.size());
    };
    // Before the cleaner ran: nothing cleaned, nothing dirty measured.
    std::string page = render();
    EXPECT_EQ(sample(page, "kafka_log_logcleaner_cleaner_recopy_percent"), 0.0) << page;
    EXPECT_EQ(sample(page, "kafka_log_logcleanermanager_max_dirty_percent"), 0.0);
    EXPECT_EQ(sample(page,
                     "kafka_log_logcleanermanager_uncleanable_partitions_count{"
                     "logDirectory=\"" +
                         dir.string() + "\"}"),
              0.0)
        << page;

    loop.add_before_sleep([&] {
      if (cleaning.cleans_completed() >= 1) loop.stop();
    });
    auto guard = loop.run_after(std::chrono::seconds(20), [&] { loop.stop(); });
    loop.run();
    loop.cancel(guard);
    ASSERT_EQ(cleaning.cleans_completed(), 1u) << "timed out";

    page = render();
    // Five segments of the same key read, one record written: a small share
    // recopied; the map held one key.
    const auto recopy = sample(page, "kafka_log_logcleaner_cleaner_recopy_percent");
    ASSERT_TRUE(recopy) << page;
    EXPECT_GT(*recopy, 0.0);
    EXPECT_LT(*recopy, 50.0);
    // The walk found the log dirty (five of six segments cleanable).
    EXPECT_GE(sample(page, "kafka_log_logcleanermanager_max_dirty_percent").value_or(-1), 50.0);
    EXPECT_EQ(sample(page, "kafka_log_logcleaner_max_buffer_utilization_percent"), 0.0)
        << "one key in a 128 MiB map is under 1%";
    EXPECT_EQ(sample(page, "kafka_log_logcleaner_max_clean_time_secs"), 0.0);
    const auto since = sample(page, "kafka_log_logcleanermanager_time_since_last_run_ms");
    ASSERT_TRUE(since);
    EXPECT_GE(*since, 0.0);
    EXPECT_LT(*since, 20'000.0);
    state.logs.reset();
    state.metadata_log.reset();
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
}

std::string text_of(const ByteBuffer& b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// The page without the series that move by themselves (the process's).
std::string steady_part(const std::string& page) {
  std::string out;
  size_t at = 0;
  while (at < page.size()) {
    size_t end = page.find('\n', at);
    if (end == std::string::npos) end = page.size();
    const std::string_view line(page.data() + at, end - at);
    if (line.find("process_") == std::string_view::npos) out.append(line).push_back('\n');
    at = end + 1;
  }
  return out;
}

struct LogDirState {
  fs::path dir;
  cluster::BrokerState state;
  explicit LogDirState(const std::string& prefix) {
    std::string pattern = (fs::temp_directory_path() / (prefix + "XXXXXX")).string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp");
    dir = pattern;
    cluster::LogDirOptions options;
    options.log_dir = dir;
    if (!cluster::load_log_dir(options, state).ok()) throw std::runtime_error("load_log_dir");
  }
  ~LogDirState() {
    state.logs.reset();
    state.metadata_log.reset();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  LogDirState(const LogDirState&) = delete;
  LogDirState& operator=(const LogDirState&) = delete;
};

// Three topics of five partitions, a batch in every other partition (so
// their logs are open).
void make_topics(cluster::BrokerState& state) {
  std::vector<cluster::NewTopic> topics;
  for (const char* name : {"alpha", "beta", "gamma"}) {
    cluster::NewTopic& t = topics.emplace_back();
    t.name = name;
    t.partitions = 5;
  }
  for (const auto& result : cluster::create_topics(state, topics, false, false))
    ASSERT_EQ(result.error, cluster::AdminError::kNone) << result.message;
  const auto batch = keyed_batch("k", "v");
  for (const char* name : {"alpha", "beta", "gamma"})
    for (int32_t p = 0; p < 5; p += 2) {
      auto log = state.logs->find(name, p);
      ASSERT_TRUE(log.ok() && *log != nullptr);
      ASSERT_TRUE((*log)->append(batch).ok());
    }
}

TEST(LogMetrics, AScrapeInStepsIsThePageInOneGo) {
  LogDirState s("kb-log-metrics-");
  make_topics(s.state);
  metrics::BrokerMetrics metrics;
  add_broker_collectors(metrics, s.state, nullptr, nullptr);
  const auto now = std::chrono::steady_clock::now();
  ByteBuffer whole;
  metrics.render(whole, now);
  const std::string page = text_of(whole);
  EXPECT_EQ(sample(page, "kafka_log_log_logendoffset{topic=\"beta\",partition=\"2\"}"), 1.0)
      << page;

  // A budget of nothing: every step ends after its first series.
  metrics::Scrape scrape;
  metrics.start(scrape, now);
  ByteBuffer stepped;
  size_t steps = 0;
  for (bool done = false; !done && steps < 10000; ++steps) {
    metrics::StepBudget budget(std::chrono::nanoseconds(0), 1, stepped);
    done = metrics.step(scrape, stepped, budget);
  }
  EXPECT_FALSE(scrape.active());
  EXPECT_EQ(steady_part(text_of(stepped)), steady_part(page));
  // Four gauges of nine open logs, a step each at least.
  EXPECT_GE(steps, 36u);
}

TEST(LogMetrics, ATopicDeletedBetweenTwoStepsLeavesAWellFormedPage) {
  LogDirState s("kb-log-metrics-");
  make_topics(s.state);
  metrics::BrokerMetrics metrics;
  add_broker_collectors(metrics, s.state, nullptr, nullptr);
  metrics::Scrape scrape;
  metrics.start(scrape, std::chrono::steady_clock::now());
  ByteBuffer out;
  // Into the first gauge's series: past alpha's, at beta's.
  bool done = false;
  for (int i = 0;
       i < 200 && text_of(out).find("kafka_log_log_size{topic=\"beta\"") == std::string::npos;
       ++i) {
    metrics::StepBudget budget(std::chrono::nanoseconds(0), 1, out);
    done = metrics.step(scrape, out, budget);
  }
  ASSERT_FALSE(done);
  const cluster::TopicInfo* beta = s.state.topics.find("beta");
  ASSERT_NE(beta, nullptr);
  for (const auto& r : cluster::delete_topics(s.state, {beta->id}))
    ASSERT_EQ(r.error, cluster::AdminError::kNone);
  for (int i = 0; i < 10000 && !done; ++i) {
    metrics::StepBudget budget(std::chrono::nanoseconds(0), 1, out);
    done = metrics.step(scrape, out, budget);
  }
  ASSERT_TRUE(done);
  const std::string page = text_of(out);
  // Each family once, gamma's series in every gauge, beta's only in the
  // gauge begun before the deletion.
  for (const char* gauge : {"kafka_log_log_size", "kafka_log_log_logstartoffset",
                            "kafka_log_log_logendoffset", "kafka_log_log_numlogsegments"}) {
    const std::string type = std::string("# TYPE ") + gauge + " gauge\n";
    const size_t first = page.find(type);
    ASSERT_NE(first, std::string::npos) << gauge;
    EXPECT_EQ(page.find(type, first + 1), std::string::npos) << gauge;
    EXPECT_TRUE(sample(page, std::string(gauge) + "{topic=\"gamma\",partition=\"4\"}")) << gauge;
  }
  EXPECT_TRUE(sample(page, "kafka_log_log_size{topic=\"beta\",partition=\"0\"}"));
  EXPECT_FALSE(sample(page, "kafka_log_log_logendoffset{topic=\"beta\",partition=\"0\"}"));
}

}  // namespace
}  // namespace kb::broker
