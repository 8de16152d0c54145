#include "kb/group/coordinator.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <set>
#include <unordered_set>

#include <spdlog/spdlog.h>

#include "kb/protocol/error_code.hpp"

namespace kb::group {

namespace {

using protocol::ErrorCode;
using protocol::to_wire;

constexpr int16_t kNone = 0;

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

bool equals_ignore_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view to_string(GroupType type) {
  switch (type) {
    case GroupType::kClassic:
      return "classic";
    case GroupType::kConsumer:
      return "consumer";
    case GroupType::kShare:
      return "share";
  }
  return "classic";
}

std::optional<GroupType> parse_group_type(std::string_view name) {
  for (auto t : {GroupType::kClassic, GroupType::kConsumer, GroupType::kShare})
    if (equals_ignore_case(name, to_string(t))) return t;
  return std::nullopt;
}

GroupCoordinator::GroupCoordinator(GroupConfig config, GroupStore* store)
    : ctx_(std::move(config), store), classic_(ctx_), consumer_(ctx_), share_(ctx_) {
  consumer_.set_downgrade([this](ConsumerGroup& group, const std::string& leaving, Millis now) {
    return downgrade(group, leaving, now);
  });
}

// A group's tombstone replayed: the group is gone, but offsets not
// tombstoned with it (those of a group that changed kind) stay, in an empty
// group of the same kind.
template <class G>
void GroupCoordinator::forget(std::string_view group_id) {
  G* group = ctx_.find_as<G>(group_id);
  if (group == nullptr) return;
  OffsetMap offsets = std::move(group->offsets);
  ctx_.groups.erase(ctx_.groups.find(group_id));
  if (!offsets.empty()) ctx_.make<G>(group_id).offsets = std::move(offsets);
}

std::optional<Millis> GroupCoordinator::next_deadline() const {
  const auto& next = ctx_.next_deadline;
  if (retention_check_at_ < 0) return next;
  return next ? std::min(*next, retention_check_at_) : retention_check_at_;
}

GroupCoordinator::Dropped GroupCoordinator::drop_offsets(
    Group& group, std::span<const OffsetMap::iterator> offsets, GroupLeftEmpty left_empty) {
  std::vector<CoordinatorRecord> tombstones;
  tombstones.reserve(offsets.size() + 1);
  for (auto o : offsets)
    tombstones.push_back(
        {encode_key(OffsetCommitKey{group.id, o->first.first, o->first.second}), std::nullopt});
  const bool drop_group = left_empty == GroupLeftEmpty::kDropIt && group.is_empty() &&
                          offsets.size() == group.offsets.size();
  if (drop_group)
    for (auto& t : group.tombstones()) tombstones.push_back(std::move(t));
  if (tombstones.empty()) return Dropped::kOffsets;
  if (!ctx_.append(group.id, tombstones)) {
    spdlog::error("group {}: writing tombstones to {} failed", group.id, kOffsetsTopic);
    return Dropped::kNothing;
  }
  for (auto o : offsets) group.offsets.erase(o);
  ctx_.changed();
  return drop_group ? Dropped::kGroup : Dropped::kOffsets;
}

void GroupCoordinator::expire_offsets() {
  const int64_t now = wall_ms();
  for (auto it = ctx_.groups.begin(); it != ctx_.groups.end();) {
    Group& group = *it->second;
    // Only a group nobody consumes with loses its offsets (Kafka's rule).
    if (!group.offsets_may_expire()) {
      ++it;
      continue;
    }
    std::vector<OffsetMap::iterator> expired;
    for (auto o = group.offsets.begin(); o != group.offsets.end(); ++o)
      if (now - o->second.commit_timestamp >= ctx_.config.offsets_retention_ms)
        expired.push_back(o);
    const size_t count = expired.size();
    const Dropped dropped = drop_offsets(group, expired, GroupLeftEmpty::kDropIt);
    if (count > 0 || dropped == Dropped::kGroup)
      spdlog::info("group {}: {} committed offsets expired{}", group.id, count,
                   dropped == Dropped::kGroup ? ", group removed" : "");
    it = dropped == Dropped::kGroup ? ctx_.groups.erase(it) : std::next(it);
  }
}

void GroupCoordinator::advance(Millis now) {
  if (retention_check_at_ < 0) retention_check_at_ = now + ctx_.config.retention_check_interval_ms;
  if (now >= retention_check_at_) {
    retention_check_at_ = now + ctx_.config.retention_check_interval_ms;
    expire_offsets();
  }
  if (!ctx_.next_deadline || now < *ctx_.next_deadline) return;
  ctx_.next_deadline.reset();
  for (auto& [id, group] : ctx_.groups) {
    switch (group->type()) {
      case GroupType::kClassic:
        classic_.expire(static_cast<ClassicGroup&>(*group), now);
        break;
      case GroupType::kConsumer:
        consumer_.expire(static_cast<ConsumerGroup&>(*group), now);
        break;
      case GroupType::kShare:
        share_.expire(static_cast<ShareGroup&>(*group), now);
        break;
    }
  }
}

// The classic protocol: each call runs what expired first. Its requests to
// a consumer group go to that group (classic members inside it).
Outcome<JoinResult> GroupCoordinator::join(const RequestKey& key, const JoinParams& params,
                                           Millis now, const TopicsView& topics) {
  advance(now);
  const bool valid_session = params.session_timeout_ms >= ctx_.config.min_session_timeout_ms &&
                             params.session_timeout_ms <= ctx_.config.max_session_timeout_ms;
  if (!classic_.has_parked_join(key) && valid_session)
    if (ConsumerGroup* group = ctx_.find_as<ConsumerGroup>(params.group_id);
        group != nullptr && !group->is_empty())
      return join_consumer_group(*group, params, topics, now);
  return classic_.join(key, params, now);
}

Outcome<JoinResult> GroupCoordinator::join_consumer_group(ConsumerGroup& group,
                                                          const JoinParams& params,
                                                          const TopicsView& topics, Millis now) {
  ClassicJoin join;
  join.group_id = params.group_id;
  join.member_id = params.member_id;
  join.instance_id = params.instance_id;
  join.client_id = params.client_id;
  join.client_host = params.client_host;
  join.session_timeout_ms = params.session_timeout_ms;
  join.rebalance_timeout_ms = params.rebalance_timeout_ms;
  join.protocol_type = params.protocol_type;
  join.require_known_member_id = params.require_known_member_id;
  if (params.protocol_list) {
    const ProtocolList& list = *params.protocol_list;
    for (size_t i = 0; i < list.size(); ++i)
      join.protocols.emplace_back(list.name(i), list.metadata(i));
  } else {
    for (const auto& p : params.protocols) join.protocols.emplace_back(p.name, p.metadata);
  }
  ClassicJoinResult joined = consumer_.classic_join(group, join, topics, now);
  JoinResult r;
  r.error = joined.error;
  r.member_id = std::move(joined.member_id);
  r.generation = joined.generation;
  r.protocol_type = std::move(joined.protocol_type);
  r.protocol_name = std::move(joined.protocol_name);
  return {std::move(r), now};
}

std::shared_ptr<const ProtocolList> GroupCoordinator::member_protocols(
    std::string_view group_id, std::string_view member_id) const {
  return classic_.member_protocols(group_id, member_id);
}

ShareHeartbeatResult GroupCoordinator::share_heartbeat(const ShareHeartbeatParams& params,
                                                       const TopicsView& topics, Millis now) {
  advance(now);
  return share_.heartbeat(params, topics, now);
}

bool GroupCoordinator::is_share_member(std::string_view group_id, std::string_view member_id,
                                       Millis now) {
  advance(now);
  const ShareGroup* group = ctx_.find_as<ShareGroup>(group_id);
  return group != nullptr && group->members.contains(member_id);
}

int16_t GroupCoordinator::share_partitions_initialized(std::string_view group_id,
                                                       const wire::Uuid& topic_id,
                                                       std::span<const int32_t> partitions,
                                                       bool succeeded) {
  return share_.initialized(group_id, topic_id, partitions, succeeded);
}

int16_t GroupCoordinator::share_partitions_deleted(std::string_view group_id,
                                                   const wire::Uuid& topic_id) {
  return share_.deleted(group_id, topic_id);
}

JoinResult GroupCoordinator::abandon_join(const RequestKey& key) {
  return classic_.abandon_join(key);
}

Outcome<SyncResult> GroupCoordinator::sync(const SyncParams& params, Millis now,
                                           const cluster::TopicTable* topics) {
  advance(now);
  if (ConsumerGroup* group = ctx_.find_as<ConsumerGroup>(params.group_id);
      group != nullptr && !group->is_empty()) {
    ClassicSync sync{params.group_id,    params.generation,    params.member_id,
                     params.instance_id, params.protocol_type, params.protocol_name};
    ClassicSyncResult synced = consumer_.classic_sync(*group, sync, topics, now);
    SyncResult r;
    r.error = synced.error;
    r.protocol_type = std::move(synced.protocol_type);
    r.protocol_name = std::move(synced.protocol_name);
    r.assignment = std::move(synced.assignment);
    return {std::move(r), now};
  }
  return classic_.sync(params, now);
}

SyncResult GroupCoordinator::abandon_sync(const SyncParams& params) {
  return classic_.abandon_sync(params);
}

int16_t GroupCoordinator::heartbeat(std::string_view group_id, int32_t generation,
                                    const MemberRef& member, Millis now) {
  advance(now);
  if (ConsumerGroup* group = ctx_.find_as<ConsumerGroup>(group_id))
    return consumer_.classic_heartbeat(*group, generation, {member.member_id, member.instance_id},
                                       now);
  return classic_.heartbeat(group_id, generation, member, now);
}

std::vector<int16_t> GroupCoordinator::leave(std::string_view group_id,
                                             std::span<const MemberRef> members, Millis now) {
  advance(now);
  if (ConsumerGroup* group = ctx_.find_as<ConsumerGroup>(group_id)) {
    std::vector<ClassicMemberRef> refs;
    refs.reserve(members.size());
    for (const auto& m : members) refs.push_back({m.member_id, m.instance_id});
    return consumer_.classic_leave(*group, refs);
  }
  return classic_.leave(group_id, members, now);
}

void GroupCoordinator::connection_closed(uint64_t connection) {
  classic_.connection_closed(connection);
}

int16_t GroupCoordinator::validate_commit(Group& group, const CommitParams& params, Millis now) {
  switch (group.type()) {
    case GroupType::kClassic:
      return classic_.validate_commit(static_cast<ClassicGroup&>(group), params, now);
    case GroupType::kConsumer:
      return consumer_.validate_commit(static_cast<ConsumerGroup&>(group), params);
    case GroupType::kShare:
      return to_wire(ErrorCode::kGroupIdNotFound);  // share groups commit no offsets
  }
  return kNone;
}

ConsumerHeartbeatResult GroupCoordinator::consumer_heartbeat(const ConsumerHeartbeatParams& params,
                                                             const TopicsView& topics, Millis now) {
  advance(now);
  // A consumer-protocol member joining a classic group with members moves
  // the group to the consumer protocol first, when the policy allows.
  if (params.member_epoch == 0 && !consumer_.check_request(params))
    if (ClassicGroup* classic = ctx_.find_as<ClassicGroup>(params.group_id);
        classic != nullptr && !classic->is_empty())
      if (upgrade(*classic, topics, now) == to_wire(ErrorCode::kCoordinatorNotAvailable)) {
        ConsumerHeartbeatResult r;
        r.error = to_wire(ErrorCode::kCoordinatorNotAvailable);
        return r;
      }
  return consumer_.heartbeat(params, topics, now);
}

int16_t GroupCoordinator::validate_fetch(std::string_view group_id,
                                         std::optional<std::string_view> member_id,
                                         int32_t member_epoch, Millis now) {
  advance(now);
  if (const ConsumerGroup* group = ctx_.find_as<ConsumerGroup>(group_id))
    return consumer_.validate_fetch(*group, member_id, member_epoch);
  if (ctx_.find_as<ShareGroup>(group_id) != nullptr) return to_wire(ErrorCode::kGroupIdNotFound);
  return kNone;
}

int16_t GroupCoordinator::validate_offset_commit(const CommitParams& params, Millis now) {
  advance(now);
  Group* group = ctx_.find(params.group_id);
  if (!group) {
    if (params.generation >= 0)
      return to_wire(params.unknown_group_is_not_found ? ErrorCode::kGroupIdNotFound
                                                       : ErrorCode::kIllegalGeneration);
    // A commit outside group management (generation -1): a group that only
    // holds offsets.
    ctx_.make<ClassicGroup>(params.group_id);
    return kNone;
  }
  return validate_commit(*group, params, now);
}

int16_t GroupCoordinator::commit(const CommitParams& params,
                                 std::span<const CommitPartition> partitions,
                                 std::vector<int16_t>& errors, Millis now) {
  if (int16_t e = validate_offset_commit(params, now); e != kNone) return e;
  Group* group = ctx_.find(params.group_id);

  errors.assign(partitions.size(), kNone);
  std::vector<CoordinatorRecord> records;
  records.reserve(partitions.size());
  const int64_t timestamp = wall_ms();
  for (size_t i = 0; i < partitions.size(); ++i) {
    const CommitPartition& p = partitions[i];
    const std::string_view metadata = p.metadata.value_or("");
    if (metadata.size() > static_cast<size_t>(ctx_.config.max_metadata_bytes)) {
      errors[i] = to_wire(ErrorCode::kOffsetMetadataTooLarge);
      continue;
    }
    if (ctx_.store == nullptr) continue;
    OffsetCommitValue value{p.offset, p.leader_epoch, std::string(metadata), timestamp, -1, {}};
    records.push_back({encode_key(OffsetCommitKey{group->id, std::string(p.topic), p.partition}),
                       encode_value(value)});
  }
  if (!ctx_.append(group->id, records)) {
    for (auto& e : errors)
      if (e == kNone) e = to_wire(ErrorCode::kCoordinatorNotAvailable);
    return kNone;
  }
  for (size_t i = 0; i < partitions.size(); ++i) {
    if (errors[i] != kNone) continue;
    const CommitPartition& p = partitions[i];
    group->offsets[{std::string(p.topic), p.partition}] =
        CommittedOffset{p.offset, p.leader_epoch, std::string(p.metadata.value_or("")), timestamp};
  }
  return kNone;
}

int16_t GroupCoordinator::find_to_delete(std::string_view group_id, Millis now,
                                         GroupMap::iterator& found) {
  advance(now);
  if (group_id.empty()) return to_wire(ErrorCode::kInvalidGroupId);
  found = ctx_.groups.find(group_id);
  if (found == ctx_.groups.end() || found->second->is_dead())
    return to_wire(ErrorCode::kGroupIdNotFound);
  return kNone;
}

int16_t GroupCoordinator::delete_group(std::string_view group_id, Millis now) {
  GroupMap::iterator it;
  if (int16_t e = find_to_delete(group_id, now, it); e != kNone) return e;
  Group& group = *it->second;
  if (!group.is_empty()) return to_wire(ErrorCode::kNonEmptyGroup);
  // A share group's share state goes with it: the store is told once the
  // group's tombstones are written.
  std::optional<TopicPartitionSet> share_state;
  if (const auto* share = ctx_.find_as<ShareGroup>(group_id)) {
    share_state.emplace();
    for (const auto* topics :
         {&share->state_partitions.initialized, &share->state_partitions.initializing})
      for (const auto& [topic, t] : *topics)
        (*share_state)[topic].insert(t.partitions.begin(), t.partitions.end());
  }
  std::vector<OffsetMap::iterator> offsets;
  for (auto o = group.offsets.begin(); o != group.offsets.end(); ++o) offsets.push_back(o);
  if (drop_offsets(group, offsets, GroupLeftEmpty::kDropIt) != Dropped::kGroup)
    return to_wire(ErrorCode::kCoordinatorNotAvailable);
  spdlog::info("group {}: deleted with its {} committed offsets", group.id, offsets.size());
  const std::string id = group.id;
  ctx_.groups.erase(it);
  if (share_state && share_state_deleter_) share_state_deleter_(id, *share_state);
  return kNone;
}

int16_t GroupCoordinator::delete_offsets(std::string_view group_id,
                                         std::span<const TopicPartitionRef> partitions,
                                         std::vector<int16_t>& errors, Millis now) {
  GroupMap::iterator it;
  if (int16_t e = find_to_delete(group_id, now, it); e != kNone) return e;
  Group& group = *it->second;
  if (group.type() == GroupType::kShare) return to_wire(ErrorCode::kGroupIdNotFound);
  // A group with members keeps the offsets its members may use: those of
  // topics they subscribe to, or all of them when their protocol does not say.
  const bool consumer_protocol = group.listed_protocol_type() == kConsumerProtocolType;
  if (!group.is_empty() && !consumer_protocol) return to_wire(ErrorCode::kNonEmptyGroup);

  errors.assign(partitions.size(), kNone);
  // The members' subscriptions are read once, not once a partition.
  const std::optional<std::unordered_set<std::string>> subscribed =
      !group.is_empty() ? group.subscribed_topics()
                        : std::optional<std::unordered_set<std::string>>();
  std::vector<OffsetMap::iterator> offsets;
  std::set<const void*> listed;  // each committed offset once
  for (size_t i = 0; i < partitions.size(); ++i) {
    const TopicPartitionRef& p = partitions[i];
    if (subscribed && subscribed->contains(std::string(p.topic))) {
      errors[i] = to_wire(ErrorCode::kGroupSubscribedToTopic);
      continue;
    }
    auto o = group.offsets.find(std::pair<std::string, int32_t>(p.topic, p.partition));
    if (o != group.offsets.end() && listed.insert(&*o).second) offsets.push_back(o);
  }
  const size_t count = offsets.size();
  // The group stays even when this leaves it Empty without offsets: as Kafka
  // 4.x's coordinator, only the next offsets cleanup removes it.
  if (drop_offsets(group, offsets, GroupLeftEmpty::kKeepIt) == Dropped::kNothing)
    return to_wire(ErrorCode::kCoordinatorNotAvailable);
  if (count > 0) spdlog::info("group {}: {} committed offsets deleted", group.id, count);
  return kNone;
}

GroupCoordinator::Loaded GroupCoordinator::load(
    std::span<const uint8_t> key_bytes, std::optional<std::span<const uint8_t>> value_bytes) {
  CoordinatorKey key = decode_key(key_bytes);
  if (const auto* k = std::get_if<OffsetCommitKey>(&key)) {
    if (!value_bytes) {
      if (Group* g = ctx_.find(k->group)) g->offsets.erase({k->topic, k->partition});
      return Loaded::kUsed;
    }
    auto value = decode_offset_commit_value(*value_bytes);
    if (!value) return Loaded::kUnreadable;
    // Offsets of a group not known yet belong to a classic group that only
    // holds offsets, until records of its kind say otherwise.
    Group* group = ctx_.find(k->group);
    if (group == nullptr) group = &ctx_.make<ClassicGroup>(k->group);
    group->offsets[{k->topic, k->partition}] = CommittedOffset{
        value->offset, value->leader_epoch, std::move(value->metadata), value->commit_timestamp};
  } else if (const auto* g = std::get_if<GroupMetadataKey>(&key)) {
    if (!value_bytes) {
      // The group was deleted (its offsets with it, tombstoned before).
      forget<ClassicGroup>(g->group);
      return Loaded::kUsed;
    }
    auto value = decode_group_metadata_value(*value_bytes);
    if (!value) return Loaded::kUnreadable;
    classic_.load(ctx_.make<ClassicGroup>(g->group), std::move(*value));
  } else if (const auto* c = std::get_if<ConsumerGroupRecordKey>(&key)) {
    // A group id another kind held becomes a consumer group (the later
    // records win: the kinds replace each other in the log).
    if (c->type == kConsumerGroupMetadataType && !value_bytes)
      forget<ConsumerGroup>(c->group);
    else if (!consumer_.load(*c, value_bytes))
      return Loaded::kUnreadable;
  }
  if (std::holds_alternative<std::monostate>(key)) {
    if (auto s = decode_share_group_key(key_bytes)) {
      if (s->type == kShareGroupMetadataType && !value_bytes) {
        forget<ShareGroup>(s->group);
        return Loaded::kUsed;
      }
      return share_.load(*s, value_bytes) ? Loaded::kUsed : Loaded::kUnreadable;
    }
    // A key of the types kept here (0-8) that does not decode is damage;
    // others are records of group kinds this coordinator does not keep.
    auto typed = key_type_and_group(key_bytes);
    return typed && typed->type > kConsumerGroupCurrentMemberAssignmentType ? Loaded::kOtherType
                                                                            : Loaded::kUnreadable;
  }
  return Loaded::kUsed;
}

void GroupCoordinator::finish_load(Millis now) {
  for (auto& [id, group] : ctx_.groups) {
    switch (group->type()) {
      case GroupType::kClassic:
        classic_.finish_load(static_cast<ClassicGroup&>(*group), now);
        break;
      case GroupType::kConsumer:
        consumer_.finish_load(static_cast<ConsumerGroup&>(*group), now);
        break;
      case GroupType::kShare:
        share_.finish_load(static_cast<ShareGroup&>(*group), now);
        break;
    }
  }
}

}  // namespace kb::group
