#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "kb/records/metadata.hpp"

namespace kb::cluster {

// Kafka's quota entity types (ClientQuotaEntity) and quota keys (QuotaConfig).
inline constexpr std::string_view kQuotaEntityUser = "user";
inline constexpr std::string_view kQuotaEntityClientId = "client-id";
inline constexpr std::string_view kQuotaEntityIp = "ip";
inline constexpr std::string_view kProducerByteRate = "producer_byte_rate";
inline constexpr std::string_view kConsumerByteRate = "consumer_byte_rate";
inline constexpr std::string_view kRequestPercentage = "request_percentage";
inline constexpr std::string_view kControllerMutationRate = "controller_mutation_rate";
inline constexpr std::string_view kConnectionCreationRate = "connection_creation_rate";

// A quota entity as Kafka keys it: entity type -> name, a null name being the
// type's default entity ("<default>" in kafka-configs).
using QuotaEntity = std::map<std::string, std::optional<std::string>, std::less<>>;
// An entity's quotas: key -> value.
using QuotaValues = std::map<std::string, double, std::less<>>;

// The client quotas of the metadata image (ClientQuotaRecord). An entity with
// no quota left is dropped, as Kafka's image drops it.
class ClientQuotaStore {
 public:
  void apply(const records::ClientQuotaRecord& record);
  const std::map<QuotaEntity, QuotaValues>& entities() const { return entities_; }
  const QuotaValues* find(const QuotaEntity& entity) const;
  // Moves on every change, so what is derived from the quotas can tell it is stale.
  uint64_t generation() const { return generation_; }

 private:
  std::map<QuotaEntity, QuotaValues> entities_;
  uint64_t generation_ = 0;
};

// The records that bring the image to `store` (one per entity and key).
template <class Out>
void client_quota_records(const ClientQuotaStore& store, Out&& out) {
  for (const auto& [entity, values] : store.entities()) {
    for (const auto& [key, value] : values) {
      records::ClientQuotaRecord r;
      for (const auto& [type, name] : entity) r.entity.push_back({type, name});
      r.key = key;
      r.value = value;
      out(r);
    }
  }
}

}  // namespace kb::cluster
