#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kb/protocol/api_key.hpp"

namespace kb::protocol {

// OffsetFetch: one group up to v7, a batch of groups from v8.
struct OffsetFetchSchema {
  static constexpr ApiKey kApiKey = ApiKey::kOffsetFetch;
  static constexpr VersionRange kVersions{0, 9};  // validVersions "0-9"
  static constexpr int16_t kFirstFlexible = 6;
};

struct OffsetFetchRequest : OffsetFetchSchema {
  struct OffsetFetchRequestTopic {
    std::string_view name;
    std::vector<int32_t> partition_indexes;
    template <class Io>
    void fields(Io& io) {
      io(name);
      io(partition_indexes);
    }
  };
  struct OffsetFetchRequestTopics {
    std::string_view name;
    std::vector<int32_t> partition_indexes;
    template <class Io>
    void fields(Io& io) {
      io(name);
      io(partition_indexes);
    }
  };
  struct OffsetFetchRequestGroup {
    std::string_view group_id;
    std::optional<std::string_view> member_id;                    // v9+
    int32_t member_epoch = -1;                                    // v9+
    std::optional<std::vector<OffsetFetchRequestTopics>> topics;  // null: all topics
    template <class Io>
    void fields(Io& io) {
      io(group_id);
      if (io.version >= 9) {
        io(member_id);
        io(member_epoch);
      }
      io(topics);
    }
  };

  std::string_view group_id;  // v0-7
  // v0-7; nullable from v2 only (null: all topics).
  std::optional<std::vector<OffsetFetchRequestTopic>> topics;
  std::vector<OffsetFetchRequestGroup> groups;  // v8+
  bool require_stable = false;                  // v7+

  template <class Io>
  void fields(Io& io) {
    if (io.version <= 7) {
      io(group_id);
      io(topics);
    }
    if (io.version >= 8) io(groups);
    if (io.version >= 7) io(require_stable);
  }
};

struct OffsetFetchResponse : OffsetFetchSchema {
  struct OffsetFetchResponsePartition {
    int32_t partition_index = 0;
    int64_t committed_offset = 0;
    int32_t committed_leader_epoch = -1;  // v5-7
    std::optional<std::string> metadata;
    int16_t error_code = 0;
    template <class Io>
    void fields(Io& io) {
      io(partition_index);
      io(committed_offset);
      if (io.version >= 5) io(committed_leader_epoch);
      io(metadata);
      io(error_code);
    }
  };
  struct OffsetFetchResponseTopic {
    std::string name;
    std::vector<OffsetFetchResponsePartition> partitions;
    template <class Io>
    void fields(Io& io) {
      io(name);
      io(partitions);
    }
  };
  struct OffsetFetchResponsePartitions {
    int32_t partition_index = 0;
    int64_t committed_offset = 0;
    int32_t committed_leader_epoch = -1;
    std::optional<std::string> metadata;
    int16_t error_code = 0;
    template <class Io>
    void fields(Io& io) {
      io(partition_index);
      io(committed_offset);
      io(committed_leader_epoch);
      io(metadata);
      io(error_code);
    }
  };
  struct OffsetFetchResponseTopics {
    std::string name;
    std::vector<OffsetFetchResponsePartitions> partitions;
    template <class Io>
    void fields(Io& io) {
      io(name);
      io(partitions);
    }
  };
  struct OffsetFetchResponseGroup {
    std::string group_id;
    std::vector<OffsetFetchResponseTopics> topics;
    int16_t error_code = 0;
    template <class Io>
    void fields(Io& io) {
      io(group_id);
      io(topics);
      io(error_code);
    }
  };

  int32_t throttle_time_ms = 0;                  // v3+
  std::vector<OffsetFetchResponseTopic> topics;  // v0-7
  int16_t error_code = 0;                        // v2-7
  std::vector<OffsetFetchResponseGroup> groups;  // v8+

  template <class Io>
  void fields(Io& io) {
    if (io.version >= 3) io(throttle_time_ms);
    if (io.version <= 7) {
      io(topics);
      if (io.version >= 2) io(error_code);
    }
    if (io.version >= 8) io(groups);
  }
};

}  // namespace kb::protocol
