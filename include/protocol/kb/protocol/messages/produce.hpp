#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kb/protocol/api_key.hpp"
#include "kb/wire/serde.hpp"

namespace kb::protocol {

struct ProduceSchema {
  static constexpr ApiKey kApiKey = ApiKey::kProduce;
  static constexpr VersionRange kVersions{0, 11};  // validVersions "0-11"
  static constexpr int16_t kFirstFlexible = 9;
};

struct ProduceRequest : ProduceSchema {
  struct PartitionProduceData {
    int32_t index = 0;
    // Records are nullable in every version, so this is a view that may be null.
    std::optional<wire::Bytes> records;
    template <class Io>
    void fields(Io& io) {
      io(index);
      io(records);
    }
  };
  struct TopicProduceData {
    std::string_view name;
    std::vector<PartitionProduceData> partition_data;
    template <class Io>
    void fields(Io& io) {
      io(name);
      io(partition_data);
    }
  };

  std::optional<std::string_view> transactional_id;  // v3+
  int16_t acks = 0;
  int32_t timeout_ms = 0;
  std::vector<TopicProduceData> topic_data;

  template <class Io>
  void fields(Io& io) {
    if (io.version >= 3) io(transactional_id);
    io(acks);
    io(timeout_ms);
    io(topic_data);
  }
};

struct ProduceResponse : ProduceSchema {
  struct BatchIndexAndErrorMessage {
    int32_t batch_index = 0;
    std::optional<std::string> batch_index_error_message;
    template <class Io>
    void fields(Io& io) {
      io(batch_index);
      io(batch_index_error_message);
    }
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
  struct PartitionProduceResponse {
    int32_t index = 0;
    int16_t error_code = 0;
    int64_t base_offset = 0;
    int64_t log_append_time_ms = -1;                       // v2+
    int64_t log_start_offset = -1;                         // v5+
    std::vector<BatchIndexAndErrorMessage> record_errors;  // v8+
    std::optional<std::string> error_message;              // v8+
    LeaderIdAndEpoch current_leader;                       // tagged, v10+
    template <class Io>
    void fields(Io& io) {
      io(index);
      io(error_code);
      io(base_offset);
      if (io.version >= 2) io(log_append_time_ms);
      if (io.version >= 5) io(log_start_offset);
      if (io.version >= 8) {
        io(record_errors);
        io(error_message);
      }
    }
    template <class Tags>
    void tagged_fields(Tags& t) {
      if (t.version >= 10) t(0, current_leader, LeaderIdAndEpoch{});
    }
  };
  struct TopicProduceResponse {
    std::string name;
    std::vector<PartitionProduceResponse> partition_responses;
    template <class Io>
    void fields(Io& io) {
      io(name);
      io(partition_responses);
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

  std::vector<TopicProduceResponse> responses;
  int32_t throttle_time_ms = 0;              // v1+
  std::vector<NodeEndpoint> node_endpoints;  // tagged, v10+

  template <class Io>
  void fields(Io& io) {
    io(responses);
    if (io.version >= 1) io(throttle_time_ms);
  }
  template <class Tags>
  void tagged_fields(Tags& t) {
    if (t.version >= 10) t(0, node_endpoints);
  }
};

}  // namespace kb::protocol
