// Classic members inside a consumer group: a group that moved to the
// consumer protocol (KIP-848) while it had members of the classic one keeps
// serving them through JoinGroup, SyncGroup, Heartbeat and LeaveGroup, as
// Kafka's GroupMetadataManager does. A classic member is a consumer-group
// member with its classic metadata (session timeout, protocols); it is
// reconciled only when it joins, and its heartbeats answer
// REBALANCE_IN_PROGRESS whenever it has to join again to move on.

#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "consumer_group_internal.hpp"
#include "kb/group/consumer_group.hpp"
#include "kb/protocol/error_code.hpp"

namespace kb::group {

using namespace consumer_detail;  // NOLINT(google-build-using-namespace)

namespace {

using protocol::ErrorCode;
using protocol::to_wire;

constexpr int16_t kNone = 0;

}  // namespace

namespace consumer_detail {

// The name of a topic by id: from the group's subscription metadata (what it
// assigned from), else from the topic table.
std::optional<std::string> topic_name(const ConsumerGroup& group, const wire::Uuid& id,
                                      const cluster::TopicTable* topics) {
  for (const auto& [name, t] : group.subscription_metadata)
    if (t.id == id) return name;
  if (topics != nullptr)
    if (const cluster::TopicInfo* t = topics->find(id)) return t->name;
  return std::nullopt;
}

}  // namespace consumer_detail

size_t ConsumerGroup::classic_member_count() const {
  return static_cast<size_t>(std::count_if(members.begin(), members.end(), [](const auto& m) {
    return m.second.uses_classic_protocol();
  }));
}

bool ConsumerGroup::supports_classic_protocols(std::string_view protocol_type,
                                               const std::vector<std::string_view>& names) const {
  if (protocol_type != kConsumerProtocolType) return false;
  if (members.empty()) return !names.empty();
  const size_t classic = classic_member_count();
  for (std::string_view name : names) {
    size_t supporting = 0;
    for (const auto& [member_id, m] : members) {
      if (!m.classic) continue;
      const auto& protocols = m.classic->supported_protocols;
      if (std::any_of(protocols.begin(), protocols.end(),
                      [&](const auto& p) { return p.name == name; }))
        ++supporting;
    }
    if (supporting == classic) return true;
  }
  return false;
}

bool ConsumerGroup::waiting_on_unreleased_partition(const ConsumerMember& member) const {
  auto target_it = target.find(member.id);
  if (target_it == target.end()) return false;
  for (const auto& [topic, parts] : target_it->second) {
    auto assigned = member.assigned.find(topic);
    for (int32_t p : parts) {
      if (assigned != member.assigned.end() && assigned->second.contains(p)) continue;
      if (partition_epoch(topic, p) != -1) return true;
    }
  }
  return false;
}

namespace {

// Whether the migration policy and group.max.size let a group of
// `remaining` members go back to the classic protocol.
bool downgrade_allowed(const ConsumerGroup& group, size_t remaining, const GroupConfig& config) {
  if (!downgrade_enabled(config.consumer_migration_policy)) {
    spdlog::info(
        "group {}: not going back to the classic protocol: "
        "group.consumer.migration.policy does not allow downgrades",
        group.id);
    return false;
  }
  if (remaining > static_cast<size_t>(config.max_size)) {
    spdlog::info(
        "group {}: not going back to the classic protocol: more members than "
        "group.max.size",
        group.id);
    return false;
  }
  return true;
}

}  // namespace

bool may_downgrade_without(const ConsumerGroup& group, std::string_view leaving,
                           const GroupConfig& config) {
  auto it = group.members.find(leaving);
  if (it == group.members.end() || it->second.uses_classic_protocol()) return false;
  if (group.members.size() <= 1) return false;
  if (group.classic_member_count() != group.members.size() - 1) return false;
  return downgrade_allowed(group, group.members.size() - 1, config);
}

bool may_downgrade_replacing(const ConsumerGroup& group, std::string_view replaced,
                             const GroupConfig& config) {
  for (const auto& [id, m] : group.members)
    if (id != replaced && !m.uses_classic_protocol()) return false;
  return downgrade_allowed(group, group.members.size(), config);
}

int16_t ConsumerGroups::find_classic_member(ConsumerGroup& group, std::string_view member_id,
                                            std::optional<std::string_view> instance_id,
                                            ConsumerMember** member) const {
  ConsumerMember* found = nullptr;
  if (instance_id) {
    auto s = group.static_members.find(*instance_id);
    if (s == group.static_members.end()) return to_wire(ErrorCode::kUnknownMemberId);
    if (s->second != member_id) return to_wire(ErrorCode::kFencedInstanceId);
    found = &group.members.at(s->second);
  } else {
    auto it = group.members.find(member_id);
    if (it == group.members.end()) return to_wire(ErrorCode::kUnknownMemberId);
    found = &it->second;
  }
  if (!found->uses_classic_protocol()) return to_wire(ErrorCode::kUnknownMemberId);
  *member = found;
  return kNone;
}

void ConsumerGroups::expect_rejoin(ConsumerMember& member, Millis now) {
  if (member.join_deadline) return;
  member.join_deadline = now + std::max(member.rebalance_timeout_ms, 0);
  ctx_.note_deadline(*member.join_deadline);
}

ClassicJoinResult ConsumerGroups::classic_join(ConsumerGroup& joined, const ClassicJoin& params,
                                               const TopicsView& topics, Millis now) {
  ConsumerGroup* group = &joined;
  auto error = [&](ErrorCode code, std::string member_id) {
    ClassicJoinResult r;
    r.error = to_wire(code);
    r.member_id = std::move(member_id);
    return r;
  };
  const bool unknown = params.member_id.empty();
  std::string member_id = unknown ? random_member_id() : std::string(params.member_id);

  if (!group->members.contains(member_id) &&
      group->members.size() >= static_cast<size_t>(ctx_.config.consumer_max_size))
    return error(ErrorCode::kGroupMaxSizeReached, std::string(params.member_id));
  std::vector<std::string_view> names;
  names.reserve(params.protocols.size());
  for (const auto& [name, metadata] : params.protocols) names.push_back(name);
  if (!group->supports_classic_protocols(params.protocol_type, names))
    return error(ErrorCode::kInconsistentGroupProtocol, std::string(params.member_id));
  if (unknown && !params.instance_id && params.require_known_member_id)
    // The client comes back with this id (as in a classic group).
    return error(ErrorCode::kMemberIdRequired, std::move(member_id));
  // The member's subscription: the first protocol's (every protocol of the
  // consumer protocol type carries the same one).
  const auto subscription = decode_subscription(params.protocols.front().second);
  if (!subscription) return error(ErrorCode::kInconsistentGroupProtocol, member_id);

  std::vector<ConsumerGroupChange> changes;
  ConsumerMember member;  // as it is before this join
  bool is_new = false;
  const ConsumerMember* replaced = nullptr;
  if (params.instance_id) {
    auto s = group->static_members.find(*params.instance_id);
    const ConsumerMember* old =
        s == group->static_members.end() ? nullptr : &group->members.at(s->second);
    if (unknown) {
      if (old) {
        // A static member back with a new id takes its old self's place and
        // target (whichever protocol the old one spoke).
        member = *old;
        member.id = member_id;
        member.member_epoch = 0;
        member.previous_member_epoch = 0;
        replaced = old;
      } else {
        is_new = true;
      }
    } else {
      if (!old) return error(ErrorCode::kUnknownMemberId, member_id);
      if (old->id != member_id) return error(ErrorCode::kFencedInstanceId, member_id);
      member = *old;
    }
  } else if (auto it = group->members.find(member_id); it != group->members.end()) {
    member = it->second;
  } else {
    is_new = true;
  }
  if (is_new) member.id = member_id;
  // A classic static member taking the place of the last consumer-protocol
  // member turns the group back into a classic group (Kafka's rule).
  const bool downgrade_after = replaced != nullptr && !replaced->uses_classic_protocol() &&
                               downgrade_ &&
                               may_downgrade_replacing(*group, replaced->id, ctx_.config);
  if (replaced) {
    remove_member(*group, *replaced, changes);
    changes.pop_back();  // replacing a static member is no new epoch by itself
  }

  ConsumerMember updated = member;
  if (params.instance_id) updated.instance_id = std::string(*params.instance_id);
  if (subscription->rack_id) updated.rack_id = *subscription->rack_id;
  if (params.rebalance_timeout_ms != -1) updated.rebalance_timeout_ms = params.rebalance_timeout_ms;
  updated.subscribed_topic_names = subscription->topics;
  updated.client_id = std::string(params.client_id);
  updated.client_host = std::string(params.client_host);
  ConsumerMember::ClassicMetadata classic;
  classic.session_timeout_ms = params.session_timeout_ms;
  for (const auto& [name, metadata] : params.protocols)
    classic.supported_protocols.push_back(
        {std::string(name), std::vector<uint8_t>(metadata.begin(), metadata.end())});
  updated.classic = std::move(classic);

  // What it owns, by topic id (topics not known are left out).
  std::vector<ConsumerGroupTopicPartitions> owned;
  if (topics.topics != nullptr)
    for (const auto& t : subscription->owned_partitions)
      if (const cluster::TopicInfo* info = topics.topics->find(t.topic))
        owned.push_back({info->id, t.partitions});

  ConsumerMember reconciled =
      update_member(*group, member, updated, is_new, replaced, topics, owned, changes);
  (void)reconciled;

  const std::string group_id = group->id;
  if (!commit_changes(group_id, changes))
    return error(ErrorCode::kCoordinatorNotAvailable, std::string(params.member_id));
  group = ctx_.find_as<ConsumerGroup>(group_id);
  if (is_new || replaced)
    spdlog::info("group {}: member {} joined with the classic protocol", group_id, member_id);

  ConsumerMember& placed = group->members.at(member_id);
  placed.session_deadline = now + params.session_timeout_ms;
  placed.join_deadline.reset();
  placed.revocation_deadline.reset();
  placed.sync_deadline = now + std::max(params.rebalance_timeout_ms, 0);
  ctx_.note_deadline(placed.session_deadline);
  ctx_.note_deadline(*placed.sync_deadline);

  ClassicJoinResult r;
  r.member_id = member_id;
  r.generation = placed.member_epoch;
  r.protocol_type = std::string(kConsumerProtocolType);
  r.protocol_name = placed.classic->supported_protocols.front().name;
  if (downgrade_after) {
    // Its assignment went stale when it subscribed to something else: the
    // classic group rebalances; else it stays Stable, at the group epoch.
    const bool stale = updated.subscribed_topic_names != member.subscribed_topic_names ||
                       member.subscribed_topic_regex.has_value();
    const int32_t generation = group->group_epoch;
    if (downgrade_(*group, std::string(), now, stale)) r.generation = generation;
    // `group` may be gone from here.
  }
  return r;
}

ClassicSyncResult ConsumerGroups::classic_sync(ConsumerGroup& group, const ClassicSync& params,
                                               const cluster::TopicTable* topics, Millis now) {
  ClassicSyncResult r;
  ConsumerMember* member = nullptr;
  if (int16_t e = find_classic_member(group, params.member_id, params.instance_id, &member);
      e != kNone) {
    r.error = e;
    return r;
  }
  if (params.generation != member->member_epoch) {
    r.error = to_wire(ErrorCode::kIllegalGeneration);
    return r;
  }
  const std::string& protocol = member->classic->supported_protocols.front().name;
  if ((params.protocol_type && *params.protocol_type != kConsumerProtocolType) ||
      (params.protocol_name && *params.protocol_name != protocol)) {
    r.error = to_wire(ErrorCode::kInconsistentGroupProtocol);
    return r;
  }
  // A new epoch since it joined: it joins again first (unless it still has
  // partitions to give up, which it learns from this assignment).
  if (group.group_epoch > member->member_epoch &&
      member->state != MemberState::kUnrevokedPartitions) {
    expect_rejoin(*member, now);
    r.error = to_wire(ErrorCode::kRebalanceInProgress);
    return r;
  }
  member->sync_deadline.reset();
  member->session_deadline = now + member->classic->session_timeout_ms;
  ctx_.note_deadline(member->session_deadline);

  records::ConsumerProtocolAssignment assignment;
  for (const auto& [topic, parts] : member->assigned) {
    auto name = topic_name(group, topic, topics);
    if (!name || parts.empty()) continue;
    assignment.assigned_partitions.push_back(
        {std::move(*name), std::vector<int32_t>(parts.begin(), parts.end())});
  }
  // At the version of the member's own subscription.
  const auto version =
      consumer_protocol_version(member->classic->supported_protocols.front().metadata);
  r.assignment = encode_assignment(assignment, version.value_or(0));
  if (params.protocol_type) r.protocol_type = std::string(*params.protocol_type);
  if (params.protocol_name) r.protocol_name = std::string(*params.protocol_name);
  return r;
}

int16_t ConsumerGroups::classic_heartbeat(ConsumerGroup& group, int32_t generation,
                                          const ClassicMemberRef& ref, Millis now) {
  ConsumerMember* member = nullptr;
  if (int16_t e = find_classic_member(group, ref.member_id, ref.instance_id, &member); e != kNone)
    return e;
  if (generation != member->member_epoch) return to_wire(ErrorCode::kIllegalGeneration);
  member->session_deadline = now + member->classic->session_timeout_ms;
  ctx_.note_deadline(member->session_deadline);
  // It joins again when the group moved on, when it has partitions to give
  // up, or when the partitions it waits for are free.
  if (member->member_epoch < group.group_epoch ||
      member->state == MemberState::kUnrevokedPartitions ||
      (member->state == MemberState::kUnreleasedPartitions &&
       !group.waiting_on_unreleased_partition(*member))) {
    expect_rejoin(*member, now);
    return to_wire(ErrorCode::kRebalanceInProgress);
  }
  return kNone;
}

std::vector<int16_t> ConsumerGroups::classic_leave(ConsumerGroup& group,
                                                   std::span<const ClassicMemberRef> members) {
  std::vector<int16_t> errors(members.size(), kNone);
  std::vector<std::string> leaving;
  for (size_t i = 0; i < members.size(); ++i) {
    const ClassicMemberRef& ref = members[i];
    const ConsumerMember* member = nullptr;
    if (ref.instance_id) {
      auto s = group.static_members.find(*ref.instance_id);
      if (s == group.static_members.end()) {
        errors[i] = to_wire(ErrorCode::kUnknownMemberId);
        continue;
      }
      // An admin removal names the instance only.
      if (!ref.member_id.empty() && s->second != ref.member_id) {
        errors[i] = to_wire(ErrorCode::kFencedInstanceId);
        continue;
      }
      member = &group.members.at(s->second);
    } else {
      auto it = group.members.find(ref.member_id);
      if (it == group.members.end()) {
        errors[i] = to_wire(ErrorCode::kUnknownMemberId);
        continue;
      }
      member = &it->second;
    }
    if (!member->uses_classic_protocol()) {
      errors[i] = to_wire(ErrorCode::kUnknownMemberId);
      continue;
    }
    if (std::find(leaving.begin(), leaving.end(), member->id) == leaving.end())
      leaving.push_back(member->id);
  }
  if (leaving.empty()) return errors;
  std::vector<ConsumerGroupChange> changes;
  for (const auto& id : leaving) {
    remove_member(group, group.members.at(id), changes);
    changes.pop_back();  // one new epoch for all of them
  }
  changes.push_back(
      change(kConsumerGroupMetadataType, {}, ConsumerGroupMetadataValue{group.group_epoch + 1, 0}));
  const std::string group_id = group.id;
  if (!commit_changes(group_id, changes)) {
    for (auto& e : errors)
      if (e == kNone) e = to_wire(ErrorCode::kCoordinatorNotAvailable);
    return errors;
  }
  for (const auto& id : leaving)
    spdlog::info("group {}: classic member {} left (LeaveGroup)", group_id, id);
  return errors;
}

}  // namespace kb::group
