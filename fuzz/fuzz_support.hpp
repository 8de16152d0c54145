#pragma once

// Shared by the fuzz targets and the seed generator: a temporary directory
// that removes itself, and the list of every request message the broker
// serves (so each can be decoded at each of its versions), checked against
// the broker's registry.

#include <spdlog/spdlog.h>
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <tuple>

#include "kb/handlers/api_registry.hpp"
#include "kb/protocol/messages/acls.hpp"
#include "kb/protocol/messages/alter_configs.hpp"
#include "kb/protocol/messages/api_versions.hpp"
#include "kb/protocol/messages/client_quotas.hpp"
#include "kb/protocol/messages/consumer_group_describe.hpp"
#include "kb/protocol/messages/consumer_group_heartbeat.hpp"
#include "kb/protocol/messages/create_partitions.hpp"
#include "kb/protocol/messages/create_topics.hpp"
#include "kb/protocol/messages/delete_groups.hpp"
#include "kb/protocol/messages/delete_records.hpp"
#include "kb/protocol/messages/delete_topics.hpp"
#include "kb/protocol/messages/describe_cluster.hpp"
#include "kb/protocol/messages/describe_configs.hpp"
#include "kb/protocol/messages/describe_groups.hpp"
#include "kb/protocol/messages/describe_log_dirs.hpp"
#include "kb/protocol/messages/describe_producers.hpp"
#include "kb/protocol/messages/describe_topic_partitions.hpp"
#include "kb/protocol/messages/elect_leaders.hpp"
#include "kb/protocol/messages/fetch.hpp"
#include "kb/protocol/messages/find_coordinator.hpp"
#include "kb/protocol/messages/heartbeat.hpp"
#include "kb/protocol/messages/incremental_alter_configs.hpp"
#include "kb/protocol/messages/init_producer_id.hpp"
#include "kb/protocol/messages/join_group.hpp"
#include "kb/protocol/messages/leave_group.hpp"
#include "kb/protocol/messages/list_groups.hpp"
#include "kb/protocol/messages/list_offsets.hpp"
#include "kb/protocol/messages/metadata.hpp"
#include "kb/protocol/messages/offset_commit.hpp"
#include "kb/protocol/messages/offset_delete.hpp"
#include "kb/protocol/messages/offset_fetch.hpp"
#include "kb/protocol/messages/offset_for_leader_epoch.hpp"
#include "kb/protocol/messages/partition_reassignments.hpp"
#include "kb/protocol/messages/produce.hpp"
#include "kb/protocol/messages/sasl.hpp"
#include "kb/protocol/messages/share_acknowledge.hpp"
#include "kb/protocol/messages/share_fetch.hpp"
#include "kb/protocol/messages/share_group_describe.hpp"
#include "kb/protocol/messages/share_group_heartbeat.hpp"
#include "kb/protocol/messages/share_group_offsets.hpp"
#include "kb/protocol/messages/sync_group.hpp"
#include "kb/protocol/messages/transactions.hpp"
#include "kb/protocol/messages/user_scram_credentials.hpp"
#include "kb/protocol/messages/write_txn_markers.hpp"
#include "kb/storage/record_batch.hpp"

namespace kb::fuzz {

using AllRequests = std::tuple<
    protocol::ProduceRequest, protocol::FetchRequest, protocol::ListOffsetsRequest,
    protocol::MetadataRequest, protocol::OffsetCommitRequest, protocol::OffsetFetchRequest,
    protocol::FindCoordinatorRequest, protocol::JoinGroupRequest, protocol::HeartbeatRequest,
    protocol::LeaveGroupRequest, protocol::SyncGroupRequest, protocol::DescribeGroupsRequest,
    protocol::ListGroupsRequest, protocol::ApiVersionsRequest, protocol::CreateTopicsRequest,
    protocol::DeleteTopicsRequest, protocol::InitProducerIdRequest,
    protocol::CreatePartitionsRequest, protocol::DescribeTopicPartitionsRequest,
    protocol::DeleteGroupsRequest, protocol::OffsetDeleteRequest, protocol::DescribeConfigsRequest,
    protocol::AlterConfigsRequest, protocol::IncrementalAlterConfigsRequest,
    protocol::DescribeClusterRequest, protocol::OffsetForLeaderEpochRequest,
    protocol::DeleteRecordsRequest, protocol::DescribeLogDirsRequest,
    protocol::DescribeProducersRequest, protocol::ElectLeadersRequest,
    protocol::AlterPartitionReassignmentsRequest, protocol::ListPartitionReassignmentsRequest,
    protocol::DescribeAclsRequest, protocol::CreateAclsRequest, protocol::DeleteAclsRequest,
    protocol::ConsumerGroupHeartbeatRequest, protocol::ConsumerGroupDescribeRequest,
    protocol::ShareGroupHeartbeatRequest, protocol::ShareGroupDescribeRequest,
    protocol::AddPartitionsToTxnRequest, protocol::AddOffsetsToTxnRequest, protocol::EndTxnRequest,
    protocol::TxnOffsetCommitRequest, protocol::ListTransactionsRequest,
    protocol::DescribeTransactionsRequest, protocol::WriteTxnMarkersRequest,
    protocol::SaslHandshakeRequest, protocol::SaslAuthenticateRequest,
    protocol::DescribeUserScramCredentialsRequest, protocol::AlterUserScramCredentialsRequest,
    protocol::DescribeClientQuotasRequest, protocol::AlterClientQuotasRequest,
    protocol::ShareFetchRequest, protocol::ShareAcknowledgeRequest,
    protocol::DescribeShareGroupOffsetsRequest, protocol::AlterShareGroupOffsetsRequest,
    protocol::DeleteShareGroupOffsetsRequest>;

// Calls f(Request{}) for the request type of every api key.
template <class F>
void for_each_request(F&& f) {
  std::apply([&](auto... requests) { (f(requests), ...); }, AllRequests{});
}

// What keeps AllRequests from matching the APIs `registry` serves (an api key
// served but not listed, listed twice or not served, or served at versions its
// message does not define); empty when they match. A fuzzer that missed an
// API would pass without ever decoding it.
inline std::string request_list_mismatch(const handlers::ApiRegistry& registry) {
  std::string problems;
  std::set<int16_t> listed;
  for_each_request([&]<class Request>(const Request&) {
    const auto key = static_cast<int16_t>(Request::kApiKey);
    const handlers::ApiEntry* entry = registry.find(key);
    if (!listed.insert(key).second)
      problems += "api key " + std::to_string(key) + " is listed twice; ";
    else if (entry == nullptr)
      problems += "api key " + std::to_string(key) + " is listed but not served; ";
    else if (entry->versions.min < Request::kVersions.min ||
             entry->versions.max > Request::kVersions.max)
      problems += std::string(entry->name) + " is served at versions its message lacks; ";
  });
  for (const handlers::ApiEntry& entry : registry.entries())
    if (!listed.contains(static_cast<int16_t>(entry.key)))
      problems += std::string(entry.name) + " is served but not in AllRequests; ";
  return problems;
}

class TempDir {
 public:
  explicit TempDir(const std::string& prefix) {
    std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "XXXXXX")).string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline void write_file(const std::filesystem::path& path, std::span<const uint8_t> bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

// Gives every batch in `bytes` (walked by its length field) a correct CRC, so
// mutations reach the records behind the checksum.
inline void fix_batch_crcs(std::span<uint8_t> bytes) {
  namespace layout = storage::batch_layout;
  size_t pos = 0;
  while (bytes.size() - pos >= layout::kHeaderSize) {
    const uint8_t* p = bytes.data() + pos + layout::kBatchLength;
    const int64_t length = static_cast<int32_t>((uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) |
                                                (uint32_t{p[2]} << 8) | uint32_t{p[3]});
    if (length < layout::kMinBatchLength ||
        static_cast<uint64_t>(length) > bytes.size() - pos - layout::kLogOverhead)
      return;
    const size_t total = static_cast<size_t>(length) + layout::kLogOverhead;
    storage::update_batch_crc(bytes.subspan(pos, total));
    pos += total;
  }
}

// Fuzzing runs millions of inputs: warnings about bad input would drown the output.
inline void quiet_logs() { spdlog::set_level(spdlog::level::off); }

}  // namespace kb::fuzz
