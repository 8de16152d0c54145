// Client quotas: the store replayed from ClientQuotaRecord, Kafka's windowed
// rate and throttle time, and which quota applies to a client.

#include <gtest/gtest.h>

#include "kb/cluster/client_quotas.hpp"
#include "kb/cluster/quota_manager.hpp"

namespace kb::cluster {
namespace {

records::ClientQuotaRecord quota_record(std::optional<std::optional<std::string>> user,
                                        std::optional<std::optional<std::string>> client,
                                        std::string key, double value, bool remove = false) {
  records::ClientQuotaRecord r;
  if (user) r.entity.push_back({"user", *user});
  if (client) r.entity.push_back({"client-id", *client});
  r.key = std::move(key);
  r.value = value;
  r.remove = remove;
  return r;
}

TEST(ClientQuotaStore, SetsReplacesAndRemovesKeys) {
  ClientQuotaStore store;
  store.apply(
      quota_record(std::optional<std::string>("alice"), std::nullopt, "producer_byte_rate", 1024));
  store.apply(
      quota_record(std::optional<std::string>("alice"), std::nullopt, "producer_byte_rate", 2048));
  store.apply(
      quota_record(std::optional<std::string>("alice"), std::nullopt, "consumer_byte_rate", 10));
  const QuotaEntity alice{{"user", "alice"}};
  ASSERT_NE(store.find(alice), nullptr);
  EXPECT_EQ(store.find(alice)->at("producer_byte_rate"), 2048);
  store.apply(quota_record(std::optional<std::string>("alice"), std::nullopt, "producer_byte_rate",
                           0, true));
  EXPECT_EQ(store.find(alice)->size(), 1u);
  // The last key removed drops the entity; removing again is no error.
  store.apply(quota_record(std::optional<std::string>("alice"), std::nullopt, "consumer_byte_rate",
                           0, true));
  EXPECT_EQ(store.find(alice), nullptr);
  store.apply(quota_record(std::optional<std::string>("alice"), std::nullopt, "consumer_byte_rate",
                           0, true));
  EXPECT_TRUE(store.entities().empty());
}

TEST(ClientQuotaStore, DefaultEntityIsANullName) {
  ClientQuotaStore store;
  store.apply(quota_record(std::optional<std::string>(), std::nullopt, "request_percentage", 50));
  EXPECT_NE(store.find(QuotaEntity{{"user", std::nullopt}}), nullptr);
  EXPECT_EQ(store.find(QuotaEntity{{"user", ""}}), nullptr);
  int records = 0;
  client_quota_records(store, [&](const records::ClientQuotaRecord& r) {
    ++records;
    ASSERT_EQ(r.entity.size(), 1u);
    EXPECT_FALSE(r.entity[0].entity_name.has_value());
    EXPECT_EQ(r.value, 50);
  });
  EXPECT_EQ(records, 1);
}

// Kafka's Rate: with less history than the window, the rate is taken over
// samples - 1 whole windows plus the current one's elapsed part.
TEST(QuotaRate, MeasuresOverAtLeastTheWindowsMinusOne) {
  const QuotaWindowConfig config{11, 1000};
  QuotaRate rate;
  rate.record(config, 10000, 0);
  // 10 whole windows assumed + 0 elapsed.
  EXPECT_EQ(rate.window_size(config, 0), 10000);
  EXPECT_DOUBLE_EQ(rate.measure(config, 0), 1000.0);
  rate.record(config, 5000, 500);
  EXPECT_EQ(rate.window_size(config, 500), 10500);
  EXPECT_NEAR(rate.measure(config, 500), 15000.0 / 10.5, 1e-9);
}

TEST(QuotaRate, OldSamplesExpire) {
  const QuotaWindowConfig config{11, 1000};
  QuotaRate rate;
  rate.record(config, 1e6, 0);
  for (int64_t t = 1000; t <= 10000; t += 1000) rate.record(config, 0, t);
  EXPECT_GT(rate.measure(config, 10000), 0);
  // 11 windows without that sample's event: it no longer counts.
  for (int64_t t = 11000; t <= 13000; t += 1000) rate.record(config, 0, t);
  EXPECT_DOUBLE_EQ(rate.measure(config, 13000), 0);
}

TEST(QuotaRate, SteadyRateOverManyWindows) {
  const QuotaWindowConfig config{11, 1000};
  QuotaRate rate;
  // 100 bytes every 100 ms for 30 s: 1000 bytes/s.
  for (int64_t t = 0; t < 30000; t += 100) rate.record(config, 100, t);
  EXPECT_NEAR(rate.measure(config, 29900), 1000.0, 100.0);
}

TEST(QuotaThrottle, IsKafkasFormula) {
  // O = 1500, T = 1000 over 10 s: (1500 - 1000) / 1000 * 10000 = 5000 ms.
  EXPECT_EQ(quota_throttle_ms(1500, 1000, 10000), 5000);
  EXPECT_EQ(quota_throttle_ms(1000.00001, 1000, 10000), 0);
  EXPECT_EQ(quota_throttle_ms(1000.06, 1000, 10000), 1);  // rounded
}

class QuotaPrecedenceTest : public ::testing::Test {
 protected:
  using Name = std::optional<std::optional<std::string>>;
  static Name named(const char* n) { return std::optional<std::string>(n); }
  static Name by_default() { return std::optional<std::string>(); }
  void set(Name user, Name client, double value) {
    store.apply(quota_record(user, client, "producer_byte_rate", value));
  }
  std::optional<double> limit(std::string_view user, std::string_view client) {
    return manager.limit(QuotaType::kProduce, user, client);
  }
  ClientQuotaStore store;
  ClientQuotaManager manager{store};
};

TEST_F(QuotaPrecedenceTest, MostSpecificEntityWins) {
  EXPECT_FALSE(manager.enabled(QuotaType::kProduce));
  EXPECT_EQ(limit("alice", "app"), std::nullopt);
  set(std::nullopt, by_default(), 8);  // default client id
  EXPECT_TRUE(manager.enabled(QuotaType::kProduce));
  EXPECT_FALSE(manager.enabled(QuotaType::kFetch));
  EXPECT_EQ(limit("alice", "app"), 8);
  set(std::nullopt, named("app"), 7);  // client id
  EXPECT_EQ(limit("alice", "app"), 7);
  EXPECT_EQ(limit("alice", "other"), 8);
  set(by_default(), std::nullopt, 6);  // default user
  EXPECT_EQ(limit("alice", "app"), 6);
  set(by_default(), by_default(), 5);  // default user, default client id
  EXPECT_EQ(limit("alice", "app"), 5);
  set(by_default(), named("app"), 4);  // default user, client id
  EXPECT_EQ(limit("alice", "app"), 4);
  EXPECT_EQ(limit("alice", "other"), 5);
  set(named("alice"), std::nullopt, 3);  // user
  EXPECT_EQ(limit("alice", "app"), 3);
  EXPECT_EQ(limit("bob", "app"), 4);
  set(named("alice"), by_default(), 2);  // user, default client id
  EXPECT_EQ(limit("alice", "app"), 2);
  set(named("alice"), named("app"), 1);  // user and client id
  EXPECT_EQ(limit("alice", "app"), 1);
  EXPECT_EQ(limit("alice", "other"), 2);
}

TEST_F(QuotaPrecedenceTest, IpEntitiesAreNotClientQuotas) {
  records::ClientQuotaRecord r;
  r.entity.push_back({"ip", "127.0.0.1"});
  r.key = "connection_creation_rate";
  r.value = 5;
  store.apply(r);
  EXPECT_FALSE(manager.enabled(QuotaType::kProduce));
  EXPECT_FALSE(manager.enabled(QuotaType::kRequest));
}

TEST_F(QuotaPrecedenceTest, ClientsOfOneUserQuotaShareItsRate) {
  set(named("alice"), std::nullopt, 1000);
  // 11 windows of history assumed: 10000 bytes at once is 1000 bytes/s.
  EXPECT_EQ(manager.record(QuotaType::kProduce, "alice", "a", 10000, 0), 0);
  // Another client of alice's: the same rate, now 2000/s over 10 s.
  const int32_t throttle = manager.record(QuotaType::kProduce, "alice", "b", 10000, 0);
  EXPECT_EQ(throttle, 10000);  // (2000 - 1000) / 1000 * 10000
  // Bob has no quota and a rate of his own.
  EXPECT_EQ(manager.record(QuotaType::kProduce, "bob", "a", 1e9, 0), 0);
}

TEST_F(QuotaPrecedenceTest, RequestTimeThrottleIsBoundedByOneWindow) {
  store.apply(quota_record(named("alice"), std::nullopt, "request_percentage", 10));
  // 500 % of a thread-second at once: far over 10 %, yet at most one window.
  EXPECT_EQ(manager.record(QuotaType::kRequest, "alice", "a", 500 * 10, 0), 1000);
  // Byte rates are not bounded.
  set(named("alice"), std::nullopt, 10);
  EXPECT_GT(manager.record(QuotaType::kProduce, "alice", "a", 1e6, 0), 1000);
}

TEST_F(QuotaPrecedenceTest, AChangedQuotaAppliesAtOnce) {
  set(named("alice"), std::nullopt, 1000);
  EXPECT_GT(manager.record(QuotaType::kProduce, "alice", "a", 20000, 0), 0);
  set(named("alice"), std::nullopt, 1e9);
  EXPECT_EQ(manager.record(QuotaType::kProduce, "alice", "a", 1, 1), 0);
}

}  // namespace
}  // namespace kb::cluster
