#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kb/protocol/api_key.hpp"
#include "kb/wire/uuid.hpp"

namespace kb::protocol {

struct CreateTopicsSchema {
  static constexpr ApiKey kApiKey = ApiKey::kCreateTopics;
  static constexpr VersionRange kVersions{0, 7};  // validVersions "0-7"
  static constexpr int16_t kFirstFlexible = 5;
};

struct CreateTopicsRequest : CreateTopicsSchema {
  struct CreatableReplicaAssignment {
    int32_t partition_index = 0;
    std::vector<int32_t> broker_ids;
    template <class Io>
    void fields(Io& io) {
      io(partition_index);
      io(broker_ids);
    }
  };
  struct CreatableTopicConfig {
    std::string_view name;
    std::optional<std::string_view> value;
    template <class Io>
    void fields(Io& io) {
      io(name);
      io(value);
    }
  };
  struct CreatableTopic {
    std::string_view name;
    int32_t num_partitions = 0;      // -1 with explicit assignments or for the default
    int16_t replication_factor = 0;  // likewise
    std::vector<CreatableReplicaAssignment> assignments;
    std::vector<CreatableTopicConfig> configs;
    template <class Io>
    void fields(Io& io) {
      io(name);
      io(num_partitions);
      io(replication_factor);
      io(assignments);
      io(configs);
    }
  };

  std::vector<CreatableTopic> topics;
  int32_t timeout_ms = 60000;
  bool validate_only = false;  // v1+

  template <class Io>
  void fields(Io& io) {
    io(topics);
    io(timeout_ms);
    if (io.version >= 1) io(validate_only);
  }
};

struct CreateTopicsResponse : CreateTopicsSchema {
  struct CreatableTopicConfigs {
    std::string name;
    std::optional<std::string> value;
    bool read_only = false;
    int8_t config_source = -1;
    bool is_sensitive = false;
    template <class Io>
    void fields(Io& io) {
      io(name);
      io(value);
      io(read_only);
      io(config_source);
      io(is_sensitive);
    }
  };
  struct CreatableTopicResult {
    std::string name;
    wire::Uuid topic_id;  // v7+
    int16_t error_code = 0;
    std::optional<std::string> error_message;                   // v1+
    int16_t topic_config_error_code = 0;                        // tagged, v5+
    int32_t num_partitions = -1;                                // v5+
    int16_t replication_factor = -1;                            // v5+
    std::optional<std::vector<CreatableTopicConfigs>> configs;  // v5+
    template <class Io>
    void fields(Io& io) {
      io(name);
      if (io.version >= 7) io(topic_id);
      io(error_code);
      if (io.version >= 1) io(error_message);
      if (io.version >= 5) {
        io(num_partitions);
        io(replication_factor);
        io(configs);
      }
    }
    template <class Tags>
    void tagged_fields(Tags& t) {
      if (t.version >= 5) t(0, topic_config_error_code, int16_t{0});
    }
  };

  int32_t throttle_time_ms = 0;  // v2+
  std::vector<CreatableTopicResult> topics;

  template <class Io>
  void fields(Io& io) {
    if (io.version >= 2) io(throttle_time_ms);
    io(topics);
  }
};

}  // namespace kb::protocol
