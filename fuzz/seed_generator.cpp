// Writes the seed corpora under fuzz/corpus/ with the project's own encoders:
// a valid request for every api key at every version, a few framed streams,
// record batches, and the metadata and partition segments of a log directory
// written as Kafka leaves it. Run by scripts/fuzz.sh --seeds; the output is
// kept in the repository (small: one file per request version).
//
//   fuzz_seed_generator <corpus dir>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "../tests/support/kafka_log_dir_writer.hpp"
#include "fuzz_support.hpp"
#include "kb/base/byte_buffer.hpp"
#include "kb/cluster/config_catalog.hpp"
#include "kb/cluster/topic_configs.hpp"
#include "kb/protocol/header.hpp"
#include "kb/storage/metadata_log.hpp"
#include "kb/storage/record_batch.hpp"
#include "kb/wire/serde.hpp"
#include "kb/wire/writer.hpp"

namespace {

using namespace kb;
namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

// The topic the request fuzzer's broker has.
constexpr std::string_view kTopic = "fuzz";

Bytes sample_batch(int records, storage::Compression codec = storage::Compression::none) {
  storage::RecordBatchBuilder builder;
  builder.set_compression(codec);
  const uint8_t key[] = {'k'};
  const uint8_t value[] = {'v', 'a', 'l', 'u', 'e'};
  const uint8_t header_value[] = {'h'};
  const storage::RecordHeaderView headers[] = {{"trace", storage::Bytes(header_value)}};
  for (int i = 0; i < records; ++i)
    builder.add_record(storage::Bytes(key), storage::Bytes(value), 1700000000000 + i, headers);
  return builder.build();
}

// The config resources the config APIs name: the fuzz broker's topic and the
// broker itself (node id 1).
constexpr std::string_view kBrokerId = "1";
constexpr std::string_view kUnknownConfig = "no.such.config";

// A request with something in it where the API has a topic or resource list,
// else the defaults. `version` varies the config APIs' seeds: odd versions
// only validate, and name an unknown config (so the check runs before any
// change), even versions change the topic's configs.
template <class Request>
Request sample_request(const Bytes& records, int16_t version) {
  const bool odd = version % 2 != 0;
  Request r{};
  if constexpr (std::is_same_v<Request, protocol::ProduceRequest>) {
    r.acks = -1;
    r.timeout_ms = 1000;
    auto& topic = r.topic_data.emplace_back();
    topic.name = kTopic;
    auto& p = topic.partition_data.emplace_back();
    p.index = 0;
    p.records = wire::Bytes(records);
  } else if constexpr (std::is_same_v<Request, protocol::FetchRequest>) {
    r.max_bytes = 1 << 20;
    auto& topic = r.topics.emplace_back();
    topic.topic = kTopic;
    auto& p = topic.partitions.emplace_back();
    p.partition_max_bytes = 1 << 20;
  } else if constexpr (std::is_same_v<Request, protocol::ListOffsetsRequest>) {
    auto& topic = r.topics.emplace_back();
    topic.name = kTopic;
    topic.partitions.emplace_back().timestamp = -1;
  } else if constexpr (std::is_same_v<Request, protocol::MetadataRequest>) {
    r.topics.emplace();
    r.topics->emplace_back().name = kTopic;
    r.topics->emplace_back().name = "fuzz-auto-created";
  } else if constexpr (std::is_same_v<Request, protocol::DescribeTopicPartitionsRequest>) {
    r.topics.emplace_back().name = kTopic;
  } else if constexpr (std::is_same_v<Request, protocol::DeleteGroupsRequest>) {
    r.groups_names = {"fuzz-group", "fuzz-missing"};
  } else if constexpr (std::is_same_v<Request, protocol::OffsetDeleteRequest>) {
    r.group_id = "fuzz-group";
    r.topics.push_back({kTopic, {{0}, {1}}});
  } else if constexpr (std::is_same_v<Request, protocol::DescribeConfigsRequest>) {
    const std::vector<std::string_view> topic_keys = {"retention.ms", "cleanup.policy",
                                                      kUnknownConfig};
    const std::vector<std::string_view> broker_keys = {"log.retention.hours", "num.partitions",
                                                       kUnknownConfig};
    // A null key list asks for every config of the resource.
    r.resources.push_back(
        {cluster::kTopicResource, kTopic, odd ? std::optional(topic_keys) : std::nullopt});
    r.resources.push_back(
        {cluster::kBrokerResource, kBrokerId, odd ? std::nullopt : std::optional(broker_keys)});
    r.include_synonyms = true;
    r.include_documentation = true;
  } else if constexpr (std::is_same_v<Request, protocol::AlterConfigsRequest>) {
    auto& topic = r.resources.emplace_back();
    topic.resource_type = cluster::kTopicResource;
    topic.resource_name = kTopic;
    topic.configs = {{"retention.ms", "3600000"},
                     {"cleanup.policy", "compact,delete"},
                     {"segment.ms", std::nullopt}};  // null: back to the default
    if (odd) topic.configs.push_back({kUnknownConfig, "1"});
    r.resources.push_back({cluster::kBrokerResource, kBrokerId, {{"log.retention.hours", "24"}}});
    r.validate_only = odd;
  } else if constexpr (std::is_same_v<Request, protocol::IncrementalAlterConfigsRequest>) {
    using Op = cluster::ConfigOp;
    auto op = [](Op o) { return static_cast<int8_t>(o); };
    auto& topic = r.resources.emplace_back();
    topic.resource_type = cluster::kTopicResource;
    topic.resource_name = kTopic;
    topic.configs = {{"retention.ms", op(Op::kSet), "86400000"},
                     {"cleanup.policy", op(odd ? Op::kSubtract : Op::kAppend), "compact"},
                     {"segment.ms", op(Op::kDelete), std::nullopt}};
    if (odd) topic.configs.push_back({kUnknownConfig, op(Op::kSet), "1"});
    r.resources.push_back(
        {cluster::kBrokerResource, kBrokerId, {{"log.retention.hours", op(Op::kSet), "24"}}});
    r.validate_only = odd;
  } else if constexpr (std::is_same_v<Request, protocol::OffsetForLeaderEpochRequest>) {
    r.replica_id = -1;
    r.topics.push_back({kTopic, {{0, odd ? 0 : -1, 0}, {1, -1, 5}}});
  } else if constexpr (std::is_same_v<Request, protocol::DeleteRecordsRequest>) {
    // Odd versions: to the high watermark; even: past it (refused).
    r.topics.push_back({kTopic, {{0, odd ? -1 : 1000000}}});
    r.timeout_ms = 1000;
  } else if constexpr (std::is_same_v<Request, protocol::DescribeLogDirsRequest>) {
    // Odd versions: every partition (null); even: the fuzz topic's.
    if (!odd) {
      r.topics.emplace();
      r.topics->push_back({kTopic, {0, 1}});
    }
  } else if constexpr (std::is_same_v<Request, protocol::DescribeProducersRequest>) {
    r.topics.push_back({kTopic, {0, 1}});
  } else if constexpr (std::is_same_v<Request, protocol::ElectLeadersRequest>) {
    r.election_type = static_cast<int8_t>(odd ? 1 : 0);
    if (!odd) {
      r.topic_partitions.emplace();
      r.topic_partitions->push_back({kTopic, {0, 1}});
    }
  } else if constexpr (std::is_same_v<Request, protocol::AlterPartitionReassignmentsRequest>) {
    r.topics.push_back({kTopic, {{0, std::vector<int32_t>{1}}, {0, std::nullopt}}});
  } else if constexpr (std::is_same_v<Request, protocol::ListPartitionReassignmentsRequest>) {
    r.topics.emplace();
    r.topics->push_back({kTopic, {0}});
  } else if constexpr (std::is_same_v<Request, protocol::DescribeAclsRequest>) {
    // Kafka's AdminClient asking for every topic ACL (as MirrorMaker 2 does).
    r.resource_type_filter = 2;  // TOPIC
    r.pattern_type_filter = 1;   // ANY
    r.operation = 1;             // ANY
    r.permission_type = 1;       // ANY
  } else if constexpr (std::is_same_v<Request, protocol::CreateAclsRequest>) {
    r.creations.push_back({2, kTopic, 3, "User:alice", "*", 3, 3});  // allow READ
  } else if constexpr (std::is_same_v<Request, protocol::DeleteAclsRequest>) {
    r.filters.push_back({2, kTopic, 3, std::nullopt, std::nullopt, 1, 1});
  } else if constexpr (std::is_same_v<Request, protocol::DescribeClusterRequest>) {
    r.include_cluster_authorized_operations = true;
  } else if constexpr (std::is_same_v<Request, protocol::ConsumerGroupHeartbeatRequest>) {
    // A member joining by topic name (odd versions: by regular expression).
    r.group_id = "fuzz-group";
    r.member_id = "fuzz-member";
    r.rebalance_timeout_ms = 30000;
    r.topic_partitions.emplace();
    if (odd && version >= 1)
      r.subscribed_topic_regex = "fu.*";
    else
      r.subscribed_topic_names = std::vector<std::string_view>{kTopic};
  } else if constexpr (std::is_same_v<Request, protocol::AddPartitionsToTxnRequest>) {
    // A producer adding the fuzz topic's partitions (v4+: verify-only on odd versions).
    r.v3_and_below_transactional_id = "fuzz-txn";
    r.v3_and_below_producer_id = 1;
    r.v3_and_below_producer_epoch = 0;
    r.v3_and_below_topics.push_back({kTopic, {0, 1}});
    r.transactions.push_back({"fuzz-txn", 1, 0, odd, {{kTopic, {0, 1}}}});
  } else if constexpr (std::is_same_v<Request, protocol::AddOffsetsToTxnRequest>) {
    r.transactional_id = "fuzz-txn";
    r.producer_id = 1;
    r.producer_epoch = 0;
    r.group_id = "fuzz-group";
  } else if constexpr (std::is_same_v<Request, protocol::EndTxnRequest>) {
    r.transactional_id = "fuzz-txn";
    r.producer_id = 1;
    r.producer_epoch = 0;
    r.committed = odd;
  } else if constexpr (std::is_same_v<Request, protocol::TxnOffsetCommitRequest>) {
    r.transactional_id = "fuzz-txn";
    r.group_id = "fuzz-group";
    r.producer_id = 1;
    r.producer_epoch = 0;
    r.topics.push_back({kTopic, {}, {{0, 5, -1, "meta"}}});
  } else if constexpr (std::is_same_v<Request, protocol::ListTransactionsRequest>) {
    if (odd) r.state_filters = {"Ongoing"};
  } else if constexpr (std::is_same_v<Request, protocol::DescribeTransactionsRequest>) {
    r.transactional_ids = {"fuzz-txn"};
  } else if constexpr (std::is_same_v<Request, protocol::WriteTxnMarkersRequest>) {
    auto& marker = r.markers.emplace_back();
    marker.producer_id = 1;
    marker.producer_epoch = 0;
    marker.transaction_result = odd;
    marker.coordinator_epoch = 0;
    marker.topics.push_back({kTopic, {0, 1}});
  } else if constexpr (std::is_same_v<Request, protocol::ConsumerGroupDescribeRequest>) {
    r.group_ids = {"fuzz-group"};
    r.include_authorized_operations = odd;
  } else if constexpr (std::is_same_v<Request, protocol::ApiVersionsRequest>) {
    r.client_software_name = "kb-fuzz";
    r.client_software_version = "1.0";
  }
  return r;
}

template <class Request>
Bytes request_frame(const Request& request, int16_t version) {
  const bool flexible = version >= Request::kFirstFlexible;
  ByteBuffer out;
  wire::Writer w(out);
  protocol::RequestHeader header;
  header.api_key = static_cast<int16_t>(Request::kApiKey);
  header.api_version = version;
  header.correlation_id = 7;
  header.client_id = "kb-fuzz";
  protocol::write_request_header(w, header,
                                 protocol::request_header_version(Request::kApiKey, version));
  wire::encode(w, request, version, flexible);
  return Bytes(out.data(), out.data() + out.size());
}

void write(const fs::path& path, const Bytes& bytes) { fuzz::write_file(path, bytes); }

Bytes with_size_prefix(const Bytes& frame) {
  Bytes out = {static_cast<uint8_t>(frame.size() >> 24), static_cast<uint8_t>(frame.size() >> 16),
               static_cast<uint8_t>(frame.size() >> 8), static_cast<uint8_t>(frame.size())};
  out.insert(out.end(), frame.begin(), frame.end());
  return out;
}

Bytes read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus dir>\n", argv[0]);
    return 2;
  }
  const fs::path corpus = argv[1];
  // A seed for every API the broker serves, and only those.
  if (std::string mismatch = fuzz::request_list_mismatch(handlers::make_broker_registry());
      !mismatch.empty()) {
    std::fprintf(stderr, "fuzz::AllRequests does not match the broker's registry: %s\n",
                 mismatch.c_str());
    return 1;
  }
  for (const char* target : {"request", "message", "frame", "record_batch", "metadata_log",
                             "segment_recovery", "properties"})
    fs::create_directories(corpus / target);

  const Bytes batch = sample_batch(3);
  size_t requests = 0;
  Bytes api_versions_frame;
  Bytes metadata_frame;
  fuzz::for_each_request([&]<class Request>(const Request&) {
    for (int16_t v = Request::kVersions.min; v <= Request::kVersions.max; ++v) {
      Bytes frame = request_frame(sample_request<Request>(batch, v), v);
      const std::string name =
          "api" + std::to_string(static_cast<int>(Request::kApiKey)) + "-v" + std::to_string(v);
      write(corpus / "request" / name, frame);
      write(corpus / "message" / name, frame);
      ++requests;
      if constexpr (std::is_same_v<Request, protocol::ApiVersionsRequest>)
        api_versions_frame = frame;
      if constexpr (std::is_same_v<Request, protocol::MetadataRequest>) metadata_frame = frame;
    }
  });

  // Frame streams: [piece sizes] 0 [frames...].
  Bytes two = with_size_prefix(api_versions_frame);
  Bytes meta = with_size_prefix(metadata_frame);
  two.insert(two.end(), meta.begin(), meta.end());
  Bytes split_stream = {1, 3, 5, 200, 2, 0};
  split_stream.insert(split_stream.end(), two.begin(), two.end());
  write(corpus / "frame" / "two-requests-split", split_stream);
  Bytes whole_stream = {0};
  whole_stream.insert(whole_stream.end(), two.begin(), two.end());
  write(corpus / "frame" / "two-requests-whole", whole_stream);
  Bytes held = with_size_prefix(Bytes(16, 0xff));
  held.insert(held.begin(), {4, 4, 0});
  held.insert(held.end(), two.begin(), two.end());
  write(corpus / "frame" / "held-then-two", held);
  Bytes bad = {0, 0xff, 0xff, 0xff, 0xf0, 1, 2, 3, 4};
  write(corpus / "frame" / "negative-size", bad);

  write(corpus / "record_batch" / "three-records", batch);
  // Compressed batches, each codec's, as produced and as ListOffsets by time
  // then reads them back (its record at 1700000000001).
  for (auto [codec, name] : {std::pair{storage::Compression::gzip, "gzip"},
                             std::pair{storage::Compression::snappy, "snappy"},
                             std::pair{storage::Compression::lz4, "lz4"},
                             std::pair{storage::Compression::zstd, "zstd"}}) {
    const Bytes packed = sample_batch(3, codec);
    write(corpus / "record_batch" / (std::string("three-records-") + name), packed);
    protocol::ProduceRequest produce = sample_request<protocol::ProduceRequest>(packed, 9);
    write(corpus / "request" / (std::string("api0-v9-") + name), request_frame(produce, 9));
  }
  {
    protocol::ListOffsetsRequest by_time;
    by_time.replica_id = -1;
    by_time.topics.push_back({kTopic, {{0, -1, 1700000000001, 1}}});
    write(corpus / "request" / "api2-v9-by-time", request_frame(by_time, 9));
  }
  Bytes two_batches = sample_batch(1);
  Bytes second = sample_batch(2);
  two_batches.insert(two_batches.end(), second.begin(), second.end());
  write(corpus / "record_batch" / "two-batches", two_batches);

  // A log directory as Kafka writes it: its metadata segment, and a
  // partition's segment with its index.
  fuzz::TempDir dir("kb-fuzz-seeds-");
  testing::KafkaLogDirSpec spec;
  spec.index_interval_bytes = 128;
  spec.topics.push_back({"seed-topic", 2, 6, 2, {}, {{"cleanup.policy", "delete"}}});
  spec.topics.push_back({"other.topic", 1, 0, 1, {}, {}});
  testing::WrittenLogDir written = testing::write_kafka_log_dir(dir.path(), spec);
  Bytes metadata =
      read_all(dir.path() / storage::kMetadataPartitionDir / storage::segment_file_name(0, ".log"));
  // Damage as it happens on disk (flags 0: the bytes as they are): a flipped
  // bit in the last batch (a CRC mismatch), a damaged length field, a torn tail.
  {
    size_t last = 0;
    for (size_t at = 0; at + 12 <= metadata.size();) {
      last = at;
      const size_t length = (size_t{metadata[at + 8]} << 24) | (size_t{metadata[at + 9]} << 16) |
                            (size_t{metadata[at + 10]} << 8) | size_t{metadata[at + 11]};
      at += 12 + length;
    }
    Bytes flipped = metadata;
    flipped[last + storage::batch_layout::kRecords + 5] ^= 0x10;
    flipped.insert(flipped.begin(), 0);
    write(corpus / "metadata_log" / "kafka-written-flipped-bit", flipped);
    Bytes bad_length = metadata;
    bad_length[last + 8] = 0x7f;
    bad_length.insert(bad_length.begin(), 0);
    write(corpus / "metadata_log" / "kafka-written-bad-length", bad_length);
    Bytes torn(metadata.begin(), metadata.end() - 10);
    torn.insert(torn.begin(), 0);
    write(corpus / "metadata_log" / "kafka-written-torn-tail", torn);
  }
  metadata.insert(metadata.begin(), 1);  // flags: fix CRCs after mutation
  write(corpus / "metadata_log" / "kafka-written", metadata);
  const fs::path partition = written.partitions.front().dir;
  Bytes index = read_all(partition / storage::segment_file_name(0, ".index"));
  Bytes log = read_all(partition / storage::segment_file_name(0, ".log"));
  Bytes segment_seed = {1, static_cast<uint8_t>(index.size() / 8)};
  segment_seed.insert(segment_seed.end(), index.begin(), index.end());
  segment_seed.insert(segment_seed.end(), log.begin(), log.end());
  write(corpus / "segment_recovery" / "kafka-written", segment_seed);
  Bytes no_index = {0, 0};
  no_index.insert(no_index.end(), log.begin(), log.end());
  write(corpus / "segment_recovery" / "no-index", no_index);
  // Damage as found on disks (the partition's 6 batches hold offsets 0-11):
  // prefix, then the segment with `edit` applied to batch `at`'s header.
  auto batch_position = [&](size_t at) {
    size_t position = 0;
    for (size_t b = 0; b < at; ++b) position += written.partitions.front().batches[b].size();
    return position;
  };
  auto damaged_seed = [&](Bytes prefix, size_t at, size_t field, Bytes value) {
    Bytes damaged = log;
    std::copy(value.begin(), value.end(),
              damaged.begin() + static_cast<long>(batch_position(at) + field));
    prefix.insert(prefix.end(), damaged.begin(), damaged.end());
    return prefix;
  };
  constexpr size_t kBaseOffsetField = 0, kLengthField = 8;
  Bytes with_index = {0, static_cast<uint8_t>(index.size() / 8)};
  with_index.insert(with_index.end(), index.begin(), index.end());
  write(corpus / "segment_recovery" / "damaged-length-middle",
        damaged_seed(with_index, 3, kLengthField, {0x7f, 0xff, 0xff, 0xf0}));
  write(corpus / "segment_recovery" / "length-below-header",
        damaged_seed({0, 0}, 2, kLengthField, {0, 0, 0, 40}));
  // Bit 27 of the last batch's base offset 10: 134,217,738.
  write(corpus / "segment_recovery" / "base-offset-skips-ahead",
        damaged_seed({0, 0}, 5, kBaseOffsetField, {0, 0, 0, 0, 0x08, 0, 0, 10}));
  write(corpus / "segment_recovery" / "base-offset-goes-back",
        damaged_seed({0, 0}, 4, kBaseOffsetField, {0, 0, 0, 0, 0, 0, 0, 1}));
  // Flags 2: two segments (the first 3 batches, then segment `base`); 4: a
  // clean shutdown; 8: a recovery point.
  write(corpus / "segment_recovery" / "older-segment-reaches-next-base",
        damaged_seed({2 | 8, 3, 5, 0, 0}, 0, 0, {}));
  write(corpus / "segment_recovery" / "older-segment-damaged-length-clean",
        damaged_seed({2 | 4, 3, 6, 12, 0}, 1, kLengthField, {0, 0, 0, 12}));
  write(corpus / "segment_recovery" / "older-segment-damaged-length-recovered",
        damaged_seed({2 | 8, 3, 6, 0, 0}, 1, kLengthField, {0, 0, 0, 12}));
  write(corpus / "segment_recovery" / "clean-shutdown-behind-the-files",
        damaged_seed({4, 8, 0}, 5, kBaseOffsetField, {0, 0, 0, 0, 0x08, 0, 0, 10}));

  write(corpus / "properties" / "meta.properties", read_all(dir.path() / "meta.properties"));
  write(corpus / "properties" / "partition.metadata",
        read_all(partition / storage::kPartitionMetadataFile));
  const std::string server =
      "# a server.properties\nprocess.roles=broker,controller\nnode.id=1\n"
      "listeners=PLAINTEXT://:9092,CONTROLLER://:9093\n"
      "controller.listener.names=CONTROLLER\nlog.dirs=/tmp/kb\\\n  -logs\n"
      "num.partitions: 3\nadvertised.listeners=PLAINTEXT://h\\u0041st:9092\n";
  write(corpus / "properties" / "server.properties", Bytes(server.begin(), server.end()));
  std::printf("wrote %zu request seeds and the other corpora to %s\n", requests,
              corpus.string().c_str());
  return 0;
}
