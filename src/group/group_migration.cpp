// Groups changing protocol while they have members, as Kafka 4's
// GroupMetadataManager does (group.consumer.migration.policy): a classic
// group becomes a consumer group when a consumer-protocol member joins (its
// members and their assignments kept, written as Kafka's ConsumerGroup*
// records with each classic member's ClassicMemberMetadata), and a consumer
// group whose last consumer-protocol member leaves goes back to the classic
// protocol, its members asked to join again.

#include <algorithm>
#include <map>

#include <spdlog/spdlog.h>

#include "consumer_group_internal.hpp"
#include "kb/group/coordinator.hpp"
#include "kb/protocol/error_code.hpp"

namespace kb::group {

using namespace consumer_detail;  // NOLINT(google-build-using-namespace)

namespace {

using protocol::ErrorCode;
using protocol::to_wire;

constexpr int16_t kNone = 0;

// The records of the consumer group a classic group becomes (Kafka's order:
// members, group epoch, targets, target epoch, current assignments), or none
// with why it cannot be one.
std::optional<std::vector<ConsumerGroupChange>> consumer_group_from(
    const ClassicGroup& classic, const cluster::TopicTable* topics, std::string& why) {
  if (!classic.protocol) {
    why = "it has no protocol yet (its first rebalance is under way)";
    return std::nullopt;
  }
  std::vector<ConsumerMember> members;
  members.reserve(classic.members.size());
  for (const auto& [id, cm] : classic.members) {
    const auto metadata = cm.metadata_for(*classic.protocol);
    const auto subscription = metadata ? decode_subscription(*metadata)
                                       : std::optional<records::ConsumerProtocolSubscription>();
    // A member that joined and never synced has no assignment yet: none.
    const auto assignment = cm.assignment.empty() ? records::ConsumerProtocolAssignment()
                                                  : decode_assignment(cm.assignment);
    if (!subscription || !assignment) {
      why = "the embedded consumer protocol of member " + id + " is malformed";
      return std::nullopt;
    }
    if (assignment->user_data && !assignment->user_data->empty()) {
      why = "the user data of member " + id + "'s assignment (a custom assignor's) would be lost";
      return std::nullopt;
    }
    ConsumerMember& m = members.emplace_back();
    m.id = id;
    m.instance_id = cm.instance_id;
    m.rack_id = subscription->rack_id;
    m.client_id = cm.client_id;
    m.client_host = cm.client_host;
    m.subscribed_topic_names = subscription->topics;
    m.rebalance_timeout_ms = cm.rebalance_timeout_ms;
    // Every member starts Stable at the generation with the partitions it
    // was last given; a rebalance under way is picked up by its next join.
    m.member_epoch = classic.generation;
    m.previous_member_epoch = classic.generation;
    m.state = MemberState::kStable;
    if (topics != nullptr)
      for (const auto& t : assignment->assigned_partitions)
        if (const cluster::TopicInfo* info = topics->find(t.topic))
          m.assigned[info->id].insert(t.partitions.begin(), t.partitions.end());
    ConsumerMember::ClassicMetadata classic_metadata;
    classic_metadata.session_timeout_ms = cm.session_timeout_ms;
    const ProtocolList& protocols = *cm.protocols;
    for (size_t i = 0; i < protocols.size(); ++i) {
      const auto bytes = protocols.metadata(i);
      classic_metadata.supported_protocols.push_back(
          {std::string(protocols.name(i)), std::vector<uint8_t>(bytes.begin(), bytes.end())});
    }
    m.classic = std::move(classic_metadata);
  }
  std::vector<ConsumerGroupChange> out;
  out.reserve(3 * members.size() + 2);
  for (const auto& m : members)
    out.push_back(change(kConsumerGroupMemberMetadataType, m.id, metadata_value(m)));
  out.push_back(
      change(kConsumerGroupMetadataType, {}, ConsumerGroupMetadataValue{classic.generation, 0}));
  for (const auto& m : members)
    out.push_back(change(
        kConsumerGroupTargetAssignmentMemberType, m.id,
        ConsumerGroupTargetAssignmentMemberValue{to_records<TargetTopicPartition>(m.assigned)}));
  out.push_back(change(kConsumerGroupTargetAssignmentMetadataType, {},
                       ConsumerGroupTargetAssignmentMetadataValue{classic.generation, 0}));
  for (const auto& m : members)
    out.push_back(change(kConsumerGroupCurrentMemberAssignmentType, m.id, assignment_value(m)));
  return out;
}

// The protocol a classic group of these members would choose (as the
// classic coordinator does): among those every member supports, the one
// most members prefer; ties go to the first member's order.
std::optional<std::string> choose_protocol(const ClassicGroup& group) {
  if (group.members.empty()) return std::nullopt;
  std::map<std::string, size_t, std::less<>> support;
  for (const auto& [id, m] : group.members) {
    std::set<std::string_view> names;
    for (size_t i = 0; i < m.protocols->size(); ++i) names.insert(m.protocols->name(i));
    for (auto name : names) ++support[std::string(name)];
  }
  auto candidate = [&](std::string_view name) {
    auto it = support.find(name);
    return it != support.end() && it->second == group.members.size();
  };
  std::map<std::string_view, size_t> votes;
  for (const auto& [id, m] : group.members)
    for (size_t i = 0; i < m.protocols->size(); ++i)
      if (candidate(m.protocols->name(i))) {
        ++votes[m.protocols->name(i)];
        break;
      }
  size_t most = 0;
  for (const auto& [name, count] : votes) most = std::max(most, count);
  const ProtocolList& first = *group.members.begin()->second.protocols;
  for (size_t i = 0; i < first.size(); ++i) {
    auto it = votes.find(first.name(i));
    if (it != votes.end() && it->second == most) return std::string(first.name(i));
  }
  return std::nullopt;
}

}  // namespace

std::optional<MigrationPolicy> parse_migration_policy(std::string_view name) {
  static constexpr std::pair<std::string_view, MigrationPolicy> kNames[] = {
      {"disabled", MigrationPolicy::kDisabled},
      {"upgrade", MigrationPolicy::kUpgrade},
      {"downgrade", MigrationPolicy::kDowngrade},
      {"bidirectional", MigrationPolicy::kBidirectional},
  };
  for (const auto& [text, policy] : kNames)
    if (equals_ignore_case(name, text)) return policy;
  return std::nullopt;
}

int16_t GroupCoordinator::upgrade(ClassicGroup& classic, const TopicsView& topics, Millis now) {
  const std::string group_id = classic.id;
  auto refuse = [&](std::string_view why) {
    spdlog::info("group {}: not moving to the consumer protocol: {}", group_id, why);
    return to_wire(ErrorCode::kGroupIdNotFound);
  };
  if (!upgrade_enabled(ctx_.config.consumer_migration_policy))
    return refuse("group.consumer.migration.policy does not allow upgrades");
  if (classic.protocol_type != kConsumerProtocolType)
    return refuse("its members do not use the consumer protocol type");
  if (classic.members.size() > static_cast<size_t>(ctx_.config.consumer_max_size))
    return refuse("it has more members than group.consumer.max.size");
  std::string why;
  auto changes = consumer_group_from(classic, topics.topics, why);
  if (!changes) return refuse(why);

  std::vector<CoordinatorRecord> records = classic.tombstones();
  for (const auto& c : *changes) records.push_back(to_record(group_id, c));
  if (!ctx_.append(group_id, records)) {
    spdlog::error("group {}: writing its change to the consumer protocol to {} failed", group_id,
                  kOffsetsTopic);
    return to_wire(ErrorCode::kCoordinatorNotAvailable);
  }
  // Joins waiting for the classic rebalance learn that another one started.
  classic_.release(classic, to_wire(ErrorCode::kRebalanceInProgress));
  const size_t count = classic.members.size();
  ConsumerGroup& group = ctx_.make<ConsumerGroup>(group_id);
  for (const auto& c : *changes) ConsumerGroups::replay(group, c);
  for (auto& [id, m] : group.members) {
    m.session_deadline = now + m.session_timeout_ms(ctx_.consumer_session_timeout_ms(group_id));
    ctx_.note_deadline(m.session_deadline);
  }
  ctx_.changed();
  spdlog::info("group {}: moved to the consumer protocol with its {} classic members (epoch {})",
               group_id, count, group.group_epoch);
  return kNone;
}

bool GroupCoordinator::downgrade(ConsumerGroup& group, const std::string& leaving, Millis now,
                                 bool rebalance) {
  auto made = std::make_unique<ClassicGroup>(group.id);
  made->state = ClassicGroupState::kStable;
  made->generation = group.group_epoch;
  made->protocol_type = std::string(kConsumerProtocolType);
  for (const auto& [id, m] : group.members) {
    if (id == leaving || !m.classic) continue;
    ClassicMember cm;
    cm.id = id;
    cm.instance_id = m.instance_id;
    cm.client_id = m.client_id;
    cm.client_host = m.client_host;
    cm.session_timeout_ms = m.classic->session_timeout_ms;
    cm.rebalance_timeout_ms = m.rebalance_timeout_ms;
    auto protocols = std::make_shared<ProtocolList>();
    for (const auto& p : m.classic->supported_protocols) protocols->add(p.name, p.metadata);
    cm.protocols = std::move(protocols);
    made->members.emplace(id, std::move(cm));
  }
  made->protocol = choose_protocol(*made);
  if (!made->protocol) {
    spdlog::info("group {}: not going back to the classic protocol: its members share no protocol",
                 group.id);
    return false;
  }
  made->leader = made->members.begin()->first;
  for (auto& [id, cm] : made->members) {
    // Each keeps its target assignment, at its own subscription's version.
    records::ConsumerProtocolAssignment assignment;
    if (auto t = group.target.find(id); t != group.target.end())
      for (const auto& [topic, parts] : t->second) {
        auto name = topic_name(group, topic, nullptr);
        if (!name || parts.empty()) continue;
        assignment.assigned_partitions.push_back(
            {std::move(*name), std::vector<int32_t>(parts.begin(), parts.end())});
      }
    const auto metadata = cm.metadata_for(*made->protocol);
    const auto version = metadata ? consumer_protocol_version(*metadata) : std::nullopt;
    cm.assignment = encode_assignment(assignment, version.value_or(0));
  }

  // The consumer group's records, every member's included (Kafka's order).
  std::vector<CoordinatorRecord> records;
  const std::string& id = group.id;
  for (int16_t type :
       {kConsumerGroupCurrentMemberAssignmentType, kConsumerGroupTargetAssignmentMemberType})
    for (const auto& [member_id, m] : group.members)
      records.push_back({encode_consumer_group_key(type, id, member_id), std::nullopt});
  records.push_back(
      {encode_consumer_group_key(kConsumerGroupTargetAssignmentMetadataType, id), std::nullopt});
  for (const auto& [member_id, m] : group.members)
    records.push_back(
        {encode_consumer_group_key(kConsumerGroupMemberMetadataType, id, member_id), std::nullopt});
  for (const auto& [regex, resolved] : group.resolved_regexes)
    records.push_back(
        {encode_consumer_group_key(kConsumerGroupRegularExpressionType, id, regex), std::nullopt});
  records.push_back(
      {encode_consumer_group_key(kConsumerGroupPartitionMetadataType, id), std::nullopt});
  records.push_back({encode_consumer_group_key(kConsumerGroupMetadataType, id), std::nullopt});

  const std::string group_id = group.id;
  const size_t count = made->members.size();
  if (!classic_.adopt(std::move(made), std::move(records), now, rebalance)) return false;
  // `group` is gone: the classic group took its place.
  if (leaving.empty())
    spdlog::info(
        "group {}: went back to the classic protocol with its {} classic members as a classic "
        "static member replaced its last consumer-protocol member",
        group_id, count);
  else
    spdlog::info(
        "group {}: went back to the classic protocol with its {} classic members as member "
        "{} left",
        group_id, count, leaving);
  return true;
}

}  // namespace kb::group
