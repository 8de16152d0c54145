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

// Kafka's KafkaConfig check of the cleaner's map against its threads.
std::string sizing_problem(const LogCleaningOptions& o) {
  if (o.threads >= 1 &&
      o.dedupe_buffer_bytes / static_cast<size_t>(o.threads) <= size_t{1024} * 1024)
    return "log.cleaner.dedupe.buffer.size must be at least 1MB per cleaner thread.";
  return {};
}

}  // namespace

LogCleaningOptions LogCleaningOptions::from(const cluster::BrokerState& state) {
  LogCleaningOptions o;
  auto it = state.static_configs.find(std::string_view("log.cleaner.enable"));
  if (it != state.static_configs.end()) o.enabled = it->second != "false";
  return o.with([&](std::string_view name) -> std::optional<std::string_view> {
    auto found = state.static_configs.find(name);
    if (found == state.static_configs.end()) return std::nullopt;
    return std::string_view(found->second);
  });
}

LogCleaningOptions LogCleaningOptions::with(const cluster::BrokerConfigLookup& lookup) const {
  LogCleaningOptions o = *this;
  if (auto v = lookup("log.cleaner.threads"))
    if (auto n = cluster::parse_config_long(*v); n && *n >= 0 && *n <= INT32_MAX)
      o.threads = static_cast<int32_t>(*n);
  if (auto v = lookup("log.cleaner.backoff.ms"))
    if (auto n = cluster::parse_config_long(*v); n && *n >= 0) o.backoff_ms = *n;
  if (auto v = lookup("log.cleaner.dedupe.buffer.size"))
    if (auto n = cluster::parse_config_long(*v); n && *n > 0)
      o.dedupe_buffer_bytes = static_cast<size_t>(*n);
  if (auto v = lookup("log.cleaner.io.buffer.load.factor"))
    if (auto n = parse_double(*v); n && *n > 0 && *n <= 1) o.load_factor = *n;
  if (auto v = lookup("log.cleaner.io.max.bytes.per.second"))
    if (auto n = parse_double(*v); n && *n > 0) o.io_bytes_per_second = *n;
  return o;
}

size_t LogCleaningOptions::dedupe_bytes_per_thread() const {
  const size_t share = dedupe_buffer_bytes / static_cast<size_t>(std::max<int32_t>(threads, 1));
  return std::min<size_t>(share, INT32_MAX);
}

LogCleaning::LogCleaning(net::EventLoop& loop, cluster::BrokerState& state,
                         LogCleaningOptions options)
    : loop_(loop), state_(state), base_options_(options), options_(options) {
  if (!options_.enabled) return;
  // Dynamic configs the metadata log holds are in force from the start.
  const LogCleaningOptions dynamic = base_options_.with(
      [&](std::string_view name) { return cluster::dynamic_broker_config(state_, name); });
  // (Kafka reads them with server.properties: no comparison with a thread
  // count in force.)
  const bool resized = dynamic.threads != options_.threads ||
                       dynamic.dedupe_buffer_bytes != options_.dedupe_buffer_bytes;
  if (std::string problem = resized ? sizing_problem(dynamic) : std::string(); problem.empty())
    options_ = dynamic;
  else
    spdlog::error("the broker's dynamic log.cleaner.* configs are not applied: {}", problem);
  if (options_.threads < 1) {
    spdlog::warn("log.cleaner.threads is {}: one cleaner thread runs", options_.threads);
    options_.threads = 1;
  }
  throttler_ = std::make_shared<storage::IoThrottler>(options_.io_bytes_per_second);
  start_threads();
  state_.reconfigurables.push_back(this);
  arm(std::chrono::milliseconds(std::min<int64_t>(options_.backoff_ms, 15'000)));
}

LogCleaning::~LogCleaning() {
  std::erase(state_.reconfigurables, this);
  if (timer_ != 0) loop_.cancel(timer_);
  if (reconfigure_timer_ != 0) loop_.cancel(reconfigure_timer_);
  for (const auto* threads : {&threads_, &retiring_})
    for (const CleanerThread& thread : *threads) loop_.unwatch(thread.worker->completion_fd());
}

void LogCleaning::start_threads() {
  const size_t count = static_cast<size_t>(options_.threads);
  if (options_.dedupe_buffer_bytes / count > static_cast<size_t>(INT32_MAX))
    spdlog::warn(
        "log.cleaner.dedupe.buffer.size: a cleaner thread uses at most 2 GiB, the rest is not "
        "used");
  activity_.threads.assign(count, std::nullopt);
  for (size_t i = 0; i < count; ++i) {
    CleanerThread thread;
    thread.worker = std::make_unique<storage::CleanerWorker>(options_.dedupe_bytes_per_thread(),
                                                             options_.load_factor, throttler_);
    thread.index = i;
    loop_.watch(thread.worker->completion_fd(), EPOLLIN, this);
    threads_.push_back(std::move(thread));
  }
}

void LogCleaning::arm(std::chrono::milliseconds delay) {
  const auto due = std::chrono::steady_clock::now() + delay;
  if (timer_ != 0) {
    if (timer_due_ <= due) return;
    loop_.cancel(timer_);
  }
  timer_due_ = due;
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

bool LogCleaning::cleaning(std::string_view topic, int32_t partition) const {
  return std::any_of(cleans_.begin(), cleans_.end(), [&](const auto& entry) {
    return entry.second.partition == partition && entry.second.topic == topic;
  });
}

LogCleaning::CleanerThread* LogCleaning::idle_thread() {
  for (CleanerThread& thread : threads_)
    if (!thread.clean_job) return &thread;
  return nullptr;
}

void LogCleaning::check() {
  if (threads_.empty()) return;
  if (!state_.logs) {
    arm(std::chrono::milliseconds(options_.backoff_ms));
    return;
  }
  // Every thread busy: the next one to finish looks again.
  if (idle_thread() == nullptr) return;
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
  CleanerThread* idle = idle_thread();
  if (idle == nullptr) return;
  start_cleaning(*idle, scan.best->topic, scan.best->partition);
  // Another idle thread takes the next dirtiest log, after another walk.
  if (idle_thread() != nullptr) arm(std::chrono::milliseconds(0));
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
      // A log a thread is cleaning is not weighed (as Kafka's inProgress).
      if (cleaning(name, p.partition_index)) continue;
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

void LogCleaning::start_cleaning(CleanerThread& thread, const std::string& topic_name,
                                 int32_t partition) {
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
  storage::CleanerJob job;
  job.id = next_job_++;
  job.plan = std::move(*plan);
  job.now_ms = now;
  cleans_[job.id] = InFlight{topic_name, partition, (*log)->dir()};
  most_concurrent_cleans_ = std::max(most_concurrent_cleans_, cleans_.size());
  thread.clean_job = job.id;
  thread.worker->submit(std::move(job));
}

void LogCleaning::on_io(uint32_t /*events*/) {
  // Which thread's eventfd woke the loop is not said: all are asked.
  for (CleanerThread& thread : threads_) take_completed(thread, false);
  for (CleanerThread& thread : retiring_) take_completed(thread, true);
  std::erase_if(retiring_, [&](const CleanerThread& thread) {
    if (!thread.worker->finished() || thread.clean_job) return false;
    loop_.unwatch(thread.worker->completion_fd());
    return true;
  });
  maybe_write_checkpoint();
}

void LogCleaning::take_completed(CleanerThread& thread, bool retiring) {
  for (storage::CleanerJob& job : thread.worker->take_completed()) {
    if (job.checkpoint) {
      if (checkpoint_job_ == job.id) checkpoint_job_.reset();
      if (!job.checkpoint_status) {
        // Not written: the next write has the offsets (and more).
        checkpoint_wanted_ = true;
        if (!retiring)
          spdlog::warn("writing {}: {}", storage::kCleanerCheckpointFile,
                       job.checkpoint_status.error().message);
      }
    }
    if (job.plan) finish(thread, job, retiring);
  }
}

void LogCleaning::finish(CleanerThread& thread, storage::CleanerJob& job, bool retiring) {
  if (thread.clean_job == job.id) thread.clean_job.reset();
  auto in_flight = cleans_.find(job.id);
  if (in_flight == cleans_.end()) return;
  const InFlight done = std::move(in_flight->second);
  cleans_.erase(in_flight);
  const storage::Result<storage::CleanResult>& result = *job.result;
  if (!result) {
    if (retiring)
      spdlog::info("cleaning {}-{} stopped for a restart of the cleaner threads", done.topic,
                   done.partition);
    else
      spdlog::warn("cleaning {}-{} failed: {}", done.topic, done.partition, result.error().message);
    arm(std::chrono::milliseconds(retiring ? 0 : options_.backoff_ms));
    return;
  }
  auto log = state_.logs ? state_.logs->find(done.topic, done.partition)
                         : storage::Result<storage::PartitionLog*>(nullptr);
  bool swapped_all = log && *log != nullptr && (*log)->dir() == done.dir;
  std::optional<wire::Uuid> topic_id;
  if (const cluster::TopicInfo* topic = state_.topics.find(done.topic); topic != nullptr)
    topic_id = topic->id;
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
    } else if (topic_id) {
      // Read_committed fetches no longer list the aborted transactions the
      // segment dropped (a reader told of one whose marker is gone would
      // skip its producer's later committed batches), swap by swap, so a
      // swap that stops part way leaves the list right too.
      state_.producer_states.replace_aborted_in(*topic_id, done.partition, segment.base_offset,
                                                segment.end_offset, segment.aborted_kept);
    }
  }
  const storage::CleanStats& stats = result->stats;
  if (!retiring && thread.index < activity_.threads.size())
    activity_.threads[thread.index] = CleanerActivity::LastClean{
        stats,
        static_cast<double>(stats.map_records) /
            static_cast<double>(storage::OffsetMap(options_.dedupe_bytes_per_thread()).slots())};
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
    checkpoints_[{done.topic, done.partition}] = result->end_offset;
    ++cleans_completed_;
    write_checkpoint();
    ++state_.data_generation;
  }
  // Another log may be waiting: look again at once.
  arm(std::chrono::milliseconds(0));
}

void LogCleaning::write_checkpoint() {
  checkpoint_wanted_ = true;
  maybe_write_checkpoint();
}

// One write at a time (two threads writing the file could leave the older
// offsets last), on a thread that is not cleaning, so it is not held up.
void LogCleaning::maybe_write_checkpoint() {
  if (!checkpoint_wanted_ || checkpoint_job_ || !state_.logs) return;
  CleanerThread* idle = idle_thread();
  if (idle == nullptr) return;  // a thread that finishes writes it
  checkpoint_wanted_ = false;
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
  checkpoint_job_ = job.id;
  idle->worker->submit(std::move(job));
}

std::string LogCleaning::problem_with(const LogCleaningOptions& wanted) const {
  const int32_t current = options_.threads;
  if (wanted.threads != current) {
    if (wanted.threads < 1) return "Log cleaner threads should be at least 1";
    if (wanted.threads < current / 2)
      return fmt::format(
          "Log cleaner threads cannot be reduced to less than half the current value {}", current);
    if (static_cast<int64_t>(wanted.threads) > static_cast<int64_t>(current) * 2)
      return fmt::format(
          "Log cleaner threads cannot be increased to more than double the current value {}",
          current);
  }
  // (Checked when they change: server.properties' were at start-up.)
  if (wanted.threads != current || wanted.dedupe_buffer_bytes != options_.dedupe_buffer_bytes)
    return sizing_problem(wanted);
  return {};
}

std::string LogCleaning::reconfiguration_problem(const cluster::BrokerConfigLookup& lookup) const {
  std::string problem = problem_with(base_options_.with(lookup));
  if (problem.empty()) return {};
  // Kafka's KafkaConfig check answers in its own words; the cleaner's own
  // checks (a ConfigException) as "Invalid dynamic configuration".
  if (problem.starts_with("log.cleaner.dedupe.buffer.size")) return problem;
  spdlog::info("dynamic log.cleaner.* configs refused: {}", problem);
  return "Invalid dynamic configuration";
}

void LogCleaning::broker_configs_changed() {
  // The records of one change come one at a time: applied once, after all.
  if (reconfigure_timer_ != 0) return;
  reconfigure_timer_ = loop_.run_after(std::chrono::milliseconds(0), [this] {
    reconfigure_timer_ = 0;
    apply_dynamic_configs();
  });
}

void LogCleaning::apply_dynamic_configs() {
  const LogCleaningOptions wanted = base_options_.with(
      [&](std::string_view name) { return cluster::dynamic_broker_config(state_, name); });
  if (std::string problem = problem_with(wanted); !problem.empty()) {
    // As Kafka: a change its checks refuse is logged and not applied.
    spdlog::error("the broker's dynamic log.cleaner.* configs are not applied: {}", problem);
    return;
  }
  const bool restart = wanted.threads != options_.threads ||
                       wanted.dedupe_buffer_bytes != options_.dedupe_buffer_bytes ||
                       wanted.load_factor != options_.load_factor;
  const bool backoff_changed = wanted.backoff_ms != options_.backoff_ms;
  if (wanted.io_bytes_per_second != options_.io_bytes_per_second) {
    spdlog::info("log cleaner: log.cleaner.io.max.bytes.per.second is now {}",
                 wanted.io_bytes_per_second);
    throttler_->set_rate(wanted.io_bytes_per_second);
    // A thread sleeping off bytes at the old rate counts again.
    throttler_->wake();
  }
  if (backoff_changed)
    spdlog::info("log cleaner: log.cleaner.backoff.ms is now {}", wanted.backoff_ms);
  LogCleaningOptions next = wanted;
  next.scan_slice_budget = options_.scan_slice_budget;
  options_ = next;
  if (restart) {
    // As Kafka's reconfigure: the threads stop (a clean under way is
    // abandoned, its files deleted) and new ones start with the new
    // settings. The old threads' last jobs come back through on_io; the logs
    // they cleaned are not taken up again until then.
    spdlog::info(
        "log cleaner: restarting with {} thread(s), {} bytes of offset map each, load factor {}",
        options_.threads, options_.dedupe_bytes_per_thread(), options_.load_factor);
    for (CleanerThread& thread : threads_) {
      thread.worker->request_stop();
      retiring_.push_back(std::move(thread));
    }
    threads_.clear();
    start_threads();
    ++restarts_;
  }
  if (restart || backoff_changed) {
    // The timer may be set for the old backoff.
    if (timer_ != 0) loop_.cancel(timer_);
    timer_ = 0;
    arm(std::chrono::milliseconds(0));
  }
}

}  // namespace kb::broker
