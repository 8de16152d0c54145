#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kb/protocol/api_key.hpp"
#include "kb/wire/uuid.hpp"

namespace kb::protocol {

// DeleteTopics: topics are named up to v5; from v6 by name or by id.
struct DeleteTopicsSchema {
  static constexpr ApiKey kApiKey = ApiKey::kDeleteTopics;
  static constexpr VersionRange kVersions{0, 6};  // validVersions "0-6"
  static constexpr int16_t kFirstFlexible = 4;
};

struct DeleteTopicsRequest : DeleteTopicsSchema {
  struct DeleteTopicState {
    std::optional<std::string_view> name;
    wire::Uuid topic_id;
    template <class Io>
    void fields(Io& io) {
      io(name);
      io(topic_id);
    }
  };

  std::vector<DeleteTopicState> topics;       // v6+
  std::vector<std::string_view> topic_names;  // v0-5
  int32_t timeout_ms = 0;

  template <class Io>
  void fields(Io& io) {
    if (io.version >= 6) io(topics);
    if (io.version <= 5) io(topic_names);
    io(timeout_ms);
  }
};

struct DeleteTopicsResponse : DeleteTopicsSchema {
  struct DeletableTopicResult {
    std::optional<std::string> name;  // nullable from v6 only
    wire::Uuid topic_id;              // v6+
    int16_t error_code = 0;
    std::optional<std::string> error_message;  // v5+
    template <class Io>
    void fields(Io& io) {
      io(name);
      if (io.version >= 6) io(topic_id);
      io(error_code);
      if (io.version >= 5) io(error_message);
    }
  };

  int32_t throttle_time_ms = 0;  // v1+
  std::vector<DeletableTopicResult> responses;

  template <class Io>
  void fields(Io& io) {
    if (io.version >= 1) io(throttle_time_ms);
    io(responses);
  }
};

}  // namespace kb::protocol
