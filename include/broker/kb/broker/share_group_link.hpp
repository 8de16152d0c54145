#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

#include "kb/cluster/broker_state.hpp"
#include "kb/group/coordinator.hpp"
#include "kb/net/event_loop.hpp"
#include "kb/share/share_state.hpp"

namespace kb::broker {

// Joins the two halves of share groups (KIP-932): the group coordinator,
// which knows members and assignments, and the share-partition state, which
// knows what each partition has delivered. The coordinator asks for a
// partition's state to be initialized when its group starts consuming it
// (Kafka's InitializeShareGroupState) and says when a group's state may go;
// ShareFetch and ShareAcknowledge ask whether a member is current.
class ShareGroupLink final : public share::ShareGroupView {
 public:
  // Hooks itself into both; lives as long as they and the loop do.
  ShareGroupLink(net::EventLoop& loop, cluster::BrokerState& state, group::GroupCoordinator& groups,
                 share::ShareState& shares);

  bool is_share_member(std::string_view group, std::string_view member) const override;
  std::optional<size_t> share_group_size(std::string_view group) const override;

 private:
  void initialize(const group::SharePartitionsToInitialize& request);
  void forget(std::string_view group, const group::TopicPartitionSet& partitions);

  net::EventLoop& loop_;
  cluster::BrokerState& state_;
  group::GroupCoordinator& groups_;
  share::ShareState& shares_;
};

}  // namespace kb::broker
