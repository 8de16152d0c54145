#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kb/protocol/api_key.hpp"

namespace kb::protocol {

// The transaction coordinator's markers, and `kafka-transactions abort`'s
// for a hanging transaction (Admin.abortTransaction).
struct WriteTxnMarkersSchema {
  static constexpr ApiKey kApiKey = ApiKey::kWriteTxnMarkers;
  static constexpr VersionRange kVersions{0, 1};  // validVersions "0-1"
  static constexpr int16_t kFirstFlexible = 1;
};

struct WriteTxnMarkersRequest : WriteTxnMarkersSchema {
  struct WritableTxnMarkerTopic {
    std::string_view name;
    std::vector<int32_t> partition_indexes;
    template <class Io>
    void fields(Io& io) {
      io(name);
      io(partition_indexes);
    }
  };
  struct WritableTxnMarker {
    int64_t producer_id = 0;
    int16_t producer_epoch = 0;
    bool transaction_result = false;  // true: COMMIT, false: ABORT
    std::vector<WritableTxnMarkerTopic> topics;
    int32_t coordinator_epoch = 0;
    template <class Io>
    void fields(Io& io) {
      io(producer_id);
      io(producer_epoch);
      io(transaction_result);
      io(topics);
      io(coordinator_epoch);
    }
  };

  std::vector<WritableTxnMarker> markers;

  template <class Io>
  void fields(Io& io) {
    io(markers);
  }
};

struct WriteTxnMarkersResponse : WriteTxnMarkersSchema {
  struct WritableTxnMarkerPartitionResult {
    int32_t partition_index = 0;
    int16_t error_code = 0;
    template <class Io>
    void fields(Io& io) {
      io(partition_index);
      io(error_code);
    }
  };
  struct WritableTxnMarkerTopicResult {
    std::string name;
    std::vector<WritableTxnMarkerPartitionResult> partitions;
    template <class Io>
    void fields(Io& io) {
      io(name);
      io(partitions);
    }
  };
  struct WritableTxnMarkerResult {
    int64_t producer_id = 0;
    std::vector<WritableTxnMarkerTopicResult> topics;
    template <class Io>
    void fields(Io& io) {
      io(producer_id);
      io(topics);
    }
  };

  std::vector<WritableTxnMarkerResult> markers;

  template <class Io>
  void fields(Io& io) {
    io(markers);
  }
};

}  // namespace kb::protocol
