#include "kb/cluster/connection_quotas.hpp"

#include <arpa/inet.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <utility>

#include "kb/base/java_text.hpp"
#include "kb/cluster/broker_state.hpp"
#include "kb/cluster/config_catalog.hpp"

namespace kb::cluster {

std::optional<std::string> normalized_ip(std::string_view address) {
  const std::string text(address);
  char out[INET6_ADDRSTRLEN] = "";
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    inet_ntop(AF_INET, &v4, out, sizeof(out));
    return std::string(out);
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
    inet_ntop(AF_INET6, &v6, out, sizeof(out));
    return std::string(out);
  }
  return std::nullopt;
}

ConnectionQuotas::ConnectionQuotas(const ClientQuotaStore& store, QuotaWindowConfig window,
                                   int32_t broker_rate)
    : store_(store), window_(window) {
  broker_.bound = broker_rate;
}

void ConnectionQuotas::add_listener(std::string_view listener, int32_t rate,
                                    bool exempt_from_broker_rate) {
  Limited& l = listeners_[std::string(listener)];
  l.bound = rate;
  l.exempt = exempt_from_broker_rate;
}

void ConnectionQuotas::set_listener_rate(std::string_view listener, int32_t rate) {
  if (auto it = listeners_.find(listener); it != listeners_.end()) it->second.bound = rate;
}

void ConnectionQuotas::refresh() {
  if (seen_generation_ == store_.generation()) return;
  seen_generation_ = store_.generation();
  address_rates_.clear();
  default_address_rate_ = kUnlimited;
  for (const auto& [entity, values] : store_.entities()) {
    auto ip = entity.find(kQuotaEntityIp);
    if (ip == entity.end()) continue;
    auto v = values.find(kConnectionCreationRate);
    if (v == values.end()) continue;
    // Kafka keeps the rate as an int.
    const auto rate = static_cast<int32_t>(std::clamp<double>(v->second, INT32_MIN, INT32_MAX));
    if (!ip->second) {
      default_address_rate_ = rate;
    } else if (auto name = normalized_ip(*ip->second)) {
      address_rates_[*name] = rate;
    }
  }
}

int32_t ConnectionQuotas::rate_for(std::string_view address) {
  refresh();
  if (address_rates_.empty()) return default_address_rate_;
  const std::optional<std::string> name = normalized_ip(address);
  if (name) {
    if (auto it = address_rates_.find(*name); it != address_rates_.end()) return it->second;
  }
  return default_address_rate_;
}

int64_t ConnectionQuotas::record(Limited& limited, int64_t now_ms) {
  limited.rate.record(window_, 1.0, now_ms);
  limited.last_record_ms = now_ms;
  const double bound = limited.bound;
  const double observed = limited.rate.measure(window_, now_ms);
  if (observed <= bound) return 0;
  const int64_t ms = quota_throttle_ms(observed, bound, limited.rate.window_size(window_, now_ms));
  return std::clamp<int64_t>(ms, 0, window_.window_ms);
}

void ConnectionQuotas::expire(int64_t now_ms) {
  // An address's rate is forgotten once no connection came from it for the
  // whole of the windows: it would measure nothing anyway.
  const int64_t idle = int64_t{window_.samples} * window_.window_ms;
  if (now_ms - last_expiry_ms_ < idle) return;
  last_expiry_ms_ = now_ms;
  std::erase_if(addresses_, [&](const auto& a) { return now_ms - a.second.last_record_ms > idle; });
}

ConnectionQuotas::Admission ConnectionQuotas::admit(std::string_view listener,
                                                    std::string_view address, int64_t now_ms) {
  Admission out;
  auto l = listeners_.find(listener);
  const bool exempt = l != listeners_.end() && l->second.exempt;
  // The acceptor's wait: the longer of the broker's and the listener's.
  int64_t delay = 0;
  if (!exempt && broker_.bound != kUnlimited) delay = record(broker_, now_ms);
  if (l != listeners_.end() && l->second.bound != kUnlimited)
    delay = std::max(delay, record(l->second, now_ms));
  out.delay_ms = delay;

  expire(now_ms);
  const int32_t bound = rate_for(address);
  if (bound == kUnlimited) return out;
  const std::string name = normalized_ip(address).value_or(std::string(address));
  Limited& a = addresses_[name];
  a.bound = bound;
  const int64_t at = now_ms;
  if (const int64_t throttle = record(a, at); throttle > 0) {
    // Not served: it counts against none of the rates.
    a.rate.record(window_, -1.0, at);
    if (!exempt && broker_.bound != kUnlimited) broker_.rate.record(window_, -1.0, at);
    if (l != listeners_.end() && l->second.bound != kUnlimited)
      l->second.rate.record(window_, -1.0, at);
    out.close_after_ms = throttle;
  }
  return out;
}

}  // namespace kb::cluster

namespace kb::cluster {

namespace {

constexpr std::string_view kRateConfig = "max.connection.creation.rate";

// A rate as Kafka's int config holds it; unset or unreadable (checked when
// it was set) is no limit.
int32_t rate_value(std::optional<std::string_view> value) {
  const std::optional<int64_t> v = value ? parse_config_long(*value) : std::nullopt;
  if (!v || *v < INT32_MIN || *v > INT32_MAX) return ConnectionQuotas::kUnlimited;
  return static_cast<int32_t>(*v);
}

}  // namespace

std::string listener_rate_config(std::string_view listener) {
  return "listener.name." + ascii_lower(listener) + "." + std::string(kRateConfig);
}

ConnectionRateConfigs::ConnectionRateConfigs(BrokerState& state, ConnectionQuotas& quotas,
                                             std::vector<std::string> listeners)
    : state_(state), quotas_(quotas), listeners_(std::move(listeners)) {
  state_.reconfigurables.push_back(this);
  applied_.broker = -1;  // so that the first apply sets every rate
  broker_configs_changed();
}

ConnectionRateConfigs::~ConnectionRateConfigs() { std::erase(state_.reconfigurables, this); }

ConnectionRateConfigs::Rates ConnectionRateConfigs::rates(const BrokerConfigLookup& lookup) const {
  Rates out;
  out.broker = rate_value(lookup(kRateConfig));
  for (const std::string& listener : listeners_) {
    const auto own = lookup(listener_rate_config(listener));
    out.listeners[listener] = own ? rate_value(own) : out.broker;
  }
  return out;
}

std::string ConnectionRateConfigs::reconfiguration_problem(const BrokerConfigLookup& lookup) const {
  for (const auto& [listener, rate] : rates(lookup).listeners) {
    if (rate > 0) continue;
    // Kafka's ListenerConnectionQuota check, answered as its reconfiguration
    // failures are.
    spdlog::info("dynamic connection creation rates refused: listener {}: invalid {} {}", listener,
                 kRateConfig, rate);
    return "Invalid dynamic configuration";
  }
  return {};
}

void ConnectionRateConfigs::broker_configs_changed() {
  const Rates wanted = rates([&](std::string_view name) -> std::optional<std::string_view> {
    if (auto dynamic = dynamic_broker_config(state_, name)) return dynamic;
    if (auto it = state_.static_configs.find(name); it != state_.static_configs.end())
      return std::string_view(it->second);
    return std::nullopt;
  });
  const bool first = applied_.broker < 0;
  if (!first)
    for (const auto& [listener, rate] : wanted.listeners)
      if (rate <= 0) {
        // As Kafka: a change its checks refuse is logged and not applied.
        spdlog::error("listener {}: {} {} is not applied (it must be at least 1)", listener,
                      kRateConfig, rate);
        return;
      }
  if (wanted.broker != applied_.broker) {
    quotas_.set_broker_rate(wanted.broker);
    if (!first) spdlog::info("broker-wide {} is now {}", kRateConfig, wanted.broker);
  }
  for (const auto& [listener, rate] : wanted.listeners) {
    auto before = applied_.listeners.find(listener);
    if (before != applied_.listeners.end() && before->second == rate) continue;
    quotas_.set_listener_rate(listener, rate);
    if (!first) spdlog::info("listener {}: {} is now {}", listener, kRateConfig, rate);
  }
  applied_ = wanted;
}

}  // namespace kb::cluster
