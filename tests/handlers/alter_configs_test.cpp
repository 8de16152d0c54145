// AlterConfigs and IncrementalAlterConfigs against a real log directory, and
// what a change does to the topic's logs (segment.bytes, retention).

#include "kb/handlers/alter_configs.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "kb/cluster/config_catalog.hpp"
#include "kb/cluster/group_configs.hpp"
#include "kb/cluster/startup.hpp"
#include "kb/cluster/topic_configs.hpp"
#include "kb/handlers/broker_logger.hpp"
#include "kb/handlers/describe_configs.hpp"
#include "kb/protocol/error_code.hpp"
#include "kb/storage/record_batch.hpp"

namespace kb::handlers {
namespace {

using protocol::ErrorCode;
using protocol::to_wire;
using Op = cluster::ConfigOp;
using IncrementalRequest = protocol::IncrementalAlterConfigsRequest;

class AlterConfigsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "kb-alter-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    load(state);
    ASSERT_EQ(cluster::create_topic(state, "t", 2).error, cluster::AdminError::kNone);
  }
  void TearDown() override {
    state.logs.reset();
    state.metadata_log.reset();
    std::filesystem::remove_all(dir_);
  }
  void load(cluster::BrokerState& into) {
    cluster::LogDirOptions options;
    options.log_dir = dir_;
    ASSERT_TRUE(cluster::load_log_dir(options, into).ok());
  }

  template <class Response, class Request>
  Response run(std::optional<Response> (*handle)(RequestContext&, const Request&, int16_t),
               const Request& request, int16_t version) {
    protocol::RequestHeader header{0, version, 1, "t"};
    ApiRegistry registry;
    RequestContext ctx{header, registry, state, Clock::now(), Clock::now(), true, {}, {}};
    auto response = handle(ctx, request, version);
    EXPECT_TRUE(response.has_value());
    return response ? *response : Response{};
  }

  struct Change {
    std::string_view name;
    Op op;
    std::optional<std::string_view> value;
  };
  // One resource; the error code it got.
  int16_t incremental(int8_t type, std::string_view name, const std::vector<Change>& changes,
                      bool validate_only = false, std::string* message = nullptr) {
    IncrementalRequest request;
    auto& r = request.resources.emplace_back();
    r.resource_type = type;
    r.resource_name = name;
    for (const auto& c : changes) r.configs.push_back({c.name, static_cast<int8_t>(c.op), c.value});
    request.validate_only = validate_only;
    auto response = run(&handle_incremental_alter_configs, request, 1);
    EXPECT_EQ(response.responses.size(), 1u);
    if (response.responses.empty()) return -1;
    EXPECT_EQ(response.responses[0].resource_name, name);
    EXPECT_EQ(response.responses[0].resource_type, type);
    if (message) *message = response.responses[0].error_message.value_or("");
    return response.responses[0].error_code;
  }
  std::optional<std::string> own(std::string_view key) {
    auto it = state.configs.find({cluster::kTopicResource, "t"});
    if (it == state.configs.end()) return std::nullopt;
    auto c = it->second.find(key);
    if (c == it->second.end()) return std::nullopt;
    return c->second;
  }

  cluster::BrokerState state;
  std::filesystem::path dir_;
};

TEST_F(AlterConfigsTest, IncrementalSetDeleteAndValidateOnly) {
  EXPECT_EQ(incremental(2, "t", {{"retention.ms", Op::kSet, "1000"}}, true), 0);
  EXPECT_EQ(own("retention.ms"), std::nullopt);
  EXPECT_EQ(incremental(2, "t",
                        {{"retention.ms", Op::kSet, "1000"}, {"segment.bytes", Op::kSet, "2048"}}),
            0);
  EXPECT_EQ(own("retention.ms"), "1000");
  EXPECT_EQ(cluster::topic_config_value(state, "t", "segment.bytes"), "2048");
  EXPECT_EQ(cluster::topic_retention(state, "t").limits.retention_ms, 1000);

  EXPECT_EQ(incremental(2, "t", {{"retention.ms", Op::kDelete, std::nullopt}}), 0);
  EXPECT_EQ(own("retention.ms"), std::nullopt);
  EXPECT_EQ(cluster::topic_retention(state, "t").limits.retention_ms, 604800000);
  EXPECT_EQ(own("segment.bytes"), "2048");

  // Survives a restart: the ConfigRecords are in the metadata log.
  cluster::BrokerState reloaded;
  state.metadata_log.reset();
  state.logs.reset();
  load(reloaded);
  auto it = reloaded.configs.find({cluster::kTopicResource, "t"});
  ASSERT_NE(it, reloaded.configs.end());
  EXPECT_EQ(it->second.size(), 1u);
  EXPECT_EQ(it->second.at("segment.bytes"), "2048");
}

TEST_F(AlterConfigsTest, IncrementalRefusals) {
  std::string message;
  EXPECT_EQ(incremental(2, "t", {{"retention.mss", Op::kSet, "1"}}, false, &message),
            to_wire(ErrorCode::kInvalidConfig));
  EXPECT_EQ(message, "Unknown topic config name: retention.mss");
  EXPECT_EQ(incremental(2, "t", {{"retention.ms", Op::kSet, "soon"}}),
            to_wire(ErrorCode::kInvalidConfig));
  EXPECT_EQ(incremental(2, "t", {{"segment.bytes", Op::kSet, "1"}}),
            to_wire(ErrorCode::kInvalidConfig));
  // Nothing of a refused resource is applied.
  EXPECT_EQ(incremental(2, "t", {{"retention.ms", Op::kSet, "5"}, {"segment.ms", Op::kSet, "0"}}),
            to_wire(ErrorCode::kInvalidConfig));
  EXPECT_EQ(own("retention.ms"), std::nullopt);
  EXPECT_EQ(incremental(2, "t", {{"retention.ms", Op::kAppend, "5"}}, false, &message),
            to_wire(ErrorCode::kInvalidConfig));
  EXPECT_EQ(message, "Can't APPEND to key retention.ms because its type is not LIST.");
  EXPECT_EQ(incremental(2, "t", {{"retention.ms", Op::kSet, "5"}, {"retention.ms", Op::kSet, "6"}}),
            to_wire(ErrorCode::kInvalidRequest));
  EXPECT_EQ(incremental(2, "t", {{"retention.ms", static_cast<Op>(9), "5"}}),
            to_wire(ErrorCode::kInvalidRequest));
  EXPECT_EQ(incremental(2, "t", {{"retention.ms", Op::kSet, std::nullopt}}),
            to_wire(ErrorCode::kInvalidRequest));
  EXPECT_EQ(incremental(2, "nope", {{"retention.ms", Op::kSet, "5"}}),
            to_wire(ErrorCode::kUnknownTopicOrPartition));
  EXPECT_EQ(incremental(4, "1", {}), 0);
  EXPECT_EQ(incremental(7, "x", {}), to_wire(ErrorCode::kInvalidRequest));
}

// BROKER_LOGGER (8): the root logger's level, checked as Kafka's
// RuntimeLoggerManager checks it, applied at once unless validate_only.
TEST_F(AlterConfigsTest, BrokerLoggerLevels) {
  // The level as DescribeConfigs lists it.
  auto level = [] { return describe_broker_loggers(1, "1").levels.at(0).second; };
  const std::string before = level();
  std::string message;
  EXPECT_EQ(incremental(8, "1", {{"root", Op::kSet, "WARN"}}, true), 0);
  EXPECT_EQ(level(), before);  // validate_only changes nothing
  EXPECT_EQ(incremental(8, "1", {{"root", Op::kSet, "WARN"}}), 0);
  EXPECT_EQ(level(), "WARN");
  EXPECT_EQ(incremental(8, "1", {{"root", Op::kSet, "LOUD"}}, false, &message),
            to_wire(ErrorCode::kInvalidConfig));
  EXPECT_EQ(message,
            "Cannot set the log level of root to LOUD as it is not a supported log level. Valid "
            "log levels are DEBUG, ERROR, FATAL, INFO, TRACE, WARN");
  EXPECT_EQ(incremental(8, "1", {{"kafka.server", Op::kSet, "INFO"}}, false, &message),
            to_wire(ErrorCode::kInvalidConfig));
  EXPECT_EQ(message, "Logger kafka.server does not exist!");
  EXPECT_EQ(incremental(8, "1", {{"root", Op::kDelete, std::nullopt}}, false, &message),
            to_wire(ErrorCode::kInvalidRequest));
  EXPECT_EQ(message, "Removing the log level of the root logger is not allowed");
  EXPECT_EQ(incremental(8, "1", {{"root", Op::kAppend, "INFO"}}, false, &message),
            to_wire(ErrorCode::kInvalidRequest));
  EXPECT_EQ(message, "APPEND operation is not allowed for the BROKER_LOGGER resource");
  EXPECT_EQ(incremental(8, "1", {{"root", Op::kSet, std::nullopt}}, false, &message),
            to_wire(ErrorCode::kInvalidRequest));
  EXPECT_EQ(message, "Null value not supported for : root");
  EXPECT_EQ(incremental(8, "2", {{"root", Op::kSet, "INFO"}}, false, &message),
            to_wire(ErrorCode::kInvalidRequest));
  EXPECT_EQ(message, "Unexpected node id. Expected 1, but received 1");  // Kafka's wording
  EXPECT_EQ(incremental(8, "x", {{"root", Op::kSet, "INFO"}}, false, &message),
            to_wire(ErrorCode::kInvalidRequest));
  EXPECT_EQ(message, "Node id must be an integer, but it is: x");
  EXPECT_EQ(level(), "WARN");  // none of the refused ones applied
  EXPECT_EQ(incremental(8, "1", {{"root", Op::kSet, before}}), 0);
}

TEST_F(AlterConfigsTest, IncrementalAppendAndSubtractEditLists) {
  EXPECT_EQ(incremental(2, "t", {{"cleanup.policy", Op::kAppend, "compact"}}), 0);
  EXPECT_EQ(own("cleanup.policy"), "delete,compact");  // from the default "delete"
  EXPECT_EQ(incremental(2, "t", {{"cleanup.policy", Op::kAppend, "compact"}}), 0);
  EXPECT_EQ(own("cleanup.policy"), "delete,compact");
  EXPECT_EQ(incremental(2, "t", {{"cleanup.policy", Op::kSubtract, "delete"}}), 0);
  EXPECT_EQ(own("cleanup.policy"), "compact");
  EXPECT_FALSE(cluster::topic_retention(state, "t").deletes);
  EXPECT_EQ(incremental(2, "t", {{"cleanup.policy", Op::kAppend, "bogus"}}),
            to_wire(ErrorCode::kInvalidConfig));
}

TEST_F(AlterConfigsTest, DuplicateResourcesAreAllRefused) {
  IncrementalRequest request;
  request.resources.push_back({2, "t", {{"retention.ms", 0, std::string_view("1")}}});
  request.resources.push_back({2, "t", {{"retention.ms", 0, std::string_view("2")}}});
  auto response = run(&handle_incremental_alter_configs, request, 0);
  ASSERT_EQ(response.responses.size(), 2u);
  for (const auto& r : response.responses)
    EXPECT_EQ(r.error_code, to_wire(ErrorCode::kInvalidRequest));
  EXPECT_EQ(own("retention.ms"), std::nullopt);
}

TEST_F(AlterConfigsTest, AlterConfigsReplacesTheSet) {
  ASSERT_EQ(
      incremental(2, "t",
                  {{"retention.ms", Op::kSet, "1000"}, {"max.message.bytes", Op::kSet, "5000"}}),
      0);
  protocol::AlterConfigsRequest request;
  auto& r = request.resources.emplace_back();
  r.resource_type = 2;
  r.resource_name = "t";
  r.configs.push_back({"retention.bytes", std::string_view("4096")});
  r.configs.push_back({"segment.ms", std::nullopt});
  request.validate_only = true;
  auto response = run(&handle_alter_configs, request, 0);
  ASSERT_EQ(response.responses.size(), 1u);
  EXPECT_EQ(response.responses[0].error_code, 0);
  EXPECT_EQ(own("retention.ms"), "1000");

  request.validate_only = false;
  response = run(&handle_alter_configs, request, 2);
  EXPECT_EQ(response.responses.at(0).error_code, 0);
  EXPECT_EQ(own("retention.ms"), std::nullopt);
  EXPECT_EQ(own("max.message.bytes"), std::nullopt);
  EXPECT_EQ(own("retention.bytes"), "4096");
  EXPECT_EQ(own("segment.ms"), std::nullopt);

  r.configs = {{"retention.bytes", std::string_view("lots")}};
  response = run(&handle_alter_configs, request, 1);
  EXPECT_EQ(response.responses.at(0).error_code, to_wire(ErrorCode::kInvalidConfig));
  EXPECT_EQ(own("retention.bytes"), "4096");
  // A broker config Kafka does not change at run time.
  r.resource_type = 4;
  r.resource_name = "";
  r.configs = {{"log.dirs", std::string_view("/elsewhere")}};
  response = run(&handle_alter_configs, request, 1);
  EXPECT_EQ(response.responses.at(0).error_code, to_wire(ErrorCode::kInvalidRequest));
  EXPECT_EQ(response.responses.at(0).error_message,
            "Cannot update these configs dynamically: [log.dirs]");
}

// Broker resources: Kafka's dynamic broker configs, per broker ("1") and
// cluster-wide (""), checked as Kafka's broker checks them, kept in the
// metadata log, and in effect for topics without their own value.
TEST_F(AlterConfigsTest, BrokerDynamicConfigsAreCheckedKeptAndApplied) {
  std::string message;
  ASSERT_EQ(incremental(2, "t", {{"retention.bytes", Op::kSet, "777"}}), 0);
  EXPECT_EQ(incremental(4, "1", {{"log.retention.ms", Op::kSet, "3600000"}}, true), 0);
  EXPECT_EQ(cluster::topic_retention(state, "t").limits.retention_ms, 604800000);
  ASSERT_EQ(incremental(4, "1", {{"log.retention.ms", Op::kSet, "3600000"}}), 0);
  ASSERT_EQ(incremental(4, "",
                        {{"log.retention.ms", Op::kSet, "5000"},
                         {"log.retention.bytes", Op::kSet, "1000"},
                         {"log.cleaner.threads", Op::kSet, "2"},
                         {"my.custom.setting", Op::kSet, "anything"}}),
            0);
  // This broker's value before the cluster default's; the topic's own first.
  auto retention = cluster::topic_retention(state, "t");
  EXPECT_EQ(retention.limits.retention_ms, 3600000);
  EXPECT_EQ(retention.limits.retention_bytes, 777);
  ASSERT_EQ(incremental(4, "1", {{"log.segment.bytes", Op::kSet, "2097152"}}), 0);
  EXPECT_EQ(cluster::topic_log_options(state, "t", {}).segment_bytes, 2097152u);

  // Refused as Kafka refuses them, nothing written.
  EXPECT_EQ(incremental(4, "1", {{"log.dirs", Op::kSet, "/x"}}, false, &message),
            to_wire(ErrorCode::kInvalidRequest));
  EXPECT_EQ(message, "Cannot update these configs dynamically: [log.dirs]");
  EXPECT_EQ(incremental(4, "1", {{"log.retention.hours", Op::kSet, "1"}}),
            to_wire(ErrorCode::kInvalidRequest));
  EXPECT_EQ(incremental(4, "1", {{"log.segment.bytes", Op::kSet, "1000"}}, false, &message),
            to_wire(ErrorCode::kInvalidRequest));
  EXPECT_EQ(message.rfind("Invalid value 1000 for configuration log.segment.bytes", 0), 0u)
      << message;
  EXPECT_EQ(incremental(4, "1", {{"log.cleaner.threads", Op::kSet, "many"}}),
            to_wire(ErrorCode::kInvalidRequest));
  EXPECT_EQ(incremental(4, "2", {{"log.cleaner.threads", Op::kSet, "3"}}, false, &message),
            to_wire(ErrorCode::kInvalidRequest));
  EXPECT_EQ(message, "Unexpected broker id, expected 1, but received 2");
  EXPECT_EQ(incremental(4, "one", {{"log.cleaner.threads", Op::kSet, "3"}}, false, &message),
            to_wire(ErrorCode::kInvalidRequest));
  EXPECT_EQ(message, "Node id must be an integer, but it is: one");
  EXPECT_EQ(incremental(4, "", {{"ssl.cipher.suites", Op::kSet, "x"}}, false, &message),
            to_wire(ErrorCode::kInvalidRequest));
  EXPECT_EQ(message,
            "Cannot update these configs at default cluster level, broker id must be specified: "
            "[ssl.cipher.suites]");
  EXPECT_EQ(incremental(4, "1", {{"ssl.keystore.location", Op::kSet, "/k"}}, false, &message),
            to_wire(ErrorCode::kInvalidRequest));
  EXPECT_EQ(message.rfind("These security configs can be dynamically updated only per-listener", 0),
            0u);
  // Kafka changes listeners per broker; here they are fixed at start-up.
  EXPECT_EQ(incremental(4, "1", {{"listeners", Op::kSet, "PLAINTEXT://:9093"}}),
            to_wire(ErrorCode::kInvalidRequest));
  EXPECT_EQ(incremental(4, "1", {{"log.cleaner.threads", Op::kAppend, "1"}}, false, &message),
            to_wire(ErrorCode::kInvalidConfig));
  EXPECT_EQ(message, "Config value append is not allowed for config key: log.cleaner.threads");
  EXPECT_EQ(incremental(4, "1", {{"log.cleaner.threads", Op::kSet, std::nullopt}}),
            to_wire(ErrorCode::kInvalidRequest));
  // A list config appends to Kafka's default; SUBTRACT removes.
  ASSERT_EQ(incremental(4, "1", {{"log.cleanup.policy", Op::kAppend, "compact,delete"}}), 0);
  ASSERT_EQ(incremental(4, "1", {{"metric.reporters", Op::kAppend, "a,b"}}), 0);
  ASSERT_EQ(incremental(4, "1", {{"metric.reporters", Op::kSubtract, "a"}}), 0);
  EXPECT_EQ(cluster::dynamic_broker_config(state, "metric.reporters"),
            "org.apache.kafka.common.metrics.JmxReporter,b");

  // What DescribeConfigs shows: the values by source, dynamic ones writable.
  std::map<std::string, cluster::EffectiveConfig> described;
  for (auto& c : cluster::describe_broker_configs(state)) described[std::string(c.def->name)] = c;
  EXPECT_EQ(described.at("log.retention.ms").value, "3600000");
  EXPECT_EQ(described.at("log.retention.ms").source, cluster::ConfigSource::kDynamicBroker);
  EXPECT_FALSE(described.at("log.retention.ms").read_only);
  EXPECT_EQ(described.at("log.cleanup.policy").value, "delete,compact");
  EXPECT_EQ(described.at("log.cleaner.threads").value, "2");
  EXPECT_EQ(described.at("log.cleaner.threads").source,
            cluster::ConfigSource::kDynamicDefaultBroker);
  EXPECT_EQ(described.at("my.custom.setting").value, "anything");
  EXPECT_TRUE(described.at("node.id").read_only);
  EXPECT_TRUE(described.at("listeners").read_only);
  std::vector<std::string> defaults;
  for (const auto& c : cluster::describe_default_broker_configs(state))
    defaults.push_back(std::string(c.def->name) + "=" + c.value.value_or("null"));
  EXPECT_EQ(defaults,
            (std::vector<std::string>{"log.cleaner.threads=2", "log.retention.bytes=1000",
                                      "log.retention.ms=5000", "my.custom.setting=anything"}));

  // Deleting this broker's value leaves the cluster default's.
  ASSERT_EQ(incremental(4, "1", {{"log.retention.ms", Op::kDelete, std::nullopt}}), 0);
  EXPECT_EQ(cluster::topic_retention(state, "t").limits.retention_ms, 5000);

  // Survives a restart: the ConfigRecords are in the metadata log.
  state.metadata_log.reset();
  state.logs.reset();
  cluster::BrokerState reloaded;
  load(reloaded);
  EXPECT_EQ(cluster::topic_retention(reloaded, "t").limits.retention_ms, 5000);
  EXPECT_EQ(cluster::dynamic_broker_config(reloaded, "log.segment.bytes"), "2097152");
}

std::vector<uint8_t> batch_of(size_t value_bytes, int64_t timestamp) {
  storage::RecordBatchBuilder builder;
  std::string value(value_bytes, 'v');
  builder.add_record(std::nullopt,
                     std::span(reinterpret_cast<const uint8_t*>(value.data()), value.size()),
                     timestamp);
  return builder.build();
}

TEST_F(AlterConfigsTest, SegmentAndRetentionChangesApplyToOpenLogs) {
  const cluster::TopicInfo* topic = state.topics.find("t");
  ASSERT_NE(topic, nullptr);
  auto log = state.logs->find_or_create("t", 0, topic->id);
  ASSERT_TRUE(log.ok());
  const auto batch = batch_of(200, 1700000000000);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE((*log)->append(batch).ok());
  EXPECT_EQ((*log)->segment_count(), 1u);

  // segment.bytes: the open log rolls by the new size from now on.
  ASSERT_EQ(incremental(2, "t", {{"segment.bytes", Op::kSet, std::to_string(batch.size() * 2)}}),
            0);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE((*log)->append(batch).ok());
  EXPECT_EQ((*log)->segment_count(), 3u);

  // The oldest segment's files, to play a crash that loses their removal.
  const auto partition_dir = dir_ / "t-0";
  const auto kept = dir_ / "kept";
  std::filesystem::create_directory(kept);
  for (const char* suffix : {".log", ".index", ".timeindex"})
    std::filesystem::copy_file(partition_dir / storage::segment_file_name(0, suffix),
                               kept / storage::segment_file_name(0, suffix));

  // retention.bytes: what enforcement deletes.
  ASSERT_EQ(incremental(2, "t", {{"retention.bytes", Op::kSet, std::to_string(batch.size() * 2)}}),
            0);
  auto retention = cluster::topic_retention(state, "t");
  EXPECT_TRUE(retention.deletes);
  EXPECT_EQ(cluster::enforce_retention("t", 0, **log, retention, 1700000000000), 2u);
  EXPECT_EQ((*log)->log_start_offset(), 6);
  // A compacted topic is left alone.
  ASSERT_EQ(
      incremental(2, "t",
                  {{"cleanup.policy", Op::kSet, "compact"}, {"retention.bytes", Op::kSet, "0"}}),
      0);
  EXPECT_EQ(cluster::enforce_retention("t", 0, **log, cluster::topic_retention(state, "t"),
                                       1700000000000),
            0u);
  EXPECT_EQ((*log)->log_start_offset(), 6);

  // The log start offset goes to the checkpoint; a log opened later drops
  // segments below it (a deletion lost to a crash).
  auto starts = state.logs->log_start_offsets();
  ASSERT_EQ(starts.size(), 1u);
  EXPECT_EQ(starts.begin()->second, 6);
  ASSERT_TRUE(cluster::close_log_dir(state).ok());
  state.logs.reset();
  state.metadata_log.reset();
  for (const auto& entry : std::filesystem::directory_iterator(kept))
    std::filesystem::copy_file(entry.path(), partition_dir / entry.path().filename());
  cluster::BrokerState reloaded;
  load(reloaded);
  auto reopened = reloaded.logs->find("t", 0);
  ASSERT_TRUE(reopened.ok());
  ASSERT_NE(*reopened, nullptr);
  EXPECT_EQ((*reopened)->log_start_offset(), 6);
  EXPECT_EQ((*reopened)->log_end_offset(), 8);
  EXPECT_FALSE(std::filesystem::exists(partition_dir / storage::segment_file_name(0, ".log")));
}

// GROUP resources (32): Kafka 4.4's group configs, checked as its GroupConfig
// checks them, kept in the metadata log whether or not the group exists.
TEST_F(AlterConfigsTest, GroupConfigsAreCheckedAndKept) {
  std::string message;
  EXPECT_EQ(incremental(32, "g",
                        {{"consumer.session.timeout.ms", Op::kSet, "50000"},
                         {"share.auto.offset.reset", Op::kSet, "earliest"}},
                        true),
            0);
  EXPECT_FALSE(state.configs.contains({cluster::kGroupResource, "g"}));  // validate_only
  EXPECT_EQ(incremental(32, "g",
                        {{"consumer.session.timeout.ms", Op::kSet, "50000"},
                         {"share.auto.offset.reset", Op::kSet, "earliest"}}),
            0);
  cluster::GroupConfigValues values = cluster::group_config_values(state, "g");
  EXPECT_EQ(values.consumer_session_timeout_ms, 50000);
  EXPECT_EQ(values.consumer_heartbeat_interval_ms, std::nullopt);
  EXPECT_EQ(values.share_auto_offset_reset, "earliest");

  auto refused = [&](std::vector<Change> changes, int16_t code, std::string_view expected) {
    SCOPED_TRACE(expected);
    EXPECT_EQ(incremental(32, "g", changes, false, &message), code);
    EXPECT_EQ(message, expected);
  };
  const int16_t invalid_config = to_wire(ErrorCode::kInvalidConfig);
  const int16_t invalid_request = to_wire(ErrorCode::kInvalidRequest);
  refused({{"session.timeout.ms", Op::kSet, "1"}}, invalid_config,
          "Unknown group config name: session.timeout.ms");
  refused({{"consumer.session.timeout.ms", Op::kSet, "30000"}}, invalid_config,
          "consumer.session.timeout.ms must be in the range 45000 to 60000 inclusive.");
  refused({{"consumer.session.timeout.ms", Op::kSet, "soon"}}, invalid_config,
          "Invalid value soon for configuration consumer.session.timeout.ms: Not a number of "
          "type INT");
  refused({{"share.heartbeat.interval.ms", Op::kSet, "0"}}, invalid_config,
          "Invalid value 0 for configuration share.heartbeat.interval.ms: Value must be at "
          "least 1");
  refused({{"share.record.lock.duration.ms", Op::kSet, "10000"}}, invalid_config,
          "share.record.lock.duration.ms must be in the range 15000 to 60000 inclusive.");
  refused({{"share.auto.offset.reset", Op::kSet, "none"}}, invalid_config,
          "Invalid value none for configuration share.auto.offset.reset: Invalid value `none` for "
          "configuration share.auto.offset.reset. The value must be either 'earliest', 'latest' "
          "or of the format 'by_duration:<PnDTnHnMn.nS>'.");
  refused({{"share.isolation.level", Op::kSet, "dirty"}}, invalid_config,
          "Invalid value dirty for configuration share.isolation.level: String must be one of: "
          "read_committed, read_uncommitted");
  refused({{"share.auto.offset.reset", Op::kAppend, "latest"}}, invalid_config,
          "Can't APPEND to key share.auto.offset.reset because its type is not LIST.");
  refused({{"share.isolation.level", Op::kSet, std::nullopt}}, invalid_request,
          "Null value not supported for : share.isolation.level");
  refused({{"consumer.session.timeout.ms", Op::kSet, "50000"}}, 0, "");  // unchanged: no record
  EXPECT_EQ(
      incremental(32, "", {{"share.isolation.level", Op::kSet, "read_committed"}}, false, &message),
      invalid_request);
  EXPECT_EQ(message, "Default group resources are not allowed.");
  // The session must outlast the heartbeat, the missing one taken from the
  // broker (its bounds lowered so both may be equal).
  state.static_configs["group.share.min.session.timeout.ms"] = "5000";
  refused({{"share.session.timeout.ms", Op::kSet, "5000"}}, invalid_config,
          "share.session.timeout.ms must be greater than share.heartbeat.interval.ms");
  EXPECT_EQ(incremental(32, "g", {{"share.session.timeout.ms", Op::kSet, "6000"}}), 0);
  EXPECT_EQ(cluster::group_config_values(state, "g").share_session_timeout_ms, 6000);
  // Bounds that move later cap the value in use (the one kept is unchanged).
  state.static_configs.erase("group.share.min.session.timeout.ms");
  EXPECT_EQ(cluster::group_config_values(state, "g").share_session_timeout_ms, 45000);

  // AlterConfigs: the group's configs become exactly those named.
  protocol::AlterConfigsRequest request;
  auto& r = request.resources.emplace_back();
  r.resource_type = 32;
  r.resource_name = "g";
  r.configs.push_back({"share.isolation.level", std::string_view("read_committed")});
  r.configs.push_back({"share.delivery.count.limit", std::nullopt});
  auto response = run(&handle_alter_configs, request, 2);
  EXPECT_EQ(response.responses.at(0).error_code, 0);
  values = cluster::group_config_values(state, "g");
  EXPECT_EQ(values.share_isolation_level, "read_committed");
  EXPECT_EQ(values.consumer_session_timeout_ms, std::nullopt);
  EXPECT_EQ(values.share_auto_offset_reset, std::nullopt);

  // Survives a restart: the ConfigRecords are in the metadata log.
  cluster::BrokerState reloaded;
  state.metadata_log.reset();
  state.logs.reset();
  load(reloaded);
  EXPECT_EQ(cluster::group_config_values(reloaded, "g").share_isolation_level, "read_committed");
  EXPECT_EQ(cluster::groups_with_configs(reloaded), std::vector<std::string>{"g"});
}

TEST_F(AlterConfigsTest, GroupConfigsAreDescribedAsKafkaDoes) {
  state.static_configs["group.consumer.heartbeat.interval.ms"] = "6000";
  ASSERT_EQ(incremental(32, "g", {{"consumer.session.timeout.ms", Op::kSet, "50000"}}), 0);
  protocol::DescribeConfigsRequest request;
  request.resources.push_back({32, "g", std::nullopt});
  request.resources.push_back({32, "", std::nullopt});
  request.include_synonyms = true;
  auto response = run(&handle_describe_configs, request, 4);
  ASSERT_EQ(response.results.size(), 2u);
  EXPECT_EQ(response.results[1].error_code, to_wire(ErrorCode::kInvalidRequest));
  EXPECT_EQ(response.results[1].error_message, "Group name must not be empty");
  const auto& result = response.results[0];
  EXPECT_EQ(result.error_code, 0);
  std::map<std::string, const protocol::DescribeConfigsResponse::DescribeConfigsResourceResult*>
      by_name;
  for (const auto& c : result.configs) by_name[c.name] = &c;
  // The twelve that are not internal.
  EXPECT_EQ(by_name.size(), 12u);
  EXPECT_FALSE(by_name.contains("consumer.assignor.offload.enable"));
  const auto* session = by_name.at("consumer.session.timeout.ms");
  EXPECT_EQ(session->value, "50000");
  EXPECT_EQ(session->config_source, 8);  // GROUP_CONFIG
  ASSERT_EQ(session->synonyms.size(), 2u);
  EXPECT_EQ(session->synonyms[0].name, "consumer.session.timeout.ms");
  EXPECT_EQ(session->synonyms[1].name, "group.consumer.session.timeout.ms");
  EXPECT_EQ(session->synonyms[1].value, "45000");
  EXPECT_EQ(session->synonyms[1].source, 5);  // DEFAULT_CONFIG
  const auto* heartbeat = by_name.at("consumer.heartbeat.interval.ms");
  EXPECT_EQ(heartbeat->value, "6000");
  EXPECT_EQ(heartbeat->config_source, 4);  // STATIC_BROKER_CONFIG
  const auto* reset = by_name.at("share.auto.offset.reset");
  EXPECT_EQ(reset->value, "latest");
  EXPECT_EQ(reset->config_source, 5);
  ASSERT_EQ(reset->synonyms.size(), 1u);
  EXPECT_EQ(reset->synonyms[0].name, "share.auto.offset.reset");
  EXPECT_FALSE(session->read_only);

  // A group nobody made has configs too (its own none).
  request.resources = {{32, "nobody", std::vector<std::string_view>{"share.isolation.level"}}};
  response = run(&handle_describe_configs, request, 4);
  ASSERT_EQ(response.results.at(0).configs.size(), 1u);
  EXPECT_EQ(response.results[0].configs[0].value, "read_uncommitted");
}

}  // namespace
}  // namespace kb::handlers
