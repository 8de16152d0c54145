#include "kb/share/share_state.hpp"

#include <algorithm>

#include "kb/base/java_duration.hpp"
#include "kb/base/java_text.hpp"

namespace kb::share {

std::optional<AutoOffsetReset> AutoOffsetReset::parse(std::string_view value) {
  // Kafka compares the names without regard to case.
  const std::string v = ascii_lower(value);
  if (v == "latest") return AutoOffsetReset{Kind::kLatest, 0};
  if (v == "earliest") return AutoOffsetReset{Kind::kEarliest, 0};
  constexpr std::string_view kByDuration = "by_duration:";
  if (v.starts_with(kByDuration)) {
    auto ms = parse_java_duration_ms(value.substr(kByDuration.size()));
    if (!ms || *ms < 0) return std::nullopt;
    return AutoOffsetReset{Kind::kByDuration, *ms};
  }
  return std::nullopt;
}

ShareState::ShareState(SharePartitionOptions options, size_t max_sessions)
    : options_(options), sessions_(max_sessions) {}

ShareGroupSettings ShareState::group_settings(std::string_view group) const {
  auto it = settings_.find(group);
  return it == settings_.end() ? ShareGroupSettings{} : it->second;
}

void ShareState::set_group_settings(std::string_view group, ShareGroupSettings settings) {
  settings_.insert_or_assign(std::string(group), settings);
  const SharePartitionOptions options = options_for(group);
  for (auto& [key, e] : partitions_)
    if (key.group == group && e.partition) e.partition->set_options(options);
}

SharePartitionOptions ShareState::options_for(std::string_view group) const {
  SharePartitionOptions options = options_;
  auto it = settings_.find(group);
  if (it == settings_.end()) return options;
  const ShareGroupSettings& s = it->second;
  options.record_lock_duration_ms =
      s.record_lock_duration_ms.value_or(options.record_lock_duration_ms);
  options.delivery_count_limit = s.delivery_count_limit.value_or(options.delivery_count_limit);
  options.max_record_locks = s.max_record_locks.value_or(options.max_record_locks);
  return options;
}

SharePartition* ShareState::find(const SharePartitionKey& key) {
  auto it = partitions_.find(key);
  return it == partitions_.end() ? nullptr : it->second.partition.get();
}

SharePartition& ShareState::initialize(const SharePartitionKey& key, int64_t start_offset) {
  Entry& e = partitions_[key];
  if (!e.partition) {
    e.partition = std::make_unique<SharePartition>(options_for(key.group), start_offset);
    persist(key, e);
  }
  return *e.partition;
}

void ShareState::persist(const SharePartitionKey& key, Entry& e) {
  if (store_ == nullptr) return;
  std::vector<StateBatch> batches = e.partition->state_batches();
  // A restart finds acquired records available again: they are written so,
  // and neighbours that now agree are one batch.
  std::vector<StateBatch> written;
  written.reserve(batches.size());
  for (StateBatch b : batches) {
    if (b.state == RecordState::kAcquired) b.state = RecordState::kAvailable;
    if (!written.empty() && written.back().last_offset + 1 == b.first_offset &&
        written.back().state == b.state && written.back().delivery_count == b.delivery_count) {
      written.back().last_offset = b.last_offset;
      continue;
    }
    written.push_back(b);
  }
  const int64_t start = e.partition->start_offset();
  if (e.persisted && e.persisted->first == start && e.persisted->second == written) return;
  if (!store_->write(key, start, written)) return;  // tried again at the next change
  e.persisted = std::make_pair(start, std::move(written));
}

SharePartition& ShareState::initialize(const SharePartitionKey& key, const LogBounds& log,
                                       int64_t now_ms) {
  if (SharePartition* p = find(key)) return *p;
  const AutoOffsetReset reset = group_settings(key.group).auto_offset_reset;
  int64_t start = log.log_end_offset;
  if (reset.kind == AutoOffsetReset::Kind::kEarliest) {
    start = log.log_start_offset;
  } else if (reset.kind == AutoOffsetReset::Kind::kByDuration && log.offset_for_time) {
    // The first record written at or after now - duration; none: the end.
    start = log.offset_for_time(now_ms - reset.duration_ms).value_or(log.log_end_offset);
  }
  return initialize(key, start);
}

SharePartition& ShareState::restore(const SharePartitionKey& key, int64_t start_offset,
                                    std::span<const StateBatch> batches) {
  Entry& e = partitions_[key];
  e.partition = std::make_unique<SharePartition>(options_for(key.group), start_offset, batches);
  e.persisted =
      std::make_pair(start_offset, std::vector<StateBatch>(batches.begin(), batches.end()));
  touched(key, true);
  return *e.partition;
}

std::vector<std::pair<SharePartitionKey, const SharePartition*>> ShareState::partitions(
    std::string_view group) const {
  std::vector<std::pair<SharePartitionKey, const SharePartition*>> out;
  for (const auto& [key, e] : partitions_)
    if (group.empty() || key.group == group) out.emplace_back(key, e.partition.get());
  return out;
}

void ShareState::erase(const SharePartitionKey& key) {
  auto it = partitions_.find(key);
  if (it == partitions_.end()) return;
  if (it->second.deadline) deadlines_.erase({*it->second.deadline, key});
  partitions_.erase(it);
  if (store_ != nullptr) store_->erase(key);
}

void ShareState::touched(const SharePartitionKey& key, bool woke) {
  if (woke) ++changes_;
  auto it = partitions_.find(key);
  if (it == partitions_.end()) return;
  Entry& e = it->second;
  persist(key, e);
  const std::optional<Clock::time_point> deadline = e.partition->next_lock_deadline();
  if (deadline == e.deadline) return;
  if (e.deadline) deadlines_.erase({*e.deadline, key});
  e.deadline = deadline;
  if (deadline) deadlines_.insert({*deadline, key});
}

void ShareState::release(std::string_view group, std::string_view member,
                         const std::set<TopicPartition>& partitions) {
  for (const auto& [topic_id, index] : partitions) {
    const SharePartitionKey key{std::string(group), topic_id, index};
    SharePartition* p = find(key);
    if (p == nullptr) continue;
    p->release_member(member);
    touched(key, true);
  }
}

void ShareState::connection_closed(uint64_t connection_id) {
  for (const ShareSession& s : sessions_.take_connection(connection_id))
    release(s.group, s.member, s.partitions);
}

std::optional<Clock::time_point> ShareState::next_deadline() const {
  if (deadlines_.empty()) return std::nullopt;
  return deadlines_.begin()->first;
}

void ShareState::advance(Clock::time_point now) {
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    const SharePartitionKey key = deadlines_.begin()->second;
    SharePartition* p = find(key);
    if (p != nullptr) p->expire_locks(now);
    // Recomputes (and so removes) the partition's deadline.
    touched(key, true);
    if (p == nullptr) deadlines_.erase(deadlines_.begin());
  }
}

}  // namespace kb::share
