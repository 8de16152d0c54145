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
  topic_.reset();
  last_topic_.reset();
  table_done_ = false;
  pass_ = {std::chrono::steady_clock::now(), segments_deleted_, 0, 0, {}};
  run_slice();
}

bool LogRetention::next_topic(std::chrono::steady_clock::time_point deadline) {
  const auto& topics = state_.topics.topics();
  auto it = last_topic_ ? topics.upper_bound(*last_topic_) : topics.begin();
  for (; it != topics.end(); ++it) {
    // Topics whose configs keep everything cost a config lookup each: many
    // of them take several slices too.
    if (std::chrono::steady_clock::now() >= deadline) return false;
    last_topic_ = it->first;
    cluster::TopicRetention retention = cluster::topic_retention(state_, it->first);
    if (!retention.deletes) continue;
    if (retention.limits.retention_ms < 0 && retention.limits.retention_bytes < 0) continue;
    topic_ = TopicWork{};
    TopicWork& work = *topic_;
    work.name = it->first;
    work.retention = retention;
    for (const auto& p : it->second.partitions) work.partitions.push_back(p.partition_index);
    return true;
  }
  table_done_ = true;
  return false;
}

void LogRetention::run_slice() {
  const int64_t now = wall_clock_ms();
  // Opening a log not used since start-up reads its directory: a slice also
  // ends after kSliceBudget, whatever it got through.
  const auto started = std::chrono::steady_clock::now();
  const auto deadline = started + kSliceBudget;
  ++pass_.slices;
  size_t partitions = 0;
  while (partitions < partitions_per_turn_ && std::chrono::steady_clock::now() < deadline &&
         state_.logs) {
    if (!topic_ && !next_topic(deadline)) break;
    TopicWork& topic = *topic_;
    if (topic.next >= topic.partitions.size()) {
      topic_.reset();
      continue;
    }
    const int32_t partition = topic.partitions[topic.next];
    // Opens the log when it was not used since start-up (its data still ages).
    auto log = state_.logs->find(topic.name, partition);
    if (!log || *log == nullptr) {
      if (!log) spdlog::error("retention of {}-{}: {}", topic.name, partition, log.error().message);
      // No data yet, or the topic is gone.
      finish_partition(partition, -1);
      ++partitions;
      continue;
    }
    if (topic.start_before < 0) topic.start_before = (*log)->log_start_offset();
    const size_t deleted = cluster::enforce_retention(topic.name, partition, **log, topic.retention,
                                                      now, kSegmentsPerStep);
    segments_deleted_ += deleted;
    topic.deleted += deleted;
    if (deleted == kSegmentsPerStep) continue;  // maybe more: the same partition again
    finish_partition(partition, (*log)->log_start_offset());
    ++partitions;
  }
  pass_.longest_slice = std::max(pass_.longest_slice, std::chrono::steady_clock::now() - started);
  if (!table_done_ && state_.logs) {
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
              pass_.partitions, segments_deleted_ - pass_.deleted_before,
              us(std::chrono::steady_clock::now() - pass_.started), pass_.slices,
              us(pass_.longest_slice));
  arm(std::chrono::milliseconds(
          std::max<int64_t>(state_.log_config.retention_check_interval_ms, 1)),
      &LogRetention::start_pass);
}

void LogRetention::finish_partition(int32_t partition, int64_t start_after) {
  TopicWork& topic = *topic_;
  if (topic.deleted > 0)
    spdlog::info(
        "{}-{}: deleted {} segment(s) past retention (retention.ms={}, retention.bytes={}); log "
        "start offset {} -> {}",
        topic.name, partition, topic.deleted, topic.retention.limits.retention_ms,
        topic.retention.limits.retention_bytes, topic.start_before, start_after);
  topic.deleted = 0;
  topic.start_before = -1;
  ++topic.next;
  ++pass_.partitions;
}

}  // namespace kb::broker
