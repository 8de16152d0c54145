#include "kb/group/assignor.hpp"

#include <algorithm>
#include <utility>

namespace kb::group {

namespace {

struct Partition {
  wire::Uuid topic;
  int32_t index = 0;
  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 misreads the defaulted <=>
  auto operator<=>(const Partition&) const = default;
};

}  // namespace

GroupAssignment assign_uniform(const AssignmentSpec& spec) {
  GroupAssignment out;
  const size_t n = spec.members.size();
  if (n == 0) return out;
  // Every partition some member subscribes to, and who may take it.
  std::map<Partition, std::vector<size_t>> takers;
  for (size_t m = 0; m < n; ++m)
    for (const auto& topic : spec.members[m].subscribed) {
      auto count = spec.partitions.find(topic);
      if (count == spec.partitions.end()) continue;
      for (int32_t p = 0; p < count->second; ++p) takers[{topic, p}].push_back(m);
    }
  // The most a member may keep: its fair share of what it subscribes to,
  // counted over the members sharing its topics (exact when subscriptions
  // are the same, an upper bound otherwise that the balancing below fixes).
  std::vector<std::vector<Partition>> owned(n);
  std::map<Partition, size_t> owner;
  std::vector<size_t> order(n);
  for (size_t m = 0; m < n; ++m) order[m] = m;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return spec.members[a].member_id < spec.members[b].member_id;
  });
  const size_t total = takers.size();
  const size_t quota = total / n;
  size_t extras = total % n;
  const bool same_subscriptions = std::all_of(
      spec.members.begin(), spec.members.end(),
      [&](const AssignorMember& m) { return m.subscribed == spec.members.front().subscribed; });
  // Sticky: members keep their current partitions that still exist and that
  // they still subscribe to, up to the quota (one more while extras last).
  for (size_t m : order) {
    const AssignorMember& member = spec.members[m];
    std::vector<Partition> kept;
    for (const auto& [topic, parts] : member.current) {
      if (!member.subscribed.contains(topic)) continue;
      auto count = spec.partitions.find(topic);
      if (count == spec.partitions.end()) continue;
      for (int32_t p : parts)
        if (p < count->second && !owner.contains({topic, p})) kept.push_back({topic, p});
    }
    if (same_subscriptions) {
      size_t limit = quota;
      if (kept.size() > quota && extras > 0) {
        ++limit;
        --extras;
      }
      if (kept.size() > limit) kept.resize(limit);
    }
    for (const auto& p : kept) {
      owner[p] = m;
      owned[m].push_back(p);
    }
  }
  // The rest, each to the least loaded member that may take it (ties: the
  // lowest member id).
  std::vector<size_t> rank(n);
  for (size_t i = 0; i < n; ++i) rank[order[i]] = i;
  auto lighter = [&](size_t a, size_t b) {
    return owned[a].size() != owned[b].size() ? owned[a].size() < owned[b].size()
                                              : rank[a] < rank[b];
  };
  for (const auto& [p, candidates] : takers) {
    if (owner.contains(p)) continue;
    size_t best = candidates.front();
    for (size_t c : candidates)
      if (lighter(c, best)) best = c;
    owner[p] = best;
    owned[best].push_back(p);
  }
  // Balance: a partition moves from a member to one that may take it and has
  // at least two fewer, until none can (each move lowers the spread).
  for (bool moved = true; moved;) {
    moved = false;
    for (size_t from : order) {
      for (size_t i = 0; i < owned[from].size() && !moved; ++i) {
        const Partition p = owned[from][i];
        size_t best = from;
        for (size_t c : takers[p])
          if (owned[c].size() + 1 < owned[from].size() && (best == from || lighter(c, best)))
            best = c;
        if (best == from) continue;
        owned[from].erase(owned[from].begin() + static_cast<std::ptrdiff_t>(i));
        owned[best].push_back(p);
        owner[p] = best;
        moved = true;
      }
      if (moved) break;
    }
  }
  for (size_t m = 0; m < n; ++m) {
    TopicPartitionSet& assigned = out[spec.members[m].member_id];
    for (const auto& p : owned[m]) assigned[p.topic].insert(p.index);
  }
  return out;
}

GroupAssignment assign_range(const AssignmentSpec& spec) {
  GroupAssignment out;
  for (const auto& m : spec.members) out[m.member_id];
  // Per topic, its subscribers in member id order.
  std::map<wire::Uuid, std::vector<std::string_view>> subscribers;
  for (const auto& m : spec.members)
    for (const auto& topic : m.subscribed)
      if (spec.partitions.contains(topic)) subscribers[topic].push_back(m.member_id);
  for (auto& [topic, members] : subscribers) {
    std::sort(members.begin(), members.end());
    const auto count = static_cast<size_t>(spec.partitions.at(topic));
    const size_t each = count / members.size();
    const size_t extra = count % members.size();
    size_t next = 0;
    for (size_t i = 0; i < members.size(); ++i) {
      const size_t take = each + (i < extra ? 1 : 0);
      if (take == 0) continue;
      auto& parts = out.find(members[i])->second[topic];
      for (size_t k = 0; k < take; ++k) parts.insert(static_cast<int32_t>(next++));
    }
  }
  return out;
}

std::optional<GroupAssignment> assign(std::string_view assignor, const AssignmentSpec& spec) {
  if (assignor == kUniformAssignor) return assign_uniform(spec);
  if (assignor == kRangeAssignor) return assign_range(spec);
  return std::nullopt;
}

}  // namespace kb::group
