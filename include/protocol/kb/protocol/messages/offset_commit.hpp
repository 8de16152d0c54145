#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kb/protocol/api_key.hpp"

namespace kb::protocol {

struct OffsetCommitSchema {
  static constexpr ApiKey kApiKey = ApiKey::kOffsetCommit;
  static constexpr VersionRange kVersions{0, 9};  // validVersions "0-9"
  static constexpr int16_t kFirstFlexible = 8;
};

struct OffsetCommitRequest : OffsetCommitSchema {
  struct OffsetCommitRequestPartition {
    int32_t partition_index = 0;
    int64_t committed_offset = 0;
    int32_t committed_leader_epoch = -1;  // v6+
    int64_t commit_timestamp = -1;        // v1 only
    std::optional<std::string_view> committed_metadata;
    template <class Io>
    void fields(Io& io) {
      io(partition_index);
      io(committed_offset);
      if (io.version >= 6) io(committed_leader_epoch);
      if (io.version == 1) io(commit_timestamp);
      io(committed_metadata);
    }
  };
  struct OffsetCommitRequestTopic {
    std::string_view name;
    std::vector<OffsetCommitRequestPartition> partitions;
    template <class Io>
    void fields(Io& io) {
      io(name);
      io(partitions);
    }
  };

  std::string_view group_id;
  int32_t generation_id_or_member_epoch = -1;         // v1+
  std::string_view member_id;                         // v1+
  std::optional<std::string_view> group_instance_id;  // v7+
  int64_t retention_time_ms = -1;                     // v2-4
  std::vector<OffsetCommitRequestTopic> topics;

  template <class Io>
  void fields(Io& io) {
    io(group_id);
    if (io.version >= 1) {
      io(generation_id_or_member_epoch);
      io(member_id);
    }
    if (io.version >= 7) io(group_instance_id);
    if (io.version >= 2 && io.version <= 4) io(retention_time_ms);
    io(topics);
  }
};

struct OffsetCommitResponse : OffsetCommitSchema {
  struct OffsetCommitResponsePartition {
    int32_t partition_index = 0;
    int16_t error_code = 0;
    template <class Io>
    void fields(Io& io) {
      io(partition_index);
      io(error_code);
    }
  };
  struct OffsetCommitResponseTopic {
    std::string name;
    std::vector<OffsetCommitResponsePartition> partitions;
    template <class Io>
    void fields(Io& io) {
      io(name);
      io(partitions);
    }
  };

  int32_t throttle_time_ms = 0;  // v3+
  std::vector<OffsetCommitResponseTopic> topics;

  template <class Io>
  void fields(Io& io) {
    if (io.version >= 3) io(throttle_time_ms);
    io(topics);
  }
};

}  // namespace kb::protocol
