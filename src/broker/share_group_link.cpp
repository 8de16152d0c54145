#include "kb/broker/share_group_link.hpp"

#include <spdlog/spdlog.h>

#include <string>
#include <vector>

#include "kb/handlers/groups.hpp"
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

bool ShareGroupLink::is_share_member(std::string_view group, std::string_view member) const {
  return groups_.is_share_member(group, member, handlers::group_time(handlers::Clock::now()));
}

std::optional<size_t> ShareGroupLink::share_group_size(std::string_view group) const {
  const group::ShareGroup* found = groups_.find_share(group);
  if (found == nullptr) return std::nullopt;
  return found->members.size();
}

// Each partition starts where the group's share.auto.offset.reset says,
// unless it has state already (a restart, or a group that consumed it
// before). The answer goes back from the next loop turn: the coordinator
// asks from inside a heartbeat.
void ShareGroupLink::initialize(const group::SharePartitionsToInitialize& request) {
  const int64_t now_ms = handlers::wall_ms();
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
      shares_.initialize({request.group_id, topic.id, partition}, handlers::log_bounds(log),
                         now_ms);
    }
    loop_.post(
        [this, group = request.group_id, id = topic.id, partitions = topic.partitions, succeeded] {
          groups_.share_partitions_initialized(group, id, partitions, succeeded);
        });
  }
}

void ShareGroupLink::forget(std::string_view group, const group::TopicPartitionSet& partitions) {
  for (const auto& [topic_id, indexes] : partitions)
    for (int32_t partition : indexes) shares_.erase({std::string(group), topic_id, partition});
}

}  // namespace kb::broker
