// Client quotas against the real broker binary, frame by frame:
// AlterClientQuotas and DescribeClientQuotas with Kafka's validation and
// filters, quotas kept over a restart, and throttling (KIP-219): a client over
// its quota gets throttle_time_ms and its connection reads nothing more for
// that long, while other connections are served.

#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "kb/protocol/messages/api_versions.hpp"
#include "kb/protocol/messages/client_quotas.hpp"
#include "kb/protocol/messages/create_topics.hpp"
#include "kb/protocol/messages/fetch.hpp"
#include "kb/protocol/messages/metadata.hpp"
#include "kb/protocol/messages/produce.hpp"
#include "kb/storage/record_batch.hpp"
#include "support/broker_process.hpp"
#include "support/kafka_client.hpp"
#include "support/sourced_connection.hpp"

namespace kb::testing {
namespace {

using protocol::AlterClientQuotasRequest;
using protocol::AlterClientQuotasResponse;
using protocol::DescribeClientQuotasRequest;
using protocol::DescribeClientQuotasResponse;
using SteadyClock = std::chrono::steady_clock;

constexpr int16_t kInvalidRequest = 42;
constexpr int16_t kUnsupportedVersion = 35;

// Strings the requests view.
std::string_view keep(std::string s) {
  static std::deque<std::string> kept;
  return kept.emplace_back(std::move(s));
}

struct Op {
  std::string key;
  double value = 0;
  bool remove = false;
};
using Entity = std::vector<std::pair<std::string, std::optional<std::string>>>;

AlterClientQuotasRequest::EntryData alteration(const Entity& entity, const std::vector<Op>& ops) {
  AlterClientQuotasRequest::EntryData e;
  for (const auto& [type, name] : entity) {
    std::optional<std::string_view> n;
    if (name) n = keep(*name);
    e.entity.push_back({keep(type), n});
  }
  for (const auto& op : ops) e.ops.push_back({keep(op.key), op.value, op.remove});
  return e;
}

AlterClientQuotasResponse alter(RawClient& c,
                                std::vector<AlterClientQuotasRequest::EntryData> entries,
                                bool validate_only = false, int16_t version = 1) {
  AlterClientQuotasRequest req;
  req.entries = std::move(entries);
  req.validate_only = validate_only;
  static std::vector<uint8_t> body;
  return call<AlterClientQuotasResponse>(c, req, version, body, 7);
}

// One alteration; its one result's error code.
int16_t alter_one(RawClient& c, const Entity& entity, const std::vector<Op>& ops,
                  std::string* message = nullptr) {
  auto r = alter(c, {alteration(entity, ops)});
  EXPECT_EQ(r.entries.size(), 1u);
  if (r.entries.empty()) return -100;
  if (message) *message = r.entries[0].error_message.value_or("");
  return r.entries[0].error_code;
}

struct Component {
  std::string type;
  int8_t match_type = 0;
  std::optional<std::string> match;
};

DescribeClientQuotasResponse describe(RawClient& c, const std::vector<Component>& components,
                                      bool strict = false, int16_t version = 1) {
  DescribeClientQuotasRequest req;
  for (const auto& comp : components) {
    std::optional<std::string_view> m;
    if (comp.match) m = keep(*comp.match);
    req.components.push_back({keep(comp.type), comp.match_type, m});
  }
  req.strict = strict;
  static std::vector<uint8_t> body;
  return call<DescribeClientQuotasResponse>(c, req, version, body, 9);
}

// The described entities as "user=alice,client-id=<default>" -> {key: value}.
std::map<std::string, std::map<std::string, double>> described(
    const DescribeClientQuotasResponse& r) {
  std::map<std::string, std::map<std::string, double>> out;
  if (!r.entries) return out;
  for (const auto& e : *r.entries) {
    std::string name;
    for (const auto& entity : e.entity) {
      if (!name.empty()) name += ",";
      name += entity.entity_type + "=" + entity.entity_name.value_or("<default>");
    }
    for (const auto& v : e.values) out[name][v.key] = v.value;
  }
  return out;
}

constexpr int8_t kExact = 0, kDefault = 1, kSpecified = 2;

TEST(ClientQuotasIntegration, AlterValidatesAsKafkaDoes) {
  BrokerProcess broker;
  RawClient c(broker.port());
  std::string message;
  EXPECT_EQ(alter_one(c, {}, {{"producer_byte_rate", 1}}, &message), kInvalidRequest);
  EXPECT_EQ(message, "Invalid empty client quota entity");
  EXPECT_EQ(alter_one(c, {{"group", "g"}}, {{"producer_byte_rate", 1}}, &message), kInvalidRequest);
  EXPECT_EQ(message, "Unhandled client quota entity type: group");
  EXPECT_EQ(alter_one(c, {{"user", ""}}, {{"producer_byte_rate", 1}}, &message), kInvalidRequest);
  EXPECT_EQ(message, "Empty user not supported");
  EXPECT_EQ(alter_one(c, {{"user", "alice"}}, {{"connection_creation_rate", 1}}, &message),
            kInvalidRequest);
  EXPECT_EQ(message, "Invalid configuration key connection_creation_rate");
  EXPECT_EQ(alter_one(c, {{"user", "alice"}}, {{"producer_byte_rate", 0}}, &message),
            kInvalidRequest);
  EXPECT_EQ(message, "Quota producer_byte_rate must be greater than 0");
  EXPECT_EQ(alter_one(c, {{"user", "alice"}}, {{"producer_byte_rate", 1.5}}, &message),
            kInvalidRequest);
  EXPECT_EQ(message, "producer_byte_rate cannot be a fractional value.");
  EXPECT_EQ(alter_one(c, {{"user", "alice"}}, {{"consumer_byte_rate", 1e19}}, &message),
            kInvalidRequest);
  EXPECT_EQ(message, "Proposed value for consumer_byte_rate is too large for a LONG.");
  EXPECT_EQ(alter_one(c, {{"ip", "1.2.3.4"}, {"user", "alice"}}, {{"request_percentage", 1}}),
            kInvalidRequest);
  EXPECT_EQ(alter_one(c, {{"ip", "not an address"}}, {{"connection_creation_rate", 1}}),
            kInvalidRequest);
  EXPECT_EQ(alter_one(c, {{"ip", "1.2.3.4"}}, {{"connection_creation_rate", 2.5}}, &message),
            kInvalidRequest);
  EXPECT_EQ(message, "connection_creation_rate cannot be a fractional value.");
  // A key twice: the entity is refused.
  EXPECT_EQ(alter_one(c, {{"user", "alice"}},
                      {{"producer_byte_rate", 10}, {"producer_byte_rate", 20}}, &message),
            kInvalidRequest);
  EXPECT_EQ(message, "Ignoring duplicate entity ClientQuotaEntity(entries={user=alice})");
  // None of that was written.
  auto all = describe(c, {});
  EXPECT_EQ(all.error_code, 0);
  ASSERT_TRUE(all.entries.has_value());
  EXPECT_TRUE(all.entries->empty());

  // Validate only: accepted, not written.
  auto checked = alter(c, {alteration({{"user", "alice"}}, {{"producer_byte_rate", 1024}})}, true);
  ASSERT_EQ(checked.entries.size(), 1u);
  EXPECT_EQ(checked.entries[0].error_code, 0);
  EXPECT_FALSE(checked.entries[0].error_message.has_value());
  EXPECT_TRUE(described(describe(c, {})).empty());

  // Good and bad entities in one request: each gets its own answer.
  auto mixed = alter(c, {alteration({{"user", "alice"}},
                                    {{"producer_byte_rate", 1024}, {"request_percentage", 12.5}}),
                         alteration({{"client-id", std::nullopt}}, {{"consumer_byte_rate", 7}}),
                         alteration({{"user", "bob"}}, {{"bogus", 1}}),
                         alteration({{"ip", std::nullopt}}, {{"connection_creation_rate", 30}})});
  ASSERT_EQ(mixed.entries.size(), 4u);
  int errors = 0;
  for (const auto& e : mixed.entries) errors += e.error_code != 0 ? 1 : 0;
  EXPECT_EQ(errors, 1);
  auto d = described(describe(c, {}));
  EXPECT_EQ(d.size(), 3u);
  EXPECT_EQ(d["user=alice"]["producer_byte_rate"], 1024);
  EXPECT_EQ(d["user=alice"]["request_percentage"], 12.5);
  EXPECT_EQ(d["client-id=<default>"]["consumer_byte_rate"], 7);
  EXPECT_EQ(d["ip=<default>"]["connection_creation_rate"], 30);

  // Removing a key (and one never set: no error).
  EXPECT_EQ(alter_one(c, {{"user", "alice"}},
                      {{"producer_byte_rate", 0, true}, {"consumer_byte_rate", 0, true}}),
            0);
  d = described(describe(c, {}));
  EXPECT_EQ(d["user=alice"].size(), 1u);
  EXPECT_EQ(d["user=alice"]["request_percentage"], 12.5);
  // v0 too.
  auto v0 = alter(c, {alteration({{"user", "carol"}}, {{"producer_byte_rate", 5}})}, false, 0);
  ASSERT_EQ(v0.entries.size(), 1u);
  EXPECT_EQ(v0.entries[0].error_code, 0);
}

TEST(ClientQuotasIntegration, DescribeFiltersAsKafkaDoes) {
  BrokerProcess broker;
  RawClient c(broker.port());
  auto set = [&](const Entity& e, double v) {
    ASSERT_EQ(alter_one(c, e, {{"producer_byte_rate", v}}), 0);
  };
  set({{"user", "alice"}}, 1);
  set({{"user", std::nullopt}}, 2);
  set({{"user", "alice"}, {"client-id", "app"}}, 3);
  set({{"user", "alice"}, {"client-id", std::nullopt}}, 4);
  set({{"client-id", "app"}}, 5);

  auto names = [&](const std::vector<Component>& comps, bool strict = false) {
    auto r = describe(c, comps, strict);
    EXPECT_EQ(r.error_code, 0);
    std::set<std::string> out;
    for (const auto& [name, values] : described(r)) out.insert(name);
    return out;
  };
  using S = std::set<std::string>;
  EXPECT_EQ(names({{"user", kExact, "alice"}}),
            (S{"client-id=<default>,user=alice", "client-id=app,user=alice", "user=alice"}));
  EXPECT_EQ(names({{"user", kExact, "alice"}}, true), (S{"user=alice"}));
  EXPECT_EQ(names({{"user", kDefault, std::nullopt}}), (S{"user=<default>"}));
  EXPECT_EQ(names({{"client-id", kSpecified, std::nullopt}}),
            (S{"client-id=<default>,user=alice", "client-id=app,user=alice", "client-id=app"}));
  EXPECT_EQ(names({{"client-id", kSpecified, std::nullopt}}, true), (S{"client-id=app"}));
  EXPECT_EQ(names({{"user", kSpecified, std::nullopt}, {"client-id", kExact, "app"}}),
            (S{"client-id=app,user=alice"}));
  EXPECT_EQ(names({{"user", kExact, "nobody"}}), S{});
  EXPECT_EQ(names({}, true), S{});

  auto refused = [&](const std::vector<Component>& comps, int16_t code, const std::string& what) {
    auto r = describe(c, comps);
    EXPECT_EQ(r.error_code, code) << what;
    EXPECT_FALSE(r.entries.has_value()) << what;
    return r.error_message.value_or("");
  };
  EXPECT_EQ(refused({{"user", kExact, std::nullopt}}, kInvalidRequest, "exact null"),
            "Request specified MATCH_TYPE_EXACT, but set match string to null.");
  refused({{"user", kDefault, "x"}}, kInvalidRequest, "default with name");
  refused({{"user", kSpecified, "x"}}, kInvalidRequest, "any with name");
  refused({{"user", 7, std::nullopt}}, kInvalidRequest, "match type 7");
  refused({{"", kSpecified, std::nullopt}}, kInvalidRequest, "empty type");
  refused({{"user", kSpecified, std::nullopt}, {"user", kExact, "a"}}, kInvalidRequest, "twice");
  refused({{"group", kSpecified, std::nullopt}}, kUnsupportedVersion, "unknown type");
  refused({{"ip", kSpecified, std::nullopt}, {"user", kSpecified, std::nullopt}}, kInvalidRequest,
          "ip with user");
  // v0.
  EXPECT_EQ(described(describe(c, {{"user", kExact, "alice"}}, true, 0)).size(), 1u);
}

TEST(ClientQuotasIntegration, QuotasSurviveARestart) {
  auto dir = make_temp_dir("kb-quotas-restart-");
  {
    BrokerProcess broker({}, dir / "data");
    RawClient c(broker.port());
    ASSERT_EQ(alter_one(c, {{"user", "alice"}, {"client-id", std::nullopt}},
                        {{"producer_byte_rate", 4096}, {"consumer_byte_rate", 8192}}),
              0);
    ASSERT_EQ(alter_one(c, {{"client-id", "gone"}}, {{"request_percentage", 50}}), 0);
    ASSERT_EQ(alter_one(c, {{"client-id", "gone"}}, {{"request_percentage", 0, true}}), 0);
    EXPECT_EQ(broker.stop().code, 0);
  }
  {
    BrokerProcess broker({}, dir / "data");
    RawClient c(broker.port());
    auto d = described(describe(c, {}));
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d["client-id=<default>,user=alice"]["producer_byte_rate"], 4096);
    EXPECT_EQ(d["client-id=<default>,user=alice"]["consumer_byte_rate"], 8192);
  }
  std::filesystem::remove_all(dir);
}

storage::Bytes text(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// One batch of about `bytes` bytes (incompressible enough: none is asked for).
std::vector<uint8_t> big_batch(size_t bytes) {
  storage::RecordBatchBuilder builder;
  std::string value(bytes, 'q');
  for (size_t i = 0; i < value.size(); ++i) value[i] = static_cast<char>('a' + (i * 7919) % 26);
  builder.add_record(text("k"), text(value), 1700000000000);
  return builder.build();
}

void create_topic(RawClient& admin, std::string_view name) {
  protocol::CreateTopicsRequest create;
  auto& t = create.topics.emplace_back();
  t.name = name;
  t.num_partitions = 1;
  t.replication_factor = -1;
  create.timeout_ms = 5000;
  std::vector<uint8_t> body;
  auto r = call<protocol::CreateTopicsResponse>(admin, create, 7, body, 3);
  ASSERT_EQ(r.topics.at(0).error_code, 0);
}

// How long the next request on `c` waits for its answer.
std::chrono::milliseconds answered_after(RawClient& c, int32_t id) {
  const auto sent = SteadyClock::now();
  c.send_bytes(encode_request(protocol::ApiVersionsRequest{}, 3, id));
  auto frame = c.read_frame();
  EXPECT_TRUE(frame.has_value());
  return std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - sent);
}

protocol::FetchRequest fetch_from(std::string_view topic, int64_t offset, int32_t max_bytes) {
  protocol::FetchRequest fetch;
  fetch.max_wait_ms = 0;
  fetch.min_bytes = 0;
  fetch.max_bytes = max_bytes;
  auto& ft = fetch.topics.emplace_back();
  ft.topic = topic;
  auto& fp = ft.partitions.emplace_back();
  fp.partition = 0;
  fp.fetch_offset = offset;
  fp.partition_max_bytes = 1 << 20;
  return fetch;
}

// Bytes of records in a fetch answer.
size_t records_bytes(const protocol::FetchResponse& r) {
  size_t n = 0;
  for (const auto& t : r.responses)
    for (const auto& p : t.partitions) n += p.records ? p.records->size() : 0;
  return n;
}

// A throttled Produce is appended and answered at once with its throttle;
// then its connection reads nothing more for that long, while another
// connection is answered at once.
TEST(ClientQuotasIntegration, ThrottledProduceIsAppendedAndMutesItsConnection) {
  BrokerProcess broker;
  RawClient admin(broker.port());
  create_topic(admin, "quota-topic");
  // The test client's id ("kb-test"): 10 000 bytes/s. A first produce of
  // 125 000 bytes is measured over the 10 windows Kafka assumes at the start:
  // 12 500 bytes/s, a throttle of (12500 - 10000) / 10000 * 10 s = 2.5 s.
  ASSERT_EQ(alter_one(admin, {{"client-id", "kb-test"}}, {{"producer_byte_rate", 10000}}), 0);
  const std::vector<uint8_t> batch = big_batch(125000);
  RawClient producer(broker.port());
  protocol::ProduceRequest produce;
  produce.acks = 1;
  produce.timeout_ms = 5000;
  auto& td = produce.topic_data.emplace_back();
  td.name = "quota-topic";
  td.partition_data.push_back({0, storage::Bytes(batch)});
  std::vector<uint8_t> body;
  auto produced = call<protocol::ProduceResponse>(producer, produce, 9, body, 11);
  ASSERT_EQ(produced.responses.at(0).partition_responses.at(0).error_code, 0);
  EXPECT_GE(produced.throttle_time_ms, 2400);
  EXPECT_LE(produced.throttle_time_ms, 2800);
  // Another connection of the same client is not muted.
  RawClient other(broker.port());
  EXPECT_LT(answered_after(other, 20).count(), 1000);
  const auto waited = answered_after(producer, 12);
  EXPECT_GE(waited.count(), produced.throttle_time_ms - 300);

  // The records are in the log (no consumer quota: fetched whole).
  RawClient consumer(broker.port());
  auto fetched =
      call<protocol::FetchResponse>(consumer, fetch_from("quota-topic", 0, 50 << 20), 12, body, 13);
  EXPECT_EQ(fetched.throttle_time_ms, 0);
  EXPECT_EQ(fetched.responses.at(0).partitions.at(0).high_watermark, 1);
  EXPECT_EQ(records_bytes(fetched), batch.size());
}

// A Fetch over consumer_byte_rate is answered as Kafka's KafkaApis answers
// it: empty (no partitions, no records, session 0) with throttle_time_ms,
// its bytes taken back out of the rate, and the connection muted. A fetch
// asks for at most what the quota's windows allow.
TEST(ClientQuotasIntegration, ThrottledFetchIsAnsweredEmptyAndMutesItsConnection) {
  BrokerProcess broker;
  RawClient admin(broker.port());
  create_topic(admin, "quota-topic");
  // Three batches of about 40 000 bytes, produced before any quota.
  std::vector<std::vector<uint8_t>> batches;
  for (int32_t i = 0; i < 3; ++i) {
    batches.push_back(big_batch(40000));
    protocol::ProduceRequest produce;
    produce.acks = 1;
    produce.timeout_ms = 5000;
    auto& td = produce.topic_data.emplace_back();
    td.name = "quota-topic";
    td.partition_data.push_back({0, storage::Bytes(batches.back())});
    std::vector<uint8_t> body;
    auto produced = call<protocol::ProduceResponse>(admin, produce, 9, body, 20 + i);
    ASSERT_EQ(produced.responses.at(0).partition_responses.at(0).error_code, 0);
  }
  // 10 000 bytes/s: at most 10 windows' worth, 100 000 bytes, per fetch.
  ASSERT_EQ(alter_one(admin, {{"client-id", "kb-test"}}, {{"consumer_byte_rate", 10000}}), 0);

  RawClient consumer(broker.port());
  std::vector<uint8_t> body;
  // Asking for 50 MB gets two batches (80 000 bytes, within 100 000): 8 000
  // bytes/s over the 10 windows, not throttled.
  auto first =
      call<protocol::FetchResponse>(consumer, fetch_from("quota-topic", 0, 50 << 20), 12, body, 30);
  EXPECT_EQ(first.throttle_time_ms, 0);
  EXPECT_EQ(records_bytes(first), batches[0].size() + batches[1].size());

  // The third batch would make 12 000 bytes/s: a throttle of
  // (12000 - 10000) / 10000 * 10 s = 2 s, and nothing else.
  auto throttled =
      call<protocol::FetchResponse>(consumer, fetch_from("quota-topic", 2, 50 << 20), 12, body, 31);
  EXPECT_GE(throttled.throttle_time_ms, 1900);
  EXPECT_LE(throttled.throttle_time_ms, 2200);
  EXPECT_EQ(throttled.error_code, 0);
  EXPECT_EQ(throttled.session_id, 0);
  EXPECT_TRUE(throttled.responses.empty());
  // Another connection is served meanwhile; this one only after the throttle.
  RawClient other(broker.port());
  EXPECT_LT(answered_after(other, 40).count(), 1000);
  EXPECT_GE(answered_after(consumer, 32).count(), throttled.throttle_time_ms - 300);

  // The empty answer's bytes did not count: a fetch at the end of the log
  // (a few dozen bytes) stays under the quota. Had they counted, it would
  // be throttled for about 2 s again.
  auto at_end =
      call<protocol::FetchResponse>(consumer, fetch_from("quota-topic", 3, 50 << 20), 12, body, 33);
  EXPECT_EQ(at_end.throttle_time_ms, 0);
  ASSERT_EQ(at_end.responses.size(), 1U);
  EXPECT_EQ(at_end.responses[0].partitions.at(0).high_watermark, 3);
  EXPECT_EQ(records_bytes(at_end), 0U);

  // Before fetch sessions (v4): the same empty answer.
  auto again =
      call<protocol::FetchResponse>(consumer, fetch_from("quota-topic", 2, 50 << 20), 4, body, 34);
  EXPECT_GE(again.throttle_time_ms, 1800);
  EXPECT_TRUE(again.responses.empty());
}

// connection_creation_rate of ip entities, as Kafka's ConnectionQuotas
// applies them: a connection over its address's rate is accepted, never
// served, and closed after the throttle; the default ip entity covers every
// address without its own. Windows of one second (quota.window.num=2) keep
// the numbers small.
TEST(ClientQuotasIntegration, IpConnectionCreationRateClosesConnectionsOverIt) {
  BrokerProcess broker(std::map<std::string, std::string>{{"quota.window.num", "2"}});
  RawClient admin(broker.port());
  ASSERT_EQ(alter_one(admin, {{"ip", std::nullopt}}, {{"connection_creation_rate", 3}}), 0);
  ASSERT_EQ(alter_one(admin, {{"ip", "127.0.0.1"}}, {{"connection_creation_rate", 1000}}), 0);
  // From 127.0.0.2 (the default entity's 3 a second): three are served; the
  // fourth is 4/s, closed after (4 - 3) / 3 * 1 s unanswered, and so is the
  // fifth (a refused connection does not count).
  std::vector<std::unique_ptr<SourcedConnection>> limited;
  for (int i = 0; i < 5; ++i)
    limited.push_back(std::make_unique<SourcedConnection>("127.0.0.2", broker.port()));
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(limited[i]->wait(std::chrono::milliseconds(5000)),
              SourcedConnection::Outcome::kAnswered)
        << i;
  for (int i = 3; i < 5; ++i) {
    EXPECT_EQ(limited[i]->wait(std::chrono::milliseconds(5000)),
              SourcedConnection::Outcome::kClosed)
        << i;
    EXPECT_GE(limited[i]->after().count(), 250) << i;
  }
  // 127.0.0.1 has its own, higher rate.
  std::vector<std::unique_ptr<SourcedConnection>> own;
  for (int i = 0; i < 20; ++i)
    own.push_back(std::make_unique<SourcedConnection>("127.0.0.1", broker.port()));
  for (auto& c : own)
    EXPECT_EQ(c->wait(std::chrono::milliseconds(5000)), SourcedConnection::Outcome::kAnswered);
  // Without the default, 127.0.0.2 is not limited.
  ASSERT_EQ(alter_one(admin, {{"ip", std::nullopt}}, {{"connection_creation_rate", 0, true}}), 0);
  for (int i = 0; i < 6; ++i) {
    SourcedConnection c("127.0.0.2", broker.port());
    EXPECT_EQ(c.wait(std::chrono::milliseconds(5000)), SourcedConnection::Outcome::kAnswered);
  }
}

// max.connection.creation.rate (here the listener's own key) delays what
// goes over it: every connection is served, the later ones only once the
// rate allows, as Kafka's acceptor waits before taking the next.
TEST(ClientQuotasIntegration, ListenerConnectionCreationRateDelaysConnections) {
  BrokerProcess broker(std::map<std::string, std::string>{
      {"quota.window.num", "2"},
      {"max.connection.creation.rate", "1000"},
      {"listener.name.plaintext.max.connection.creation.rate", "5"}});
  std::vector<std::unique_ptr<SourcedConnection>> all;
  for (int i = 0; i < 10; ++i)
    all.push_back(std::make_unique<SourcedConnection>("127.0.0.1", broker.port()));
  for (auto& c : all)
    ASSERT_EQ(c->wait(std::chrono::milliseconds(10000)), SourcedConnection::Outcome::kAnswered);
  // Five at once; then each waits (n / 1.2 s - 5) / 5 * 1.2 s (Kafka's Rate
  // counts a window more than has passed): about 200 ms apiece, the tenth
  // some 1 s after the first.
  for (int i = 0; i < 4; ++i) EXPECT_LT(all[i]->after().count(), 500) << i;
  EXPECT_GE(all[9]->after().count(), 700);
  EXPECT_LT(all[9]->after().count(), 5000);
  for (int i = 1; i < 10; ++i) EXPECT_GE(all[i]->after().count() + 50, all[i - 1]->after().count());
}

}  // namespace
}  // namespace kb::testing
