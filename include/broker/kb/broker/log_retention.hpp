#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kb/cluster/broker_state.hpp"
#include "kb/cluster/topic_configs.hpp"
#include "kb/net/event_loop.hpp"

namespace kb::broker {

// Kafka's log retention task: every log.retention.check.interval.ms (first
// after 30 s, as Kafka), each partition of a topic whose cleanup.policy has
// "delete" loses its segments past retention.ms / retention.bytes. A pass
// works through the topics in name order a slice at a time (at most
// partitions_per_turn partitions, and about kSliceBudget), each slice in its
// own loop turn, so that neither many topics nor a partition with thousands
// of segments to delete (small segments under fast producers) holds up
// requests for long: the next topic is found by name where the last slice
// stopped, and a partition's backlog is deleted a few segments at a time.
// A topic's configs are read when the pass reaches it.
class LogRetention {
 public:
  LogRetention(net::EventLoop& loop, cluster::BrokerState& state, size_t partitions_per_turn = 128);
  ~LogRetention();
  LogRetention(const LogRetention&) = delete;
  LogRetention& operator=(const LogRetention&) = delete;

  size_t passes_completed() const { return passes_completed_; }
  size_t segments_deleted() const { return segments_deleted_; }

 private:
  // The topic the pass is in: its partitions, and how far it got.
  struct TopicWork {
    std::string name;
    cluster::TopicRetention retention;
    std::vector<int32_t> partitions;
    size_t next = 0;
    // The partition being worked on, when its deletions span slices: what
    // its log said first, for the one line logged when it is done.
    size_t deleted = 0;
    int64_t start_before = -1;
  };
  void start_pass();
  void run_slice();
  // The next topic after `last_topic_` whose segments retention deletes;
  // false at the end of the table (or when the slice's time ran out first).
  bool next_topic(std::chrono::steady_clock::time_point deadline);
  void finish_partition(int32_t partition, int64_t start_after);
  void arm(std::chrono::milliseconds delay, void (LogRetention::*task)());

  net::EventLoop& loop_;
  cluster::BrokerState& state_;
  size_t partitions_per_turn_;
  std::optional<TopicWork> topic_;
  std::optional<std::string> last_topic_;  // the last topic passed; none at the start
  bool table_done_ = false;
  struct PassStats {
    std::chrono::steady_clock::time_point started;
    size_t deleted_before = 0;
    size_t partitions = 0;
    size_t slices = 0;
    std::chrono::steady_clock::duration longest_slice{};
  };
  PassStats pass_;  // of the pass under way, logged at its end
  net::EventLoop::TimerId timer_ = 0;
  size_t passes_completed_ = 0;
  size_t segments_deleted_ = 0;
};

}  // namespace kb::broker
