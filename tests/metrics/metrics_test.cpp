// Tests for kb::metrics: the histogram's buckets and quantiles, the text
// format (escaping, summaries), Kafka's error names, the error tally and
// the broker's page.
#include "kb/metrics/metrics.hpp"

#include <gtest/gtest.h>

#include <string>

#include "kb/metrics/broker_metrics.hpp"

namespace kb::metrics {
namespace {

using namespace std::chrono_literals;

std::string text_of(const ByteBuffer& b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

TEST(Histogram, QuantilesAreWithinABucketOfTheTruth) {
  Histogram h;
  EXPECT_EQ(h.quantile(0.5), 0.0);
  for (int ms = 1; ms <= 100; ++ms) h.record(std::chrono::milliseconds(ms));
  EXPECT_EQ(h.count(), 100u);
  EXPECT_DOUBLE_EQ(h.sum_ms(), 5050.0);
  for (double q : {0.5, 0.75, 0.95, 0.99}) {
    const double truth = q * 100;
    EXPECT_GE(h.quantile(q), truth) << q;
    EXPECT_LE(h.quantile(q), truth * 1.19 + 1) << q;
  }
  EXPECT_EQ(Histogram::bucket_of(0ns), 0u);
  EXPECT_EQ(Histogram::bucket_of(-5ns), 0u);
  EXPECT_EQ(Histogram::bucket_of(std::chrono::hours(100)), Histogram::kBuckets - 1);
  // Each value is at most its bucket's bound, and above the one before.
  for (std::chrono::nanoseconds d :
       {std::chrono::nanoseconds(1500ns), std::chrono::nanoseconds(7us),
        std::chrono::nanoseconds(1ms), std::chrono::nanoseconds(333ms),
        std::chrono::nanoseconds(12s)}) {
    const size_t b = Histogram::bucket_of(d);
    const double ms = std::chrono::duration<double, std::milli>(d).count();
    EXPECT_LE(ms, Histogram::bucket_upper_ms(b) * (1 + 1e-12));
    EXPECT_GT(ms, Histogram::bucket_upper_ms(b - 1));
  }
}

TEST(Histogram, OldWindowsAreForgottenButCountsStay) {
  Histogram h;
  const auto t0 = std::chrono::steady_clock::now();
  h.turn_window(t0);
  for (int i = 0; i < 10; ++i) h.record(100ms);
  h.turn_window(t0 + Histogram::kWindow);  // the samples are in the previous window now
  EXPECT_GT(h.quantile(0.5), 90.0);
  h.record(1ms);
  h.turn_window(t0 + 2 * Histogram::kWindow);  // the 100 ms window is dropped
  EXPECT_LT(h.quantile(0.99), 1.5);
  EXPECT_EQ(h.count(), 11u);
}

TEST(TextWriter, EscapesLabelValuesAndWritesSummaries) {
  ByteBuffer out;
  TextWriter w(out);
  w.family("x_total", "counter", "Things");
  w.sample("x_total", {}, uint64_t{3});
  w.sample("x_total", {{"topic", "a\"b\\c\nd"}, {"partition", int64_t{7}}}, uint64_t{4});
  Histogram h;
  h.record(2ms);
  w.summary("t_ms", {{"request", "Produce"}}, h);
  const std::string text = text_of(out);
  EXPECT_NE(text.find("# HELP x_total Things\n# TYPE x_total counter\nx_total 3\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("x_total{topic=\"a\\\"b\\\\c\\nd\",partition=\"7\"} 4\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("t_ms{request=\"Produce\",quantile=\"0.50\"} 2.048\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("t_ms{request=\"Produce\",quantile=\"0.999\"} 2.048\n"), std::string::npos);
  EXPECT_NE(text.find("t_ms_count{request=\"Produce\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("t_ms_sum{request=\"Produce\"} 2\n"), std::string::npos);
}

TEST(ErrorNames, AreKafkas) {
  EXPECT_EQ(error_name(-1), "UNKNOWN_SERVER_ERROR");
  EXPECT_EQ(error_name(0), "NONE");
  EXPECT_EQ(error_name(3), "UNKNOWN_TOPIC_OR_PARTITION");
  EXPECT_EQ(error_name(32), "INVALID_TIMESTAMP");
  EXPECT_EQ(error_name(100), "UNKNOWN_TOPIC_ID");
  EXPECT_EQ(error_name(99), "UNKNOWN");  // no such code
  EXPECT_EQ(error_name(-2), "UNKNOWN");
  EXPECT_EQ(error_name(30000), "UNKNOWN");
}

TEST(ErrorTally, CountsEachCodeAndKeepsToItsSlots) {
  ErrorTally t;
  EXPECT_TRUE(t.empty());
  t.add(0);
  t.add(3, 2);
  t.add(0);
  for (int16_t c = 100; c < 130; ++c) t.add(c);
  uint32_t total = 0, none = 0, unknown = 0;
  size_t codes = 0;
  t.for_each([&](int16_t code, uint32_t n) {
    ++codes;
    total += n;
    if (code == 0) none = n;
    if (code == 3) unknown = n;
  });
  EXPECT_EQ(none, 2u);
  EXPECT_EQ(unknown, 2u);
  EXPECT_EQ(total, 34u);  // nothing lost past the last slot
  EXPECT_EQ(codes, 16u);
}

TEST(BrokerMetrics, RendersTopicsRequestsListenersAndCollectors) {
  BrokerMetrics m;
  m.topic("orders").messages_in.add(5);
  m.all_topics().messages_in.add(5);
  RequestCounters& produce = m.request(0, "Produce");
  produce.by_version[9].add();
  produce.errors[0].add(2);
  produce.errors[32].add();
  produce.total_time.record(3ms);
  produce.response_send_time.record(1ms);
  m.listener("PLAINTEXT").connections = 2;
  m.listener("PLAINTEXT").created.add(3);
  m.add_collector([](TextWriter& w) { w.sample("extra", {}, int64_t{-1}); });
  ByteBuffer out;
  m.render(out, std::chrono::steady_clock::now());
  const std::string text = text_of(out);
  for (const char* line : {
           "kafka_server_brokertopicmetrics_messagesin_total 5\n",
           "kafka_server_brokertopicmetrics_messagesin_total{topic=\"orders\"} 5\n",
           "kafka_network_requestmetrics_requests_total{request=\"Produce\",version=\"9\"} 1\n",
           "kafka_network_requestmetrics_errors_total{request=\"Produce\",error=\"NONE\"} 2\n",
           "kafka_network_requestmetrics_errors_total{request=\"Produce\",error=\"INVALID_"
           "TIMESTAMP\"} 1\n",
           "kafka_network_requestmetrics_totaltimems_count{request=\"Produce\"} 1\n",
           "kafka_network_requestmetrics_responsesendtimems_count{request=\"Produce\"} 1\n",
           "kafka_server_socket_server_metrics_connection_count{listener=\"PLAINTEXT\","
           "networkProcessor=\"0\"} 2\n",
           "kafka_server_socket_server_metrics_connection_creation_total{listener=\"PLAINTEXT\","
           "networkProcessor=\"0\"} 3\n",
           "kafka_log_logflushstats_logflushrateandtimems_count 0\n",
           "extra -1\n",
       })
    EXPECT_NE(text.find(line), std::string::npos) << line;
  m.topic("gone").messages_in.add();
  m.set_topic_exists([](std::string_view t) { return t != "gone"; });
  m.render(out, std::chrono::steady_clock::now());
  EXPECT_EQ(text_of(out).find("topic=\"gone\""), std::string::npos);
  EXPECT_EQ(m.topic_count(), 1u);
  m.forget_topic("orders");
  m.render(out, std::chrono::steady_clock::now());
  EXPECT_EQ(text_of(out).find("topic=\"orders\""), std::string::npos);
  // A second render reuses the buffer: no growth for the same page.
  const size_t capacity = out.capacity();
  m.render(out, std::chrono::steady_clock::now());
  EXPECT_EQ(out.capacity(), capacity);
}

// Thousands of topics' counters come out in steps too, resumed after the
// last topic written: the stepped page is the page in one go, and a topic
// forgotten between two steps leaves a well-formed page.
TEST(BrokerMetrics, TopicCountersRenderInStepsResumedAfterTheLastTopic) {
  BrokerMetrics m;
  constexpr int kTopics = 50;
  for (int t = 0; t < kTopics; ++t) {
    TopicCounters& c = m.topic("topic-" + std::to_string(t));
    c.messages_in.add(static_cast<uint64_t>(t) + 1);
    c.bytes_out.add(static_cast<uint64_t>(t) * 10);
  }
  const auto now = std::chrono::steady_clock::now();
  ByteBuffer whole;
  m.render(whole, now);
  const std::string page = text_of(whole);

  // A budget of nothing: every step ends after its first series.
  Scrape scrape;
  m.start(scrape, now);
  ByteBuffer stepped;
  size_t steps = 0;
  for (bool done = false; !done && steps < 10000; ++steps) {
    StepBudget budget(std::chrono::nanoseconds(0), 1, stepped);
    done = m.step(scrape, stepped, budget);
  }
  EXPECT_FALSE(scrape.active());
  EXPECT_EQ(text_of(stepped), page);
  // Seven counters of fifty topics, a step each at least.
  EXPECT_GE(steps, 7u * kTopics);
  EXPECT_NE(page.find("kafka_server_brokertopicmetrics_messagesin_total{topic=\"topic-7\"} 8\n"),
            std::string::npos);

  // Forgotten part way through the first counter's topics.
  m.start(scrape, now);
  ByteBuffer out;
  bool done = false;
  for (int i = 0; i < 1000 && text_of(out).find("topic=\"topic-3\"") == std::string::npos; ++i) {
    StepBudget budget(std::chrono::nanoseconds(0), 1, out);
    done = m.step(scrape, out, budget);
  }
  ASSERT_FALSE(done);
  m.forget_topic("topic-30");
  m.forget_topic("topic-2");  // already written in this family
  for (int i = 0; i < 10000 && !done; ++i) {
    StepBudget budget(std::chrono::nanoseconds(0), 1, out);
    done = m.step(scrape, out, budget);
  }
  ASSERT_TRUE(done);
  const std::string after = text_of(out);
  const std::string type = "# TYPE kafka_server_brokertopicmetrics_bytesout_total counter\n";
  const size_t first = after.find(type);
  ASSERT_NE(first, std::string::npos);
  EXPECT_EQ(after.find(type, first + 1), std::string::npos);
  EXPECT_EQ(after.find("topic=\"topic-30\""), std::string::npos) << after;
  EXPECT_NE(after.find("kafka_server_brokertopicmetrics_messagesin_total{topic=\"topic-2\"} 3\n"),
            std::string::npos);
  EXPECT_EQ(after.find("kafka_server_brokertopicmetrics_bytesout_total{topic=\"topic-2\"}"),
            std::string::npos);
  EXPECT_NE(
      after.find("kafka_server_brokertopicmetrics_totalfetchrequests_total{topic=\"topic-49\"}"),
      std::string::npos);
  EXPECT_EQ(m.topic_count(), static_cast<size_t>(kTopics - 2));
}

}  // namespace
}  // namespace kb::metrics
