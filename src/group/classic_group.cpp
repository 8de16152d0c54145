#include "kb/group/classic_group.hpp"

#include <algorithm>
#include <chrono>
#include <unordered_map>

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
void apply_counts(ClassicGroup& group, const ProtocolList& list, int32_t delta, size_t from,
                  size_t to) {
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

std::string_view to_string(ClassicGroupState state) {
  switch (state) {
    case ClassicGroupState::kEmpty:
      return "Empty";
    case ClassicGroupState::kPreparingRebalance:
      return "PreparingRebalance";
    case ClassicGroupState::kCompletingRebalance:
      return "CompletingRebalance";
    case ClassicGroupState::kStable:
      return "Stable";
    case ClassicGroupState::kDead:
      return "Dead";
  }
  return "Dead";
}

std::optional<ClassicGroupState> parse_classic_group_state(std::string_view name) {
  for (auto s : {ClassicGroupState::kEmpty, ClassicGroupState::kPreparingRebalance,
                 ClassicGroupState::kCompletingRebalance, ClassicGroupState::kStable,
                 ClassicGroupState::kDead})
    if (equals_ignore_case(name, to_string(s))) return s;
  return std::nullopt;
}

std::optional<std::span<const uint8_t>> ClassicMember::metadata_for(
    std::string_view protocol) const {
  const size_t at = protocols->find(protocol);
  if (at == ProtocolList::npos) return std::nullopt;
  return protocols->metadata(at);
}

int32_t ClassicGroup::max_rebalance_timeout() const {
  int32_t max = 0;
  for (const auto& [member_id, m] : members) max = std::max(max, m.rebalance_timeout_ms);
  return max;
}

void ClassicGroups::count_protocols(ClassicGroup& group, const ClassicMember& member,
                                    int32_t delta) {
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
  ctx_.note_deadline(0);  // the first slice is due at once: at the next advance
}

bool ClassicGroups::settle_counts(ClassicGroup& group, Millis now) {
  if (group.counts_settled()) return true;
  size_t budget = kCountSlice;
  while (!group.counting.empty() && budget > 0) {
    ClassicGroup::CountChange& change = group.counting.front();
    const size_t to = std::min(change.list->size(), change.next + budget);
    apply_counts(group, *change.list, change.delta, change.next, to);
    budget -= to - change.next;
    change.next = to;
    if (change.next == change.list->size()) group.counting.pop_front();
  }
  if (!group.counting.empty()) {
    ctx_.note_deadline(now);
    return false;
  }
  // Joins that waited for the counts are asked again.
  ctx_.changed();
  return true;
}

// Runs the group's expired timers and notes its next deadline.
void ClassicGroups::expire(ClassicGroup& group, Millis now) {
  // A rebalance that waited for the counts may complete once they are made.
  if (!group.counts_settled() && settle_counts(group, now)) try_complete_join(group, now);
  bool pending_expired = false;
  bool removed = false;
  for (auto it = group.pending_members.begin(); it != group.pending_members.end();) {
    if (it->second <= now) {
      it = group.pending_members.erase(it);
      pending_expired = true;
    } else {
      ctx_.note_deadline(it->second);
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
      ctx_.note_deadline(m.session_deadline);
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

  if (group.state == ClassicGroupState::kPreparingRebalance) {
    if (group.rebalance_deadline <= now) {
      group.initial_delay = false;
      complete_join(group, now);
    } else {
      ctx_.note_deadline(group.rebalance_deadline);
    }
  }
  if (group.sync_deadline && (group.state == ClassicGroupState::kCompletingRebalance ||
                              group.state == ClassicGroupState::kStable)) {
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
      ctx_.note_deadline(*group.sync_deadline);
    }
  }
}

// After members were removed: the rebalance this needs, or the one under way
// may now be complete.
void ClassicGroups::member_left(ClassicGroup& group, Millis now) {
  ctx_.changed();
  if (group.state == ClassicGroupState::kStable ||
      group.state == ClassicGroupState::kCompletingRebalance)
    prepare_rebalance(group, now);
  else if (group.state == ClassicGroupState::kPreparingRebalance)
    try_complete_join(group, now);
}

void ClassicGroups::remove_member(ClassicGroup& group, std::string_view member_id,
                                  int16_t parked_join_error) {
  auto it = group.members.find(member_id);
  if (it == group.members.end()) return;
  ClassicMember& m = it->second;
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
  ctx_.changed();
}

void ClassicGroups::answer_parked_join(ClassicMember& member, JoinResult result) {
  if (!member.join_request) return;
  auto p = pending_joins_.find(*member.join_request);
  if (p != pending_joins_.end()) p->second.result = std::move(result);
  member.join_request.reset();
  ctx_.changed();
}

void ClassicGroups::prepare_rebalance(ClassicGroup& group, Millis now) {
  // Followers waiting for the leader's assignment learn that another round started.
  for (auto& [id, m] : group.members) m.awaiting_sync = false;
  group.sync_deadline.reset();
  const bool first = group.state == ClassicGroupState::kEmpty;
  group.state = ClassicGroupState::kPreparingRebalance;
  const Millis timeout = group.max_rebalance_timeout();
  if (first && ctx_.config.initial_rebalance_delay_ms > 0) {
    // A new group waits a little for more members before its first
    // generation, so they do not each cause a rebalance.
    group.initial_delay = true;
    group.initial_delay_limit = now + timeout;
    group.rebalance_deadline =
        std::min<Millis>(now + ctx_.config.initial_rebalance_delay_ms, group.initial_delay_limit);
  } else {
    group.initial_delay = false;
    group.rebalance_deadline = now + timeout;
  }
  ctx_.note_deadline(group.rebalance_deadline);
  spdlog::debug("group {}: preparing rebalance (generation {})", group.id, group.generation);
  ctx_.changed();
  try_complete_join(group, now);
}

void ClassicGroups::try_complete_join(ClassicGroup& group, Millis now) {
  if (group.state != ClassicGroupState::kPreparingRebalance || group.initial_delay) return;
  if (!group.pending_members.empty()) return;
  for (const auto& [id, m] : group.members)
    if (!m.awaiting_join) return;
  complete_join(group, now);
}

void ClassicGroups::complete_join(ClassicGroup& group, Millis now) {
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
  ctx_.changed();
  if (group.members.empty()) {
    group.state = ClassicGroupState::kEmpty;
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
  group.state = ClassicGroupState::kCompletingRebalance;
  group.sync_deadline = now + group.max_rebalance_timeout();
  ctx_.note_deadline(*group.sync_deadline);
  spdlog::info("group {}: generation {} with {} members, protocol {}, leader {}", group.id,
               group.generation, group.members.size(), group.protocol.value_or(""),
               group.leader.value_or(""));
  for (auto& [id, m] : group.members) {
    if (!m.awaiting_join) continue;
    m.awaiting_join = false;
    m.session_deadline = now + m.session_timeout_ms;
    ctx_.note_deadline(m.session_deadline);
    answer_parked_join(m, current_generation_result(group, m, false));
  }
}

JoinResult ClassicGroups::current_generation_result(const ClassicGroup& group,
                                                    const ClassicMember& member,
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

bool ClassicGroups::supports_protocols(const ClassicGroup& group, const JoinParams& params) const {
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

void ClassicGroups::compare_protocols(const ClassicMember& member, const JoinParams& params,
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
std::optional<std::string> ClassicGroups::select_protocol(const ClassicGroup& group) const {
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

int16_t ClassicGroups::validate_member(ClassicGroup& group, std::string_view member_id,
                                       std::optional<std::string_view> instance_id,
                                       ClassicMember** member) const {
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

std::shared_ptr<const ProtocolList> ClassicGroups::member_protocols(
    std::string_view group_id, std::string_view member_id) const {
  const ClassicGroup* group = ctx_.find_as<ClassicGroup>(group_id);
  if (group == nullptr) return nullptr;
  auto it = group->members.find(member_id);
  return it == group->members.end() ? nullptr : it->second.protocols;
}

Outcome<JoinResult> ClassicGroups::join(const RequestKey& key, const JoinParams& given,
                                        Millis now) {
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
  if (params.session_timeout_ms < ctx_.config.min_session_timeout_ms ||
      params.session_timeout_ms > ctx_.config.max_session_timeout_ms)
    return join_error(ErrorCode::kInvalidSessionTimeout, std::string(params.member_id));

  ClassicGroup* group = find(params.group_id);
  if (const Group* other = ctx_.find(params.group_id); other && other->type() == GroupType::kShare)
    // A share group, even empty, never becomes a classic one (Kafka answers
    // without a member id).
    return join_error(ErrorCode::kInconsistentGroupProtocol);
  if (const Group* other = ctx_.find(params.group_id); other && !group && !other->is_empty())
    // A group of another kind with members (an upgrade in place is not served).
    return join_error(ErrorCode::kInconsistentGroupProtocol, std::string(params.member_id));
  if (!group) {
    // None, or an empty group of another kind: this member starts a classic one.
    if (!params.member_id.empty())
      return join_error(ErrorCode::kUnknownMemberId, std::string(params.member_id));
    if (!ctx_.retire_other_kind<ClassicGroup>(params.group_id))
      return join_error(ErrorCode::kCoordinatorNotAvailable);
    group = &ctx_.make<ClassicGroup>(params.group_id);
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

Outcome<JoinResult> ClassicGroups::join_new_member(const RequestKey& key, ClassicGroup& group,
                                                   const JoinParams& params, Millis now) {
  if (params.instance_id && group.static_members.contains(*params.instance_id))
    return rejoin_static_member(key, group, params, now);
  if (group.members.size() + group.pending_members.size() >=
      static_cast<size_t>(ctx_.config.max_size))
    return join_error(ErrorCode::kGroupMaxSizeReached);
  std::string member_id =
      new_member_id(params.instance_id ? *params.instance_id : params.client_id);
  if (!params.instance_id && params.require_known_member_id) {
    // The client must come back with this id: a member that never does (a
    // lost response) then costs no rebalance.
    const Millis deadline = now + params.session_timeout_ms;
    group.pending_members[member_id] = deadline;
    ctx_.note_deadline(deadline);
    return join_error(ErrorCode::kMemberIdRequired, std::move(member_id));
  }
  return add_member_and_rebalance(key, group, params, std::move(member_id), now);
}

Outcome<JoinResult> ClassicGroups::rejoin_static_member(const RequestKey& key, ClassicGroup& group,
                                                        const JoinParams& params, Millis now) {
  // A static member back with a new member id replaces its old self.
  const std::string old_id = group.static_members.at(std::string(*params.instance_id));
  auto old = group.members.extract(old_id);
  if (old.empty()) {
    // The mapping outlived its member: the instance joins as a new member.
    group.static_members.erase(std::string(*params.instance_id));
    return add_member_and_rebalance(key, group, params, new_member_id(*params.instance_id), now);
  }
  ClassicMember member = std::move(old.mapped());
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
  ctx_.note_deadline(member.session_deadline);
  const std::string new_id = member.id;
  group.static_members[std::string(*params.instance_id)] = new_id;
  const bool was_leader = group.leader && *group.leader == old_id;
  if (was_leader) group.leader = new_id;
  ClassicMember& placed = group.members.emplace(new_id, std::move(member)).first->second;
  spdlog::info("group {}: static member {} rejoined as {}", group.id, *params.instance_id, new_id);
  ctx_.changed();

  if (group.state == ClassicGroupState::kStable && protocols_unchanged) {
    // Nothing changed for the group: the member resumes its assignment.
    persist_group(group);
    placed.synced_generation = group.generation;
    return answer(current_generation_result(group, placed, was_leader));
  }
  return update_member_and_rebalance(key, group, placed, params, now);
}

Outcome<JoinResult> ClassicGroups::join_known_member(const RequestKey& key, ClassicGroup& group,
                                                     const JoinParams& params, Millis now) {
  if (auto pending = group.pending_members.find(params.member_id);
      pending != group.pending_members.end()) {
    group.pending_members.erase(pending);
    return add_member_and_rebalance(key, group, params, std::string(params.member_id), now);
  }
  ClassicMember* member = nullptr;
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
    case ClassicGroupState::kPreparingRebalance:
      return update_member_and_rebalance(key, group, *member, params, now);
    case ClassicGroupState::kCompletingRebalance:
      // It missed its JoinGroup answer: the same one again.
      if (unchanged) return answer(current_generation_result(group, *member, false));
      return update_member_and_rebalance(key, group, *member, params, now);
    case ClassicGroupState::kStable:
      // A follower with nothing new keeps the generation; the leader joining
      // again asks for a new assignment (e.g. the topics changed).
      if (unchanged && !(group.leader && *group.leader == member->id)) {
        member->session_deadline = now + member->session_timeout_ms;
        ctx_.note_deadline(member->session_deadline);
        return answer(current_generation_result(group, *member, false));
      }
      return update_member_and_rebalance(key, group, *member, params, now);
    case ClassicGroupState::kEmpty:
    case ClassicGroupState::kDead:
      break;
  }
  return join_error(ErrorCode::kUnknownMemberId, std::string(params.member_id));
}

Outcome<JoinResult> ClassicGroups::add_member_and_rebalance(const RequestKey& key,
                                                            ClassicGroup& group,
                                                            const JoinParams& params,
                                                            std::string member_id, Millis now) {
  ClassicMember m;
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
  ClassicMember& placed = group.members.emplace(member_id, std::move(m)).first->second;
  count_protocols(group, placed, 1);
  spdlog::info("group {}: member {} joined ({} members)", group.id, member_id,
               group.members.size());
  ctx_.changed();
  if (group.state == ClassicGroupState::kPreparingRebalance && group.initial_delay) {
    // Each newcomer to a new group extends the gathering, within the rebalance timeout.
    group.rebalance_deadline = std::max(
        group.rebalance_deadline,
        std::min<Millis>(now + ctx_.config.initial_rebalance_delay_ms, group.initial_delay_limit));
    ctx_.note_deadline(group.rebalance_deadline);
  }
  if (group.state != ClassicGroupState::kPreparingRebalance)
    prepare_rebalance(group, now);
  else
    try_complete_join(group, now);
  return park_join(key, group, placed, now);
}

Outcome<JoinResult> ClassicGroups::update_member_and_rebalance(const RequestKey& key,
                                                               ClassicGroup& group,
                                                               ClassicMember& member,
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
  ctx_.changed();
  if (group.state != ClassicGroupState::kPreparingRebalance)
    prepare_rebalance(group, now);
  else
    try_complete_join(group, now);
  return park_join(key, group, member, now);
}

Outcome<JoinResult> ClassicGroups::park_join(const RequestKey& key, ClassicGroup& group,
                                             ClassicMember& member, Millis now) {
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

JoinResult ClassicGroups::abandon_join(const RequestKey& key) {
  auto p = pending_joins_.find(key);
  JoinResult r;
  r.error = to_wire(ErrorCode::kRebalanceInProgress);
  if (p == pending_joins_.end()) return r;
  if (p->second.result) r = std::move(*p->second.result);
  if (ClassicGroup* g = find(p->second.group_id)) {
    auto m = g->members.find(p->second.member_id);
    if (m != g->members.end() && m->second.join_request == key) m->second.join_request.reset();
  }
  pending_joins_.erase(p);
  return r;
}

void ClassicGroups::connection_closed(uint64_t connection) {
  for (auto it = pending_joins_.begin(); it != pending_joins_.end();) {
    if (it->first.connection != connection) {
      ++it;
      continue;
    }
    if (ClassicGroup* g = find(it->second.group_id)) {
      auto m = g->members.find(it->second.member_id);
      if (m != g->members.end() && m->second.join_request == it->first)
        m->second.join_request.reset();
    }
    it = pending_joins_.erase(it);
  }
}

Outcome<SyncResult> ClassicGroups::sync(const SyncParams& params, Millis now) {
  ClassicGroup* group = find(params.group_id);
  if (!group) return sync_error(ErrorCode::kUnknownMemberId);
  ClassicMember* member = nullptr;
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

  auto assigned = [&](const ClassicMember& m) {
    SyncResult r;
    r.protocol_type = group->protocol_type;
    r.protocol_name = group->protocol;
    r.assignment = m.assignment;
    return answer(std::move(r));
  };
  switch (group->state) {
    case ClassicGroupState::kEmpty:
    case ClassicGroupState::kDead:
      return sync_error(ErrorCode::kUnknownMemberId);
    case ClassicGroupState::kPreparingRebalance:
      return sync_error(ErrorCode::kRebalanceInProgress);
    case ClassicGroupState::kStable:
      member->synced_generation = group->generation;
      member->awaiting_sync = false;
      if (std::all_of(group->members.begin(), group->members.end(), [&](const auto& e) {
            return e.second.synced_generation == group->generation;
          }))
        group->sync_deadline.reset();
      return assigned(*member);
    case ClassicGroupState::kCompletingRebalance:
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
  group->state = ClassicGroupState::kStable;
  for (auto& [id, m] : group->members) m.awaiting_sync = false;
  spdlog::debug("group {}: generation {} is stable", group->id, group->generation);
  ctx_.changed();
  return assigned(*member);
}

SyncResult ClassicGroups::abandon_sync(const SyncParams& params) {
  if (ClassicGroup* group = find(params.group_id)) {
    auto it = group->members.find(params.member_id);
    if (it != group->members.end()) it->second.awaiting_sync = false;
  }
  SyncResult r;
  r.error = to_wire(ErrorCode::kRebalanceInProgress);
  return r;
}

int16_t ClassicGroups::heartbeat(std::string_view group_id, int32_t generation,
                                 const MemberRef& ref, Millis now) {
  ClassicGroup* group = find(group_id);
  if (!group) return to_wire(ErrorCode::kUnknownMemberId);
  ClassicMember* member = nullptr;
  if (int16_t e = validate_member(*group, ref.member_id, ref.instance_id, &member); e != kNone)
    return e;
  if (group->state == ClassicGroupState::kEmpty) return to_wire(ErrorCode::kUnknownMemberId);
  if (generation != group->generation) return to_wire(ErrorCode::kIllegalGeneration);
  member->session_deadline = now + member->session_timeout_ms;
  ctx_.note_deadline(member->session_deadline);
  if (group->state == ClassicGroupState::kPreparingRebalance)
    return to_wire(ErrorCode::kRebalanceInProgress);
  return kNone;
}

std::vector<int16_t> ClassicGroups::leave(std::string_view group_id,
                                          std::span<const MemberRef> members, Millis now) {
  std::vector<int16_t> errors(members.size(), to_wire(ErrorCode::kUnknownMemberId));
  ClassicGroup* group = find(group_id);
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
    ClassicMember* member = nullptr;
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

std::optional<std::unordered_set<std::string>> ClassicGroup::subscribed_topics() const {
  if (protocol_type != kConsumerProtocolType || !protocol) return std::nullopt;
  std::unordered_set<std::string> out;
  for (const auto& [member_id, m] : members) {
    const auto metadata = m.metadata_for(*protocol);
    if (!metadata) continue;
    auto topics = subscription_topics(*metadata);
    // One unreadable subscription and the group counts as subscribed to no
    // topic (Kafka's rule).
    if (!topics) return std::nullopt;
    for (auto& t : *topics) out.insert(std::move(t));
  }
  return out;
}

CoordinatorRecord ClassicGroups::metadata_record(const ClassicGroup& group) {
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
  return {encode_key(GroupMetadataKey{group.id}), encode_value(value)};
}

bool ClassicGroups::persist_group(const ClassicGroup& group) {
  CoordinatorRecord record = metadata_record(group);
  const bool ok = ctx_.append(group.id, std::span(&record, 1));
  if (!ok) spdlog::error("group {}: writing its metadata to {} failed", group.id, kOffsetsTopic);
  return ok;
}

std::vector<CoordinatorRecord> ClassicGroup::tombstones() const {
  std::vector<CoordinatorRecord> out;
  out.push_back({encode_key(GroupMetadataKey{id}), std::nullopt});
  return out;
}

int16_t ClassicGroups::validate_commit(ClassicGroup& group, const CommitParams& params,
                                       Millis now) {
  // A commit outside group management (generation -1) to a group nobody is in.
  if (params.generation < 0 && group.state == ClassicGroupState::kEmpty) return kNone;
  if (group.state == ClassicGroupState::kCompletingRebalance)
    return to_wire(ErrorCode::kRebalanceInProgress);
  ClassicMember* member = nullptr;
  if (int16_t e = validate_member(group, params.member_id, params.instance_id, &member); e != kNone)
    return e;
  if (params.generation != group.generation) return to_wire(ErrorCode::kIllegalGeneration);
  member->session_deadline = std::max(member->session_deadline, now + member->session_timeout_ms);
  return kNone;
}

void ClassicGroups::load(ClassicGroup& group, GroupMetadataValue value) {
  group.protocol_type = value.protocol_type;
  group.generation = value.generation;
  group.protocol = value.protocol;
  group.leader = value.leader;
  group.members.clear();
  group.static_members.clear();
  group.protocol_support.clear();
  group.counting.clear();
  for (auto& mm : value.members) {
    ClassicMember m;
    m.id = mm.member_id;
    m.instance_id = mm.group_instance_id;
    m.client_id = std::move(mm.client_id);
    m.client_host = std::move(mm.client_host);
    m.session_timeout_ms = mm.session_timeout;
    m.rebalance_timeout_ms = mm.rebalance_timeout < 0 ? mm.session_timeout : mm.rebalance_timeout;
    if (value.protocol) {
      auto list = std::make_shared<ProtocolList>();
      list->add(*value.protocol, mm.subscription);
      m.protocols = std::move(list);
    }
    m.assignment = std::move(mm.assignment);
    m.synced_generation = value.generation;
    if (m.instance_id) group.static_members[*m.instance_id] = m.id;
    count_protocols(group, group.members.emplace(m.id, std::move(m)).first->second, 1);
  }
  group.state = group.members.empty() ? ClassicGroupState::kEmpty : ClassicGroupState::kStable;
}

void ClassicGroups::finish_load(ClassicGroup& group, Millis now) {
  for (auto& [mid, m] : group.members) {
    m.session_deadline = now + m.session_timeout_ms;
    ctx_.note_deadline(m.session_deadline);
  }
}

void ClassicGroups::release(ClassicGroup& group, int16_t error) {
  for (auto& [id, m] : group.members) {
    if (!m.join_request) continue;
    JoinResult r;
    r.error = error;
    r.member_id = id;
    answer_parked_join(m, std::move(r));
  }
  group.pending_members.clear();
}

bool ClassicGroups::adopt(std::unique_ptr<ClassicGroup> made,
                          std::vector<CoordinatorRecord> records, Millis now, bool rebalance) {
  records.push_back(metadata_record(*made));
  const std::string group_id = made->id;
  if (!ctx_.append(group_id, records)) {
    spdlog::error("group {}: writing its change to the classic protocol to {} failed", group_id,
                  kOffsetsTopic);
    return false;
  }
  auto it = ctx_.groups.find(group_id);
  if (it != ctx_.groups.end()) {
    made->offsets = std::move(it->second->offsets);
    it->second = std::move(made);
  } else {
    it = ctx_.groups.emplace(group_id, std::move(made)).first;
  }
  auto& group = static_cast<ClassicGroup&>(*it->second);
  for (auto& [id, m] : group.members) {
    if (m.instance_id) group.static_members[*m.instance_id] = id;
    m.synced_generation = group.generation;
    m.session_deadline = now + m.session_timeout_ms;
    ctx_.note_deadline(m.session_deadline);
    count_protocols(group, m, 1);
  }
  ctx_.changed();
  // Its members join again, as after any change of members.
  if (rebalance) prepare_rebalance(group, now);
  return true;
}

}  // namespace kb::group
