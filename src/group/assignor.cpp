#include "kb/group/assignor.hpp"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <utility>

// Both assignors follow Kafka's group coordinator step by step (UniformAssignor's homogeneous
// and heterogeneous builders, RangeAssignor), so that a group gets the assignment Kafka would
// give it: tests/integration/assignor_check_test.cpp feeds random groups to Kafka's own classes
// and to these and compares. Kafka walks its members in the order of a hash map of member ids,
// an accident of that map's history; here they go in member id order, one of the orders Kafka
// can meet.

namespace kb::group {

namespace {

// Kafka's Uuid.compareTo: the two 64-bit halves compared as signed numbers.
int64_t signed_half(const wire::Uuid& id, size_t at) {
  uint64_t v = 0;
  for (size_t i = at; i < at + 8; ++i) v = (v << 8) | id.bytes[i];
  int64_t s = 0;
  std::memcpy(&s, &v, sizeof s);
  return s;
}

bool kafka_uuid_less(const wire::Uuid& a, const wire::Uuid& b) {
  const int64_t ah = signed_half(a, 0);
  const int64_t bh = signed_half(b, 0);
  if (ah != bh) return ah < bh;
  return signed_half(a, 8) < signed_half(b, 8);
}

// Where Kafka's homogeneous uniform builder meets a topic: it copies the subscribed ids into a
// java.util.HashSet and walks that, so in bucket order (Uuid.hashCode spread as HashMap does,
// over a table sized for `count` ids), and within a bucket in insertion order, taken here as
// Kafka's id order.
uint32_t java_hash_set_bucket(const wire::Uuid& id, size_t count) {
  const uint64_t h = static_cast<uint64_t>(signed_half(id, 0) ^ signed_half(id, 8));
  const uint32_t code = static_cast<uint32_t>(h >> 32) ^ static_cast<uint32_t>(h);
  const uint32_t spread = code ^ (code >> 16);
  // new HashSet<>(collection): a table of at least max(count / 0.75 + 1, 16), a power of two.
  const size_t wanted =
      std::max<size_t>(static_cast<size_t>(static_cast<float>(count) / 0.75F) + 1, 16);
  size_t table = 1;
  while (table < wanted) table <<= 1;
  return spread & static_cast<uint32_t>(table - 1);
}

// The members' positions in member id order.
std::vector<size_t> by_member_id(const AssignmentSpec& spec) {
  std::vector<size_t> order(spec.members.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return spec.members[a].member_id < spec.members[b].member_id;
  });
  return order;
}

// A member's current partitions, topic by topic in Kafka's topic order.
std::vector<std::pair<wire::Uuid, const std::set<int32_t>*>> current_in_order(
    const AssignorMember& member) {
  std::vector<std::pair<wire::Uuid, const std::set<int32_t>*>> topics;
  topics.reserve(member.current.size());
  for (const auto& [topic, parts] : member.current) topics.emplace_back(topic, &parts);
  std::sort(topics.begin(), topics.end(),
            [](const auto& a, const auto& b) { return kafka_uuid_less(a.first, b.first); });
  return topics;
}

int32_t partition_count(const AssignmentSpec& spec, const wire::Uuid& topic) {
  auto it = spec.partitions.find(topic);
  return it == spec.partitions.end() ? -1 : it->second;
}

// --- uniform, every member subscribed to the same topics ----------------------------------------

GroupAssignment uniform_homogeneous(const AssignmentSpec& spec, const std::vector<size_t>& order) {
  GroupAssignment out;
  for (const auto& m : spec.members) out[m.member_id];
  std::vector<wire::Uuid> topics;
  for (const auto& t : spec.members[order.front()].subscribed)
    if (partition_count(spec, t) >= 0) topics.push_back(t);
  if (topics.empty()) return out;
  std::sort(topics.begin(), topics.end(), [n = topics.size()](const auto& a, const auto& b) {
    const uint32_t ba = java_hash_set_bucket(a, n);
    const uint32_t bb = java_hash_set_bucket(b, n);
    return ba != bb ? ba < bb : kafka_uuid_less(a, b);
  });

  // Partitions nobody holds come first, topic by topic; what quotas take back follows.
  std::map<wire::Uuid, std::set<int32_t>> held;
  for (const auto& m : spec.members)
    for (const auto& [topic, parts] : m.current) held[topic].insert(parts.begin(), parts.end());
  std::vector<std::pair<wire::Uuid, int32_t>> unassigned;
  size_t total = 0;
  for (const auto& topic : topics) {
    const int32_t count = partition_count(spec, topic);
    const auto h = held.find(topic);
    for (int32_t p = 0; p < count; ++p)
      if (h == held.end() || !h->second.contains(p)) unassigned.emplace_back(topic, p);
    total += static_cast<size_t>(count);
  }
  const size_t members = spec.members.size();
  const size_t minimum = total / members;
  size_t extras = total % members;

  // Each member keeps what it holds of the topics up to its quota, the minimum or, while the
  // extra partitions last, one more.
  std::vector<std::pair<size_t, size_t>> unfilled;  // member, room left
  size_t members_left = members;                    // this one and those after it
  for (size_t m : order) {
    const AssignorMember& member = spec.members[m];
    size_t quota = minimum;
    bool extra = false;
    if (extras > 0) {
      ++quota;
      extra = true;
    }
    TopicPartitionSet& kept = out[member.member_id];
    for (const auto& [topic, parts] : current_in_order(member)) {
      if (!member.subscribed.contains(topic) || partition_count(spec, topic) < 0) continue;
      if (parts->size() <= quota) {
        quota -= parts->size();
        if (!parts->empty()) kept[topic] = *parts;
        continue;
      }
      for (int32_t p : *parts) {
        if (quota > 0) {
          --quota;
          kept[topic].insert(p);
        } else {
          unassigned.emplace_back(topic, p);
        }
      }
    }
    // A member that does not hold enough to use its extra slot leaves it to a later one that
    // may (Kafka 4.x: fewer partitions move), as long as enough members remain to take them all.
    if (extra && quota > 0 && members_left > extras) {
      --quota;
      extra = false;
    }
    if (quota > 0) unfilled.emplace_back(m, quota);
    if (extra) --extras;
    --members_left;
  }
  size_t next = 0;
  for (const auto& [m, room] : unfilled) {
    TopicPartitionSet& assigned = out[spec.members[m].member_id];
    for (size_t i = 0; i < room && next < unassigned.size(); ++i, ++next)
      assigned[unassigned[next].first].insert(unassigned[next].second);
  }
  return out;
}

// --- uniform, members subscribed to different topics --------------------------------------------

class HeterogeneousBuilder {
 public:
  HeterogeneousBuilder(const AssignmentSpec& spec, const std::vector<size_t>& order)
      : spec_(spec), order_(order), sizes_(order.size(), 0) {
    // Members are numbered 0..M-1 in `order`.
    for (size_t i = 0; i < order_.size(); ++i)
      for (const auto& topic : spec_.members[order_[i]].subscribed) {
        const int32_t count = partition_count(spec_, topic);
        if (count < 0) continue;
        auto [it, added] = topics_.try_emplace(topic);
        if (added) it->second.owners.assign(static_cast<size_t>(count), -1);
        it->second.subscribers.push_back(static_cast<int>(i));
      }
  }

  GroupAssignment build() {
    GroupAssignment out;
    for (const auto& m : spec_.members) out[m.member_id];
    if (topics_.empty()) return out;
    keep_subscribed();
    assign_unassigned();
    balance();
    for (const auto& [topic, t] : topics_)
      for (size_t p = 0; p < t.owners.size(); ++p)
        if (t.owners[p] >= 0)
          out[spec_.members[order_[static_cast<size_t>(t.owners[p])]].member_id][topic].insert(
              static_cast<int32_t>(p));
    return out;
  }

 private:
  struct Topic {
    std::vector<int> owners;       // member number per partition, -1 for none
    std::vector<int> subscribers;  // member numbers, ascending
  };

  // Kafka's topic order for placing and balancing: most partitions per subscriber first, then
  // fewest subscribers, then topic id.
  std::vector<wire::Uuid> sorted(std::vector<wire::Uuid> ids) const {
    std::sort(ids.begin(), ids.end(), [&](const wire::Uuid& a, const wire::Uuid& b) {
      const Topic& ta = topics_.at(a);
      const Topic& tb = topics_.at(b);
      const double per_a =
          static_cast<double>(ta.owners.size()) / static_cast<double>(ta.subscribers.size());
      const double per_b =
          static_cast<double>(tb.owners.size()) / static_cast<double>(tb.subscribers.size());
      if (per_a != per_b) return per_a > per_b;
      if (ta.subscribers.size() != tb.subscribers.size())
        return ta.subscribers.size() < tb.subscribers.size();
      return kafka_uuid_less(a, b);
    });
    return ids;
  }

  bool lighter(int a, int b) const {
    const auto ua = static_cast<size_t>(a);
    const auto ub = static_cast<size_t>(b);
    return sizes_[ua] != sizes_[ub] ? sizes_[ua] < sizes_[ub] : a < b;
  }

  // Members keep every partition of the topics they still subscribe to.
  void keep_subscribed() {
    for (size_t i = 0; i < order_.size(); ++i) {
      const AssignorMember& member = spec_.members[order_[i]];
      for (const auto& [topic, parts] : member.current) {
        if (!member.subscribed.contains(topic)) continue;
        auto t = topics_.find(topic);
        if (t == topics_.end()) continue;
        sizes_[i] += static_cast<int>(parts.size());
        for (int32_t p : parts)
          if (p >= 0 && static_cast<size_t>(p) < t->second.owners.size())
            t->second.owners[static_cast<size_t>(p)] = static_cast<int>(i);
      }
    }
  }

  void move(const wire::Uuid& topic, int32_t partition, int member) {
    int& owner = topics_.at(topic).owners[static_cast<size_t>(partition)];
    if (owner >= 0) --sizes_[static_cast<size_t>(owner)];
    owner = member;
    ++sizes_[static_cast<size_t>(member)];
  }

  // Kafka's MemberAssignmentBalancer: the subscribers of one topic sorted by load, a range of
  // the least loaded growing from the front and one of the most loaded growing from the back.
  class Balancer {
   public:
    explicit Balancer(const HeterogeneousBuilder& b) : b_(b) {}

    int initialize(const std::vector<int>& members) {
      sorted_ = members;
      std::sort(sorted_.begin(), sorted_.end(), [&](int x, int y) { return b_.lighter(x, y); });
      least_end_ = 0;
      least_count_ = size_of(sorted_.front()) - 1;
      next_least_ = 0;
      most_start_ = sorted_.size();
      most_end_ = sorted_.size();
      most_count_ = size_of(sorted_.back()) + 1;
      next_most_ = static_cast<int>(sorted_.size()) - 1;
      return size_of(sorted_.back()) - size_of(sorted_.front());
    }

    int next_least_loaded() {
      if (next_least_ >= least_end_) {
        ++least_count_;
        while (least_end_ < sorted_.size() && size_of(sorted_[least_end_]) == least_count_)
          ++least_end_;
        next_least_ = 0;
      }
      return sorted_[next_least_++];
    }

    int next_most_loaded() {
      if (next_most_ < static_cast<int>(most_start_)) {
        if (most_end_ <= most_start_ && most_start_ > 0)
          most_count_ = size_of(sorted_[most_start_ - 1]);
        else
          --most_count_;
        while (most_start_ > 0 && size_of(sorted_[most_start_ - 1]) == most_count_) --most_start_;
        next_most_ = static_cast<int>(most_end_) - 1;
      }
      if (next_most_ < 0) return -1;
      return sorted_[static_cast<size_t>(next_most_--)];
    }

    // Drops the member next_most_loaded just gave from the most loaded range.
    void exclude_most_loaded() {
      const size_t at = static_cast<size_t>(next_most_) + 1;  // next_most_ may be -1
      std::swap(sorted_[at], sorted_[most_end_ - 1]);
      --most_end_;
    }

    bool balanced() const { return most_count_ - least_count_ <= 1; }

   private:
    int size_of(int member) const { return b_.sizes_[static_cast<size_t>(member)]; }

    const HeterogeneousBuilder& b_;
    std::vector<int> sorted_;
    size_t least_end_ = 0;  // exclusive
    int least_count_ = -1;
    size_t next_least_ = 0;
    size_t most_start_ = 0;  // inclusive
    size_t most_end_ = 0;    // exclusive
    int most_count_ = 1;
    int next_most_ = -1;
  };

  void assign_unassigned() {
    std::vector<wire::Uuid> with_free;
    for (const auto& [topic, t] : topics_)
      if (std::find(t.owners.begin(), t.owners.end(), -1) != t.owners.end())
        with_free.push_back(topic);
    Balancer balancer(*this);
    for (const auto& topic : sorted(with_free)) {
      const Topic& t = topics_.at(topic);
      balancer.initialize(t.subscribers);
      for (size_t p = 0; p < t.owners.size(); ++p)
        if (t.owners[p] < 0) move(topic, static_cast<int32_t>(p), balancer.next_least_loaded());
    }
  }

  void balance() {
    std::vector<wire::Uuid> movable;
    for (const auto& [topic, t] : topics_)
      if (t.subscribers.size() >= 2) movable.push_back(topic);
    if (movable.empty()) return;
    const std::vector<wire::Uuid> order = sorted(std::move(movable));
    Balancer balancer(*this);
    int last_moved = -1;
    // Kafka gives up after 16 passes over the topics, or after a whole pass moved nothing.
    for (int pass = 0; pass < 16; ++pass) {
      for (size_t i = 0; i < order.size(); ++i) {
        if (static_cast<int>(i) == last_moved) return;
        const int moved = balance_topic(order[i], balancer);
        if (moved > 0 || last_moved == -1) last_moved = static_cast<int>(i);
      }
    }
  }

  // Moves partitions of one topic from its most loaded subscribers to its least loaded ones;
  // returns how many moved.
  int balance_topic(const wire::Uuid& topic, Balancer& balancer) {
    const Topic& t = topics_.at(topic);
    if (balancer.initialize(t.subscribers) <= 1) return 0;
    // The partitions grouped by owner (in partition order within an owner), so that each
    // member gives up its highest one first.
    std::vector<int32_t> partitions(t.owners.size());
    std::iota(partitions.begin(), partitions.end(), 0);
    std::stable_sort(partitions.begin(), partitions.end(), [&](int32_t a, int32_t b) {
      return t.owners[static_cast<size_t>(a)] < t.owners[static_cast<size_t>(b)];
    });
    std::map<int, std::pair<size_t, size_t>> ranges;  // owner -> [start, end)
    for (size_t i = 0; i < partitions.size(); ++i) {
      const int owner = t.owners[static_cast<size_t>(partitions[i])];
      auto [it, added] = ranges.try_emplace(owner, i, i + 1);
      if (!added) it->second.second = i + 1;
    }
    int moved = 0;
    while (!balancer.balanced()) {
      int from = -1;
      while (true) {
        from = balancer.next_most_loaded();
        if (from == -1) break;
        auto r = ranges.find(from);
        if (r == ranges.end() || r->second.second <= r->second.first) {
          balancer.exclude_most_loaded();
          continue;
        }
        break;
      }
      if (from == -1) break;
      auto& range = ranges.at(from);
      const int32_t partition = partitions[range.second - 1];
      --range.second;
      const int to = balancer.next_least_loaded();
      if (balancer.balanced()) break;
      move(topic, partition, to);
      ++moved;
    }
    return moved;
  }

  const AssignmentSpec& spec_;
  const std::vector<size_t>& order_;
  std::map<wire::Uuid, Topic> topics_;
  std::vector<int> sizes_;  // partitions per member number, over every topic
};

}  // namespace

GroupAssignment assign_uniform(const AssignmentSpec& spec) {
  if (spec.members.empty()) return {};
  const std::vector<size_t> order = by_member_id(spec);
  const bool same_subscriptions = std::all_of(
      spec.members.begin(), spec.members.end(),
      [&](const AssignorMember& m) { return m.subscribed == spec.members.front().subscribed; });
  if (same_subscriptions) return uniform_homogeneous(spec, order);
  return HeterogeneousBuilder(spec, order).build();
}

GroupAssignment assign_range(const AssignmentSpec& spec) {
  GroupAssignment out;
  for (const auto& m : spec.members) out[m.member_id];
  // Kafka's member order: static members first, by instance id, then the others by member id.
  std::vector<const AssignorMember*> members;
  members.reserve(spec.members.size());
  for (const auto& m : spec.members) members.push_back(&m);
  std::sort(members.begin(), members.end(), [](const AssignorMember* a, const AssignorMember* b) {
    if (a->instance_id && b->instance_id) return *a->instance_id < *b->instance_id;
    if (a->instance_id || b->instance_id) return a->instance_id.has_value();
    return a->member_id < b->member_id;
  });
  // Per topic, its subscribers in that order.
  std::map<wire::Uuid, std::vector<const AssignorMember*>> subscribers;
  for (const AssignorMember* m : members)
    for (const auto& topic : m->subscribed)
      if (spec.partitions.contains(topic)) subscribers[topic].push_back(m);
  for (auto& [topic, takers] : subscribers) {
    const auto count = static_cast<size_t>(spec.partitions.at(topic));
    const size_t each = count / takers.size();
    const size_t extra = count % takers.size();
    size_t next = 0;
    for (size_t i = 0; i < takers.size(); ++i) {
      const size_t take = each + (i < extra ? 1 : 0);
      if (take == 0) continue;
      auto& parts = out.find(takers[i]->member_id)->second[topic];
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
