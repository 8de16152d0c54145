#include "kb/group/share_assignor.hpp"

#include <algorithm>
#include <map>
#include <utility>

namespace kb::group {

namespace {

using Partition = std::pair<wire::Uuid, int32_t>;

// Spreads `partitions` over the members (indexes into `spec.members`), each
// partition to ceil(M / P) of them, adding what each gets to `out`.
void balance(const ShareAssignmentSpec& spec, const std::vector<size_t>& members,
             const std::vector<Partition>& partitions, GroupAssignment& out) {
  const size_t m = members.size();
  const size_t p = partitions.size();
  if (m == 0 || p == 0) return;
  const size_t sharing = (m + p - 1) / p;
  const size_t slots = sharing * p;
  // Member i's share of the slots: they differ by one at most.
  std::vector<size_t> quota(m);
  for (size_t i = 0; i < m; ++i) quota[i] = (slots * (i + 1) + m - 1) / m - (slots * i + m - 1) / m;

  std::map<Partition, size_t> index;
  for (size_t k = 0; k < p; ++k) index.emplace(partitions[k], k);
  std::vector<std::set<size_t>> holders(p);
  std::vector<size_t> count(m, 0);
  auto give = [&](size_t i, size_t k) {
    holders[k].insert(i);
    ++count[i];
  };

  // 1. What members had, while both their quota and the partition's sharing
  //    allow (members in order, so the outcome does not depend on hashing).
  for (size_t i = 0; i < m; ++i) {
    for (const auto& [topic, parts] : spec.members[members[i]].current) {
      for (int32_t part : parts) {
        auto it = index.find({topic, part});
        if (it == index.end()) continue;  // no longer assignable or subscribed
        if (count[i] < quota[i] && holders[it->second].size() < sharing) give(i, it->second);
      }
    }
  }
  // 2. Partitions shared by too few: the least loaded members with room.
  for (size_t k = 0; k < p; ++k) {
    while (holders[k].size() < sharing) {
      size_t best = m;
      for (size_t i = 0; i < m; ++i) {
        if (count[i] >= quota[i] || holders[k].contains(i)) continue;
        if (best == m || count[i] < count[best]) best = i;
      }
      if (best == m) break;  // everyone with room already has it
      give(best, k);
    }
  }
  for (size_t k = 0; k < p; ++k)
    for (size_t i : holders[k])
      out[spec.members[members[i]].member_id][partitions[k].first].insert(partitions[k].second);
}

}  // namespace

GroupAssignment assign_simple(const ShareAssignmentSpec& spec) {
  GroupAssignment out;
  // Members in id order: quotas and ties go the same way on every run.
  std::vector<size_t> order(spec.members.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return spec.members[a].member_id < spec.members[b].member_id;
  });
  for (size_t i : order) out[spec.members[i].member_id];
  if (order.empty()) return out;

  auto partitions_of = [&](const std::set<wire::Uuid>& topics) {
    std::vector<Partition> parts;
    for (const wire::Uuid& topic : topics) {
      auto it = spec.assignable.find(topic);
      if (it == spec.assignable.end()) continue;
      for (int32_t part : it->second) parts.emplace_back(topic, part);
    }
    return parts;
  };
  const bool homogeneous = std::all_of(order.begin(), order.end(), [&](size_t i) {
    return spec.members[i].subscribed == spec.members[order.front()].subscribed;
  });
  if (homogeneous) {
    balance(spec, order, partitions_of(spec.members[order.front()].subscribed), out);
    return out;
  }
  std::set<wire::Uuid> topics;
  for (const auto& member : spec.members)
    topics.insert(member.subscribed.begin(), member.subscribed.end());
  for (const wire::Uuid& topic : topics) {
    std::vector<size_t> subscribers;
    for (size_t i : order)
      if (spec.members[i].subscribed.contains(topic)) subscribers.push_back(i);
    balance(spec, subscribers, partitions_of({topic}), out);
  }
  return out;
}

}  // namespace kb::group
