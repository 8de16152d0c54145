#include "kb/group/share_group.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "kb/base/byte_buffer.hpp"
#include "kb/base/wall_clock.hpp"
#include "kb/group/share_assignor.hpp"
#include "kb/protocol/error_code.hpp"
#include "kb/wire/reader.hpp"
#include "kb/wire/serde.hpp"
#include "kb/wire/writer.hpp"

namespace kb::group {

namespace {

using protocol::ErrorCode;
using protocol::to_wire;

constexpr int16_t kNone = 0;
constexpr int32_t kLeaveEpoch = -1;
// How long a partition may stay initializing before it is asked for again
// (Kafka's group.share.initialize.retry.interval.ms default).
constexpr Millis kInitializeRetryMs = 30000;

ShareHeartbeatResult heartbeat_error(ErrorCode error, std::string message = {}) {
  ShareHeartbeatResult r;
  r.error = to_wire(error);
  if (!message.empty()) r.error_message = std::move(message);
  return r;
}

// Java's String.trim().isEmpty(): every character a control or a space.
bool is_blank(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) <= ' '; });
}

bool is_member_type(int16_t type) {
  return type == kShareGroupMemberMetadataType || type == kShareGroupTargetAssignmentMemberType ||
         type == kShareGroupCurrentMemberAssignmentType;
}

template <class TopicPartitions>
std::vector<TopicPartitions> to_records(const TopicPartitionSet& set) {
  std::vector<TopicPartitions> out;
  out.reserve(set.size());
  for (const auto& [topic, parts] : set) {
    if (parts.empty()) continue;
    TopicPartitions& t = out.emplace_back();
    t.topic_id = topic;
    t.partitions.assign(parts.begin(), parts.end());
  }
  return out;
}

template <class TopicPartitions>
TopicPartitionSet from_records(const std::vector<TopicPartitions>& records) {
  TopicPartitionSet out;
  for (const auto& t : records)
    if (!t.partitions.empty()) out[t.topic_id].insert(t.partitions.begin(), t.partitions.end());
  return out;
}

ShareGroupMemberMetadataValue metadata_value(const ShareMember& m) {
  ShareGroupMemberMetadataValue v;
  v.rack_id = m.rack_id;
  v.client_id = m.client_id;
  v.client_host = m.client_host;
  v.subscribed_topic_names = m.subscribed_topic_names;
  return v;
}

ShareGroupCurrentMemberAssignmentValue assignment_value(const ShareMember& m) {
  ShareGroupCurrentMemberAssignmentValue v;
  v.member_epoch = m.member_epoch;
  v.previous_member_epoch = m.previous_member_epoch;
  v.state = 0;  // share members are always Stable: nothing to revoke first
  v.assigned_partitions =
      to_records<ShareGroupCurrentMemberAssignmentValue::TopicPartitions>(m.assigned);
  return v;
}

bool same_metadata(const ShareMember& a, const ShareMember& b) {
  return a.rack_id == b.rack_id && a.client_id == b.client_id && a.client_host == b.client_host &&
         a.subscribed_topic_names == b.subscribed_topic_names;
}

ShareGroupChange change(int16_t type, std::string member_id,
                        std::optional<ShareGroupChange::Value> value) {
  return {type, std::move(member_id), std::move(value)};
}

std::vector<uint8_t> encode_change_value(const ShareGroupChange::Value& value) {
  return std::visit([](const auto& v) { return encode_versioned(v, 0, true); }, value);
}

// The topic names the members subscribe to, `updated` replacing its old self
// and `removed` left out.
std::set<std::string, std::less<>> subscribed_names(const ShareGroup& group,
                                                    const ShareMember* updated,
                                                    std::string_view removed = {}) {
  std::set<std::string, std::less<>> names;
  for (const auto& [id, m] : group.members) {
    if ((updated && id == updated->id) || id == removed) continue;
    names.insert(m.subscribed_topic_names.begin(), m.subscribed_topic_names.end());
  }
  if (updated)
    names.insert(updated->subscribed_topic_names.begin(), updated->subscribed_topic_names.end());
  return names;
}

// The known subscribed topics among `names`.
SubscriptionMetadata restrict_to(const SubscriptionMetadata& topics,
                                 const std::set<std::string, std::less<>>& names) {
  SubscriptionMetadata out;
  for (const auto& [name, t] : topics)
    if (names.contains(name)) out.emplace(name, t);
  return out;
}

std::map<wire::Uuid, ShareStateTopic> topics_from(
    const std::vector<ShareGroupStatePartitionMetadataValue::TopicPartitionsInfo>& in, Millis now) {
  std::map<wire::Uuid, ShareStateTopic> out;
  for (const auto& t : in) {
    ShareStateTopic& topic = out[t.topic_id];
    topic.name = t.topic_name;
    topic.partitions.insert(t.partitions.begin(), t.partitions.end());
    topic.since = now;
  }
  return out;
}

}  // namespace

std::string_view to_string(ShareGroupState state) {
  switch (state) {
    case ShareGroupState::kEmpty:
      return "Empty";
    case ShareGroupState::kStable:
      return "Stable";
    case ShareGroupState::kDead:
      return "Dead";
  }
  return "Dead";
}

std::vector<uint8_t> encode_share_group_key(int16_t type, std::string_view group,
                                            std::string_view member_id) {
  if (is_member_type(type))
    return encode_versioned(
        records::ShareGroupMemberMetadataKey{std::string(group), std::string(member_id)}, type,
        false);
  return encode_versioned(records::ShareGroupMetadataKey{std::string(group)}, type, false);
}

std::optional<ShareGroupRecordKey> decode_share_group_key(std::span<const uint8_t> bytes) {
  wire::Reader reader(bytes);
  const int16_t type = reader.int16();
  if (!reader.ok()) return std::nullopt;
  if (is_member_type(type)) {
    records::ShareGroupMemberMetadataKey key;  // the same fields as the other two
    wire::decode(reader, key, 0, false);
    if (reader.ok() && reader.remaining() == 0)
      return ShareGroupRecordKey{type, std::move(key.group_id), std::move(key.member_id)};
  } else if (type == kShareGroupMetadataType || type == kShareGroupTargetAssignmentMetadataType ||
             type == kShareGroupStatePartitionMetadataType) {
    records::ShareGroupMetadataKey key;  // the same field as the other two
    wire::decode(reader, key, 0, false);
    if (reader.ok() && reader.remaining() == 0)
      return ShareGroupRecordKey{type, std::move(key.group_id), {}};
  }
  return std::nullopt;
}

ShareGroupStatePartitionMetadataValue state_partitions_value(const ShareStatePartitions& s) {
  ShareGroupStatePartitionMetadataValue v;
  auto put = [](const std::map<wire::Uuid, ShareStateTopic>& from, auto& to) {
    for (const auto& [id, t] : from) {
      if (t.partitions.empty()) continue;
      auto& out = to.emplace_back();
      out.topic_id = id;
      out.topic_name = t.name;
      out.partitions.assign(t.partitions.begin(), t.partitions.end());
    }
  };
  put(s.initializing, v.initializing_topics);
  put(s.initialized, v.initialized_topics);
  for (const auto& [id, name] : s.deleting) v.deleting_topics.push_back({id, name});
  return v;
}

int64_t share_metadata_hash(const SubscriptionMetadata& topics) {
  if (topics.empty()) return 0;
  // FNV-1a over each topic's name, id and partition count, in name order.
  uint64_t h = 14695981039346656037ULL;
  auto mix = [&](const void* data, size_t size) {
    const auto* p = static_cast<const uint8_t*>(data);
    for (size_t i = 0; i < size; ++i) {
      h ^= p[i];
      h *= 1099511628211ULL;
    }
  };
  for (const auto& [name, t] : topics) {
    mix(name.data(), name.size());
    mix(t.id.bytes.data(), t.id.bytes.size());
    mix(&t.partitions, sizeof t.partitions);
  }
  return static_cast<int64_t>(h);
}

std::optional<std::unordered_set<std::string>> ShareGroup::subscribed_topics() const {
  std::unordered_set<std::string> out;
  for (const auto& [member_id, m] : members)
    out.insert(m.subscribed_topic_names.begin(), m.subscribed_topic_names.end());
  return out;
}

std::vector<CoordinatorRecord> ShareGroup::tombstones() const {
  // Kafka's order: the members' records (none once the group is empty), the
  // target assignment's, the share-state bookkeeping, the group's.
  std::vector<CoordinatorRecord> out;
  for (int16_t type : {kShareGroupCurrentMemberAssignmentType,
                       kShareGroupTargetAssignmentMemberType, kShareGroupMemberMetadataType})
    for (const auto& [member_id, m] : members)
      out.push_back({encode_share_group_key(type, id, member_id), std::nullopt});
  for (int16_t type : {kShareGroupTargetAssignmentMetadataType,
                       kShareGroupStatePartitionMetadataType, kShareGroupMetadataType})
    out.push_back({encode_share_group_key(type, id), std::nullopt});
  return out;
}

bool ShareGroups::commit_changes(std::string_view group_id, std::vector<ShareGroupChange>& changes,
                                 Millis now) {
  if (changes.empty()) return true;
  std::vector<CoordinatorRecord> records;
  records.reserve(changes.size());
  for (const auto& c : changes)
    records.push_back({encode_share_group_key(c.type, group_id, c.member_id),
                       c.value ? std::optional(encode_change_value(*c.value)) : std::nullopt});
  if (!ctx_.append(group_id, records)) {
    spdlog::error("share group {}: writing {} records to {} failed", group_id, records.size(),
                  kOffsetsTopic);
    return false;
  }
  ShareGroup& group = ctx_.make<ShareGroup>(group_id);
  for (const auto& c : changes) replay(group, c, now);
  ctx_.changed();
  return true;
}

void ShareGroups::remove_member(const ShareGroup& group, const ShareMember& member,
                                std::vector<ShareGroupChange>& changes) const {
  changes.push_back(change(kShareGroupCurrentMemberAssignmentType, member.id, std::nullopt));
  changes.push_back(change(kShareGroupTargetAssignmentMemberType, member.id, std::nullopt));
  changes.push_back(change(kShareGroupMemberMetadataType, member.id, std::nullopt));
  // The next epoch, with the subscribed topics as they are without it.
  const int64_t hash = share_metadata_hash(
      restrict_to(group.subscription, subscribed_names(group, nullptr, member.id)));
  changes.push_back(
      change(kShareGroupMetadataType, {}, ShareGroupMetadataValue{group.group_epoch + 1, hash}));
}

void ShareGroups::fence_member(ShareGroup& group, const std::string& member_id,
                               std::string_view why, Millis now) {
  auto it = group.members.find(member_id);
  if (it == group.members.end()) return;
  std::vector<ShareGroupChange> changes;
  remove_member(group, it->second, changes);
  const std::string id = group.id;
  if (!commit_changes(id, changes, now)) return;
  spdlog::info("share group {}: member {} fenced ({}); group epoch {}", id, member_id, why,
               group.group_epoch);
}

ShareHeartbeatResult ShareGroups::leave(const ShareHeartbeatParams& params, Millis now) {
  const Group* existing = ctx_.find(params.group_id);
  if (existing == nullptr)
    return heartbeat_error(ErrorCode::kGroupIdNotFound,
                           fmt::format("Group {} not found.", params.group_id));
  ShareGroup* group = ctx_.find_as<ShareGroup>(params.group_id);
  if (group == nullptr)
    return heartbeat_error(ErrorCode::kGroupIdNotFound,
                           fmt::format("Group {} is not a share group.", params.group_id));
  auto it = group->members.find(params.member_id);
  if (it == group->members.end())
    return heartbeat_error(
        ErrorCode::kUnknownMemberId,
        fmt::format("Member {} is not a member of group {}.", params.member_id, group->id));
  std::vector<ShareGroupChange> changes;
  remove_member(*group, it->second, changes);
  const std::string group_id = group->id;
  if (!commit_changes(group_id, changes, now))
    return heartbeat_error(ErrorCode::kCoordinatorNotAvailable);
  spdlog::info("share group {}: member {} left", group_id, params.member_id);
  ShareHeartbeatResult r;
  r.member_id = std::string(params.member_id);
  r.member_epoch = kLeaveEpoch;
  return r;
}

ShareHeartbeatResult ShareGroups::heartbeat(const ShareHeartbeatParams& params,
                                            const TopicsView& topics, Millis now) {
  // The request's own validity (Kafka's checks, in its order).
  auto invalid = [](std::string why) {
    return heartbeat_error(ErrorCode::kInvalidRequest, std::move(why));
  };
  if (is_blank(params.member_id)) return invalid("MemberId can't be empty.");
  if (is_blank(params.group_id)) return invalid("GroupId can't be empty.");
  if (params.rack_id && is_blank(*params.rack_id)) return invalid("RackId can't be empty.");
  const int32_t epoch = params.member_epoch;
  if (epoch == 0) {
    if (!params.subscribed_topic_names || params.subscribed_topic_names->empty())
      return invalid("SubscribedTopicNames must be set in first request.");
  } else if (epoch < kLeaveEpoch) {
    return invalid("MemberEpoch is invalid.");
  }
  if (epoch == kLeaveEpoch) return leave(params, now);

  // The group: made by a joining member only; a group of another kind stays
  // what it is (no conversion between share groups and the others).
  const Group* existing = ctx_.find(params.group_id);
  ShareGroup* group = ctx_.find_as<ShareGroup>(params.group_id);
  if (existing != nullptr && group == nullptr)
    return heartbeat_error(ErrorCode::kGroupIdNotFound,
                           fmt::format("Group {} is not a share group.", params.group_id));
  if (group == nullptr && epoch != 0)
    return heartbeat_error(ErrorCode::kGroupIdNotFound,
                           fmt::format("Share group {} not found.", params.group_id));
  if (group == nullptr) group = &ctx_.make<ShareGroup>(params.group_id);

  const std::string member_id(params.member_id);
  auto found = group->members.find(member_id);
  if (found == group->members.end() &&
      group->members.size() >= static_cast<size_t>(ctx_.config.share_max_size))
    return heartbeat_error(ErrorCode::kGroupMaxSizeReached,
                           fmt::format("The share group has reached its maximum capacity of {} "
                                       "members.",
                                       ctx_.config.share_max_size));
  ShareMember member;  // the member as it is before this heartbeat
  const bool is_new = found == group->members.end();
  if (is_new) {
    if (epoch != 0)
      return heartbeat_error(
          ErrorCode::kUnknownMemberId,
          fmt::format("Member {} is not a member of group {}.", member_id, group->id));
    member.id = member_id;
  } else {
    member = found->second;
    if (epoch > member.member_epoch)
      return heartbeat_error(
          ErrorCode::kFencedMemberEpoch,
          fmt::format("The share group member has a greater member epoch ({}) than the one known "
                      "by the group coordinator ({}). The member must abandon all its partitions "
                      "and rejoin.",
                      epoch, member.member_epoch));
    // The previous epoch is still good: the answer that moved it on was lost.
    if (epoch < member.member_epoch && epoch != member.previous_member_epoch)
      return heartbeat_error(
          ErrorCode::kFencedMemberEpoch,
          fmt::format("The share group member has a smaller member epoch ({}) than the one known "
                      "by the group coordinator ({}), and it does not match the previous member "
                      "epoch ({}). The member must abandon all its partitions and rejoin.",
                      epoch, member.member_epoch, member.previous_member_epoch));
  }

  std::vector<ShareGroupChange> changes;
  // 1. The member's subscription and metadata.
  ShareMember updated = member;
  if (params.rack_id) updated.rack_id = std::string(*params.rack_id);
  if (params.subscribed_topic_names)
    updated.subscribed_topic_names.assign(params.subscribed_topic_names->begin(),
                                          params.subscribed_topic_names->end());
  updated.client_id = std::string(params.client_id);
  updated.client_host = std::string(params.client_host);
  bool bump = false;
  if (is_new || !same_metadata(member, updated)) {
    changes.push_back(change(kShareGroupMemberMetadataType, member_id, metadata_value(updated)));
    bump = is_new || updated.subscribed_topic_names != member.subscribed_topic_names;
  }

  // 2. The subscribed topics as they are now, when they may have changed.
  const std::set<std::string, std::less<>> names = subscribed_names(*group, &updated);
  SubscriptionMetadata subscription = restrict_to(group->subscription, names);
  int64_t hash = group->metadata_hash;
  if (bump || topics.version != group->metadata_version) {
    subscription.clear();
    if (topics.topics != nullptr)
      for (const auto& name : names)
        if (const cluster::TopicInfo* t = topics.topics->find(name))
          subscription[name] = SubscribedTopic{t->id, static_cast<int32_t>(t->partitions.size())};
    hash = share_metadata_hash(subscription);
    if (hash != group->metadata_hash) bump = true;
  }

  // 3. Partitions subscribed whose share state is neither initialized nor
  //    being initialized (or has been for too long): the store is asked to
  //    initialize them. Without a store, they are initialized at once.
  ShareStatePartitions state = group->state_partitions;
  SharePartitionsToInitialize to_initialize{group->id, 0, {}};
  for (const auto& [name, t] : subscription) {
    std::set<int32_t> missing;
    for (int32_t p = 0; p < t.partitions; ++p) missing.insert(p);
    if (auto it = state.initialized.find(t.id); it != state.initialized.end())
      for (int32_t p : it->second.partitions) missing.erase(p);
    if (auto it = state.initializing.find(t.id);
        it != state.initializing.end() && now - it->second.since < kInitializeRetryMs)
      for (int32_t p : it->second.partitions) missing.erase(p);
    if (missing.empty()) continue;
    to_initialize.topics.push_back({t.id, name, {missing.begin(), missing.end()}});
    ShareStateTopic& into = initializer_ ? state.initializing[t.id] : state.initialized[t.id];
    into.name = name;
    into.partitions.insert(missing.begin(), missing.end());
    into.since = now;
    if (!initializer_) {
      // Nothing is being initialized any more for them.
      if (auto it = state.initializing.find(t.id); it != state.initializing.end()) {
        for (int32_t p : missing) it->second.partitions.erase(p);
        if (it->second.partitions.empty()) state.initializing.erase(it);
      }
    }
    state.deleting.erase(t.id);
  }
  if (!to_initialize.topics.empty())
    changes.push_back(
        change(kShareGroupStatePartitionMetadataType, {}, state_partitions_value(state)));

  // 4. Initialized partitions the target assignment does not cover yet: they
  //    are assigned in a new epoch.
  if (!bump && !state.initialized.empty()) {
    TopicPartitionSet targeted;
    for (const auto& [id, parts] : group->target)
      for (const auto& [topic, p] : parts) targeted[topic].insert(p.begin(), p.end());
    for (const auto& [topic, t] : state.initialized) {
      if (!names.contains(t.name)) continue;
      auto it = targeted.find(topic);
      if (it == targeted.end() || it->second != t.partitions) bump = true;
    }
  }
  int32_t group_epoch = group->group_epoch;
  if (bump) {
    ++group_epoch;
    changes.push_back(
        change(kShareGroupMetadataType, {}, ShareGroupMetadataValue{group_epoch, hash}));
  }

  // 5. A new target assignment when the group epoch moved past it: the
  //    initialized partitions of the subscribed topics.
  int32_t target_epoch = group->assignment_epoch;
  TopicPartitionSet member_target;
  if (auto t = group->target.find(member_id); t != group->target.end()) member_target = t->second;
  if (group_epoch > group->assignment_epoch) {
    ShareAssignmentSpec spec;
    for (const auto& [name, t] : subscription) {
      auto it = state.initialized.find(t.id);
      if (it == state.initialized.end()) continue;
      for (int32_t p : it->second.partitions)
        if (p < t.partitions) spec.assignable[t.id].insert(p);
    }
    auto spec_member = [&](const ShareMember& m) {
      ShareAssignorMember am;
      am.member_id = m.id;
      for (const auto& name : m.subscribed_topic_names)
        if (auto it = subscription.find(name); it != subscription.end())
          am.subscribed.insert(it->second.id);
      if (auto it = group->target.find(m.id); it != group->target.end()) am.current = it->second;
      spec.members.push_back(std::move(am));
    };
    for (const auto& [id, m] : group->members)
      if (id != member_id) spec_member(m);
    spec_member(updated);
    GroupAssignment assignment = assign_simple(spec);
    for (auto& [id, partitions] : assignment) {
      auto old = group->target.find(id);
      if (old != group->target.end() && old->second == partitions) continue;
      if (old == group->target.end() && partitions.empty() && id != member_id) continue;
      changes.push_back(change(
          kShareGroupTargetAssignmentMemberType, id,
          ShareGroupTargetAssignmentMemberValue{
              to_records<ShareGroupTargetAssignmentMemberValue::TopicPartition>(partitions)}));
    }
    changes.push_back(change(kShareGroupTargetAssignmentMetadataType, {},
                             ShareGroupTargetAssignmentMetadataValue{group_epoch, wall_ms()}));
    target_epoch = group_epoch;
    member_target = assignment[member_id];
    spdlog::info("share group {}: target assignment for epoch {} ({} members)", group->id,
                 group_epoch, spec.members.size());
  }

  // 6. The member takes its target at once (no partition must be revoked
  //    before another member may have it).
  ShareMember reconciled = updated;
  if (updated.member_epoch != target_epoch || updated.assigned != member_target) {
    reconciled.previous_member_epoch = updated.member_epoch;
    reconciled.member_epoch = target_epoch;
    reconciled.assigned = member_target;
  }
  if (is_new || reconciled.member_epoch != member.member_epoch ||
      reconciled.previous_member_epoch != member.previous_member_epoch ||
      reconciled.assigned != member.assigned)
    changes.push_back(
        change(kShareGroupCurrentMemberAssignmentType, member_id, assignment_value(reconciled)));

  const std::string group_id = group->id;
  if (!commit_changes(group_id, changes, now)) {
    // A group made for this heartbeat is not kept without its records.
    if (ShareGroup* made = ctx_.find_as<ShareGroup>(group_id);
        made && made->members.empty() && made->group_epoch == 0)
      ctx_.groups.erase(ctx_.groups.find(group_id));
    return heartbeat_error(ErrorCode::kCoordinatorNotAvailable);
  }
  group = ctx_.find_as<ShareGroup>(group_id);
  group->subscription = std::move(subscription);
  group->metadata_version = topics.version;
  if (is_new) spdlog::info("share group {}: member {} joined", group_id, member_id);

  ShareMember& placed = group->members.at(member_id);
  placed.session_deadline = now + ctx_.config.share_session_timeout_ms;
  ctx_.note_deadline(placed.session_deadline);

  if (initializer_ && !to_initialize.topics.empty()) {
    to_initialize.group_epoch = group->group_epoch;
    initializer_(to_initialize);
  }

  ShareHeartbeatResult r;
  r.member_id = member_id;
  r.member_epoch = placed.member_epoch;
  r.heartbeat_interval_ms = ctx_.config.share_heartbeat_interval_ms;
  // The assignment when joining, on a full request (the subscription given),
  // or when it changed.
  if (epoch == 0 || params.subscribed_topic_names || placed.assigned != member.assigned)
    r.assignment = placed.assigned;
  return r;
}

int16_t ShareGroups::initialized(std::string_view group_id, const wire::Uuid& topic,
                                 std::span<const int32_t> partitions, bool succeeded) {
  ShareGroup* group = ctx_.find_as<ShareGroup>(group_id);
  if (group == nullptr) return to_wire(ErrorCode::kGroupIdNotFound);
  ShareStatePartitions state = group->state_partitions;
  std::string name;
  if (auto it = state.initializing.find(topic); it != state.initializing.end()) {
    name = it->second.name;
    for (int32_t p : partitions) it->second.partitions.erase(p);
    if (it->second.partitions.empty()) state.initializing.erase(it);
  }
  if (succeeded) {
    if (name.empty())
      if (auto it = state.initialized.find(topic); it != state.initialized.end())
        name = it->second.name;
    if (name.empty())
      for (const auto& [n, t] : group->subscription)
        if (t.id == topic) name = n;
    ShareStateTopic& into = state.initialized[topic];
    into.name = name;
    into.partitions.insert(partitions.begin(), partitions.end());
  }
  auto same = [](const std::map<wire::Uuid, ShareStateTopic>& a,
                 const std::map<wire::Uuid, ShareStateTopic>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const auto& x, const auto& y) {
      return x.first == y.first && x.second.partitions == y.second.partitions;
    });
  };
  if (same(state.initializing, group->state_partitions.initializing) &&
      same(state.initialized, group->state_partitions.initialized))
    return kNone;
  std::vector<ShareGroupChange> changes;
  changes.push_back(
      change(kShareGroupStatePartitionMetadataType, {}, state_partitions_value(state)));
  const std::string id = group->id;
  if (!commit_changes(id, changes, 0)) return to_wire(ErrorCode::kCoordinatorNotAvailable);
  // Keep the times the still-initializing partitions were asked for.
  ShareGroup* after = ctx_.find_as<ShareGroup>(id);
  for (auto& [t, entry] : after->state_partitions.initializing)
    if (auto it = state.initializing.find(t); it != state.initializing.end())
      entry.since = it->second.since;
  return kNone;
}

int16_t ShareGroups::deleted(std::string_view group_id, const wire::Uuid& topic) {
  ShareGroup* group = ctx_.find_as<ShareGroup>(group_id);
  if (group == nullptr) return to_wire(ErrorCode::kGroupIdNotFound);
  ShareStatePartitions state = group->state_partitions;
  const bool listed = state.initialized.erase(topic) + state.initializing.erase(topic) +
                          state.deleting.erase(topic) >
                      0;
  if (!listed) return kNone;
  std::vector<ShareGroupChange> changes;
  changes.push_back(
      change(kShareGroupStatePartitionMetadataType, {}, state_partitions_value(state)));
  const std::string id = group->id;
  if (!commit_changes(id, changes, 0)) return to_wire(ErrorCode::kCoordinatorNotAvailable);
  return kNone;
}

void ShareGroups::expire(ShareGroup& group, Millis now) {
  std::vector<std::string> fenced;
  for (const auto& [id, m] : group.members) {
    if (m.session_deadline <= now)
      fenced.push_back(id);
    else
      ctx_.note_deadline(m.session_deadline);
  }
  for (const auto& id : fenced) fence_member(group, id, "session timeout", now);
  // Those the store could not fence yet are tried again in a while.
  for (const auto& id : fenced)
    if (group.members.contains(id)) ctx_.note_deadline(now + 1000);
}

void ShareGroups::replay(ShareGroup& group, const ShareGroupChange& c, Millis now) {
  switch (c.type) {
    case kShareGroupMetadataType:
      if (c.value) {
        const auto& v = std::get<ShareGroupMetadataValue>(*c.value);
        group.group_epoch = v.epoch;
        group.metadata_hash = v.metadata_hash;
      }
      break;
    case kShareGroupTargetAssignmentMetadataType:
      group.assignment_epoch =
          c.value ? std::get<ShareGroupTargetAssignmentMetadataValue>(*c.value).assignment_epoch
                  : 0;
      break;
    case kShareGroupTargetAssignmentMemberType:
      if (c.value)
        group.target[c.member_id] = from_records(
            std::get<ShareGroupTargetAssignmentMemberValue>(*c.value).topic_partitions);
      else
        group.target.erase(c.member_id);
      break;
    case kShareGroupMemberMetadataType: {
      if (!c.value) {
        group.members.erase(c.member_id);
        break;
      }
      const auto& v = std::get<ShareGroupMemberMetadataValue>(*c.value);
      ShareMember& m = group.members[c.member_id];
      m.id = c.member_id;
      m.rack_id = v.rack_id;
      m.client_id = v.client_id;
      m.client_host = v.client_host;
      m.subscribed_topic_names = v.subscribed_topic_names;
      break;
    }
    case kShareGroupCurrentMemberAssignmentType: {
      auto it = group.members.find(c.member_id);
      if (!c.value) {
        if (it == group.members.end()) break;
        it->second.member_epoch = kLeaveEpoch;
        it->second.previous_member_epoch = kLeaveEpoch;
        it->second.assigned.clear();
        break;
      }
      ShareMember& m = group.members[c.member_id];
      m.id = c.member_id;
      const auto& v = std::get<ShareGroupCurrentMemberAssignmentValue>(*c.value);
      m.member_epoch = v.member_epoch;
      m.previous_member_epoch = v.previous_member_epoch;
      m.assigned = from_records(v.assigned_partitions);
      break;
    }
    case kShareGroupStatePartitionMetadataType: {
      group.state_partitions = {};
      if (!c.value) break;
      const auto& v = std::get<ShareGroupStatePartitionMetadataValue>(*c.value);
      group.state_partitions.initializing = topics_from(v.initializing_topics, now);
      group.state_partitions.initialized = topics_from(v.initialized_topics, now);
      for (const auto& t : v.deleting_topics)
        group.state_partitions.deleting[t.topic_id] = t.topic_name;
      break;
    }
    default:
      break;
  }
}

bool ShareGroups::load(const ShareGroupRecordKey& key,
                       std::optional<std::span<const uint8_t>> value) {
  ShareGroup* group = ctx_.find_as<ShareGroup>(key.group);
  if (!group) {
    if (!value) return true;  // a tombstone of a group already gone
    group = &ctx_.make<ShareGroup>(key.group);
  }
  ShareGroupChange c{key.type, key.member_id, std::nullopt};
  if (value) {
    auto read = [&]<class T>() {
      auto v = decode_versioned<T>(*value, 0);
      if (v) c.value = std::move(*v);
      return v.has_value();
    };
    bool ok = false;
    switch (key.type) {
      case kShareGroupMetadataType:
        ok = read.operator()<ShareGroupMetadataValue>();
        break;
      case kShareGroupMemberMetadataType:
        ok = read.operator()<ShareGroupMemberMetadataValue>();
        break;
      case kShareGroupTargetAssignmentMetadataType:
        ok = read.operator()<ShareGroupTargetAssignmentMetadataValue>();
        break;
      case kShareGroupTargetAssignmentMemberType:
        ok = read.operator()<ShareGroupTargetAssignmentMemberValue>();
        break;
      case kShareGroupCurrentMemberAssignmentType:
        ok = read.operator()<ShareGroupCurrentMemberAssignmentValue>();
        break;
      case kShareGroupStatePartitionMetadataType:
        ok = read.operator()<ShareGroupStatePartitionMetadataValue>();
        break;
      default:
        break;
    }
    if (!ok) return false;
  }
  replay(*group, c);
  return true;
}

void ShareGroups::finish_load(ShareGroup& group, Millis now) {
  for (auto& [id, m] : group.members) {
    m.session_deadline = now + ctx_.config.share_session_timeout_ms;
    ctx_.note_deadline(m.session_deadline);
  }
  // Initializations asked for before the restart get their full retry time.
  for (auto& [id, t] : group.state_partitions.initializing) t.since = now;
}

}  // namespace kb::group
