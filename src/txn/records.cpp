#include "kb/txn/records.hpp"

#include "kb/base/byte_buffer.hpp"
#include "kb/group/records.hpp"
#include "kb/wire/reader.hpp"
#include "kb/wire/serde.hpp"
#include "kb/wire/writer.hpp"

namespace kb::txn {

namespace {

constexpr int16_t kKeyVersion = 0;
constexpr int16_t kHighestValueVersion = TransactionLogValue::kMaxVersion;
constexpr int16_t kFirstFlexibleValue = TransactionLogValue::kFirstFlexible;

}  // namespace

std::vector<uint8_t> encode_key(std::string_view transactional_id) {
  ByteBuffer out;
  wire::Writer writer(out);
  writer.int16(kKeyVersion);
  wire::encode(writer, records::TransactionLogKey{std::string(transactional_id)}, kKeyVersion,
               false);
  return {out.data(), out.data() + out.size()};
}

std::vector<uint8_t> encode_value(const TransactionLogValue& value, int16_t version) {
  ByteBuffer out;
  wire::Writer writer(out);
  writer.int16(version);
  wire::encode(writer, value, version, version >= kFirstFlexibleValue);
  return {out.data(), out.data() + out.size()};
}

std::optional<std::string> decode_key(std::span<const uint8_t> bytes) {
  wire::Reader reader(bytes);
  const int16_t version = reader.int16();
  if (!reader.ok() || version != kKeyVersion) return std::nullopt;
  records::TransactionLogKey key;
  wire::decode(reader, key, kKeyVersion, false);
  if (!reader.ok()) return std::nullopt;
  return std::move(key.transactional_id);
}

std::optional<TransactionLogValue> decode_value(std::span<const uint8_t> bytes) {
  wire::Reader reader(bytes);
  const int16_t version = reader.int16();
  if (!reader.ok() || version < 0 || version > kHighestValueVersion) return std::nullopt;
  TransactionLogValue value;
  wire::decode(reader, value, version, version >= kFirstFlexibleValue);
  if (!reader.ok()) return std::nullopt;
  return value;
}

int32_t transaction_partition_for(std::string_view transactional_id, int32_t partitions) {
  // The same rule as the group coordinator's (Kafka's Utils.abs of hashCode).
  return group::offsets_partition_for(transactional_id, partitions);
}

}  // namespace kb::txn
