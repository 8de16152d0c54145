#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kb/protocol/api_key.hpp"

namespace kb::protocol {

struct CreatePartitionsSchema {
  static constexpr ApiKey kApiKey = ApiKey::kCreatePartitions;
  static constexpr VersionRange kVersions{0, 3};  // validVersions "0-3"
  static constexpr int16_t kFirstFlexible = 2;
};

struct CreatePartitionsRequest : CreatePartitionsSchema {
  struct CreatePartitionsAssignment {
    std::vector<int32_t> broker_ids;
    template <class Io>
    void fields(Io& io) {
      io(broker_ids);
    }
  };
  struct CreatePartitionsTopic {
    std::string_view name;
    int32_t count = 0;
    std::optional<std::vector<CreatePartitionsAssignment>> assignments;  // null: broker decides
    template <class Io>
    void fields(Io& io) {
      io(name);
      io(count);
      io(assignments);
    }
  };

  std::vector<CreatePartitionsTopic> topics;
  int32_t timeout_ms = 0;
  bool validate_only = false;

  template <class Io>
  void fields(Io& io) {
    io(topics);
    io(timeout_ms);
    io(validate_only);
  }
};

struct CreatePartitionsResponse : CreatePartitionsSchema {
  struct CreatePartitionsTopicResult {
    std::string name;
    int16_t error_code = 0;
    std::optional<std::string> error_message;
    template <class Io>
    void fields(Io& io) {
      io(name);
      io(error_code);
      io(error_message);
    }
  };

  int32_t throttle_time_ms = 0;
  std::vector<CreatePartitionsTopicResult> results;

  template <class Io>
  void fields(Io& io) {
    io(throttle_time_ms);
    io(results);
  }
};

}  // namespace kb::protocol
