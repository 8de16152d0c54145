#include "kb/storage/metadata_records.hpp"

#include <fmt/format.h>

#include <limits>
#include <stdexcept>

#include "kb/wire/reader.hpp"
#include "kb/wire/writer.hpp"

namespace kb::storage {

namespace {

Error decode_error(std::string_view what, size_t position) {
  return Error{fmt::format("metadata record: {} at byte {}", what, position)};
}

template <class R>
Result<DecodedMetadataRecord> decode_body(kb::wire::Reader& r, int16_t version) {
  if (version < R::kMinVersion || version > R::kMaxVersion)
    return Error{fmt::format("metadata record: type {} at unsupported version {} (known {}-{})",
                             R::kType, version, R::kMinVersion, R::kMaxVersion)};
  R record;
  kb::wire::decode(r, record, version, true);
  if (!r.ok()) return decode_error(r.error()->what, r.error()->position);
  if (!r.at_end()) return decode_error("bytes after the end of the record", r.position());
  return DecodedMetadataRecord{version, MetadataRecord(std::move(record))};
}

uint32_t type_of(const MetadataRecord& record) {
  return std::visit(
      [](const auto& r) -> uint32_t {
        using R = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<R, UnknownMetadataRecord>)
          return r.type;
        else
          return static_cast<uint32_t>(R::kType);
      },
      record);
}

}  // namespace

std::string_view metadata_record_type_name(uint32_t type) {
  switch (type) {
    case 0:
      return "RegisterBrokerRecord";
    case 1:
      return "UnregisterBrokerRecord";
    case 2:
      return "TopicRecord";
    case 3:
      return "PartitionRecord";
    case 4:
      return "ConfigRecord";
    case 5:
      return "PartitionChangeRecord";
    case 7:
      return "FenceBrokerRecord";
    case 8:
      return "UnfenceBrokerRecord";
    case 9:
      return "RemoveTopicRecord";
    case 10:
      return "DelegationTokenRecord";
    case 11:
      return "UserScramCredentialRecord";
    case 12:
      return "FeatureLevelRecord";
    case 14:
      return "ClientQuotaRecord";
    case 15:
      return "ProducerIdsRecord";
    case 17:
      return "BrokerRegistrationChangeRecord";
    case 18:
      return "AccessControlEntryRecord";
    case 19:
      return "RemoveAccessControlEntryRecord";
    case 20:
      return "NoOpRecord";
    case 21:
      return "ZkMigrationRecord";
    case 22:
      return "RemoveUserScramCredentialRecord";
    case 23:
      return "BeginTransactionRecord";
    case 24:
      return "EndTransactionRecord";
    case 25:
      return "AbortTransactionRecord";
    case 26:
      return "RemoveDelegationTokenRecord";
    case 27:
      return "RegisterControllerRecord";
    case 28:
      return "ClearElrRecord";
    case 29:
      return "UnregisterControllerRecord";
    default:
      return "unknown type";
  }
}

std::string_view control_record_type_name(int16_t type) {
  switch (type) {
    case 0:
      return "AbortMarker";
    case 1:
      return "CommitMarker";
    case 2:
      return "LeaderChange";
    case 3:
      return "SnapshotHeader";
    case 4:
      return "SnapshotFooter";
    case 5:
      return "KRaftVersion";
    case 6:
      return "KRaftVoters";
    default:
      return "unknown control type";
  }
}

Result<DecodedMetadataRecord> decode_metadata_record(std::span<const uint8_t> value) {
  kb::wire::Reader r(value);
  const uint32_t frame = r.uvarint();
  const uint32_t type = r.uvarint();
  const uint32_t raw_version = r.uvarint();
  if (!r.ok()) return decode_error(r.error()->what, r.error()->position);
  if (frame != kMetadataFrameVersion)
    return Error{fmt::format("metadata record: unsupported frame version {}", frame)};
  if (raw_version > static_cast<uint32_t>(std::numeric_limits<int16_t>::max()))
    return Error{fmt::format("metadata record: version {} out of range", raw_version)};
  const auto version = static_cast<int16_t>(raw_version);

  switch (type) {
    case RegisterBrokerRecord::kType:
      return decode_body<RegisterBrokerRecord>(r, version);
    case TopicRecord::kType:
      return decode_body<TopicRecord>(r, version);
    case PartitionRecord::kType:
      return decode_body<PartitionRecord>(r, version);
    case ConfigRecord::kType:
      return decode_body<ConfigRecord>(r, version);
    case PartitionChangeRecord::kType:
      return decode_body<PartitionChangeRecord>(r, version);
    case RemoveTopicRecord::kType:
      return decode_body<RemoveTopicRecord>(r, version);
    case FeatureLevelRecord::kType:
      return decode_body<FeatureLevelRecord>(r, version);
    case ProducerIdsRecord::kType:
      return decode_body<ProducerIdsRecord>(r, version);
    case UserScramCredentialRecord::kType:
      return decode_body<UserScramCredentialRecord>(r, version);
    case RemoveUserScramCredentialRecord::kType:
      return decode_body<RemoveUserScramCredentialRecord>(r, version);
    case ClientQuotaRecord::kType:
      return decode_body<ClientQuotaRecord>(r, version);
    case AccessControlEntryRecord::kType:
      return decode_body<AccessControlEntryRecord>(r, version);
    case RemoveAccessControlEntryRecord::kType:
      return decode_body<RemoveAccessControlEntryRecord>(r, version);
    default:
      return DecodedMetadataRecord{version, UnknownMetadataRecord{type, r.raw(r.remaining())}};
  }
}

void encode_metadata_record(const MetadataRecord& record, int16_t version, ByteBuffer& out) {
  kb::wire::Writer w(out);
  std::visit(
      [&](const auto& r) {
        using R = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<R, UnknownMetadataRecord>) {
          if (version < 0) throw std::invalid_argument("negative metadata record version");
          w.uvarint(kMetadataFrameVersion);
          w.uvarint(r.type);
          w.uvarint(static_cast<uint32_t>(version));
          w.raw(r.body);
        } else {
          if (version < R::kMinVersion || version > R::kMaxVersion)
            throw std::invalid_argument(
                fmt::format("metadata record type {} has no version {}", type_of(record), version));
          w.uvarint(kMetadataFrameVersion);
          w.uvarint(static_cast<uint32_t>(R::kType));
          w.uvarint(static_cast<uint32_t>(version));
          kb::wire::encode(w, r, version, true);
        }
      },
      record);
}

}  // namespace kb::storage
