// Durability against the real broker: what Produce acknowledged survives a
// SIGKILL, a segment cut short while the broker is down is recovered to its
// last whole batch, and Fetch reads across rolled segments. Every record's
// value is its sequence number, so the log's contents can be checked record
// by record. Random choices print their seed on failure.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <fstream>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "kb/protocol/messages/api_versions.hpp"
#include "kb/protocol/messages/fetch.hpp"
#include "kb/protocol/messages/produce.hpp"
#include "kb/storage/partition_log.hpp"
#include "kb/storage/record_batch.hpp"
#include "support/broker_process.hpp"
#include "support/kafka_client.hpp"
#include "support/kafka_log_dir_writer.hpp"

namespace kb::testing {
namespace {

using protocol::FetchRequest;
using protocol::FetchResponse;
using protocol::ProduceRequest;
using protocol::ProduceResponse;

constexpr const char* kTopic = "durable";

storage::Bytes text(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// A batch of `count` records whose values are the sequence numbers first..first+count-1,
// timestamped from `timestamp` on (by default a fixed time in 2023, plus the sequence number).
std::vector<uint8_t> sequence_batch(int64_t first, int count, size_t padding = 0,
                                    std::optional<int64_t> timestamp = std::nullopt) {
  storage::RecordBatchBuilder builder;
  std::vector<std::string> values;
  for (int i = 0; i < count; ++i)
    values.push_back(std::to_string(first + i) + "|" + std::string(padding, 'p'));
  const std::string key = "k";
  for (int i = 0; i < count; ++i)
    builder.add_record(text(key), text(values[static_cast<size_t>(i)]),
                       timestamp ? *timestamp + i : 1700000000000 + first + i);
  return builder.build();
}

int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A Produce v9 request for one batch to partition 0 of `topic`.
ProduceRequest produce_request(const std::vector<uint8_t>& batch, int16_t acks,
                               const char* topic = kTopic) {
  ProduceRequest req;
  req.acks = acks;
  req.timeout_ms = 5000;
  auto& t = req.topic_data.emplace_back();
  t.name = topic;
  t.partition_data.push_back({0, storage::Bytes(batch)});
  return req;
}

struct FetchedRecord {
  int64_t offset = 0;
  int64_t sequence = 0;
};

struct FetchedLog {
  std::vector<FetchedRecord> records;
  std::vector<std::vector<uint8_t>> batches;  // each whole batch once, as served
  int64_t high_watermark = -1;
  int fetches = 0;
};

KafkaTopicSpec empty_topic(std::string name) {
  KafkaTopicSpec t;
  t.name = std::move(name);
  t.partitions = 1;
  t.batches_per_partition = 0;
  return t;
}

// One connection with the calls the tests make; decoded responses view body_.
class Client {
 public:
  Client(uint16_t port, wire::Uuid topic_id) : client_(port), topic_id_(topic_id) {}

  // Produce v9, acks=-1, one batch. Throws when the connection is gone.
  ProduceResponse::PartitionProduceResponse produce(const std::vector<uint8_t>& batch) {
    auto resp = call<ProduceResponse>(produce_request(batch, -1), 9);
    if (resp.responses.size() != 1 || resp.responses[0].partition_responses.size() != 1)
      throw std::runtime_error("unexpected produce response shape");
    return resp.responses[0].partition_responses[0];
  }

  // One Fetch v16 from `offset`: the records bytes (a copy), high watermark, error.
  struct FetchResult {
    std::vector<uint8_t> bytes;
    int64_t high_watermark = -1;
    int16_t error_code = 0;
  };
  FetchResult fetch(int64_t offset, int32_t partition_max_bytes) {
    FetchRequest req;
    req.max_wait_ms = 0;
    req.min_bytes = 0;
    req.max_bytes = 50 << 20;
    auto& t = req.topics.emplace_back();
    t.topic = kTopic;
    t.topic_id = topic_id_;
    auto& p = t.partitions.emplace_back();
    p.partition = 0;
    p.fetch_offset = offset;
    p.partition_max_bytes = partition_max_bytes;
    auto resp = call<FetchResponse>(req, 16);
    const auto& part = resp.responses.at(0).partitions.at(0);
    FetchResult out;
    out.high_watermark = part.high_watermark;
    out.error_code = part.error_code;
    if (part.records) out.bytes.assign(part.records->begin(), part.records->end());
    return out;
  }

  // A consumer loop from offset 0 to the high watermark. Every served batch
  // must be CRC-valid (only a batch cut by the size limit may end a response),
  // and every record is decoded. Bounded: fails the test rather than spin.
  FetchedLog fetch_all(int32_t partition_max_bytes = 1 << 20) {
    FetchedLog log;
    int64_t offset = 0;
    for (int round = 0; round < 100000; ++round) {
      auto r = fetch(offset, partition_max_bytes);
      ++log.fetches;
      EXPECT_EQ(r.error_code, 0) << "fetch at " << offset;
      if (r.error_code != 0) return log;
      log.high_watermark = r.high_watermark;
      if (offset >= r.high_watermark) {
        EXPECT_TRUE(r.bytes.empty()) << "bytes at the high watermark " << offset;
        return log;
      }
      storage::BatchIterator it(r.bytes, storage::CrcCheck::verify);
      size_t parsed = 0;
      while (auto batch = it.next()) {
        ++parsed;
        if (batch->next_offset() <= offset) continue;  // already read
        EXPECT_GE(batch->base_offset(), offset) << "a batch starting inside what was read";
        storage::RecordIterator records(*batch);
        storage::RecordView rec;
        while (records.next(rec)) {
          if (rec.offset < offset) continue;
          FetchedRecord f;
          f.offset = rec.offset;
          std::string value =
              rec.value
                  ? std::string(reinterpret_cast<const char*>(rec.value->data()), rec.value->size())
                  : std::string("<null>");
          try {
            f.sequence = std::stoll(value.substr(0, value.find('|')));
          } catch (const std::exception&) {
            ADD_FAILURE() << "record at " << rec.offset << " has value '" << value << "'";
            f.sequence = -1;
          }
          log.records.push_back(f);
        }
        EXPECT_TRUE(records.ok()) << "batch at " << batch->base_offset() << ": "
                                  << (records.error() ? records.error()->what : std::string_view());
        EXPECT_EQ(records.records_read(), batch->record_count());
        log.batches.emplace_back(batch->bytes().begin(), batch->bytes().end());
        offset = batch->next_offset();
      }
      // Only a batch the size limit cut may follow the whole ones.
      EXPECT_TRUE(it.error() == storage::BatchError::none || storage::is_truncation(it.error()))
          << "fetch at " << offset << ": " << storage::to_string(it.error()) << " at byte "
          << it.position();
      if (!(it.error() == storage::BatchError::none || storage::is_truncation(it.error())))
        return log;
      if (parsed == 0) {
        ADD_FAILURE() << "fetch at " << offset << " below the high watermark " << r.high_watermark
                      << " returned no whole batch (" << r.bytes.size() << " bytes)";
        return log;
      }
    }
    ADD_FAILURE() << "consumer loop did not reach the high watermark";
    return log;
  }

 private:
  template <class Response, class Request>
  Response call(const Request& request, int16_t version) {
    return client_.call<Response>(request, version);
  }

  TypedClient client_;
  wire::Uuid topic_id_;
};

class DurabilityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    seed_ = std::random_device{}();
    rng_.seed(seed_);
    root_ = make_temp_dir("kb-durability-");
    KafkaLogDirSpec spec;
    spec.topics.push_back(empty_topic(kTopic));
    written_ = write_kafka_log_dir(root_ / "data", spec);
  }
  void TearDown() override {
    broker_.reset();
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }

  void start(std::map<std::string, std::string> extra = {}) {
    broker_.reset();
    broker_ = std::make_unique<BrokerProcess>(std::move(extra), root_ / "data");
  }

  Client client() { return Client(broker_->port(), written_.topic_ids.at(kTopic)); }

  std::filesystem::path partition_dir() const {
    return root_ / "data" / storage::partition_dir_name(kTopic, 0);
  }

  std::vector<std::filesystem::path> segment_logs() const {
    std::vector<std::filesystem::path> logs;
    for (const auto& e : std::filesystem::directory_iterator(partition_dir()))
      if (e.path().extension() == ".log") logs.push_back(e.path());
    std::sort(logs.begin(), logs.end());
    return logs;
  }

  uint64_t seed_ = 0;
  std::mt19937_64 rng_;
  std::filesystem::path root_;
  WrittenLogDir written_;
  std::unique_ptr<BrokerProcess> broker_;
};

struct Acked {
  int64_t base_offset = 0;
  int count = 0;
  int64_t first_sequence = 0;
};

// A consumer reading along while the producer runs: every batch it gets is
// CRC-valid and sequences follow each other, until the broker is killed.
struct SteadyConsumer {
  int64_t offset = 0;
  int64_t expected_sequence = -1;  // -1: whatever comes first
  int64_t records = 0;
  std::string error;  // the first problem seen; read after join

  void run(Client& c, const std::atomic<bool>& stop) {
    try {
      while (!stop.load() && error.empty()) {
        auto r = c.fetch(offset, 1 << 20);
        if (r.error_code != 0) {
          error = "fetch error " + std::to_string(r.error_code) + " at " + std::to_string(offset);
          return;
        }
        storage::BatchIterator it(r.bytes, storage::CrcCheck::verify);
        while (auto batch = it.next()) {
          storage::RecordIterator recs(*batch);
          storage::RecordView rec;
          while (recs.next(rec)) {
            if (rec.offset < offset || !rec.value) continue;
            std::string value(reinterpret_cast<const char*>(rec.value->data()), rec.value->size());
            int64_t sequence = std::stoll(value.substr(0, value.find('|')));
            if (expected_sequence >= 0 && sequence != expected_sequence) {
              error = "sequence " + std::to_string(sequence) + " at offset " +
                      std::to_string(rec.offset) + ", expected " +
                      std::to_string(expected_sequence);
              return;
            }
            expected_sequence = sequence + 1;
            ++records;
          }
          offset = batch->next_offset();
        }
        if (!(it.error() == storage::BatchError::none || storage::is_truncation(it.error()))) {
          error = "bad batch at " + std::to_string(offset) + ": " +
                  std::string(storage::to_string(it.error()));
          return;
        }
        if (r.bytes.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    } catch (const std::exception&) {
      // The broker was killed: the connection is gone.
    }
  }
};

// 1. Acknowledged records survive SIGKILL at a random moment, 20 times in a
// row, under a steady producer and a consumer reading along.
TEST_F(DurabilityTest, AcknowledgedRecordsSurviveSigkill) {
  SCOPED_TRACE("seed " + std::to_string(seed_));
  // Small segments: acknowledgements also wait for the syncs of segments
  // their append rolled.
  const std::map<std::string, std::string> config{{"log.flush.interval.messages", "1"},
                                                  {"log.segment.bytes", "8192"}};
  const auto test_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(240);
  int64_t next_sequence = 0;  // across rounds: the log keeps growing
  int64_t log_end = 0;        // the verified log end offset after the last round
  std::vector<Acked> all_acked;
  int64_t consumed_while_producing = 0;

  for (int round = 0; round < 20; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    ASSERT_LT(std::chrono::steady_clock::now(), test_deadline) << "out of time";
    start(config);

    // The log already holds what earlier rounds left; produce continues after it.
    const int64_t kill_after = 50 + static_cast<int64_t>(rng_() % 251);  // 50..300 acked batches
    const auto extra_delay = std::chrono::microseconds(rng_() % 3000);
    std::atomic<int64_t> acked_batches{0};
    std::atomic<bool> stop{false};
    std::vector<Acked> acked;      // written by the producer thread only
    int64_t in_flight_first = -1;  // sequence of the batch sent but not answered
    int in_flight_count = 0;
    std::string producer_error;  // read only after join
    std::atomic<bool> producer_failed{false};
    const int64_t round_first_sequence = next_sequence;
    std::mt19937_64 producer_rng(rng_());

    std::thread producer([&] {
      try {
        Client c = client();
        int64_t seq = round_first_sequence;
        for (int i = 0; i < 5000 && !stop.load(); ++i) {
          const int count = 1 + static_cast<int>(producer_rng() % 5);
          auto batch = sequence_batch(seq, count);
          in_flight_first = seq;
          in_flight_count = count;
          auto p = c.produce(batch);
          if (p.error_code != 0) {
            producer_error = "produce error " + std::to_string(p.error_code);
            producer_failed.store(true);
            return;
          }
          acked.push_back({p.base_offset, count, seq});
          in_flight_first = -1;
          in_flight_count = 0;
          seq += count;
          acked_batches.fetch_add(1);
        }
      } catch (const std::exception& e) {
        // Expected once the broker is killed: the connection goes away.
        (void)e;
      }
    });

    SteadyConsumer consumer;
    consumer.offset = log_end;
    Client consumer_client = client();
    std::thread reader([&] { consumer.run(consumer_client, stop); });

    auto wait_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (acked_batches.load() < kill_after && std::chrono::steady_clock::now() < wait_deadline &&
           !producer_failed.load())
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    std::this_thread::sleep_for(extra_delay);
    broker_->kill_hard();  // SIGKILL, reaped
    stop.store(true);
    producer.join();
    reader.join();
    ASSERT_TRUE(producer_error.empty()) << producer_error;
    ASSERT_TRUE(consumer.error.empty()) << "consumer: " << consumer.error;
    consumed_while_producing += consumer.records;
    ASSERT_GE(static_cast<int64_t>(acked.size()), std::min<int64_t>(kill_after, 50))
        << "the producer was too slow";

    // Every acknowledgement gave the next offset, from where the last round ended.
    int64_t expected_offset = log_end;
    for (const auto& a : acked) {
      ASSERT_EQ(a.base_offset, expected_offset) << "ack for sequence " << a.first_sequence;
      expected_offset += a.count;
    }
    all_acked.insert(all_acked.end(), acked.begin(), acked.end());
    next_sequence =
        acked.empty() ? round_first_sequence : acked.back().first_sequence + acked.back().count;

    // Restart on the same directory and read everything back.
    start(config);
    Client c = client();
    FetchedLog log = c.fetch_all();
    ASSERT_FALSE(::testing::Test::HasFailure());

    // Offsets contiguous from 0; the high watermark is the last record's next.
    for (size_t i = 0; i < log.records.size(); ++i)
      ASSERT_EQ(log.records[i].offset, static_cast<int64_t>(i)) << "record " << i;
    EXPECT_EQ(log.high_watermark, static_cast<int64_t>(log.records.size()));

    // Every acknowledged record is at its acknowledged offset, exactly once.
    for (const auto& a : all_acked) {
      for (int k = 0; k < a.count; ++k) {
        const int64_t off = a.base_offset + k;
        ASSERT_LT(off, static_cast<int64_t>(log.records.size()))
            << "acknowledged offset " << off << " (sequence " << a.first_sequence + k
            << ") lost after SIGKILL; log end " << log.records.size();
        ASSERT_EQ(log.records[static_cast<size_t>(off)].sequence, a.first_sequence + k)
            << "at offset " << off;
      }
    }
    // Past the last acknowledged record: at most the one in-flight batch.
    const int64_t acked_end =
        all_acked.empty() ? 0 : all_acked.back().base_offset + all_acked.back().count;
    const int64_t extra = static_cast<int64_t>(log.records.size()) - acked_end;
    EXPECT_GE(extra, 0);
    EXPECT_LE(extra, in_flight_count) << "records beyond the acknowledged ones";
    for (int64_t k = 0; k < extra; ++k)
      EXPECT_EQ(log.records[static_cast<size_t>(acked_end + k)].sequence, in_flight_first + k);
    if (extra > 0) {
      // The unacknowledged batch made it: count it as written so later rounds'
      // acknowledged offsets follow it.
      all_acked.push_back({acked_end, static_cast<int>(extra), in_flight_first});
      next_sequence = in_flight_first + extra;
    }
    // Sequence numbers strictly in order over the whole log.
    for (size_t i = 1; i < log.records.size(); ++i)
      ASSERT_EQ(log.records[i].sequence, log.records[i - 1].sequence + 1) << "at offset " << i;

    // The restarted broker takes writes at the recovered end.
    auto p = c.produce(sequence_batch(next_sequence, 2));
    ASSERT_EQ(p.error_code, 0);
    ASSERT_EQ(p.base_offset, static_cast<int64_t>(log.records.size()));
    all_acked.push_back({p.base_offset, 2, next_sequence});
    next_sequence += 2;
    log_end = p.base_offset + 2;
    broker_->stop();
  }
  EXPECT_GT(consumed_while_producing, 0) << "the consumer never read along";
}

// 1b. acks=-1 waits for the .log's sync alone; index files are synced with the
// recovery point checkpoint. With no checkpoint due, the recovery point stays
// where it was, and whatever a crash leaves in the index files past it
// (garbage, zeros, nothing) is rebuilt: every acknowledged record is there.
TEST_F(DurabilityTest, AcknowledgedRecordsSurviveSigkillWithUnsyncedIndexes) {
  SCOPED_TRACE("seed " + std::to_string(seed_));
  start({{"log.flush.interval.messages", "1"},
         {"log.segment.bytes", "2048"},
         {"log.index.interval.bytes", "1"},
         {"log.flush.offset.checkpoint.interval.ms", "3600000"}});
  int64_t sequence = 0;
  {
    Client c = client();
    for (int i = 0; i < 60; ++i) {
      const int count = 1 + static_cast<int>(rng_() % 4);
      auto p = c.produce(sequence_batch(sequence, count, 40));
      ASSERT_EQ(p.error_code, 0);
      ASSERT_EQ(p.base_offset, sequence);
      sequence += count;
    }
  }
  broker_->kill_hard();
  const auto data = root_ / "data";
  EXPECT_EQ(read_file(data / "recovery-point-offset-checkpoint"), "0\n1\ndurable 0 0\n")
      << "no index sync, no recovery point";

  // What unsynced index pages may come back as after a machine crash.
  const auto logs = segment_logs();
  ASSERT_GT(logs.size(), 3u);
  for (size_t i = 0; i < logs.size(); ++i) {
    auto index = logs[i];
    auto time_index = logs[i];
    index.replace_extension(".index");
    time_index.replace_extension(".timeindex");
    // A segment rolled just before the kill may have no index files yet (the
    // roll worker makes them): missing is one more state recovery handles.
    if (!std::filesystem::exists(index) || !std::filesystem::exists(time_index)) continue;
    switch (i % 3) {
      case 0: {
        std::ofstream out(index, std::ios::binary | std::ios::app);
        out << "\x7f\x13\xa5\x01\xff\xee\x00\x42";
        break;
      }
      case 1:
        std::filesystem::resize_file(index, std::filesystem::file_size(index) + 16);  // zeros
        std::filesystem::resize_file(time_index, 0);
        break;
      default:
        std::filesystem::resize_file(index, std::filesystem::file_size(index) / 2);
        break;
    }
  }

  start();
  Client c = client();
  FetchedLog log = c.fetch_all(1024);
  ASSERT_FALSE(::testing::Test::HasFailure());
  EXPECT_EQ(log.high_watermark, sequence) << broker_->log();
  ASSERT_EQ(log.records.size(), static_cast<size_t>(sequence));
  for (size_t i = 0; i < log.records.size(); ++i) {
    EXPECT_EQ(log.records[i].offset, static_cast<int64_t>(i));
    EXPECT_EQ(log.records[i].sequence, static_cast<int64_t>(i));
  }
  // Fetches from any offset find their batch through the rebuilt indexes.
  for (int64_t offset = 0; offset < sequence; offset += 7) {
    auto r = c.fetch(offset, 1);
    ASSERT_EQ(r.error_code, 0);
    storage::BatchIterator it(r.bytes, storage::CrcCheck::verify);
    auto batch = it.next();
    ASSERT_TRUE(batch.has_value()) << "at " << offset;
    EXPECT_LE(batch->base_offset(), offset);
    EXPECT_GT(batch->next_offset(), offset);
  }
  broker_->stop();
  EXPECT_EQ(read_file(data / "recovery-point-offset-checkpoint"),
            "0\n1\ndurable 0 " + std::to_string(sequence) + "\n");
}

// 2. A segment cut short while the broker is down is recovered at start-up.
TEST_F(DurabilityTest, SegmentCutShortIsRecoveredToTheLastWholeBatch) {
  for (bool clean_stop : {true, false}) {
    SCOPED_TRACE(clean_stop ? "after a clean stop" : "after SIGKILL");
    TearDown();
    SetUp();
    start();
    std::vector<std::vector<uint8_t>> sent;
    {
      Client c = client();
      int64_t seq = 0;
      for (int i = 0; i < 6; ++i) {
        sent.push_back(sequence_batch(seq, 3));
        auto p = c.produce(sent.back());
        ASSERT_EQ(p.error_code, 0);
        ASSERT_EQ(p.base_offset, seq);
        seq += 3;
      }
    }
    if (clean_stop)
      broker_->stop();
    else
      broker_->kill_hard();

    auto logs = segment_logs();
    ASSERT_EQ(logs.size(), 1u);
    const auto full = std::filesystem::file_size(logs.back());
    size_t whole = 0;
    for (const auto& b : sent) whole += b.size();
    ASSERT_EQ(full, whole);
    std::filesystem::resize_file(logs.back(), full - 7);

    start();
    Client c = client();
    FetchedLog log = c.fetch_all();
    ASSERT_FALSE(::testing::Test::HasFailure());
    EXPECT_EQ(log.high_watermark, 15) << broker_->log();
    ASSERT_EQ(log.batches.size(), 5u);
    for (size_t i = 0; i < 5; ++i) {
      auto expected = sent[i];
      storage::set_base_offset(expected, static_cast<int64_t>(3 * i));
      storage::set_partition_leader_epoch(expected, 0);
      EXPECT_EQ(log.batches[i], expected) << "batch " << i;
    }
    for (size_t i = 0; i < log.records.size(); ++i) {
      EXPECT_EQ(log.records[i].offset, static_cast<int64_t>(i));
      EXPECT_EQ(log.records[i].sequence, static_cast<int64_t>(i));
    }
    // The torn bytes are gone from the file once the partition is opened.
    EXPECT_EQ(std::filesystem::file_size(logs.back()), whole - sent.back().size());

    // Producing continues at the recovered end, and it reads back whole.
    auto p = c.produce(sequence_batch(15, 4));
    ASSERT_EQ(p.error_code, 0);
    EXPECT_EQ(p.base_offset, 15);
    FetchedLog after = c.fetch_all();
    EXPECT_EQ(after.high_watermark, 19);
    ASSERT_EQ(after.records.size(), 19u);
    for (size_t i = 0; i < after.records.size(); ++i)
      EXPECT_EQ(after.records[i].sequence, static_cast<int64_t>(i));
    broker_->stop();

    // And again after a restart (the appended batch follows the cut cleanly).
    start();
    Client c2 = client();
    FetchedLog again = c2.fetch_all();
    EXPECT_EQ(again.high_watermark, 19);
    EXPECT_EQ(again.records.size(), 19u);
  }
}

// 2b. With rolled segments, a cut that leaves the active segment with no whole
// batch recovers to that segment's base offset.
TEST_F(DurabilityTest, ActiveSegmentCutToNothingRecoversToItsBaseOffset) {
  const std::map<std::string, std::string> config{{"log.segment.bytes", "2048"}};
  start(config);
  int64_t seq = 0;
  {
    Client c = client();
    for (int i = 0; i < 200 && segment_logs().size() < 3; ++i) {
      auto p = c.produce(sequence_batch(seq, 2, 200));
      ASSERT_EQ(p.error_code, 0);
      ASSERT_EQ(p.base_offset, seq);
      seq += 2;
    }
  }
  broker_->kill_hard();
  auto logs = segment_logs();
  ASSERT_GE(logs.size(), 3u);
  // The active segment: cut it to its first batch minus 7 bytes.
  const auto active = logs.back();
  const int64_t active_base = std::stoll(active.stem().string());
  std::string bytes = read_file(active);
  ASSERT_GT(bytes.size(), 7u);
  auto first = storage::RecordBatchView::parse(text(bytes));
  ASSERT_TRUE(first);
  std::filesystem::resize_file(active, first->size_in_bytes() - 7);

  start(config);
  Client c = client();
  FetchedLog log = c.fetch_all(1000);
  ASSERT_FALSE(::testing::Test::HasFailure());
  EXPECT_EQ(log.high_watermark, active_base) << broker_->log();
  ASSERT_EQ(static_cast<int64_t>(log.records.size()), active_base);
  for (size_t i = 0; i < log.records.size(); ++i) {
    EXPECT_EQ(log.records[i].offset, static_cast<int64_t>(i));
    EXPECT_EQ(log.records[i].sequence, static_cast<int64_t>(i));
  }
  auto p = c.produce(sequence_batch(active_base, 3));
  ASSERT_EQ(p.error_code, 0);
  EXPECT_EQ(p.base_offset, active_base);
  EXPECT_EQ(c.fetch_all().high_watermark, active_base + 3);
}

// 3. Small segments roll, and a consumer loop from 0 reads across every boundary.
TEST_F(DurabilityTest, FetchReadsAcrossRolledSegments) {
  const std::map<std::string, std::string> config{{"log.segment.bytes", "2048"},
                                                  {"log.index.interval.bytes", "256"}};
  start(config);
  Client c = client();
  int64_t seq = 0;
  std::vector<int64_t> batch_bases;
  std::mt19937_64 rng(seed_);
  SCOPED_TRACE("seed " + std::to_string(seed_));
  for (int i = 0; i < 120; ++i) {
    const int count = 1 + static_cast<int>(rng() % 6);
    auto p = c.produce(sequence_batch(seq, count, rng() % 120));
    ASSERT_EQ(p.error_code, 0);
    ASSERT_EQ(p.base_offset, seq);
    batch_bases.push_back(seq);
    seq += count;
  }
  auto logs = segment_logs();
  EXPECT_GE(logs.size(), 5u);
  // Each segment's name is the base offset of its first batch, and no segment
  // (but one holding a single larger batch) passes the limit.
  for (const auto& path : logs) {
    const int64_t base = std::stoll(path.stem().string());
    EXPECT_TRUE(std::binary_search(batch_bases.begin(), batch_bases.end(), base)) << path;
    std::string bytes = read_file(path);
    if (bytes.empty()) continue;
    auto first = storage::RecordBatchView::parse(text(bytes));
    ASSERT_TRUE(first) << path;
    EXPECT_EQ(first->base_offset(), base) << path;
    if (bytes.size() > 2048) {
      EXPECT_EQ(first->size_in_bytes(), bytes.size()) << path;
    }
  }

  // Several partition_max_bytes: one batch at a time up to everything at once.
  for (int32_t max_bytes : {1, 300, 1000, 2048, 5000, 1 << 20}) {
    SCOPED_TRACE("partition_max_bytes " + std::to_string(max_bytes));
    FetchedLog log = c.fetch_all(max_bytes);
    EXPECT_EQ(log.high_watermark, seq);
    ASSERT_EQ(static_cast<int64_t>(log.records.size()), seq);
    for (size_t i = 0; i < log.records.size(); ++i) {
      ASSERT_EQ(log.records[i].offset, static_cast<int64_t>(i));
      ASSERT_EQ(log.records[i].sequence, static_cast<int64_t>(i));
    }
    EXPECT_EQ(log.batches.size(), batch_bases.size());
  }
  // Fetch starting at every batch base and inside a batch.
  for (size_t i = 0; i < batch_bases.size(); i += 7) {
    auto r = c.fetch(batch_bases[i], 1 << 20);
    ASSERT_EQ(r.error_code, 0);
    auto first = storage::RecordBatchView::parse(r.bytes);
    ASSERT_TRUE(first) << "at " << batch_bases[i];
    EXPECT_EQ(first->base_offset(), batch_bases[i]);
  }

  // After a restart (indexes reloaded or rebuilt) the same holds.
  start(config);
  Client c2 = client();
  FetchedLog log = c2.fetch_all(700);
  EXPECT_EQ(log.high_watermark, seq);
  ASSERT_EQ(static_cast<int64_t>(log.records.size()), seq);
  for (size_t i = 0; i < log.records.size(); ++i)
    ASSERT_EQ(log.records[i].sequence, static_cast<int64_t>(i));
}

// 4. acks=-1 with a flush per message: each answer waits for its flush, and the
// connection's later requests are answered after it, in order. What was
// acknowledged is there after a SIGKILL right after the last answer.
TEST_F(DurabilityTest, FlushedAnswersKeepRequestOrderAndSurviveSigkill) {
  const std::map<std::string, std::string> config{{"log.flush.interval.messages", "1"}};
  start(config);
  RawClient raw(broker_->port());
  protocol::ApiVersionsRequest versions;
  versions.client_software_name = "kb-test";
  versions.client_software_version = "1";
  // Pipelined: produce, ApiVersions, produce, produce: all written before any answer.
  std::vector<uint8_t> frames;
  int64_t seq = 0;
  for (int32_t id = 1; id <= 4; ++id) {
    auto frame = id == 2 ? encode_request(versions, 3, id)
                         : encode_request(produce_request(sequence_batch(seq, 3), -1), 9, id);
    if (id != 2) seq += 3;
    frames.insert(frames.end(), frame.begin(), frame.end());
  }
  raw.send_bytes(frames);
  int64_t expected_offset = 0;
  for (int32_t id = 1; id <= 4; ++id) {
    auto frame = raw.read_frame();
    ASSERT_TRUE(frame) << "no answer for request " << id;
    auto split = split_response(*frame, id != 2);  // ApiVersions answers with header v0
    ASSERT_EQ(split.correlation_id, id);
    if (id == 2) continue;
    auto resp = decode_response<ProduceResponse>(split.body, 9);
    const auto& p = resp.responses.at(0).partition_responses.at(0);
    EXPECT_EQ(p.error_code, 0);
    EXPECT_EQ(p.base_offset, expected_offset);
    expected_offset += 3;
  }
  broker_->kill_hard();
  start(config);
  Client c = client();
  FetchedLog log = c.fetch_all();
  ASSERT_EQ(log.records.size(), 9u);
  for (size_t i = 0; i < log.records.size(); ++i)
    EXPECT_EQ(log.records[i].sequence, static_cast<int64_t>(i));
}

// 5. A clean shutdown leaves Kafka's marker and checkpoint files; the next
// start skips the scan (a batch whose CRC was broken while the broker was down
// is not noticed), and removes the marker, so a crash after it is recovered
// (the broken batch is cut).
TEST_F(DurabilityTest, CleanShutdownMarkerSkipsRecoveryUntilTheNextCrash) {
  const auto data = root_ / "data";
  const auto marker = data / ".kafka_cleanshutdown";
  start();
  {
    Client c = client();
    for (int64_t seq = 0; seq < 9; seq += 3)
      ASSERT_EQ(c.produce(sequence_batch(seq, 3)).error_code, 0);
  }
  broker_->stop();
  ASSERT_TRUE(std::filesystem::exists(marker));
  EXPECT_EQ(read_file(data / "recovery-point-offset-checkpoint"), "0\n1\ndurable 0 9\n");
  EXPECT_EQ(read_file(data / "log-start-offset-checkpoint"), "0\n0\n");
  EXPECT_EQ(read_file(data / "replication-offset-checkpoint"), "0\n1\ndurable 0 9\n");

  // Break the last batch's CRC (a byte of its last record's value), lengths intact.
  const auto segment = segment_logs().back();
  std::string bytes = read_file(segment);
  bytes[bytes.size() - 2] ^= 0x5a;
  {
    std::ofstream out(segment, std::ios::binary | std::ios::trunc);
    out << bytes;
  }

  start();
  EXPECT_NE(broker_->log().find("clean shutdown marker found"), std::string::npos)
      << broker_->log();
  EXPECT_FALSE(std::filesystem::exists(marker)) << "the marker must go once read";
  {
    Client c = client();
    EXPECT_EQ(c.fetch(0, 1 << 20).high_watermark, 9) << "no scan: the broken batch is kept";
  }
  broker_->kill_hard();

  start();
  EXPECT_NE(broker_->log().find("no clean shutdown marker"), std::string::npos) << broker_->log();
  Client c = client();
  FetchedLog log = c.fetch_all();
  EXPECT_EQ(log.high_watermark, 6) << "recovery cuts the broken batch\n" << broker_->log();
  EXPECT_EQ(log.records.size(), 6u);
  broker_->stop();
  EXPECT_EQ(read_file(data / "recovery-point-offset-checkpoint"), "0\n1\ndurable 0 6\n");
}

// 6. log.roll.ms: a batch stamped more than that after the active segment's
// first batch starts a new segment.
TEST_F(DurabilityTest, LogRollMsRollsBySegmentAge) {
  start({{"log.roll.ms", "1000"}});
  const int64_t now = wall_clock_ms();
  Client c = client();
  ASSERT_EQ(c.produce(sequence_batch(0, 2, 0, now)).error_code, 0);
  ASSERT_EQ(c.produce(sequence_batch(2, 2, 0, now + 900)).error_code, 0);
  EXPECT_EQ(segment_logs().size(), 1u) << "within log.roll.ms";
  ASSERT_EQ(c.produce(sequence_batch(4, 2, 0, now + 1500)).error_code, 0);
  ASSERT_EQ(segment_logs().size(), 2u);
  EXPECT_EQ(segment_logs().back().filename(), "00000000000000000004.log");
  ASSERT_EQ(c.produce(sequence_batch(6, 2, 0, now + 1600)).error_code, 0);
  EXPECT_EQ(segment_logs().size(), 2u);
  FetchedLog log = c.fetch_all();
  ASSERT_EQ(log.records.size(), 8u);
  for (size_t i = 0; i < log.records.size(); ++i)
    EXPECT_EQ(log.records[i].sequence, static_cast<int64_t>(i));
}

// 7. CreateTime timestamps outside log.message.timestamp.before.max.ms /
// after.max.ms (default: one hour ahead) give INVALID_TIMESTAMP with an error
// per record, and nothing is written.
TEST_F(DurabilityTest, TimestampsOutOfRangeGiveInvalidTimestamp) {
  start({{"log.message.timestamp.before.max.ms", "3600000"}});
  Client c = client();
  const int64_t now = wall_clock_ms();
  for (int64_t timestamp : {now - 2 * 3600000LL, now + 2 * 3600000LL}) {
    auto p = c.produce(sequence_batch(0, 3, 0, timestamp));
    EXPECT_EQ(p.error_code, 32);
    EXPECT_EQ(p.base_offset, -1);
    ASSERT_EQ(p.record_errors.size(), 3u);
    for (int32_t i = 0; i < 3; ++i) {
      EXPECT_EQ(p.record_errors[static_cast<size_t>(i)].batch_index, i);
      ASSERT_TRUE(p.record_errors[static_cast<size_t>(i)].batch_index_error_message);
      EXPECT_NE(p.record_errors[static_cast<size_t>(i)].batch_index_error_message->find(
                    std::to_string(timestamp + i)),
                std::string::npos);
    }
    EXPECT_TRUE(p.error_message.has_value());
  }
  auto ok = c.produce(sequence_batch(0, 3, 0, now));
  EXPECT_EQ(ok.error_code, 0);
  EXPECT_EQ(ok.base_offset, 0) << "nothing was written for the refused batches";
}

// 8. An acks=0 produce that fails closes the connection (no response can tell
// the client); one that succeeds leaves it open.
TEST_F(DurabilityTest, AcksZeroErrorClosesTheConnection) {
  start();
  protocol::ApiVersionsRequest versions;
  {
    RawClient raw(broker_->port());
    raw.send_bytes(encode_request(produce_request(sequence_batch(0, 1), 0), 9, 1));
    raw.send_bytes(encode_request(versions, 3, 2));
    auto frame = raw.read_frame();
    ASSERT_TRUE(frame) << "a successful acks=0 produce keeps the connection";
    EXPECT_EQ(split_response(*frame, false).correlation_id, 2);
  }
  RawClient raw(broker_->port());
  raw.send_bytes(encode_request(produce_request(sequence_batch(1, 1), 0, "no-such-topic"), 9, 3));
  raw.send_bytes(encode_request(versions, 3, 4));
  EXPECT_TRUE(raw.closed_by_peer());
}

}  // namespace
}  // namespace kb::testing
