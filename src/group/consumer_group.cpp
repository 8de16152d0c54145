#include "kb/group/consumer_group.hpp"

#include <algorithm>
#include <chrono>
#include <set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "consumer_group_internal.hpp"
#include "kb/protocol/error_code.hpp"
#include "kb/storage/meta_properties.hpp"

namespace kb::group {

using namespace consumer_detail;  // NOLINT(google-build-using-namespace)

namespace {

using protocol::ErrorCode;
using protocol::to_wire;

constexpr int16_t kNone = 0;

ConsumerHeartbeatResult heartbeat_error(ErrorCode error, std::string message = {}) {
  ConsumerHeartbeatResult r;
  r.error = to_wire(error);
  if (!message.empty()) r.error_message = std::move(message);
  return r;
}

// Whether every partition the member lists is one it is assigned (none
// listed: not a subset, as Kafka counts it).
bool is_subset(const std::optional<std::vector<ConsumerGroupTopicPartitions>>& owned,
               const TopicPartitionSet& assigned) {
  if (!owned) return false;
  for (const auto& t : *owned) {
    auto it = assigned.find(t.topic_id);
    for (int32_t p : t.partitions)
      if (it == assigned.end() || !it->second.contains(p)) return false;
  }
  return true;
}

// Whether the member still lists one of these partitions (none listed: it
// may, so yes).
bool owns_any(const std::optional<std::vector<ConsumerGroupTopicPartitions>>& owned,
              const TopicPartitionSet& partitions) {
  if (!owned) return true;
  for (const auto& t : *owned) {
    auto it = partitions.find(t.topic_id);
    if (it == partitions.end()) continue;
    for (int32_t p : t.partitions)
      if (it->second.contains(p)) return true;
  }
  return false;
}

std::vector<uint8_t> encode_change_value(const ConsumerGroupChange::Value& value) {
  return std::visit([](const auto& v) { return encode_value(v); }, value);
}

void add_holdings(ConsumerGroup& group, const ConsumerMember& m) {
  for (const auto* set : {&m.assigned, &m.pending_revocation})
    for (const auto& [topic, parts] : *set)
      for (int32_t p : parts) group.partition_epochs[{topic, p}] = m.member_epoch;
}

void remove_holdings(ConsumerGroup& group, const ConsumerMember& m) {
  for (const auto* set : {&m.assigned, &m.pending_revocation})
    for (const auto& [topic, parts] : *set)
      for (int32_t p : parts) {
        auto it = group.partition_epochs.find({topic, p});
        // Only while it is still this member's (the epoch says so).
        if (it != group.partition_epochs.end() && it->second == m.member_epoch)
          group.partition_epochs.erase(it);
      }
}

}  // namespace

namespace consumer_detail {

// Kafka's member ids (KIP-1082 lets clients make them): a random UUID's
// text form.
std::string random_member_id() { return storage::random_uuid().to_base64(); }

bool same_metadata(const ConsumerMember& a, const ConsumerMember& b) {
  return a.instance_id == b.instance_id && a.rack_id == b.rack_id && a.client_id == b.client_id &&
         a.client_host == b.client_host && a.subscribed_topic_names == b.subscribed_topic_names &&
         a.subscribed_topic_regex == b.subscribed_topic_regex &&
         a.server_assignor == b.server_assignor &&
         a.rebalance_timeout_ms == b.rebalance_timeout_ms && a.classic == b.classic;
}

ConsumerGroupMemberMetadataValue metadata_value(const ConsumerMember& m) {
  ConsumerGroupMemberMetadataValue v;
  v.instance_id = m.instance_id;
  v.rack_id = m.rack_id;
  v.client_id = m.client_id;
  v.client_host = m.client_host;
  v.subscribed_topic_names = m.subscribed_topic_names;
  v.subscribed_topic_regex = m.subscribed_topic_regex.value_or("");  // as Kafka writes none
  v.rebalance_timeout_ms = m.rebalance_timeout_ms;
  v.server_assignor = m.server_assignor;
  // Null for a member of the consumer protocol (Kafka writes the null; left
  // out, the field would read back as an empty classic member).
  v.classic_member_metadata = m.classic;
  return v;
}

ConsumerGroupCurrentMemberAssignmentValue assignment_value(const ConsumerMember& m) {
  ConsumerGroupCurrentMemberAssignmentValue v;
  v.member_epoch = m.member_epoch;
  v.previous_member_epoch = m.previous_member_epoch;
  v.state = static_cast<int8_t>(m.state);
  using Current = ConsumerGroupCurrentMemberAssignmentValue::TopicPartitions;
  v.assigned_partitions = to_records<Current>(m.assigned);
  v.partitions_pending_revocation = to_records<Current>(m.pending_revocation);
  return v;
}

ConsumerGroupChange change(int16_t type, std::string member_id,
                           std::optional<ConsumerGroupChange::Value> value) {
  return {type, std::move(member_id), std::move(value)};
}

CoordinatorRecord to_record(std::string_view group_id, const ConsumerGroupChange& c) {
  return {encode_consumer_group_key(c.type, group_id, c.member_id),
          c.value ? std::optional(encode_change_value(*c.value)) : std::nullopt};
}

bool same_reconciliation(const ConsumerMember& a, const ConsumerMember& b) {
  return a.member_epoch == b.member_epoch && a.previous_member_epoch == b.previous_member_epoch &&
         a.state == b.state && a.assigned == b.assigned &&
         a.pending_revocation == b.pending_revocation;
}

}  // namespace consumer_detail

std::string_view to_string(ConsumerGroupState state) {
  switch (state) {
    case ConsumerGroupState::kEmpty:
      return "Empty";
    case ConsumerGroupState::kAssigning:
      return "Assigning";
    case ConsumerGroupState::kReconciling:
      return "Reconciling";
    case ConsumerGroupState::kStable:
      return "Stable";
    case ConsumerGroupState::kDead:
      return "Dead";
  }
  return "Dead";
}

ConsumerGroupState ConsumerGroup::state() const {
  if (members.empty()) return ConsumerGroupState::kEmpty;
  if (group_epoch > assignment_epoch) return ConsumerGroupState::kAssigning;
  for (const auto& [member_id, m] : members)
    if (m.member_epoch != assignment_epoch || m.state != MemberState::kStable)
      return ConsumerGroupState::kReconciling;
  return ConsumerGroupState::kStable;
}

int32_t ConsumerGroup::partition_epoch(const wire::Uuid& topic, int32_t partition) const {
  auto it = partition_epochs.find({topic, partition});
  return it == partition_epochs.end() ? -1 : it->second;
}

std::string ConsumerGroup::assignor(const GroupConfig& config) const {
  std::map<std::string_view, int32_t> votes;
  for (const auto& [member_id, m] : members)
    if (m.server_assignor) ++votes[*m.server_assignor];
  std::string_view best;
  int32_t most = 0;
  for (const auto& [name, count] : votes)
    if (count > most) {
      best = name;
      most = count;
    }
  if (most > 0) return std::string(best);
  return config.consumer_assignors.empty() ? std::string(kUniformAssignor)
                                           : config.consumer_assignors.front();
}

std::optional<std::unordered_set<std::string>> ConsumerGroup::subscribed_topics() const {
  std::unordered_set<std::string> out;
  for (const auto& [member_id, m] : members)
    for (const auto& t : m.subscribed_topic_names) out.insert(t);
  // Topics subscribed by regular expression, as last resolved.
  for (const auto& [name, topic] : subscription_metadata) out.insert(name);
  return out;
}

std::vector<CoordinatorRecord> ConsumerGroup::tombstones() const {
  // The group is empty when it is deleted: its own records only (members'
  // were tombstoned as they left), in Kafka's order.
  std::vector<CoordinatorRecord> out;
  for (const auto& [regex, resolved] : resolved_regexes)
    out.push_back(
        {encode_consumer_group_key(kConsumerGroupRegularExpressionType, id, regex), std::nullopt});
  for (int16_t type : {kConsumerGroupTargetAssignmentMetadataType,
                       kConsumerGroupPartitionMetadataType, kConsumerGroupMetadataType})
    out.push_back({encode_consumer_group_key(type, id), std::nullopt});
  return out;
}

int16_t check_member_epoch(const ConsumerMember& member, int32_t received,
                           const std::optional<std::vector<ConsumerGroupTopicPartitions>>& owned) {
  if (received > member.member_epoch) return to_wire(ErrorCode::kFencedMemberEpoch);
  // The previous epoch with no more than the member has: the answer that
  // moved it on was lost.
  if (received < member.member_epoch &&
      (received != member.previous_member_epoch || !is_subset(owned, member.assigned)))
    return to_wire(ErrorCode::kFencedMemberEpoch);
  return kNone;
}

ConsumerMember reconcile(const ConsumerMember& member, int32_t target_epoch,
                         const TopicPartitionSet& target, const ConsumerGroup& group,
                         const std::optional<std::vector<ConsumerGroupTopicPartitions>>& owned) {
  auto next = [&](int32_t epoch) {
    TopicPartitionSet keep, revoke, gain;
    bool unreleased = false;
    std::set<wire::Uuid> topics;
    for (const auto& [t, p] : target) topics.insert(t);
    for (const auto& [t, p] : member.assigned) topics.insert(t);
    static const std::set<int32_t> kNoPartitions;
    for (const auto& topic : topics) {
      auto ti = target.find(topic);
      auto ai = member.assigned.find(topic);
      const std::set<int32_t>& wanted = ti == target.end() ? kNoPartitions : ti->second;
      const std::set<int32_t>& has = ai == member.assigned.end() ? kNoPartitions : ai->second;
      for (int32_t p : has) (wanted.contains(p) ? keep : revoke)[topic].insert(p);
      for (int32_t p : wanted) {
        if (has.contains(p)) continue;
        // Still someone's (assigned or not yet revoked): it waits.
        if (group.partition_epoch(topic, p) != -1)
          unreleased = true;
        else
          gain[topic].insert(p);
      }
    }
    ConsumerMember m = member;
    m.previous_member_epoch = member.member_epoch;
    if (!revoke.empty() && owns_any(owned, revoke)) {
      // Revoke first, at the epoch it has.
      m.state = MemberState::kUnrevokedPartitions;
      m.member_epoch = epoch;
      m.assigned = std::move(keep);
      m.pending_revocation = std::move(revoke);
      return m;
    }
    for (auto& [topic, parts] : gain) keep[topic].insert(parts.begin(), parts.end());
    m.state = unreleased ? MemberState::kUnreleasedPartitions : MemberState::kStable;
    m.member_epoch = target_epoch;
    m.assigned = std::move(keep);
    m.pending_revocation.clear();
    return m;
  };
  switch (member.state) {
    case MemberState::kStable:
      return member.member_epoch != target_epoch ? next(member.member_epoch) : member;
    case MemberState::kUnrevokedPartitions:
      // Until its heartbeat no longer lists what it gives up.
      if (owns_any(owned, member.pending_revocation)) return member;
      return next(member.member_epoch + 1);
    case MemberState::kUnreleasedPartitions:
      return next(member.member_epoch);
    case MemberState::kUnknown:
      break;
  }
  return next(target_epoch);
}

SubscriptionMetadata ConsumerGroups::compute_subscription_metadata(
    const ConsumerGroup& group, const ConsumerMember* updated, const TopicsView& topics,
    const std::function<bool(std::string_view)>& may_describe) const {
  SubscriptionMetadata out;
  if (topics.topics == nullptr) return out;
  std::set<std::string, std::less<>> names;
  std::set<std::string, std::less<>> patterns;
  auto add = [&](const ConsumerMember& m) {
    names.insert(m.subscribed_topic_names.begin(), m.subscribed_topic_names.end());
    if (m.subscribed_topic_regex && !m.subscribed_topic_regex->empty())
      patterns.insert(*m.subscribed_topic_regex);
  };
  for (const auto& [id, m] : group.members)
    if (!updated || id != updated->id) add(m);
  if (updated) add(*updated);
  auto put = [&](const cluster::TopicInfo& t) {
    out[t.name] = SubscribedTopic{t.id, static_cast<int32_t>(t.partitions.size())};
  };
  for (const auto& name : names)
    if (const cluster::TopicInfo* t = topics.topics->find(name)) put(*t);
  for (const auto& pattern : patterns) {
    auto regex = TopicRegex::compile(pattern);
    if (!regex) continue;
    for (const auto& [name, t] : topics.topics->topics())
      if (!t.is_internal() && regex->matches(name) && (!may_describe || may_describe(name))) put(t);
  }
  return out;
}

bool ConsumerGroups::commit_changes(std::string_view group_id,
                                    std::vector<ConsumerGroupChange>& changes) {
  if (changes.empty()) return true;
  std::vector<CoordinatorRecord> records;
  records.reserve(changes.size());
  for (const auto& c : changes) records.push_back(to_record(group_id, c));
  if (!ctx_.append(group_id, records)) {
    spdlog::error("group {}: writing {} records to {} failed", group_id, records.size(),
                  kOffsetsTopic);
    return false;
  }
  ConsumerGroup& group = ctx_.make<ConsumerGroup>(group_id);
  for (const auto& c : changes) replay(group, c);
  ctx_.changed();
  return true;
}

void ConsumerGroups::remove_member(const ConsumerGroup& group, const ConsumerMember& member,
                                   std::vector<ConsumerGroupChange>& changes) const {
  changes.push_back(change(kConsumerGroupCurrentMemberAssignmentType, member.id, std::nullopt));
  changes.push_back(change(kConsumerGroupTargetAssignmentMemberType, member.id, std::nullopt));
  changes.push_back(change(kConsumerGroupMemberMetadataType, member.id, std::nullopt));
  changes.push_back(
      change(kConsumerGroupMetadataType, {}, ConsumerGroupMetadataValue{group.group_epoch + 1, 0}));
}

void ConsumerGroups::regex_changes(
    const ConsumerGroup& group, const ConsumerMember* updated, std::string_view replacing,
    const TopicsView* topics, std::vector<ConsumerGroupChange>& changes,
    const std::function<bool(std::string_view)>& may_describe) const {
  std::set<std::string, std::less<>> used;
  auto add = [&](const ConsumerMember& m) {
    if (m.subscribed_topic_regex && !m.subscribed_topic_regex->empty())
      used.insert(*m.subscribed_topic_regex);
  };
  for (const auto& [id, m] : group.members)
    if (id != replacing) add(m);
  if (updated) add(*updated);
  for (const auto& [regex, resolved] : group.resolved_regexes)
    if (!used.contains(regex))
      changes.push_back(change(kConsumerGroupRegularExpressionType, regex, std::nullopt));
  if (topics == nullptr || topics->topics == nullptr) return;
  for (const auto& regex : used) {
    auto compiled = TopicRegex::compile(regex);
    if (!compiled) continue;
    std::vector<std::string> matched;
    for (const auto& [name, t] : topics->topics->topics())
      if (!t.is_internal() && compiled->matches(name) && (!may_describe || may_describe(name)))
        matched.push_back(name);
    auto it = group.resolved_regexes.find(regex);
    if (it != group.resolved_regexes.end() && it->second.topics == matched) continue;
    const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    changes.push_back(
        change(kConsumerGroupRegularExpressionType, regex,
               ConsumerGroupRegularExpressionValue{std::move(matched), topics->version, now}));
  }
}

bool ConsumerGroups::remove_or_downgrade(ConsumerGroup& group, const std::string& member_id,
                                         Millis now) {
  auto it = group.members.find(member_id);
  if (it == group.members.end()) return true;
  const std::string id = group.id;
  if (downgrade_ && may_downgrade_without(group, member_id, ctx_.config) &&
      downgrade_(group, member_id, now, true))
    return true;
  std::vector<ConsumerGroupChange> changes;
  remove_member(group, it->second, changes);
  regex_changes(group, nullptr, member_id, nullptr, changes);
  return commit_changes(id, changes);
}

void ConsumerGroups::fence_member(ConsumerGroup& group, const std::string& member_id,
                                  std::string_view why, Millis now) {
  if (!group.members.contains(member_id)) return;
  const std::string id = group.id;
  if (!remove_or_downgrade(group, member_id, now)) return;
  const ConsumerGroup* still = ctx_.find_as<ConsumerGroup>(id);
  spdlog::info("group {}: member {} fenced ({}); {}", id, member_id, why,
               still ? fmt::format("group epoch {}", still->group_epoch)
                     : std::string("the group went back to the classic protocol"));
}

ConsumerHeartbeatResult ConsumerGroups::leave(ConsumerGroup& group,
                                              const ConsumerHeartbeatParams& params, Millis now) {
  ConsumerMember* member = nullptr;
  if (params.instance_id) {
    auto s = group.static_members.find(*params.instance_id);
    if (s == group.static_members.end())
      return heartbeat_error(ErrorCode::kUnknownMemberId,
                             fmt::format("Instance id {} is unknown.", *params.instance_id));
    if (s->second != params.member_id)
      return heartbeat_error(
          ErrorCode::kFencedInstanceId,
          fmt::format("Instance id {} belongs to another member.", *params.instance_id));
    member = &group.members.at(s->second);
  } else {
    auto it = group.members.find(params.member_id);
    if (it == group.members.end())
      return heartbeat_error(
          ErrorCode::kUnknownMemberId,
          fmt::format("Member {} is not a member of group {}.", params.member_id, group.id));
    member = &it->second;
  }
  const std::string member_id = member->id;
  const std::string group_id = group.id;
  if (params.member_epoch == kLeaveGroupStaticMemberEpoch) {
    // A static member going away for a while: it keeps its partitions until
    // its session ends or it rejoins.
    std::vector<ConsumerGroupChange> changes;
    ConsumerMember left = *member;
    left.previous_member_epoch = left.member_epoch;
    left.member_epoch = kLeaveGroupStaticMemberEpoch;
    changes.push_back(
        change(kConsumerGroupCurrentMemberAssignmentType, member_id, assignment_value(left)));
    if (!commit_changes(group_id, changes))
      return heartbeat_error(ErrorCode::kCoordinatorNotAvailable);
  } else if (!remove_or_downgrade(group, member_id, now)) {
    return heartbeat_error(ErrorCode::kCoordinatorNotAvailable);
  }
  spdlog::info("group {}: member {} left{}", group_id, member_id,
               params.member_epoch == kLeaveGroupStaticMemberEpoch ? " (static, for now)" : "");
  ConsumerHeartbeatResult r;
  r.member_id = member_id;
  r.member_epoch = params.member_epoch;
  return r;
}

ConsumerMember ConsumerGroups::update_member(
    ConsumerGroup& group, const ConsumerMember& member, const ConsumerMember& updated, bool is_new,
    const ConsumerMember* replaced, const TopicsView& topics,
    const std::optional<std::vector<ConsumerGroupTopicPartitions>>& owned,
    std::vector<ConsumerGroupChange>& changes,
    const std::function<bool(std::string_view)>& may_describe) const {
  const std::string& member_id = updated.id;
  bool bump = false;
  if (is_new || replaced || !same_metadata(member, updated)) {
    changes.push_back(
        change(kConsumerGroupMemberMetadataType, updated.id, metadata_value(updated)));
    bump = is_new || updated.subscribed_topic_names != member.subscribed_topic_names ||
           updated.subscribed_topic_regex != member.subscribed_topic_regex ||
           updated.server_assignor != member.server_assignor;
  }
  int32_t group_epoch = group.group_epoch;
  SubscriptionMetadata metadata = group.subscription_metadata;
  if (bump || topics.version != group.metadata_version) {
    regex_changes(group, &updated, replaced ? replaced->id : updated.id, &topics, changes,
                  may_describe);
    metadata = compute_subscription_metadata(group, &updated, topics, may_describe);
    if (metadata != group.subscription_metadata) {
      bump = true;
      ConsumerGroupPartitionMetadataValue value;
      for (const auto& [name, t] : metadata) {
        auto& out = value.topics.emplace_back();
        out.topic_id = t.id;
        out.topic_name = name;
        out.num_partitions = t.partitions;
      }
      changes.push_back(change(kConsumerGroupPartitionMetadataType, {}, std::move(value)));
    }
    group.metadata_version = topics.version;
  }
  if (bump) {
    ++group_epoch;
    changes.push_back(
        change(kConsumerGroupMetadataType, {}, ConsumerGroupMetadataValue{group_epoch, 0}));
  }

  // 2. A new target assignment when the group epoch moved past it.
  int32_t target_epoch = group.assignment_epoch;
  TopicPartitionSet member_target;
  if (auto t = group.target.find(replaced ? replaced->id : updated.id); t != group.target.end())
    member_target = t->second;
  if (group_epoch > group.assignment_epoch) {
    AssignmentSpec spec;
    for (const auto& [name, t] : metadata) spec.partitions[t.id] = t.partitions;
    std::map<std::string, wire::Uuid, std::less<>> ids;
    for (const auto& [name, t] : metadata) ids[name] = t.id;
    auto spec_member = [&](const ConsumerMember& m, const std::string& target_of) {
      AssignorMember am;
      am.member_id = m.id;
      am.instance_id = m.instance_id;
      for (const auto& name : m.subscribed_topic_names)
        if (auto it = ids.find(name); it != ids.end()) am.subscribed.insert(it->second);
      if (m.subscribed_topic_regex) {
        if (auto regex = TopicRegex::compile(*m.subscribed_topic_regex))
          for (const auto& [name, id] : ids)
            if (regex->matches(name)) am.subscribed.insert(id);
      }
      if (auto it = group.target.find(target_of); it != group.target.end()) am.current = it->second;
      spec.members.push_back(std::move(am));
    };
    for (const auto& [id, m] : group.members)
      if (id != updated.id && !(replaced && id == replaced->id)) spec_member(m, id);
    spec_member(updated, replaced ? replaced->id : updated.id);
    // The assignor: the members' choice (counting the member as it is now).
    std::map<std::string_view, int32_t> votes;
    for (const auto& [id, m] : group.members)
      if (id != updated.id && !(replaced && id == replaced->id) && m.server_assignor)
        ++votes[*m.server_assignor];
    if (updated.server_assignor) ++votes[*updated.server_assignor];
    std::string chosen = ctx_.config.consumer_assignors.empty()
                             ? std::string(kUniformAssignor)
                             : ctx_.config.consumer_assignors.front();
    int32_t most = 0;
    for (const auto& [name, count] : votes)
      if (count > most) {
        most = count;
        chosen = std::string(name);
      }
    auto assignment = assign(chosen, spec);
    if (!assignment) assignment = assign_uniform(spec);
    for (auto& [id, partitions] : *assignment) {
      const std::string& previous_of = (replaced && id == updated.id) ? replaced->id : id;
      auto old = group.target.find(previous_of);
      const bool unchanged =
          old != group.target.end() && old->second == partitions && !(replaced && id == updated.id);
      if (!unchanged)
        changes.push_back(change(kConsumerGroupTargetAssignmentMemberType, id,
                                 ConsumerGroupTargetAssignmentMemberValue{
                                     to_records<TargetTopicPartition>(partitions)}));
    }
    changes.push_back(change(kConsumerGroupTargetAssignmentMetadataType, {},
                             ConsumerGroupTargetAssignmentMetadataValue{group_epoch, 0}));
    target_epoch = group_epoch;
    member_target = (*assignment)[updated.id];
    spdlog::info("group {}: target assignment for epoch {} by {} ({} members)", group.id,
                 group_epoch, chosen, spec.members.size());
  } else if (replaced) {
    // The new member inherits the old one's target.
    changes.push_back(change(
        kConsumerGroupTargetAssignmentMemberType, updated.id,
        ConsumerGroupTargetAssignmentMemberValue{to_records<TargetTopicPartition>(member_target)}));
  }

  // 3. The member one step closer to its target.
  ConsumerMember reconciled = reconcile(updated, target_epoch, member_target, group, owned);
  auto stored = group.members.find(member_id);
  if (replaced || stored == group.members.end() || !same_reconciliation(reconciled, stored->second))
    changes.push_back(change(kConsumerGroupCurrentMemberAssignmentType, reconciled.id,
                             assignment_value(reconciled)));
  return reconciled;
}

std::optional<ConsumerHeartbeatResult> ConsumerGroups::check_request(
    const ConsumerHeartbeatParams& params) const {
  // The request's own validity (Kafka's checks, in its order).
  auto invalid = [](std::string why) {
    return heartbeat_error(ErrorCode::kInvalidRequest, std::move(why));
  };
  if (params.group_id.empty()) return invalid("GroupId can't be empty.");
  if (params.instance_id && params.instance_id->empty())
    return invalid("InstanceId can't be empty.");
  if (params.rack_id && params.rack_id->empty()) return invalid("RackId can't be empty.");
  if (params.version >= 1 && params.member_id.empty()) return invalid("MemberId can't be empty.");
  const int32_t epoch = params.member_epoch;
  if (epoch > 0 || epoch == kLeaveGroupMemberEpoch) {
    if (params.member_id.empty()) return invalid("MemberId can't be empty.");
  } else if (epoch == 0) {
    if (params.rebalance_timeout_ms == -1)
      return invalid("RebalanceTimeoutMs must be provided in first request.");
    if (!params.owned || !params.owned->empty())
      return invalid("TopicPartitions must be empty when (re-)joining.");
    const bool names = params.subscribed_topic_names && !params.subscribed_topic_names->empty();
    const bool regex = params.subscribed_topic_regex && !params.subscribed_topic_regex->empty();
    if (!names && !regex)
      return invalid("SubscribedTopicNames or SubscribedTopicRegex must be set in first request.");
  } else if (epoch == kLeaveGroupStaticMemberEpoch) {
    if (params.member_id.empty()) return invalid("MemberId can't be empty.");
    if (!params.instance_id) return invalid("InstanceId can't be null.");
  } else {
    return invalid("MemberEpoch is invalid.");
  }
  if (params.server_assignor &&
      std::find(ctx_.config.consumer_assignors.begin(), ctx_.config.consumer_assignors.end(),
                *params.server_assignor) == ctx_.config.consumer_assignors.end())
    return heartbeat_error(
        ErrorCode::kUnsupportedAssignor,
        fmt::format("ServerAssignor {} is not supported. Supported assignors: "
                    "{}.",
                    *params.server_assignor, fmt::join(ctx_.config.consumer_assignors, ", ")));
  if (params.subscribed_topic_regex && !params.subscribed_topic_regex->empty()) {
    std::string why;
    if (!TopicRegex::compile(*params.subscribed_topic_regex, &why))
      return heartbeat_error(ErrorCode::kInvalidRegularExpression,
                             fmt::format("SubscribedTopicRegex `{}` is not a valid regular "
                                         "expression: {}.",
                                         *params.subscribed_topic_regex, why));
  }
  return std::nullopt;
}

ConsumerHeartbeatResult ConsumerGroups::heartbeat(const ConsumerHeartbeatParams& params,
                                                  const TopicsView& topics, Millis now) {
  if (auto invalid = check_request(params)) return std::move(*invalid);
  const int32_t epoch = params.member_epoch;

  // The group: a new one only for a joining member; an empty group of
  // another kind gives way, one with members does not.
  const Group* existing = ctx_.find(params.group_id);
  ConsumerGroup* group = ctx_.find_as<ConsumerGroup>(params.group_id);
  if (existing && !group &&
      (!existing->is_empty() || epoch != 0 || existing->type() == GroupType::kShare))
    return heartbeat_error(ErrorCode::kGroupIdNotFound,
                           fmt::format("Group {} is not a consumer group.", params.group_id));
  if (!group && epoch != 0)
    return heartbeat_error(ErrorCode::kGroupIdNotFound,
                           fmt::format("Group {} not found.", params.group_id));
  if (group && (epoch == kLeaveGroupMemberEpoch || epoch == kLeaveGroupStaticMemberEpoch))
    return leave(*group, params, now);
  if (!group) {
    if (!ctx_.retire_other_kind<ConsumerGroup>(params.group_id))
      return heartbeat_error(ErrorCode::kCoordinatorNotAvailable);
    group = &ctx_.make<ConsumerGroup>(params.group_id);
  }

  std::string member_id(params.member_id);
  if (member_id.empty()) member_id = random_member_id();  // version 0: the coordinator names it
  std::vector<ConsumerGroupChange> changes;
  ConsumerMember member;  // the member as it is before this heartbeat
  bool is_new = false;
  const ConsumerMember* replaced = nullptr;  // a static member's old self
  if (params.instance_id) {
    auto s = group->static_members.find(*params.instance_id);
    const ConsumerMember* old =
        s == group->static_members.end() ? nullptr : &group->members.at(s->second);
    if (epoch == 0) {
      if (old && old->id != member_id) {
        // A classic static member is replaced at once (Kafka's rule).
        if (old->member_epoch != kLeaveGroupStaticMemberEpoch && !old->uses_classic_protocol())
          return heartbeat_error(ErrorCode::kUnreleasedInstanceId,
                                 fmt::format("Static member {} with instance id {} is still "
                                             "active.",
                                             old->id, *params.instance_id));
        // The new member takes the old one's place and partitions.
        member = *old;
        member.id = member_id;
        member.member_epoch = 0;
        member.previous_member_epoch = 0;
        replaced = old;
      } else if (old) {
        member = *old;
        member.member_epoch = 0;
        member.previous_member_epoch = 0;
      } else {
        if (group->members.contains(member_id))
          member = group->members.at(member_id);
        else
          is_new = true;
      }
    } else {
      if (!old)
        return heartbeat_error(ErrorCode::kUnknownMemberId,
                               fmt::format("Instance id {} is unknown.", *params.instance_id));
      if (old->id != member_id)
        return heartbeat_error(
            ErrorCode::kFencedInstanceId,
            fmt::format("Instance id {} belongs to another member.", *params.instance_id));
      if (int16_t e = check_member_epoch(*old, epoch, params.owned); e != kNone)
        return heartbeat_error(static_cast<ErrorCode>(e));
      member = *old;
    }
  } else {
    auto it = group->members.find(member_id);
    if (it == group->members.end()) {
      if (epoch != 0)
        return heartbeat_error(
            ErrorCode::kUnknownMemberId,
            fmt::format("Member {} is not a member of group {}.", member_id, group->id));
      is_new = true;
    } else if (epoch == 0) {
      // The member starts over (after being fenced it released everything;
      // it gets back at once what it had that is still its target).
      member = it->second;
      member.member_epoch = 0;
      member.previous_member_epoch = 0;
      member.pending_revocation.clear();
      member.state = MemberState::kStable;
    } else {
      if (int16_t e = check_member_epoch(it->second, epoch, params.owned); e != kNone)
        return heartbeat_error(static_cast<ErrorCode>(e));
      member = it->second;
    }
  }
  if (is_new) {
    if (group->members.size() >= static_cast<size_t>(ctx_.config.consumer_max_size))
      return heartbeat_error(ErrorCode::kGroupMaxSizeReached,
                             fmt::format("The consumer group has reached its maximum capacity of "
                                         "{} members.",
                                         ctx_.config.consumer_max_size));
    member.id = member_id;
  }
  if (replaced) remove_member(*group, *replaced, changes);
  if (replaced) changes.pop_back();  // replacing a static member is no new epoch by itself

  // 1. The member's subscription and metadata.
  ConsumerMember updated = member;
  if (params.instance_id) updated.instance_id = std::string(*params.instance_id);
  if (params.rack_id) updated.rack_id = std::string(*params.rack_id);
  if (params.rebalance_timeout_ms != -1) updated.rebalance_timeout_ms = params.rebalance_timeout_ms;
  if (params.server_assignor) updated.server_assignor = std::string(*params.server_assignor);
  if (params.subscribed_topic_names)
    updated.subscribed_topic_names.assign(params.subscribed_topic_names->begin(),
                                          params.subscribed_topic_names->end());
  if (params.subscribed_topic_regex)
    updated.subscribed_topic_regex =
        params.subscribed_topic_regex->empty()
            ? std::nullopt
            : std::optional<std::string>(std::string(*params.subscribed_topic_regex));
  updated.client_id = std::string(params.client_id);
  updated.client_host = std::string(params.client_host);
  // A classic member taken over by a consumer-protocol one speaks the new protocol now.
  updated.classic.reset();
  updated.join_deadline.reset();
  updated.sync_deadline.reset();
  ConsumerMember reconciled = update_member(*group, member, updated, is_new, replaced, topics,
                                            params.owned, changes, params.may_describe);

  const std::string group_id = group->id;
  if (!commit_changes(group_id, changes))
    return heartbeat_error(ErrorCode::kCoordinatorNotAvailable);
  group = ctx_.find_as<ConsumerGroup>(group_id);
  if (is_new) spdlog::info("group {}: member {} joined", group_id, member_id);

  ConsumerMember& placed = group->members.at(member_id);
  placed.session_deadline = now + ctx_.consumer_session_timeout_ms(group_id);
  ctx_.note_deadline(placed.session_deadline);
  if (placed.state == MemberState::kUnrevokedPartitions) {
    // It has its rebalance timeout to give the partitions up, from when it
    // was first asked to at this epoch.
    const bool newly = member.state != MemberState::kUnrevokedPartitions ||
                       member.member_epoch != placed.member_epoch || !placed.revocation_deadline;
    if (newly) {
      placed.revocation_deadline = now + std::max(placed.rebalance_timeout_ms, 0);
      ctx_.note_deadline(*placed.revocation_deadline);
    }
  } else {
    placed.revocation_deadline.reset();
  }

  ConsumerHeartbeatResult r;
  r.member_id = member_id;
  r.member_epoch = placed.member_epoch;
  r.heartbeat_interval_ms = ctx_.consumer_heartbeat_interval_ms(group_id);
  // The assignment when the request was a full one (joining, or every field
  // set after an error) or when it changed.
  const bool full = epoch == 0 || (params.rebalance_timeout_ms != -1 &&
                                   params.subscribed_topic_names.has_value() && params.owned);
  if (full || placed.assigned != member.assigned) r.assignment = placed.assigned;
  return r;
}

int16_t ConsumerGroups::validate_commit(const ConsumerGroup& group,
                                        const CommitParams& params) const {
  // From outside the group (the admin client, a consumer that assigns
  // itself): only while nobody is in the group.
  if (params.generation < 0 && group.members.empty()) return kNone;
  auto it = group.members.find(params.member_id);
  if (it == group.members.end()) return to_wire(ErrorCode::kUnknownMemberId);
  // Classic members commit with the versions they always used, their
  // generation being their member epoch.
  const bool classic = it->second.uses_classic_protocol();
  if (!classic && params.api_version < 9) return to_wire(ErrorCode::kUnsupportedVersion);
  if (params.generation != it->second.member_epoch)
    return to_wire(classic ? ErrorCode::kIllegalGeneration : ErrorCode::kStaleMemberEpoch);
  return kNone;
}

int16_t ConsumerGroups::validate_fetch(const ConsumerGroup& group,
                                       std::optional<std::string_view> member_id,
                                       int32_t member_epoch) const {
  if (!member_id && member_epoch < 0) return kNone;
  auto it = group.members.find(member_id.value_or(""));
  if (it == group.members.end()) return to_wire(ErrorCode::kUnknownMemberId);
  if (member_epoch != it->second.member_epoch)
    return to_wire(it->second.uses_classic_protocol() ? ErrorCode::kIllegalGeneration
                                                      : ErrorCode::kStaleMemberEpoch);
  return kNone;
}

void ConsumerGroups::expire(ConsumerGroup& group, Millis now) {
  std::vector<std::pair<std::string, std::string_view>> fenced;
  for (const auto& [id, m] : group.members) {
    if (m.session_deadline <= now) {
      fenced.emplace_back(id, "session timeout");
    } else if (m.revocation_deadline && *m.revocation_deadline <= now) {
      fenced.emplace_back(id, "rebalance timeout: partitions not revoked in time");
    } else if (m.join_deadline && *m.join_deadline <= now) {
      fenced.emplace_back(id, "the classic member did not rejoin within its rebalance timeout");
    } else if (m.sync_deadline && *m.sync_deadline <= now) {
      fenced.emplace_back(id, "the classic member sent no SyncGroup within its rebalance timeout");
    } else {
      ctx_.note_deadline(m.session_deadline);
      for (const auto& at : {m.revocation_deadline, m.join_deadline, m.sync_deadline})
        if (at) ctx_.note_deadline(*at);
    }
  }
  // Fencing the last consumer-protocol member may give the group back to
  // the classic protocol: it is looked up again each time.
  const std::string group_id = group.id;
  for (const auto& [id, why] : fenced) {
    ConsumerGroup* current = ctx_.find_as<ConsumerGroup>(group_id);
    if (current == nullptr) return;
    fence_member(*current, id, why, now);
  }
  // Those the store could not fence yet are tried again in a while.
  const ConsumerGroup* current = ctx_.find_as<ConsumerGroup>(group_id);
  for (const auto& [id, why] : fenced)
    if (current != nullptr && current->members.contains(id)) ctx_.note_deadline(now + 1000);
}

void ConsumerGroups::replay(ConsumerGroup& group, const ConsumerGroupChange& c) {
  switch (c.type) {
    case kConsumerGroupMetadataType:
      if (c.value) group.group_epoch = std::get<ConsumerGroupMetadataValue>(*c.value).epoch;
      break;
    case kConsumerGroupPartitionMetadataType:
      group.subscription_metadata.clear();
      if (c.value)
        for (const auto& t : std::get<ConsumerGroupPartitionMetadataValue>(*c.value).topics)
          group.subscription_metadata[t.topic_name] = SubscribedTopic{t.topic_id, t.num_partitions};
      break;
    case kConsumerGroupTargetAssignmentMetadataType:
      group.assignment_epoch =
          c.value ? std::get<ConsumerGroupTargetAssignmentMetadataValue>(*c.value).assignment_epoch
                  : 0;
      break;
    case kConsumerGroupTargetAssignmentMemberType:
      if (c.value)
        group.target[c.member_id] = from_records(
            std::get<ConsumerGroupTargetAssignmentMemberValue>(*c.value).topic_partitions);
      else
        group.target.erase(c.member_id);
      break;
    case kConsumerGroupRegularExpressionType:
      if (c.value) {
        const auto& v = std::get<ConsumerGroupRegularExpressionValue>(*c.value);
        group.resolved_regexes[c.member_id] = ResolvedRegex{v.topics, v.version, v.timestamp};
      } else {
        group.resolved_regexes.erase(c.member_id);
      }
      break;
    case kConsumerGroupMemberMetadataType: {
      if (!c.value) {
        auto it = group.members.find(c.member_id);
        if (it == group.members.end()) break;
        remove_holdings(group, it->second);
        if (it->second.instance_id) {
          auto s = group.static_members.find(*it->second.instance_id);
          if (s != group.static_members.end() && s->second == c.member_id)
            group.static_members.erase(s);
        }
        group.members.erase(it);
        break;
      }
      const auto& v = std::get<ConsumerGroupMemberMetadataValue>(*c.value);
      ConsumerMember& m = group.members[c.member_id];
      m.id = c.member_id;
      m.instance_id = v.instance_id;
      m.rack_id = v.rack_id;
      m.client_id = v.client_id;
      m.client_host = v.client_host;
      m.subscribed_topic_names = v.subscribed_topic_names;
      m.subscribed_topic_regex = v.subscribed_topic_regex;
      if (m.subscribed_topic_regex && m.subscribed_topic_regex->empty())
        m.subscribed_topic_regex.reset();  // Kafka's "" for none
      m.rebalance_timeout_ms = v.rebalance_timeout_ms;
      m.server_assignor = v.server_assignor;
      m.classic = v.classic_member_metadata;
      if (m.instance_id) group.static_members[*m.instance_id] = m.id;
      break;
    }
    case kConsumerGroupCurrentMemberAssignmentType: {
      auto it = group.members.find(c.member_id);
      if (it == group.members.end()) break;
      ConsumerMember& m = it->second;
      remove_holdings(group, m);
      if (!c.value) {
        m.member_epoch = kLeaveGroupMemberEpoch;
        m.previous_member_epoch = kLeaveGroupMemberEpoch;
        m.state = MemberState::kStable;
        m.assigned.clear();
        m.pending_revocation.clear();
        break;
      }
      const auto& v = std::get<ConsumerGroupCurrentMemberAssignmentValue>(*c.value);
      m.member_epoch = v.member_epoch;
      m.previous_member_epoch = v.previous_member_epoch;
      switch (v.state) {
        case 0:
        case 1:
        case 2:
          m.state = static_cast<MemberState>(v.state);
          break;
        default:
          m.state = MemberState::kUnknown;
      }
      m.assigned = from_records(v.assigned_partitions);
      m.pending_revocation = from_records(v.partitions_pending_revocation);
      add_holdings(group, m);
      break;
    }
    default:
      break;
  }
}

bool ConsumerGroups::load(const ConsumerGroupRecordKey& key,
                          std::optional<std::span<const uint8_t>> value) {
  ConsumerGroup* group = ctx_.find_as<ConsumerGroup>(key.group);
  if (!group) {
    if (!value) return true;  // a tombstone of a group already gone
    group = &ctx_.make<ConsumerGroup>(key.group);
  }
  ConsumerGroupChange c{key.type, key.member_id, std::nullopt};
  if (value) {
    auto read = [&]<class T>() {
      auto v = decode_consumer_group_value<T>(*value);
      if (v) c.value = std::move(*v);
      return v.has_value();
    };
    bool ok = false;
    switch (key.type) {
      case kConsumerGroupMetadataType:
        ok = read.operator()<ConsumerGroupMetadataValue>();
        break;
      case kConsumerGroupPartitionMetadataType:
        ok = read.operator()<ConsumerGroupPartitionMetadataValue>();
        break;
      case kConsumerGroupMemberMetadataType:
        ok = read.operator()<ConsumerGroupMemberMetadataValue>();
        break;
      case kConsumerGroupTargetAssignmentMetadataType:
        ok = read.operator()<ConsumerGroupTargetAssignmentMetadataValue>();
        break;
      case kConsumerGroupTargetAssignmentMemberType:
        ok = read.operator()<ConsumerGroupTargetAssignmentMemberValue>();
        break;
      case kConsumerGroupCurrentMemberAssignmentType:
        ok = read.operator()<ConsumerGroupCurrentMemberAssignmentValue>();
        break;
      case kConsumerGroupRegularExpressionType:
        ok = read.operator()<ConsumerGroupRegularExpressionValue>();
        break;
      default:
        break;
    }
    if (!ok) return false;
  }
  replay(*group, c);
  return true;
}

void ConsumerGroups::finish_load(ConsumerGroup& group, Millis now) {
  for (auto& [id, m] : group.members) {
    m.session_deadline = now + m.session_timeout_ms(ctx_.consumer_session_timeout_ms(group.id));
    ctx_.note_deadline(m.session_deadline);
    if (m.state == MemberState::kUnrevokedPartitions && !m.uses_classic_protocol()) {
      m.revocation_deadline = now + std::max(m.rebalance_timeout_ms, 0);
      ctx_.note_deadline(*m.revocation_deadline);
    }
  }
}

}  // namespace kb::group
