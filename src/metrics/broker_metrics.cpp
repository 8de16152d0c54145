#include "kb/metrics/broker_metrics.hpp"

#include <iterator>

namespace kb::metrics {

void ErrorTally::add(int16_t code, uint32_t n) {
  for (size_t i = 0; i < used_; ++i) {
    if (codes_[i] == code) {
      counts_[i] += n;
      return;
    }
  }
  if (used_ == kSlots) {
    counts_[kSlots - 1] += n;
    return;
  }
  codes_[used_] = code;
  counts_[used_] = n;
  ++used_;
}

bool StepBudget::spent() {
  if (spent_ || out_ == nullptr) return spent_;
  if (out_->size() - start_size_ >= bytes_ ||
      (++calls_ % kCallsPerClockRead == 0 && Clock::now() >= deadline_))
    spent_ = true;
  return spent_;
}

BrokerMetrics::BrokerMetrics() = default;

TopicCounters& BrokerMetrics::topic(std::string_view name) {
  if (auto found = topics_.find(name); found != topics_.end()) return *found->second;
  auto made = topics_.emplace(std::string(name), std::make_unique<TopicCounters>()).first;
  topics_in_order_.emplace(made->first, made->second.get());
  return *made->second;
}

void BrokerMetrics::forget_topic(std::string_view name) {
  auto it = topics_.find(name);
  if (it == topics_.end()) return;
  topics_in_order_.erase(it->first);
  topics_.erase(it);
}

RequestCounters& BrokerMetrics::request(int16_t api_key, std::string_view name) {
  const auto index = static_cast<size_t>(api_key) & (requests_.size() - 1);
  auto& slot = requests_[index];
  if (!slot) {
    slot = std::make_unique<RequestCounters>();
    slot->name = name;
  }
  return *slot;
}

ListenerCounters& BrokerMetrics::listener(std::string_view name) {
  for (auto& l : listeners_)
    if (l->name == name) return *l;
  auto& l = listeners_.emplace_back(std::make_unique<ListenerCounters>());
  l->name = std::string(name);
  return *l;
}

bool BrokerMetrics::render_topics(TextWriter& w, CollectorPlace& place, StepBudget& budget) {
  struct Series {
    std::string_view name;
    std::string_view help;
    Counter TopicCounters::*counter;
  };
  static constexpr Series kSeries[] = {
      {"kafka_server_brokertopicmetrics_messagesin_total",
       "Records appended (BrokerTopicMetrics MessagesInPerSec)", &TopicCounters::messages_in},
      {"kafka_server_brokertopicmetrics_bytesin_total",
       "Record bytes appended by producers (BytesInPerSec)", &TopicCounters::bytes_in},
      {"kafka_server_brokertopicmetrics_bytesout_total",
       "Record bytes sent to consumers (BytesOutPerSec)", &TopicCounters::bytes_out},
      {"kafka_server_brokertopicmetrics_failedproducerequests_total",
       "Partitions of produce requests that failed unexpectedly (FailedProduceRequestsPerSec)",
       &TopicCounters::failed_produce},
      {"kafka_server_brokertopicmetrics_failedfetchrequests_total",
       "Partitions of fetch requests that failed unexpectedly (FailedFetchRequestsPerSec)",
       &TopicCounters::failed_fetch},
      {"kafka_server_brokertopicmetrics_totalproducerequests_total",
       "Partitions of produce requests (TotalProduceRequestsPerSec)",
       &TopicCounters::total_produce},
      {"kafka_server_brokertopicmetrics_totalfetchrequests_total",
       "Partitions of fetch requests (TotalFetchRequestsPerSec)", &TopicCounters::total_fetch},
  };
  for (; place.family < std::size(kSeries); place.next_family()) {
    const Series& s = kSeries[place.family];
    if (!place.family_begun) {
      w.family(s.name, "counter", s.help);
      w.sample(s.name, {}, (all_topics_.*s.counter).value());
      place.family_begun = true;
    }
    // A topic forgotten between two steps is simply missing from the rest.
    auto it = place.has_key ? topics_in_order_.upper_bound(place.name) : topics_in_order_.begin();
    for (; it != topics_in_order_.end(); ++it) {
      const auto& [name, counters] = *it;
      w.sample(s.name, {{"topic", name}}, ((*counters).*s.counter).value());
      place.name = name;
      place.has_key = true;
      if (budget.spent()) return false;
    }
  }
  return true;
}

void BrokerMetrics::render_requests(TextWriter& w, std::chrono::steady_clock::time_point now) {
  w.family("kafka_network_requestmetrics_requests_total", "counter",
           "Requests by API and version (RequestMetrics RequestsPerSec)");
  for (const auto& r : requests_) {
    if (!r) continue;
    for (size_t v = 0; v < r->by_version.size(); ++v) {
      const uint64_t n = r->by_version[v].value();
      if (n > 0)
        w.sample("kafka_network_requestmetrics_requests_total",
                 {{"request", r->name}, {"version", static_cast<int64_t>(v)}}, n);
    }
  }
  w.family("kafka_network_requestmetrics_errors_total", "counter",
           "Error codes in responses, by API (RequestMetrics ErrorsPerSec)");
  for (const auto& r : requests_) {
    if (!r) continue;
    for (const auto& [code, counter] : r->errors)
      w.sample("kafka_network_requestmetrics_errors_total",
               {{"request", r->name}, {"error", error_name(code)}}, counter.value());
  }
  struct Timer {
    std::string_view name;
    std::string_view help;
    Histogram RequestCounters::*histogram;
  };
  static constexpr Timer kTimers[] = {
      {"kafka_network_requestmetrics_totaltimems",
       "Milliseconds from a request's arrival to its answer (TotalTimeMs)",
       &RequestCounters::total_time},
      {"kafka_network_requestmetrics_requestqueuetimems",
       "Milliseconds a request waited before it was handled (RequestQueueTimeMs)",
       &RequestCounters::request_queue_time},
      {"kafka_network_requestmetrics_localtimems",
       "Milliseconds spent handling a request (LocalTimeMs)", &RequestCounters::local_time},
      {"kafka_network_requestmetrics_remotetimems",
       "Milliseconds a request waited for data, a flush or a directory (RemoteTimeMs)",
       &RequestCounters::remote_time},
      {"kafka_network_requestmetrics_responsesendtimems",
       "Milliseconds from a response queued to its last byte written (ResponseSendTimeMs)",
       &RequestCounters::response_send_time},
  };
  for (const Timer& t : kTimers) {
    w.family(t.name, "summary", t.help);
    for (const auto& r : requests_) {
      if (!r) continue;
      Histogram& h = (*r).*t.histogram;
      h.turn_window(now);
      w.summary(t.name, {{"request", r->name}}, h);
    }
  }
}

void BrokerMetrics::render(ByteBuffer& out, std::chrono::steady_clock::time_point now) {
  out.clear();
  Scrape scrape;
  start(scrape, now);
  StepBudget unlimited;
  while (!step(scrape, out, unlimited)) {
  }
}

void BrokerMetrics::start(Scrape& scrape, std::chrono::steady_clock::time_point now) {
  // The counters of topics deleted since the last scrape go (Kafka removes
  // a deleted topic's metrics).
  if (topic_exists_)
    for (auto it = topics_.begin(); it != topics_.end();) {
      if (topic_exists_(it->first)) {
        ++it;
      } else {
        topics_in_order_.erase(it->first);
        it = topics_.erase(it);
      }
    }
  scrape.active_ = true;
  scrape.part_ = 0;
  scrape.now_ = now;
  scrape.place_.reset();
}

bool BrokerMetrics::step(Scrape& scrape, ByteBuffer& out, StepBudget& budget) {
  if (!scrape.active_) return true;
  TextWriter w(out);
  for (;;) {
    if (scrape.part_ == 0) {
      if (!render_topics(w, scrape.place_, budget)) return false;
    } else if (scrape.part_ == 1) {
      render_own(w, scrape.now_);
    } else if (scrape.part_ - 2 < collectors_.size()) {
      const CollectorEntry& c = collectors_[scrape.part_ - 2];
      if (c.whole) {
        c.whole(w);
      } else if (!c.stepped(w, scrape.place_, budget)) {
        return false;
      }
    } else {
      scrape.active_ = false;
      return true;
    }
    ++scrape.part_;
    scrape.place_.reset();
    if (budget.spent()) return false;
  }
}

void BrokerMetrics::render_own(TextWriter& w, std::chrono::steady_clock::time_point now) {
  render_requests(w, now);

  w.family("kafka_server_socket_server_metrics_connection_count", "gauge",
           "Open connections per listener (socket-server-metrics connection-count)");
  for (const auto& l : listeners_)
    w.sample("kafka_server_socket_server_metrics_connection_count",
             {{"listener", l->name}, {"networkProcessor", "0"}}, l->connections);
  w.family("kafka_server_socket_server_metrics_connection_creation_total", "counter",
           "Connections accepted per listener (socket-server-metrics connection-creation-total)");
  for (const auto& l : listeners_)
    w.sample("kafka_server_socket_server_metrics_connection_creation_total",
             {{"listener", l->name}, {"networkProcessor", "0"}}, l->created.value());

  log_flush_.turn_window(now);
  w.family(
      "kafka_log_logflushstats_logflushrateandtimems", "summary",
      "Milliseconds a partition's flush (fdatasync) took (LogFlushStats LogFlushRateAndTimeMs)");
  w.summary("kafka_log_logflushstats_logflushrateandtimems", {}, log_flush_);
}

}  // namespace kb::metrics
