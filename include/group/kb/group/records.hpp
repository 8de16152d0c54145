#pragma once

// The records Kafka's group coordinator keeps in __consumer_offsets, in its
// own formats: a record key is [int16 key version][key fields], a value
// [int16 value version][value fields]. Key versions 0 and 1 are offset
// commits, 2 is group metadata; a null value (tombstone) deletes the key.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "kb/base/byte_buffer.hpp"
#include "kb/cluster/coordinator_topic.hpp"
#include "kb/wire/uuid.hpp"

namespace kb::group {

inline constexpr std::string_view kOffsetsTopic = "__consumer_offsets";

// The __consumer_offsets partition of a group, as Kafka picks it:
// abs(Java String.hashCode(group id)) % partitions, where hashCode runs over
// the UTF-16 code units of the id and abs(INT_MIN) is 0.
int32_t offsets_partition_for(std::string_view group_id, int32_t partitions);
// Java's String.hashCode of the UTF-8 text (decoded to UTF-16 code units).
int32_t java_string_hash(std::string_view utf8);

// The consumer protocol: groups of this protocol type carry, as each
// member's protocol metadata, a ConsumerProtocolSubscription.
inline constexpr std::string_view kConsumerProtocolType = "consumer";
// The topics of a ConsumerProtocolSubscription ([int16 version][topics]...;
// every version starts so, and Kafka reads newer ones by the format it knows),
// or none when the bytes are not one.
std::optional<std::vector<std::string>> subscription_topics(std::span<const uint8_t> subscription);

struct OffsetCommitKey {
  std::string group;
  std::string topic;
  int32_t partition = 0;

  template <class Io>
  void fields(Io& io) {
    io(group);
    io(topic);
    io(partition);
  }
};

struct OffsetCommitValue {
  int64_t offset = 0;
  int32_t leader_epoch = -1;  // v3+
  std::string metadata;
  int64_t commit_timestamp = 0;
  int64_t expire_timestamp = -1;  // v1 only

  template <class Io>
  void fields(Io& io) {
    io(offset);
    if (io.version >= 3) io(leader_epoch);
    io(metadata);
    io(commit_timestamp);
    if (io.version == 1) io(expire_timestamp);
  }
};

struct GroupMetadataKey {
  std::string group;

  template <class Io>
  void fields(Io& io) {
    io(group);
  }
};

struct GroupMetadataValue {
  struct MemberMetadata {
    std::string member_id;
    std::optional<std::string> group_instance_id;  // v3+
    std::string client_id;
    std::string client_host;
    int32_t rebalance_timeout = -1;  // v1+
    int32_t session_timeout = 0;
    std::vector<uint8_t> subscription;
    std::vector<uint8_t> assignment;

    template <class Io>
    void fields(Io& io) {
      io(member_id);
      if (io.version >= 3) io(group_instance_id);
      io(client_id);
      io(client_host);
      if (io.version >= 1) io(rebalance_timeout);
      io(session_timeout);
      io(subscription);
      io(assignment);
    }
  };

  std::string protocol_type;
  int32_t generation = 0;
  std::optional<std::string> protocol;
  std::optional<std::string> leader;
  int64_t current_state_timestamp = -1;  // v2+
  std::vector<MemberMetadata> members;

  template <class Io>
  void fields(Io& io) {
    io(protocol_type);
    io(generation);
    io(protocol);
    io(leader);
    if (io.version >= 2) io(current_state_timestamp);
    io(members);
  }
};

// The versions written, as Kafka 3.x/4.x writes them.
inline constexpr int16_t kOffsetCommitKeyVersion = 1;
inline constexpr int16_t kOffsetCommitValueVersion = 3;
inline constexpr int16_t kGroupMetadataKeyVersion = 2;
inline constexpr int16_t kGroupMetadataValueVersion = 3;

std::vector<uint8_t> encode_key(const OffsetCommitKey& key);
std::vector<uint8_t> encode_key(const GroupMetadataKey& key);
std::vector<uint8_t> encode_value(const OffsetCommitValue& value);
std::vector<uint8_t> encode_value(const GroupMetadataValue& value);

// Consumer groups (KIP-848): their records, each key type its own record
// type (Kafka's apiKey of the key schema), every value version 0 (flexible).
struct ConsumerGroupTopicPartitions {
  wire::Uuid topic_id;
  std::vector<int32_t> partitions;

  template <class Io>
  void fields(Io& io) {
    io(topic_id);
    io(partitions);
  }
};

// Key of types 3 (group metadata), 4 (partition metadata) and 6 (target
// assignment metadata): the group id alone.
struct ConsumerGroupKey {
  std::string group;

  template <class Io>
  void fields(Io& io) {
    io(group);
  }
};

// Key of types 5 (member metadata), 7 (target assignment of a member) and 8
// (current assignment of a member).
struct ConsumerGroupMemberKey {
  std::string group;
  std::string member_id;

  template <class Io>
  void fields(Io& io) {
    io(group);
    io(member_id);
  }
};

inline constexpr int16_t kConsumerGroupMetadataType = 3;
inline constexpr int16_t kConsumerGroupPartitionMetadataType = 4;
inline constexpr int16_t kConsumerGroupMemberMetadataType = 5;
inline constexpr int16_t kConsumerGroupTargetAssignmentMetadataType = 6;
inline constexpr int16_t kConsumerGroupTargetAssignmentMemberType = 7;
inline constexpr int16_t kConsumerGroupCurrentMemberAssignmentType = 8;

struct ConsumerGroupMetadataValue {
  int32_t epoch = 0;

  template <class Io>
  void fields(Io& io) {
    io(epoch);
  }
};

struct ConsumerGroupPartitionMetadataValue {
  struct PartitionMetadata {
    int32_t partition = 0;
    std::vector<std::string> racks;
    template <class Io>
    void fields(Io& io) {
      io(partition);
      io(racks);
    }
  };
  struct TopicMetadata {
    wire::Uuid topic_id;
    std::string topic_name;
    int32_t num_partitions = 0;
    std::vector<PartitionMetadata> partition_metadata;
    template <class Io>
    void fields(Io& io) {
      io(topic_id);
      io(topic_name);
      io(num_partitions);
      io(partition_metadata);
    }
  };
  std::vector<TopicMetadata> topics;

  template <class Io>
  void fields(Io& io) {
    io(topics);
  }
};

struct ConsumerGroupMemberMetadataValue {
  std::optional<std::string> instance_id;
  std::optional<std::string> rack_id;
  std::string client_id;
  std::string client_host;
  std::vector<std::string> subscribed_topic_names;
  std::optional<std::string> subscribed_topic_regex;
  int32_t rebalance_timeout_ms = -1;
  std::optional<std::string> server_assignor;
  // Tag 0, ClassicMemberMetadata (members of an upgraded classic group), is
  // not written here and skipped when read.

  template <class Io>
  void fields(Io& io) {
    io(instance_id);
    io(rack_id);
    io(client_id);
    io(client_host);
    io(subscribed_topic_names);
    io(subscribed_topic_regex);
    io(rebalance_timeout_ms);
    io(server_assignor);
  }
};

struct ConsumerGroupTargetAssignmentMetadataValue {
  int32_t assignment_epoch = 0;

  template <class Io>
  void fields(Io& io) {
    io(assignment_epoch);
  }
};

struct ConsumerGroupTargetAssignmentMemberValue {
  std::vector<ConsumerGroupTopicPartitions> topic_partitions;

  template <class Io>
  void fields(Io& io) {
    io(topic_partitions);
  }
};

struct ConsumerGroupCurrentMemberAssignmentValue {
  int32_t member_epoch = 0;
  int32_t previous_member_epoch = 0;
  int8_t state = 0;  // Kafka's MemberState value
  std::vector<ConsumerGroupTopicPartitions> assigned_partitions;
  std::vector<ConsumerGroupTopicPartitions> partitions_pending_revocation;

  template <class Io>
  void fields(Io& io) {
    io(member_epoch);
    io(previous_member_epoch);
    io(state);
    io(assigned_partitions);
    io(partitions_pending_revocation);
  }
};

// A consumer-group record's key: its type and what identifies it.
struct ConsumerGroupRecordKey {
  int16_t type = 0;
  std::string group;
  std::string member_id;  // types 5, 7 and 8
};

std::vector<uint8_t> encode_consumer_group_key(int16_t type, std::string_view group,
                                               std::string_view member_id = {});
std::vector<uint8_t> encode_value(const ConsumerGroupMetadataValue& value);
std::vector<uint8_t> encode_value(const ConsumerGroupPartitionMetadataValue& value);
std::vector<uint8_t> encode_value(const ConsumerGroupMemberMetadataValue& value);
std::vector<uint8_t> encode_value(const ConsumerGroupTargetAssignmentMetadataValue& value);
std::vector<uint8_t> encode_value(const ConsumerGroupTargetAssignmentMemberValue& value);
std::vector<uint8_t> encode_value(const ConsumerGroupCurrentMemberAssignmentValue& value);
// A value of a consumer-group record (version 0 only), or none.
template <class T>
std::optional<T> decode_consumer_group_value(std::span<const uint8_t> bytes);

// A decoded key; monostate when the key is of a type this broker ignores
// (transaction log keys never appear here; share and streams groups) or
// malformed.
using CoordinatorKey =
    std::variant<std::monostate, OffsetCommitKey, GroupMetadataKey, ConsumerGroupRecordKey>;
CoordinatorKey decode_key(std::span<const uint8_t> bytes);
std::optional<OffsetCommitValue> decode_offset_commit_value(std::span<const uint8_t> bytes);
std::optional<GroupMetadataValue> decode_group_metadata_value(std::span<const uint8_t> bytes);

// The record type of a key (its leading int16: Kafka's coordinator record
// type) and the group id every type's key starts with; nullopt when the key
// is too short for them.
struct KeyTypeAndGroup {
  int16_t type = 0;
  std::string group;
};
std::optional<KeyTypeAndGroup> key_type_and_group(std::span<const uint8_t> key);
// Kafka's name of a coordinator record type (CoordinatorRecordType of Kafka
// 4.4: offset commits, classic groups' metadata, and the records of consumer
// (KIP-848), share (KIP-932) and streams (KIP-1071) groups), or "unknown type".
std::string_view coordinator_record_type_name(int16_t type);

// One record for __consumer_offsets; a null value is a tombstone.
using CoordinatorRecord = cluster::CoordinatorRecord;

}  // namespace kb::group
