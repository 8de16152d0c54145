#pragma once

// The classic group coordinator: consumer groups with members, generations,
// a leader that assigns partitions, rebalances, and committed offsets.
//
// Time is given, never read: every call takes `now` (a steady clock in
// milliseconds) and first runs what expired by then (session timeouts,
// rebalance timeouts); next_deadline() says when to call advance() next, so
// the event loop drives it with a timer and never blocks.
//
// JoinGroup and SyncGroup often cannot be answered at once (the rebalance has
// to complete first). They then return no result and a time to give up; the
// caller asks again, with the same request and key, whenever changes() moves
// (or at that time). Asking again is idempotent: a parked join is found by its
// RequestKey (connection and correlation id), so a first join without a
// member id is not taken for a new member the second time.

#include <compare>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "kb/group/protocol_list.hpp"
#include "kb/group/records.hpp"

namespace kb::group {

using Millis = int64_t;  // a steady clock's milliseconds

enum class GroupState : uint8_t {
  kEmpty,
  kPreparingRebalance,
  kCompletingRebalance,
  kStable,
  kDead
};
std::string_view to_string(GroupState state);
bool equals_ignore_case(std::string_view a, std::string_view b);
// Kafka's state names, case-insensitively (ListGroups' states filter).
std::optional<GroupState> parse_group_state(std::string_view name);

// Kafka's broker settings for groups (defaults as Kafka's).
struct GroupConfig {
  int32_t min_session_timeout_ms = 6000;                   // group.min.session.timeout.ms
  int32_t max_session_timeout_ms = 1800000;                // group.max.session.timeout.ms
  int32_t initial_rebalance_delay_ms = 3000;               // group.initial.rebalance.delay.ms
  int32_t max_size = std::numeric_limits<int32_t>::max();  // group.max.size
  int32_t offsets_partitions = 50;                         // offsets.topic.num.partitions
  int32_t max_metadata_bytes = 4096;                       // offset.metadata.max.bytes
  int32_t offsets_segment_bytes = 104857600;               // offsets.topic.segment.bytes
  int64_t offsets_retention_ms = 7LL * 24 * 3600 * 1000;   // offsets.retention.minutes
  int64_t retention_check_interval_ms = 600000;            // offsets.retention.check.interval.ms
};

// Where the coordinator's records go (__consumer_offsets).
class GroupStore {
 public:
  virtual ~GroupStore() = default;
  // Makes the store usable (creates the topic); false when it cannot be.
  virtual bool ready() = 0;
  // Appends the records to a partition of the offsets topic, all or nothing.
  virtual bool append(int32_t partition, std::span<const CoordinatorRecord> records) = 0;
};

// Identifies one request across re-handling.
struct RequestKey {
  uint64_t connection = 0;
  int32_t correlation_id = 0;
  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 misreads the defaulted <=>
  auto operator<=>(const RequestKey&) const = default;
};

struct Member {
  std::string id;
  std::optional<std::string> instance_id;
  std::string client_id;
  std::string client_host;
  int32_t session_timeout_ms = 0;
  int32_t rebalance_timeout_ms = 0;
  // In the member's order of preference; shared with the JoinGroup that
  // brought them (never copied per member). Never null.
  std::shared_ptr<const ProtocolList> protocols = std::make_shared<ProtocolList>();
  std::vector<uint8_t> assignment;
  Millis session_deadline = 0;
  bool awaiting_join = false;              // has joined the rebalance under way
  std::optional<RequestKey> join_request;  // its parked JoinGroup
  bool awaiting_sync = false;              // its SyncGroup waits for the leader's
  int32_t synced_generation = -1;          // the last generation it sent SyncGroup for

  // The member's metadata for a protocol (a lookup), or none.
  std::optional<std::span<const uint8_t>> metadata_for(std::string_view protocol) const;
};

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

struct Group {
  std::string id;
  GroupState state = GroupState::kEmpty;
  int32_t generation = 0;
  std::string protocol_type;            // empty: none (a group only used for commits)
  std::optional<std::string> protocol;  // chosen for the current generation
  std::optional<std::string> leader;
  std::map<std::string, Member, std::less<>> members;              // by member id
  std::map<std::string, std::string, std::less<>> static_members;  // instance id -> member id
  std::map<std::string, Millis, std::less<>> pending_members;      // told MEMBER_ID_REQUIRED
  // PreparingRebalance: when the join completes whoever has rejoined.
  Millis rebalance_deadline = 0;
  bool initial_delay = false;  // a first rebalance still gathering members
  Millis initial_delay_limit = 0;
  // CompletingRebalance/Stable: when members that have not sent SyncGroup are removed.
  std::optional<Millis> sync_deadline;
  OffsetMap offsets;
  // How many members list each protocol name (a member once per name), kept
  // as members come, go and change, as Kafka's ClassicGroup keeps it:
  // checking and choosing protocols is then linear in the protocols named,
  // never members times protocols.
  std::unordered_map<std::string, int32_t, NameHash, std::equal_to<>> protocol_support;
  // Changes to protocol_support not made yet, in order: a member with a big
  // list is counted a slice per loop turn, and whatever reads the counts
  // (checking a joiner's protocols, choosing the group's) waits for them.
  struct CountChange {
    std::shared_ptr<const ProtocolList> list;
    int32_t delta = 0;
    size_t next = 0;  // the first protocol not counted yet
  };
  std::deque<CountChange> counting;

  bool counts_settled() const { return counting.empty(); }

  int32_t max_rebalance_timeout() const;
};

struct ProtocolView {
  std::string_view name;
  std::span<const uint8_t> metadata;
};

struct JoinParams {
  std::string_view group_id;
  std::string_view member_id;
  std::optional<std::string_view> instance_id;
  std::string_view client_id;
  std::string_view client_host;
  int32_t session_timeout_ms = 0;
  int32_t rebalance_timeout_ms = 0;
  std::string_view protocol_type;
  // The protocols: `protocol_list` when given (a JoinGroup read into one),
  // else these views (copied into a list here).
  std::vector<ProtocolView> protocols;
  std::shared_ptr<const ProtocolList> protocol_list;
  // What the caller found comparing protocol_list with `compared_with` (the
  // member's protocols when it read the request): used while the member
  // still has those, so a big list is not compared again in one go.
  std::shared_ptr<const ProtocolList> compared_with;
  bool same_list = false;                // the same protocols in the same order
  bool same_names = false;               // the same set of names
  bool require_known_member_id = false;  // JoinGroup v4+
};

struct JoinResult {
  struct MemberInfo {
    std::string member_id;
    std::optional<std::string> instance_id;
    std::vector<uint8_t> metadata;
  };
  int16_t error = 0;
  int32_t generation = -1;
  std::optional<std::string> protocol_type;
  std::optional<std::string> protocol_name;
  std::string leader;
  std::string member_id;
  bool skip_assignment = false;
  std::vector<MemberInfo> members;  // the leader's only
};

struct SyncParams {
  std::string_view group_id;
  int32_t generation = -1;
  std::string_view member_id;
  std::optional<std::string_view> instance_id;
  std::optional<std::string_view> protocol_type;
  std::optional<std::string_view> protocol_name;
  std::vector<std::pair<std::string_view, std::span<const uint8_t>>> assignments;
};

struct SyncResult {
  int16_t error = 0;
  std::optional<std::string> protocol_type;
  std::optional<std::string> protocol_name;
  std::vector<uint8_t> assignment;
};

// A result now, or none yet: ask again when changes() moves, by wait_until at
// the latest.
template <class Result>
struct Outcome {
  std::optional<Result> result;
  Millis wait_until = 0;
};

struct MemberRef {
  std::string_view member_id;
  std::optional<std::string_view> instance_id;
};

struct CommitParams {
  std::string_view group_id;
  int32_t generation = -1;
  std::string_view member_id;
  std::optional<std::string_view> instance_id;
  bool unknown_group_is_not_found = false;  // OffsetCommit v9+: GROUP_ID_NOT_FOUND
};

struct CommitPartition {
  std::string_view topic;
  int32_t partition = 0;
  int64_t offset = 0;
  int32_t leader_epoch = -1;
  std::optional<std::string_view> metadata;
};

struct TopicPartitionRef {
  std::string_view topic;
  int32_t partition = 0;
};

class GroupCoordinator {
 public:
  explicit GroupCoordinator(GroupConfig config = {}, GroupStore* store = nullptr);

  const GroupConfig& config() const { return config_; }
  int32_t partition_for(std::string_view group_id) const {
    return offsets_partition_for(group_id, config_.offsets_partitions);
  }
  // The offsets topic's partition count when it already exists with another.
  void set_offsets_partitions(int32_t partitions) { config_.offsets_partitions = partitions; }
  // Whether groups can be served (their store is usable).
  bool ready() { return !store_ || store_->ready(); }

  // Runs everything that expired by `now`.
  void advance(Millis now);
  // When advance() next has something to do.
  std::optional<Millis> next_deadline() const;
  // Moves whenever a parked request may have an answer.
  uint64_t changes() const { return changes_; }

  Outcome<JoinResult> join(const RequestKey& key, const JoinParams& params, Millis now);
  // A member's protocols now (null for an unknown group or member): what a
  // JoinGroup read over several turns compares its own with beforehand.
  std::shared_ptr<const ProtocolList> member_protocols(std::string_view group_id,
                                                       std::string_view member_id) const;
  // The parked join may wait no longer: its result, or REBALANCE_IN_PROGRESS.
  JoinResult abandon_join(const RequestKey& key);
  Outcome<SyncResult> sync(const SyncParams& params, Millis now);
  // The parked sync may wait no longer.
  SyncResult abandon_sync(const SyncParams& params);
  int16_t heartbeat(std::string_view group_id, int32_t generation, const MemberRef& member,
                    Millis now);
  // Per member errors; the group's own error is not needed (an unknown group
  // answers UNKNOWN_MEMBER_ID for each).
  std::vector<int16_t> leave(std::string_view group_id, std::span<const MemberRef> members,
                             Millis now);
  // A connection closed: its parked joins are forgotten (the members stay
  // until their session times out).
  void connection_closed(uint64_t connection);

  // Whether a commit may be made as `params` says (member, generation; a
  // group that only holds offsets is created for generation -1): NONE or the
  // group-level error. OffsetCommit and TxnOffsetCommit check with it.
  int16_t validate_offset_commit(const CommitParams& params, Millis now);
  // Group-level error; on NONE, `errors` has one entry per partition.
  int16_t commit(const CommitParams& params, std::span<const CommitPartition> partitions,
                 std::vector<int16_t>& errors, Millis now);

  // DeleteGroups, one group: NONE once the group and its offsets are gone
  // (their tombstones written); INVALID_GROUP_ID, GROUP_ID_NOT_FOUND,
  // NON_EMPTY_GROUP (it has members), or COORDINATOR_NOT_AVAILABLE (the store
  // failed: nothing deleted).
  int16_t delete_group(std::string_view group_id, Millis now);
  // OffsetDelete: a group-level error (INVALID_GROUP_ID, GROUP_ID_NOT_FOUND,
  // NON_EMPTY_GROUP for a group with members outside the consumer protocol,
  // COORDINATOR_NOT_AVAILABLE); on NONE, `errors` has one entry per partition:
  // GROUP_SUBSCRIBED_TO_TOPIC where a member consumes the topic, else NONE
  // (its offset, if any, deleted). An Empty group left without offsets stays
  // until the next offsets cleanup, as in Kafka 4.x.
  int16_t delete_offsets(std::string_view group_id, std::span<const TopicPartitionRef> partitions,
                         std::vector<int16_t>& errors, Millis now);

  using GroupMap = std::map<std::string, Group, std::less<>>;
  const Group* find(std::string_view group_id) const;
  const GroupMap& groups() const { return groups_; }

  // Start-up: replays __consumer_offsets records in log order (a null value is
  // a tombstone), then finish_load() starts the restored members' sessions.
  // What became of the record: used, of a type this coordinator does not
  // keep (it is left in the log), or of a known type it cannot read (a value
  // version newer than it knows, or malformed bytes).
  enum class Loaded : uint8_t { kUsed, kOtherType, kUnreadable };
  Loaded load(std::span<const uint8_t> key, std::optional<std::span<const uint8_t>> value);
  void finish_load(Millis now);

 private:
  struct PendingJoin {
    std::string group_id;
    std::string member_id;
    Millis wait_until = 0;
    std::optional<JoinResult> result;
  };

  Group& create_group(std::string_view group_id);
  Group* find_mutable(std::string_view group_id);
  Outcome<JoinResult> join_new_member(const RequestKey& key, Group& group, const JoinParams& params,
                                      Millis now);
  Outcome<JoinResult> join_known_member(const RequestKey& key, Group& group,
                                        const JoinParams& params, Millis now);
  Outcome<JoinResult> rejoin_static_member(const RequestKey& key, Group& group,
                                           const JoinParams& params, Millis now);
  Outcome<JoinResult> add_member_and_rebalance(const RequestKey& key, Group& group,
                                               const JoinParams& params, std::string member_id,
                                               Millis now);
  Outcome<JoinResult> update_member_and_rebalance(const RequestKey& key, Group& group,
                                                  Member& member, const JoinParams& params,
                                                  Millis now);
  Outcome<JoinResult> park_join(const RequestKey& key, Group& group, Member& member, Millis now);
  JoinResult current_generation_result(const Group& group, const Member& member,
                                       bool skip_assignment) const;
  bool supports_protocols(const Group& group, const JoinParams& params) const;
  // Whether the member's protocols change to params.protocol_list: in order
  // and metadata (`same_list`) and in names (`same_names`).
  static void compare_protocols(const Member& member, const JoinParams& params, bool* same_list,
                                bool* same_names);
  std::optional<std::string> select_protocol(const Group& group) const;
  // UNKNOWN_MEMBER_ID / FENCED_INSTANCE_ID, or NONE with the member.
  int16_t validate_member(Group& group, std::string_view member_id,
                          std::optional<std::string_view> instance_id, Member** member) const;

  void prepare_rebalance(Group& group, Millis now);
  void try_complete_join(Group& group, Millis now);
  void complete_join(Group& group, Millis now);
  void remove_member(Group& group, std::string_view member_id, int16_t parked_join_error);
  void member_left(Group& group, Millis now);
  void expire(Group& group, Millis now);
  void answer_parked_join(Member& member, JoinResult result);

  bool persist_group(const Group& group);
  // Forgets these offsets of the group, once their tombstones are written,
  // and with kDropIt the group itself when it is Empty and left without any
  // (the offsets cleanup and DeleteGroups; OffsetDelete keeps it, as Kafka 4.x).
  enum class Dropped { kNothing /* the store failed */, kOffsets, kGroup };
  enum class GroupLeftEmpty { kDropIt, kKeepIt };
  Dropped drop_offsets(Group& group, std::span<const OffsetMap::iterator> offsets,
                       GroupLeftEmpty left_empty);
  // The group DeleteGroups or OffsetDelete names (after running what expired
  // by `now`): INVALID_GROUP_ID, GROUP_ID_NOT_FOUND, or NONE with `found`.
  int16_t find_to_delete(std::string_view group_id, Millis now, GroupMap::iterator& found);
  // The topics members of a consumer-protocol group subscribe to; nullopt
  // when none count (another protocol type, or a subscription that does not
  // read, Kafka's rule).
  std::optional<std::unordered_set<std::string>> subscribed_topics(const Group& group) const;
  // Drops the offsets of empty groups older than the retention (tombstones
  // written), and groups left with nothing.
  void expire_offsets();
  void note_deadline(Millis at);
  // Counts (delta 1) or uncounts (-1) a member's protocols: a small list at
  // once, a big one (or any behind another) queued for settle_counts.
  void count_protocols(Group& group, const Member& member, int32_t delta);
  // Applies queued count changes, up to a slice of protocols; true when none
  // is left. Otherwise the next slice is due at the next advance (now).
  bool settle_counts(Group& group, Millis now);
  void changed() { ++changes_; }

  GroupConfig config_;
  GroupStore* store_;
  GroupMap groups_;
  std::map<RequestKey, PendingJoin> pending_joins_;
  // No deadline of any group is earlier (it may be earlier than the real next one).
  std::optional<Millis> next_deadline_;
  Millis retention_check_at_ = -1;  // -1: not scheduled yet
  uint64_t changes_ = 0;
};

}  // namespace kb::group
