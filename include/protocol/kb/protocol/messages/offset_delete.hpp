#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "kb/protocol/api_key.hpp"

namespace kb::protocol {

struct OffsetDeleteSchema {
  static constexpr ApiKey kApiKey = ApiKey::kOffsetDelete;
  static constexpr VersionRange kVersions{0, 0};  // validVersions "0"
  // flexibleVersions "none"
  static constexpr int16_t kFirstFlexible = std::numeric_limits<int16_t>::max();
};

struct OffsetDeleteRequest : OffsetDeleteSchema {
  struct OffsetDeleteRequestPartition {
    int32_t partition_index = 0;
    template <class Io>
    void fields(Io& io) {
      io(partition_index);
    }
  };
  struct OffsetDeleteRequestTopic {
    std::string_view name;
    std::vector<OffsetDeleteRequestPartition> partitions;
    template <class Io>
    void fields(Io& io) {
      io(name);
      io(partitions);
    }
  };

  std::string_view group_id;
  std::vector<OffsetDeleteRequestTopic> topics;

  template <class Io>
  void fields(Io& io) {
    io(group_id);
    io(topics);
  }
};

struct OffsetDeleteResponse : OffsetDeleteSchema {
  struct OffsetDeleteResponsePartition {
    int32_t partition_index = 0;
    int16_t error_code = 0;
    template <class Io>
    void fields(Io& io) {
      io(partition_index);
      io(error_code);
    }
  };
  struct OffsetDeleteResponseTopic {
    std::string name;
    std::vector<OffsetDeleteResponsePartition> partitions;
    template <class Io>
    void fields(Io& io) {
      io(name);
      io(partitions);
    }
  };

  int16_t error_code = 0;
  int32_t throttle_time_ms = 0;
  std::vector<OffsetDeleteResponseTopic> topics;

  template <class Io>
  void fields(Io& io) {
    io(error_code);
    io(throttle_time_ms);
    io(topics);
  }
};

}  // namespace kb::protocol
