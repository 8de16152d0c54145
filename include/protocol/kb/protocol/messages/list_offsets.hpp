#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kb/protocol/api_key.hpp"

namespace kb::protocol {

struct ListOffsetsSchema {
  static constexpr ApiKey kApiKey = ApiKey::kListOffsets;
  static constexpr VersionRange kVersions{0, 10};  // validVersions "0-10"
  static constexpr int16_t kFirstFlexible = 6;
};

struct ListOffsetsRequest : ListOffsetsSchema {
  struct ListOffsetsPartition {
    int32_t partition_index = 0;
    int32_t current_leader_epoch = -1;  // v4+
    int64_t timestamp = 0;
    int32_t max_num_offsets = 1;  // v0 only
    template <class Io>
    void fields(Io& io) {
      io(partition_index);
      if (io.version >= 4) io(current_leader_epoch);
      io(timestamp);
      if (io.version == 0) io(max_num_offsets);
    }
  };
  struct ListOffsetsTopic {
    std::string_view name;
    std::vector<ListOffsetsPartition> partitions;
    template <class Io>
    void fields(Io& io) {
      io(name);
      io(partitions);
    }
  };

  int32_t replica_id = 0;
  int8_t isolation_level = 0;  // v2+
  std::vector<ListOffsetsTopic> topics;
  int32_t timeout_ms = 0;  // v10+

  template <class Io>
  void fields(Io& io) {
    io(replica_id);
    if (io.version >= 2) io(isolation_level);
    io(topics);
    if (io.version >= 10) io(timeout_ms);
  }
};

struct ListOffsetsResponse : ListOffsetsSchema {
  struct ListOffsetsPartitionResponse {
    int32_t partition_index = 0;
    int16_t error_code = 0;
    std::vector<int64_t> old_style_offsets;  // v0 only
    int64_t timestamp = -1;                  // v1+
    int64_t offset = -1;                     // v1+
    int32_t leader_epoch = -1;               // v4+
    template <class Io>
    void fields(Io& io) {
      io(partition_index);
      io(error_code);
      if (io.version == 0) io(old_style_offsets);
      if (io.version >= 1) {
        io(timestamp);
        io(offset);
      }
      if (io.version >= 4) io(leader_epoch);
    }
  };
  struct ListOffsetsTopicResponse {
    std::string name;
    std::vector<ListOffsetsPartitionResponse> partitions;
    template <class Io>
    void fields(Io& io) {
      io(name);
      io(partitions);
    }
  };

  int32_t throttle_time_ms = 0;  // v2+
  std::vector<ListOffsetsTopicResponse> topics;

  template <class Io>
  void fields(Io& io) {
    if (io.version >= 2) io(throttle_time_ms);
    io(topics);
  }
};

}  // namespace kb::protocol
