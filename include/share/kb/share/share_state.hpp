#pragma once

// Every share-partition of the broker (Kafka's SharePartitionManager with the
// state its share coordinator keeps): by (group, topic id, partition), their
// lock timers, the share sessions, and what is asked of the group side.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "kb/share/share_partition.hpp"
#include "kb/share/share_sessions.hpp"
#include "kb/wire/uuid.hpp"

namespace kb::share {

// share.auto.offset.reset: where a group starts in a partition it has no
// state for.
struct AutoOffsetReset {
  enum class Kind : uint8_t { kLatest, kEarliest, kByDuration };
  Kind kind = Kind::kLatest;
  int64_t duration_ms = 0;  // by_duration:<ISO-8601 duration>

  // Kafka's values: "latest", "earliest", "by_duration:PnDTnHnMn.nS".
  static std::optional<AutoOffsetReset> parse(std::string_view value);
};

// A share group's own settings (Kafka's group configs).
struct ShareGroupSettings {
  AutoOffsetReset auto_offset_reset;  // share.auto.offset.reset
  bool read_committed = false;        // share.isolation.level
};

// What the share side asks of the group coordinator; the broker wires it.
class ShareGroupView {
 public:
  virtual ~ShareGroupView() = default;
  // Whether `group` is a share group, and how many members it has (nullopt:
  // no such group, or not a share group).
  virtual std::optional<size_t> share_group_size(std::string_view group) const = 0;
  // The partitions' state was set (AlterShareGroupOffsets): the group may
  // assign them.
  virtual void share_state_initialized(std::string_view group, const wire::Uuid& topic_id,
                                       std::span<const int32_t> partitions) = 0;
  // The topic's state for the group was deleted (DeleteShareGroupOffsets): a
  // member subscribing again has it initialized afresh.
  virtual void share_state_deleted(std::string_view group, const wire::Uuid& topic_id) = 0;
};

// How a partition's log answers an initialization by reset.
struct LogBounds {
  int64_t log_start_offset = 0;
  int64_t log_end_offset = 0;
  // The first offset whose record is at or after a time (by_duration); null:
  // the log end.
  std::function<std::optional<int64_t>(int64_t timestamp_ms)> offset_for_time;
};

struct SharePartitionKey {
  std::string group;
  wire::Uuid topic_id;
  int32_t partition = 0;

  bool operator==(const SharePartitionKey&) const = default;
  bool operator<(const SharePartitionKey& o) const {
    return std::tie(group, topic_id.bytes, partition) <
           std::tie(o.group, o.topic_id.bytes, o.partition);
  }
};

// Where share-partitions' state is kept (Kafka's share coordinator): what a
// restart must find again.
class ShareStateStore {
 public:
  virtual ~ShareStateStore() = default;
  // The partition's state now: its start offset and what is in flight (no
  // record ACQUIRED: those are written AVAILABLE, as a restart finds them).
  virtual bool write(const SharePartitionKey& key, int64_t start_offset,
                     std::span<const StateBatch> batches) = 0;
  // The partition's state is gone.
  virtual bool erase(const SharePartitionKey& key) = 0;
};

class ShareState {
 public:
  explicit ShareState(SharePartitionOptions options = {}, size_t max_sessions = 2000);

  const SharePartitionOptions& options() const { return options_; }
  ShareSessions& sessions() { return sessions_; }

  // Every change to a partition's state is written there (null: kept in
  // memory only).
  void set_store(ShareStateStore* store) { store_ = store; }

  // The group side (null: a group is known by its share-partition state).
  void set_group_view(ShareGroupView* view) { view_ = view; }
  ShareGroupView* group_view() const { return view_; }

  ShareGroupSettings group_settings(std::string_view group) const;
  void set_group_settings(std::string_view group, ShareGroupSettings settings);

  SharePartition* find(const SharePartitionKey& key);
  // The group side's initialization: the partition's state starts at
  // `start_offset` unless it has state already.
  SharePartition& initialize(const SharePartitionKey& key, int64_t start_offset);
  // The same, the start offset from the group's share.auto.offset.reset.
  SharePartition& initialize(const SharePartitionKey& key, const LogBounds& log, int64_t now_ms);
  // A partition restored from persisted state (replaced if present), as the
  // store has it.
  SharePartition& restore(const SharePartitionKey& key, int64_t start_offset,
                          std::span<const StateBatch> batches);
  // The group's share-partitions, or all with an empty group.
  std::vector<std::pair<SharePartitionKey, const SharePartition*>> partitions(
      std::string_view group) const;
  // Forgets a partition's state (DeleteShareGroupOffsets, a deleted group).
  void erase(const SharePartitionKey& key);

  // After any change to a partition: its lock deadline is noted; `woke`:
  // records may have become available again, which parked ShareFetches
  // should hear of.
  void touched(const SharePartitionKey& key, bool woke);

  // What the member holds in the partitions is released (its session
  // closed or its connection went away).
  void release(std::string_view group, std::string_view member,
               const std::set<TopicPartition>& partitions);
  // Sessions of a closed connection end, their records released.
  void connection_closed(uint64_t connection_id);

  // When the next acquisition lock expires.
  std::optional<Clock::time_point> next_deadline() const;
  // Expires the locks due at `now`.
  void advance(Clock::time_point now);

  // Counts changes that may let a parked ShareFetch acquire records.
  uint64_t changes() const { return changes_; }

 private:
  struct Entry {
    std::unique_ptr<SharePartition> partition;
    std::optional<Clock::time_point> deadline;
    // What the store has, to write only changes.
    std::optional<std::pair<int64_t, std::vector<StateBatch>>> persisted;
  };
  void persist(const SharePartitionKey& key, Entry& e);

  SharePartitionOptions options_;
  ShareSessions sessions_;
  ShareGroupView* view_ = nullptr;
  ShareStateStore* store_ = nullptr;
  std::map<std::string, ShareGroupSettings, std::less<>> settings_;
  std::map<SharePartitionKey, Entry> partitions_;
  std::set<std::pair<Clock::time_point, SharePartitionKey>> deadlines_;
  uint64_t changes_ = 0;
};

}  // namespace kb::share
