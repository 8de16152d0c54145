#include "kb/cluster/quota_manager.hpp"

#include <algorithm>
#include <cmath>

namespace kb::cluster {

namespace {

// Kafka drops a client's quota sensors after an hour without a record.
constexpr int64_t kInactiveSensorMs = int64_t{3600} * 1000;
constexpr int64_t kExpiryCheckMs = int64_t{60} * 1000;

}  // namespace

// ---------------------------------------------------------------- QuotaRate

QuotaRate::Sample& QuotaRate::current(int64_t now_ms) {
  if (samples_.empty()) samples_.push_back(Sample{0, 0, now_ms, now_ms});
  return samples_[current_];
}

void QuotaRate::record(const QuotaWindowConfig& config, double value, int64_t now_ms) {
  Sample* sample = &current(now_ms);
  if (now_ms - sample->start_ms >= config.window_ms) {
    // The next slot of the ring: one more than the samples, for the sample
    // that overlaps the start of the measured time.
    const size_t slots = static_cast<size_t>(config.samples) + 1;
    current_ = (current_ + 1) % slots;
    if (current_ >= samples_.size()) {
      samples_.push_back(Sample{0, 0, now_ms, now_ms});
    } else {
      samples_[current_].reset(now_ms);
    }
    sample = &samples_[current_];
  }
  sample->value += value;
  sample->events += 1;
  sample->last_event_ms = now_ms;
}

void QuotaRate::purge(const QuotaWindowConfig& config, int64_t now_ms) {
  const int64_t expire_age = config.samples * config.window_ms;
  for (Sample& s : samples_)
    if (now_ms - s.last_event_ms >= expire_age) s.reset(now_ms);
}

int64_t QuotaRate::window_size(const QuotaWindowConfig& config, int64_t now_ms) {
  purge(config, now_ms);
  if (samples_.empty()) samples_.push_back(Sample{0, 0, now_ms, now_ms});
  int64_t oldest = samples_.front().start_ms;
  for (const Sample& s : samples_) oldest = std::min(oldest, s.start_ms);
  int64_t elapsed = now_ms - oldest;
  // Too little history would make the rate look high: count at least
  // samples - 1 whole windows.
  const int64_t full_windows = elapsed / config.window_ms;
  const int64_t min_full_windows = config.samples - 1;
  if (full_windows < min_full_windows)
    elapsed += (min_full_windows - full_windows) * config.window_ms;
  return std::max<int64_t>(elapsed, 1);
}

double QuotaRate::measure(const QuotaWindowConfig& config, int64_t now_ms) {
  purge(config, now_ms);
  double total = 0;
  for (const Sample& s : samples_) total += s.value;
  return total / (static_cast<double>(window_size(config, now_ms)) / 1000.0);
}

int64_t quota_throttle_ms(double observed, double bound, int64_t window_ms) {
  const double ms = (observed - bound) / bound * static_cast<double>(window_ms);
  return std::llround(ms);
}

std::string_view quota_key(QuotaType type) {
  switch (type) {
    case QuotaType::kProduce:
      return kProducerByteRate;
    case QuotaType::kFetch:
      return kConsumerByteRate;
    case QuotaType::kRequest:
      return kRequestPercentage;
  }
  return {};
}

std::string_view quota_type_name(QuotaType type) {
  switch (type) {
    case QuotaType::kProduce:
      return "Produce";
    case QuotaType::kFetch:
      return "Fetch";
    case QuotaType::kRequest:
      return "Request";
  }
  return {};
}

// ---------------------------------------------------------------- ClientQuotaManager

ClientQuotaManager::ClientQuotaManager(const ClientQuotaStore& store, QuotaWindowConfig window)
    : store_(store), window_(window) {}

void ClientQuotaManager::refresh() {
  if (seen_generation_ == store_.generation()) return;
  seen_generation_ = store_.generation();
  for (auto& q : quotas_) q.clear();
  for (const auto& [entity, values] : store_.entities()) {
    // Only user / client-id entities take client quotas.
    if (entity.contains(kQuotaEntityIp)) continue;
    Key key{Part::kAbsent, {}, Part::kAbsent, {}};
    if (auto u = entity.find(kQuotaEntityUser); u != entity.end()) {
      std::get<0>(key) = u->second ? Part::kNamed : Part::kDefault;
      std::get<1>(key) = u->second.value_or("");
    }
    if (auto c = entity.find(kQuotaEntityClientId); c != entity.end()) {
      std::get<2>(key) = c->second ? Part::kNamed : Part::kDefault;
      std::get<3>(key) = c->second.value_or("");
    }
    for (size_t t = 0; t < kQuotaTypes; ++t) {
      auto v = values.find(quota_key(static_cast<QuotaType>(t)));
      if (v != values.end()) quotas_[t][key] = v->second;
    }
  }
}

bool ClientQuotaManager::enabled(QuotaType type) {
  refresh();
  return !quotas_[static_cast<size_t>(type)].empty();
}

const double* ClientQuotaManager::find(QuotaType type, Part user_part, std::string_view user,
                                       Part client_part, std::string_view client_id) const {
  const auto& quotas = quotas_[static_cast<size_t>(type)];
  // Only named parts carry a name.
  Key key{user_part, user_part == Part::kNamed ? std::string(user) : std::string(), client_part,
          client_part == Part::kNamed ? std::string(client_id) : std::string()};
  auto it = quotas.find(key);
  return it == quotas.end() ? nullptr : &it->second;
}

ClientQuotaManager::Tags ClientQuotaManager::tags(QuotaType type, std::string_view user,
                                                  std::string_view client_id) const {
  auto has = [&](Part up, Part cp) { return find(type, up, user, cp, client_id) != nullptr; };
  auto both = [&] { return Tags{std::string(user), std::string(client_id)}; };
  if (has(Part::kNamed, Part::kNamed) || has(Part::kNamed, Part::kDefault)) return both();
  if (has(Part::kNamed, Part::kAbsent)) return {std::string(user), ""};
  if (has(Part::kDefault, Part::kNamed) || has(Part::kDefault, Part::kDefault)) return both();
  if (has(Part::kDefault, Part::kAbsent)) return {std::string(user), ""};
  return {"", std::string(client_id)};
}

std::optional<double> ClientQuotaManager::limit_of(QuotaType type, const Tags& tags) const {
  const auto& [user, client_id] = tags;
  const double* q = nullptr;
  if (!user.empty() && !client_id.empty()) {
    for (auto [up, cp] : {std::pair{Part::kNamed, Part::kNamed},
                          {Part::kNamed, Part::kDefault},
                          {Part::kDefault, Part::kNamed},
                          {Part::kDefault, Part::kDefault}})
      if (q == nullptr) q = find(type, up, user, cp, client_id);
  } else if (!user.empty()) {
    q = find(type, Part::kNamed, user, Part::kAbsent, {});
    if (q == nullptr) q = find(type, Part::kDefault, {}, Part::kAbsent, {});
  } else if (!client_id.empty()) {
    q = find(type, Part::kAbsent, {}, Part::kNamed, client_id);
    if (q == nullptr) q = find(type, Part::kAbsent, {}, Part::kDefault, {});
  }
  if (q == nullptr) return std::nullopt;
  return *q;
}

std::optional<double> ClientQuotaManager::limit(QuotaType type, std::string_view user,
                                                std::string_view client_id) {
  refresh();
  return limit_of(type, tags(type, user, client_id));
}

ClientQuotaManager::Sensor& ClientQuotaManager::sensor(QuotaType type, const Tags& tags,
                                                       int64_t now_ms) {
  expire(now_ms);
  auto& sensors = sensors_[static_cast<size_t>(type)];
  auto it = sensors.find(tags);
  if (it == sensors.end()) it = sensors.emplace(tags, Sensor{}).first;
  it->second.last_record_ms = now_ms;
  return it->second;
}

void ClientQuotaManager::expire(int64_t now_ms) {
  if (now_ms - last_expiry_ms_ < kExpiryCheckMs) return;
  last_expiry_ms_ = now_ms;
  for (auto& sensors : sensors_)
    std::erase_if(sensors, [&](const auto& s) {
      return now_ms - s.second.last_record_ms >= kInactiveSensorMs;
    });
}

int32_t ClientQuotaManager::record(QuotaType type, std::string_view user,
                                   std::string_view client_id, double value, int64_t now_ms) {
  refresh();
  const Tags t = tags(type, user, client_id);
  Sensor& s = sensor(type, t, now_ms);
  s.rate.record(window_, value, now_ms);
  const std::optional<double> bound = limit_of(type, t);
  if (!bound) return 0;
  const double observed = s.rate.measure(window_, now_ms);
  if (observed <= *bound) return 0;
  int64_t ms = quota_throttle_ms(observed, *bound, s.rate.window_size(window_, now_ms));
  // Request time is throttled for at most one window (Kafka's
  // ClientRequestQuotaManager); byte rates as long as the formula says.
  if (type == QuotaType::kRequest) ms = std::min(ms, window_.window_ms);
  return static_cast<int32_t>(std::clamp<int64_t>(ms, 0, INT32_MAX));
}

void ClientQuotaManager::record_no_throttle(QuotaType type, std::string_view user,
                                            std::string_view client_id, double value,
                                            int64_t now_ms) {
  refresh();
  sensor(type, tags(type, user, client_id), now_ms).rate.record(window_, value, now_ms);
}

void ClientQuotaManager::record_throttle(QuotaType type, std::string_view user,
                                         std::string_view client_id, int32_t throttle_ms,
                                         int64_t now_ms) {
  refresh();
  Sensor& s = sensor(type, tags(type, user, client_id), now_ms);
  s.throttle_sum.record(window_, throttle_ms, now_ms);
  s.throttle_count.record(window_, 1, now_ms);
}

std::vector<ClientQuotaManager::SensorView> ClientQuotaManager::sensors(int64_t now_ms) {
  std::vector<SensorView> out;
  for (size_t t = 0; t < kQuotaTypes; ++t) {
    for (auto& [tags, s] : sensors_[t]) {
      SensorView v{static_cast<QuotaType>(t), tags.first, tags.second};
      v.rate = s.rate.measure(window_, now_ms);
      const double n = s.throttle_count.measure(window_, now_ms);
      v.throttle_avg_ms = n > 0 ? s.throttle_sum.measure(window_, now_ms) / n : 0;
      out.push_back(v);
    }
  }
  return out;
}

}  // namespace kb::cluster
