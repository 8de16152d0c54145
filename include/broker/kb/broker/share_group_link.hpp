#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string_view>

#include "kb/cluster/broker_state.hpp"
#include "kb/group/coordinator.hpp"
#include "kb/net/event_loop.hpp"
#include "kb/share/share_state.hpp"

namespace kb::broker {

// Joins the two halves of share groups (KIP-932): the group coordinator,
// which knows members and assignments, and the share-partition state, which
// knows what each partition has delivered. The coordinator asks for the
// state of partitions its group starts consuming to be initialized (Kafka's
// InitializeShareGroupState) and is answered from a later loop turn, after
// which it assigns them; it says when a deleted group's state may go. The
// share offset APIs ask it which share groups exist and how many members
// they have.
class ShareGroupLink final : public share::ShareGroupView {
 public:
  // Hooks itself into both; lives as long as they and the loop do.
  ShareGroupLink(net::EventLoop& loop, cluster::BrokerState& state, group::GroupCoordinator& groups,
                 share::ShareState& shares);
  ~ShareGroupLink() override;
  ShareGroupLink(const ShareGroupLink&) = delete;
  ShareGroupLink& operator=(const ShareGroupLink&) = delete;

  std::optional<size_t> share_group_size(std::string_view group) const override;
  void share_state_initialized(std::string_view group, const wire::Uuid& topic_id,
                               std::span<const int32_t> partitions) override;
  void share_state_deleted(std::string_view group, const wire::Uuid& topic_id) override;

  // What the coordinator asks (public for tests that drive the link alone).
  void initialize(const group::SharePartitionsToInitialize& request);
  void forget(std::string_view group, const group::TopicPartitionSet& partitions);

 private:
  net::EventLoop& loop_;
  cluster::BrokerState& state_;
  group::GroupCoordinator& groups_;
  share::ShareState& shares_;
};

}  // namespace kb::broker
