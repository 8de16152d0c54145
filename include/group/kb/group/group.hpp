#pragma once

// What every kind of group has, whatever protocol its members speak: an id,
// committed offsets, a state by Kafka's name, and the records that delete it.
// Classic groups (JoinGroup/SyncGroup, classic_group.hpp), consumer groups
// (KIP-848's ConsumerGroupHeartbeat, consumer_group.hpp) and share groups
// (KIP-932's ShareGroupHeartbeat, share_group.hpp) each own their
// members and state machine; the coordinator keeps one map of them and the
// offsets part (commits, fetches, deletion, expiry) for all kinds alike.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "kb/group/records.hpp"

namespace kb::group {

using Millis = int64_t;  // a steady clock's milliseconds

bool equals_ignore_case(std::string_view a, std::string_view b);

// Kafka's group types (ListGroups' types filter, ListGroups' and
// DescribeGroups' answers).
enum class GroupType : uint8_t { kClassic, kConsumer, kShare };
std::string_view to_string(GroupType type);
std::optional<GroupType> parse_group_type(std::string_view name);

struct CommittedOffset {
  int64_t offset = -1;
  int32_t leader_epoch = -1;
  std::string metadata;
  int64_t commit_timestamp = 0;
};
using OffsetMap = std::map<std::pair<std::string, int32_t>, CommittedOffset, std::less<>>;

// Lets a map keyed by std::string be searched with a string_view.
struct NameHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

// Who commits: OffsetCommit's group, generation (classic) or member epoch
// (consumer groups), member and instance.
struct CommitParams {
  std::string_view group_id;
  int32_t generation = -1;  // the member epoch for a consumer group
  std::string_view member_id;
  std::optional<std::string_view> instance_id;
  bool unknown_group_is_not_found = false;  // OffsetCommit v9+: GROUP_ID_NOT_FOUND
  // OffsetCommit's version: members of consumer groups commit with v9+.
  int16_t api_version = 9;
};

class Group {
 public:
  explicit Group(std::string group_id) : id(std::move(group_id)) {}
  virtual ~Group() = default;
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;

  virtual GroupType type() const = 0;
  // The state by Kafka's name for this kind (ListGroups, DescribeGroups).
  virtual std::string_view state_name() const = 0;
  // What ListGroups says of the protocol type ("consumer" for consumer groups).
  virtual std::string_view listed_protocol_type() const = 0;
  // No members: the group may be deleted (DeleteGroups), and its offsets
  // deleted while it stays.
  virtual bool is_empty() const = 0;
  virtual bool is_dead() const { return false; }
  // Its committed offsets may expire: nobody consumes with the group.
  virtual bool offsets_may_expire() const { return is_empty(); }
  // The topics its members subscribe to; nullopt when none count (Kafka's
  // rule for groups whose members' subscriptions cannot be read).
  virtual std::optional<std::unordered_set<std::string>> subscribed_topics() const = 0;
  // The records whose tombstones delete the group (its offsets aside).
  virtual std::vector<CoordinatorRecord> tombstones() const = 0;

  const std::string id;
  OffsetMap offsets;
};

using GroupMap = std::map<std::string, std::unique_ptr<Group>, std::less<>>;

// Where the coordinator's records go (__consumer_offsets).
class GroupStore {
 public:
  virtual ~GroupStore() = default;
  // Makes the store usable (creates the topic); false when it cannot be.
  virtual bool ready() = 0;
  // Appends the records to a partition of the offsets topic, all or nothing.
  virtual bool append(int32_t partition, std::span<const CoordinatorRecord> records) = 0;
};

}  // namespace kb::group
