#include "kb/broker/group_config_link.hpp"

#include <algorithm>

namespace kb::broker {

share::ShareGroupSettings share_group_settings(const cluster::GroupConfigValues& values) {
  share::ShareGroupSettings s;
  // Values were checked when they were set; one that does not read (written
  // by another program) leaves the default.
  if (values.share_auto_offset_reset)
    if (auto reset = share::AutoOffsetReset::parse(*values.share_auto_offset_reset))
      s.auto_offset_reset = *reset;
  s.read_committed = values.share_isolation_level == "read_committed";
  s.record_lock_duration_ms = values.share_record_lock_duration_ms;
  s.delivery_count_limit = values.share_delivery_count_limit;
  s.max_record_locks = values.share_partition_max_record_locks;
  return s;
}

GroupConfigLink::GroupConfigLink(cluster::BrokerState& state, group::GroupCoordinator* groups,
                                 share::ShareState* shares)
    : state_(state), groups_(groups), shares_(shares) {
  broker_configs_changed();
  state_.reconfigurables.push_back(this);
}

GroupConfigLink::~GroupConfigLink() { std::erase(state_.reconfigurables, this); }

void GroupConfigLink::broker_configs_changed() {
  for (const std::string& group : cluster::groups_with_configs(state_))
    group_configs_changed(group);
}

void GroupConfigLink::group_configs_changed(std::string_view group) {
  const cluster::GroupConfigValues values = cluster::group_config_values(state_, group);
  if (groups_ != nullptr) groups_->set_group_config(group, values);
  if (shares_ != nullptr) shares_->set_group_settings(group, share_group_settings(values));
}

}  // namespace kb::broker
