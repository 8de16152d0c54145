#include "kb/broker/log_retention.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace kb::broker {

namespace {

// Kafka's LogManager.InitialTaskDelayMs.
constexpr int64_t kInitialDelayMs = 30000;
// A slice's work: other clients wait for it. Deleting a segment costs three
// renames (about 50 us each on ext4), so a slice deletes a few at most.
constexpr auto kSliceBudget = std::chrono::microseconds(250);
constexpr size_t kSegmentsPerStep = 2;

int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

LogRetention::LogRetention(net::EventLoop& loop, cluster::BrokerState& state,
                           size_t partitions_per_turn)
    : loop_(loop), state_(state), partitions_per_turn_(std::max<size_t>(partitions_per_turn, 1)) {
  const int64_t interval = std::max<int64_t>(state_.log_config.retention_check_interval_ms, 1);
  arm(std::chrono::milliseconds(std::min(interval, kInitialDelayMs)), &LogRetention::start_pass);
}

LogRetention::~LogRetention() {
  if (timer_ != 0) loop_.cancel(timer_);
}

void LogRetention::arm(std::chrono::milliseconds delay, void (LogRetention::*task)()) {
  timer_ = loop_.run_after(delay, [this, task] {
    timer_ = 0;
    (this->*task)();
  });
}

void LogRetention::start_pass() {
  topics_.clear();
  work_.clear();
  next_ = 0;
  progress_ = {};
  pass_ = {std::chrono::steady_clock::now(), segments_deleted_, 0, {}};
  for (const auto& [name, topic] : state_.topics.topics()) {
    cluster::TopicRetention retention = cluster::topic_retention(state_, name);
    if (!retention.deletes) continue;
    if (retention.limits.retention_ms < 0 && retention.limits.retention_bytes < 0) continue;
    topics_.push_back({name, retention});
    for (const auto& p : topic.partitions) work_.push_back({topics_.size() - 1, p.partition_index});
  }
  run_slice();
}

void LogRetention::run_slice() {
  const int64_t now = wall_clock_ms();
  const size_t end = std::min(work_.size(), next_ + partitions_per_turn_);
  // Opening a log not used since start-up reads its directory: a slice also
  // ends after kSliceBudget, whatever it got through.
  const auto started = std::chrono::steady_clock::now();
  ++pass_.slices;
  while (next_ < end && std::chrono::steady_clock::now() - started < kSliceBudget) {
    const Work& w = work_[next_];
    const TopicWork& topic = topics_[w.topic];
    if (!state_.logs) break;
    // Opens the log when it was not used since start-up (its data still ages).
    auto log = state_.logs->find(topic.name, w.partition);
    if (!log || *log == nullptr) {
      if (!log)
        spdlog::error("retention of {}-{}: {}", topic.name, w.partition, log.error().message);
      // No data yet, or the topic is gone.
      ++next_;
      progress_ = {};
      continue;
    }
    if (progress_.start_before < 0) progress_.start_before = (*log)->log_start_offset();
    const size_t deleted = cluster::enforce_retention(topic.name, w.partition, **log,
                                                      topic.retention, now, kSegmentsPerStep);
    segments_deleted_ += deleted;
    progress_.deleted += deleted;
    if (deleted == kSegmentsPerStep) continue;  // maybe more: the same partition again
    finish_partition(topic, w.partition, (*log)->log_start_offset());
    ++next_;
  }
  pass_.longest_slice = std::max(pass_.longest_slice, std::chrono::steady_clock::now() - started);
  if (next_ < work_.size()) {
    arm(std::chrono::milliseconds(0), &LogRetention::run_slice);
    return;
  }
  ++passes_completed_;
  const auto us = [](auto d) {
    return std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  };
  spdlog::log(segments_deleted_ > pass_.deleted_before ? spdlog::level::info : spdlog::level::debug,
              "retention pass: {} partitions, {} segments deleted, {} us in {} slices (longest "
              "{} us)",
              work_.size(), segments_deleted_ - pass_.deleted_before,
              us(std::chrono::steady_clock::now() - pass_.started), pass_.slices,
              us(pass_.longest_slice));
  arm(std::chrono::milliseconds(
          std::max<int64_t>(state_.log_config.retention_check_interval_ms, 1)),
      &LogRetention::start_pass);
}

void LogRetention::finish_partition(const TopicWork& topic, int32_t partition,
                                    int64_t start_after) {
  if (progress_.deleted > 0)
    spdlog::info(
        "{}-{}: deleted {} segment(s) past retention (retention.ms={}, retention.bytes={}); log "
        "start offset {} -> {}",
        topic.name, partition, progress_.deleted, topic.retention.limits.retention_ms,
        topic.retention.limits.retention_bytes, progress_.start_before, start_after);
  progress_ = {};
}

}  // namespace kb::broker
