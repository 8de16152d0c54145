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

// A decoded key; monostate when the key is of a type this broker ignores
// (transaction log keys never appear here) or malformed.
using CoordinatorKey = std::variant<std::monostate, OffsetCommitKey, GroupMetadataKey>;
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
