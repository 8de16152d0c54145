#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "kb/cluster/broker_state.hpp"
#include "kb/cluster/topic_configs.hpp"
#include "kb/net/event_loop.hpp"

namespace kb::broker {

// Kafka's log retention task: every log.retention.check.interval.ms (first
// after 30 s, as Kafka), each partition of a topic whose cleanup.policy has
// "delete" loses its segments past retention.ms / retention.bytes. A pass
// works through the partitions a slice at a time (at most partitions_per_turn,
// and about kSliceBudget), each slice in its own loop turn, so that neither
// many partitions nor a partition with thousands of segments to delete (small
// segments under fast producers) holds up requests for long: a partition's
// backlog is deleted a few segments at a time, over as many slices as it
// takes. Configs are read at the start of each pass: a change applies from
// the next one.
class LogRetention {
 public:
  LogRetention(net::EventLoop& loop, cluster::BrokerState& state, size_t partitions_per_turn = 128);
  ~LogRetention();
  LogRetention(const LogRetention&) = delete;
  LogRetention& operator=(const LogRetention&) = delete;

  size_t passes_completed() const { return passes_completed_; }
  size_t segments_deleted() const { return segments_deleted_; }

 private:
  struct Work {
    size_t topic = 0;  // index into retentions_
    int32_t partition = 0;
  };
  struct TopicWork {
    std::string name;
    cluster::TopicRetention retention;
  };
  // The partition being worked on, when its deletions span slices: what its
  // log said first, for the one line logged when it is done.
  struct PartitionProgress {
    size_t deleted = 0;
    int64_t start_before = -1;
  };
  void finish_partition(const TopicWork& topic, int32_t partition, int64_t start_after);
  void start_pass();
  void run_slice();
  void arm(std::chrono::milliseconds delay, void (LogRetention::*task)());

  net::EventLoop& loop_;
  cluster::BrokerState& state_;
  size_t partitions_per_turn_;
  std::vector<TopicWork> topics_;
  std::vector<Work> work_;
  size_t next_ = 0;
  PartitionProgress progress_;
  struct PassStats {
    std::chrono::steady_clock::time_point started;
    size_t deleted_before = 0;
    size_t slices = 0;
    std::chrono::steady_clock::duration longest_slice{};
  };
  PassStats pass_;  // of the pass under way, logged at its end
  net::EventLoop::TimerId timer_ = 0;
  size_t passes_completed_ = 0;
  size_t segments_deleted_ = 0;
};

}  // namespace kb::broker
