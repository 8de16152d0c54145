#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <string_view>

#include "kb/base/byte_buffer.hpp"

namespace kb::metrics {

// A count that only grows. Any thread may add (relaxed: a scrape only needs
// each count to be some recent value).
class Counter {
 public:
  void add(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// Durations in milliseconds, as Kafka's timers report them: a count and sum
// since start, and quantiles over the last one to two windows (Kafka's
// histograms decay too: a quantile describes recent requests, not all of
// them). Buckets grow by 2^(1/4) from 1 microsecond, so a quantile is within
// about 19% of the true value. Any thread may record; the window turns over
// when a scrape finds it old (render()'s caller, one thread).
class Histogram {
 public:
  static constexpr size_t kBuckets = 112;  // 1 us .. about 2.3 hours
  static constexpr std::chrono::seconds kWindow{60};

  void record(std::chrono::nanoseconds elapsed);
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  double sum_ms() const {
    return static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e6;
  }
  // The value below which a fraction q of the recent samples fall (0 with
  // none), in milliseconds.
  double quantile(double q) const;
  // Starts a new window when the current one is older than kWindow: the
  // previous window is dropped and the current one becomes the previous.
  void turn_window(std::chrono::steady_clock::time_point now);

  static size_t bucket_of(std::chrono::nanoseconds elapsed);
  static double bucket_upper_ms(size_t bucket);

 private:
  using Buckets = std::array<std::atomic<uint64_t>, kBuckets>;
  std::array<Buckets, 2> windows_{};
  std::atomic<uint32_t> current_{0};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_ns_{0};
  std::chrono::steady_clock::time_point window_start_{};
};

// A label of a sample: its value either text (escaped as Prometheus wants) or
// an integer (a partition).
struct Label {
  Label(std::string_view label_name, std::string_view text) : name(label_name), value(text) {}
  Label(std::string_view label_name, int64_t n) : name(label_name), number(n), is_number(true) {}
  std::string_view name;
  std::string_view value;
  int64_t number = 0;
  bool is_number = false;
};

// Writes Prometheus's text exposition format (version 0.0.4) into a buffer the
// caller reuses, so a scrape allocates nothing once the buffer is big enough.
class TextWriter {
 public:
  explicit TextWriter(ByteBuffer& out) : out_(out) {}

  // "# HELP" and "# TYPE" lines; every sample of the family follows.
  void family(std::string_view name, std::string_view type, std::string_view help);
  void sample(std::string_view name, std::initializer_list<Label> labels, double value);
  void sample(std::string_view name, std::initializer_list<Label> labels, uint64_t value);
  void sample(std::string_view name, std::initializer_list<Label> labels, int64_t value);
  // A histogram as the JMX exporter renders Kafka's: `name{quantile="0.50"}`
  // and so on for Kafka's percentiles, then name_count (and name_sum, which
  // the exporter cannot give, Prometheus's summary has).
  void summary(std::string_view name, std::initializer_list<Label> labels, const Histogram& h);

  void text(std::string_view s);

 private:
  void head(std::string_view name, std::initializer_list<Label> labels,
            const Label* extra = nullptr);
  void escaped(std::string_view s);
  void number(double v);
  void integer(int64_t v);
  void unsigned_integer(uint64_t v);

  ByteBuffer& out_;
};

// Kafka's name of an error code (as its Errors enum spells it, the `error`
// label of kafka_network_requestmetrics_errors_total); "UNKNOWN" past the
// codes known here.
std::string_view error_name(int16_t code);

}  // namespace kb::metrics
