#pragma once

// Writes a log directory the way Apache Kafka 4.x (KRaft, combined mode) leaves
// it, using the storage layer's builders and encoders, so tests (storage and
// integration) can start from "a directory Kafka wrote":
//
//   <log.dir>/meta.properties                     version=1, cluster.id, node.id, directory.id
//   <log.dir>/__cluster_metadata-0/00000000000000000000.log
//       [LeaderChange control batch] [FeatureLevelRecord metadata.version]
//       [RegisterBrokerRecord] and per topic one batch: TopicRecord, its
//       PartitionRecords (leader = node, replicas = isr = [node], leader epoch 0,
//       directories = [directory id]) and ConfigRecords
//   <log.dir>/<topic>-<p>/00000000000000000000.log (+ .index, .timeindex,
//       partition.metadata, leader-epoch-checkpoint) with N batches of random
//       records
//   <log.dir>/{recovery-point,log-start,replication}-offset-checkpoint
//
// Options reproduce what the CodeCrafters "Build your own Kafka" tester writes
// instead (its Go code under protocol/kafka_files_generator): ids padded to 24
// characters, a metadata log starting at offset 1 with only the
// FeatureLevelRecord and one batch per topic, no index or checkpoint files,
// `.kafka_cleanshutdown`, and its own record batches (see KafkaTopicSpec).
//
// Header-only: include it by relative path ("../support/kafka_log_dir_writer.hpp").
// Needs kb_storage.

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "kb/storage/meta_properties.hpp"
#include "kb/storage/metadata_records.hpp"
#include "kb/storage/partition_log.hpp"
#include "kb/storage/record_batch.hpp"
#include "kb/storage/segment_index.hpp"
#include "kb/wire/uuid.hpp"

namespace kb::testing {

// How a UUID is written in a text file: Kafka's 22 characters (URL-safe base64,
// unpadded), or standard base64 with its "==" padding, as the CodeCrafters
// tester writes it. Only ids whose text has no '-' or '_' can be padded (the
// tester picks such ids), since only then the two alphabets agree.
enum class UuidText { plain, padded };

inline std::string uuid_text(const kb::wire::Uuid& id, UuidText form) {
  std::string text = id.to_base64();
  if (form == UuidText::plain) return text;
  if (text.find_first_of("-_") != std::string::npos)
    throw std::logic_error("id " + text + " has no standard base64 form Kafka reads");
  return text + "==";
}

struct KafkaTopicSpec {
  std::string name;
  int32_t partitions = 1;
  int32_t batches_per_partition = 0;
  int32_t records_per_batch = 1;
  kb::wire::Uuid topic_id{};                                 // zero: a random one
  std::vector<std::pair<std::string, std::string>> configs;  // topic config overrides
  UuidText topic_id_text = UuidText::plain;                  // in partition.metadata
  // The CodeCrafters tester's batches: records without key or headers, all
  // stamped alike, producer id 0, epoch 0, base sequence 0 in every batch, and
  // the header count written as -1 (a count Kafka's log layer never reads:
  // recovery and Fetch look at batches, not records).
  bool codecrafters_batches = false;
};

struct KafkaLogDirSpec {
  int32_t node_id = 1;
  std::string cluster_id;         // empty: a random one
  kb::wire::Uuid directory_id{};  // zero: a random one
  int16_t metadata_version = 25;  // metadata.version feature level (25 = 4.0-IV3)
  // Other features finalized beside metadata.version (as `--feature` at
  // format), e.g. {"share.version", 1}.
  std::vector<std::pair<std::string, int16_t>> features;
  int16_t partition_record_version = 1;
  int32_t controller_epoch = 1;  // the metadata batches' partition leader epoch
  bool leader_change_batch = true;
  bool register_broker = true;
  uint16_t broker_port = 9092;
  std::vector<KafkaTopicSpec> topics;
  uint64_t seed = 1;
  int64_t first_timestamp_ms = 1700000000000;
  uint32_t index_interval_bytes = 4096;
  // A running Kafka preallocates the active segment's index files (10 MiB of
  // zeros past the entries); a cleanly stopped one trims them. Non-zero pads
  // .index/.timeindex to this many bytes.
  uint64_t preallocated_index_bytes = 0;
  size_t max_value_bytes = 100;
  UuidText directory_id_text = UuidText::plain;  // in meta.properties
  int64_t metadata_first_offset = 0;             // the tester's metadata log starts at 1
  bool index_files = true;       // .index/.timeindex next to each .log (the tester writes none)
  bool checkpoint_files = true;  // offset checkpoints and leader-epoch-checkpoint files
  bool metadata_partition_metadata = false;          // __cluster_metadata-0/partition.metadata
  std::optional<std::string> clean_shutdown_marker;  // .kafka_cleanshutdown's text
};

struct WrittenRecord {
  int64_t offset = 0;
  int64_t timestamp = 0;
  std::optional<std::string> key;
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;
};

struct WrittenPartition {
  std::string topic;
  int32_t partition = 0;
  kb::wire::Uuid topic_id;
  std::filesystem::path dir;
  std::vector<WrittenRecord> records;
  std::vector<std::vector<uint8_t>> batches;  // exactly as in the .log
  int64_t log_end_offset = 0;
};

struct WrittenLogDir {
  std::string cluster_id;
  kb::wire::Uuid directory_id;
  std::map<std::string, kb::wire::Uuid> topic_ids;
  std::vector<WrittenPartition> partitions;
  int64_t metadata_end_offset = 0;  // next offset of the metadata log
  std::vector<std::vector<uint8_t>> metadata_batches;
};

namespace detail_writer {

inline void write_file(const std::filesystem::path& path, std::span<const uint8_t> bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error("cannot write " + path.string());
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

inline void write_text(const std::filesystem::path& path, const std::string& text) {
  write_file(path,
             std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

inline std::span<const uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Concatenated batches plus Kafka's .index/.timeindex for them.
struct SegmentFiles {
  std::vector<uint8_t> log;
  std::vector<uint8_t> index;
  std::vector<uint8_t> time_index;
};

inline SegmentFiles segment_files(const std::vector<std::vector<uint8_t>>& batches,
                                  int64_t base_offset, uint32_t interval, uint64_t preallocated) {
  SegmentFiles files;
  kb::storage::SegmentIndexBuilder builder(interval);
  std::optional<kb::storage::TimestampOffset> last_time;
  auto add_time = [&](const kb::storage::TimestampOffset& e) {
    uint8_t entry[kb::storage::kTimeIndexEntrySize];
    kb::storage::encode_time_index_entry(e, base_offset, entry);
    files.time_index.insert(files.time_index.end(), std::begin(entry), std::end(entry));
    last_time = e;
  };
  for (const auto& batch : batches) {
    auto view = kb::storage::RecordBatchView::parse(batch);
    if (!view) throw std::logic_error("writer built an invalid batch");
    auto added = builder.add_batch(static_cast<uint32_t>(files.log.size()),
                                   static_cast<uint32_t>(batch.size()), view->last_offset(),
                                   view->max_timestamp(), last_time);
    if (added.offset_entry) {
      uint8_t entry[kb::storage::kOffsetIndexEntrySize];
      kb::storage::encode_offset_index_entry(*added.offset_entry, base_offset, entry);
      files.index.insert(files.index.end(), std::begin(entry), std::end(entry));
    }
    if (added.time_entry) add_time(*added.time_entry);
    files.log.insert(files.log.end(), batch.begin(), batch.end());
  }
  if (preallocated > 0) {
    auto pad = [&](std::vector<uint8_t>& v, size_t entry) {
      uint64_t target = preallocated / entry * entry;
      if (v.size() < target) v.resize(target, 0);
    };
    pad(files.index, kb::storage::kOffsetIndexEntrySize);
    pad(files.time_index, kb::storage::kTimeIndexEntrySize);
  } else if (auto final_entry = builder.final_time_entry(last_time)) {
    add_time(*final_entry);  // what a clean shutdown appends
  }
  return files;
}

// The CodeCrafters tester writes each record's header count as -1 where Kafka
// writes 0: both are one varint byte (zigzag 0x01 vs 0x00), the last of a record
// without headers. Rewrites them and the batch CRC.
inline void null_header_counts(std::vector<uint8_t>& batch) {
  size_t pos = kb::storage::batch_layout::kRecords;
  while (pos < batch.size()) {
    uint64_t zigzag = 0;
    int shift = 0;
    while (true) {
      if (pos >= batch.size() || shift > 63) throw std::logic_error("bad record length");
      const uint8_t b = batch[pos++];
      zigzag |= uint64_t{static_cast<uint8_t>(b & 0x7f)} << shift;
      if ((b & 0x80) == 0) break;
      shift += 7;
    }
    const auto length = static_cast<int64_t>(zigzag >> 1) ^ -static_cast<int64_t>(zigzag & 1);
    const size_t end = pos + static_cast<size_t>(length);
    if (length <= 0 || end > batch.size() || batch[end - 1] != 0)
      throw std::logic_error("record with headers or a bad length");
    batch[end - 1] = 0x01;
    pos = end;
  }
  if (!kb::storage::update_batch_crc(batch)) throw std::logic_error("cannot update the crc");
}

inline std::string offset_checkpoint(
    const std::vector<std::tuple<std::string, int32_t, int64_t>>& entries) {
  std::string text = "0\n" + std::to_string(entries.size()) + "\n";
  for (const auto& [topic, partition, offset] : entries)
    text += topic + " " + std::to_string(partition) + " " + std::to_string(offset) + "\n";
  return text;
}

}  // namespace detail_writer

// What a broker stores for a batch produced to a partition written here: the
// base offset and the leader epoch (0 in the written metadata) are assigned,
// nothing else changes.
inline std::vector<uint8_t> as_stored(std::vector<uint8_t> batch, int64_t base_offset) {
  kb::storage::set_base_offset(batch, base_offset);
  kb::storage::set_partition_leader_epoch(batch, 0);
  return batch;
}

inline WrittenLogDir write_kafka_log_dir(const std::filesystem::path& log_dir,
                                         const KafkaLogDirSpec& spec) {
  using namespace kb::storage;
  namespace fs = std::filesystem;
  using detail_writer::bytes_of;

  std::mt19937_64 rng(spec.seed);
  auto random_id = [&] {
    kb::wire::Uuid id;
    do {
      for (auto& b : id.bytes) b = static_cast<uint8_t>(rng());
      id.bytes[6] = static_cast<uint8_t>((id.bytes[6] & 0x0f) | 0x40);
      id.bytes[8] = static_cast<uint8_t>((id.bytes[8] & 0x3f) | 0x80);
    } while (id.to_base64()[0] == '-');
    return id;
  };

  WrittenLogDir out;
  out.cluster_id = spec.cluster_id.empty() ? random_id().to_base64() : spec.cluster_id;
  out.directory_id = spec.directory_id.is_zero() ? random_id() : spec.directory_id;
  fs::create_directories(log_dir);

  // As Kafka 4 writes it (keys sorted after a date comment), and the tester too.
  detail_writer::write_text(
      log_dir / kMetaPropertiesFile,
      "#\n#Wed Sep 11 09:12:23 UTC 2024\ncluster.id=" + out.cluster_id +
          "\ndirectory.id=" + uuid_text(out.directory_id, spec.directory_id_text) +
          "\nnode.id=" + std::to_string(spec.node_id) + "\nversion=1\n");

  // ---- the metadata log ----
  int64_t timestamp = spec.first_timestamp_ms;
  int64_t next_offset = spec.metadata_first_offset;
  auto add_metadata_batch = [&](RecordBatchBuilder& builder) {
    builder.set_base_offset(next_offset).set_partition_leader_epoch(spec.controller_epoch);
    out.metadata_batches.push_back(builder.build());
    next_offset += static_cast<int64_t>(builder.record_count());
    timestamp += 10;
  };
  if (spec.leader_change_batch) {
    LeaderChangeMessage message{0, spec.node_id, {{spec.node_id, {}}}, {{spec.node_id, {}}}};
    auto key = control_record_key(ControlRecordType::leader_change);
    auto value = encode_control_value(message);
    RecordBatchBuilder builder;
    builder.set_control(true);
    builder.add_record(std::span<const uint8_t>(key), std::span<const uint8_t>(value), timestamp);
    add_metadata_batch(builder);
  }
  {
    auto value =
        encode_metadata_record(FeatureLevelRecord{"metadata.version", spec.metadata_version});
    RecordBatchBuilder builder;
    builder.add_record(std::nullopt, std::span<const uint8_t>(value), timestamp);
    std::vector<std::vector<uint8_t>> others;
    for (const auto& [name, level] : spec.features)
      others.push_back(encode_metadata_record(FeatureLevelRecord{name, level}));
    for (const auto& other : others)
      builder.add_record(std::nullopt, std::span<const uint8_t>(other), timestamp);
    add_metadata_batch(builder);
  }
  if (spec.register_broker) {
    RegisterBrokerRecord broker;
    broker.broker_id = spec.node_id;
    broker.incarnation_id = random_id();
    broker.broker_epoch = next_offset;  // Kafka uses the record's offset as the epoch
    broker.end_points = {{"PLAINTEXT", "localhost", spec.broker_port, 0}};
    broker.features = {{"metadata.version", 7, spec.metadata_version}};
    broker.fenced = false;
    broker.log_dirs = {out.directory_id};
    auto value = encode_metadata_record(broker, 3);
    RecordBatchBuilder builder;
    builder.add_record(std::nullopt, std::span<const uint8_t>(value), timestamp);
    add_metadata_batch(builder);
  }

  std::vector<std::tuple<std::string, int32_t, int64_t>> checkpoint_entries;
  for (const KafkaTopicSpec& topic : spec.topics) {
    const kb::wire::Uuid topic_id = topic.topic_id.is_zero() ? random_id() : topic.topic_id;
    out.topic_ids[topic.name] = topic_id;
    std::vector<std::vector<uint8_t>> values;
    values.push_back(encode_metadata_record(TopicRecord{topic.name, topic_id}));
    for (int32_t p = 0; p < topic.partitions; ++p) {
      PartitionRecord partition;
      partition.partition_id = p;
      partition.topic_id = topic_id;
      partition.replicas = {spec.node_id};
      partition.isr = {spec.node_id};
      partition.leader = spec.node_id;
      partition.leader_epoch = 0;
      partition.partition_epoch = 0;
      if (spec.partition_record_version >= 1) partition.directories = {out.directory_id};
      values.push_back(encode_metadata_record(partition, spec.partition_record_version));
    }
    for (const auto& [name, value] : topic.configs)
      values.push_back(encode_metadata_record(ConfigRecord{2, topic.name, name, value}));
    RecordBatchBuilder topic_batch;
    for (const auto& v : values)
      topic_batch.add_record(std::nullopt, std::span<const uint8_t>(v), timestamp);
    add_metadata_batch(topic_batch);

    // ---- the partitions' logs ----
    for (int32_t p = 0; p < topic.partitions; ++p) {
      WrittenPartition written;
      written.topic = topic.name;
      written.partition = p;
      written.topic_id = topic_id;
      written.dir = log_dir / partition_dir_name(topic.name, p);
      fs::create_directories(written.dir);
      int64_t offset = 0;
      int64_t record_time = spec.first_timestamp_ms;
      for (int32_t b = 0; b < topic.batches_per_partition; ++b) {
        std::vector<WrittenRecord> records;
        for (int32_t r = 0; r < topic.records_per_batch; ++r) {
          WrittenRecord rec;
          rec.offset = offset + r;
          rec.timestamp = topic.codecrafters_batches ? record_time : record_time++;
          if (!topic.codecrafters_batches && rng() % 4 != 0)
            rec.key = "key-" + std::to_string(rng() % 1000);
          size_t length = 1 + rng() % std::max<size_t>(spec.max_value_bytes, 1);
          for (size_t i = 0; i < length; ++i)
            rec.value.push_back(static_cast<char>('a' + rng() % 26));
          if (!topic.codecrafters_batches && rng() % 5 == 0)
            rec.headers.emplace_back("trace", std::to_string(rng() % 100000));
          records.push_back(std::move(rec));
        }
        RecordBatchBuilder builder;
        builder.set_base_offset(offset).set_partition_leader_epoch(0);
        if (topic.codecrafters_batches)
          builder.set_producer_id(0).set_producer_epoch(0).set_base_sequence(0);
        for (const WrittenRecord& rec : records) {
          std::vector<RecordHeaderView> headers;
          for (const auto& [k, v] : rec.headers) headers.push_back({k, bytes_of(v)});
          builder.add_record(rec.key ? std::optional(bytes_of(*rec.key)) : std::nullopt,
                             bytes_of(rec.value), rec.timestamp, headers);
        }
        written.batches.push_back(builder.build());
        if (topic.codecrafters_batches) detail_writer::null_header_counts(written.batches.back());
        offset += topic.records_per_batch;
        for (auto& rec : records) written.records.push_back(std::move(rec));
      }
      written.log_end_offset = offset;
      auto files = detail_writer::segment_files(written.batches, 0, spec.index_interval_bytes,
                                                spec.preallocated_index_bytes);
      detail_writer::write_file(written.dir / segment_file_name(0, ".log"), files.log);
      if (spec.index_files) {
        detail_writer::write_file(written.dir / segment_file_name(0, ".index"), files.index);
        detail_writer::write_file(written.dir / segment_file_name(0, ".timeindex"),
                                  files.time_index);
      }
      // Kafka's text, without a trailing newline.
      detail_writer::write_text(
          written.dir / kPartitionMetadataFile,
          "version: 0\ntopic_id: " + uuid_text(topic_id, topic.topic_id_text));
      if (spec.checkpoint_files)
        detail_writer::write_text(written.dir / "leader-epoch-checkpoint",
                                  offset > 0 ? "0\n1\n0 0\n" : "0\n0\n");
      checkpoint_entries.emplace_back(topic.name, p, offset);
      out.partitions.push_back(std::move(written));
    }
  }
  out.metadata_end_offset = next_offset;

  const fs::path metadata_dir = log_dir / "__cluster_metadata-0";
  fs::create_directories(metadata_dir);
  auto metadata_files = detail_writer::segment_files(
      out.metadata_batches, 0, spec.index_interval_bytes, spec.preallocated_index_bytes);
  detail_writer::write_file(metadata_dir / segment_file_name(0, ".log"), metadata_files.log);
  if (spec.index_files) {
    detail_writer::write_file(metadata_dir / segment_file_name(0, ".index"), metadata_files.index);
    detail_writer::write_file(metadata_dir / segment_file_name(0, ".timeindex"),
                              metadata_files.time_index);
  }
  if (spec.metadata_partition_metadata)  // the metadata topic's id is 1
    detail_writer::write_text(metadata_dir / kPartitionMetadataFile,
                              "version: 0\ntopic_id: AAAAAAAAAAAAAAAAAAAAAQ");
  if (spec.clean_shutdown_marker)
    detail_writer::write_text(log_dir / ".kafka_cleanshutdown", *spec.clean_shutdown_marker);
  if (!spec.checkpoint_files) return out;
  detail_writer::write_text(metadata_dir / "leader-epoch-checkpoint",
                            "0\n1\n" + std::to_string(spec.controller_epoch) + " " +
                                std::to_string(spec.metadata_first_offset) + "\n");

  detail_writer::write_text(log_dir / "recovery-point-offset-checkpoint",
                            detail_writer::offset_checkpoint(checkpoint_entries));
  detail_writer::write_text(log_dir / "replication-offset-checkpoint",
                            detail_writer::offset_checkpoint(checkpoint_entries));
  std::vector<std::tuple<std::string, int32_t, int64_t>> starts;
  for (const auto& [t, p, o] : checkpoint_entries) starts.emplace_back(t, p, 0);
  detail_writer::write_text(log_dir / "log-start-offset-checkpoint",
                            detail_writer::offset_checkpoint(starts));
  return out;
}

}  // namespace kb::testing
