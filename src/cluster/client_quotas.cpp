#include "kb/cluster/client_quotas.hpp"

namespace kb::cluster {

void ClientQuotaStore::apply(const records::ClientQuotaRecord& record) {
  QuotaEntity entity;
  for (const auto& e : record.entity) entity[e.entity_type] = e.entity_name;
  ++generation_;
  if (record.remove) {
    auto it = entities_.find(entity);
    if (it == entities_.end()) return;
    it->second.erase(record.key);
    if (it->second.empty()) entities_.erase(it);
    return;
  }
  entities_[std::move(entity)][record.key] = record.value;
}

const QuotaValues* ClientQuotaStore::find(const QuotaEntity& entity) const {
  auto it = entities_.find(entity);
  return it == entities_.end() ? nullptr : &it->second;
}

}  // namespace kb::cluster
