#include "kb/metrics/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace kb::metrics {

namespace {

constexpr double kBucketsPerDoubling = 4.0;

}  // namespace

size_t Histogram::bucket_of(std::chrono::nanoseconds elapsed) {
  const int64_t ns = elapsed.count();
  if (ns <= 1000) return 0;
  // Bucket i holds (2^((i-1)/4), 2^(i/4)] microseconds.
  const double us = static_cast<double>(ns) / 1000.0;
  const auto i = static_cast<size_t>(std::ceil(std::log2(us) * kBucketsPerDoubling));
  return i < kBuckets ? i : kBuckets - 1;
}

double Histogram::bucket_upper_ms(size_t bucket) {
  return std::exp2(static_cast<double>(bucket) / kBucketsPerDoubling) / 1000.0;
}

void Histogram::record(std::chrono::nanoseconds elapsed) {
  if (elapsed.count() < 0) elapsed = std::chrono::nanoseconds(0);
  const uint32_t w = current_.load(std::memory_order_relaxed);
  windows_[w][bucket_of(elapsed)].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<uint64_t>(elapsed.count()), std::memory_order_relaxed);
}

double Histogram::quantile(double q) const {
  uint64_t total = 0;
  std::array<uint64_t, kBuckets> merged{};
  for (size_t i = 0; i < kBuckets; ++i) {
    merged[i] = windows_[0][i].load(std::memory_order_relaxed) +
                windows_[1][i].load(std::memory_order_relaxed);
    total += merged[i];
  }
  if (total == 0) return 0;
  // The smallest bucket holding the sample of rank ceil(q * total).
  const auto rank =
      std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(q * static_cast<double>(total))));
  uint64_t seen = 0;
  for (size_t i = 0; i < kBuckets; ++i) {
    seen += merged[i];
    if (seen >= rank) return bucket_upper_ms(i);
  }
  return bucket_upper_ms(kBuckets - 1);
}

void Histogram::turn_window(std::chrono::steady_clock::time_point now) {
  if (window_start_ == std::chrono::steady_clock::time_point{}) {
    window_start_ = now;
    return;
  }
  if (now - window_start_ < kWindow) return;
  const uint32_t next = 1 - current_.load(std::memory_order_relaxed);
  for (auto& b : windows_[next]) b.store(0, std::memory_order_relaxed);
  current_.store(next, std::memory_order_relaxed);
  window_start_ = now;
}

void TextWriter::text(std::string_view s) { out_.append(s.data(), s.size()); }

void TextWriter::family(std::string_view name, std::string_view type, std::string_view help) {
  text("# HELP ");
  text(name);
  out_.push_back(' ');
  text(help);
  text("\n# TYPE ");
  text(name);
  out_.push_back(' ');
  text(type);
  out_.push_back('\n');
}

void TextWriter::escaped(std::string_view s) {
  // Names rarely hold a character to escape: then they go in one copy.
  if (s.find_first_of("\\\"\n") == std::string_view::npos) return text(s);
  for (char c : s) {
    switch (c) {
      case '\\':
        text("\\\\");
        break;
      case '"':
        text("\\\"");
        break;
      case '\n':
        text("\\n");
        break;
      default:
        out_.push_back(static_cast<uint8_t>(c));
    }
  }
}

void TextWriter::head(std::string_view name, std::initializer_list<Label> labels,
                      const Label* extra) {
  text(name);
  if (labels.size() == 0 && extra == nullptr) {
    out_.push_back(' ');
    return;
  }
  out_.push_back('{');
  bool first = true;
  auto one = [&](const Label& l) {
    if (!first) out_.push_back(',');
    first = false;
    text(l.name);
    text("=\"");
    if (l.is_number)
      integer(l.number);
    else
      escaped(l.value);
    out_.push_back('"');
  };
  for (const Label& l : labels) one(l);
  if (extra != nullptr) one(*extra);
  text("} ");
}

void TextWriter::number(double v) {
  if (std::isnan(v)) return text("NaN");
  if (std::isinf(v)) return text(v > 0 ? "+Inf" : "-Inf");
  char buf[32];
  auto end = fmt::format_to_n(buf, sizeof(buf), "{}", v).out;
  out_.append(buf, static_cast<size_t>(end - buf));
}

void TextWriter::integer(int64_t v) {
  char buf[24];
  auto end = fmt::format_to_n(buf, sizeof(buf), "{}", v).out;
  out_.append(buf, static_cast<size_t>(end - buf));
}

void TextWriter::unsigned_integer(uint64_t v) {
  char buf[24];
  auto end = fmt::format_to_n(buf, sizeof(buf), "{}", v).out;
  out_.append(buf, static_cast<size_t>(end - buf));
}

void TextWriter::sample(std::string_view name, std::initializer_list<Label> labels, double value) {
  head(name, labels);
  number(value);
  out_.push_back('\n');
}

void TextWriter::sample(std::string_view name, std::initializer_list<Label> labels,
                        uint64_t value) {
  head(name, labels);
  unsigned_integer(value);
  out_.push_back('\n');
}

void TextWriter::sample(std::string_view name, std::initializer_list<Label> labels, int64_t value) {
  head(name, labels);
  integer(value);
  out_.push_back('\n');
}

void TextWriter::summary(std::string_view name, std::initializer_list<Label> labels,
                         const Histogram& h) {
  // Kafka's histograms publish these percentiles; the exporter names each
  // quantile "0." followed by the digits of "NNthPercentile".
  static constexpr std::pair<double, std::string_view> kQuantiles[] = {
      {0.50, "0.50"}, {0.75, "0.75"}, {0.95, "0.95"},
      {0.98, "0.98"}, {0.99, "0.99"}, {0.999, "0.999"}};
  for (const auto& [q, label] : kQuantiles) {
    const Label quantile("quantile", label);
    head(name, labels, &quantile);
    number(h.quantile(q));
    out_.push_back('\n');
  }
  char suffixed[160];
  const size_t n = std::min(name.size(), sizeof(suffixed) - 8);
  std::copy_n(name.data(), n, suffixed);
  std::copy_n("_count", 6, suffixed + n);
  head({suffixed, n + 6}, labels);
  unsigned_integer(h.count());
  out_.push_back('\n');
  std::copy_n("_sum", 4, suffixed + n);
  head({suffixed, n + 4}, labels);
  number(h.sum_ms());
  out_.push_back('\n');
}

}  // namespace kb::metrics
