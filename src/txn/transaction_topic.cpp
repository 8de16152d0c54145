#include "kb/txn/transaction_topic.hpp"

#include <string>

#include <spdlog/spdlog.h>

#include "kb/cluster/features.hpp"
#include "kb/txn/records.hpp"

namespace kb::txn {

namespace {

cluster::CoordinatorTopicOptions topic_options(const TxnConfig& config) {
  cluster::CoordinatorTopicOptions options;
  options.name = std::string(kTransactionStateTopic);
  options.partitions = config.log_partitions;
  options.segment_bytes = config.log_segment_bytes;
  // The configs Kafka gives it (min.insync.replicas: one node).
  options.configs = {{"cleanup.policy", "compact"},
                     {"compression.type", "uncompressed"},
                     {"unclean.leader.election.enable", "false"},
                     {"min.insync.replicas", "1"}};
  return options;
}

}  // namespace

TransactionTopic::TransactionTopic(cluster::BrokerState& state, const TxnConfig& config)
    : state_(state), topic_(state, topic_options(config)) {}

int16_t TransactionTopic::transaction_version() {
  if (!state_.features.contains("metadata.version")) return cluster::kBootstrapTransactionVersion;
  const auto it = state_.features.find("transaction.version");
  return it == state_.features.end() ? int16_t{0}
                                     : cluster::served_level("transaction.version", it->second);
}

storage::Status TransactionTopic::load_into(TransactionCoordinator& coordinator, Millis now) {
  coordinator.set_log_partitions(partitions());
  size_t unreadable = 0;
  cluster::CoordinatorTopic::Replay replay;
  replay.record = [&](int32_t /*partition*/, const storage::RecordView& record) {
    if (record.key && !coordinator.load(*record.key, record.value)) ++unreadable;
  };
  auto replayed = topic_.replay(replay);
  if (!replayed) return replayed.error();
  if (unreadable > 0)
    spdlog::error(
        "{}: {} records this broker cannot read (a newer version, or malformed bytes) are kept "
        "in the log but not used",
        kTransactionStateTopic, unreadable);
  spdlog::info("loaded {} records of {} ({} transactional ids)", replayed->records,
               kTransactionStateTopic, coordinator.transactions().size());
  coordinator.finish_load(now);
  return {};
}

}  // namespace kb::txn
