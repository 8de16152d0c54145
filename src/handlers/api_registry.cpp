#include "kb/handlers/api_registry.hpp"

#include <algorithm>
#include <stdexcept>

#include "kb/handlers/acls.hpp"
#include "kb/handlers/alter_configs.hpp"
#include "kb/handlers/api_versions.hpp"
#include "kb/handlers/client_quotas.hpp"
#include "kb/handlers/create_partitions.hpp"
#include "kb/handlers/create_topics.hpp"
#include "kb/handlers/delete_topics.hpp"
#include "kb/handlers/describe_cluster.hpp"
#include "kb/handlers/describe_configs.hpp"
#include "kb/handlers/describe_topic_partitions.hpp"
#include "kb/handlers/fetch.hpp"
#include "kb/handlers/groups.hpp"
#include "kb/handlers/init_producer_id.hpp"
#include "kb/handlers/list_offsets.hpp"
#include "kb/handlers/log_admin.hpp"
#include "kb/handlers/metadata.hpp"
#include "kb/handlers/partition_admin.hpp"
#include "kb/handlers/produce.hpp"
#include "kb/handlers/sasl.hpp"
#include "kb/handlers/share.hpp"
#include "kb/handlers/share_groups.hpp"
#include "kb/handlers/transactions.hpp"
#include "kb/handlers/user_scram_credentials.hpp"

namespace kb::handlers {

void ApiRegistry::add(const ApiEntry& entry) {
  auto key = static_cast<int16_t>(entry.key);
  if (key < 0 || static_cast<size_t>(key) > kMaxApiKey || index_[static_cast<size_t>(key)] >= 0)
    throw std::logic_error("api key registered twice or out of range");
  entries_.push_back(entry);
  std::sort(entries_.begin(), entries_.end(),
            [](const ApiEntry& a, const ApiEntry& b) { return a.key < b.key; });
  for (size_t i = 0; i < entries_.size(); ++i)
    index_[static_cast<size_t>(entries_[i].key)] = static_cast<int16_t>(i);
}

const ApiEntry* ApiRegistry::find(int16_t api_key) const {
  if (api_key < 0 || static_cast<size_t>(api_key) > kMaxApiKey) return nullptr;
  int16_t i = index_[static_cast<size_t>(api_key)];
  return i < 0 ? nullptr : &entries_[static_cast<size_t>(i)];
}

ApiRegistry make_broker_registry() {
  ApiRegistry registry;
  registry.add(produce_entry());
  registry.add(api_versions_entry());
  registry.add(describe_topic_partitions_entry());
  registry.add(fetch_entry());
  registry.add(metadata_entry());
  registry.add(list_offsets_entry());
  registry.add(find_coordinator_entry());
  registry.add(join_group_entry());
  registry.add(sync_group_entry());
  registry.add(heartbeat_entry());
  registry.add(leave_group_entry());
  registry.add(list_groups_entry());
  registry.add(describe_groups_entry());
  registry.add(offset_commit_entry());
  registry.add(offset_fetch_entry());
  registry.add(delete_groups_entry());
  registry.add(offset_delete_entry());
  registry.add(consumer_group_heartbeat_entry());
  registry.add(consumer_group_describe_entry());
  registry.add(share_group_heartbeat_entry());
  registry.add(share_group_describe_entry());
  registry.add(init_producer_id_entry());
  registry.add(add_partitions_to_txn_entry());
  registry.add(add_offsets_to_txn_entry());
  registry.add(end_txn_entry());
  registry.add(txn_offset_commit_entry());
  registry.add(list_transactions_entry());
  registry.add(describe_transactions_entry());
  registry.add(write_txn_markers_entry());
  registry.add(create_topics_entry());
  registry.add(delete_topics_entry());
  registry.add(create_partitions_entry());
  registry.add(describe_configs_entry());
  registry.add(describe_cluster_entry());
  registry.add(alter_configs_entry());
  registry.add(incremental_alter_configs_entry());
  registry.add(offset_for_leader_epoch_entry());
  registry.add(delete_records_entry());
  registry.add(describe_log_dirs_entry());
  registry.add(describe_producers_entry());
  registry.add(elect_leaders_entry());
  registry.add(alter_partition_reassignments_entry());
  registry.add(list_partition_reassignments_entry());
  registry.add(describe_acls_entry());
  registry.add(create_acls_entry());
  registry.add(delete_acls_entry());
  registry.add(sasl_handshake_entry());
  registry.add(sasl_authenticate_entry());
  registry.add(describe_user_scram_credentials_entry());
  registry.add(alter_user_scram_credentials_entry());
  registry.add(describe_client_quotas_entry());
  registry.add(alter_client_quotas_entry());
  registry.add(share_fetch_entry());
  registry.add(share_acknowledge_entry());
  registry.add(describe_share_group_offsets_entry());
  registry.add(alter_share_group_offsets_entry());
  registry.add(delete_share_group_offsets_entry());
  return registry;
}

}  // namespace kb::handlers
