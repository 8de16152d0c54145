#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kb/protocol/api_key.hpp"

namespace kb::protocol {

struct OffsetForLeaderEpochSchema {
  static constexpr ApiKey kApiKey = ApiKey::kOffsetForLeaderEpoch;
  static constexpr VersionRange kVersions{0, 4};  // validVersions "0-4"
  static constexpr int16_t kFirstFlexible = 4;
};

struct OffsetForLeaderEpochRequest : OffsetForLeaderEpochSchema {
  struct OffsetForLeaderPartition {
    int32_t partition = 0;
    int32_t current_leader_epoch = -1;  // v2+
    int32_t leader_epoch = 0;
    template <class Io>
    void fields(Io& io) {
      io(partition);
      if (io.version >= 2) io(current_leader_epoch);
      io(leader_epoch);
    }
  };
  struct OffsetForLeaderTopic {
    std::string_view topic;
    std::vector<OffsetForLeaderPartition> partitions;
    template <class Io>
    void fields(Io& io) {
      io(topic);
      io(partitions);
    }
  };

  int32_t replica_id = -2;  // v3+; -1: a consumer
  std::vector<OffsetForLeaderTopic> topics;

  template <class Io>
  void fields(Io& io) {
    if (io.version >= 3) io(replica_id);
    io(topics);
  }
};

struct OffsetForLeaderEpochResponse : OffsetForLeaderEpochSchema {
  struct EpochEndOffset {
    int16_t error_code = 0;
    int32_t partition = 0;
    int32_t leader_epoch = -1;  // v1+
    int64_t end_offset = -1;
    template <class Io>
    void fields(Io& io) {
      io(error_code);
      io(partition);
      if (io.version >= 1) io(leader_epoch);
      io(end_offset);
    }
  };
  struct OffsetForLeaderTopicResult {
    std::string topic;
    std::vector<EpochEndOffset> partitions;
    template <class Io>
    void fields(Io& io) {
      io(topic);
      io(partitions);
    }
  };

  int32_t throttle_time_ms = 0;  // v2+
  std::vector<OffsetForLeaderTopicResult> topics;

  template <class Io>
  void fields(Io& io) {
    if (io.version >= 2) io(throttle_time_ms);
    io(topics);
  }
};

}  // namespace kb::protocol
