#include "kb/broker/startup_log_scan.hpp"

#include <spdlog/spdlog.h>

#include <utility>

#include "kb/base/helper_thread.hpp"
#include "kb/cluster/config_catalog.hpp"
#include "kb/storage/partition_log.hpp"

namespace kb::broker {

namespace {
// How often the loop takes what the thread read (a lock and a few map
// insertions per partition).
constexpr auto kTick = std::chrono::milliseconds(200);
constexpr double kMiB = 1024.0 * 1024.0;
}  // namespace

StartupLogScan::StartupLogScan(net::EventLoop& loop, cluster::BrokerState& state,
                               std::chrono::milliseconds progress_interval)
    : loop_(loop), state_(state), progress_interval_(progress_interval) {
  if (!state_.logs) {
    finished_ = true;
    return;
  }
  // The list is made here, on the loop: the thread sees only its copies.
  for (const auto& [name, topic] : state_.topics.topics()) {
    const auto policy = cluster::topic_config_value(state_, name, "cleanup.policy");
    const bool compacted = policy && policy->find("compact") != std::string::npos;
    for (const auto& p : topic.partitions) {
      if (state_.logs->find_open(name, p.partition_index) != nullptr) continue;
      Job job{name, p.partition_index,
              state_.logs->log_dir() / storage::partition_dir_name(name, p.partition_index),
              state_.logs->summary_hint({name, p.partition_index})};
      job.hint.compacted = compacted;
      jobs_.push_back(std::move(job));
    }
  }
  started_ = last_report_ = std::chrono::steady_clock::now();
  if (jobs_.empty()) {
    finished_ = true;
    return;
  }
  // Signals blocked: SIGTERM is the loop thread's (its signalfd), and a
  // thread that could take it would die of it.
  thread_ = start_helper_thread(0, [this] { run(); });
  timer_ = loop_.run_after(kTick, [this] { take_results(); });
}

StartupLogScan::~StartupLogScan() { stop(); }

void StartupLogScan::stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
  if (timer_ != 0) loop_.cancel(timer_);
  timer_ = 0;
}

void StartupLogScan::run() {
  for (size_t i = 0; i < jobs_.size() && !stopping_; ++i) {
    std::error_code ec;
    Done done{i, {}, std::filesystem::is_directory(jobs_[i].dir, ec)};  // none: no data yet
    if (done.has_dir) done.summary = storage::summarize_partition_dir(jobs_[i].dir, jobs_[i].hint);
    std::lock_guard lock(mutex_);
    done_.push_back(done);
  }
  thread_done_ = true;
}

void StartupLogScan::take_results() {
  timer_ = 0;
  std::vector<Done> done;
  {
    std::lock_guard lock(mutex_);
    done.swap(done_);
  }
  for (const Done& d : done) {
    const Job& job = jobs_[d.job];
    // A topic deleted since (and maybe created again) has other logs now.
    const cluster::TopicInfo* topic = state_.topics.find(job.topic);
    if (d.has_dir && topic != nullptr && topic->partition(job.partition) != nullptr && state_.logs)
      state_.logs->set_unopened_summary(job.topic, job.partition, d.summary);
    bytes_ += d.summary.size_bytes;
    bytes_read_ += d.summary.bytes_read;
  }
  processed_ += done.size();
  const bool last = thread_done_ && [&] {
    std::lock_guard lock(mutex_);
    return done_.empty();
  }();
  const auto now = std::chrono::steady_clock::now();
  if (last || now - last_report_ >= progress_interval_) report(last);
  if (last) {
    if (thread_.joinable()) thread_.join();
    finished_ = true;
    return;
  }
  timer_ = loop_.run_after(kTick, [this] { take_results(); });
}

void StartupLogScan::report(bool last) {
  const auto now = std::chrono::steady_clock::now();
  last_report_ = now;
  const double seconds = std::chrono::duration<double>(now - started_).count();
  const double rate = seconds > 0 ? static_cast<double>(processed_) / seconds : 0.0;
  if (last) {
    spdlog::info(
        "read the partition logs not opened yet: {} partitions in {:.1f} s, {:.0f}/s, {:.1f} MiB "
        "in segments, {:.1f} MiB read to find where they end",
        processed_, seconds, rate, static_cast<double>(bytes_) / kMiB,
        static_cast<double>(bytes_read_) / kMiB);
  } else {
    spdlog::info(
        "reading the partition logs not opened yet: {} of {} partitions done, {:.0f}/s, {:.1f} "
        "MiB in segments, {:.1f} MiB read to find where they end ({:.1f} MiB/s)",
        processed_, jobs_.size(), rate, static_cast<double>(bytes_) / kMiB,
        static_cast<double>(bytes_read_) / kMiB,
        seconds > 0 ? static_cast<double>(bytes_read_) / kMiB / seconds : 0.0);
  }
}

}  // namespace kb::broker
