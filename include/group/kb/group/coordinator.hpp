#pragma once

// The group coordinator: groups of every kind (classic_group.hpp, and
// consumer groups of KIP-848) in one map, and the committed offsets all
// kinds keep alike (OffsetCommit, OffsetFetch, DeleteGroups, OffsetDelete,
// the offsets cleanup), written to and replayed from __consumer_offsets.
//
// Time is given, never read: every call takes `now` (a steady clock in
// milliseconds) and first runs what expired by then (session timeouts,
// rebalance timeouts); next_deadline() says when to call advance() next, so
// the event loop drives it with a timer and never blocks. Parked requests
// (JoinGroup, SyncGroup) are asked again whenever changes() moves.

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "kb/group/classic_group.hpp"
#include "kb/group/consumer_group.hpp"
#include "kb/group/group.hpp"
#include "kb/group/group_context.hpp"
#include "kb/group/records.hpp"
#include "kb/group/share_group.hpp"

namespace kb::group {

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
  // The kinds' state machines hold the shared context by reference.
  GroupCoordinator(const GroupCoordinator&) = delete;
  GroupCoordinator& operator=(const GroupCoordinator&) = delete;

  const GroupConfig& config() const { return ctx_.config; }
  int32_t partition_for(std::string_view group_id) const { return ctx_.partition_for(group_id); }
  // The offsets topic's partition count when it already exists with another.
  void set_offsets_partitions(int32_t partitions) { ctx_.config.offsets_partitions = partitions; }
  // Whether groups can be served (their store is usable).
  bool ready() { return ctx_.store == nullptr || ctx_.store->ready(); }

  // Runs everything that expired by `now`.
  void advance(Millis now);
  // When advance() next has something to do.
  std::optional<Millis> next_deadline() const;
  // Moves whenever a parked request may have an answer.
  uint64_t changes() const { return ctx_.changes; }

  // A consumer group with members serves classic members too (it became one
  // while they were in it): `topics` is what their joins are assigned from.
  Outcome<JoinResult> join(const RequestKey& key, const JoinParams& params, Millis now,
                           const TopicsView& topics = {});
  // A member's protocols now (null for an unknown group or member): what a
  // JoinGroup read over several turns compares its own with beforehand.
  std::shared_ptr<const ProtocolList> member_protocols(std::string_view group_id,
                                                       std::string_view member_id) const;
  // The parked join may wait no longer: its result, or REBALANCE_IN_PROGRESS.
  JoinResult abandon_join(const RequestKey& key);
  Outcome<SyncResult> sync(const SyncParams& params, Millis now,
                           const cluster::TopicTable* topics = nullptr);
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

  // ShareGroupHeartbeat (KIP-932): answered at once.
  ShareHeartbeatResult share_heartbeat(const ShareHeartbeatParams& params, const TopicsView& topics,
                                       Millis now);
  // Whether the member is one of the share group's now. (ShareFetch and
  // ShareAcknowledge do not ask: Kafka 4.4 serves any member id there, its
  // share sessions being what binds a member to its records.)
  bool is_share_member(std::string_view group_id, std::string_view member_id, Millis now);
  // The share state store's hooks: asked to initialize the share state of
  // partitions a share group starts consuming (none set: they count as
  // initialized at once), and told the share state of a deleted share group's
  // partitions may go.
  using ShareStateDeleter =
      std::function<void(std::string_view group_id, const TopicPartitionSet& partitions)>;
  void set_share_state_hooks(ShareStateInitializer initializer, ShareStateDeleter deleter) {
    share_.set_initializer(std::move(initializer));
    share_state_deleter_ = std::move(deleter);
  }
  // The store's answer to an initialization: done (succeeded) or failed
  // (asked again later). NONE, GROUP_ID_NOT_FOUND or COORDINATOR_NOT_AVAILABLE.
  int16_t share_partitions_initialized(std::string_view group_id, const wire::Uuid& topic_id,
                                       std::span<const int32_t> partitions, bool succeeded);
  // The store deleted the group's share state of a topic
  // (DeleteShareGroupOffsets): it is no longer initialized. NONE,
  // GROUP_ID_NOT_FOUND or COORDINATOR_NOT_AVAILABLE.
  int16_t share_partitions_deleted(std::string_view group_id, const wire::Uuid& topic_id);

  // ConsumerGroupHeartbeat (KIP-848): answered at once.
  ConsumerHeartbeatResult consumer_heartbeat(const ConsumerHeartbeatParams& params,
                                             const TopicsView& topics, Millis now);

  // Whether a commit may be made as `params` says (member, generation or
  // member epoch; a group that only holds offsets is created for generation
  // -1): NONE or the group-level error. OffsetCommit and TxnOffsetCommit
  // check with it.
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

  // A group of any kind, or of one kind.
  const Group* find(std::string_view group_id) const { return ctx_.find(group_id); }
  const ClassicGroup* find_classic(std::string_view group_id) const {
    return ctx_.find_as<ClassicGroup>(group_id);
  }
  const ConsumerGroup* find_consumer(std::string_view group_id) const {
    return ctx_.find_as<ConsumerGroup>(group_id);
  }
  const ShareGroup* find_share(std::string_view group_id) const {
    return ctx_.find_as<ShareGroup>(group_id);
  }
  const GroupMap& groups() const { return ctx_.groups; }
  // OffsetFetch v9+ names the member and its epoch: NONE, UNKNOWN_MEMBER_ID
  // or STALE_MEMBER_EPOCH for a consumer group's member (other kinds: NONE).
  int16_t validate_fetch(std::string_view group_id, std::optional<std::string_view> member_id,
                         int32_t member_epoch, Millis now);

  // Start-up: replays __consumer_offsets records in log order (a null value is
  // a tombstone), then finish_load() starts the restored members' sessions.
  // What became of the record: used, of a type this coordinator does not
  // keep (it is left in the log), or of a known type it cannot read (a value
  // version newer than it knows, or malformed bytes).
  enum class Loaded : uint8_t { kUsed, kOtherType, kUnreadable };
  Loaded load(std::span<const uint8_t> key, std::optional<std::span<const uint8_t>> value);
  void finish_load(Millis now);

 private:
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
  // Drops the offsets of empty groups older than the retention (tombstones
  // written), and groups left with nothing.
  void expire_offsets();
  template <class G>
  void forget(std::string_view group_id);
  // Changes of protocol (group_migration.cpp). A classic group with members
  // becomes a consumer group: NONE, GROUP_ID_NOT_FOUND (not allowed or not
  // possible: it stays classic) or COORDINATOR_NOT_AVAILABLE.
  int16_t upgrade(ClassicGroup& classic, const TopicsView& topics, Millis now);
  // A consumer group left with classic members only goes back to the
  // classic protocol as `leaving` goes; false when it stays.
  bool downgrade(ConsumerGroup& group, const std::string& leaving, Millis now);
  // JoinGroup of a classic member to a consumer group.
  Outcome<JoinResult> join_consumer_group(ConsumerGroup& group, const JoinParams& params,
                                          const TopicsView& topics, Millis now);
  // OffsetCommit's checks by the group's kind: NONE or the group-level error.
  int16_t validate_commit(Group& group, const CommitParams& params, Millis now);

  GroupContext ctx_;
  ClassicGroups classic_;
  ConsumerGroups consumer_;
  ShareGroups share_;
  ShareStateDeleter share_state_deleter_;
  Millis retention_check_at_ = -1;  // -1: not scheduled yet
};

}  // namespace kb::group
