#include "kb/group/offsets_topic.hpp"

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <spdlog/spdlog.h>

#include "kb/cluster/topic_admin.hpp"
#include "kb/group/txn_offsets.hpp"
#include "kb/storage/record_batch.hpp"

namespace kb::group {

namespace {

cluster::CoordinatorTopicOptions topic_options(const GroupConfig& config) {
  cluster::CoordinatorTopicOptions options;
  options.name = std::string(kOffsetsTopic);
  options.partitions = config.offsets_partitions;
  options.segment_bytes = config.offsets_segment_bytes;
  // The configs Kafka gives it.
  options.configs = {{"cleanup.policy", "compact"}, {"compression.type", "producer"}};
  return options;
}

}  // namespace

OffsetsTopic::OffsetsTopic(cluster::BrokerState& state, const GroupConfig& config)
    : topic_(state, topic_options(config)) {}

storage::Status OffsetsTopic::load_into(GroupCoordinator& coordinator, TxnOffsets* pending) {
  coordinator.set_offsets_partitions(partitions());
  size_t records = 0;
  // Records left unused, by coordinator record type, and their groups.
  std::map<int16_t, size_t> other_types;
  std::set<std::string> other_groups;
  std::map<int16_t, size_t> unreadable;
  cluster::CoordinatorTopic::Replay replay;
  replay.record = [&](int32_t /*partition*/, const storage::RecordView& record) {
    if (!record.key) return;
    const GroupCoordinator::Loaded loaded = coordinator.load(*record.key, record.value);
    ++records;
    if (loaded == GroupCoordinator::Loaded::kUsed) return;
    const auto typed = key_type_and_group(*record.key);
    const int16_t type = typed ? typed->type : int16_t{-1};
    if (loaded == GroupCoordinator::Loaded::kOtherType) {
      ++other_types[type];
      if (typed) other_groups.insert(typed->group);
    } else {
      ++unreadable[type];
    }
  };
  if (pending) {
    replay.open_transaction = [&](int32_t partition, const cluster::TransactionalProducer& producer,
                                  std::span<const CoordinatorRecord> offsets) {
      pending->restore(partition, producer, offsets);
    };
  }
  auto replayed = topic_.replay(replay);
  if (!replayed) return replayed.error();
  auto named = [](const std::map<int16_t, size_t>& counts) {
    std::string text;
    for (const auto& [type, count] : counts)
      text += fmt::format("{}{} ({}: {})", text.empty() ? "" : ", ",
                          coordinator_record_type_name(type), type, count);
    return text;
  };
  if (!other_types.empty())
    spdlog::warn(
        "{}: records of group kinds this broker does not serve (share and streams groups) are "
        "kept in the log but not used: {}; groups {}: their committed offsets are served, as "
        "an empty classic group's",
        kOffsetsTopic, named(other_types), fmt::join(other_groups, ", "));
  if (!unreadable.empty())
    spdlog::error(
        "{}: records this broker cannot read (a value version newer than it knows, or malformed "
        "bytes) are kept in the log but not used: {}",
        kOffsetsTopic, named(unreadable));
  spdlog::info("loaded {} records of {} ({} groups)", records, kOffsetsTopic,
               coordinator.groups().size());
  return {};
}

}  // namespace kb::group
