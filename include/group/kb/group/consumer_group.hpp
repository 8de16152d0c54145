#pragma once

// Consumer groups of KIP-848 (ConsumerGroupHeartbeat): no stop-the-world
// rebalances. The group has an epoch that moves whenever what it must assign
// changes (a member joins, leaves or changes its subscription; a subscribed
// topic appears or grows); the coordinator computes a target assignment for
// that epoch with a server-side assignor, and reconciles each member towards
// it on its own heartbeats: a member first gives up (revokes) what it must
// lose, staying at its epoch, then moves to the target epoch and gets what
// it gains, but a partition only once its previous owner no longer lists it.
//
// Every change is a record (Kafka's ConsumerGroup* formats) written to
// __consumer_offsets first and then replayed into the group: the same replay
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
#include <utility>
#include <variant>
#include <vector>

#include "kb/cluster/topic_table.hpp"
#include "kb/group/assignor.hpp"
#include "kb/group/group.hpp"
#include "kb/group/group_context.hpp"
#include "kb/group/records.hpp"
#include "kb/group/topic_regex.hpp"

namespace kb::group {

enum class ConsumerGroupState : uint8_t { kEmpty, kAssigning, kReconciling, kStable, kDead };
std::string_view to_string(ConsumerGroupState state);

// A member's reconciliation state (Kafka's MemberState values, as written in
// ConsumerGroupCurrentMemberAssignment).
enum class MemberState : int8_t {
  kStable = 0,
  kUnrevokedPartitions = 1,
  kUnreleasedPartitions = 2,
  kUnknown = 127,
};

inline constexpr int32_t kLeaveGroupMemberEpoch = -1;
inline constexpr int32_t kLeaveGroupStaticMemberEpoch = -2;

struct ConsumerMember {
  std::string id;
  std::optional<std::string> instance_id;
  std::optional<std::string> rack_id;
  std::string client_id;
  std::string client_host;
  std::vector<std::string> subscribed_topic_names;
  std::optional<std::string> subscribed_topic_regex;
  std::optional<std::string> server_assignor;
  int32_t rebalance_timeout_ms = -1;
  // Reconciliation (ConsumerGroupCurrentMemberAssignment).
  int32_t member_epoch = 0;
  int32_t previous_member_epoch = 0;
  MemberState state = MemberState::kStable;
  TopicPartitionSet assigned;
  TopicPartitionSet pending_revocation;
  // A member that speaks the classic protocol (JoinGroup, SyncGroup) inside
  // the consumer group: its session timeout and protocols, as its JoinGroup
  // gave them (Kafka's ClassicMemberMetadata); none for a consumer-protocol member.
  using ClassicMetadata = ConsumerGroupMemberMetadataValue::ClassicMemberMetadata;
  std::optional<ClassicMetadata> classic;
  // Timers, not persisted: restarted at load.
  Millis session_deadline = 0;
  std::optional<Millis> revocation_deadline;  // rebalance timeout while revoking
  // A classic member told to rejoin (REBALANCE_IN_PROGRESS) must send its
  // JoinGroup, and after that its SyncGroup, within its rebalance timeout.
  std::optional<Millis> join_deadline;
  std::optional<Millis> sync_deadline;

  bool uses_classic_protocol() const { return classic.has_value(); }
  // The session timeout that applies to it: a classic member's own, else
  // the group's (`group_session_timeout_ms`).
  int32_t session_timeout_ms(int32_t group_session_timeout_ms) const {
    return classic ? classic->session_timeout_ms : group_session_timeout_ms;
  }
};

// The subscribed topics as the group last assigned them.
struct SubscribedTopic {
  wire::Uuid id;
  int32_t partitions = 0;
  friend bool operator==(const SubscribedTopic&, const SubscribedTopic&) = default;
};
using SubscriptionMetadata = std::map<std::string, SubscribedTopic, std::less<>>;

// A regular expression as last resolved (Kafka 4's
// ConsumerGroupRegularExpression record): the topics it matched, at which
// metadata version, and when.
struct ResolvedRegex {
  std::vector<std::string> topics;
  int64_t version = 0;
  int64_t timestamp = 0;
};

class ConsumerGroup final : public Group {
 public:
  static constexpr GroupType kType = GroupType::kConsumer;
  explicit ConsumerGroup(std::string group_id) : Group(std::move(group_id)) {}

  GroupType type() const override { return kType; }
  std::string_view state_name() const override { return to_string(state()); }
  std::string_view listed_protocol_type() const override { return kConsumerProtocolType; }
  bool is_empty() const override { return members.empty(); }
  std::optional<std::unordered_set<std::string>> subscribed_topics() const override;
  std::vector<CoordinatorRecord> tombstones() const override;

  ConsumerGroupState state() const;
  // The epoch of the member that holds the partition (assigned or still
  // revoking), or -1 when it is free.
  int32_t partition_epoch(const wire::Uuid& topic, int32_t partition) const;
  // The assignor the group uses: the members' choice (the most named, ties
  // to the first name), else the broker's default.
  std::string assignor(const GroupConfig& config) const;

  int32_t group_epoch = 0;
  int32_t assignment_epoch = 0;
  std::map<std::string, ConsumerMember, std::less<>> members;      // by member id
  std::map<std::string, std::string, std::less<>> static_members;  // instance id -> member id
  std::map<std::string, TopicPartitionSet, std::less<>> target;    // by member id
  SubscriptionMetadata subscription_metadata;
  // Who holds each partition: the holder's member epoch.
  std::map<std::pair<wire::Uuid, int32_t>, int32_t> partition_epochs;
  // The topic table version the subscription metadata was computed at.
  int64_t metadata_version = -1;
  // The members' regular expressions, resolved (by expression).
  std::map<std::string, ResolvedRegex, std::less<>> resolved_regexes;

  // How many members speak the classic protocol.
  size_t classic_member_count() const;
  // Whether a classic member offering these protocols may join (Kafka's
  // rule): of the consumer protocol type, and sharing a protocol name with
  // every classic member already in.
  bool supports_classic_protocols(std::string_view protocol_type,
                                  const std::vector<std::string_view>& names) const;
  // Whether the member's target holds a partition someone else still holds.
  bool waiting_on_unreleased_partition(const ConsumerMember& member) const;
};

struct ConsumerHeartbeatParams {
  std::string_view group_id;
  std::string_view member_id;
  int32_t member_epoch = 0;
  std::optional<std::string_view> instance_id;
  std::optional<std::string_view> rack_id;
  int32_t rebalance_timeout_ms = -1;
  std::optional<std::vector<std::string_view>> subscribed_topic_names;
  std::optional<std::string_view> subscribed_topic_regex;
  std::optional<std::string_view> server_assignor;
  std::optional<std::vector<ConsumerGroupTopicPartitions>> owned;
  std::string_view client_id;
  std::string_view client_host;
  int16_t version = 0;
  // Which topics a regular expression may resolve to when this heartbeat
  // has the subscriptions resolved again (Kafka leaves out what its
  // principal may not describe); null: every topic.
  std::function<bool(std::string_view topic)> may_describe;
};

struct ConsumerHeartbeatResult {
  int16_t error = 0;
  std::optional<std::string> error_message;
  std::optional<std::string> member_id;
  int32_t member_epoch = 0;
  int32_t heartbeat_interval_ms = 0;
  std::optional<TopicPartitionSet> assignment;
};

// The topics a heartbeat sees, and a version that moves whenever they change
// (the subscription metadata is recomputed only then).
struct TopicsView {
  const cluster::TopicTable* topics = nullptr;
  int64_t version = 0;
};

// One change to a consumer group: a record's type, member (types 5, 7, 8),
// and value (none: a tombstone).
struct ConsumerGroupChange {
  using Value =
      std::variant<ConsumerGroupMetadataValue, ConsumerGroupPartitionMetadataValue,
                   ConsumerGroupMemberMetadataValue, ConsumerGroupTargetAssignmentMetadataValue,
                   ConsumerGroupTargetAssignmentMemberValue,
                   ConsumerGroupCurrentMemberAssignmentValue, ConsumerGroupRegularExpressionValue>;
  int16_t type = 0;
  std::string member_id;  // or the regular expression (type 16)
  std::optional<Value> value;
};

// A classic member's JoinGroup, SyncGroup, Heartbeat and LeaveGroup served by
// a consumer group (the group moved to the consumer protocol while it had
// classic members: they keep working until they leave).
struct ClassicJoin {
  std::string_view group_id;
  std::string_view member_id;
  std::optional<std::string_view> instance_id;
  std::string_view client_id;
  std::string_view client_host;
  int32_t session_timeout_ms = 0;
  int32_t rebalance_timeout_ms = 0;
  std::string_view protocol_type;
  std::vector<std::pair<std::string_view, std::span<const uint8_t>>> protocols;
  bool require_known_member_id = false;  // JoinGroup v4+
};
struct ClassicJoinResult {
  int16_t error = 0;
  std::string member_id;
  int32_t generation = -1;
  std::optional<std::string> protocol_type;
  std::optional<std::string> protocol_name;
};
struct ClassicSync {
  std::string_view group_id;
  int32_t generation = -1;
  std::string_view member_id;
  std::optional<std::string_view> instance_id;
  std::optional<std::string_view> protocol_type;
  std::optional<std::string_view> protocol_name;
};
struct ClassicSyncResult {
  int16_t error = 0;
  std::optional<std::string> protocol_type;
  std::optional<std::string> protocol_name;
  std::vector<uint8_t> assignment;
};
struct ClassicMemberRef {
  std::string_view member_id;
  std::optional<std::string_view> instance_id;
};

// The consumer protocol's state machine over the context's consumer groups.
class ConsumerGroups {
 public:
  explicit ConsumerGroups(GroupContext& context) : ctx_(context) {}

  // Called when the last consumer-protocol member of a group that still has
  // classic members leaves or is fenced (`leaving`), or was replaced by a
  // classic static member (`leaving` empty): true when the group went back to
  // the classic protocol instead (the group object is then gone), rebalancing
  // when `rebalance`.
  using Downgrade = std::function<bool(ConsumerGroup& group, const std::string& leaving, Millis now,
                                       bool rebalance)>;
  void set_downgrade(Downgrade downgrade) { downgrade_ = std::move(downgrade); }

  // The classic protocol served by a consumer group with members.
  ClassicJoinResult classic_join(ConsumerGroup& group, const ClassicJoin& params,
                                 const TopicsView& topics, Millis now);
  ClassicSyncResult classic_sync(ConsumerGroup& group, const ClassicSync& params,
                                 const cluster::TopicTable* topics, Millis now);
  int16_t classic_heartbeat(ConsumerGroup& group, int32_t generation,
                            const ClassicMemberRef& member, Millis now);
  std::vector<int16_t> classic_leave(ConsumerGroup& group,
                                     std::span<const ClassicMemberRef> members);

  ConsumerHeartbeatResult heartbeat(const ConsumerHeartbeatParams& params, const TopicsView& topics,
                                    Millis now);
  // The heartbeat's own checks (Kafka's, in its order): its error, or none.
  std::optional<ConsumerHeartbeatResult> check_request(const ConsumerHeartbeatParams& params) const;
  // OffsetCommit's and OffsetFetch's checks for a consumer group: NONE,
  // UNKNOWN_MEMBER_ID, STALE_MEMBER_EPOCH or UNSUPPORTED_VERSION.
  int16_t validate_commit(const ConsumerGroup& group, const CommitParams& params) const;
  int16_t validate_fetch(const ConsumerGroup& group, std::optional<std::string_view> member_id,
                         int32_t member_epoch) const;
  // Runs the group's expired timers (sessions, rebalance timeouts) and notes
  // its next deadline.
  void expire(ConsumerGroup& group, Millis now);
  // Replays one record at start-up; false when its value does not read.
  bool load(const ConsumerGroupRecordKey& key, std::optional<std::span<const uint8_t>> value);
  void finish_load(ConsumerGroup& group, Millis now);

  // Applies a change to the group (what load() and every write end in).
  static void replay(ConsumerGroup& group, const ConsumerGroupChange& change);

 private:
  // Writes the changes, then replays them; false (nothing changed) when the
  // store failed.
  bool commit_changes(std::string_view group_id, std::vector<ConsumerGroupChange>& changes);
  // The changes that remove a member, and bump the group epoch.
  void remove_member(const ConsumerGroup& group, const ConsumerMember& member,
                     std::vector<ConsumerGroupChange>& changes) const;
  void fence_member(ConsumerGroup& group, const std::string& member_id, std::string_view why,
                    Millis now);
  ConsumerHeartbeatResult leave(ConsumerGroup& group, const ConsumerHeartbeatParams& params,
                                Millis now);
  // What a heartbeat or a classic join changes, from the member as it was
  // (`member`) to as it is now (`updated`): its metadata, the group's
  // subscription metadata and epoch, a new target assignment when the epoch
  // moved past the last, and the member reconciled one step (returned).
  ConsumerMember update_member(
      ConsumerGroup& group, const ConsumerMember& member, const ConsumerMember& updated,
      bool is_new, const ConsumerMember* replaced, const TopicsView& topics,
      const std::optional<std::vector<ConsumerGroupTopicPartitions>>& owned,
      std::vector<ConsumerGroupChange>& changes,
      const std::function<bool(std::string_view)>& may_describe = {}) const;
  // The regular-expression records the members' expressions need (the
  // member given replacing the one named `replacing`, or, without one, the
  // member named leaving): each expression in use resolved against the
  // topics when that changed it, and a tombstone for each no one uses.
  void regex_changes(const ConsumerGroup& group, const ConsumerMember* updated,
                     std::string_view replacing, const TopicsView* topics,
                     std::vector<ConsumerGroupChange>& changes,
                     const std::function<bool(std::string_view)>& may_describe = {}) const;
  // Subscription metadata for the members' subscriptions (the member given
  // replacing its old self).
  SubscriptionMetadata compute_subscription_metadata(
      const ConsumerGroup& group, const ConsumerMember* updated, const TopicsView& topics,
      const std::function<bool(std::string_view)>& may_describe = {}) const;

  // The classic member the request names: UNKNOWN_MEMBER_ID,
  // FENCED_INSTANCE_ID, or NONE with the member.
  int16_t find_classic_member(ConsumerGroup& group, std::string_view member_id,
                              std::optional<std::string_view> instance_id,
                              ConsumerMember** member) const;
  // A classic member must rejoin: it has its rebalance timeout to (once per
  // request to rejoin).
  void expect_rejoin(ConsumerMember& member, Millis now);
  // Removes a consumer-protocol member, or gives the group back to its
  // classic members when it was the last one and the policy allows.
  // False when the store failed.
  bool remove_or_downgrade(ConsumerGroup& group, const std::string& member_id, Millis now);

  GroupContext& ctx_;
  Downgrade downgrade_;
};

// Whether the group may go back to the classic protocol when this member
// leaves (Kafka's rule): everyone else speaks it, someone is left, the
// policy allows downgrades, and the classic group size is not exceeded.
bool may_downgrade_without(const ConsumerGroup& group, std::string_view leaving,
                           const GroupConfig& config);
// Whether it may when a classic static member takes the place of `replaced`
// (Kafka's rule): everyone else speaks the classic protocol, the policy
// allows downgrades, and the classic group size is not exceeded.
bool may_downgrade_replacing(const ConsumerGroup& group, std::string_view replaced,
                             const GroupConfig& config);

// Member epoch checks of a heartbeat (Kafka's rule): FENCED_MEMBER_EPOCH for
// an epoch ahead of the member's, or behind it unless it is the previous one
// and the member owns no more than it is assigned.
int16_t check_member_epoch(const ConsumerMember& member, int32_t received,
                           const std::optional<std::vector<ConsumerGroupTopicPartitions>>& owned);

// The next state of a member towards the target assignment (Kafka's
// CurrentAssignmentBuilder); `owned` is what its heartbeat lists (none: not
// said). `partition_epoch` tells who else holds a partition.
ConsumerMember reconcile(const ConsumerMember& member, int32_t target_epoch,
                         const TopicPartitionSet& target, const ConsumerGroup& group,
                         const std::optional<std::vector<ConsumerGroupTopicPartitions>>& owned);

}  // namespace kb::group
