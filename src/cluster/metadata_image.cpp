#include "kb/cluster/metadata_image.hpp"

#include <spdlog/spdlog.h>

#include "kb/cluster/broker_reconfigurable.hpp"
#include "kb/cluster/config_catalog.hpp"
#include "kb/cluster/group_configs.hpp"
#include "kb/cluster/topic_admin.hpp"

namespace kb::cluster {

namespace {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

}  // namespace

void apply_metadata_record(BrokerState& state, const storage::MetadataRecord& record) {
  TopicTable& topics = state.topics;
  std::visit(
      Overloaded{
          [&](const storage::TopicRecord& r) {
            // The name becomes a directory name: a damaged or forged log must
            // not lead the broker outside its log directory.
            if (std::string problem = topic_name_problem(r.name); !problem.empty()) {
              spdlog::warn("metadata: skipping topic record with an invalid name: {}", problem);
              return;
            }
            topics.add_topic(r.name, r.topic_id);
          },
          [&](const storage::PartitionRecord& r) {
            PartitionInfo p;
            p.partition_index = r.partition_id;
            p.leader = r.leader;
            p.leader_epoch = r.leader_epoch;
            p.partition_epoch = r.partition_epoch;
            p.replicas = r.replicas;
            p.isr = r.isr;
            p.removing_replicas = r.removing_replicas;
            p.adding_replicas = r.adding_replicas;
            p.eligible_leader_replicas =
                r.eligible_leader_replicas.value_or(std::vector<int32_t>{});
            p.last_known_elr = r.last_known_elr.value_or(std::vector<int32_t>{});
            p.directories = r.directories;
            if (!topics.set_partition(r.topic_id, std::move(p)))
              spdlog::warn("metadata: partition {} of unknown topic id {}", r.partition_id,
                           r.topic_id.to_base64());
          },
          [&](const storage::PartitionChangeRecord& r) {
            PartitionInfo* p = topics.mutable_partition(r.topic_id, r.partition_id);
            if (p == nullptr) {
              spdlog::warn("metadata: change to unknown partition {} of topic id {}",
                           r.partition_id, r.topic_id.to_base64());
              return;
            }
            // A new leader, or replicas or ISR that change, start a new leader
            // epoch; every change starts a new partition epoch.
            if (r.isr) p->isr = *r.isr;
            if (r.replicas) p->replicas = *r.replicas;
            if (r.removing_replicas) p->removing_replicas = *r.removing_replicas;
            if (r.adding_replicas) p->adding_replicas = *r.adding_replicas;
            if (r.eligible_leader_replicas)
              p->eligible_leader_replicas = *r.eligible_leader_replicas;
            if (r.last_known_elr) p->last_known_elr = *r.last_known_elr;
            if (r.directories) p->directories = *r.directories;
            if (r.leader != storage::kLeaderUnchanged) {
              p->leader = r.leader;
              ++p->leader_epoch;
            }
            ++p->partition_epoch;
          },
          [&](const storage::RemoveTopicRecord& r) {
            // The topic's configs go with it (a topic created again later
            // under the same name starts from the defaults).
            if (const TopicInfo* t = topics.find(r.topic_id))
              state.configs.erase({kTopicResource, t->name});
            topics.remove_topic(r.topic_id);
            state.producer_states.forget_topic(r.topic_id);
          },
          [&](const storage::FeatureLevelRecord& r) { state.features[r.name] = r.feature_level; },
          [&](const storage::ProducerIdsRecord& r) {
            state.next_producer_id = std::max(state.next_producer_id, r.next_producer_id);
          },
          [&](const storage::ConfigRecord& r) {
            auto& configs = state.configs[{r.resource_type, r.resource_name}];
            if (r.value)
              configs[r.name] = *r.value;
            else
              configs.erase(r.name);
            // Open logs take a changed segment.bytes / segment.ms at once,
            // and a broker's log.segment.bytes / log.roll.ms when they
            // have none of their own.
            if (r.resource_type == kTopicResource && state.logs)
              state.logs->refresh_topic_options(r.resource_name);
            if (r.resource_type == kBrokerResource && state.logs) state.logs->refresh_all_options();
            if (r.resource_type == kBrokerResource)
              for (BrokerReconfigurable* reconfigurable : state.reconfigurables)
                reconfigurable->broker_configs_changed();
            if (r.resource_type == kGroupResource)
              for (BrokerReconfigurable* reconfigurable : state.reconfigurables)
                reconfigurable->group_configs_changed(r.resource_name);
          },
          [&](const storage::UserScramCredentialRecord& r) {
            if (r.mechanism != static_cast<int8_t>(security::ScramMechanism::kSha256) &&
                r.mechanism != static_cast<int8_t>(security::ScramMechanism::kSha512)) {
              spdlog::warn("metadata: SCRAM credential of {} with unknown mechanism {}", r.name,
                           r.mechanism);
              return;
            }
            security::ScramCredential c{r.salt, r.stored_key, r.server_key, r.iterations};
            state.scram_credentials.put(static_cast<security::ScramMechanism>(r.mechanism), r.name,
                                        std::move(c));
          },
          [&](const storage::RemoveUserScramCredentialRecord& r) {
            state.scram_credentials.remove(static_cast<security::ScramMechanism>(r.mechanism),
                                           r.name);
          },
          [&](const storage::ClientQuotaRecord& r) { state.client_quotas.apply(r); },
          [&](const storage::AccessControlEntryRecord& r) {
            state.authorizer.acls().add(
                r.id, security::Acl{security::resource_type_of(r.resource_type), r.resource_name,
                                    security::pattern_type_of(r.pattern_type), r.principal, r.host,
                                    security::operation_of(r.operation),
                                    security::permission_of(r.permission_type)});
          },
          [&](const storage::RemoveAccessControlEntryRecord& r) {
            if (!state.authorizer.acls().remove(r.id))
              spdlog::warn("metadata: removal of unknown ACL {}", r.id.to_base64());
          },
          [&](const storage::RegisterBrokerRecord&) {},
          [&](const storage::UnknownMetadataRecord&) {},
      },
      record);
}

}  // namespace kb::cluster
