#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kb/protocol/api_key.hpp"

namespace kb::protocol {

struct DescribeLogDirsSchema {
  static constexpr ApiKey kApiKey = ApiKey::kDescribeLogDirs;
  static constexpr VersionRange kVersions{0, 4};  // validVersions "0-4"
  static constexpr int16_t kFirstFlexible = 2;
};

struct DescribeLogDirsRequest : DescribeLogDirsSchema {
  struct DescribableLogDirTopic {
    std::string_view topic;
    std::vector<int32_t> partitions;
    template <class Io>
    void fields(Io& io) {
      io(topic);
      io(partitions);
    }
  };

  // Null: every partition of every topic.
  std::optional<std::vector<DescribableLogDirTopic>> topics;

  template <class Io>
  void fields(Io& io) {
    io(topics);
  }
};

struct DescribeLogDirsResponse : DescribeLogDirsSchema {
  struct DescribeLogDirsPartition {
    int32_t partition_index = 0;
    int64_t partition_size = 0;
    int64_t offset_lag = 0;
    bool is_future_key = false;
    template <class Io>
    void fields(Io& io) {
      io(partition_index);
      io(partition_size);
      io(offset_lag);
      io(is_future_key);
    }
  };
  struct DescribeLogDirsTopic {
    std::string name;
    std::vector<DescribeLogDirsPartition> partitions;
    template <class Io>
    void fields(Io& io) {
      io(name);
      io(partitions);
    }
  };
  struct DescribeLogDirsResult {
    int16_t error_code = 0;
    std::string log_dir;
    std::vector<DescribeLogDirsTopic> topics;
    int64_t total_bytes = -1;   // v4+
    int64_t usable_bytes = -1;  // v4+
    template <class Io>
    void fields(Io& io) {
      io(error_code);
      io(log_dir);
      io(topics);
      if (io.version >= 4) {
        io(total_bytes);
        io(usable_bytes);
      }
    }
  };

  int32_t throttle_time_ms = 0;
  int16_t error_code = 0;  // v3+
  std::vector<DescribeLogDirsResult> results;

  template <class Io>
  void fields(Io& io) {
    io(throttle_time_ms);
    if (io.version >= 3) io(error_code);
    io(results);
  }
};

}  // namespace kb::protocol
