#include "kb/handlers/produce.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "kb/cluster/config_catalog.hpp"
#include "kb/protocol/error_code.hpp"
#include "kb/storage/log_validator.hpp"
#include "kb/storage/producer_state.hpp"
#include "kb/storage/record_batch.hpp"

namespace kb::handlers {

using protocol::ErrorCode;
using protocol::ProduceRequest;
using protocol::ProduceResponse;
using protocol::to_wire;
using PartitionResponse = ProduceResponse::PartitionProduceResponse;

namespace {

using cluster::kBrokerResource;
using cluster::kTopicResource;

// The log settings that apply to one topic: the broker's, overridden by the
// topic's own configs.
struct TopicSettings {
  int64_t max_message_bytes = 0;
  bool log_append_time = false;
  int64_t flush_interval_messages = std::numeric_limits<int64_t>::max();
  int64_t timestamp_before_max_ms = std::numeric_limits<int64_t>::max();
  int64_t timestamp_after_max_ms = std::numeric_limits<int64_t>::max();
  // cleanup.policy has "compact": every record needs a key.
  bool compacted = false;
};

std::optional<int64_t> parse_long(std::string_view s) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

TopicSettings settings_for(const cluster::BrokerState& state, const std::string& topic) {
  TopicSettings s;
  s.max_message_bytes = state.log_config.max_message_bytes;
  s.log_append_time = state.log_config.log_append_time;
  s.flush_interval_messages = state.log_config.flush_interval_messages;
  s.timestamp_before_max_ms = state.log_config.timestamp_before_max_ms;
  s.timestamp_after_max_ms = state.log_config.timestamp_after_max_ms;
  // The broker's dynamic configs (kafka-configs --entity-type brokers) come
  // before server.properties, the topic's own after them.
  // (Resources sort by type: nothing at or after the broker type, no lookups.)
  if (state.configs.lower_bound({kBrokerResource, std::string()}) != state.configs.end()) {
    if (auto v = cluster::dynamic_broker_config(state, "log.message.timestamp.type"))
      s.log_append_time = *v == "LogAppendTime" || (*v != "CreateTime" && s.log_append_time);
    if (auto v = cluster::dynamic_broker_config(state, "message.max.bytes"))
      if (auto n = parse_long(*v); n && *n >= 0) s.max_message_bytes = *n;
    if (auto v = cluster::dynamic_broker_config(state, "log.flush.interval.messages"))
      if (auto n = parse_long(*v); n && *n >= 1) s.flush_interval_messages = *n;
    if (auto v = cluster::dynamic_broker_config(state, "log.message.timestamp.before.max.ms"))
      if (auto n = parse_long(*v); n && *n >= 0) s.timestamp_before_max_ms = *n;
    if (auto v = cluster::dynamic_broker_config(state, "log.message.timestamp.after.max.ms"))
      if (auto n = parse_long(*v); n && *n >= 0) s.timestamp_after_max_ms = *n;
  }
  if (auto policy = cluster::topic_config_value(state, topic, "cleanup.policy")) {
    for (size_t start = 0; start <= policy->size();) {
      size_t comma = policy->find(',', start);
      if (comma == std::string::npos) comma = policy->size();
      std::string_view item = std::string_view(*policy).substr(start, comma - start);
      while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
      while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
      if (item == "compact") s.compacted = true;
      start = comma + 1;
    }
  }
  auto it = state.configs.find(std::pair<int8_t, std::string>{kTopicResource, topic});
  if (it == state.configs.end()) return s;
  const auto& configs = it->second;
  // Values were checked when they were set; a bad one leaves the default.
  if (auto c = configs.find("message.timestamp.type"); c != configs.end()) {
    if (c->second == "LogAppendTime") s.log_append_time = true;
    if (c->second == "CreateTime") s.log_append_time = false;
  }
  if (auto c = configs.find("max.message.bytes"); c != configs.end())
    if (auto v = parse_long(c->second); v && *v >= 0) s.max_message_bytes = *v;
  if (auto c = configs.find("flush.messages"); c != configs.end())
    if (auto v = parse_long(c->second); v && *v >= 1) s.flush_interval_messages = *v;
  if (auto c = configs.find("message.timestamp.before.max.ms"); c != configs.end())
    if (auto v = parse_long(c->second); v && *v >= 0) s.timestamp_before_max_ms = *v;
  if (auto c = configs.find("message.timestamp.after.max.ms"); c != configs.end())
    if (auto v = parse_long(c->second); v && *v >= 0) s.timestamp_after_max_ms = *v;
  return s;
}

using RecordErrors = std::vector<ProduceResponse::BatchIndexAndErrorMessage>;

// An error answer: Kafka's PartitionResponse(error) has base offset, log
// append time and log start offset all -1. Like Kafka, only INVALID_RECORD and
// INVALID_TIMESTAMP (record validation errors) carry an error message and
// record errors (v8+); other errors leave it null (the reason is logged at
// debug level).
PartitionResponse partition_error(int32_t index, ErrorCode error, std::string message = {},
                                  RecordErrors record_errors = {}) {
  PartitionResponse p;
  p.index = index;
  p.error_code = to_wire(error);
  p.base_offset = -1;
  p.log_append_time_ms = -1;
  p.log_start_offset = -1;
  const bool record_error =
      error == ErrorCode::kInvalidRecord || error == ErrorCode::kInvalidTimestamp;
  if (record_error && !message.empty()) p.error_message = std::move(message);
  if (record_error) p.record_errors = std::move(record_errors);
  return p;
}

struct Refusal {
  Refusal() = default;
  Refusal(ErrorCode error_, std::string message_) : error(error_), message(std::move(message_)) {}

  ErrorCode error = ErrorCode::kNone;
  std::string message;
  RecordErrors record_errors;  // INVALID_TIMESTAMP: which records, and why
};

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// log.message.timestamp.before.max.ms / after.max.ms, as Kafka's LogValidator
// applies them to CreateTime batches: every record's timestamp (but
// NO_TIMESTAMP, -1) within [now - before, now + after], or INVALID_TIMESTAMP
// naming each record. Compressed batches are checked by their header's first
// and max timestamps (their records are not decompressed here).
Refusal check_timestamps(const storage::RecordBatchView& batch, int64_t now, int64_t before_max,
                         int64_t after_max) {
  int64_t lower = 0, upper = 0;
  if (__builtin_sub_overflow(now, before_max, &lower)) lower = std::numeric_limits<int64_t>::min();
  if (__builtin_add_overflow(now, after_max, &upper)) upper = std::numeric_limits<int64_t>::max();
  Refusal refused;
  auto check = [&](int32_t index, int64_t offset, int64_t timestamp) {
    if (timestamp == -1 || (timestamp >= lower && timestamp <= upper)) return;
    refused.record_errors.push_back(
        {index, fmt::format("Timestamp {} of message with offset {} is out of range. The "
                            "timestamp should be within [{}, {}]",
                            timestamp, offset, lower, upper)});
  };
  if (batch.compression() == storage::Compression::none) {
    storage::RecordIterator records(batch);
    storage::RecordView r;
    for (int32_t i = 0; records.next(r); ++i) check(i, r.offset, r.timestamp);
  } else {
    check(0, batch.base_offset(), batch.base_timestamp());
    if (refused.record_errors.empty()) check(0, batch.base_offset(), batch.max_timestamp());
  }
  if (!refused.record_errors.empty()) {
    refused.error = ErrorCode::kInvalidTimestamp;
    refused.message = "One or more records have been rejected due to invalid timestamp";
  }
  return refused;
}

// Everything checked before anything is written, in Kafka's order: the batch
// structure, one batch per partition, base offset 0, size, CRC, then the header
// fields and (uncompressed) the records.
// Kafka's record errors, one per record (a missing key before a timestamp
// out of range), as LogValidator gathers them: any timestamp among them makes
// it INVALID_TIMESTAMP, else INVALID_RECORD naming the first three.
Refusal record_errors(const std::vector<int32_t>& keyless, Refusal timestamps,
                      std::string_view topic, int32_t partition) {
  if (keyless.empty()) return timestamps;
  // Per record: its error, and whether it is about the timestamp.
  std::map<int32_t, std::pair<ProduceResponse::BatchIndexAndErrorMessage, bool>> by_record;
  for (auto& e : timestamps.record_errors) {
    const int32_t index = e.batch_index;
    by_record[index] = {std::move(e), true};
  }
  for (int32_t index : keyless)
    by_record[index] = {{index, fmt::format("Compacted topic cannot accept message without key in "
                                            "topic partition {}-{}",
                                            topic, partition)},
                        false};
  Refusal refused;
  bool timestamp_error = false;
  for (auto& [index, error] : by_record) {
    timestamp_error |= error.second;
    refused.record_errors.push_back(std::move(error.first));
  }
  if (timestamp_error) {
    refused.error = ErrorCode::kInvalidTimestamp;
    refused.message = "One or more records have been rejected due to invalid timestamp";
    return refused;
  }
  std::string shown;
  for (size_t i = 0; i < std::min<size_t>(refused.record_errors.size(), 3); ++i) {
    const auto& e = refused.record_errors[i];
    shown +=
        fmt::format("{}RecordError(batchIndex={}, message={})", i == 0 ? "" : ", ", e.batch_index,
                    e.batch_index_error_message ? "'" + *e.batch_index_error_message + "'"
                                                : std::string("null"));
  }
  refused.error = ErrorCode::kInvalidRecord;
  refused.message = fmt::format(
      "One or more records have been rejected due to {} record errors in total, and only showing "
      "the first three errors at most: [{}]",
      refused.record_errors.size(), shown);
  return refused;
}

Refusal validate(storage::Bytes records, int16_t version, const TopicSettings& settings,
                 std::string_view topic, int32_t partition) {
  const int64_t max_message_bytes = settings.max_message_bytes;
  using storage::BatchError;
  if (records.empty()) return {ErrorCode::kInvalidRecord, "no record batch"};

  // Structure first (lengths, magic), CRC later, so that an oversized batch is
  // MESSAGE_TOO_LARGE whatever its CRC.
  storage::BatchIterator it(records, storage::CrcCheck::skip);
  std::optional<storage::RecordBatchView> batch = it.next();
  if (!batch) {
    if (it.error() == BatchError::unsupported_magic)
      return {ErrorCode::kCorruptMessage,
              fmt::format("record batch magic {} is not supported (only 2)",
                          records.size() > storage::batch_layout::kMagic
                              ? static_cast<int>(
                                    static_cast<int8_t>(records[storage::batch_layout::kMagic]))
                              : -1)};
    return {ErrorCode::kCorruptMessage,
            fmt::format("invalid record batch: {}", storage::to_string(it.error()))};
  }
  if (it.position() != records.size()) {
    if (!it.next() && it.error() != BatchError::none)
      return {ErrorCode::kCorruptMessage, fmt::format("invalid bytes after the record batch: {}",
                                                      storage::to_string(it.error()))};
    return {ErrorCode::kInvalidRecord,
            fmt::format("produce requests with version {} may carry exactly one record batch per "
                        "partition",
                        version)};
  }
  if (batch->base_offset() != 0)
    return {ErrorCode::kInvalidRecord,
            fmt::format("the base offset of the record batch should be 0, but it is {}",
                        batch->base_offset())};
  if (static_cast<int64_t>(batch->size_in_bytes()) > max_message_bytes)
    return {ErrorCode::kMessageTooLarge,
            fmt::format("the record batch is {} bytes, larger than the maximum of {}",
                        batch->size_in_bytes(), max_message_bytes)};
  if (!batch->crc_matches())
    return {ErrorCode::kCorruptMessage,
            fmt::format("record batch CRC mismatch: stored {:#010x}, computed {:#010x}",
                        batch->crc(), batch->compute_crc())};

  const int compression = static_cast<int>(batch->compression());
  if (compression > static_cast<int>(storage::Compression::zstd))
    return {ErrorCode::kCorruptMessage, fmt::format("unknown compression type {}", compression)};
  if (batch->compression() == storage::Compression::zstd && version < 7)
    return {ErrorCode::kUnsupportedCompressionType,
            fmt::format("zstd compression needs produce version 7 or later, not {}", version)};
  if (batch->is_control())
    return {ErrorCode::kInvalidRecord, "clients may not write control batches"};
  if (batch->record_count() <= 0)
    return {ErrorCode::kInvalidRecord,
            fmt::format("invalid record count {}", batch->record_count())};
  if (static_cast<int64_t>(batch->last_offset_delta()) + 1 != batch->record_count())
    return {ErrorCode::kInvalidRecord,
            fmt::format("last offset delta {} does not match the record count {}",
                        batch->last_offset_delta(), batch->record_count())};
  if (batch->producer_id() >= 0 && batch->base_sequence() < 0)
    return {ErrorCode::kInvalidRecord, fmt::format("invalid base sequence {} for producer id {}",
                                                   batch->base_sequence(), batch->producer_id())};
  // Compressed batches are stored as they came: their records cannot be
  // checked without decompressing.
  if (batch->compression() == storage::Compression::none) {
    if (auto error = storage::validate_records(*batch, true))
      return {ErrorCode::kInvalidRecord, fmt::format("invalid record at byte {} of the batch: {}",
                                                     error->position, error->what)};
  }
  std::vector<int32_t> keyless;
  if (settings.compacted) {
    auto found = storage::records_without_key(*batch);
    if (!found)
      return {ErrorCode::kCorruptMessage,
              fmt::format("the records of the batch cannot be read: {}", found.error().message)};
    keyless = std::move(*found);
  }
  Refusal timestamps;
  if (!settings.log_append_time && batch->timestamp_type() == storage::TimestampType::create_time)
    timestamps = check_timestamps(*batch, now_ms(), settings.timestamp_before_max_ms,
                                  settings.timestamp_after_max_ms);
  return record_errors(keyless, std::move(timestamps), topic, partition);
}

// A transactional batch may go to a partition only once its producer added
// the partition to its ongoing transaction (Kafka 3.6+'s verification): NONE,
// or the error the produce answers, as Kafka converts it for clients.
ErrorCode verify_transactional(RequestContext& ctx, const ProduceRequest& request, int16_t version,
                               const cluster::TopicInfo& topic, int32_t index,
                               const storage::RecordBatchHeader& batch) {
  if (!ctx.transactions) return ErrorCode::kTransactionalIdAuthorizationFailed;
  // Kafka refuses transactional records without a transactional id as an
  // unauthorized one.
  if (!request.transactional_id || request.transactional_id->empty())
    return ErrorCode::kTransactionalIdAuthorizationFailed;
  const std::vector<txn::TopicPartition> partition = {{topic.name, index}};
  if (version >= kProduceFirstImplicitAdd) {
    // Transactions v2: the partition joins the transaction here, as Kafka's
    // leader asks its coordinator (AddPartitionsToTxn, verify_only false),
    // with the coordinator's answers turned into what a producer handles.
    const auto added = static_cast<ErrorCode>(ctx.transactions->add_partitions(
        *request.transactional_id, batch.producer_id, batch.producer_epoch, partition, now_ms(),
        txn::kTransactionsV2));
    switch (added) {
      case ErrorCode::kProducerFenced:
        return ErrorCode::kInvalidProducerEpoch;
      case ErrorCode::kCoordinatorNotAvailable:
      case ErrorCode::kNotCoordinator:
      case ErrorCode::kCoordinatorLoadInProgress:
      case ErrorCode::kNetworkException:
        // Kafka: the partition could not be verified; the producer retries.
        return ErrorCode::kNotEnoughReplicas;
      default:
        return added;
    }
  }
  const auto error =
      static_cast<ErrorCode>(ctx.transactions
                                 ->verify_partitions(*request.transactional_id, batch.producer_id,
                                                     batch.producer_epoch, partition)
                                 .front());
  if (error == ErrorCode::kProducerFenced) return ErrorCode::kInvalidProducerEpoch;
  // Produce 11 and later carry TRANSACTION_ABORTABLE; older clients know
  // INVALID_TXN_STATE.
  if (error == ErrorCode::kTransactionAbortable && version <= 10)
    return ErrorCode::kInvalidTxnState;
  return error;
}

// An idempotent batch (one with a producer id) is checked against the
// partition's producer state as Kafka does. nullopt: append it, then record it
// in `producers`. Otherwise the answer: a resent batch gets its first append's
// offsets (and, as in Kafka, its max timestamp as log append time) with
// nothing written; a gap or a new epoch not starting at 0 gets
// OUT_OF_ORDER_SEQUENCE_NUMBER, an older epoch INVALID_PRODUCER_EPOCH.
std::optional<PartitionResponse> check_producer_sequence(RequestContext& ctx,
                                                         const cluster::TopicInfo& topic,
                                                         int32_t index, storage::PartitionLog& log,
                                                         storage::Bytes batch,
                                                         storage::ProducerStateTable*& producers) {
  auto header = storage::RecordBatchHeader::parse(batch);
  if (!header || header->producer_id == storage::kNoProducerId) return std::nullopt;
  auto table = ctx.state.producer_states.find_or_load(topic.id, index, log, now_ms());
  if (!table) {
    spdlog::error("produce {}-{}: {}", topic.name, index, table.error().message);
    return partition_error(index, ErrorCode::kKafkaStorageError, table.error().message);
  }
  storage::SequenceCheck check = (*table)->check(*header);
  switch (check.verdict) {
    case storage::SequenceVerdict::append:
      producers = *table;
      return std::nullopt;
    case storage::SequenceVerdict::duplicate: {
      PartitionResponse p;
      p.index = index;
      p.base_offset = check.duplicate.first_offset;
      p.log_append_time_ms = check.duplicate.timestamp;
      p.log_start_offset = log.log_start_offset();
      return p;
    }
    case storage::SequenceVerdict::out_of_order:
      spdlog::debug("produce {}-{}: {}", topic.name, index, check.message);
      return partition_error(index, ErrorCode::kOutOfOrderSequenceNumber);
    case storage::SequenceVerdict::old_epoch:
      spdlog::debug("produce {}-{}: {}", topic.name, index, check.message);
      return partition_error(index, ErrorCode::kInvalidProducerEpoch);
  }
  return std::nullopt;
}

PartitionResponse append_partition(RequestContext& ctx, const ProduceRequest& request,
                                   int16_t version, const cluster::TopicInfo& topic,
                                   const cluster::PartitionInfo& info,
                                   const TopicSettings& settings, storage::Bytes records) {
  const int16_t acks = request.acks;
  const int32_t index = info.partition_index;
  if (auto header = storage::RecordBatchHeader::parse(records);
      header && header->is_transactional()) {
    // Transactions v2, as Kafka's partition checks before asking the
    // coordinator: an epoch older than the partition's producer state is
    // refused at once; a batch opening the producer's transaction here
    // (none ongoing at this epoch) must start at sequence 0 when the
    // partition holds no sequence of this producer to continue from.
    bool first_needs_sequence_0 = false;
    if (version >= kProduceFirstImplicitAdd && ctx.state.logs != nullptr) {
      auto log = ctx.state.logs->find_or_create(topic.name, index, topic.id);
      auto table = log ? ctx.state.producer_states.find_or_load(topic.id, index, **log, now_ms())
                       : storage::Result<storage::ProducerStateTable*>(log.error());
      if (!table) {
        spdlog::error("produce {}-{}: {}", topic.name, index, table.error().message);
        return partition_error(index, ErrorCode::kKafkaStorageError, table.error().message);
      }
      const storage::ProducerEntry* entry = (*table)->find(header->producer_id);
      if (entry != nullptr && header->producer_epoch < entry->epoch) {
        spdlog::debug("produce {}-{}: epoch {} of producer {} is older than {}", topic.name, index,
                      header->producer_epoch, header->producer_id, entry->epoch);
        return partition_error(index, ErrorCode::kInvalidProducerEpoch);
      }
      const bool ongoing_here = entry != nullptr && entry->epoch == header->producer_epoch &&
                                entry->current_txn_first_offset >= 0;
      first_needs_sequence_0 = !ongoing_here && (entry == nullptr || entry->batches.empty());
    }
    const ErrorCode verified = verify_transactional(ctx, request, version, topic, index, *header);
    if (verified != ErrorCode::kNone) {
      spdlog::debug("produce {}-{}: transactional batch of producer {} refused ({})", topic.name,
                    index, header->producer_id, to_wire(verified));
      return partition_error(index, verified);
    }
    if (first_needs_sequence_0 && header->base_sequence != 0) {
      spdlog::debug("produce {}-{}: producer {} opens its transaction at sequence {}, not 0",
                    topic.name, index, header->producer_id, header->base_sequence);
      return partition_error(index, ErrorCode::kOutOfOrderSequenceNumber);
    }
  }
  // Append stamps offsets (and the append time) into the stored copy; the
  // request's bytes stay as they came.
  const storage::Bytes batch = records;
  std::optional<int64_t> append_time;
  if (settings.log_append_time) append_time = now_ms();

  auto log = ctx.state.logs->find_or_create(topic.name, index, topic.id);
  if (!log) {
    spdlog::error("produce {}-{}: {}", topic.name, index, log.error().message);
    return partition_error(index, ErrorCode::kKafkaStorageError, log.error().message);
  }
  storage::ProducerStateTable* producers = nullptr;
  if (auto answer = check_producer_sequence(ctx, topic, index, **log, batch, producers)) {
    // A resent batch whose first append is not yet synced is acknowledged,
    // at acks=-1 under a flush interval, only once it is.
    const bool strict = settings.flush_interval_messages != std::numeric_limits<int64_t>::max();
    if (answer->error_code == to_wire(ErrorCode::kNone) && acks == -1 && strict &&
        ctx.state.flusher && (*log)->flushed_offset() <= answer->base_offset)
      ctx.durable_after.push_back(ctx.state.flusher->request_flush(topic.name, index, **log));
    return *answer;
  }
  const int64_t end_before = (*log)->log_end_offset();
  const size_t segments_before = (*log)->segment_count();
  auto appended = (*log)->append(
      batch, info.leader_epoch, append_time,
      ctx.defer_log_writes ? storage::AppendWrite::deferred : storage::AppendWrite::now);
  if (!appended) {
    spdlog::error("produce {}-{}: append failed: {}", topic.name, index, appended.error().message);
    return partition_error(index, ErrorCode::kKafkaStorageError, appended.error().message);
  }
  if (segments_before > 0 && (*log)->segment_count() > segments_before)
    ctx.state.producer_states.snapshot_at_roll(topic.id, index, end_before);
  if (producers) {
    // The producer state remembers the batch as stored.
    auto stored = *storage::RecordBatchHeader::parse(batch);
    stored.base_offset = appended->first_offset;
    if (append_time) stored.max_timestamp = *append_time;
    producers->update(stored);
  }
  ++ctx.state.data_generation;
  if (ctx.defer_log_writes) ctx.state.logs->note_deferred(**log);
  if (ctx.state.flusher) ctx.state.flusher->start_writeback(**log);

  // log.flush.interval.messages: flush whenever the log end offset passes a
  // multiple of the interval, so fewer than `interval` messages are ever
  // unsynced (interval 1: every append is synced; acks=-1 is answered after
  // its sync, acks=1 after the append). The flusher syncs off the loop;
  // without one, the sync happens here.
  // A segment rolled by this append is synced by a flush too, waited for or not.
  const int64_t interval = settings.flush_interval_messages;
  const int64_t end_after = (*log)->log_end_offset();
  const bool flush_due = interval > 0 && end_before / interval != end_after / interval;
  if ((flush_due || (*log)->has_unsynced_rolled_segments()) && ctx.state.flusher) {
    cluster::FlushTicket ticket = ctx.state.flusher->request_flush(topic.name, index, **log);
    if (flush_due && acks == -1) ctx.durable_after.push_back(ticket);
  } else if (flush_due || (*log)->has_unsynced_rolled_segments()) {
    if (auto flushed = (*log)->flush(); !flushed) {
      spdlog::error("produce {}-{}: flush failed: {}", topic.name, index, flushed.error().message);
      return partition_error(index, ErrorCode::kKafkaStorageError, flushed.error().message);
    }
  }

  PartitionResponse p;
  p.index = index;
  p.base_offset = appended->first_offset;
  p.log_append_time_ms = append_time.value_or(-1);
  p.log_start_offset = appended->log_start_offset;
  return p;
}

// Kafka counts a partition's failure in FailedProduceRequestsPerSec only when
// it is unexpected: not for these, which a client causes or handles itself.
bool counts_as_failed_produce(int16_t code) {
  switch (static_cast<ErrorCode>(code)) {
    case ErrorCode::kNone:
    case ErrorCode::kUnknownTopicOrPartition:
    case ErrorCode::kNotLeaderOrFollower:
    case ErrorCode::kMessageTooLarge:
    case ErrorCode::kRecordListTooLarge:
    case ErrorCode::kCorruptMessage:
    case ErrorCode::kKafkaStorageError:
    case ErrorCode::kInvalidTopicException:
    case ErrorCode::kInvalidRequiredAcks:
    case ErrorCode::kUnsupportedVersion:
      return false;
    default:
      return true;
  }
}

// What Kafka's BrokerTopicMetrics count for one partition of a produce
// request to an existing topic: the request, and either the appended bytes
// and records or an unexpected failure.
void count_produce(metrics::BrokerMetrics& m, std::string_view topic, int16_t error_code,
                   storage::Bytes records) {
  metrics::TopicCounters& t = m.topic(topic);
  metrics::TopicCounters& all = m.all_topics();
  const auto code = static_cast<ErrorCode>(error_code);
  if (code == ErrorCode::kInvalidRequiredAcks || code == ErrorCode::kUnsupportedVersion) return;
  t.total_produce.add();
  all.total_produce.add();
  if (code == ErrorCode::kNone) {
    const auto header = storage::RecordBatchHeader::parse(records);
    const uint64_t messages = header ? static_cast<uint64_t>(std::max(header->record_count, 0)) : 0;
    t.bytes_in.add(records.size());
    all.bytes_in.add(records.size());
    t.messages_in.add(messages);
    all.messages_in.add(messages);
  } else if (counts_as_failed_produce(error_code)) {
    t.failed_produce.add();
    all.failed_produce.add();
  }
}

// Kafka refuses a whole request whose transactional batches (of a request
// with a transactional id) come from more than one producer id and epoch.
bool mixes_transactional_producers(const ProduceRequest& request) {
  if (!request.transactional_id) return false;
  std::optional<std::pair<int64_t, int16_t>> seen;
  for (const auto& t : request.topic_data) {
    for (const auto& part : t.partition_data) {
      if (!part.records) continue;
      const auto header = storage::RecordBatchHeader::parse(*part.records);
      if (!header || header->producer_id == storage::kNoProducerId || !header->is_transactional())
        continue;
      const std::pair<int64_t, int16_t> producer{header->producer_id, header->producer_epoch};
      if (seen && *seen != producer) return true;
      seen = producer;
    }
  }
  return false;
}

// Kafka asks WRITE on the transactional id of a request carrying any
// transactional batch (none named: refused too), before looking at topics.
bool transactional_id_denied(const RequestContext& ctx, const ProduceRequest& request) {
  const bool transactional =
      std::any_of(request.topic_data.begin(), request.topic_data.end(), [](const auto& t) {
        return std::any_of(t.partition_data.begin(), t.partition_data.end(), [](const auto& p) {
          if (!p.records) return false;
          const auto header = storage::RecordBatchHeader::parse(*p.records);
          return header && header->is_transactional();
        });
      });
  return transactional &&
         (!request.transactional_id ||
          !ctx.authorized(security::AclOperation::kWrite, security::ResourceType::kTransactionalId,
                          *request.transactional_id));
}

}  // namespace

std::optional<ProduceResponse> handle_produce(RequestContext& ctx, const ProduceRequest& request,
                                              int16_t version) {
  ProduceResponse response;
  const bool valid_acks = request.acks == 0 || request.acks == 1 || request.acks == -1;
  size_t errors = 0;
  const bool mixed_producers = mixes_transactional_producers(request);
  const bool txn_denied = transactional_id_denied(ctx, request);

  const bool by_id = version >= kProduceFirstTopicId;
  for (const auto& t : request.topic_data) {
    auto& out = response.responses.emplace_back();
    out.name = std::string(t.name);
    out.topic_id = t.topic_id;
    // v13 names topics by id only: an id this broker does not know has no
    // name to go on, and every partition of it gets UNKNOWN_TOPIC_ID before
    // any other check, as in Kafka.
    const cluster::TopicInfo* topic =
        by_id ? ctx.state.topics.find(t.topic_id) : ctx.state.topics.find(t.name);
    const TopicSettings settings = topic ? settings_for(ctx.state, topic->name) : TopicSettings{};
    // Checked on the topic's name, found by id from v13.
    const bool may_write =
        ctx.authorized(security::AclOperation::kWrite, security::ResourceType::kTopic,
                       topic ? std::string_view(topic->name) : t.name);
    for (const auto& part : t.partition_data) {
      const cluster::PartitionInfo* info = topic ? topic->partition(part.index) : nullptr;
      PartitionResponse p;
      if (by_id && topic == nullptr) {
        p = partition_error(part.index, ErrorCode::kUnknownTopicId);
      } else if (version < kProduceFirstServed) {
        p = partition_error(part.index, ErrorCode::kUnsupportedVersion,
                            "produce versions before 3 (message format v0/v1) are not supported");
      } else if (txn_denied) {
        p = partition_error(part.index, ErrorCode::kTransactionalIdAuthorizationFailed);
      } else if (!may_write) {
        p = partition_error(part.index, ErrorCode::kTopicAuthorizationFailed);
      } else if (mixed_producers) {
        p = partition_error(part.index, ErrorCode::kInvalidProducerIdMapping);
      } else if (info == nullptr) {
        p = partition_error(part.index, ErrorCode::kUnknownTopicOrPartition,
                            "this server does not host this topic-partition");
      } else if (topic->is_internal()) {
        p = partition_error(part.index, ErrorCode::kInvalidTopicException,
                            fmt::format("cannot append to internal topic {}", topic->name));
      } else if (!valid_acks) {
        p = partition_error(part.index, ErrorCode::kInvalidRequiredAcks,
                            fmt::format("acks must be 0, 1 or -1, not {}", request.acks));
      } else if (ctx.state.logs == nullptr) {
        p = partition_error(part.index, ErrorCode::kKafkaStorageError, "no log directory");
      } else {
        storage::Bytes records = part.records.value_or(storage::Bytes{});
        Refusal refused = validate(records, version, settings, topic->name, part.index);
        if (refused.error != ErrorCode::kNone) {
          spdlog::debug("produce {}-{} refused ({}): {}", topic->name, part.index,
                        to_wire(refused.error), refused.message);
          p = partition_error(part.index, refused.error, std::move(refused.message),
                              std::move(refused.record_errors));
        } else {
          p = append_partition(ctx, request, version, *topic, *info, settings, records);
        }
      }
      if (p.error_code != 0) ++errors;
      ctx.errors.add(p.error_code);
      if (ctx.metrics != nullptr && info != nullptr)
        count_produce(*ctx.metrics, topic->name, p.error_code,
                      part.records.value_or(storage::Bytes{}));
      out.partition_responses.push_back(std::move(p));
    }
  }

  if (request.acks == 0) {
    // No response at all. Like Kafka, a failed acks=0 produce closes the
    // connection: the client notices, refreshes metadata and retries.
    if (errors > 0) {
      spdlog::info(
          "acks=0 produce from client '{}': {} partition(s) refused; closing the "
          "connection",
          ctx.header.client_id.value_or(""), errors);
      ctx.close_connection = true;
    }
    return std::nullopt;
  }
  wait_for_metadata(ctx);
  return std::optional<ProduceResponse>(std::move(response));
}

ApiEntry produce_entry() {
  return make_entry<ProduceRequest, ProduceResponse, &handle_produce>("Produce",
                                                                      kProduceAdvertised);
}

}  // namespace kb::handlers
