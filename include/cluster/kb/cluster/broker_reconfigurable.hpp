#pragma once

// Parts of the broker that take changes of its dynamic configs while it runs
// (Kafka's BrokerReconfigurable): IncrementalAlterConfigs and AlterConfigs
// on a broker resource ask each one whether the configs after the change can
// be applied before anything is written, and each is told once the change is
// applied from the metadata log.

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace kb::cluster {

// A broker config's value as it would be after the change under check: this
// broker's dynamic value, else the cluster-wide default, else
// server.properties; none when it is not set at any level (Kafka's default).
using BrokerConfigLookup = std::function<std::optional<std::string_view>(std::string_view)>;

class BrokerReconfigurable {
 public:
  virtual ~BrokerReconfigurable() = default;
  // Kafka's validateReconfiguration: why the configs `lookup` gives cannot
  // be applied, as Kafka's INVALID_REQUEST answer words it (the reason in
  // detail goes to the log); empty when they can.
  virtual std::string reconfiguration_problem(const BrokerConfigLookup& lookup) const = 0;
  // A broker resource's dynamic configs changed: take the values in force.
  virtual void broker_configs_changed() = 0;
  // A group's own configs (GROUP resource) changed.
  virtual void group_configs_changed(std::string_view /*group*/) {}
};

}  // namespace kb::cluster
