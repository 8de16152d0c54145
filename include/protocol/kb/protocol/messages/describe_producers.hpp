#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kb/protocol/api_key.hpp"

namespace kb::protocol {

struct DescribeProducersSchema {
  static constexpr ApiKey kApiKey = ApiKey::kDescribeProducers;
  static constexpr VersionRange kVersions{0, 0};  // validVersions "0"
  static constexpr int16_t kFirstFlexible = 0;
};

struct DescribeProducersRequest : DescribeProducersSchema {
  struct TopicRequest {
    std::string_view name;
    std::vector<int32_t> partition_indexes;
    template <class Io>
    void fields(Io& io) {
      io(name);
      io(partition_indexes);
    }
  };

  std::vector<TopicRequest> topics;

  template <class Io>
  void fields(Io& io) {
    io(topics);
  }
};

struct DescribeProducersResponse : DescribeProducersSchema {
  struct ProducerState {
    int64_t producer_id = 0;
    int32_t producer_epoch = 0;
    int32_t last_sequence = -1;
    int64_t last_timestamp = -1;
    int32_t coordinator_epoch = 0;
    int64_t current_txn_start_offset = -1;
    template <class Io>
    void fields(Io& io) {
      io(producer_id);
      io(producer_epoch);
      io(last_sequence);
      io(last_timestamp);
      io(coordinator_epoch);
      io(current_txn_start_offset);
    }
  };
  struct PartitionResponse {
    int32_t partition_index = 0;
    int16_t error_code = 0;
    std::optional<std::string> error_message;
    std::vector<ProducerState> active_producers;
    template <class Io>
    void fields(Io& io) {
      io(partition_index);
      io(error_code);
      io(error_message);
      io(active_producers);
    }
  };
  struct TopicResponse {
    std::string name;
    std::vector<PartitionResponse> partitions;
    template <class Io>
    void fields(Io& io) {
      io(name);
      io(partitions);
    }
  };

  int32_t throttle_time_ms = 0;
  std::vector<TopicResponse> topics;

  template <class Io>
  void fields(Io& io) {
    io(throttle_time_ms);
    io(topics);
  }
};

}  // namespace kb::protocol
