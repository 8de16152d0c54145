#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "kb/cluster/client_quotas.hpp"

namespace kb::cluster {

// Kafka's quota MetricConfig: quota.window.num samples of
// quota.window.size.seconds each.
struct QuotaWindowConfig {
  int samples = 11;
  int64_t window_ms = 1000;
};

// Kafka's Rate over a windowed sum (SampledStat): values are added to the
// current sample; a sample is complete after window_ms; samples + 1 are kept
// in a ring; a sample with no event in the last samples * window_ms is reset
// at the next measurement. The rate is the sum over the elapsed time since the
// oldest sample, taken as at least samples - 1 whole windows.
class QuotaRate {
 public:
  void record(const QuotaWindowConfig& config, double value, int64_t now_ms);
  // Per second.
  double measure(const QuotaWindowConfig& config, int64_t now_ms);
  // The time the rate is taken over, in ms (at least 1).
  int64_t window_size(const QuotaWindowConfig& config, int64_t now_ms);

 private:
  struct Sample {
    double value = 0;
    int64_t events = 0;
    int64_t start_ms = 0;
    int64_t last_event_ms = 0;
    void reset(int64_t now) { *this = Sample{0, 0, now, now}; }
  };
  void purge(const QuotaWindowConfig& config, int64_t now_ms);
  Sample& current(int64_t now_ms);

  std::vector<Sample> samples_;
  size_t current_ = 0;
};

// How long to wait until `observed` comes down to `bound` over `window_ms`
// (Kafka's QuotaUtils.throttleTime): (O - T) / T * W, rounded.
int64_t quota_throttle_ms(double observed, double bound, int64_t window_ms);

enum class QuotaType : uint8_t { kProduce, kFetch, kRequest };
inline constexpr size_t kQuotaTypes = 3;
// The quota key of a type: producer_byte_rate, consumer_byte_rate, request_percentage.
std::string_view quota_key(QuotaType type);
// Kafka's name of a type's metrics group: Produce, Fetch, Request.
std::string_view quota_type_name(QuotaType type);

// The client quotas as Kafka's ClientQuotaManager applies them with its
// default callback: a request's user (principal name) and client id pick the
// most specific quota that is set, in Kafka's order (user and client id, user
// and default client id, user, default user and client id, default user and
// default client id, default user, client id, default client id); the rate is
// measured per (user, client id) pair of the entity that applies, so clients
// sharing a user quota share its rate.
class ClientQuotaManager {
 public:
  explicit ClientQuotaManager(const ClientQuotaStore& store, QuotaWindowConfig window = {});

  const QuotaWindowConfig& window() const { return window_; }
  // Whether any entity has this type's key: else nothing is recorded.
  bool enabled(QuotaType type);
  // Adds `value` to the client's rate and returns how long it is throttled
  // (0 within its quota). Request time is bounded by one window, as Kafka
  // bounds it; byte rates are not.
  int32_t record(QuotaType type, std::string_view user, std::string_view client_id, double value,
                 int64_t now_ms);
  // Adds without checking (a throttled Fetch takes back what it recorded).
  void record_no_throttle(QuotaType type, std::string_view user, std::string_view client_id,
                          double value, int64_t now_ms);
  // A throttle the client got (the throttle-time metric).
  void record_throttle(QuotaType type, std::string_view user, std::string_view client_id,
                       int32_t throttle_ms, int64_t now_ms);
  // The quota that applies to the client, if any.
  std::optional<double> limit(QuotaType type, std::string_view user, std::string_view client_id);

  // What the metrics show, per sensor (Kafka's byte-rate / request-time and
  // throttle-time per user and client-id).
  struct SensorView {
    QuotaType type;
    std::string_view user;       // "" when the user is not part of the quota
    std::string_view client_id;  // "" when the client id is not
    double rate = 0;             // per second (request: percent of a thread)
    double throttle_avg_ms = 0;  // average throttle over the window
  };
  std::vector<SensorView> sensors(int64_t now_ms);

 private:
  // A quota entity by kind of each part: absent, the default, or a name.
  enum class Part : uint8_t { kAbsent, kDefault, kNamed };
  using Key = std::tuple<Part, std::string, Part, std::string>;
  using Tags = std::pair<std::string, std::string>;  // Kafka's metric tags (user, client-id)
  struct Sensor {
    QuotaRate rate;
    QuotaRate throttle_sum;
    QuotaRate throttle_count;
    int64_t last_record_ms = 0;
  };

  void refresh();
  const double* find(QuotaType type, Part user_part, std::string_view user, Part client_part,
                     std::string_view client_id) const;
  Tags tags(QuotaType type, std::string_view user, std::string_view client_id) const;
  std::optional<double> limit_of(QuotaType type, const Tags& tags) const;
  Sensor& sensor(QuotaType type, const Tags& tags, int64_t now_ms);
  void expire(int64_t now_ms);

  const ClientQuotaStore& store_;
  QuotaWindowConfig window_;
  uint64_t seen_generation_ = UINT64_MAX;
  std::array<std::map<Key, double, std::less<>>, kQuotaTypes> quotas_;
  std::array<std::map<Tags, Sensor, std::less<>>, kQuotaTypes> sensors_;
  int64_t last_expiry_ms_ = 0;
};

}  // namespace kb::cluster
