#include "kb/cluster/topic_admin.hpp"

#include <chrono>

#include <spdlog/spdlog.h>

#include "kb/cluster/metadata_image.hpp"
#include "kb/storage/meta_properties.hpp"
#include "kb/storage/metadata_log.hpp"
#include "kb/storage/metadata_records.hpp"
#include "kb/storage/record_batch.hpp"

namespace kb::cluster {

namespace {

constexpr size_t kMaxTopicNameLength = 249;
// metadata.version written into a metadata log this broker starts (4.0-IV3).
constexpr int16_t kBootstrapMetadataVersion = 25;

std::string fold_dots(std::string_view name) {
  std::string out(name);
  for (char& c : out)
    if (c == '.') c = '_';
  return out;
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Kafka's fixed id of the __cluster_metadata topic.
wire::Uuid metadata_topic_id() {
  wire::Uuid id;
  id.bytes[15] = 1;
  return id;
}

// Appends records as one batch to __cluster_metadata-0, creating the log (with
// a metadata.version record first) when the directory has none.
storage::Status append_metadata(BrokerState& state,
                                const std::vector<storage::MetadataRecord>& records) {
  std::vector<storage::MetadataRecord> all;
  if (!state.metadata_log) {
    auto created = storage::PartitionLog::create(state.logs->log_dir(), "__cluster_metadata", 0,
                                                 metadata_topic_id());
    if (!created) return created.error();
    state.metadata_log = std::move(created.value());
    if (state.metadata_log->log_end_offset() == 0)
      all.emplace_back(storage::FeatureLevelRecord{"metadata.version", kBootstrapMetadataVersion});
  }
  all.insert(all.end(), records.begin(), records.end());

  storage::RecordBatchBuilder builder;
  builder.set_partition_leader_epoch(1);
  std::vector<ByteBuffer> values(all.size());
  const int64_t timestamp = now_ms();
  for (size_t i = 0; i < all.size(); ++i) {
    const int16_t version = std::visit(
        [](const auto& r) -> int16_t {
          using R = std::decay_t<decltype(r)>;
          if constexpr (std::is_same_v<R, storage::UnknownMetadataRecord>)
            return 0;
          else
            return R::kMaxVersion;
        },
        all[i]);
    storage::encode_metadata_record(all[i], version, values[i]);
    builder.add_record(std::nullopt, values[i].span(), timestamp);
  }
  std::vector<uint8_t> batch = builder.build();
  auto appended = state.metadata_log->append(batch, 1);
  if (!appended) return appended.error();
  if (auto flushed = state.metadata_log->flush(); !flushed.ok()) return flushed;
  for (const auto& r : all) apply_metadata_record(state, r);
  return {};
}

}  // namespace

std::string topic_name_problem(std::string_view name) {
  if (name.empty()) return "the topic name is empty";
  if (name.size() > kMaxTopicNameLength)
    return "the topic name is longer than " + std::to_string(kMaxTopicNameLength) + " characters";
  if (name == "." || name == "..") return "the topic name cannot be '.' or '..'";
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return "the topic name may only contain ASCII letters, digits, '.', '_' and '-'";
  }
  return {};
}

std::string colliding_topic(const TopicTable& topics, std::string_view name) {
  const std::string folded = fold_dots(name);
  for (const auto& [existing, topic] : topics.topics())
    if (existing != name && fold_dots(existing) == folded) return existing;
  return {};
}

CreateTopicResult create_topic(BrokerState& state, std::string_view name, int32_t partitions) {
  if (auto problem = topic_name_problem(name); !problem.empty())
    return {CreateTopicError::kInvalidName, problem, nullptr};
  if (const TopicInfo* existing = state.topics.find(name))
    return {CreateTopicError::kAlreadyExists, "topic '" + std::string(name) + "' already exists",
            existing};
  if (auto other = colliding_topic(state.topics, name); !other.empty())
    return {CreateTopicError::kInvalidName,
            "topic '" + std::string(name) + "' collides with existing topic '" + other + "'",
            nullptr};
  if (partitions < 1 || partitions > 10000)
    return {CreateTopicError::kInvalidPartitions, "the number of partitions must be in [1, 10000]",
            nullptr};
  if (!state.logs) return {CreateTopicError::kStorage, "no log directory", nullptr};

  wire::Uuid id;
  do {
    id = storage::random_uuid();
  } while (state.topics.find(id) != nullptr);

  std::vector<storage::MetadataRecord> records;
  records.emplace_back(storage::TopicRecord{std::string(name), id});
  for (int32_t p = 0; p < partitions; ++p) {
    storage::PartitionRecord r;
    r.partition_id = p;
    r.topic_id = id;
    r.replicas = {state.node_id};
    r.isr = {state.node_id};
    r.leader = state.node_id;
    r.leader_epoch = 0;
    r.partition_epoch = 0;
    records.emplace_back(std::move(r));
  }
  if (auto appended = append_metadata(state, records); !appended.ok()) {
    spdlog::error("creating topic {}: {}", name, appended.error().message);
    return {CreateTopicError::kStorage, appended.error().message, nullptr};
  }
  spdlog::info("created topic {} with {} partitions (id {})", name, partitions, id.to_base64());
  return {CreateTopicError::kNone, {}, state.topics.find(name)};
}

}  // namespace kb::cluster
