#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kb/protocol/api_key.hpp"

namespace kb::protocol {

struct DeleteRecordsSchema {
  static constexpr ApiKey kApiKey = ApiKey::kDeleteRecords;
  static constexpr VersionRange kVersions{0, 2};  // validVersions "0-2"
  static constexpr int16_t kFirstFlexible = 2;
};

struct DeleteRecordsRequest : DeleteRecordsSchema {
  struct DeleteRecordsPartition {
    int32_t partition_index = 0;
    int64_t offset = 0;  // -1: the high watermark
    template <class Io>
    void fields(Io& io) {
      io(partition_index);
      io(offset);
    }
  };
  struct DeleteRecordsTopic {
    std::string_view name;
    std::vector<DeleteRecordsPartition> partitions;
    template <class Io>
    void fields(Io& io) {
      io(name);
      io(partitions);
    }
  };

  std::vector<DeleteRecordsTopic> topics;
  int32_t timeout_ms = 0;

  template <class Io>
  void fields(Io& io) {
    io(topics);
    io(timeout_ms);
  }
};

struct DeleteRecordsResponse : DeleteRecordsSchema {
  struct DeleteRecordsPartitionResult {
    int32_t partition_index = 0;
    int64_t low_watermark = 0;
    int16_t error_code = 0;
    template <class Io>
    void fields(Io& io) {
      io(partition_index);
      io(low_watermark);
      io(error_code);
    }
  };
  struct DeleteRecordsTopicResult {
    std::string name;
    std::vector<DeleteRecordsPartitionResult> partitions;
    template <class Io>
    void fields(Io& io) {
      io(name);
      io(partitions);
    }
  };

  int32_t throttle_time_ms = 0;
  std::vector<DeleteRecordsTopicResult> topics;

  template <class Io>
  void fields(Io& io) {
    io(throttle_time_ms);
    io(topics);
  }
};

}  // namespace kb::protocol
