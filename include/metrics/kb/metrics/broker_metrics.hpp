#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "kb/base/byte_buffer.hpp"
#include "kb/metrics/metrics.hpp"

namespace kb::metrics {

// What kafka.server:type=BrokerTopicMetrics counts, for one topic or for all.
struct TopicCounters {
  Counter messages_in;
  Counter bytes_in;
  Counter bytes_out;
  Counter failed_produce;
  Counter failed_fetch;
  Counter total_produce;
  Counter total_fetch;
};

// What kafka.network:type=RequestMetrics keeps for one API.
struct RequestCounters {
  static constexpr size_t kMaxVersion = 31;
  std::string_view name;  // Kafka's name of the API ("Produce")
  std::array<Counter, kMaxVersion + 1> by_version{};
  std::map<int16_t, Counter> errors;  // by error code; a node only when a code first shows
  Histogram total_time;
  Histogram request_queue_time;  // arrival until the handler started on it
  Histogram local_time;          // handling it
  Histogram remote_time;         // waiting (long poll, a flush, a directory) before answering
  Histogram response_send_time;  // the response queued until its last byte was written
};

// What kafka.server:type=socket-server-metrics keeps for one listener.
struct ListenerCounters {
  std::string name;
  uint64_t connections = 0;  // open now (the loop's thread only)
  Counter created;
};

// Tallies the error codes of one response: each partition's (or the
// response's) code counts once, as Kafka's errorCounts() does.
class ErrorTally {
 public:
  void add(int16_t code, uint32_t n = 1);
  bool empty() const { return used_ == 0; }
  template <class F>
  void for_each(F&& f) const {
    for (size_t i = 0; i < used_; ++i) f(codes_[i], counts_[i]);
  }
  void clear() { used_ = 0; }

 private:
  static constexpr size_t kSlots = 16;  // codes beyond these count as the last one seen
  std::array<int16_t, kSlots> codes_{};
  std::array<uint32_t, kSlots> counts_{};
  size_t used_ = 0;
};

// How much one step of a scrape may do: a time and a number of bytes, after
// which a stepped collector stops at the next series and goes on in the next
// step. The default budget never runs out (a page in one go).
class StepBudget {
 public:
  using Clock = std::chrono::steady_clock;
  StepBudget() = default;
  StepBudget(Clock::duration time, size_t bytes, const ByteBuffer& out)
      : out_(&out), start_size_(out.size()), bytes_(bytes), deadline_(Clock::now() + time) {}
  // True once either is used up (and from then on). The clock is read every
  // few calls: a series takes well under a microsecond.
  bool spent();

 private:
  static constexpr uint32_t kCallsPerClockRead = 16;
  const ByteBuffer* out_ = nullptr;
  size_t start_size_ = 0;
  size_t bytes_ = 0;
  Clock::time_point deadline_{};
  uint32_t calls_ = 0;
  bool spent_ = false;
};

// Where a stepped collector is in its series between two steps of a scrape:
// the family it writes and the key of the last series it wrote. Kept by the
// scrape, reused by the next one (the strings keep their room).
struct CollectorPlace {
  size_t family = 0;
  bool family_begun = false;                  // its # HELP and # TYPE lines are out
  bool has_key = false;                       // a series of the family is out: go on after the key
  std::string name;                           // a key's name (e.g. a group), when it has one
  std::pair<std::string, int32_t> partition;  // a key's topic partition
  // The next family, from its first series.
  void next_family() {
    ++family;
    family_begun = false;
    has_key = false;
  }
  void reset() {
    family = 0;
    family_begun = false;
    has_key = false;
  }
};

// One scrape's place in the page between its steps (see BrokerMetrics::step).
class Scrape {
 public:
  bool active() const { return active_; }

 private:
  friend class BrokerMetrics;
  bool active_ = false;
  // 0: the topic counters (in steps); 1: the broker's other own series; then
  // the collectors in order.
  size_t part_ = 0;
  std::chrono::steady_clock::time_point now_{};
  CollectorPlace place_;
};

// The broker's metrics, named as the Prometheus JMX exporter's Kafka rules
// (example_configs/kafka-2_0_0.yml) name Kafka's MBeans. Counters are updated
// where things happen; gauges that describe state (log sizes, groups) come
// from collectors run at scrape time. The loop's thread owns the maps; helper
// threads only add to counters and histograms they were handed.
class BrokerMetrics {
 public:
  using Collector = std::function<void(TextWriter&)>;
  // A collector of many series (one per partition): writes from `place` on
  // until `budget` is spent; true once it wrote its last series.
  using SteppedCollector = std::function<bool(TextWriter&, CollectorPlace&, StepBudget&)>;

  BrokerMetrics();

  TopicCounters& all_topics() { return all_topics_; }
  // The counters of one topic (made on first use; forget_topic drops them).
  TopicCounters& topic(std::string_view name);
  void forget_topic(std::string_view name);
  // The counters of one API (made on first use).
  RequestCounters& request(int16_t api_key, std::string_view name);
  ListenerCounters& listener(std::string_view name);

  Histogram& log_flush() { return log_flush_; }

  // Which topics still exist: at each scrape the counters of the others are
  // dropped (Kafka removes a deleted topic's metrics).
  void set_topic_exists(std::function<bool(std::string_view)> exists) {
    topic_exists_ = std::move(exists);
  }
  size_t topic_count() const { return topics_.size(); }

  // Runs at every scrape, after the broker's own series.
  void add_collector(Collector collector) { collectors_.push_back({std::move(collector), {}}); }
  void add_stepped_collector(SteppedCollector collector) {
    collectors_.push_back({{}, std::move(collector)});
  }

  // The whole exposition into `out` (cleared first).
  void render(ByteBuffer& out, std::chrono::steady_clock::time_point now);

  // The exposition in steps, so that a page of many partitions never holds
  // the loop for long: start() a scrape, then step() appends the next piece
  // to `out` within `budget`, until it returns true (the page is whole).
  // Each step writes whole series, and the series of a family stay together.
  void start(Scrape& scrape, std::chrono::steady_clock::time_point now);
  bool step(Scrape& scrape, ByteBuffer& out, StepBudget& budget);

 private:
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  // The series kept here (not collectors'): topics (in steps, resumed after
  // the last topic written), then requests, listeners, flushes.
  bool render_topics(TextWriter& w, CollectorPlace& place, StepBudget& budget);
  void render_own(TextWriter& w, std::chrono::steady_clock::time_point now);
  void render_requests(TextWriter& w, std::chrono::steady_clock::time_point now);

  TopicCounters all_topics_;
  // Each topic's counters, found by name (produce and fetch); the same in
  // name order in topics_in_order_.
  std::unordered_map<std::string, std::unique_ptr<TopicCounters>, StringHash, std::equal_to<>>
      topics_;
  std::array<std::unique_ptr<RequestCounters>, 128> requests_{};
  std::vector<std::unique_ptr<ListenerCounters>> listeners_;
  Histogram log_flush_;
  struct CollectorEntry {
    Collector whole;
    SteppedCollector stepped;
  };
  std::vector<CollectorEntry> collectors_;
  std::function<bool(std::string_view)> topic_exists_;
  // topics_ in name order: a scrape in steps resumes after the last name it
  // wrote. The keys are topics_'s own strings (its nodes do not move).
  std::map<std::string_view, TopicCounters*> topics_in_order_;
};

}  // namespace kb::metrics
