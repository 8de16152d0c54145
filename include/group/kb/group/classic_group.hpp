#pragma once

// Classic groups (JoinGroup, SyncGroup, Heartbeat, LeaveGroup): members,
// generations, a leader that assigns partitions, stop-the-world rebalances.
//
// JoinGroup and SyncGroup often cannot be answered at once (the rebalance has
// to complete first). They then return no result and a time to give up; the
// caller asks again, with the same request and key, whenever the context's
// changes move (or at that time). Asking again is idempotent: a parked join
// is found by its RequestKey (connection and correlation id), so a first join
// without a member id is not taken for a new member the second time.

#include <compare>
#include <cstdint>
#include <deque>
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

#include "kb/group/group.hpp"
#include "kb/group/group_context.hpp"
#include "kb/group/protocol_list.hpp"

namespace kb::group {

enum class ClassicGroupState : uint8_t {
  kEmpty,
  kPreparingRebalance,
  kCompletingRebalance,
  kStable,
  kDead
};
std::string_view to_string(ClassicGroupState state);
// Kafka's state names, case-insensitively.
std::optional<ClassicGroupState> parse_classic_group_state(std::string_view name);

// Identifies one request across re-handling.
struct RequestKey {
  uint64_t connection = 0;
  int32_t correlation_id = 0;
  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 misreads the defaulted <=>
  auto operator<=>(const RequestKey&) const = default;
};

struct ClassicMember {
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

// A classic group: members join (JoinGroup), the leader assigns (SyncGroup),
// generations change by stop-the-world rebalances.
class ClassicGroup final : public Group {
 public:
  static constexpr GroupType kType = GroupType::kClassic;
  explicit ClassicGroup(std::string group_id) : Group(std::move(group_id)) {}

  GroupType type() const override { return kType; }
  std::string_view state_name() const override { return to_string(state); }
  std::string_view listed_protocol_type() const override { return protocol_type; }
  bool is_empty() const override { return state == ClassicGroupState::kEmpty; }
  bool is_dead() const override { return state == ClassicGroupState::kDead; }
  bool offsets_may_expire() const override { return is_empty() && pending_members.empty(); }
  std::optional<std::unordered_set<std::string>> subscribed_topics() const override;
  std::vector<CoordinatorRecord> tombstones() const override;

  ClassicGroupState state = ClassicGroupState::kEmpty;
  int32_t generation = 0;
  std::string protocol_type;            // empty: none (a group only used for commits)
  std::optional<std::string> protocol;  // chosen for the current generation
  std::optional<std::string> leader;
  std::map<std::string, ClassicMember, std::less<>> members;       // by member id
  std::map<std::string, std::string, std::less<>> static_members;  // instance id -> member id
  std::map<std::string, Millis, std::less<>> pending_members;      // told MEMBER_ID_REQUIRED
  // PreparingRebalance: when the join completes whoever has rejoined.
  Millis rebalance_deadline = 0;
  bool initial_delay = false;  // a first rebalance still gathering members
  Millis initial_delay_limit = 0;
  // CompletingRebalance/Stable: when members that have not sent SyncGroup are removed.
  std::optional<Millis> sync_deadline;
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

// The classic protocol's state machine over the context's classic groups.
class ClassicGroups {
 public:
  explicit ClassicGroups(GroupContext& context) : ctx_(context) {}

  Outcome<JoinResult> join(const RequestKey& key, const JoinParams& params, Millis now);
  std::shared_ptr<const ProtocolList> member_protocols(std::string_view group_id,
                                                       std::string_view member_id) const;
  JoinResult abandon_join(const RequestKey& key);
  Outcome<SyncResult> sync(const SyncParams& params, Millis now);
  SyncResult abandon_sync(const SyncParams& params);
  int16_t heartbeat(std::string_view group_id, int32_t generation, const MemberRef& member,
                    Millis now);
  std::vector<int16_t> leave(std::string_view group_id, std::span<const MemberRef> members,
                             Millis now);
  void connection_closed(uint64_t connection);
  // OffsetCommit's checks for a member of a classic group (its session
  // extended): NONE or the group-level error.
  int16_t validate_commit(ClassicGroup& group, const CommitParams& params, Millis now);
  // Runs the group's expired timers and notes its next deadline.
  void expire(ClassicGroup& group, Millis now);
  // Replays a GroupMetadata record; finish_load starts restored sessions.
  void load(ClassicGroup& group, GroupMetadataValue value);
  void finish_load(ClassicGroup& group, Millis now);

  // Changes of protocol (group.consumer.migration.policy).
  // Whether this request is a JoinGroup parked here (asked again, it is
  // answered here whatever became of its group).
  bool has_parked_join(const RequestKey& key) const { return pending_joins_.contains(key); }
  // The group is about to become a consumer group: its parked joins are
  // answered with `error`, its members told to join again.
  void release(ClassicGroup& group, int16_t error);
  // A consumer group goes back to the classic protocol: `made` (its members,
  // generation, protocol and assignments) takes its place once `records`
  // (the consumer group's tombstones) and its own GroupMetadata record are
  // written, and starts a rebalance when `rebalance` (else it is Stable at
  // its generation). False (nothing changed) when the store failed.
  bool adopt(std::unique_ptr<ClassicGroup> made, std::vector<CoordinatorRecord> records, Millis now,
             bool rebalance = true);

 private:
  struct PendingJoin {
    std::string group_id;
    std::string member_id;
    Millis wait_until = 0;
    std::optional<JoinResult> result;
  };

  ClassicGroup* find(std::string_view group_id) { return ctx_.find_as<ClassicGroup>(group_id); }
  Outcome<JoinResult> join_new_member(const RequestKey& key, ClassicGroup& group,
                                      const JoinParams& params, Millis now);
  Outcome<JoinResult> join_known_member(const RequestKey& key, ClassicGroup& group,
                                        const JoinParams& params, Millis now);
  Outcome<JoinResult> rejoin_static_member(const RequestKey& key, ClassicGroup& group,
                                           const JoinParams& params, Millis now);
  Outcome<JoinResult> add_member_and_rebalance(const RequestKey& key, ClassicGroup& group,
                                               const JoinParams& params, std::string member_id,
                                               Millis now);
  Outcome<JoinResult> update_member_and_rebalance(const RequestKey& key, ClassicGroup& group,
                                                  ClassicMember& member, const JoinParams& params,
                                                  Millis now);
  Outcome<JoinResult> park_join(const RequestKey& key, ClassicGroup& group, ClassicMember& member,
                                Millis now);
  JoinResult current_generation_result(const ClassicGroup& group, const ClassicMember& member,
                                       bool skip_assignment) const;
  bool supports_protocols(const ClassicGroup& group, const JoinParams& params) const;
  // Whether the member's protocols change to params.protocol_list: in order
  // and metadata (`same_list`) and in names (`same_names`).
  static void compare_protocols(const ClassicMember& member, const JoinParams& params,
                                bool* same_list, bool* same_names);
  std::optional<std::string> select_protocol(const ClassicGroup& group) const;
  // UNKNOWN_MEMBER_ID / FENCED_INSTANCE_ID, or NONE with the member.
  int16_t validate_member(ClassicGroup& group, std::string_view member_id,
                          std::optional<std::string_view> instance_id,
                          ClassicMember** member) const;

  void prepare_rebalance(ClassicGroup& group, Millis now);
  void try_complete_join(ClassicGroup& group, Millis now);
  void complete_join(ClassicGroup& group, Millis now);
  void remove_member(ClassicGroup& group, std::string_view member_id, int16_t parked_join_error);
  void member_left(ClassicGroup& group, Millis now);
  void answer_parked_join(ClassicMember& member, JoinResult result);
  bool persist_group(const ClassicGroup& group);
  static CoordinatorRecord metadata_record(const ClassicGroup& group);
  // Counts (delta 1) or uncounts (-1) a member's protocols: a small list at
  // once, a big one (or any behind another) queued for settle_counts.
  void count_protocols(ClassicGroup& group, const ClassicMember& member, int32_t delta);
  // Applies queued count changes, up to a slice of protocols; true when none
  // is left. Otherwise the next slice is due at the next advance (now).
  bool settle_counts(ClassicGroup& group, Millis now);

  GroupContext& ctx_;
  std::map<RequestKey, PendingJoin> pending_joins_;
};

}  // namespace kb::group
