#pragma once

// The KRaft metadata records stored as record values in __cluster_metadata-0
// (their structs are generated from Kafka's schemas, kb/records/metadata.hpp).
// Every metadata record version is flexible: compact strings and arrays, and a
// tagged-field section after every struct.
//
// A record value is framed as
//   [uvarint frame version = 1][uvarint record type][uvarint record version][fields]

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "kb/base/byte_buffer.hpp"
#include "kb/records/client_data.hpp"
#include "kb/records/metadata.hpp"
#include "kb/storage/result.hpp"
#include "kb/wire/serde.hpp"
#include "kb/wire/uuid.hpp"

namespace kb::storage {

using kb::wire::Uuid;

inline constexpr uint32_t kMetadataFrameVersion = 1;

// The records this broker interprets, generated from Kafka's schemas
// (kb/records/metadata.hpp, from the kafka-metadata jar of the pinned Kafka);
// kType is the record type, kMinVersion-kMaxVersion the versions Kafka knows.
using records::ConfigRecord;
using records::FeatureLevelRecord;
using records::PartitionChangeRecord;
using records::PartitionRecord;
using records::ProducerIdsRecord;
using records::RegisterBrokerRecord;
using records::RemoveTopicRecord;
using records::TopicRecord;
// A SCRAM user's credential for one mechanism (1 = SCRAM-SHA-256, 2 =
// SCRAM-SHA-512): never the password, only what checks it.
using records::RemoveUserScramCredentialRecord;
using records::UserScramCredentialRecord;
// One client quota of one entity (user, client-id, both, or ip; a null name is
// the type's default), set or removed.
using records::ClientQuotaRecord;
// An ACL (its id, resource pattern and entry) and its removal by id.
using records::AccessControlEntryRecord;
using records::RemoveAccessControlEntryRecord;
using BrokerEndpoint = RegisterBrokerRecord::BrokerEndpoint;
using BrokerFeature = RegisterBrokerRecord::BrokerFeature;

// A PartitionChangeRecord holds only the changed parts of a partition (tagged
// fields); absent ones keep their schema defaults, which mean "unchanged".
inline constexpr int32_t kLeaderUnchanged = -2;  // -1: no leader
inline constexpr int8_t kRecoveryStateUnchanged = -1;

// A record of a type this broker does not interpret (fences, registrations of
// controllers, quotas, ...). Callers skip it. `body` views the bytes after the
// frame (valid while the decoded value's buffer is).
struct UnknownMetadataRecord {
  uint32_t type = 0;
  std::span<const uint8_t> body;
};

using MetadataRecord =
    std::variant<UnknownMetadataRecord, RegisterBrokerRecord, TopicRecord, PartitionRecord,
                 ConfigRecord, PartitionChangeRecord, RemoveTopicRecord, FeatureLevelRecord,
                 ProducerIdsRecord, UserScramCredentialRecord, RemoveUserScramCredentialRecord,
                 ClientQuotaRecord, AccessControlEntryRecord, RemoveAccessControlEntryRecord>;

struct DecodedMetadataRecord {
  int16_t version = 0;
  MetadataRecord record;
};

// Kafka's name of a metadata record type (its MetadataRecordType), or
// "unknown type" for a number Kafka 4.4 does not use.
std::string_view metadata_record_type_name(uint32_t type);

// Decodes one framed record value. Errors: malformed or truncated bytes, bytes
// after the record, an unsupported frame version, or a known record type at a
// version this code does not know (its layout cannot be guessed).
Result<DecodedMetadataRecord> decode_metadata_record(std::span<const uint8_t> value);

// Appends the framed encoding of `record` at `version`. A version outside the
// record's valid range is a caller bug: throws std::invalid_argument. An
// UnknownMetadataRecord is written back as type + version + body.
void encode_metadata_record(const MetadataRecord& record, int16_t version, ByteBuffer& out);

template <class R>
std::vector<uint8_t> encode_metadata_record(const R& record, int16_t version = R::kMaxVersion) {
  ByteBuffer out;
  encode_metadata_record(MetadataRecord(record), version, out);
  return std::vector<uint8_t>(out.data(), out.data() + out.size());
}

// ---- control record values of the metadata log (read by tests and tools) ----

// Kafka's name of a control record type (ControlRecordType: the int16 after
// the key's version), or "unknown control type".
std::string_view control_record_type_name(int16_t type);

// The values of control records, generated from Kafka's schemas
// (kb/records/client_data.hpp, from kafka-clients). Each carries its own
// version as its first field; Kafka writes version 0.
using records::LeaderChangeMessage;
using records::SnapshotFooterRecord;
using records::SnapshotHeaderRecord;
using LeaderChangeVoter = LeaderChangeMessage::Voter;

// Encodes a control record value (message version 0, flexible).
template <class M>
std::vector<uint8_t> encode_control_value(const M& message) {
  ByteBuffer out;
  kb::wire::Writer w(out);
  kb::wire::encode(w, message, 0, true);
  return std::vector<uint8_t>(out.data(), out.data() + out.size());
}

}  // namespace kb::storage
