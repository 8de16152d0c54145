#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kb/cluster/broker_reconfigurable.hpp"
#include "kb/cluster/client_quotas.hpp"
#include "kb/cluster/quota_manager.hpp"

namespace kb::cluster {

// Kafka's ConnectionQuotas for connection creation rates: the broker-wide
// max.connection.creation.rate, each listener's own (its
// listener.name.<l>.max.connection.creation.rate, else the broker's value),
// and connection_creation_rate of ip entities (the address's own, else the
// default ip entity's). Each is Kafka's Rate over the quota windows. A
// connection over a listener or broker rate is delayed (the acceptor waits
// before serving it and accepts nothing meanwhile); one over its address's
// rate is not served and is closed after the throttle, and does not count
// against any rate. Throttles are at most one quota window.
class ConnectionQuotas {
 public:
  static constexpr int32_t kUnlimited = INT32_MAX;  // Kafka's default for each rate

  ConnectionQuotas(const ClientQuotaStore& store, QuotaWindowConfig window, int32_t broker_rate);

  // `exempt_from_broker_rate`: Kafka's inter-broker listener when the broker
  // has several, which only its own rate limits.
  void add_listener(std::string_view listener, int32_t rate, bool exempt_from_broker_rate);
  // New bounds, in force from the next connection; what was measured stays.
  void set_broker_rate(int32_t rate) { broker_.bound = rate; }
  void set_listener_rate(std::string_view listener, int32_t rate);

  struct Admission {
    int64_t delay_ms = 0;        // serve after this long
    int64_t close_after_ms = 0;  // not served: closed after this long
  };
  // A connection accepted on `listener` from `address` (an IP literal).
  Admission admit(std::string_view listener, std::string_view address, int64_t now_ms);

  // The connection_creation_rate that applies to an address.
  int32_t rate_for(std::string_view address);

 private:
  struct Limited {
    QuotaRate rate;
    int32_t bound = kUnlimited;
    bool exempt = false;
    int64_t last_record_ms = 0;
  };
  // Records one connection; the throttle if that goes over the bound.
  int64_t record(Limited& limited, int64_t now_ms);
  void refresh();
  void expire(int64_t now_ms);

  const ClientQuotaStore& store_;
  QuotaWindowConfig window_;
  Limited broker_;
  std::map<std::string, Limited, std::less<>> listeners_;
  std::map<std::string, Limited, std::less<>> addresses_;  // by normalized address
  uint64_t seen_generation_ = UINT64_MAX;
  std::map<std::string, int32_t, std::less<>> address_rates_;  // by normalized address
  int32_t default_address_rate_ = kUnlimited;
  int64_t last_expiry_ms_ = 0;
};

struct BrokerState;

// A listener's own rate key, as Kafka names it: the listener in lower case
// (listener.name.<l>.max.connection.creation.rate).
std::string listener_rate_config(std::string_view listener);

// max.connection.creation.rate and listener.name.<l>.max.connection.creation.rate
// as dynamic broker configs (Kafka's SocketServer and ListenerConnectionQuota
// reconfigure them): a listener's rate is its own key's, else the broker's;
// each value is this broker's dynamic one, else the cluster default, else
// server.properties'. A change is refused when it leaves a listener a rate
// under 1, as Kafka refuses it. Registers itself with the state's
// reconfigurables and applies the values in force at once.
class ConnectionRateConfigs final : public BrokerReconfigurable {
 public:
  ConnectionRateConfigs(BrokerState& state, ConnectionQuotas& quotas,
                        std::vector<std::string> listeners);
  ~ConnectionRateConfigs() override;
  ConnectionRateConfigs(const ConnectionRateConfigs&) = delete;
  ConnectionRateConfigs& operator=(const ConnectionRateConfigs&) = delete;

  std::string reconfiguration_problem(const BrokerConfigLookup& lookup) const override;
  void broker_configs_changed() override;

  struct Rates {
    int32_t broker = ConnectionQuotas::kUnlimited;
    std::map<std::string, int32_t, std::less<>> listeners;  // by listener name
  };
  // The rates `lookup`'s values give.
  Rates rates(const BrokerConfigLookup& lookup) const;

 private:
  BrokerState& state_;
  ConnectionQuotas& quotas_;
  std::vector<std::string> listeners_;
  Rates applied_;
};

// An IP literal in one spelling (inet_ntop's); nullopt when it is not one.
std::optional<std::string> normalized_ip(std::string_view address);

}  // namespace kb::cluster
