#pragma once

// Groups' own configs (GROUP config resources) to the parts that use them:
// the group coordinator (session timeouts and heartbeat intervals of
// consumer and share groups) and the share-partitions (acquisition locks,
// delivery limit, in-flight bound, share.auto.offset.reset and
// share.isolation.level). Applied at start-up from the replayed metadata and
// again whenever a ConfigRecord for a group is replayed.

#include <string>
#include <string_view>

#include "kb/cluster/broker_reconfigurable.hpp"
#include "kb/cluster/broker_state.hpp"
#include "kb/cluster/group_configs.hpp"
#include "kb/group/coordinator.hpp"
#include "kb/share/share_state.hpp"

namespace kb::broker {

// What a share group's configs make of its share-partitions' settings.
share::ShareGroupSettings share_group_settings(const cluster::GroupConfigValues& values);

class GroupConfigLink : public cluster::BrokerReconfigurable {
 public:
  // Either part may be null.
  GroupConfigLink(cluster::BrokerState& state, group::GroupCoordinator* groups,
                  share::ShareState* shares);
  ~GroupConfigLink() override;
  GroupConfigLink(const GroupConfigLink&) = delete;
  GroupConfigLink& operator=(const GroupConfigLink&) = delete;

  std::string reconfiguration_problem(const cluster::BrokerConfigLookup&) const override {
    return {};
  }
  // The broker's bounds may have moved: every group's values again.
  void broker_configs_changed() override;
  void group_configs_changed(std::string_view group) override;

 private:
  cluster::BrokerState& state_;
  group::GroupCoordinator* groups_;
  share::ShareState* shares_;
};

}  // namespace kb::broker
