#include "kb/group/records.hpp"

#include <algorithm>
#include <type_traits>

#include "kb/records/client_data.hpp"
#include "kb/wire/reader.hpp"
#include "kb/wire/serde.hpp"
#include "kb/wire/writer.hpp"

namespace kb::group {

namespace {

// Appends the UTF-16 code units of one code point to the running hash.
void hash_code_point(uint32_t& h, uint32_t cp) {
  if (cp >= 0x10000) {
    cp -= 0x10000;
    h = 31 * h + (0xD800 + (cp >> 10));
    h = 31 * h + (0xDC00 + (cp & 0x3FF));
  } else {
    h = 31 * h + cp;
  }
}

}  // namespace

int32_t java_string_hash(std::string_view utf8) {
  uint32_t h = 0;
  const auto* s = reinterpret_cast<const unsigned char*>(utf8.data());
  const size_t n = utf8.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char c = s[i];
    size_t len = 0;
    uint32_t cp = 0;
    uint32_t min = 0;
    if (c < 0x80) {
      len = 1, cp = c;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, cp = c & 0x07, min = 0x10000;
    }
    bool valid = len > 0 && i + len <= n;
    for (size_t k = 1; valid && k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) valid = false;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if (valid && len > 1 && (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)))
      valid = false;
    if (!valid) {
      // Java's decoder replaces a malformed byte with U+FFFD.
      hash_code_point(h, 0xFFFD);
      ++i;
      continue;
    }
    hash_code_point(h, cp);
    i += len;
  }
  return static_cast<int32_t>(h);
}

int32_t offsets_partition_for(std::string_view group_id, int32_t partitions) {
  const int32_t hash = java_string_hash(group_id);
  // Kafka's Utils.abs: abs(Integer.MIN_VALUE) is 0, not negative.
  const int32_t positive = hash == INT32_MIN ? 0 : (hash < 0 ? -hash : hash);
  return partitions <= 0 ? 0 : positive % partitions;
}

std::optional<std::vector<std::string>> subscription_topics(std::span<const uint8_t> subscription) {
  // As Kafka's classic group reads its members' subscribed topics: the
  // version is read and set aside, and the rest is read as version 0 (topics
  // and user data), the start every version has; bytes after it are not read.
  wire::Reader reader(subscription);
  reader.int16();
  records::ConsumerProtocolSubscription data;
  wire::decode(reader, data, 0, false);
  if (!reader.ok()) return std::nullopt;
  return std::move(data.topics);
}

std::optional<int16_t> consumer_protocol_version(std::span<const uint8_t> bytes) {
  wire::Reader reader(bytes);
  const int16_t version = reader.int16();
  if (!reader.ok()) return std::nullopt;
  return version;
}

namespace {

template <class T>
std::optional<T> decode_consumer_protocol(std::span<const uint8_t> bytes) {
  wire::Reader reader(bytes);
  const int16_t version = reader.int16();
  if (!reader.ok() || version < 0) return std::nullopt;
  T out;
  wire::decode(reader, out, std::min(version, T::kMaxVersion), false);
  if (!reader.ok()) return std::nullopt;
  return out;
}

}  // namespace

std::optional<records::ConsumerProtocolSubscription> decode_subscription(
    std::span<const uint8_t> bytes) {
  return decode_consumer_protocol<records::ConsumerProtocolSubscription>(bytes);
}

std::optional<records::ConsumerProtocolAssignment> decode_assignment(
    std::span<const uint8_t> bytes) {
  return decode_consumer_protocol<records::ConsumerProtocolAssignment>(bytes);
}

std::vector<uint8_t> encode_assignment(const records::ConsumerProtocolAssignment& assignment,
                                       int16_t version) {
  const auto v = std::clamp<int16_t>(version, 0, records::ConsumerProtocolAssignment::kMaxVersion);
  return encode_versioned(assignment, v, false);
}

std::vector<uint8_t> encode_key(const OffsetCommitKey& key) {
  return encode_versioned(key, kOffsetCommitKeyVersion, false);
}
std::vector<uint8_t> encode_key(const GroupMetadataKey& key) {
  return encode_versioned(key, kGroupMetadataKeyVersion, false);
}
std::vector<uint8_t> encode_value(const OffsetCommitValue& value) {
  return encode_versioned(value, kOffsetCommitValueVersion,
                          kOffsetCommitValueVersion >= OffsetCommitValue::kFirstFlexible);
}
std::vector<uint8_t> encode_value(const GroupMetadataValue& value) {
  return encode_versioned(value, kGroupMetadataValueVersion,
                          kGroupMetadataValueVersion >= GroupMetadataValue::kFirstFlexible);
}

std::optional<KeyTypeAndGroup> key_type_and_group(std::span<const uint8_t> key) {
  wire::Reader reader(key);
  KeyTypeAndGroup out;
  out.type = reader.int16();
  out.group = reader.string();
  if (!reader.ok()) return std::nullopt;
  return out;
}

std::string_view coordinator_record_type_name(int16_t type) {
  switch (type) {
    case 0:
      return "LegacyOffsetCommit";
    case 1:
      return "OffsetCommit";
    case 2:
      return "GroupMetadata";
    case 3:
      return "ConsumerGroupMetadata";
    case 4:
      return "ConsumerGroupPartitionMetadata";
    case 5:
      return "ConsumerGroupMemberMetadata";
    case 6:
      return "ConsumerGroupTargetAssignmentMetadata";
    case 7:
      return "ConsumerGroupTargetAssignmentMember";
    case 8:
      return "ConsumerGroupCurrentMemberAssignment";
    case 10:
      return "ShareGroupMemberMetadata";
    case 11:
      return "ShareGroupMetadata";
    case 12:
      return "ShareGroupTargetAssignmentMetadata";
    case 13:
      return "ShareGroupTargetAssignmentMember";
    case 14:
      return "ShareGroupCurrentMemberAssignment";
    case 15:
      return "ShareGroupStatePartitionMetadata";
    case 16:
      return "ConsumerGroupRegularExpression";
    case 17:
      return "StreamsGroupMetadata";
    case 19:
      return "StreamsGroupMemberMetadata";
    case 20:
      return "StreamsGroupTargetAssignmentMetadata";
    case 21:
      return "StreamsGroupTargetAssignmentMember";
    case 22:
      return "StreamsGroupCurrentMemberAssignment";
    case 23:
      return "StreamsGroupTopology";
    default:
      return "unknown type";
  }
}

CoordinatorKey decode_key(std::span<const uint8_t> bytes) {
  wire::Reader reader(bytes);
  const int16_t version = reader.int16();
  if (!reader.ok()) return {};
  if (version == 0 || version == 1) {
    OffsetCommitKey key;
    wire::decode(reader, key, version, false);
    if (reader.ok()) return key;
  } else if (version == 2) {
    GroupMetadataKey key;
    wire::decode(reader, key, version, false);
    if (reader.ok()) return key;
  } else if (version == kConsumerGroupMetadataType ||
             version == kConsumerGroupPartitionMetadataType ||
             version == kConsumerGroupTargetAssignmentMetadataType) {
    records::ConsumerGroupMetadataKey key;  // the same fields as the other two
    wire::decode(reader, key, 0, false);
    if (reader.ok() && reader.remaining() == 0)
      return ConsumerGroupRecordKey{version, key.group_id, {}};
  } else if (version == kConsumerGroupMemberMetadataType ||
             version == kConsumerGroupTargetAssignmentMemberType ||
             version == kConsumerGroupCurrentMemberAssignmentType ||
             version == kConsumerGroupRegularExpressionType) {
    // The same fields in all four (a regular expression's key: the group and
    // the expression).
    records::ConsumerGroupMemberMetadataKey key;
    wire::decode(reader, key, 0, false);
    if (reader.ok() && reader.remaining() == 0)
      return ConsumerGroupRecordKey{version, key.group_id, key.member_id};
  }
  return {};
}

std::vector<uint8_t> encode_consumer_group_key(int16_t type, std::string_view group,
                                               std::string_view member_id) {
  const bool per_member = type == kConsumerGroupMemberMetadataType ||
                          type == kConsumerGroupTargetAssignmentMemberType ||
                          type == kConsumerGroupCurrentMemberAssignmentType ||
                          type == kConsumerGroupRegularExpressionType;
  if (per_member)
    return encode_versioned(
        records::ConsumerGroupMemberMetadataKey{std::string(group), std::string(member_id)}, type,
        false);
  return encode_versioned(records::ConsumerGroupMetadataKey{std::string(group)}, type, false);
}

// Consumer-group values: version 0, flexible.
std::vector<uint8_t> encode_value(const ConsumerGroupMetadataValue& value) {
  return encode_versioned(value, 0, true);
}
std::vector<uint8_t> encode_value(const ConsumerGroupPartitionMetadataValue& value) {
  return encode_versioned(value, 0, true);
}
std::vector<uint8_t> encode_value(const ConsumerGroupMemberMetadataValue& value) {
  return encode_versioned(value, 0, true);
}
std::vector<uint8_t> encode_value(const ConsumerGroupTargetAssignmentMetadataValue& value) {
  return encode_versioned(value, 0, true);
}
std::vector<uint8_t> encode_value(const ConsumerGroupTargetAssignmentMemberValue& value) {
  return encode_versioned(value, 0, true);
}
std::vector<uint8_t> encode_value(const ConsumerGroupCurrentMemberAssignmentValue& value) {
  return encode_versioned(value, 0, true);
}
std::vector<uint8_t> encode_value(const ConsumerGroupRegularExpressionValue& value) {
  return encode_versioned(value, 0, true);
}

template <class T>
std::optional<T> decode_consumer_group_value(std::span<const uint8_t> bytes) {
  return decode_versioned<T>(bytes, 0);
}

template std::optional<ConsumerGroupMetadataValue> decode_consumer_group_value(
    std::span<const uint8_t>);
template std::optional<ConsumerGroupPartitionMetadataValue> decode_consumer_group_value(
    std::span<const uint8_t>);
template std::optional<ConsumerGroupMemberMetadataValue> decode_consumer_group_value(
    std::span<const uint8_t>);
template std::optional<ConsumerGroupTargetAssignmentMetadataValue> decode_consumer_group_value(
    std::span<const uint8_t>);
template std::optional<ConsumerGroupTargetAssignmentMemberValue> decode_consumer_group_value(
    std::span<const uint8_t>);
template std::optional<ConsumerGroupCurrentMemberAssignmentValue> decode_consumer_group_value(
    std::span<const uint8_t>);
template std::optional<ConsumerGroupRegularExpressionValue> decode_consumer_group_value(
    std::span<const uint8_t>);

std::optional<OffsetCommitValue> decode_offset_commit_value(std::span<const uint8_t> bytes) {
  return decode_versioned<OffsetCommitValue>(bytes, 4);
}

std::optional<GroupMetadataValue> decode_group_metadata_value(std::span<const uint8_t> bytes) {
  return decode_versioned<GroupMetadataValue>(bytes, 4);
}

}  // namespace kb::group
