// Connection creation rates as Kafka's ConnectionQuotas applies them: the
// broker's and the listener's delay a connection, an address's closes it
// unserved and takes it back out of every rate.

#include "kb/cluster/connection_quotas.hpp"

#include <gtest/gtest.h>

namespace kb::cluster {
namespace {

records::ClientQuotaRecord ip_quota(std::optional<std::string> ip, double value,
                                    bool remove = false) {
  records::ClientQuotaRecord r;
  r.entity.push_back({std::string(kQuotaEntityIp), std::move(ip)});
  r.key = std::string(kConnectionCreationRate);
  r.value = value;
  r.remove = remove;
  return r;
}

// Two windows of one second: rates are measured over at least one second.
constexpr QuotaWindowConfig kWindows{2, 1000};

TEST(ConnectionQuotas, UnlimitedByDefault) {
  ClientQuotaStore store;
  ConnectionQuotas quotas(store, kWindows, ConnectionQuotas::kUnlimited);
  quotas.add_listener("PLAINTEXT", ConnectionQuotas::kUnlimited, false);
  for (int i = 0; i < 1000; ++i) {
    auto a = quotas.admit("PLAINTEXT", "127.0.0.1", 5000);
    EXPECT_EQ(a.delay_ms, 0);
    EXPECT_EQ(a.close_after_ms, 0);
  }
}

TEST(ConnectionQuotas, ListenerRateDelaysByKafkasFormulaAtMostOneWindow) {
  ClientQuotaStore store;
  ConnectionQuotas quotas(store, kWindows, ConnectionQuotas::kUnlimited);
  quotas.add_listener("PLAINTEXT", 5, false);
  quotas.add_listener("OTHER", ConnectionQuotas::kUnlimited, false);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(quotas.admit("PLAINTEXT", "127.0.0.1", 10000).delay_ms, 0);
  // The sixth within the first second: 6/s against 5/s over 1 s: 200 ms.
  auto sixth = quotas.admit("PLAINTEXT", "127.0.0.1", 10000);
  EXPECT_EQ(sixth.delay_ms, 200);
  EXPECT_EQ(sixth.close_after_ms, 0);
  // Delayed connections still count: the seventh waits 400 ms.
  EXPECT_EQ(quotas.admit("PLAINTEXT", "127.0.0.1", 10000).delay_ms, 400);
  // At most one window.
  for (int i = 0; i < 20; ++i) quotas.admit("PLAINTEXT", "127.0.0.1", 10000);
  EXPECT_EQ(quotas.admit("PLAINTEXT", "127.0.0.1", 10000).delay_ms, 1000);
  // Another listener has its own rate.
  EXPECT_EQ(quotas.admit("OTHER", "127.0.0.1", 10000).delay_ms, 0);
}

TEST(ConnectionQuotas, BrokerRateCountsEveryListenerButTheExemptOne) {
  ClientQuotaStore store;
  ConnectionQuotas quotas(store, kWindows, 4);
  quotas.add_listener("PLAINTEXT", 4, true);
  quotas.add_listener("SASL_PLAINTEXT", 4, false);
  quotas.add_listener("SSL", 4, false);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(quotas.admit("SASL_PLAINTEXT", "127.0.0.1", 0).delay_ms, 0);
    EXPECT_EQ(quotas.admit("SSL", "127.0.0.1", 0).delay_ms, 0);
  }
  // Four through the broker: the fifth (from either) waits.
  EXPECT_EQ(quotas.admit("SSL", "127.0.0.1", 0).delay_ms, 250);
  // The inter-broker listener only meets its own limit.
  for (int i = 0; i < 4; ++i) EXPECT_EQ(quotas.admit("PLAINTEXT", "127.0.0.1", 0).delay_ms, 0);
  EXPECT_EQ(quotas.admit("PLAINTEXT", "127.0.0.1", 0).delay_ms, 250);
}

TEST(ConnectionQuotas, AddressRateClosesAndTakesTheConnectionBack) {
  ClientQuotaStore store;
  ConnectionQuotas quotas(store, kWindows, ConnectionQuotas::kUnlimited);
  quotas.add_listener("PLAINTEXT", 3, false);
  store.apply(ip_quota("127.0.0.1", 2));
  EXPECT_EQ(quotas.rate_for("127.0.0.1"), 2);
  EXPECT_EQ(quotas.rate_for("127.0.0.2"), ConnectionQuotas::kUnlimited);
  for (int i = 0; i < 2; ++i)
    EXPECT_EQ(quotas.admit("PLAINTEXT", "127.0.0.1", 0).close_after_ms, 0);
  // 3/s against 2/s over 1 s: closed after 500 ms, again and again, since a
  // refused connection is not counted.
  for (int i = 0; i < 3; ++i) {
    auto a = quotas.admit("PLAINTEXT", "127.0.0.1", 0);
    EXPECT_EQ(a.delay_ms, 0);
    EXPECT_EQ(a.close_after_ms, 500);
  }
  // Nor against the listener: one more from elsewhere is its third.
  EXPECT_EQ(quotas.admit("PLAINTEXT", "127.0.0.2", 0).delay_ms, 0);
  EXPECT_EQ(quotas.admit("PLAINTEXT", "127.0.0.2", 0).delay_ms, 333);
  // Two seconds on, the windows have moved.
  EXPECT_EQ(quotas.admit("PLAINTEXT", "127.0.0.1", 2500).close_after_ms, 0);
}

TEST(ConnectionQuotas, DefaultAddressEntityAndOverrides) {
  ClientQuotaStore store;
  ConnectionQuotas quotas(store, kWindows, ConnectionQuotas::kUnlimited);
  quotas.add_listener("PLAINTEXT", ConnectionQuotas::kUnlimited, false);
  store.apply(ip_quota(std::nullopt, 1));
  store.apply(ip_quota("::1", 100));
  EXPECT_EQ(quotas.rate_for("10.0.0.7"), 1);
  // Spelled another way, the same address.
  EXPECT_EQ(quotas.rate_for("0:0:0:0:0:0:0:1"), 100);
  EXPECT_EQ(quotas.admit("PLAINTEXT", "10.0.0.7", 0).close_after_ms, 0);
  EXPECT_EQ(quotas.admit("PLAINTEXT", "10.0.0.7", 0).close_after_ms, 1000);
  EXPECT_EQ(quotas.admit("PLAINTEXT", "10.0.0.8", 0).close_after_ms, 0);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(quotas.admit("PLAINTEXT", "::1", 0).close_after_ms, 0);
  // Removing the default lifts it.
  store.apply(ip_quota(std::nullopt, 0, true));
  EXPECT_EQ(quotas.admit("PLAINTEXT", "10.0.0.7", 0).close_after_ms, 0);
}

}  // namespace
}  // namespace kb::cluster
