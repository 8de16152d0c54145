#pragma once

// Share groups of KIP-932 (ShareGroupHeartbeat): members that consume the
// same partitions together, each record handed to one member at a time by
// the share partitions (the data side, not here). The group side is a
// simpler cousin of a consumer group: a group epoch that moves when what
// must be assigned changes, a target assignment by the "simple" assignor
// (a partition may go to several members), and members that take their
// target at once (nothing to revoke first: sharing needs no hand-over).
//
// A partition is only assigned once its share state is initialized (its
// start offset set by the share state store): the group lists which
// partitions are initializing and initialized (ShareGroupStatePartitionMetadata)
// and asks the store, through a hook, to initialize the new ones.
//
// Every change is a record (Kafka's ShareGroup* formats) written to
// __consumer_offsets and then replayed into the group; the same replay
// rebuilds groups at start-up.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <variant>
#include <vector>

#include "kb/group/assignor.hpp"
#include "kb/group/consumer_group.hpp"
#include "kb/group/group.hpp"
#include "kb/group/group_context.hpp"
#include "kb/group/records.hpp"

namespace kb::group {

inline constexpr std::string_view kShareProtocolType = "share";

enum class ShareGroupState : uint8_t { kEmpty, kStable, kDead };
std::string_view to_string(ShareGroupState state);

// Share-group records: each key type its own record type, values version 0.
using records::ShareGroupCurrentMemberAssignmentValue;
using records::ShareGroupMemberMetadataValue;
using records::ShareGroupMetadataValue;
using records::ShareGroupStatePartitionMetadataValue;
using records::ShareGroupTargetAssignmentMemberValue;
using records::ShareGroupTargetAssignmentMetadataValue;

inline constexpr int16_t kShareGroupMemberMetadataType =
    records::ShareGroupMemberMetadataKey::kType;
inline constexpr int16_t kShareGroupMetadataType = records::ShareGroupMetadataKey::kType;
inline constexpr int16_t kShareGroupTargetAssignmentMetadataType =
    records::ShareGroupTargetAssignmentMetadataKey::kType;
inline constexpr int16_t kShareGroupTargetAssignmentMemberType =
    records::ShareGroupTargetAssignmentMemberKey::kType;
inline constexpr int16_t kShareGroupCurrentMemberAssignmentType =
    records::ShareGroupCurrentMemberAssignmentKey::kType;
inline constexpr int16_t kShareGroupStatePartitionMetadataType =
    records::ShareGroupStatePartitionMetadataKey::kType;

// A share-group record's key: its type, group and member (types 10, 13, 14).
struct ShareGroupRecordKey {
  int16_t type = 0;
  std::string group;
  std::string member_id;
};
std::vector<uint8_t> encode_share_group_key(int16_t type, std::string_view group,
                                            std::string_view member_id = {});
// A key of one of the share-group types that reads whole; none otherwise.
std::optional<ShareGroupRecordKey> decode_share_group_key(std::span<const uint8_t> bytes);

struct ShareMember {
  std::string id;
  std::optional<std::string> rack_id;
  std::string client_id;
  std::string client_host;
  std::vector<std::string> subscribed_topic_names;
  int32_t member_epoch = 0;
  int32_t previous_member_epoch = 0;
  TopicPartitionSet assigned;
  Millis session_deadline = 0;  // not persisted: restarted at load
};

// Partitions of one topic in the share-state bookkeeping.
struct ShareStateTopic {
  std::string name;
  std::set<int32_t> partitions;
  Millis since = 0;  // when they were asked for (initializing), not persisted
};

// ShareGroupStatePartitionMetadata: which partitions' share state is being
// initialized, which is, and which topics' state is being deleted.
struct ShareStatePartitions {
  std::map<wire::Uuid, ShareStateTopic> initializing;
  std::map<wire::Uuid, ShareStateTopic> initialized;
  std::map<wire::Uuid, std::string> deleting;
  bool empty() const { return initializing.empty() && initialized.empty() && deleting.empty(); }
};

class ShareGroup final : public Group {
 public:
  static constexpr GroupType kType = GroupType::kShare;
  explicit ShareGroup(std::string group_id) : Group(std::move(group_id)) {}

  GroupType type() const override { return kType; }
  std::string_view state_name() const override { return to_string(state()); }
  std::string_view listed_protocol_type() const override { return kShareProtocolType; }
  bool is_empty() const override { return members.empty(); }
  // Share groups keep no committed offsets, and are never removed by the
  // offsets cleanup (only DeleteGroups removes them).
  bool offsets_may_expire() const override { return false; }
  std::optional<std::unordered_set<std::string>> subscribed_topics() const override;
  std::vector<CoordinatorRecord> tombstones() const override;

  ShareGroupState state() const {
    return members.empty() ? ShareGroupState::kEmpty : ShareGroupState::kStable;
  }

  int32_t group_epoch = 0;
  int64_t metadata_hash = 0;
  int32_t assignment_epoch = 0;
  std::map<std::string, ShareMember, std::less<>> members;       // by member id
  std::map<std::string, TopicPartitionSet, std::less<>> target;  // by member id
  ShareStatePartitions state_partitions;
  // The subscribed topics as last looked up (by name), and the topic table
  // version that was at (-1: not since the group was loaded).
  SubscriptionMetadata subscription;
  int64_t metadata_version = -1;
};

// One change to a share group: a record's type, member, and value (none: a
// tombstone).
struct ShareGroupChange {
  using Value =
      std::variant<ShareGroupMetadataValue, ShareGroupMemberMetadataValue,
                   ShareGroupTargetAssignmentMetadataValue, ShareGroupTargetAssignmentMemberValue,
                   ShareGroupCurrentMemberAssignmentValue, ShareGroupStatePartitionMetadataValue>;
  int16_t type = 0;
  std::string member_id;
  std::optional<Value> value;
};

struct ShareHeartbeatParams {
  std::string_view group_id;
  std::string_view member_id;
  int32_t member_epoch = 0;
  std::optional<std::string_view> rack_id;
  std::optional<std::vector<std::string_view>> subscribed_topic_names;
  std::string_view client_id;
  std::string_view client_host;
};

struct ShareHeartbeatResult {
  int16_t error = 0;
  std::optional<std::string> error_message;
  std::optional<std::string> member_id;
  int32_t member_epoch = 0;
  int32_t heartbeat_interval_ms = 0;
  std::optional<TopicPartitionSet> assignment;
};

// What the share state store is asked to initialize: the partitions a share
// group starts consuming, at the group's epoch (Kafka's
// InitializeShareGroupState; the start offset comes from the group's
// share.auto.offset.reset). The store answers later with
// GroupCoordinator::share_partitions_initialized (or _uninitialized on a
// failure), from the event loop.
struct SharePartitionsToInitialize {
  struct Topic {
    wire::Uuid id;
    std::string name;
    std::vector<int32_t> partitions;
  };
  std::string group_id;
  int32_t group_epoch = 0;
  std::vector<Topic> topics;
};
using ShareStateInitializer = std::function<void(const SharePartitionsToInitialize&)>;

// The share protocol's state machine over the context's share groups.
class ShareGroups {
 public:
  explicit ShareGroups(GroupContext& context) : ctx_(context) {}

  ShareHeartbeatResult heartbeat(const ShareHeartbeatParams& params, const TopicsView& topics,
                                 Millis now);
  // Without an initializer (no share state store), partitions count as
  // initialized as soon as they are subscribed.
  void set_initializer(ShareStateInitializer initializer) { initializer_ = std::move(initializer); }
  // The store's answer: these partitions' share state is initialized (true),
  // or could not be (false: they are asked for again on a later heartbeat).
  // NONE, GROUP_ID_NOT_FOUND, or COORDINATOR_NOT_AVAILABLE (the store failed).
  int16_t initialized(std::string_view group_id, const wire::Uuid& topic,
                      std::span<const int32_t> partitions, bool succeeded);
  // The store deleted the topic's share state for the group: neither
  // initialized nor initializing any more. NONE, GROUP_ID_NOT_FOUND or
  // COORDINATOR_NOT_AVAILABLE.
  int16_t deleted(std::string_view group_id, const wire::Uuid& topic);
  // Runs the group's expired sessions and notes its next deadline.
  void expire(ShareGroup& group, Millis now);
  // Replays one record at start-up; false when its value does not read.
  bool load(const ShareGroupRecordKey& key, std::optional<std::span<const uint8_t>> value);
  void finish_load(ShareGroup& group, Millis now);

  // Applies a change to the group (what load() and every write end in).
  static void replay(ShareGroup& group, const ShareGroupChange& change, Millis now = 0);

 private:
  bool commit_changes(std::string_view group_id, std::vector<ShareGroupChange>& changes,
                      Millis now);
  // The changes that remove a member, and bump the group epoch.
  void remove_member(const ShareGroup& group, const ShareMember& member,
                     std::vector<ShareGroupChange>& changes) const;
  void fence_member(ShareGroup& group, const std::string& member_id, std::string_view why,
                    Millis now);
  ShareHeartbeatResult leave(const ShareHeartbeatParams& params, Millis now);

  GroupContext& ctx_;
  ShareStateInitializer initializer_;
};

// The ShareGroupStatePartitionMetadata value of this bookkeeping.
ShareGroupStatePartitionMetadataValue state_partitions_value(const ShareStatePartitions& s);
// A stable hash of the subscribed topics (names, ids, partition counts): the
// group epoch moves when it changes. 0 for none.
int64_t share_metadata_hash(const SubscriptionMetadata& topics);

}  // namespace kb::group
