#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kb/protocol/api_key.hpp"
#include "kb/wire/serde.hpp"

namespace kb::protocol {

// Fetch: topics are named up to v12 and identified by id from v13.
struct FetchSchema {
  static constexpr ApiKey kApiKey = ApiKey::kFetch;
  static constexpr VersionRange kVersions{0, 17};  // validVersions "0-17"
  static constexpr int16_t kFirstFlexible = 12;
};

struct FetchRequest : FetchSchema {
  struct ReplicaState {
    int32_t replica_id = -1;
    int64_t replica_epoch = -1;
    template <class Io>
    void fields(Io& io) {
      io(replica_id);
      io(replica_epoch);
    }
    bool operator==(const ReplicaState&) const = default;
  };
  struct FetchPartition {
    int32_t partition = 0;
    int32_t current_leader_epoch = -1;
    int64_t fetch_offset = 0;
    int32_t last_fetched_epoch = -1;
    int64_t log_start_offset = -1;
    int32_t partition_max_bytes = 0;
    wire::Uuid replica_directory_id;  // tagged, v17+
    template <class Io>
    void fields(Io& io) {
      io(partition);
      if (io.version >= 9) io(current_leader_epoch);
      io(fetch_offset);
      if (io.version >= 12) io(last_fetched_epoch);
      if (io.version >= 5) io(log_start_offset);
      io(partition_max_bytes);
    }
    template <class Tags>
    void tagged_fields(Tags& t) {
      if (t.version >= 17) t(0, replica_directory_id, wire::Uuid{});
    }
  };
  struct FetchTopic {
    std::string_view topic;  // v0-12
    wire::Uuid topic_id;     // v13+
    std::vector<FetchPartition> partitions;
    template <class Io>
    void fields(Io& io) {
      if (io.version <= 12) io(topic);
      if (io.version >= 13) io(topic_id);
      io(partitions);
    }
  };
  struct ForgottenTopic {
    std::string_view topic;  // v7-12
    wire::Uuid topic_id;     // v13+
    std::vector<int32_t> partitions;
    template <class Io>
    void fields(Io& io) {
      if (io.version <= 12) io(topic);
      if (io.version >= 13) io(topic_id);
      io(partitions);
    }
  };

  std::optional<std::string_view> cluster_id;  // tagged, v12+
  int32_t replica_id = -1;                     // v0-14; then in replica_state
  ReplicaState replica_state;                  // tagged, v15+
  int32_t max_wait_ms = 0;
  int32_t min_bytes = 0;
  int32_t max_bytes = 0x7fffffff;
  int8_t isolation_level = 0;
  int32_t session_id = 0;
  int32_t session_epoch = -1;
  std::vector<FetchTopic> topics;
  std::vector<ForgottenTopic> forgotten_topics_data;  // v7+
  std::string_view rack_id;                           // v11+

  template <class Io>
  void fields(Io& io) {
    if (io.version <= 14) io(replica_id);
    io(max_wait_ms);
    io(min_bytes);
    if (io.version >= 3) io(max_bytes);
    if (io.version >= 4) io(isolation_level);
    if (io.version >= 7) {
      io(session_id);
      io(session_epoch);
    }
    io(topics);
    if (io.version >= 7) io(forgotten_topics_data);
    if (io.version >= 11) io(rack_id);
  }
  template <class Tags>
  void tagged_fields(Tags& t) {
    if (t.version >= 12) t(0, cluster_id, std::optional<std::string_view>{});
    if (t.version >= 15) t(1, replica_state, ReplicaState{});
  }
};

struct FetchResponse : FetchSchema {
  struct EpochEndOffset {
    int32_t epoch = -1;
    int64_t end_offset = -1;
    template <class Io>
    void fields(Io& io) {
      io(epoch);
      io(end_offset);
    }
    bool operator==(const EpochEndOffset&) const = default;
  };
  struct LeaderIdAndEpoch {
    int32_t leader_id = -1;
    int32_t leader_epoch = -1;
    template <class Io>
    void fields(Io& io) {
      io(leader_id);
      io(leader_epoch);
    }
    bool operator==(const LeaderIdAndEpoch&) const = default;
  };
  struct SnapshotId {
    int64_t end_offset = -1;
    int32_t epoch = -1;
    template <class Io>
    void fields(Io& io) {
      io(end_offset);
      io(epoch);
    }
    bool operator==(const SnapshotId&) const = default;
  };
  struct AbortedTransaction {
    int64_t producer_id = 0;
    int64_t first_offset = 0;
    template <class Io>
    void fields(Io& io) {
      io(producer_id);
      io(first_offset);
    }
  };
  struct PartitionData {
    int32_t partition_index = 0;
    int16_t error_code = 0;
    int64_t high_watermark = 0;
    int64_t last_stable_offset = -1;                                      // v4+
    int64_t log_start_offset = -1;                                        // v5+
    EpochEndOffset diverging_epoch;                                       // tagged, v12+
    LeaderIdAndEpoch current_leader;                                      // tagged, v12+
    SnapshotId snapshot_id;                                               // tagged, v12+
    std::optional<std::vector<AbortedTransaction>> aborted_transactions;  // v4+
    int32_t preferred_read_replica = -1;                                  // v11+
    wire::Records records;
    template <class Io>
    void fields(Io& io) {
      io(partition_index);
      io(error_code);
      io(high_watermark);
      if (io.version >= 4) io(last_stable_offset);
      if (io.version >= 5) io(log_start_offset);
      if (io.version >= 4) io(aborted_transactions);
      if (io.version >= 11) io(preferred_read_replica);
      io(records);
    }
    template <class Tags>
    void tagged_fields(Tags& t) {
      if (t.version < 12) return;
      t(0, diverging_epoch, EpochEndOffset{});
      t(1, current_leader, LeaderIdAndEpoch{});
      t(2, snapshot_id, SnapshotId{});
    }
  };
  struct FetchableTopicResponse {
    std::string topic;    // v0-12
    wire::Uuid topic_id;  // v13+
    std::vector<PartitionData> partitions;
    template <class Io>
    void fields(Io& io) {
      if (io.version <= 12) io(topic);
      if (io.version >= 13) io(topic_id);
      io(partitions);
    }
  };
  struct NodeEndpoint {
    int32_t node_id = 0;
    std::string host;
    int32_t port = 0;
    std::optional<std::string> rack;
    template <class Io>
    void fields(Io& io) {
      io(node_id);
      io(host);
      io(port);
      io(rack);
    }
    bool operator==(const NodeEndpoint&) const = default;
  };

  int32_t throttle_time_ms = 0;  // v1+
  int16_t error_code = 0;        // v7+
  int32_t session_id = 0;        // v7+
  std::vector<FetchableTopicResponse> responses;
  std::vector<NodeEndpoint> node_endpoints;  // tagged, v16+

  template <class Io>
  void fields(Io& io) {
    if (io.version >= 1) io(throttle_time_ms);
    if (io.version >= 7) {
      io(error_code);
      io(session_id);
    }
    io(responses);
  }
  template <class Tags>
  void tagged_fields(Tags& t) {
    if (t.version >= 16) t(0, node_endpoints);
  }
};

}  // namespace kb::protocol
