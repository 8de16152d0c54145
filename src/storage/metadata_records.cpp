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
          return R::kType;
      },
      record);
}

}  // namespace

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
          w.uvarint(R::kType);
          w.uvarint(static_cast<uint32_t>(version));
          kb::wire::encode(w, r, version, true);
        }
      },
      record);
}

}  // namespace kb::storage
