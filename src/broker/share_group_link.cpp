#include "kb/broker/share_group_link.hpp"

#include <spdlog/spdlog.h>

#include <string>
#include <vector>

#include "kb/base/wall_clock.hpp"
#include "kb/handlers/share.hpp"

namespace kb::broker {

ShareGroupLink::ShareGroupLink(net::EventLoop& loop, cluster::BrokerState& state,
                               group::GroupCoordinator& groups, share::ShareState& shares)
    : loop_(loop), state_(state), groups_(groups), shares_(shares) {
  groups_.set_share_state_hooks(
      [this](const group::SharePartitionsToInitialize& request) { initialize(request); },
      [this](std::string_view group, const group::TopicPartitionSet& partitions) {
        forget(group, partitions);
      });
  shares_.set_group_view(this);
}

ShareGroupLink::~ShareGroupLink() {
  groups_.set_share_state_hooks(nullptr, nullptr);
  shares_.set_group_view(nullptr);
}

std::optional<size_t> ShareGroupLink::share_group_size(std::string_view group) const {
  const group::ShareGroup* found = groups_.find_share(group);
  if (found == nullptr) return std::nullopt;
  return found->members.size();
}

void ShareGroupLink::share_state_initialized(std::string_view group, const wire::Uuid& topic_id,
                                             std::span<const int32_t> partitions) {
  groups_.share_partitions_initialized(group, topic_id, partitions, true);
}

void ShareGroupLink::share_state_deleted(std::string_view group, const wire::Uuid& topic_id) {
  groups_.share_partitions_deleted(group, topic_id);
}

// Each partition starts where the group's share.auto.offset.reset says,
// unless it has state already (a restart, or offsets set while the group was
// empty). The coordinator asks from inside a heartbeat and must not be
// re-entered, so its answer goes back from the next loop turn.
void ShareGroupLink::initialize(const group::SharePartitionsToInitialize& request) {
  const int64_t now_ms = wall_ms();
  for (const auto& topic : request.topics) {
    bool succeeded = true;
    for (int32_t partition : topic.partitions) {
      storage::PartitionLog* log = nullptr;
      if (state_.logs != nullptr) {
        auto found = state_.logs->find(topic.name, partition);
        if (!found) {
          spdlog::error("share group {}: initializing {}-{}: {}", request.group_id, topic.name,
                        partition, found.error().message);
          succeeded = false;
          continue;
        }
        log = *found;
      }
      const share::SharePartitionKey key{request.group_id, topic.id, partition};
      shares_.initialize(key, handlers::share_log_bounds(log), now_ms);
      shares_.touched(key, true);
    }
    loop_.post(
        [this, group = request.group_id, id = topic.id, partitions = topic.partitions, succeeded] {
          groups_.share_partitions_initialized(group, id, partitions, succeeded);
        });
  }
}

// All the group's share state goes, also of partitions the group no longer
// lists (a topic re-created, offsets altered before it subscribed): a group
// made again under the name must start afresh.
void ShareGroupLink::forget(std::string_view group, const group::TopicPartitionSet& partitions) {
  for (const auto& [topic_id, indexes] : partitions)
    for (int32_t partition : indexes) shares_.erase({std::string(group), topic_id, partition});
  for (const auto& [key, partition] : shares_.partitions(group)) shares_.erase(key);
}

}  // namespace kb::broker
