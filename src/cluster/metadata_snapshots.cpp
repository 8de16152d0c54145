#include "kb/cluster/metadata_snapshots.hpp"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <system_error>

#include "kb/cluster/config_catalog.hpp"
#include "kb/cluster/startup.hpp"
#include "kb/storage/metadata_records.hpp"

namespace kb::cluster {

namespace {

template <class R>
void add(std::vector<std::vector<uint8_t>>& out, const R& record) {
  out.push_back(storage::encode_metadata_record(record, R::kMaxVersion));
}

storage::PartitionRecord partition_record(const Uuid& topic_id, const PartitionInfo& p) {
  storage::PartitionRecord r;
  r.partition_id = p.partition_index;
  r.topic_id = topic_id;
  r.replicas = p.replicas;
  r.isr = p.isr;
  r.removing_replicas = p.removing_replicas;
  r.adding_replicas = p.adding_replicas;
  r.leader = p.leader;
  r.leader_epoch = p.leader_epoch;
  r.partition_epoch = p.partition_epoch;
  r.directories = p.directories;
  if (!p.eligible_leader_replicas.empty()) r.eligible_leader_replicas = p.eligible_leader_replicas;
  if (!p.last_known_elr.empty()) r.last_known_elr = p.last_known_elr;
  return r;
}

}  // namespace

std::vector<std::vector<uint8_t>> metadata_image_records(const BrokerState& state) {
  std::vector<std::vector<uint8_t>> out;
  // metadata.version first: a reader needs it before anything else.
  if (auto mv = state.features.find("metadata.version"); mv != state.features.end())
    add(out, storage::FeatureLevelRecord{mv->first, mv->second});
  for (const auto& [name, level] : state.features)
    if (name != "metadata.version") add(out, storage::FeatureLevelRecord{name, level});
  for (const auto& value : state.foreign_metadata_records) out.push_back(value);
  for (const auto& [name, topic] : state.topics.topics()) {
    add(out, storage::TopicRecord{name, topic.id});
    for (const PartitionInfo& p : topic.partitions) add(out, partition_record(topic.id, p));
  }
  for (const auto& [resource, configs] : state.configs)
    for (const auto& [key, value] : configs)
      add(out, storage::ConfigRecord{resource.first, resource.second, key, value});
  state.scram_credentials.for_each(
      [&](security::ScramMechanism m, const std::string& user, const security::ScramCredential& c) {
        add(out, storage::UserScramCredentialRecord{user, static_cast<int8_t>(m), c.salt,
                                                    c.stored_key, c.server_key, c.iterations});
      });
  client_quota_records(state.client_quotas,
                       [&](const storage::ClientQuotaRecord& r) { add(out, r); });
  for (const auto& [id, acl] : state.authorizer.acls().by_id())
    add(out, storage::AccessControlEntryRecord{
                 id, static_cast<int8_t>(acl.resource_type), acl.resource_name,
                 static_cast<int8_t>(acl.pattern_type), acl.principal, acl.host,
                 static_cast<int8_t>(acl.operation), static_cast<int8_t>(acl.permission)});
  if (state.next_producer_id > 0) {
    // As Kafka's image writes it: no broker, just the next id.
    storage::ProducerIdsRecord ids;
    ids.broker_id = -1;
    ids.broker_epoch = -1;
    ids.next_producer_id = state.next_producer_id;
    add(out, ids);
  }
  return out;
}

storage::Result<std::vector<uint8_t>> make_metadata_snapshot(const std::filesystem::path& dir,
                                                             storage::SnapshotId id,
                                                             int64_t last_timestamp,
                                                             int64_t now_ms) {
  std::vector<std::vector<uint8_t>> records;
  {
    BrokerState image;
    auto summary = storage::replay_metadata_log(dir, [&](const storage::MetadataLogEntry& e) {
      if (e.from_snapshot || e.offset < id.end_offset) apply_replayed_metadata(image, e);
    });
    if (!summary) return summary.error();
    if (summary->last_offset < id.end_offset - 1)
      return storage::Error{fmt::format("the metadata log could be read only up to offset {}{}{}",
                                        summary->last_offset, summary->stopped_early() ? ": " : "",
                                        summary->stop_message)};
    records = metadata_image_records(image);
  }  // the image goes before the bytes are made
  return storage::encode_metadata_snapshot(id, last_timestamp >= 0 ? last_timestamp : now_ms,
                                           now_ms, records);
}

void MetadataSnapshotter::loaded(int64_t applied_end_offset, int32_t last_epoch,
                                 int64_t last_timestamp,
                                 std::optional<storage::SnapshotId> snapshot, int64_t now_ms) {
  applied_end_ = applied_end_offset;
  epoch_ = last_epoch;
  last_timestamp_ = last_timestamp;
  latest_ = snapshot;
  bytes_since_ = 0;
  last_snapshot_ms_ = now_ms;
}

void MetadataSnapshotter::appended(BrokerState& state, int64_t end_offset, int32_t epoch,
                                   int64_t timestamp, uint64_t bytes, int64_t now_ms) {
  applied_end_ = end_offset;
  epoch_ = epoch;
  last_timestamp_ = timestamp;
  bytes_since_ += bytes;
  poll(state, now_ms);
}

void MetadataSnapshotter::start_if_due(BrokerState& state, int64_t now_ms) {
  if (writer_.busy() || bytes_since_ == 0) return;  // a running write: asked again when done
  const bool by_size = options_.max_bytes_between > 0 && bytes_since_ >= options_.max_bytes_between;
  const bool by_time =
      options_.max_interval_ms > 0 && now_ms - last_snapshot_ms_ >= options_.max_interval_ms;
  if (!by_size && !by_time) return;
  const std::string reason =
      by_size ? fmt::format("{} bytes of records were appended since the last one", bytes_since_)
              : fmt::format("{} ms passed since the last one", now_ms - last_snapshot_ms_);
  if (snapshot_now(state, now_ms))
    spdlog::info("metadata log: writing snapshot {} because {}",
                 storage::snapshot_file_name(*latest_), reason);
}

bool MetadataSnapshotter::snapshot_now(BrokerState& state, int64_t now_ms) {
  if (failed_ || writer_.busy() || !state.metadata_log || applied_end_ <= 0 ||
      !state.metadata_log_refusal.empty())
    return false;
  if (latest_ && latest_->end_offset >= applied_end_) return false;
  const storage::SnapshotId id{applied_end_, epoch_};
  const std::filesystem::path dir = state.metadata_log->dir();
  writer_.start(dir, id, [dir, id, last_timestamp = last_timestamp_, now_ms] {
    return make_metadata_snapshot(dir, id, last_timestamp, now_ms);
  });
  latest_ = id;  // taken back if the write fails
  bytes_since_ = 0;
  last_snapshot_ms_ = now_ms;
  return true;
}

void MetadataSnapshotter::poll(BrokerState& state, int64_t now_ms) {
  take_result(state, now_ms);
  start_if_due(state, now_ms);
}

void MetadataSnapshotter::take_result(BrokerState& state, int64_t now_ms) {
  auto result = writer_.take_result();
  if (!result) return;
  const auto& [id, status] = *result;
  if (!status.ok()) {
    // The log still holds everything: only the protection a snapshot gives
    // is missing. Not retried, so a full disk is not hammered.
    spdlog::error("metadata log: snapshot {} not written: {}; no further snapshots until restart",
                  storage::snapshot_file_name(id), status.error().message);
    failed_ = true;
    const auto snapshots = state.metadata_log
                               ? storage::list_metadata_snapshots(state.metadata_log->dir())
                               : std::vector<storage::SnapshotFileInfo>{};
    latest_.reset();
    if (!snapshots.empty()) latest_ = snapshots.back().id;
    return;
  }
  spdlog::info("metadata log: wrote snapshot {}", storage::snapshot_file_name(id));
  retain(state, now_ms);
}

void MetadataSnapshotter::finish(BrokerState& state, int64_t now_ms) {
  writer_.wait();
  take_result(state, now_ms);
}

void MetadataSnapshotter::retain(BrokerState& state, int64_t now_ms) {
  if (!state.metadata_log) return;
  std::vector<storage::SnapshotFileInfo> snapshots =
      storage::list_metadata_snapshots(state.metadata_log->dir());
  uint64_t snapshots_size = 0;
  for (const auto& s : snapshots) snapshots_size += s.size;
  const uint64_t log_size = state.metadata_log->size_bytes();
  bool removed_any = false;
  while (snapshots.size() > std::max<size_t>(options_.min_snapshots_kept, 1)) {
    const storage::SnapshotFileInfo& oldest = snapshots.front();
    bool breach = options_.retention_bytes >= 0 &&
                  log_size + snapshots_size > static_cast<uint64_t>(options_.retention_bytes);
    if (!breach && options_.retention_ms >= 0) {
      auto timestamp = storage::snapshot_last_contained_timestamp(oldest.path);
      breach = timestamp && now_ms - *timestamp > options_.retention_ms;
    }
    if (!breach) break;
    std::error_code ec;
    std::filesystem::remove(oldest.path, ec);
    if (ec) {
      spdlog::warn("metadata log: cannot remove {}: {}", oldest.path.string(), ec.message());
      break;
    }
    spdlog::info("metadata log: removed snapshot {} (metadata.max.retention.*)",
                 oldest.path.filename().string());
    snapshots_size -= oldest.size;
    snapshots.erase(snapshots.begin());
    removed_any = true;
  }
  if (!removed_any || snapshots.empty()) return;
  // Segments wholly below the oldest snapshot kept hold nothing a start-up reads.
  const int64_t covered = snapshots.front().id.end_offset;
  for (;;) {
    const std::vector<int64_t> bases = state.metadata_log->segment_base_offsets();
    if (bases.size() < 2 || bases[1] > covered) break;
    if (auto deleted = state.metadata_log->delete_oldest_segment(); !deleted.ok()) {
      spdlog::warn("metadata log: {}", deleted.error().message);
      break;
    }
    spdlog::info("metadata log: removed the segment at offset {}, below snapshot {}", bases[0],
                 storage::snapshot_file_name(snapshots.front().id));
  }
}

}  // namespace kb::cluster
