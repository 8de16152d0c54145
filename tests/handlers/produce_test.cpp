#include "kb/handlers/produce.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <deque>
#include <filesystem>
#include <string>
#include <vector>

#include "kb/base/byte_buffer.hpp"
#include "kb/protocol/error_code.hpp"
#include "kb/storage/record_batch.hpp"
#include "kb/wire/writer.hpp"

namespace kb::handlers {
namespace {

using protocol::ProduceRequest;
using protocol::ProduceResponse;
namespace layout = storage::batch_layout;

wire::Uuid id_of(uint8_t n) {
  wire::Uuid u;
  u.bytes[0] = 0xcd;
  u.bytes[15] = n;
  return u;
}

storage::Bytes bytes_of(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// One uncompressed batch of `count` records ("k0"/"v0", ...), as a producer
// builds it (base offset 0, no leader epoch).
std::vector<uint8_t> make_batch(int count, int64_t timestamp = 1700000000000,
                                const std::string& prefix = "v") {
  storage::RecordBatchBuilder builder;
  std::vector<std::string> keys, values;
  for (int i = 0; i < count; ++i) {
    keys.push_back("k" + std::to_string(i));
    values.push_back(prefix + std::to_string(i));
  }
  for (int i = 0; i < count; ++i)
    builder.add_record(bytes_of(keys[static_cast<size_t>(i)]),
                       bytes_of(values[static_cast<size_t>(i)]), timestamp + i);
  return builder.build();
}

void store_be32(std::vector<uint8_t>& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    b[at + static_cast<size_t>(i)] = static_cast<uint8_t>(v >> (24 - 8 * i));
}
void store_be16(std::vector<uint8_t>& b, size_t at, uint16_t v) {
  b[at] = static_cast<uint8_t>(v >> 8);
  b[at + 1] = static_cast<uint8_t>(v);
}

class ProduceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "kb-produce-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    add("foo", 1, 3, 7);
    add("bar", 2, 1, 0);
    add("__consumer_offsets", 3, 1, 0);
    open_logs();
  }
  void TearDown() override {
    state.logs.reset();
    std::filesystem::remove_all(dir_);
  }
  void open_logs(storage::PartitionLogOptions options = {}) {
    state.logs = std::make_unique<cluster::PartitionLogs>(dir_, options);
  }
  void add(const std::string& name, uint8_t id, int32_t partitions, int32_t epoch) {
    state.topics.add_topic(name, id_of(id));
    for (int32_t i = 0; i < partitions; ++i) {
      cluster::PartitionInfo p;
      p.partition_index = i;
      p.leader = 1;
      p.leader_epoch = epoch;
      p.replicas = {1};
      p.isr = {1};
      state.topics.set_partition(id_of(id), p);
    }
  }

  ProduceRequest request(const std::string& topic, int32_t partition,
                         const std::vector<uint8_t>& records, int16_t acks = -1) {
    ProduceRequest r;
    r.acks = acks;
    r.timeout_ms = 1000;
    names_.push_back(topic);
    auto& t = r.topic_data.emplace_back();
    t.name = names_.back();
    t.partition_data.push_back({partition, storage::Bytes(records)});
    return r;
  }

  std::optional<ProduceResponse> run(const ProduceRequest& r, int16_t version = 11) {
    protocol::RequestHeader header{0, version, 1, "t"};
    ApiRegistry registry;
    RequestContext ctx{header, registry, state, Clock::now(), Clock::now(), true, {}};
    auto response = handle_produce(ctx, r, version);
    EXPECT_FALSE(ctx.wait_until.has_value());
    return response;
  }

  ProduceResponse::PartitionProduceResponse only(const std::optional<ProduceResponse>& r) {
    EXPECT_TRUE(r);
    EXPECT_EQ(r->responses.size(), 1u);
    EXPECT_EQ(r->responses.at(0).partition_responses.size(), 1u);
    return r->responses.at(0).partition_responses.at(0);
  }

  storage::PartitionLog* log(const std::string& topic, int32_t partition) {
    auto found = state.logs->find(topic, partition);
    EXPECT_TRUE(found);
    return found ? *found : nullptr;
  }

  // Everything in a partition's log, or empty when it has no directory.
  std::vector<uint8_t> stored(const std::string& topic, int32_t partition) {
    storage::PartitionLog* l = log(topic, partition);
    if (l == nullptr) return {};
    auto read = l->read(l->log_start_offset(), 64 << 20);
    EXPECT_TRUE(read);
    if (!read || read->empty()) return {};
    auto bytes = read->read_bytes();
    EXPECT_TRUE(bytes);
    return bytes ? *bytes : std::vector<uint8_t>{};
  }

  void expect_refused(const std::vector<uint8_t>& batch, int16_t code, int16_t version = 11) {
    auto resp = run(request("foo", 0, batch), version);
    const auto& p = only(resp);
    EXPECT_EQ(p.error_code, code);
    EXPECT_EQ(p.base_offset, -1);
    EXPECT_EQ(p.log_append_time_ms, -1);
    EXPECT_EQ(p.log_start_offset, -1);
    EXPECT_EQ(p.error_message.has_value(), code == 87);
    EXPECT_TRUE(stored("foo", 0).empty());
  }

  cluster::BrokerState state;
  std::filesystem::path dir_;
  std::deque<std::string> names_;
};

TEST_F(ProduceTest, RegistryAdvertisesZeroToThirteen) {
  auto registry = make_broker_registry();
  const ApiEntry* entry = registry.find(0);
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->name, "Produce");
  EXPECT_EQ(entry->versions.min, 0);
  EXPECT_EQ(entry->versions.max, 13);
  EXPECT_EQ(entry->first_flexible, 9);
}

TEST_F(ProduceTest, UnknownTopic) {
  auto batch = make_batch(1);
  auto resp = run(request("nope", 0, batch));
  ASSERT_TRUE(resp);
  EXPECT_EQ(resp->responses[0].name, "nope");
  const auto& p = only(resp);
  EXPECT_EQ(p.error_code, 3);
  EXPECT_EQ(p.base_offset, -1);
  EXPECT_EQ(p.log_append_time_ms, -1);
  EXPECT_EQ(p.log_start_offset, -1);
  EXPECT_FALSE(p.error_message.has_value());
  EXPECT_EQ(resp->throttle_time_ms, 0);
}

TEST_F(ProduceTest, UnknownPartition) {
  auto batch = make_batch(1);
  const auto& p = only(run(request("foo", 3, batch)));
  EXPECT_EQ(p.index, 3);
  EXPECT_EQ(p.error_code, 3);
  EXPECT_EQ(p.base_offset, -1);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "foo-3"));
}

TEST_F(ProduceTest, OneRecordCreatesThePartitionAndStoresTheBatch) {
  ASSERT_EQ(log("foo", 1), nullptr);
  auto batch = make_batch(1);
  const uint64_t generation = state.data_generation;
  auto resp = run(request("foo", 1, batch));
  const auto& p = only(resp);
  EXPECT_EQ(p.index, 1);
  EXPECT_EQ(p.error_code, 0);
  EXPECT_EQ(p.base_offset, 0);
  EXPECT_EQ(p.log_append_time_ms, -1);
  EXPECT_EQ(p.log_start_offset, 0);
  EXPECT_FALSE(p.error_message.has_value());
  EXPECT_GT(state.data_generation, generation);

  ASSERT_NE(log("foo", 1), nullptr);
  EXPECT_TRUE(std::filesystem::exists(dir_ / "foo-1" / "partition.metadata"));
  EXPECT_EQ(*log("foo", 1)->topic_id(), id_of(1));
  EXPECT_EQ(log("foo", 1)->log_end_offset(), 1);
  // Stored as sent apart from the leader epoch (the base offset is 0 here).
  auto expected = batch;
  storage::set_partition_leader_epoch(expected, 7);
  EXPECT_EQ(stored("foo", 1), expected);
}

TEST_F(ProduceTest, SecondProduceGetsTheNextOffsets) {
  auto first = make_batch(3);
  auto second = make_batch(2, 1700000001000, "w");
  EXPECT_EQ(only(run(request("foo", 0, first))).base_offset, 0);
  const auto& p = only(run(request("foo", 0, second)));
  EXPECT_EQ(p.error_code, 0);
  EXPECT_EQ(p.base_offset, 3);
  EXPECT_EQ(log("foo", 0)->log_end_offset(), 5);

  auto all = stored("foo", 0);
  ASSERT_EQ(all.size(), first.size() + second.size());
  auto view = storage::RecordBatchView::parse(storage::Bytes(all).subspan(first.size()));
  ASSERT_TRUE(view);
  EXPECT_EQ(view->base_offset(), 3);
  EXPECT_EQ(view->partition_leader_epoch(), 7);
  EXPECT_EQ(view->crc(), storage::RecordBatchView::parse(second)->crc());  // CRC unchanged
}

TEST_F(ProduceTest, SeveralPartitionsAndTopicsInOneRequest) {
  auto a = make_batch(2), b = make_batch(1), c = make_batch(4);
  ProduceRequest r = request("foo", 0, a);
  r.topic_data[0].partition_data.push_back({2, storage::Bytes(b)});
  r.topic_data[0].partition_data.push_back({9, storage::Bytes(b)});
  auto& bar = r.topic_data.emplace_back();
  bar.name = "bar";
  bar.partition_data.push_back({0, storage::Bytes(c)});
  auto resp = run(r);
  ASSERT_TRUE(resp);
  ASSERT_EQ(resp->responses.size(), 2u);
  EXPECT_EQ(resp->responses[0].name, "foo");
  ASSERT_EQ(resp->responses[0].partition_responses.size(), 3u);
  EXPECT_EQ(resp->responses[0].partition_responses[0].error_code, 0);
  EXPECT_EQ(resp->responses[0].partition_responses[1].index, 2);
  EXPECT_EQ(resp->responses[0].partition_responses[1].error_code, 0);
  EXPECT_EQ(resp->responses[0].partition_responses[2].error_code, 3);
  EXPECT_EQ(resp->responses[1].name, "bar");
  EXPECT_EQ(resp->responses[1].partition_responses.at(0).error_code, 0);
  EXPECT_EQ(log("foo", 0)->log_end_offset(), 2);
  EXPECT_EQ(log("foo", 2)->log_end_offset(), 1);
  EXPECT_EQ(log("bar", 0)->log_end_offset(), 4);
  // bar's leader epoch is 0.
  EXPECT_EQ(storage::RecordBatchView::parse(stored("bar", 0))->partition_leader_epoch(), 0);
}

TEST_F(ProduceTest, CrcMismatchIsCorruptAndNothingIsWritten) {
  auto batch = make_batch(2);
  batch.back() ^= 0x01;
  expect_refused(batch, 2);
  EXPECT_EQ(log("foo", 0), nullptr);  // not even created
}

TEST_F(ProduceTest, BadMagicIsCorrupt) {
  auto batch = make_batch(1);
  batch[layout::kMagic] = 1;
  expect_refused(batch, 2);
}

TEST_F(ProduceTest, BadBatchLengthIsCorrupt) {
  auto batch = make_batch(2);
  store_be32(batch, layout::kBatchLength, static_cast<uint32_t>(batch.size()));  // 12 too many
  expect_refused(batch, 2);
  batch = make_batch(2);
  store_be32(batch, layout::kBatchLength, 20);  // below the header size
  expect_refused(batch, 2);
  std::vector<uint8_t> short_bytes(30, 0);
  expect_refused(short_bytes, 2);
}

TEST_F(ProduceTest, TooLargeBatch) {
  state.log_config.max_message_bytes = 100;
  auto batch = make_batch(10);
  ASSERT_GT(batch.size(), 100u);
  expect_refused(batch, 10);
  // A topic's max.message.bytes wins over the broker's.
  state.configs[{2, "foo"}]["max.message.bytes"] = "100000";
  EXPECT_EQ(only(run(request("foo", 0, batch))).error_code, 0);
}

TEST_F(ProduceTest, InconsistentRecordCountIsInvalidRecord) {
  auto batch = make_batch(3);
  store_be32(batch, layout::kRecordCount, 4);
  storage::update_batch_crc(batch);
  expect_refused(batch, 87);
}

TEST_F(ProduceTest, InconsistentLastOffsetDeltaIsInvalidRecord) {
  auto batch = make_batch(3);
  store_be32(batch, layout::kLastOffsetDelta, 5);
  storage::update_batch_crc(batch);
  expect_refused(batch, 87);
}

TEST_F(ProduceTest, BrokenRecordsAreInvalidRecord) {
  auto batch = make_batch(3);
  batch[layout::kRecords] = 0x7e;  // the first record's length varint
  storage::update_batch_crc(batch);
  expect_refused(batch, 87);
}

TEST_F(ProduceTest, CompressedBatchesAreStoredAsTheyCame) {
  auto batch = make_batch(3);
  // gzip attribute over records that are not gzip: cannot be checked, stored.
  store_be16(batch, layout::kAttributes, 1);
  storage::update_batch_crc(batch);
  const auto& p = only(run(request("foo", 0, batch)));
  EXPECT_EQ(p.error_code, 0);
  EXPECT_EQ(log("foo", 0)->log_end_offset(), 3);
  // Header checks still apply to compressed batches.
  store_be32(batch, layout::kRecordCount, 2);
  storage::update_batch_crc(batch);
  EXPECT_EQ(only(run(request("foo", 0, batch))).error_code, 87);
}

TEST_F(ProduceTest, ZstdNeedsVersionSeven) {
  auto batch = make_batch(1);
  store_be16(batch, layout::kAttributes, 4);
  storage::update_batch_crc(batch);
  expect_refused(batch, 76, 6);
  EXPECT_EQ(only(run(request("foo", 0, batch), 7)).error_code, 0);
}

TEST_F(ProduceTest, UnknownCompressionIsCorrupt) {
  auto batch = make_batch(1);
  store_be16(batch, layout::kAttributes, 6);
  storage::update_batch_crc(batch);
  expect_refused(batch, 2);
}

TEST_F(ProduceTest, TwoBatchesInOnePartitionAreInvalidRecord) {
  auto batch = make_batch(1);
  auto second = make_batch(1);
  batch.insert(batch.end(), second.begin(), second.end());
  expect_refused(batch, 87);
}

TEST_F(ProduceTest, BaseOffsetMustBeZero) {
  auto batch = make_batch(1);
  storage::set_base_offset(batch, 5);
  expect_refused(batch, 87);
}

TEST_F(ProduceTest, ControlBatchIsInvalidRecord) {
  storage::RecordBatchBuilder builder;
  builder.set_control(true);
  auto key = storage::control_record_key(storage::ControlRecordType::commit);
  const uint8_t value[] = {0, 0, 0, 0, 0, 0};
  builder.add_record(storage::Bytes(key), storage::Bytes(value), 1);
  expect_refused(builder.build(), 87);
}

TEST_F(ProduceTest, NullOrEmptyRecordsAreInvalidRecord) {
  ProduceRequest r = request("foo", 0, {});
  r.topic_data[0].partition_data[0].records = std::nullopt;
  EXPECT_EQ(only(run(r)).error_code, 87);
  expect_refused({}, 87);
}

TEST_F(ProduceTest, InvalidAcks) {
  auto batch = make_batch(1);
  for (int16_t acks : {int16_t{2}, int16_t{-2}}) {
    auto resp = run(request("foo", 0, batch, acks));
    const auto& p = only(resp);
    EXPECT_EQ(p.error_code, 21);
    EXPECT_EQ(p.base_offset, -1);
  }
  EXPECT_EQ(log("foo", 0), nullptr);
  // Unknown topics still say so.
  EXPECT_EQ(only(run(request("nope", 0, batch, 2))).error_code, 3);
}

// Without a transaction coordinator, transactional batches cannot be
// verified: refused as Kafka refuses an unauthorized transactional id.
TEST_F(ProduceTest, TransactionalBatchWithoutACoordinatorIsRefused) {
  storage::RecordBatchBuilder builder;
  builder.set_transactional(true).set_producer_id(4).set_producer_epoch(0).set_base_sequence(0);
  builder.add_record(std::nullopt, bytes_of("x"), 1);
  expect_refused(builder.build(), 53);
}

TEST_F(ProduceTest, IdempotentBatchIsAcceptedAsSent) {
  storage::RecordBatchBuilder builder;
  builder.set_producer_id(4).set_producer_epoch(2).set_base_sequence(17);
  builder.add_record(std::nullopt, bytes_of("x"), 1);
  auto batch = builder.build();
  EXPECT_EQ(only(run(request("foo", 0, batch))).error_code, 0);
  auto view = storage::RecordBatchView::parse(stored("foo", 0));
  ASSERT_TRUE(view);
  EXPECT_EQ(view->producer_id(), 4);
  EXPECT_EQ(view->producer_epoch(), 2);
  EXPECT_EQ(view->base_sequence(), 17);
  // A producer id without a sequence is refused, as Kafka does.
  builder.set_base_sequence(-1);
  auto no_sequence = builder.build();
  EXPECT_EQ(only(run(request("foo", 0, no_sequence))).error_code, 87);
  EXPECT_EQ(log("foo", 0)->log_end_offset(), 1);
}

TEST_F(ProduceTest, InternalTopicIsRefused) {
  auto batch = make_batch(1);
  EXPECT_EQ(only(run(request("__consumer_offsets", 0, batch))).error_code, 17);
}

TEST_F(ProduceTest, OldVersionsAreUnsupportedPerPartition) {
  auto batch = make_batch(1);
  for (int16_t version : {int16_t{0}, int16_t{1}, int16_t{2}}) {
    auto resp = run(request("foo", 0, batch), version);
    const auto& p = only(resp);
    EXPECT_EQ(p.error_code, 35) << "v" << version;
  }
  EXPECT_EQ(log("foo", 0), nullptr);
}

TEST_F(ProduceTest, EveryServedVersionAppends) {
  auto batch = make_batch(1);
  int64_t expected = 0;
  for (int16_t version = 3; version <= 11; ++version) {
    const auto& p = only(run(request("foo", 0, batch), version));
    EXPECT_EQ(p.error_code, 0) << "v" << version;
    EXPECT_EQ(p.base_offset, expected++) << "v" << version;
  }
}

TEST_F(ProduceTest, AcksZeroGivesNoResponseButAppends) {
  auto batch = make_batch(2);
  auto resp = run(request("foo", 0, batch, 0));
  EXPECT_FALSE(resp);
  ASSERT_NE(log("foo", 0), nullptr);
  EXPECT_EQ(log("foo", 0)->log_end_offset(), 2);
  // Refused ones give no response either.
  auto corrupt = make_batch(1);
  corrupt.back() ^= 1;
  EXPECT_FALSE(run(request("foo", 0, corrupt, 0)));
  EXPECT_EQ(log("foo", 0)->log_end_offset(), 2);
}

TEST_F(ProduceTest, DispatchAcksZeroIsNoResponse) {
  auto registry = make_broker_registry();
  const ApiEntry* entry = registry.find(0);
  ASSERT_NE(entry, nullptr);
  auto batch = make_batch(1);
  for (int16_t acks : {int16_t{0}, int16_t{1}}) {
    ByteBuffer body;
    wire::Writer w(body);
    wire::encode(w, request("foo", 0, batch, acks), 11, true);
    std::vector<uint8_t> bytes(body.data(), body.data() + body.size());
    wire::Reader reader(bytes);
    ByteBuffer out_buf;
    wire::Writer out(out_buf);
    protocol::RequestHeader header{0, 11, 1, "t"};
    RequestContext ctx{header, registry, state, Clock::now(), Clock::now(), true, {}};
    auto result = entry->dispatch(ctx, reader, 11, out);
    if (acks == 0) {
      EXPECT_EQ(result, DispatchResult::kNoResponse);
      EXPECT_EQ(out_buf.size(), 0u);
    } else {
      EXPECT_EQ(result, DispatchResult::kResponded);
      EXPECT_GT(out_buf.size(), 0u);
    }
  }
  EXPECT_EQ(log("foo", 0)->log_end_offset(), 2);
}

TEST_F(ProduceTest, LogAppendTimeFromBrokerConfig) {
  state.log_config.log_append_time = true;
  auto batch = make_batch(3, 1000);
  const int64_t before = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  const auto& p = only(run(request("foo", 0, batch)));
  const int64_t after = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  EXPECT_EQ(p.error_code, 0);
  EXPECT_GE(p.log_append_time_ms, before);
  EXPECT_LE(p.log_append_time_ms, after);
  auto all = stored("foo", 0);
  auto view = storage::RecordBatchView::parse(all);  // the CRC was recomputed
  ASSERT_TRUE(view);
  EXPECT_EQ(view->timestamp_type(), storage::TimestampType::log_append_time);
  EXPECT_EQ(view->max_timestamp(), p.log_append_time_ms);
  EXPECT_NE(view->crc(), storage::RecordBatchView::parse(batch)->crc());
}

TEST_F(ProduceTest, LogAppendTimeFromTopicConfig) {
  state.configs[{2, "bar"}]["message.timestamp.type"] = "LogAppendTime";
  auto batch = make_batch(1, 1000);
  EXPECT_EQ(only(run(request("foo", 0, batch))).log_append_time_ms, -1);
  const auto& p = only(run(request("bar", 0, batch)));
  EXPECT_GT(p.log_append_time_ms, 1000);
  EXPECT_EQ(storage::RecordBatchView::parse(stored("bar", 0))->timestamp_type(),
            storage::TimestampType::log_append_time);
  // CreateTime keeps the producer's timestamps and CRC.
  auto view = storage::RecordBatchView::parse(stored("foo", 0));
  EXPECT_EQ(view->timestamp_type(), storage::TimestampType::create_time);
  EXPECT_EQ(view->max_timestamp(), 1000);
  EXPECT_EQ(view->crc(), storage::RecordBatchView::parse(batch)->crc());
}

TEST_F(ProduceTest, FlushEveryMessage) {
  state.log_config.flush_interval_messages = 1;
  auto batch = make_batch(2);
  EXPECT_EQ(only(run(request("foo", 0, batch))).error_code, 0);
  EXPECT_EQ(only(run(request("foo", 0, batch))).base_offset, 2);
}

TEST_F(ProduceTest, SegmentsRollAtSegmentBytes) {
  storage::PartitionLogOptions options;
  options.segment_bytes = 300;
  open_logs(options);
  auto batch = make_batch(5);
  ASSERT_LT(batch.size(), 300u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(only(run(request("foo", 0, batch))).base_offset, 5 * i);
  EXPECT_GT(log("foo", 0)->segment_count(), 1u);
  EXPECT_EQ(log("foo", 0)->log_end_offset(), 20);
}

// With a flusher (the broker's), a flush the interval calls for is handed to
// it: acks=-1 waits for the ticket, acks=1 does not; nothing is synced here.
class RecordingFlusher final : public cluster::LogFlushScheduler {
 public:
  cluster::FlushTicket request_flush(std::string_view topic, int32_t partition,
                                     storage::PartitionLog& log) override {
    requests.push_back(std::string(topic) + "-" + std::to_string(partition) + "@" +
                       std::to_string(log.log_end_offset()));
    return {0, ++generation};
  }
  void start_writeback(storage::PartitionLog& log) override {
    writebacks.push_back(log.log_end_offset());
  }
  std::vector<std::string> requests;
  std::vector<int64_t> writebacks;  // the log end offset after each append
  uint64_t generation = 0;
};

TEST_F(ProduceTest, FlushesGoToTheFlusherAndAcksAllWaitsForThem) {
  state.log_config.flush_interval_messages = 1;
  RecordingFlusher flusher;
  state.flusher = &flusher;
  protocol::RequestHeader header{0, 11, 1, "t"};
  ApiRegistry registry;
  {
    RequestContext ctx{header, registry, state, Clock::now(), Clock::now()};
    auto batch = make_batch(2);
    EXPECT_EQ(only(handle_produce(ctx, request("foo", 1, batch, -1), 11)).error_code, 0);
    ASSERT_EQ(ctx.durable_after.size(), 1u);
    EXPECT_EQ(ctx.durable_after[0].generation, 1u);
  }
  {
    RequestContext ctx{header, registry, state, Clock::now(), Clock::now()};
    auto batch = make_batch(1);
    EXPECT_EQ(only(handle_produce(ctx, request("foo", 1, batch, 1), 11)).error_code, 0);
    EXPECT_TRUE(ctx.durable_after.empty()) << "acks=1 is answered after the append";
  }
  EXPECT_EQ(flusher.requests, (std::vector<std::string>{"foo-1@2", "foo-1@3"}));
  EXPECT_EQ(flusher.writebacks, (std::vector<int64_t>{2, 3})) << "offered after every append";
  EXPECT_EQ(log("foo", 1)->recovery_point(), 0) << "the handler itself did not sync";
  state.flusher = nullptr;
}

// Inside the server's frame loop (defer_log_writes) the appends of several
// requests wait for PartitionLogs::write_deferred, which the broker calls
// before answering them; the answers are the same.
TEST_F(ProduceTest, DeferredAppendsAreWrittenByWriteDeferred) {
  protocol::RequestHeader header{0, 11, 1, "t"};
  ApiRegistry registry;
  auto first = make_batch(2);
  auto second = make_batch(3);
  for (const auto* batch : {&first, &second}) {
    RequestContext ctx{header, registry, state, Clock::now(), Clock::now()};
    ctx.defer_log_writes = true;
    auto p = only(handle_produce(ctx, request("foo", 2, *batch, 1), 11));
    EXPECT_EQ(p.error_code, 0);
    EXPECT_EQ(p.base_offset, batch == &first ? 0 : 2);
  }
  const auto file = dir_ / "foo-2" / "00000000000000000000.log";
  EXPECT_EQ(std::filesystem::file_size(file), 0u) << "deferred";
  ASSERT_TRUE(state.logs->write_deferred().ok());
  EXPECT_EQ(std::filesystem::file_size(file), first.size() + second.size());
  auto expected = first;
  expected.insert(expected.end(), second.begin(), second.end());
  ASSERT_TRUE(storage::set_base_offset(std::span(expected).subspan(first.size()), 2));
  ASSERT_TRUE(storage::set_partition_leader_epoch(expected, 7));
  ASSERT_TRUE(storage::set_partition_leader_epoch(std::span(expected).subspan(first.size()), 7));
  EXPECT_EQ(stored("foo", 2), expected);
}

TEST_F(ProduceTest, AcksZeroRefusalAsksToCloseTheConnection) {
  protocol::RequestHeader header{0, 11, 1, "t"};
  ApiRegistry registry;
  auto batch = make_batch(1);
  RequestContext refused{header, registry, state, Clock::now(), Clock::now()};
  EXPECT_FALSE(handle_produce(refused, request("nope", 0, batch, 0), 11));
  EXPECT_TRUE(refused.close_connection);
  RequestContext accepted{header, registry, state, Clock::now(), Clock::now()};
  EXPECT_FALSE(handle_produce(accepted, request("foo", 0, batch, 0), 11));
  EXPECT_FALSE(accepted.close_connection);
}

TEST_F(ProduceTest, CreateTimeOutsideTheAllowedRangeIsInvalidTimestamp) {
  state.log_config.timestamp_before_max_ms = 1000;
  auto old_batch = make_batch(2, 1700000000000);
  auto p = only(run(request("foo", 0, old_batch)));
  EXPECT_EQ(p.error_code, 32);
  ASSERT_EQ(p.record_errors.size(), 2u);
  EXPECT_EQ(p.record_errors[1].batch_index, 1);
  EXPECT_TRUE(p.error_message.has_value());
  EXPECT_TRUE(stored("foo", 0).empty());
  // LogAppendTime topics are stamped by the broker: no check.
  state.log_config.log_append_time = true;
  EXPECT_EQ(only(run(request("foo", 0, old_batch))).error_code, 0);
}

// A compacted topic refuses records without a key, as Kafka's LogValidator:
// INVALID_RECORD, one record error per keyless record, the first three in
// the message; compressed batches are looked into; a keyless record whose
// timestamp is also out of range counts as keyless.
TEST_F(ProduceTest, CompactedTopicRefusesRecordsWithoutAKey) {
  state.configs[{2, "foo"}]["cleanup.policy"] = "compact,delete";
  for (auto codec : {storage::Compression::none, storage::Compression::gzip}) {
    storage::RecordBatchBuilder builder;
    builder.set_compression(codec);
    builder.add_record(bytes_of("a"), bytes_of("1"), 1700000000000);
    builder.add_record(std::nullopt, bytes_of("2"), 1700000000000);
    builder.add_record(bytes_of("c"), std::nullopt, 1700000000000);
    builder.add_record(std::nullopt, std::nullopt, 1700000000000);
    auto p = only(run(request("foo", 0, builder.build())));
    EXPECT_EQ(p.error_code, 87);  // INVALID_RECORD
    ASSERT_EQ(p.record_errors.size(), 2u);
    EXPECT_EQ(p.record_errors[0].batch_index, 1);
    EXPECT_EQ(p.record_errors[1].batch_index, 3);
    EXPECT_EQ(p.record_errors[0].batch_index_error_message,
              "Compacted topic cannot accept message without key in topic partition foo-0");
    EXPECT_EQ(p.error_message,
              "One or more records have been rejected due to 2 record errors in total, and only "
              "showing the first three errors at most: [RecordError(batchIndex=1, "
              "message='Compacted topic cannot accept message without key in topic partition "
              "foo-0'), RecordError(batchIndex=3, message='Compacted topic cannot accept message "
              "without key in topic partition foo-0')]");
    EXPECT_TRUE(stored("foo", 0).empty());
  }
  // Keys everywhere: appended.
  EXPECT_EQ(only(run(request("foo", 0, make_batch(3)))).error_code, 0);
  // Not compacted: keyless records are fine.
  storage::RecordBatchBuilder keyless;
  keyless.add_record(std::nullopt, bytes_of("x"), 1700000000000);
  EXPECT_EQ(only(run(request("bar", 0, keyless.build()))).error_code, 0);
  // Out of range too: still the key's error (the timestamp check is per
  // record, after the key's).
  state.log_config.timestamp_before_max_ms = 1000;
  auto p = only(run(request("foo", 0, keyless.build())));
  EXPECT_EQ(p.error_code, 87);
  ASSERT_EQ(p.record_errors.size(), 1u);
  // Another record with a key but an old timestamp makes it INVALID_TIMESTAMP.
  storage::RecordBatchBuilder mixed;
  mixed.add_record(std::nullopt, bytes_of("x"), 1700000000000);
  mixed.add_record(bytes_of("k"), bytes_of("y"), 1700000000000);
  p = only(run(request("foo", 0, mixed.build())));
  EXPECT_EQ(p.error_code, 32);
  ASSERT_EQ(p.record_errors.size(), 2u);
}

}  // namespace
}  // namespace kb::handlers
