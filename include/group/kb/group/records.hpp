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
#include "kb/records/client_data.hpp"
#include "kb/records/group_coordinator.hpp"
#include "kb/wire/reader.hpp"
#include "kb/wire/serde.hpp"
#include "kb/wire/uuid.hpp"
#include "kb/wire/writer.hpp"

namespace kb::group {

// A coordinator record's key or value as Kafka writes it: an int16 version,
// then the fields at that version.
template <class T>
std::vector<uint8_t> encode_versioned(const T& record, int16_t version, bool flexible) {
  ByteBuffer out;
  wire::Writer writer(out);
  writer.int16(version);
  wire::encode(writer, record, version, flexible);
  return {out.data(), out.data() + out.size()};
}

// The record read back, at a version from 0 to max_version; none when the
// version is outside that or the bytes do not read.
template <class T>
std::optional<T> decode_versioned(std::span<const uint8_t> bytes, int16_t max_version) {
  wire::Reader reader(bytes);
  const int16_t version = reader.int16();
  if (!reader.ok() || version < 0 || version > max_version) return std::nullopt;
  T value;
  wire::decode(reader, value, version, version >= T::kFirstFlexible);
  if (!reader.ok()) return std::nullopt;
  return value;
}

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
// The topics of a ConsumerProtocolSubscription (kb/records/client_data.hpp),
// read as Kafka's classic group reads them: whatever the version in front,
// as version 0 (topics, user data), which every version starts with; none
// when that does not read.
std::optional<std::vector<std::string>> subscription_topics(std::span<const uint8_t> subscription);
// The consumer protocol's version in front of a subscription or assignment
// (none when fewer than two bytes).
std::optional<int16_t> consumer_protocol_version(std::span<const uint8_t> bytes);
// A subscription or assignment read whole, as Kafka's ConsumerProtocol reads
// them when a group changes protocol: at the version in front (a newer one
// than known read as the newest), none when that does not read.
std::optional<records::ConsumerProtocolSubscription> decode_subscription(
    std::span<const uint8_t> bytes);
std::optional<records::ConsumerProtocolAssignment> decode_assignment(
    std::span<const uint8_t> bytes);
// An assignment at a version (clamped to the versions known), as Kafka
// writes the ones a consumer group gives its classic members.
std::vector<uint8_t> encode_assignment(const records::ConsumerProtocolAssignment& assignment,
                                       int16_t version);

// The record formats, generated from Kafka's schemas
// (kb/records/group_coordinator.hpp, from the kafka-group-coordinator jar of
// the pinned Kafka). A key's leading int16 is its record type (kType); the
// fields of every key are its schema's version 0.
using records::GroupMetadataKey;
using records::GroupMetadataValue;
using records::OffsetCommitKey;
using records::OffsetCommitValue;

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
using records::ConsumerGroupCurrentMemberAssignmentValue;
using records::ConsumerGroupMemberMetadataValue;
using records::ConsumerGroupMetadataValue;
using records::ConsumerGroupPartitionMetadataValue;
using records::ConsumerGroupRegularExpressionValue;
using records::ConsumerGroupTargetAssignmentMemberValue;
using records::ConsumerGroupTargetAssignmentMetadataValue;

inline constexpr int16_t kConsumerGroupMetadataType = records::ConsumerGroupMetadataKey::kType;
inline constexpr int16_t kConsumerGroupPartitionMetadataType =
    records::ConsumerGroupPartitionMetadataKey::kType;
inline constexpr int16_t kConsumerGroupMemberMetadataType =
    records::ConsumerGroupMemberMetadataKey::kType;
inline constexpr int16_t kConsumerGroupTargetAssignmentMetadataType =
    records::ConsumerGroupTargetAssignmentMetadataKey::kType;
inline constexpr int16_t kConsumerGroupTargetAssignmentMemberType =
    records::ConsumerGroupTargetAssignmentMemberKey::kType;
inline constexpr int16_t kConsumerGroupCurrentMemberAssignmentType =
    records::ConsumerGroupCurrentMemberAssignmentKey::kType;
// Kafka 4's resolved regular expressions (a key of group and expression).
inline constexpr int16_t kConsumerGroupRegularExpressionType =
    records::ConsumerGroupRegularExpressionKey::kType;

// Partitions of one topic, as a member's heartbeat lists the ones it owns.
struct ConsumerGroupTopicPartitions {
  wire::Uuid topic_id;
  std::vector<int32_t> partitions;
};

// A consumer-group record's key: its type and what identifies it.
struct ConsumerGroupRecordKey {
  int16_t type = 0;
  std::string group;
  std::string member_id;  // types 5, 7 and 8; the regular expression of type 16
};

std::vector<uint8_t> encode_consumer_group_key(int16_t type, std::string_view group,
                                               std::string_view member_id = {});
std::vector<uint8_t> encode_value(const ConsumerGroupMetadataValue& value);
std::vector<uint8_t> encode_value(const ConsumerGroupPartitionMetadataValue& value);
std::vector<uint8_t> encode_value(const ConsumerGroupMemberMetadataValue& value);
std::vector<uint8_t> encode_value(const ConsumerGroupTargetAssignmentMetadataValue& value);
std::vector<uint8_t> encode_value(const ConsumerGroupTargetAssignmentMemberValue& value);
std::vector<uint8_t> encode_value(const ConsumerGroupCurrentMemberAssignmentValue& value);
std::vector<uint8_t> encode_value(const ConsumerGroupRegularExpressionValue& value);
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
