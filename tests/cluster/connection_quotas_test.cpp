// Connection creation rates as Kafka's ConnectionQuotas applies them: the
// broker's and the listener's delay a connection, an address's closes it
// unserved and takes it back out of every rate; the broker's and listeners'
// rates follow their dynamic configs.

#include "kb/cluster/connection_quotas.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "cluster/log_dir_fixture.hpp"
#include "kb/cluster/broker_configs.hpp"
#include "kb/cluster/config_catalog.hpp"

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

namespace kb::cluster {
namespace {

// max.connection.creation.rate and a listener's own rate changed with
// IncrementalAlterConfigs (either level) are in force from the next
// connection; a listener without its own rate follows the broker's; a change
// leaving a listener a rate under 1 is refused and changes nothing; deleted,
// the rates are server.properties' again.
class ConnectionRateConfigsTest : public LogDirTest {};

TEST_F(ConnectionRateConfigsTest, DynamicRatesAreInForceAtOnce) {
  BrokerState state;
  ASSERT_NO_FATAL_FAILURE(load(state));
  state.static_configs["listener.name.ssl.max.connection.creation.rate"] = "100";
  ConnectionQuotas quotas(state.client_quotas, kWindows, ConnectionQuotas::kUnlimited);
  quotas.add_listener("PLAINTEXT", ConnectionQuotas::kUnlimited, false);
  quotas.add_listener("SSL", ConnectionQuotas::kUnlimited, false);
  ConnectionRateConfigs configs(state, quotas, {"PLAINTEXT", "SSL"});
  auto rates = [&] {
    return configs.rates([&](std::string_view name) -> std::optional<std::string_view> {
      if (auto v = dynamic_broker_config(state, name)) return v;
      if (auto it = state.static_configs.find(name); it != state.static_configs.end())
        return std::string_view(it->second);
      return std::nullopt;
    });
  };
  // server.properties' listener rate is taken at once.
  EXPECT_EQ(rates().listeners.at("SSL"), 100);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(quotas.admit("SSL", "127.0.0.1", 10000).delay_ms, 0);
  EXPECT_GT(quotas.admit("SSL", "127.0.0.1", 10000).delay_ms, 0);

  auto alter = [&](const std::string& resource, std::vector<ConfigChange> changes) {
    return alter_broker_configs(state, resource, changes, false);
  };
  const std::string self = std::to_string(state.node_id);
  ASSERT_TRUE(
      alter("", {{"listener.name.plaintext.max.connection.creation.rate", ConfigOp::kSet, "5"}})
          .ok());
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(quotas.admit("PLAINTEXT", "127.0.0.1", 20000).delay_ms, 0) << i;
  EXPECT_EQ(quotas.admit("PLAINTEXT", "127.0.0.1", 20000).delay_ms, 200);

  // The broker's own rate: every listener counts against it.
  ASSERT_TRUE(alter(self, {{"max.connection.creation.rate", ConfigOp::kSet, "3"}}).ok());
  EXPECT_EQ(rates().broker, 3);
  EXPECT_EQ(rates().listeners.at("PLAINTEXT"), 5);
  EXPECT_EQ(rates().listeners.at("SSL"), 100);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(quotas.admit("SSL", "127.0.0.1", 30000).delay_ms, 0) << i;
  EXPECT_GT(quotas.admit("SSL", "127.0.0.1", 30000).delay_ms, 0);

  // Refused: a listener would be left with no connections at all.
  for (const auto& [resource, name] : std::vector<std::pair<std::string, std::string>>{
           {self, "listener.name.plaintext.max.connection.creation.rate"},
           {"", "listener.name.ssl.max.connection.creation.rate"}}) {
    auto refused = alter(resource, {{name, ConfigOp::kSet, "0"}});
    EXPECT_EQ(refused.error, AdminError::kInvalidRequest) << name;
    EXPECT_EQ(refused.message, "Invalid dynamic configuration") << name;
  }
  // Not a number: refused as Kafka's type check words it.
  auto not_a_number =
      alter("", {{"listener.name.ssl.max.connection.creation.rate", ConfigOp::kSet, "many"}});
  EXPECT_EQ(not_a_number.error, AdminError::kInvalidRequest);
  EXPECT_NE(not_a_number.message.find("max.connection.creation.rate"), std::string::npos)
      << not_a_number.message;
  // A listener's other configs stay read at start-up.
  EXPECT_EQ(alter("", {{"listener.name.ssl.max.connections", ConfigOp::kSet, "7"}}).error,
            AdminError::kInvalidRequest);
  EXPECT_EQ(rates().broker, 3);

  // Deleted: back to server.properties (no broker limit; SSL at 100).
  ASSERT_TRUE(
      alter(self, {{"max.connection.creation.rate", ConfigOp::kDelete, std::nullopt}}).ok());
  ASSERT_TRUE(alter("", {{"listener.name.plaintext.max.connection.creation.rate", ConfigOp::kDelete,
                          std::nullopt}})
                  .ok());
  EXPECT_EQ(rates().broker, ConnectionQuotas::kUnlimited);
  EXPECT_EQ(rates().listeners.at("PLAINTEXT"), ConnectionQuotas::kUnlimited);
  for (int i = 0; i < 50; ++i)
    EXPECT_EQ(quotas.admit("PLAINTEXT", "127.0.0.1", 40000).delay_ms, 0) << i;
  ASSERT_TRUE(close_log_dir(state).ok());
}

}  // namespace
}  // namespace kb::cluster
