#include "kb/group/coordinator.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "kb/protocol/error_code.hpp"
#include "kb/storage/meta_properties.hpp"

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

// Kafka's member ids: the client id (or instance id) and a random UUID.
std::string new_member_id(std::string_view prefix) {
  const wire::Uuid id = storage::random_uuid();
  std::string hex;
  for (size_t i = 0; i < id.bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) hex += '-';
    hex += fmt::format("{:02x}", id.bytes[i]);
  }
  return std::string(prefix) + "-" + hex;
}

// A list this small is counted at once; a bigger one a slice of this many
// protocols per loop turn (an insertion of a name each, 0.4 to 1.6 us on a
// busy machine: well under a millisecond a slice).
constexpr size_t kCountSlice = 512;

// Adds (delta 1) or takes away (-1) protocols [from, to) of `list` from the
// group's counts, each distinct name once.
void apply_counts(Group& group, const ProtocolList& list, int32_t delta, size_t from, size_t to) {
  for (size_t i = from; i < to; ++i) {
    if (!list.first_of_name(i)) continue;
    auto it = group.protocol_support.find(list.name(i));
    if (it == group.protocol_support.end())
      it = group.protocol_support.emplace(std::string(list.name(i)), 0).first;
    it->second += delta;
    if (it->second <= 0) group.protocol_support.erase(it);
  }
}

std::shared_ptr<const ProtocolList> list_of(const std::vector<ProtocolView>& given) {
  auto list = std::make_shared<ProtocolList>();
  list->reserve(given.size());
  for (const auto& p : given) list->add(p.name, p.metadata);
  return list;
}

template <class R>
Outcome<R> answer(R result) {
  return {std::move(result), 0};
}

Outcome<JoinResult> join_error(ErrorCode error, std::string member_id = {}) {
  JoinResult r;
  r.error = to_wire(error);
  r.member_id = std::move(member_id);
  return answer(std::move(r));
}

Outcome<SyncResult> sync_error(ErrorCode error) {
  SyncResult r;
  r.error = to_wire(error);
  return answer(std::move(r));
}

}  // namespace

bool equals_ignore_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view to_string(GroupState state) {
  switch (state) {
    case GroupState::kEmpty:
      return "Empty";
    case GroupState::kPreparingRebalance:
      return "PreparingRebalance";
    case GroupState::kCompletingRebalance:
      return "CompletingRebalance";
    case GroupState::kStable:
      return "Stable";
    case GroupState::kDead:
      return "Dead";
  }
  return "Dead";
}

std::optional<GroupState> parse_group_state(std::string_view name) {
  for (auto s : {GroupState::kEmpty, GroupState::kPreparingRebalance,
                 GroupState::kCompletingRebalance, GroupState::kStable, GroupState::kDead})
    if (equals_ignore_case(name, to_string(s))) return s;
  return std::nullopt;
}

std::optional<std::span<const uint8_t>> Member::metadata_for(std::string_view protocol) const {
  const size_t at = protocols->find(protocol);
  if (at == ProtocolList::npos) return std::nullopt;
  return protocols->metadata(at);
}

int32_t Group::max_rebalance_timeout() const {
  int32_t max = 0;
  for (const auto& [member_id, m] : members) max = std::max(max, m.rebalance_timeout_ms);
  return max;
}

GroupCoordinator::GroupCoordinator(GroupConfig config, GroupStore* store)
    : config_(config), store_(store) {}

Group& GroupCoordinator::create_group(std::string_view group_id) {
  auto [it, inserted] = groups_.try_emplace(std::string(group_id));
  if (inserted) it->second.id = it->first;
  return it->second;
}

Group* GroupCoordinator::find_mutable(std::string_view group_id) {
  auto it = groups_.find(group_id);
  return it == groups_.end() ? nullptr : &it->second;
}

const Group* GroupCoordinator::find(std::string_view group_id) const {
  auto it = groups_.find(group_id);
  return it == groups_.end() ? nullptr : &it->second;
}

void GroupCoordinator::count_protocols(Group& group, const Member& member, int32_t delta) {
  const ProtocolList& list = *member.protocols;
  // In order: a member's uncounting must never pass its counting.
  if (group.counts_settled() && list.size() <= kCountSlice) {
    apply_counts(group, list, delta, 0, list.size());
    return;
  }
  // Room for every name now, while the table is as small as it gets: growing
  // it slice by slice would move every entry at once, again and again.
  if (delta > 0) group.protocol_support.reserve(group.protocol_support.size() + list.distinct());
  group.counting.push_back({member.protocols, delta, 0});
  note_deadline(0);  // the first slice is due at once: at the next advance
}

bool GroupCoordinator::settle_counts(Group& group, Millis now) {
  if (group.counts_settled()) return true;
  size_t budget = kCountSlice;
  while (!group.counting.empty() && budget > 0) {
    Group::CountChange& change = group.counting.front();
    const size_t to = std::min(change.list->size(), change.next + budget);
    apply_counts(group, *change.list, change.delta, change.next, to);
    budget -= to - change.next;
    change.next = to;
    if (change.next == change.list->size()) group.counting.pop_front();
  }
  if (!group.counting.empty()) {
    note_deadline(now);
    return false;
  }
  // Joins that waited for the counts are asked again.
  changed();
  return true;
}

void GroupCoordinator::note_deadline(Millis at) {
  if (!next_deadline_ || at < *next_deadline_) next_deadline_ = at;
}

std::optional<Millis> GroupCoordinator::next_deadline() const {
  if (retention_check_at_ < 0) return next_deadline_;
  return next_deadline_ ? std::min(*next_deadline_, retention_check_at_) : retention_check_at_;
}

GroupCoordinator::Dropped GroupCoordinator::drop_offsets(
    Group& group, std::span<const OffsetMap::iterator> offsets, GroupLeftEmpty left_empty) {
  std::vector<CoordinatorRecord> tombstones;
  tombstones.reserve(offsets.size() + 1);
  for (auto o : offsets)
    tombstones.push_back(
        {encode_key(OffsetCommitKey{group.id, o->first.first, o->first.second}), std::nullopt});
  const bool drop_group = left_empty == GroupLeftEmpty::kDropIt &&
                          group.state == GroupState::kEmpty &&
                          offsets.size() == group.offsets.size();
  if (drop_group) tombstones.push_back({encode_key(GroupMetadataKey{group.id}), std::nullopt});
  if (tombstones.empty()) return Dropped::kOffsets;
  if (store_ && !store_->append(partition_for(group.id), tombstones)) {
    spdlog::error("group {}: writing tombstones to {} failed", group.id, kOffsetsTopic);
    return Dropped::kNothing;
  }
  for (auto o : offsets) group.offsets.erase(o);
  changed();
  return drop_group ? Dropped::kGroup : Dropped::kOffsets;
}

void GroupCoordinator::expire_offsets() {
  const int64_t now = wall_ms();
  for (auto it = groups_.begin(); it != groups_.end();) {
    Group& group = it->second;
    // Only a group nobody consumes with loses its offsets (Kafka's rule).
    if (group.state != GroupState::kEmpty || !group.pending_members.empty()) {
      ++it;
      continue;
    }
    std::vector<OffsetMap::iterator> expired;
    for (auto o = group.offsets.begin(); o != group.offsets.end(); ++o)
      if (now - o->second.commit_timestamp >= config_.offsets_retention_ms) expired.push_back(o);
    const size_t count = expired.size();
    const Dropped dropped = drop_offsets(group, expired, GroupLeftEmpty::kDropIt);
    if (count > 0 || dropped == Dropped::kGroup)
      spdlog::info("group {}: {} committed offsets expired{}", group.id, count,
                   dropped == Dropped::kGroup ? ", group removed" : "");
    it = dropped == Dropped::kGroup ? groups_.erase(it) : std::next(it);
  }
}

void GroupCoordinator::advance(Millis now) {
  if (retention_check_at_ < 0) retention_check_at_ = now + config_.retention_check_interval_ms;
  if (now >= retention_check_at_) {
    retention_check_at_ = now + config_.retention_check_interval_ms;
    expire_offsets();
  }
  if (!next_deadline_ || now < *next_deadline_) return;
  next_deadline_.reset();
  for (auto& [id, group] : groups_) expire(group, now);
}

// Runs the group's expired timers and notes its next deadline.
void GroupCoordinator::expire(Group& group, Millis now) {
  // A rebalance that waited for the counts may complete once they are made.
  if (!group.counts_settled() && settle_counts(group, now)) try_complete_join(group, now);
  bool pending_expired = false;
  bool removed = false;
  for (auto it = group.pending_members.begin(); it != group.pending_members.end();) {
    if (it->second <= now) {
      it = group.pending_members.erase(it);
      pending_expired = true;
    } else {
      note_deadline(it->second);
      ++it;
    }
  }
  std::vector<std::string> expired;
  for (const auto& [id, m] : group.members) {
    // A member waiting in a JoinGroup or SyncGroup is alive whatever its heartbeats.
    if (m.awaiting_join || m.awaiting_sync) continue;
    if (m.session_deadline <= now)
      expired.push_back(id);
    else
      note_deadline(m.session_deadline);
  }
  for (const auto& id : expired) {
    spdlog::info("group {}: member {} missed its session timeout", group.id, id);
    remove_member(group, id, to_wire(ErrorCode::kUnknownMemberId));
    removed = true;
  }
  if (removed)
    member_left(group, now);
  else if (pending_expired)
    try_complete_join(group, now);

  if (group.state == GroupState::kPreparingRebalance) {
    if (group.rebalance_deadline <= now) {
      group.initial_delay = false;
      complete_join(group, now);
    } else {
      note_deadline(group.rebalance_deadline);
    }
  }
  if (group.sync_deadline &&
      (group.state == GroupState::kCompletingRebalance || group.state == GroupState::kStable)) {
    if (*group.sync_deadline <= now) {
      group.sync_deadline.reset();
      std::vector<std::string> unsynced;
      for (const auto& [id, m] : group.members)
        if (m.synced_generation != group.generation) unsynced.push_back(id);
      for (const auto& id : unsynced) {
        spdlog::info("group {}: member {} sent no SyncGroup in time", group.id, id);
        remove_member(group, id, to_wire(ErrorCode::kUnknownMemberId));
      }
      if (!unsynced.empty()) member_left(group, now);
    } else {
      note_deadline(*group.sync_deadline);
    }
  }
}

// After members were removed: the rebalance this needs, or the one under way
// may now be complete.
void GroupCoordinator::member_left(Group& group, Millis now) {
  changed();
  if (group.state == GroupState::kStable || group.state == GroupState::kCompletingRebalance)
    prepare_rebalance(group, now);
  else if (group.state == GroupState::kPreparingRebalance)
    try_complete_join(group, now);
}

void GroupCoordinator::remove_member(Group& group, std::string_view member_id,
                                     int16_t parked_join_error) {
  auto it = group.members.find(member_id);
  if (it == group.members.end()) return;
  Member& m = it->second;
  if (m.join_request) {
    JoinResult r;
    r.error = parked_join_error;
    answer_parked_join(m, std::move(r));
  }
  if (m.instance_id) {
    auto s = group.static_members.find(*m.instance_id);
    if (s != group.static_members.end() && s->second == member_id) group.static_members.erase(s);
  }
  count_protocols(group, m, -1);
  group.members.erase(it);
  if (group.leader && *group.leader == member_id) {
    if (group.members.empty())
      group.leader.reset();
    else
      group.leader = group.members.begin()->first;
  }
  changed();
}

void GroupCoordinator::answer_parked_join(Member& member, JoinResult result) {
  if (!member.join_request) return;
  auto p = pending_joins_.find(*member.join_request);
  if (p != pending_joins_.end()) p->second.result = std::move(result);
  member.join_request.reset();
  changed();
}

void GroupCoordinator::prepare_rebalance(Group& group, Millis now) {
  // Followers waiting for the leader's assignment learn that another round started.
  for (auto& [id, m] : group.members) m.awaiting_sync = false;
  group.sync_deadline.reset();
  const bool first = group.state == GroupState::kEmpty;
  group.state = GroupState::kPreparingRebalance;
  const Millis timeout = group.max_rebalance_timeout();
  if (first && config_.initial_rebalance_delay_ms > 0) {
    // A new group waits a little for more members before its first
    // generation, so they do not each cause a rebalance.
    group.initial_delay = true;
    group.initial_delay_limit = now + timeout;
    group.rebalance_deadline =
        std::min<Millis>(now + config_.initial_rebalance_delay_ms, group.initial_delay_limit);
  } else {
    group.initial_delay = false;
    group.rebalance_deadline = now + timeout;
  }
  note_deadline(group.rebalance_deadline);
  spdlog::debug("group {}: preparing rebalance (generation {})", group.id, group.generation);
  changed();
  try_complete_join(group, now);
}

void GroupCoordinator::try_complete_join(Group& group, Millis now) {
  if (group.state != GroupState::kPreparingRebalance || group.initial_delay) return;
  if (!group.pending_members.empty()) return;
  for (const auto& [id, m] : group.members)
    if (!m.awaiting_join) return;
  complete_join(group, now);
}

void GroupCoordinator::complete_join(Group& group, Millis now) {
  // Dynamic members that did not rejoin in time are gone; static ones keep
  // their place until their session expires.
  std::vector<std::string> missing;
  for (const auto& [id, m] : group.members)
    if (!m.awaiting_join && !m.instance_id) missing.push_back(id);
  for (const auto& id : missing) remove_member(group, id, to_wire(ErrorCode::kUnknownMemberId));
  // Choosing the protocol reads the counts: the rebalance completes once
  // they are made (expire() asks again).
  if (!group.members.empty() && !settle_counts(group, now)) return;

  ++group.generation;
  changed();
  if (group.members.empty()) {
    group.state = GroupState::kEmpty;
    group.protocol.reset();
    group.leader.reset();
    spdlog::info("group {}: empty at generation {}", group.id, group.generation);
    persist_group(group);
    return;
  }

  group.protocol = select_protocol(group);
  // The leader must be one that gets this answer (a static leader that has
  // not rejoined cannot assign).
  auto current_leader = group.leader ? group.members.find(*group.leader) : group.members.end();
  if (current_leader == group.members.end() || !current_leader->second.awaiting_join) {
    for (const auto& [id, m] : group.members)
      if (m.awaiting_join) {
        group.leader = id;
        break;
      }
  }
  group.state = GroupState::kCompletingRebalance;
  group.sync_deadline = now + group.max_rebalance_timeout();
  note_deadline(*group.sync_deadline);
  spdlog::info("group {}: generation {} with {} members, protocol {}, leader {}", group.id,
               group.generation, group.members.size(), group.protocol.value_or(""),
               group.leader.value_or(""));
  for (auto& [id, m] : group.members) {
    if (!m.awaiting_join) continue;
    m.awaiting_join = false;
    m.session_deadline = now + m.session_timeout_ms;
    note_deadline(m.session_deadline);
    answer_parked_join(m, current_generation_result(group, m, false));
  }
}

JoinResult GroupCoordinator::current_generation_result(const Group& group, const Member& member,
                                                       bool skip_assignment) const {
  JoinResult r;
  r.generation = group.generation;
  r.protocol_type = group.protocol_type;
  r.protocol_name = group.protocol;
  r.leader = group.leader.value_or("");
  r.member_id = member.id;
  r.skip_assignment = skip_assignment;
  if (group.leader && *group.leader == member.id && group.protocol) {
    for (const auto& [id, m] : group.members) {
      const auto metadata = m.metadata_for(*group.protocol);
      r.members.push_back({id, m.instance_id,
                           metadata ? std::vector<uint8_t>(metadata->begin(), metadata->end())
                                    : std::vector<uint8_t>{}});
    }
  }
  return r;
}

bool GroupCoordinator::supports_protocols(const Group& group, const JoinParams& params) const {
  const ProtocolList& given = *params.protocol_list;
  if (params.protocol_type.empty() || given.empty()) return false;
  if (group.members.empty()) return true;
  if (params.protocol_type != group.protocol_type) return false;
  auto self = group.members.find(params.member_id);
  const auto others =
      static_cast<int32_t>(group.members.size()) - (self != group.members.end() ? 1 : 0);
  if (others == 0) return true;
  // At least one of the joining member's protocols every other member
  // supports (its own old protocols do not count).
  for (size_t i = 0; i < given.size(); ++i) {
    if (!given.first_of_name(i)) continue;
    auto it = group.protocol_support.find(given.name(i));
    const int32_t support = it == group.protocol_support.end() ? 0 : it->second;
    const bool own = self != group.members.end() &&
                     self->second.protocols->find(given.name(i)) != ProtocolList::npos;
    if (support - (own ? 1 : 0) == others) return true;
  }
  return false;
}

void GroupCoordinator::compare_protocols(const Member& member, const JoinParams& params,
                                         bool* same_list, bool* same_names) {
  const ProtocolList& given = *params.protocol_list;
  if (params.compared_with == member.protocols) {
    *same_list = params.same_list;
    *same_names = params.same_names;
    return;
  }
  *same_list = *member.protocols == given;
  *same_names = *same_list || member.protocols->same_names(given);
}

// Kafka's choice: among the protocols every member supports (the candidates),
// the one most members vote for, each its most preferred candidate; a tie
// goes to the one the first member prefers. A member's vote is found by
// looking its protocols up in order until one is a candidate (usually its
// first), so choosing costs what the members list before their votes.
std::optional<std::string> GroupCoordinator::select_protocol(const Group& group) const {
  if (group.members.empty()) return std::nullopt;
  const auto everyone = static_cast<int32_t>(group.members.size());
  auto candidate = [&](std::string_view name) {
    auto it = group.protocol_support.find(name);
    return it != group.protocol_support.end() && it->second == everyone;
  };
  std::unordered_map<std::string_view, int32_t> votes;  // by candidate voted for
  for (const auto& [id, m] : group.members) {
    const ProtocolList& list = *m.protocols;
    for (size_t i = 0; i < list.size(); ++i)
      if (list.first_of_name(i) && candidate(list.name(i))) {
        ++votes[list.name(i)];
        break;
      }
  }
  if (votes.empty()) return std::nullopt;
  int32_t most = 0;
  for (const auto& [name, count] : votes) most = std::max(most, count);
  // The first member lists every candidate: the first of the most voted in its order.
  const ProtocolList& first = *group.members.begin()->second.protocols;
  std::string_view best;
  size_t best_at = ProtocolList::npos;
  for (const auto& [name, count] : votes) {
    if (count != most) continue;
    const size_t at = first.find(name);
    if (best_at == ProtocolList::npos || at < best_at) {
      best = name;
      best_at = at;
    }
  }
  return std::string(best);
}

int16_t GroupCoordinator::validate_member(Group& group, std::string_view member_id,
                                          std::optional<std::string_view> instance_id,
                                          Member** member) const {
  if (instance_id) {
    auto s = group.static_members.find(*instance_id);
    if (s != group.static_members.end() && s->second != member_id)
      return to_wire(ErrorCode::kFencedInstanceId);
  }
  auto it = group.members.find(member_id);
  if (it == group.members.end()) return to_wire(ErrorCode::kUnknownMemberId);
  if (instance_id && it->second.instance_id != std::optional<std::string>(*instance_id))
    return to_wire(ErrorCode::kFencedInstanceId);
  *member = &it->second;
  return kNone;
}

std::shared_ptr<const ProtocolList> GroupCoordinator::member_protocols(
    std::string_view group_id, std::string_view member_id) const {
  const Group* group = find(group_id);
  if (group == nullptr) return nullptr;
  auto it = group->members.find(member_id);
  return it == group->members.end() ? nullptr : it->second.protocols;
}

Outcome<JoinResult> GroupCoordinator::join(const RequestKey& key, const JoinParams& given,
                                           Millis now) {
  advance(now);
  if (auto p = pending_joins_.find(key); p != pending_joins_.end()) {
    // The same request again: answered by now, or still waiting.
    if (p->second.result) {
      JoinResult r = std::move(*p->second.result);
      pending_joins_.erase(p);
      return answer(std::move(r));
    }
    return {std::nullopt, p->second.wait_until};
  }
  JoinParams params = given;
  if (!params.protocol_list) params.protocol_list = list_of(given.protocols);
  if (params.group_id.empty()) return join_error(ErrorCode::kInvalidGroupId);
  if (params.session_timeout_ms < config_.min_session_timeout_ms ||
      params.session_timeout_ms > config_.max_session_timeout_ms)
    return join_error(ErrorCode::kInvalidSessionTimeout, std::string(params.member_id));

  Group* group = find_mutable(params.group_id);
  if (!group) {
    if (!params.member_id.empty())
      return join_error(ErrorCode::kUnknownMemberId, std::string(params.member_id));
    group = &create_group(params.group_id);
  }
  // Checking the protocols against the other members' reads the counts: the
  // join waits for them (asked again when they are made).
  if (!group->members.empty() &&
      !(group->members.size() == 1 && group->members.contains(params.member_id)) &&
      !settle_counts(*group, now))
    return {std::nullopt, now + params.rebalance_timeout_ms};
  if (!supports_protocols(*group, params))
    return join_error(ErrorCode::kInconsistentGroupProtocol, std::string(params.member_id));
  return params.member_id.empty() ? join_new_member(key, *group, params, now)
                                  : join_known_member(key, *group, params, now);
}

Outcome<JoinResult> GroupCoordinator::join_new_member(const RequestKey& key, Group& group,
                                                      const JoinParams& params, Millis now) {
  if (params.instance_id && group.static_members.contains(*params.instance_id))
    return rejoin_static_member(key, group, params, now);
  if (group.members.size() + group.pending_members.size() >= static_cast<size_t>(config_.max_size))
    return join_error(ErrorCode::kGroupMaxSizeReached);
  std::string member_id =
      new_member_id(params.instance_id ? *params.instance_id : params.client_id);
  if (!params.instance_id && params.require_known_member_id) {
    // The client must come back with this id: a member that never does (a
    // lost response) then costs no rebalance.
    const Millis deadline = now + params.session_timeout_ms;
    group.pending_members[member_id] = deadline;
    note_deadline(deadline);
    return join_error(ErrorCode::kMemberIdRequired, std::move(member_id));
  }
  return add_member_and_rebalance(key, group, params, std::move(member_id), now);
}

Outcome<JoinResult> GroupCoordinator::rejoin_static_member(const RequestKey& key, Group& group,
                                                           const JoinParams& params, Millis now) {
  // A static member back with a new member id replaces its old self.
  const std::string old_id = group.static_members.at(std::string(*params.instance_id));
  auto old = group.members.extract(old_id);
  if (old.empty()) {
    // The mapping outlived its member: the instance joins as a new member.
    group.static_members.erase(std::string(*params.instance_id));
    return add_member_and_rebalance(key, group, params, new_member_id(*params.instance_id), now);
  }
  Member member = std::move(old.mapped());
  if (member.join_request) {
    JoinResult fenced;
    fenced.error = to_wire(ErrorCode::kFencedInstanceId);
    answer_parked_join(member, std::move(fenced));
  }
  bool protocols_unchanged = false, same_names = false;
  compare_protocols(member, params, &protocols_unchanged, &same_names);
  member.id = new_member_id(*params.instance_id);
  member.client_id = params.client_id;
  member.client_host = params.client_host;
  member.session_timeout_ms = params.session_timeout_ms;
  member.rebalance_timeout_ms = params.rebalance_timeout_ms;
  member.awaiting_sync = false;
  member.session_deadline = now + params.session_timeout_ms;
  note_deadline(member.session_deadline);
  const std::string new_id = member.id;
  group.static_members[std::string(*params.instance_id)] = new_id;
  const bool was_leader = group.leader && *group.leader == old_id;
  if (was_leader) group.leader = new_id;
  Member& placed = group.members.emplace(new_id, std::move(member)).first->second;
  spdlog::info("group {}: static member {} rejoined as {}", group.id, *params.instance_id, new_id);
  changed();

  if (group.state == GroupState::kStable && protocols_unchanged) {
    // Nothing changed for the group: the member resumes its assignment.
    persist_group(group);
    placed.synced_generation = group.generation;
    return answer(current_generation_result(group, placed, was_leader));
  }
  return update_member_and_rebalance(key, group, placed, params, now);
}

Outcome<JoinResult> GroupCoordinator::join_known_member(const RequestKey& key, Group& group,
                                                        const JoinParams& params, Millis now) {
  if (auto pending = group.pending_members.find(params.member_id);
      pending != group.pending_members.end()) {
    group.pending_members.erase(pending);
    return add_member_and_rebalance(key, group, params, std::string(params.member_id), now);
  }
  Member* member = nullptr;
  if (int16_t e = validate_member(group, params.member_id, params.instance_id, &member);
      e != kNone) {
    JoinResult r;
    r.error = e;
    r.member_id = std::string(params.member_id);
    return answer(std::move(r));
  }
  bool unchanged = false, same_names = false;
  compare_protocols(*member, params, &unchanged, &same_names);
  switch (group.state) {
    case GroupState::kPreparingRebalance:
      return update_member_and_rebalance(key, group, *member, params, now);
    case GroupState::kCompletingRebalance:
      // It missed its JoinGroup answer: the same one again.
      if (unchanged) return answer(current_generation_result(group, *member, false));
      return update_member_and_rebalance(key, group, *member, params, now);
    case GroupState::kStable:
      // A follower with nothing new keeps the generation; the leader joining
      // again asks for a new assignment (e.g. the topics changed).
      if (unchanged && !(group.leader && *group.leader == member->id)) {
        member->session_deadline = now + member->session_timeout_ms;
        note_deadline(member->session_deadline);
        return answer(current_generation_result(group, *member, false));
      }
      return update_member_and_rebalance(key, group, *member, params, now);
    case GroupState::kEmpty:
    case GroupState::kDead:
      break;
  }
  return join_error(ErrorCode::kUnknownMemberId, std::string(params.member_id));
}

Outcome<JoinResult> GroupCoordinator::add_member_and_rebalance(const RequestKey& key, Group& group,
                                                               const JoinParams& params,
                                                               std::string member_id, Millis now) {
  Member m;
  m.id = member_id;
  if (params.instance_id) {
    m.instance_id = std::string(*params.instance_id);
    group.static_members[*m.instance_id] = member_id;
  }
  m.client_id = params.client_id;
  m.client_host = params.client_host;
  m.session_timeout_ms = params.session_timeout_ms;
  m.rebalance_timeout_ms = params.rebalance_timeout_ms;
  m.protocols = params.protocol_list;
  m.awaiting_join = true;
  m.session_deadline = now + params.session_timeout_ms;
  if (group.members.empty()) group.protocol_type = params.protocol_type;
  if (!group.leader) group.leader = member_id;
  Member& placed = group.members.emplace(member_id, std::move(m)).first->second;
  count_protocols(group, placed, 1);
  spdlog::info("group {}: member {} joined ({} members)", group.id, member_id,
               group.members.size());
  changed();
  if (group.state == GroupState::kPreparingRebalance && group.initial_delay) {
    // Each newcomer to a new group extends the gathering, within the rebalance timeout.
    group.rebalance_deadline = std::max(
        group.rebalance_deadline,
        std::min<Millis>(now + config_.initial_rebalance_delay_ms, group.initial_delay_limit));
    note_deadline(group.rebalance_deadline);
  }
  if (group.state != GroupState::kPreparingRebalance)
    prepare_rebalance(group, now);
  else
    try_complete_join(group, now);
  return park_join(key, group, placed, now);
}

Outcome<JoinResult> GroupCoordinator::update_member_and_rebalance(const RequestKey& key,
                                                                  Group& group, Member& member,
                                                                  const JoinParams& params,
                                                                  Millis now) {
  bool same_list = false, same_names = false;
  compare_protocols(member, params, &same_list, &same_names);
  // The counts change only with the names (a new order or new metadata
  // leaves them): no work per protocol for a member that reorders.
  if (!same_names) count_protocols(group, member, -1);
  member.protocols = params.protocol_list;
  if (!same_names) count_protocols(group, member, 1);
  member.session_timeout_ms = params.session_timeout_ms;
  member.rebalance_timeout_ms = params.rebalance_timeout_ms;
  member.client_id = params.client_id;
  member.client_host = params.client_host;
  member.awaiting_join = true;
  if (member.join_request) {
    // A newer JoinGroup of the same member replaces the parked one.
    JoinResult superseded;
    superseded.error = to_wire(ErrorCode::kRebalanceInProgress);
    answer_parked_join(member, std::move(superseded));
  }
  changed();
  if (group.state != GroupState::kPreparingRebalance)
    prepare_rebalance(group, now);
  else
    try_complete_join(group, now);
  return park_join(key, group, member, now);
}

Outcome<JoinResult> GroupCoordinator::park_join(const RequestKey& key, Group& group, Member& member,
                                                Millis now) {
  if (!member.awaiting_join) {
    // The join completed at once; complete_join answered nobody for this
    // request yet (it had no key), so answer with the generation now.
    return answer(current_generation_result(group, member, false));
  }
  PendingJoin& p = pending_joins_[key];
  p.group_id = group.id;
  p.member_id = member.id;
  p.result.reset();
  // Past the rebalance deadline (when the join completes anyway), with room
  // for the timer that completes it.
  p.wait_until = std::max(group.rebalance_deadline, now + member.rebalance_timeout_ms) + 1000;
  member.join_request = key;
  return {std::nullopt, p.wait_until};
}

JoinResult GroupCoordinator::abandon_join(const RequestKey& key) {
  auto p = pending_joins_.find(key);
  JoinResult r;
  r.error = to_wire(ErrorCode::kRebalanceInProgress);
  if (p == pending_joins_.end()) return r;
  if (p->second.result) r = std::move(*p->second.result);
  if (Group* g = find_mutable(p->second.group_id)) {
    auto m = g->members.find(p->second.member_id);
    if (m != g->members.end() && m->second.join_request == key) m->second.join_request.reset();
  }
  pending_joins_.erase(p);
  return r;
}

void GroupCoordinator::connection_closed(uint64_t connection) {
  for (auto it = pending_joins_.begin(); it != pending_joins_.end();) {
    if (it->first.connection != connection) {
      ++it;
      continue;
    }
    if (Group* g = find_mutable(it->second.group_id)) {
      auto m = g->members.find(it->second.member_id);
      if (m != g->members.end() && m->second.join_request == it->first)
        m->second.join_request.reset();
    }
    it = pending_joins_.erase(it);
  }
}

Outcome<SyncResult> GroupCoordinator::sync(const SyncParams& params, Millis now) {
  advance(now);
  Group* group = find_mutable(params.group_id);
  if (!group) return sync_error(ErrorCode::kUnknownMemberId);
  Member* member = nullptr;
  if (int16_t e = validate_member(*group, params.member_id, params.instance_id, &member);
      e != kNone) {
    SyncResult r;
    r.error = e;
    return answer(std::move(r));
  }
  if (params.generation != group->generation) return sync_error(ErrorCode::kIllegalGeneration);
  if ((params.protocol_type && *params.protocol_type != group->protocol_type) ||
      (params.protocol_name && group->protocol && *params.protocol_name != *group->protocol))
    return sync_error(ErrorCode::kInconsistentGroupProtocol);

  auto assigned = [&](const Member& m) {
    SyncResult r;
    r.protocol_type = group->protocol_type;
    r.protocol_name = group->protocol;
    r.assignment = m.assignment;
    return answer(std::move(r));
  };
  switch (group->state) {
    case GroupState::kEmpty:
    case GroupState::kDead:
      return sync_error(ErrorCode::kUnknownMemberId);
    case GroupState::kPreparingRebalance:
      return sync_error(ErrorCode::kRebalanceInProgress);
    case GroupState::kStable:
      member->synced_generation = group->generation;
      member->awaiting_sync = false;
      if (std::all_of(group->members.begin(), group->members.end(), [&](const auto& e) {
            return e.second.synced_generation == group->generation;
          }))
        group->sync_deadline.reset();
      return assigned(*member);
    case GroupState::kCompletingRebalance:
      break;
  }
  member->synced_generation = group->generation;
  if (!(group->leader && *group->leader == member->id)) {
    member->awaiting_sync = true;
    return {std::nullopt, now + std::max(member->rebalance_timeout_ms, 1000) + 1000};
  }
  // The leader's assignment: every member gets its part (none: empty).
  for (auto& [id, m] : group->members) m.assignment.clear();
  for (const auto& [id, bytes] : params.assignments) {
    auto it = group->members.find(id);
    if (it != group->members.end()) it->second.assignment.assign(bytes.begin(), bytes.end());
  }
  if (!persist_group(*group)) {
    for (auto& [id, m] : group->members) m.assignment.clear();
    prepare_rebalance(*group, now);
    return sync_error(ErrorCode::kCoordinatorNotAvailable);
  }
  group->state = GroupState::kStable;
  for (auto& [id, m] : group->members) m.awaiting_sync = false;
  spdlog::debug("group {}: generation {} is stable", group->id, group->generation);
  changed();
  return assigned(*member);
}

SyncResult GroupCoordinator::abandon_sync(const SyncParams& params) {
  if (Group* group = find_mutable(params.group_id)) {
    auto it = group->members.find(params.member_id);
    if (it != group->members.end()) it->second.awaiting_sync = false;
  }
  SyncResult r;
  r.error = to_wire(ErrorCode::kRebalanceInProgress);
  return r;
}

int16_t GroupCoordinator::heartbeat(std::string_view group_id, int32_t generation,
                                    const MemberRef& ref, Millis now) {
  advance(now);
  Group* group = find_mutable(group_id);
  if (!group) return to_wire(ErrorCode::kUnknownMemberId);
  Member* member = nullptr;
  if (int16_t e = validate_member(*group, ref.member_id, ref.instance_id, &member); e != kNone)
    return e;
  if (group->state == GroupState::kEmpty) return to_wire(ErrorCode::kUnknownMemberId);
  if (generation != group->generation) return to_wire(ErrorCode::kIllegalGeneration);
  member->session_deadline = now + member->session_timeout_ms;
  note_deadline(member->session_deadline);
  if (group->state == GroupState::kPreparingRebalance)
    return to_wire(ErrorCode::kRebalanceInProgress);
  return kNone;
}

std::vector<int16_t> GroupCoordinator::leave(std::string_view group_id,
                                             std::span<const MemberRef> members, Millis now) {
  advance(now);
  std::vector<int16_t> errors(members.size(), to_wire(ErrorCode::kUnknownMemberId));
  Group* group = find_mutable(group_id);
  if (!group) return errors;
  bool removed = false;
  bool pending_left = false;
  for (size_t i = 0; i < members.size(); ++i) {
    const MemberRef& ref = members[i];
    std::string member_id(ref.member_id);
    if (member_id.empty() && ref.instance_id) {
      // A static member may leave by its instance id alone.
      auto s = group->static_members.find(*ref.instance_id);
      if (s == group->static_members.end()) continue;
      member_id = s->second;
    } else if (group->pending_members.erase(member_id) > 0) {
      errors[i] = kNone;
      pending_left = true;
      continue;
    }
    Member* member = nullptr;
    errors[i] = validate_member(*group, member_id, ref.instance_id, &member);
    if (errors[i] != kNone) continue;
    spdlog::info("group {}: member {} left", group->id, member_id);
    remove_member(*group, member_id, to_wire(ErrorCode::kUnknownMemberId));
    removed = true;
  }
  if (removed)
    member_left(*group, now);
  else if (pending_left)
    try_complete_join(*group, now);
  return errors;
}

int16_t GroupCoordinator::validate_offset_commit(const CommitParams& params, Millis now) {
  advance(now);
  Group* group = find_mutable(params.group_id);
  if (!group) {
    if (params.generation >= 0)
      return to_wire(params.unknown_group_is_not_found ? ErrorCode::kGroupIdNotFound
                                                       : ErrorCode::kIllegalGeneration);
    // A commit outside group management (generation -1): a group that only
    // holds offsets.
    create_group(params.group_id);
  } else if (!(params.generation < 0 && group->state == GroupState::kEmpty)) {
    if (group->state == GroupState::kCompletingRebalance)
      return to_wire(ErrorCode::kRebalanceInProgress);
    Member* member = nullptr;
    if (int16_t e = validate_member(*group, params.member_id, params.instance_id, &member);
        e != kNone)
      return e;
    if (params.generation != group->generation) return to_wire(ErrorCode::kIllegalGeneration);
    member->session_deadline = std::max(member->session_deadline, now + member->session_timeout_ms);
  }
  return kNone;
}

int16_t GroupCoordinator::commit(const CommitParams& params,
                                 std::span<const CommitPartition> partitions,
                                 std::vector<int16_t>& errors, Millis now) {
  if (int16_t e = validate_offset_commit(params, now); e != kNone) return e;
  Group* group = find_mutable(params.group_id);
  errors.assign(partitions.size(), kNone);
  std::vector<CoordinatorRecord> records;
  records.reserve(partitions.size());
  const int64_t timestamp = wall_ms();
  for (size_t i = 0; i < partitions.size(); ++i) {
    const CommitPartition& p = partitions[i];
    const std::string_view metadata = p.metadata.value_or("");
    if (metadata.size() > static_cast<size_t>(config_.max_metadata_bytes)) {
      errors[i] = to_wire(ErrorCode::kOffsetMetadataTooLarge);
      continue;
    }
    if (!store_) continue;
    OffsetCommitValue value{p.offset, p.leader_epoch, std::string(metadata), timestamp, -1};
    records.push_back({encode_key(OffsetCommitKey{group->id, std::string(p.topic), p.partition}),
                       encode_value(value)});
  }
  if (store_ && !records.empty() && !store_->append(partition_for(group->id), records)) {
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
  found = groups_.find(group_id);
  if (found == groups_.end() || found->second.state == GroupState::kDead)
    return to_wire(ErrorCode::kGroupIdNotFound);
  return kNone;
}

int16_t GroupCoordinator::delete_group(std::string_view group_id, Millis now) {
  GroupMap::iterator it;
  if (int16_t e = find_to_delete(group_id, now, it); e != kNone) return e;
  Group& group = it->second;
  if (group.state != GroupState::kEmpty) return to_wire(ErrorCode::kNonEmptyGroup);
  std::vector<OffsetMap::iterator> offsets;
  for (auto o = group.offsets.begin(); o != group.offsets.end(); ++o) offsets.push_back(o);
  if (drop_offsets(group, offsets, GroupLeftEmpty::kDropIt) != Dropped::kGroup)
    return to_wire(ErrorCode::kCoordinatorNotAvailable);
  spdlog::info("group {}: deleted with its {} committed offsets", group.id, offsets.size());
  groups_.erase(it);
  return kNone;
}

int16_t GroupCoordinator::delete_offsets(std::string_view group_id,
                                         std::span<const TopicPartitionRef> partitions,
                                         std::vector<int16_t>& errors, Millis now) {
  GroupMap::iterator it;
  if (int16_t e = find_to_delete(group_id, now, it); e != kNone) return e;
  Group& group = it->second;
  // A group with members keeps the offsets its members may use: those of
  // topics they subscribe to, or all of them when their protocol does not say.
  const bool consumer_protocol = group.protocol_type == kConsumerProtocolType;
  if (group.state != GroupState::kEmpty && !consumer_protocol)
    return to_wire(ErrorCode::kNonEmptyGroup);

  errors.assign(partitions.size(), kNone);
  // The members' subscriptions are read once, not once a partition.
  const std::optional<std::unordered_set<std::string>> subscribed =
      group.state != GroupState::kEmpty ? subscribed_topics(group)
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

std::optional<std::unordered_set<std::string>> GroupCoordinator::subscribed_topics(
    const Group& group) const {
  if (group.protocol_type != kConsumerProtocolType || !group.protocol) return std::nullopt;
  std::unordered_set<std::string> out;
  for (const auto& [id, m] : group.members) {
    const auto metadata = m.metadata_for(*group.protocol);
    if (!metadata) continue;
    auto topics = subscription_topics(*metadata);
    // One unreadable subscription and the group counts as subscribed to no
    // topic (Kafka's rule).
    if (!topics) return std::nullopt;
    for (auto& t : *topics) out.insert(std::move(t));
  }
  return out;
}

bool GroupCoordinator::persist_group(const Group& group) {
  if (!store_) return true;
  GroupMetadataValue value;
  value.protocol_type = group.protocol_type;
  value.generation = group.generation;
  value.protocol = group.protocol;
  value.leader = group.leader;
  value.current_state_timestamp = wall_ms();
  for (const auto& [id, m] : group.members) {
    GroupMetadataValue::MemberMetadata mm;
    mm.member_id = id;
    mm.group_instance_id = m.instance_id;
    mm.client_id = m.client_id;
    mm.client_host = m.client_host;
    mm.rebalance_timeout = m.rebalance_timeout_ms;
    mm.session_timeout = m.session_timeout_ms;
    if (group.protocol)
      if (const auto metadata = m.metadata_for(*group.protocol))
        mm.subscription.assign(metadata->begin(), metadata->end());
    mm.assignment = m.assignment;
    value.members.push_back(std::move(mm));
  }
  CoordinatorRecord record{encode_key(GroupMetadataKey{group.id}), encode_value(value)};
  const bool ok = store_->append(partition_for(group.id), std::span(&record, 1));
  if (!ok) spdlog::error("group {}: writing its metadata to {} failed", group.id, kOffsetsTopic);
  return ok;
}

GroupCoordinator::Loaded GroupCoordinator::load(
    std::span<const uint8_t> key_bytes, std::optional<std::span<const uint8_t>> value_bytes) {
  CoordinatorKey key = decode_key(key_bytes);
  if (const auto* k = std::get_if<OffsetCommitKey>(&key)) {
    if (!value_bytes) {
      if (Group* g = find_mutable(k->group)) g->offsets.erase({k->topic, k->partition});
      return Loaded::kUsed;
    }
    auto value = decode_offset_commit_value(*value_bytes);
    if (!value) return Loaded::kUnreadable;
    create_group(k->group).offsets[{k->topic, k->partition}] = CommittedOffset{
        value->offset, value->leader_epoch, std::move(value->metadata), value->commit_timestamp};
  } else if (const auto* g = std::get_if<GroupMetadataKey>(&key)) {
    if (!value_bytes) {
      // The group was deleted, its offsets with it.
      groups_.erase(g->group);
      return Loaded::kUsed;
    }
    auto value = decode_group_metadata_value(*value_bytes);
    if (!value) return Loaded::kUnreadable;
    Group& group = create_group(g->group);
    group.protocol_type = value->protocol_type;
    group.generation = value->generation;
    group.protocol = value->protocol;
    group.leader = value->leader;
    group.members.clear();
    group.static_members.clear();
    group.protocol_support.clear();
    for (auto& mm : value->members) {
      Member m;
      m.id = mm.member_id;
      m.instance_id = mm.group_instance_id;
      m.client_id = std::move(mm.client_id);
      m.client_host = std::move(mm.client_host);
      m.session_timeout_ms = mm.session_timeout;
      m.rebalance_timeout_ms = mm.rebalance_timeout < 0 ? mm.session_timeout : mm.rebalance_timeout;
      if (value->protocol) {
        auto list = std::make_shared<ProtocolList>();
        list->add(*value->protocol, mm.subscription);
        m.protocols = std::move(list);
      }
      m.assignment = std::move(mm.assignment);
      m.synced_generation = value->generation;
      if (m.instance_id) group.static_members[*m.instance_id] = m.id;
      count_protocols(group, group.members.emplace(m.id, std::move(m)).first->second, 1);
    }
    group.state = group.members.empty() ? GroupState::kEmpty : GroupState::kStable;
  }
  if (std::holds_alternative<std::monostate>(key)) {
    // A key of types 0-2 that does not decode is damage; others are records
    // of group kinds this coordinator does not keep.
    auto typed = key_type_and_group(key_bytes);
    return typed && typed->type > 2 ? Loaded::kOtherType : Loaded::kUnreadable;
  }
  return Loaded::kUsed;
}

void GroupCoordinator::finish_load(Millis now) {
  for (auto& [id, group] : groups_)
    for (auto& [mid, m] : group.members) {
      m.session_deadline = now + m.session_timeout_ms;
      note_deadline(m.session_deadline);
    }
}

}  // namespace kb::group
