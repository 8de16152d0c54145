#pragma once

// The transactional producer's APIs: AddPartitionsToTxn, AddOffsetsToTxn,
// EndTxn and TxnOffsetCommit.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kb/protocol/api_key.hpp"

namespace kb::protocol {

struct AddPartitionsToTxnSchema {
  static constexpr ApiKey kApiKey = ApiKey::kAddPartitionsToTxn;
  static constexpr VersionRange kVersions{0, 5};  // validVersions "0-5"
  static constexpr int16_t kFirstFlexible = 3;
};

struct AddPartitionsToTxnRequest : AddPartitionsToTxnSchema {
  struct AddPartitionsToTxnTopic {
    std::string_view name;
    std::vector<int32_t> partitions;
    template <class Io>
    void fields(Io& io) {
      io(name);
      io(partitions);
    }
  };
  // v4+: one entry per transaction (brokers' verification batches them).
  struct AddPartitionsToTxnTransaction {
    std::string_view transactional_id;
    int64_t producer_id = -1;
    int16_t producer_epoch = -1;
    bool verify_only = false;
    std::vector<AddPartitionsToTxnTopic> topics;
    template <class Io>
    void fields(Io& io) {
      io(transactional_id);
      io(producer_id);
      io(producer_epoch);
      io(verify_only);
      io(topics);
    }
  };

  std::vector<AddPartitionsToTxnTransaction> transactions;   // v4+
  std::string_view v3_and_below_transactional_id;            // v0-3
  int64_t v3_and_below_producer_id = -1;                     // v0-3
  int16_t v3_and_below_producer_epoch = -1;                  // v0-3
  std::vector<AddPartitionsToTxnTopic> v3_and_below_topics;  // v0-3

  template <class Io>
  void fields(Io& io) {
    if (io.version >= 4) {
      io(transactions);
    } else {
      io(v3_and_below_transactional_id);
      io(v3_and_below_producer_id);
      io(v3_and_below_producer_epoch);
      io(v3_and_below_topics);
    }
  }
};

struct AddPartitionsToTxnResponse : AddPartitionsToTxnSchema {
  struct AddPartitionsToTxnPartitionResult {
    int32_t partition_index = 0;
    int16_t partition_error_code = 0;
    template <class Io>
    void fields(Io& io) {
      io(partition_index);
      io(partition_error_code);
    }
  };
  struct AddPartitionsToTxnTopicResult {
    std::string name;
    std::vector<AddPartitionsToTxnPartitionResult> results_by_partition;
    template <class Io>
    void fields(Io& io) {
      io(name);
      io(results_by_partition);
    }
  };
  struct AddPartitionsToTxnResult {
    std::string transactional_id;
    std::vector<AddPartitionsToTxnTopicResult> topic_results;
    template <class Io>
    void fields(Io& io) {
      io(transactional_id);
      io(topic_results);
    }
  };

  int32_t throttle_time_ms = 0;
  int16_t error_code = 0;                                                    // v4+
  std::vector<AddPartitionsToTxnResult> results_by_transaction;              // v4+
  std::vector<AddPartitionsToTxnTopicResult> results_by_topic_v3_and_below;  // v0-3

  template <class Io>
  void fields(Io& io) {
    io(throttle_time_ms);
    if (io.version >= 4) {
      io(error_code);
      io(results_by_transaction);
    } else {
      io(results_by_topic_v3_and_below);
    }
  }
};

struct AddOffsetsToTxnSchema {
  static constexpr ApiKey kApiKey = ApiKey::kAddOffsetsToTxn;
  static constexpr VersionRange kVersions{0, 4};  // validVersions "0-4"
  static constexpr int16_t kFirstFlexible = 3;
};

struct AddOffsetsToTxnRequest : AddOffsetsToTxnSchema {
  std::string_view transactional_id;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  std::string_view group_id;

  template <class Io>
  void fields(Io& io) {
    io(transactional_id);
    io(producer_id);
    io(producer_epoch);
    io(group_id);
  }
};

struct AddOffsetsToTxnResponse : AddOffsetsToTxnSchema {
  int32_t throttle_time_ms = 0;
  int16_t error_code = 0;

  template <class Io>
  void fields(Io& io) {
    io(throttle_time_ms);
    io(error_code);
  }
};

struct EndTxnSchema {
  static constexpr ApiKey kApiKey = ApiKey::kEndTxn;
  static constexpr VersionRange kVersions{0, 5};  // validVersions "0-5"
  static constexpr int16_t kFirstFlexible = 3;
};

struct EndTxnRequest : EndTxnSchema {
  std::string_view transactional_id;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  bool committed = false;

  template <class Io>
  void fields(Io& io) {
    io(transactional_id);
    io(producer_id);
    io(producer_epoch);
    io(committed);
  }
};

struct EndTxnResponse : EndTxnSchema {
  int32_t throttle_time_ms = 0;
  int16_t error_code = 0;
  int64_t producer_id = -1;     // v5+
  int16_t producer_epoch = -1;  // v5+

  template <class Io>
  void fields(Io& io) {
    io(throttle_time_ms);
    io(error_code);
    if (io.version >= 5) {
      io(producer_id);
      io(producer_epoch);
    }
  }
};

struct TxnOffsetCommitSchema {
  static constexpr ApiKey kApiKey = ApiKey::kTxnOffsetCommit;
  static constexpr VersionRange kVersions{0, 5};  // validVersions "0-5" (Kafka 4.x)
  static constexpr int16_t kFirstFlexible = 3;
};

struct TxnOffsetCommitRequest : TxnOffsetCommitSchema {
  struct TxnOffsetCommitRequestPartition {
    int32_t partition_index = 0;
    int64_t committed_offset = 0;
    int32_t committed_leader_epoch = -1;  // v2+
    std::optional<std::string_view> committed_metadata;
    template <class Io>
    void fields(Io& io) {
      io(partition_index);
      io(committed_offset);
      if (io.version >= 2) io(committed_leader_epoch);
      io(committed_metadata);
    }
  };
  struct TxnOffsetCommitRequestTopic {
    std::string_view name;
    std::vector<TxnOffsetCommitRequestPartition> partitions;
    template <class Io>
    void fields(Io& io) {
      io(name);
      io(partitions);
    }
  };

  std::string_view transactional_id;
  std::string_view group_id;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t generation_id = -1;                         // v3+
  std::string_view member_id;                         // v3+
  std::optional<std::string_view> group_instance_id;  // v3+
  std::vector<TxnOffsetCommitRequestTopic> topics;

  template <class Io>
  void fields(Io& io) {
    io(transactional_id);
    io(group_id);
    io(producer_id);
    io(producer_epoch);
    if (io.version >= 3) {
      io(generation_id);
      io(member_id);
      io(group_instance_id);
    }
    io(topics);
  }
};

struct TxnOffsetCommitResponse : TxnOffsetCommitSchema {
  struct TxnOffsetCommitResponsePartition {
    int32_t partition_index = 0;
    int16_t error_code = 0;
    template <class Io>
    void fields(Io& io) {
      io(partition_index);
      io(error_code);
    }
  };
  struct TxnOffsetCommitResponseTopic {
    std::string name;
    std::vector<TxnOffsetCommitResponsePartition> partitions;
    template <class Io>
    void fields(Io& io) {
      io(name);
      io(partitions);
    }
  };

  int32_t throttle_time_ms = 0;
  std::vector<TxnOffsetCommitResponseTopic> topics;

  template <class Io>
  void fields(Io& io) {
    io(throttle_time_ms);
    io(topics);
  }
};

struct ListTransactionsSchema {
  static constexpr ApiKey kApiKey = ApiKey::kListTransactions;
  static constexpr VersionRange kVersions{0, 1};  // validVersions "0-1"
  static constexpr int16_t kFirstFlexible = 0;
};

struct ListTransactionsRequest : ListTransactionsSchema {
  std::vector<std::string_view> state_filters;
  std::vector<int64_t> producer_id_filters;
  int64_t duration_filter = -1;  // v1+

  template <class Io>
  void fields(Io& io) {
    io(state_filters);
    io(producer_id_filters);
    if (io.version >= 1) io(duration_filter);
  }
};

struct ListTransactionsResponse : ListTransactionsSchema {
  struct TransactionState {
    std::string transactional_id;
    int64_t producer_id = -1;
    std::string transaction_state;
    template <class Io>
    void fields(Io& io) {
      io(transactional_id);
      io(producer_id);
      io(transaction_state);
    }
  };

  int32_t throttle_time_ms = 0;
  int16_t error_code = 0;
  std::vector<std::string> unknown_state_filters;
  std::vector<TransactionState> transaction_states;

  template <class Io>
  void fields(Io& io) {
    io(throttle_time_ms);
    io(error_code);
    io(unknown_state_filters);
    io(transaction_states);
  }
};

struct DescribeTransactionsSchema {
  static constexpr ApiKey kApiKey = ApiKey::kDescribeTransactions;
  static constexpr VersionRange kVersions{0, 0};  // validVersions "0"
  static constexpr int16_t kFirstFlexible = 0;
};

struct DescribeTransactionsRequest : DescribeTransactionsSchema {
  std::vector<std::string_view> transactional_ids;

  template <class Io>
  void fields(Io& io) {
    io(transactional_ids);
  }
};

struct DescribeTransactionsResponse : DescribeTransactionsSchema {
  struct TopicData {
    std::string topic;
    std::vector<int32_t> partitions;
    template <class Io>
    void fields(Io& io) {
      io(topic);
      io(partitions);
    }
  };
  struct TransactionState {
    int16_t error_code = 0;
    std::string transactional_id;
    std::string transaction_state;
    int32_t transaction_timeout_ms = 0;
    int64_t transaction_start_time_ms = -1;
    int64_t producer_id = -1;
    int16_t producer_epoch = -1;
    std::vector<TopicData> topics;
    template <class Io>
    void fields(Io& io) {
      io(error_code);
      io(transactional_id);
      io(transaction_state);
      io(transaction_timeout_ms);
      io(transaction_start_time_ms);
      io(producer_id);
      io(producer_epoch);
      io(topics);
    }
  };

  int32_t throttle_time_ms = 0;
  std::vector<TransactionState> transaction_states;

  template <class Io>
  void fields(Io& io) {
    io(throttle_time_ms);
    io(transaction_states);
  }
};

}  // namespace kb::protocol
