#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "kb/protocol/api_key.hpp"

namespace kb::protocol {

struct InitProducerIdSchema {
  static constexpr ApiKey kApiKey = ApiKey::kInitProducerId;
  static constexpr VersionRange kVersions{0, 5};  // validVersions "0-5"
  static constexpr int16_t kFirstFlexible = 2;
};

struct InitProducerIdRequest : InitProducerIdSchema {
  std::optional<std::string_view> transactional_id;  // null: idempotent producer
  int32_t transaction_timeout_ms = 0;
  int64_t producer_id = -1;     // v3+
  int16_t producer_epoch = -1;  // v3+

  template <class Io>
  void fields(Io& io) {
    io(transactional_id);
    io(transaction_timeout_ms);
    if (io.version >= 3) {
      io(producer_id);
      io(producer_epoch);
    }
  }
};

struct InitProducerIdResponse : InitProducerIdSchema {
  int32_t throttle_time_ms = 0;
  int16_t error_code = 0;
  int64_t producer_id = -1;
  int16_t producer_epoch = 0;

  template <class Io>
  void fields(Io& io) {
    io(throttle_time_ms);
    io(error_code);
    io(producer_id);
    io(producer_epoch);
  }
};

}  // namespace kb::protocol
