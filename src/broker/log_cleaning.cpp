#include "kb/broker/log_cleaning.hpp"

#include <sys/epoll.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>

#include "kb/cluster/config_catalog.hpp"

namespace kb::broker {

namespace {

int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::optional<double> parse_double(std::string_view text) {
  std::string s(text);
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size()) return std::nullopt;
  return v;
}

bool has_item(std::string_view list, std::string_view item) {
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string_view::npos) comma = list.size();
    std::string_view piece = list.substr(start, comma - start);
    while (!piece.empty() && piece.front() == ' ') piece.remove_prefix(1);
    while (!piece.empty() && piece.back() == ' ') piece.remove_suffix(1);
    if (piece == item) return true;
    start = comma + 1;
  }
  return false;
}

}  // namespace

LogCleaningOptions LogCleaningOptions::from(const cluster::BrokerState& state) {
  LogCleaningOptions o;
  auto value = [&](std::string_view name) -> std::optional<std::string_view> {
    auto it = state.static_configs.find(name);
    if (it == state.static_configs.end()) return std::nullopt;
    return std::string_view(it->second);
  };
  if (auto v = value("log.cleaner.enable")) o.enabled = *v != "false";
  if (auto v = value("log.cleaner.backoff.ms"))
    if (auto n = cluster::parse_config_long(*v); n && *n >= 0) o.backoff_ms = *n;
  if (auto v = value("log.cleaner.dedupe.buffer.size"))
    if (auto n = cluster::parse_config_long(*v); n && *n > 0)
      o.dedupe_buffer_bytes = static_cast<size_t>(*n);
  if (auto v = value("log.cleaner.io.buffer.load.factor"))
    if (auto n = parse_double(*v); n && *n > 0 && *n <= 1) o.load_factor = *n;
  if (auto v = value("log.cleaner.io.max.bytes.per.second"))
    if (auto n = parse_double(*v); n && *n > 0) o.io_bytes_per_second = *n;
  return o;
}

LogCleaning::LogCleaning(net::EventLoop& loop, cluster::BrokerState& state,
                         LogCleaningOptions options)
    : loop_(loop), state_(state), options_(options) {
  if (!options_.enabled) return;
  worker_ = std::make_unique<storage::CleanerWorker>(
      options_.dedupe_buffer_bytes, options_.io_bytes_per_second, options_.load_factor);
  loop_.watch(worker_->completion_fd(), EPOLLIN, this);
  arm(std::chrono::milliseconds(std::min<int64_t>(options_.backoff_ms, 15'000)));
}

LogCleaning::~LogCleaning() {
  if (timer_ != 0) loop_.cancel(timer_);
  if (worker_) loop_.unwatch(worker_->completion_fd());
}

void LogCleaning::arm(std::chrono::milliseconds delay) {
  if (timer_ != 0) loop_.cancel(timer_);
  timer_ = loop_.run_after(delay, [this] {
    timer_ = 0;
    check();
  });
}

storage::CompactionSettings LogCleaning::settings_for(std::string_view topic) const {
  storage::CompactionSettings s;
  auto number = [&](std::string_view name, int64_t& out, int64_t min) {
    if (auto v = cluster::topic_config_value(state_, topic, name))
      if (auto n = cluster::parse_config_long(*v); n && *n >= min) out = *n;
  };
  number("delete.retention.ms", s.delete_retention_ms, 0);
  number("min.compaction.lag.ms", s.min_compaction_lag_ms, 0);
  number("max.compaction.lag.ms", s.max_compaction_lag_ms, 1);
  int64_t segment_bytes = static_cast<int64_t>(s.segment_bytes);
  number("segment.bytes", segment_bytes, 14);
  s.segment_bytes = static_cast<uint64_t>(segment_bytes);
  int64_t index_bytes = static_cast<int64_t>(s.max_index_bytes);
  number("segment.index.bytes", index_bytes, 4);
  s.max_index_bytes = static_cast<uint64_t>(index_bytes);
  int64_t interval = s.index_interval_bytes;
  number("index.interval.bytes", interval, 0);
  s.index_interval_bytes = static_cast<uint32_t>(std::min<int64_t>(interval, INT32_MAX));
  if (auto v = cluster::topic_config_value(state_, topic, "min.cleanable.dirty.ratio"))
    if (auto r = parse_double(*v); r && *r >= 0 && *r <= 1) s.min_cleanable_ratio = *r;
  return s;
}

void LogCleaning::check() {
  if (!worker_ || in_flight_ || !state_.logs) {
    if (!in_flight_) arm(std::chrono::milliseconds(options_.backoff_ms));
    return;
  }
  if (!checkpoints_loaded_) {
    auto read =
        storage::read_offset_checkpoint(state_.logs->log_dir() / storage::kCleanerCheckpointFile);
    if (read.ok())
      checkpoints_ = std::move(read.offsets);
    else
      spdlog::warn("{}: {}; cleaning every compacted log from its start",
                   storage::kCleanerCheckpointFile, read.message);
    checkpoints_loaded_ = true;
  }
  if (!scan_) scan_.emplace();
  // Weighing a topic reads its configs: with many topics the walk takes
  // several loop turns, resuming after the last topic weighed.
  if (!scan_slice(std::chrono::steady_clock::now() + options_.scan_slice_budget)) {
    arm(std::chrono::milliseconds(0));
    return;
  }
  CleaningScan scan = std::move(*scan_);
  scan_.reset();
  last_scan_slices_ = scan.slices;
  activity_.dirtiest_ratio = scan.best ? scan.best->ratio : 0;
  activity_.uncleanable_partitions = scan.uncleanable;
  activity_.last_run = std::chrono::steady_clock::now();
  if (scan.checkpoint_changed) write_checkpoint();
  if (!scan.best) {
    arm(std::chrono::milliseconds(options_.backoff_ms));
    return;
  }
  start_cleaning(scan.best->topic, scan.best->partition);
}

// The dirtiest log worth cleaning, as Kafka's grabFilthiestCompactedLog.
bool LogCleaning::scan_slice(std::chrono::steady_clock::time_point deadline) {
  CleaningScan& scan = *scan_;
  const int64_t now = wall_clock_ms();
  const auto& topics = state_.topics.topics();
  ++scan.slices;
  bool weighed_one = false;
  for (auto it = scan.last_topic ? topics.upper_bound(*scan.last_topic) : topics.begin();
       it != topics.end(); ++it) {
    if (weighed_one && std::chrono::steady_clock::now() >= deadline) return false;
    weighed_one = true;
    const auto& [name, topic] = *it;
    scan.last_topic = name;
    auto policy = cluster::topic_config_value(state_, name, "cleanup.policy");
    if (!policy || !has_item(*policy, "compact")) continue;
    const storage::CompactionSettings settings = settings_for(name);
    for (const auto& p : topic.partitions) {
      auto log = state_.logs->find(name, p.partition_index);
      if (!log || *log == nullptr) continue;
      auto lso = state_.producer_states.last_stable_offset(topic.id, p.partition_index, **log, now);
      if (!lso) continue;
      std::optional<int64_t> checkpoint;
      if (auto cp = checkpoints_.find(std::pair<std::string, int32_t>(name, p.partition_index));
          cp != checkpoints_.end())
        checkpoint = cp->second;
      auto plan = (*log)->cleaning_plan(checkpoint, settings, now, *lso, false);
      if (!plan) {  // damaged: logged where it was found
        ++scan.uncleanable;
        continue;
      }
      if (plan->force_checkpoint) {
        checkpoints_[{name, p.partition_index}] = plan->first_dirty_offset;
        scan.checkpoint_changed = true;
      }
      if (plan->total_bytes() == 0 || !plan->worth_cleaning()) continue;
      if (!scan.best || plan->cleanable_ratio() > scan.best->ratio)
        scan.best = CleaningScan::Candidate{name, p.partition_index, plan->cleanable_ratio()};
    }
  }
  return true;
}

void LogCleaning::start_cleaning(const std::string& topic_name, int32_t partition) {
  const int64_t now = wall_clock_ms();
  const cluster::TopicInfo* topic = state_.topics.find(topic_name);
  auto log = state_.logs->find(topic_name, partition);
  if (topic == nullptr || !log || *log == nullptr) {
    arm(std::chrono::milliseconds(options_.backoff_ms));
    return;
  }
  auto lso = state_.producer_states.last_stable_offset(topic->id, partition, **log, now);
  std::optional<int64_t> checkpoint;
  if (auto it = checkpoints_.find(std::pair<std::string, int32_t>(topic_name, partition));
      it != checkpoints_.end())
    checkpoint = it->second;
  auto plan = (*log)->cleaning_plan(checkpoint, settings_for(topic_name), now,
                                    lso ? *lso : (*log)->log_end_offset());
  if (!plan) {
    arm(std::chrono::milliseconds(options_.backoff_ms));
    return;
  }
  // Active idempotent producers keep the batch with their last data.
  if (auto table = state_.producer_states.find_or_load(topic->id, partition, **log, now);
      table && *table != nullptr) {
    for (const auto& [id, entry] : (*table)->producers())
      plan->active_producers[id] = {entry.batches.empty() ? -1 : entry.batches.back().last_offset,
                                    entry.epoch};
  }
  spdlog::info("cleaning {}-{}: offsets [{}, {}), dirty ratio {:.2f}", topic_name, partition,
               plan->first_dirty_offset, plan->first_uncleanable_offset, plan->cleanable_ratio());
  in_flight_ = InFlight{topic_name, partition, (*log)->dir()};
  storage::CleanerJob job;
  job.id = next_job_++;
  job.plan = std::move(*plan);
  job.now_ms = now;
  worker_->submit(std::move(job));
}

void LogCleaning::on_io(uint32_t /*events*/) {
  if (!worker_) return;
  for (storage::CleanerJob& job : worker_->take_completed()) {
    if (job.checkpoint && !job.checkpoint_status)
      spdlog::warn("writing {}: {}", storage::kCleanerCheckpointFile,
                   job.checkpoint_status.error().message);
    if (job.plan) finish(job);
  }
}

void LogCleaning::finish(storage::CleanerJob& job) {
  const InFlight done = *in_flight_;
  in_flight_.reset();
  const storage::Result<storage::CleanResult>& result = *job.result;
  if (!result) {
    spdlog::warn("cleaning {}-{} failed: {}", done.topic, done.partition, result.error().message);
    arm(std::chrono::milliseconds(options_.backoff_ms));
    return;
  }
  auto log = state_.logs ? state_.logs->find(done.topic, done.partition)
                         : storage::Result<storage::PartitionLog*>(nullptr);
  bool swapped_all = log && *log != nullptr && (*log)->dir() == done.dir;
  for (const storage::CleanedSegment& segment : result->segments) {
    if (!swapped_all) {
      // The log went away (or is another one now): its files are not ours to swap.
      std::error_code ec;
      for (std::string_view suffix : {".index", ".timeindex", ".txnindex", ".log"})
        std::filesystem::remove(
            done.dir / (storage::segment_file_name(segment.base_offset, suffix) + ".swap"), ec);
      continue;
    }
    auto swapped = (*log)->replace_segments(segment);
    if (!swapped) {
      spdlog::error("{}-{}: swapping in the cleaned segment {}: {}", done.topic, done.partition,
                    segment.base_offset, swapped.error().message);
      swapped_all = false;
    } else if (!*swapped) {
      swapped_all = false;
    }
  }
  const storage::CleanStats& stats = result->stats;
  activity_.last_clean = stats;
  activity_.last_buffer_utilization =
      static_cast<double>(stats.map_records) /
      static_cast<double>(storage::OffsetMap(options_.dedupe_buffer_bytes).slots());
  activity_.last_run = std::chrono::steady_clock::now();
  // As Kafka's cleaner reports each log: how much, how fast.
  spdlog::info(
      "cleaned {}-{}: {} segment(s), {:.1f} KiB read, {:.1f} KiB written, {} of {} records kept, "
      "{:.1f} MiB/s read, {:.3f} s; clean up to offset {}",
      done.topic, done.partition, result->segments.size(),
      static_cast<double>(stats.bytes_read) / 1024, static_cast<double>(stats.bytes_written) / 1024,
      stats.records_kept, stats.records_read,
      stats.elapsed_seconds > 0
          ? static_cast<double>(stats.bytes_read) / (1024.0 * 1024.0) / stats.elapsed_seconds
          : 0.0,
      stats.elapsed_seconds, result->end_offset);
  if (swapped_all) {
    // Read_committed fetches no longer list the aborted transactions the
    // clean removed (a reader told of one whose marker is gone would skip
    // its producer's later committed batches).
    if (const cluster::TopicInfo* topic = state_.topics.find(done.topic); topic != nullptr)
      state_.producer_states.replace_aborted_below(topic->id, done.partition, result->cleaned_end,
                                                   result->aborted_kept);
    checkpoints_[{done.topic, done.partition}] = result->end_offset;
    ++cleans_completed_;
    write_checkpoint();
    ++state_.data_generation;
  }
  // Another log may be waiting: look again at once.
  arm(std::chrono::milliseconds(0));
}

void LogCleaning::write_checkpoint() {
  if (!worker_ || !state_.logs) return;
  // Partitions of topics that are gone are left out.
  storage::OffsetCheckpoint current;
  for (const auto& [key, offset] : checkpoints_)
    if (const auto* topic = state_.topics.find(key.first);
        topic != nullptr && topic->partition(key.second) != nullptr)
      current[key] = offset;
  checkpoints_ = current;
  storage::CleanerJob job;
  job.id = next_job_++;
  job.checkpoint.emplace(state_.logs->log_dir() / storage::kCleanerCheckpointFile,
                         std::move(current));
  worker_->submit(std::move(job));
}

}  // namespace kb::broker
