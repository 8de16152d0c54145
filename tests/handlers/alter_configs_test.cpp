// AlterConfigs and IncrementalAlterConfigs against a real log directory, and
// what a change does to the topic's logs (segment.bytes, retention).

#include "kb/handlers/alter_configs.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "kb/cluster/config_catalog.hpp"
#include "kb/cluster/startup.hpp"
#include "kb/cluster/topic_configs.hpp"
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
  EXPECT_EQ(incremental(4, "1", {{"log.retention.ms", Op::kSet, "5"}}, false, &message),
            to_wire(ErrorCode::kInvalidRequest));
  EXPECT_NE(message.find("log.retention.ms"), std::string::npos);
  EXPECT_EQ(incremental(4, "1", {}), 0);
  EXPECT_EQ(incremental(7, "x", {}), to_wire(ErrorCode::kInvalidRequest));
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
  r.resource_type = 4;
  r.resource_name = "";
  response = run(&handle_alter_configs, request, 1);
  EXPECT_EQ(response.responses.at(0).error_code, to_wire(ErrorCode::kInvalidRequest));
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

}  // namespace
}  // namespace kb::handlers
