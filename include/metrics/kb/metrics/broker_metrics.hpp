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

// The broker's metrics, named as the Prometheus JMX exporter's Kafka rules
// (example_configs/kafka-2_0_0.yml) name Kafka's MBeans. Counters are updated
// where things happen; gauges that describe state (log sizes, groups) come
// from collectors run at scrape time. The loop's thread owns the maps; helper
// threads only add to counters and histograms they were handed.
class BrokerMetrics {
 public:
  using Collector = std::function<void(TextWriter&)>;

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
  void add_collector(Collector collector) { collectors_.push_back(std::move(collector)); }

  // The whole exposition into `out` (cleared first).
  void render(ByteBuffer& out, std::chrono::steady_clock::time_point now);

 private:
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  void render_topics(TextWriter& w);
  void render_requests(TextWriter& w, std::chrono::steady_clock::time_point now);

  TopicCounters all_topics_;
  std::unordered_map<std::string, std::unique_ptr<TopicCounters>, StringHash, std::equal_to<>>
      topics_;
  std::array<std::unique_ptr<RequestCounters>, 128> requests_{};
  std::vector<std::unique_ptr<ListenerCounters>> listeners_;
  Histogram log_flush_;
  std::vector<Collector> collectors_;
  std::function<bool(std::string_view)> topic_exists_;
};

}  // namespace kb::metrics
