// Log compaction (log_cleaner.hpp) over random logs, against a model: the
// map of each key's latest value.

#include "kb/storage/log_cleaner.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "kb/storage/compression.hpp"
#include "kb/storage/log_validator.hpp"
#include "kb/storage/partition_log.hpp"
#include "kb/storage/producer_state.hpp"
#include "kb/storage/txn_index.hpp"
#include "storage_test_util.hpp"

namespace kb::storage::test {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kT0 = 1'700'000'000'000;
constexpr int64_t kDay = 24LL * 60 * 60 * 1000;

struct Written {
  int64_t offset = 0;
  std::string key;
  std::optional<std::string> value;
  int64_t timestamp = 0;
};

struct ReadBatch {
  int64_t base_offset = 0;
  int64_t last_offset = 0;
  int64_t producer_id = -1;
  int32_t base_sequence = -1;
  int32_t record_count = 0;
  bool delete_horizon = false;
};

struct LogContents {
  std::vector<Written> records;
  std::vector<ReadBatch> batches;
};

PartitionLogOptions compacted_options(uint64_t segment_bytes) {
  PartitionLogOptions options;
  options.segment_bytes = segment_bytes;
  options.compacted = true;
  options.preallocate_bytes = 0;
  options.index_interval_bytes = 256;
  return options;
}

// Everything a consumer reads from `from` on, records decompressed.
// The records of `batch`, decompressed into `plain` when the batch is
// compressed.
std::optional<RecordIterator> records_of(const RecordBatchView& batch,
                                         std::vector<uint8_t>& plain) {
  if (batch.compression() == Compression::none) return RecordIterator(batch);
  auto p = decompress(batch.compression(), batch.records_section());
  EXPECT_TRUE(p.ok());
  plain = std::move(*p);
  return RecordIterator(batch, plain);
}

LogContents read_from(PartitionLog& log, int64_t from) {
  LogContents out;
  int64_t next = std::max(from, log.log_start_offset());
  while (next < log.log_end_offset()) {
    auto read = log.read(next, 1 << 20);
    EXPECT_TRUE(read.ok()) << read.error().message;
    if (!read.ok() || read->outcome != LogReadResult::Outcome::ok || read->empty()) {
      ADD_FAILURE() << "read at " << next << " failed";
      break;
    }
    auto bytes = read->read_bytes();
    EXPECT_TRUE(bytes.ok());
    BatchIterator it(*bytes, CrcCheck::verify);
    while (auto batch = it.next()) {
      out.batches.push_back({batch->base_offset(), batch->last_offset(), batch->producer_id(),
                             batch->base_sequence(), batch->record_count(),
                             batch->has_delete_horizon()});
      std::vector<uint8_t> plain;
      std::optional<RecordIterator> records = records_of(*batch, plain);
      RecordView r;
      while (records->next(r)) {
        if (r.offset < from) continue;
        Written w;
        w.offset = r.offset;
        w.key = r.key ? std::string(r.key->begin(), r.key->end()) : std::string();
        if (r.value) w.value = std::string(r.value->begin(), r.value->end());
        w.timestamp = r.timestamp;
        out.records.push_back(std::move(w));
      }
      EXPECT_TRUE(records->ok()) << records->error()->what;
      next = batch->next_offset();
    }
    EXPECT_EQ(it.error(), BatchError::none);
  }
  return out;
}

std::vector<uint8_t> batch_of(const std::vector<Written>& records, int64_t base,
                              Compression compression, int64_t producer_id = -1,
                              int32_t base_sequence = -1) {
  RecordBatchBuilder builder;
  builder.set_base_offset(base).set_compression(compression);
  if (producer_id >= 0)
    builder.set_producer_id(producer_id).set_producer_epoch(0).set_base_sequence(base_sequence);
  for (const Written& w : records)
    builder.add_record(as_bytes(w.key),
                       w.value ? std::optional<Bytes>(as_bytes(*w.value)) : std::nullopt,
                       w.timestamp);
  return builder.build();
}

// Cleans once, as the broker does: plan on the owner, clean, swap each
// cleaned segment in. Returns the next first dirty offset.
int64_t clean_once(PartitionLog& log, const CompactionSettings& settings, int64_t now,
                   std::optional<int64_t> checkpoint, size_t dedupe_bytes = 1 << 20) {
  auto plan = log.cleaning_plan(checkpoint, settings, now, log.log_end_offset());
  EXPECT_TRUE(plan.ok()) << plan.error().message;
  if (!plan.ok()) return -1;
  if (plan->cleanable_bytes == 0) return plan->first_dirty_offset;
  Cleaner cleaner(dedupe_bytes, 1e308);
  auto cleaned = cleaner.clean(*plan, now);
  EXPECT_TRUE(cleaned.ok()) << cleaned.error().message;
  if (!cleaned.ok()) return -1;
  for (const CleanedSegment& segment : cleaned->segments) {
    auto swapped = log.replace_segments(segment);
    EXPECT_TRUE(swapped.ok()) << swapped.error().message;
    EXPECT_TRUE(swapped.ok() && *swapped);
  }
  return cleaned->end_offset;
}

// The model: each key's latest value (nullopt: a tombstone) among records
// below `below`.
std::map<std::string, std::optional<std::string>> latest_values(const std::vector<Written>& all,
                                                                int64_t below) {
  std::map<std::string, std::optional<std::string>> latest;
  for (const Written& w : all)
    if (w.offset < below) latest[w.key] = w.value;
  return latest;
}

// What a consumer starting at `from` holds at the end (tombstones delete).
std::map<std::string, std::string> consume(const std::vector<Written>& records, int64_t from) {
  std::map<std::string, std::string> state;
  for (const Written& w : records) {
    if (w.offset < from) continue;
    if (w.value)
      state[w.key] = *w.value;
    else
      state.erase(w.key);
  }
  return state;
}

// The checks every clean must pass: what is left is a subsequence of what
// was written (offsets, keys, values and timestamps unchanged), and a
// consumer starting anywhere ends in the model's state for every key written
// at or after where it started.
void expect_consistent(PartitionLog& log, const std::vector<Written>& all) {
  const LogContents now = read_from(log, 0);
  std::map<int64_t, const Written*> by_offset;
  for (const Written& w : all) by_offset[w.offset] = &w;
  int64_t previous = -1;
  for (const Written& w : now.records) {
    ASSERT_GT(w.offset, previous) << "offsets must increase";
    previous = w.offset;
    auto it = by_offset.find(w.offset);
    ASSERT_NE(it, by_offset.end()) << "offset " << w.offset << " was never written";
    EXPECT_EQ(w.key, it->second->key) << "at offset " << w.offset;
    EXPECT_EQ(w.value, it->second->value) << "at offset " << w.offset;
    EXPECT_EQ(w.timestamp, it->second->timestamp) << "at offset " << w.offset;
  }
  const auto model_all = latest_values(all, std::numeric_limits<int64_t>::max());
  std::vector<int64_t> starts = {0};
  for (size_t i = 0; i < all.size(); i += std::max<size_t>(all.size() / 13, 1))
    starts.push_back(all[i].offset);
  for (int64_t from : starts) {
    const auto state = consume(now.records, from);
    // Keys written at or after `from`: the consumer must end on their latest value.
    std::map<std::string, std::optional<std::string>> expected;
    for (const Written& w : all)
      if (w.offset >= from) expected[w.key] = model_all.at(w.key);
    for (const auto& [key, value] : expected) {
      auto found = state.find(key);
      if (value) {
        ASSERT_NE(found, state.end()) << "from " << from << ": key " << key << " missing";
        EXPECT_EQ(found->second, *value) << "from " << from << ": key " << key;
      } else {
        EXPECT_EQ(found, state.end()) << "from " << from << ": deleted key " << key << " is back";
      }
    }
  }
}

struct RandomLog {
  std::vector<Written> all;
  int64_t now = kT0;
};

// Appends `batches` random batches: keys from a small set, some tombstones,
// some compressed.
void append_random(PartitionLog& log, RandomLog& model, std::mt19937& rng, int batches, int keys) {
  const Compression codecs[] = {Compression::none, Compression::none, Compression::gzip,
                                Compression::lz4,  Compression::zstd, Compression::snappy};
  for (int b = 0; b < batches; ++b) {
    const int count = 1 + static_cast<int>(rng() % 5);
    std::vector<Written> records;
    for (int i = 0; i < count; ++i) {
      Written w;
      w.key = "k" + std::to_string(rng() % static_cast<unsigned>(keys));
      if (rng() % 8 != 0) w.value = "v" + std::to_string(rng()) + std::string(rng() % 40, 'x');
      w.timestamp = model.now++;
      records.push_back(std::move(w));
    }
    auto bytes = batch_of(records, 0, codecs[rng() % std::size(codecs)]);
    auto appended = log.append(bytes);
    ASSERT_TRUE(appended.ok()) << appended.error().message;
    for (int i = 0; i < count; ++i) {
      records[static_cast<size_t>(i)].offset = appended->first_offset + i;
      model.all.push_back(records[static_cast<size_t>(i)]);
    }
  }
}

TEST(OffsetMap, KeepsEachKeysLatestOffsetUpToItsCapacity) {
  OffsetMap map(24 * 100, 0.9);
  EXPECT_EQ(map.slots(), 100u);
  EXPECT_EQ(map.capacity(), 90u);
  map.put(as_bytes("a"), 3);
  map.put(as_bytes("b"), 4);
  map.put(as_bytes("a"), 7);
  EXPECT_EQ(map.get(as_bytes("a")), 7);
  EXPECT_EQ(map.get(as_bytes("b")), 4);
  EXPECT_EQ(map.get(as_bytes("c")), -1);
  EXPECT_EQ(map.size(), 2u);
  EXPECT_EQ(map.latest_offset(), 7);
  for (int i = 0; map.size() < map.capacity(); ++i)
    map.put(as_bytes("key" + std::to_string(i)), 100 + i);
  EXPECT_TRUE(map.full());
  for (int i = 0; i < 88; ++i) EXPECT_EQ(map.get(as_bytes("key" + std::to_string(i))), 100 + i);
  map.clear();
  EXPECT_EQ(map.size(), 0u);
  EXPECT_EQ(map.get(as_bytes("a")), -1);
}

// log.cleaner.io.max.bytes.per.second: bytes over the rate make the cleaner's
// thread sleep until they are within it; the default (Double.MaxValue) never.
TEST(IoThrottler, SleepsOffBytesOverItsRate) {
  IoThrottler throttled(100'000);
  throttled.maybe_throttle(0);
  std::this_thread::sleep_for(std::chrono::milliseconds(310));
  throttled.maybe_throttle(100'000);  // a second's worth in about 0.31 s
  EXPECT_GE(throttled.slept_ms(), 500u);
  IoThrottler unlimited(1.7976931348623157e308);
  unlimited.maybe_throttle(0);
  std::this_thread::sleep_for(std::chrono::milliseconds(310));
  unlimited.maybe_throttle(uint64_t{1} << 40);
  EXPECT_EQ(unlimited.slept_ms(), 0u);
}

TEST(LogCleaner, GroupsSegmentsUpToTheSegmentSize) {
  std::vector<CleanableSegment> segments(5);
  const uint64_t sizes[] = {400, 300, 500, 100, 100};
  for (size_t i = 0; i < segments.size(); ++i) {
    segments[i].base_offset = static_cast<int64_t>(i) * 10;
    segments[i].end_offset = segments[i].base_offset + 10;
    segments[i].size = sizes[i];
  }
  auto groups = group_segments_by_size(segments, 1000, 1 << 20, 50);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0], (std::vector<size_t>{0, 1}));
  EXPECT_EQ(groups[1], (std::vector<size_t>{2, 3, 4}));
  // Offsets too far apart for one segment's relative offsets stay apart.
  segments[1].base_offset = int64_t{1} << 33;
  segments[2].base_offset = (int64_t{1} << 33) + 10;
  segments[3].base_offset = (int64_t{1} << 33) + 20;
  segments[4].base_offset = (int64_t{1} << 33) + 30;
  groups = group_segments_by_size(segments, 1 << 20, 1 << 20, (int64_t{1} << 33) + 40);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0], (std::vector<size_t>{0}));
}

TEST(LogCleaner, RandomLogsEndInTheModelsStateAndKeepOffsets) {
  const uint32_t seed = fuzz_seed(1234);
  const int rounds = fuzz_rounds(12);
  for (int round = 0; round < rounds; ++round) {
    SCOPED_TRACE("seed " + std::to_string(seed) + " round " + std::to_string(round));
    std::mt19937 rng(seed + static_cast<uint32_t>(round));
    TempDir dir;
    auto log = new_log(dir, compacted_options(700 + rng() % 2000));
    ASSERT_NE(log, nullptr);
    RandomLog model;
    const int keys = 3 + static_cast<int>(rng() % 40);
    CompactionSettings settings;
    settings.segment_bytes = 700 + rng() % 5000;
    settings.delete_retention_ms = kDay;
    settings.index_interval_bytes = 256;
    std::optional<int64_t> checkpoint;
    int64_t now = kT0;
    // Small maps make cleans stop part way (the map full).
    const size_t dedupe = rng() % 2 ? (1 << 20) : 24 * (8 + rng() % 30);
    for (int pass = 0; pass < 4; ++pass) {
      append_random(*log, model, rng, 20 + static_cast<int>(rng() % 80), keys);
      if (::testing::Test::HasFatalFailure()) return;
      const uint64_t before = log->size_bytes();
      now += static_cast<int64_t>(rng() % 2) * kDay;
      checkpoint = clean_once(*log, settings, now, checkpoint, dedupe);
      ASSERT_GE(*checkpoint, 0);
      EXPECT_LE(log->size_bytes(), before);
      expect_consistent(*log, model.all);
      if (::testing::Test::HasFailure()) return;
    }
    // Reopened, the cleaned log reads the same.
    const LogContents before = read_from(*log, 0);
    log.reset();
    auto reopened = PartitionLog::open(dir.path() / "t-0", compacted_options(1 << 20));
    ASSERT_TRUE(reopened.ok()) << reopened.error().message;
    const LogContents after = read_from(**reopened, 0);
    ASSERT_EQ(before.records.size(), after.records.size());
    for (size_t i = 0; i < before.records.size(); ++i)
      EXPECT_EQ(before.records[i].offset, after.records[i].offset);
  }
}

TEST(LogCleaner, TombstonesGoOnlyAfterDeleteRetention) {
  TempDir dir;
  auto log = new_log(dir, compacted_options(300));
  ASSERT_NE(log, nullptr);
  std::vector<Written> all;
  auto append = [&](std::string key, std::optional<std::string> value) {
    Written w{0, std::move(key), std::move(value), kT0 + static_cast<int64_t>(all.size())};
    auto appended = log->append(batch_of({w}, 0, Compression::none));
    ASSERT_TRUE(appended.ok());
    w.offset = appended->first_offset;
    all.push_back(w);
  };
  for (int i = 0; i < 10; ++i) append("a", "a" + std::to_string(i));
  append("b", "b0");
  append("a", std::nullopt);  // deletes a
  for (int i = 0; i < 10; ++i) append("c", "c" + std::to_string(i));
  CompactionSettings settings;
  settings.delete_retention_ms = 1000;
  settings.segment_bytes = 1 << 20;
  const int64_t first_clean = kT0 + 5000;
  auto has_tombstone = [&] {
    for (const Written& w : read_from(*log, 0).records)
      if (w.key == "a" && !w.value) return true;
    return false;
  };
  auto checkpoint = clean_once(*log, settings, first_clean, std::nullopt);
  EXPECT_TRUE(has_tombstone());
  expect_consistent(*log, all);
  // The batch that keeps it carries its delete horizon.
  bool stamped = false;
  for (const ReadBatch& b : read_from(*log, 0).batches) stamped |= b.delete_horizon;
  EXPECT_TRUE(stamped);
  // New dirty data, cleaned before the horizon: the tombstone stays.
  for (int i = 0; i < 10; ++i) append("d", "d" + std::to_string(i));
  checkpoint = clean_once(*log, settings, first_clean + 999, checkpoint);
  EXPECT_TRUE(has_tombstone());
  expect_consistent(*log, all);
  // At the horizon it goes, and "a" stays deleted from every start.
  for (int i = 0; i < 10; ++i) append("e", "e" + std::to_string(i));
  checkpoint = clean_once(*log, settings, first_clean + 1000, checkpoint);
  EXPECT_FALSE(has_tombstone());
  expect_consistent(*log, all);
  const auto state = consume(read_from(*log, 0).records, 0);
  EXPECT_EQ(state.count("a"), 0u);
  EXPECT_EQ(state.at("b"), "b0");
  EXPECT_EQ(state.at("c"), "c9");
}

TEST(LogCleaner, KeepsTheLastBatchOfAnActiveProducerEmpty) {
  TempDir dir;
  auto log = new_log(dir, compacted_options(1 << 20));
  ASSERT_NE(log, nullptr);
  // Producer 7 writes k=1..3 (sequences 0-2), then k is overwritten by a
  // plain producer: producer 7's batch loses all its records.
  std::vector<Written> three = {{0, "k", "1", kT0}, {0, "k", "2", kT0 + 1}, {0, "k", "3", kT0 + 2}};
  ASSERT_TRUE(log->append(batch_of(three, 0, Compression::none, 7, 0)).ok());
  ASSERT_TRUE(log->append(batch_of({{0, "k", "4", kT0 + 3}}, 0, Compression::none)).ok());
  ASSERT_TRUE(log->append(batch_of({{0, "x", "1", kT0 + 4}}, 0, Compression::none)).ok());
  // Roll so that everything is cleanable.
  PartitionLogOptions tiny = compacted_options(1);
  log->set_options(tiny);
  ASSERT_TRUE(log->append(batch_of({{0, "z", "1", kT0 + 5}}, 0, Compression::none)).ok());
  ASSERT_GE(log->segment_count(), 2u);
  auto plan =
      log->cleaning_plan(std::nullopt, CompactionSettings{}, kT0 + 10, log->log_end_offset());
  ASSERT_TRUE(plan.ok());
  plan->active_producers[7] = {2, 0};
  Cleaner cleaner(1 << 20, 1e308);
  auto cleaned = cleaner.clean(*plan, kT0 + 10);
  ASSERT_TRUE(cleaned.ok()) << cleaned.error().message;
  for (const auto& segment : cleaned->segments) ASSERT_TRUE(*log->replace_segments(segment));
  const LogContents contents = read_from(*log, 0);
  ASSERT_FALSE(contents.batches.empty());
  const ReadBatch& first = contents.batches.front();
  EXPECT_EQ(first.base_offset, 0);
  EXPECT_EQ(first.last_offset, 2);
  EXPECT_EQ(first.producer_id, 7);
  EXPECT_EQ(first.base_sequence, 0);
  EXPECT_EQ(first.record_count, 0);
  // Without it active, the emptied batch goes.
  ASSERT_TRUE(log->append(batch_of({{0, "y", "1", kT0 + 6}}, 0, Compression::none)).ok());
  clean_once(*log, CompactionSettings{}, kT0 + 20, std::nullopt);
  const LogContents again = read_from(*log, 0);
  EXPECT_NE(again.batches.front().producer_id, 7);
}

// A clean that runs for a while logs how far it got from its thread: bytes
// read of the total it will read, written, the rate; first while it maps the
// keys, then while it copies the segments.
TEST(LogCleaner, ALongCleanLogsItsProgressWhileItRuns) {
  TempDir dir;
  auto log = new_log(dir, compacted_options(128 * 1024));
  ASSERT_NE(log, nullptr);
  // About 1.2 MiB in ten segments, 200 keys overwritten again and again.
  const std::string value(500, 'v');
  int64_t ts = kT0;
  for (int b = 0; b < 120; ++b) {
    std::vector<Written> records;
    for (int r = 0; r < 20; ++r)
      records.push_back({0, "key-" + std::to_string((b * 20 + r) % 200), value, ts++});
    ASSERT_TRUE(log->append(batch_of(records, 0, Compression::none)).ok());
  }
  log->set_options(compacted_options(1));
  ASSERT_TRUE(log->append(batch_of({{0, "last", "1", ts}}, 0, Compression::none)).ok());
  auto plan = log->cleaning_plan(std::nullopt, CompactionSettings{}, ts, log->log_end_offset());
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  ASSERT_GT(plan->cleanable_bytes, 1000u * 1000u);

  std::ostringstream captured;
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>(
      "capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(captured)));
  // A line every microsecond (the broker's: every 3 s): as good as a line
  // after each batch, however fast the machine cleans.
  Cleaner cleaner(1 << 20, 1e308);
  Cleaner::set_progress_interval(std::chrono::microseconds(1));
  auto cleaned = cleaner.clean(*plan, ts);
  Cleaner::set_progress_interval(std::chrono::seconds(3));
  spdlog::set_default_logger(previous);
  ASSERT_TRUE(cleaned.ok()) << cleaned.error().message;

  const std::string lines = captured.str();
  const std::regex line(
      R"(cleaning (\S+): ([0-9.]+) of ([0-9.]+) MiB read \((\d+)%\), ([0-9.]+) MiB written, )"
      R"(([0-9.]+) MiB/s, [0-9.]+ s so far \((mapping keys|copying the segments)\))");
  std::vector<double> read, written;
  std::vector<std::string> phases;
  for (auto it = std::sregex_iterator(lines.begin(), lines.end(), line);
       it != std::sregex_iterator(); ++it) {
    const std::smatch& m = *it;
    EXPECT_EQ(m[1], plan->name);
    read.push_back(std::stod(m[2]));
    EXPECT_LE(read.back(), std::stod(m[3])) << lines;
    EXPECT_GT(std::stod(m[6]), 0.0) << lines;
    written.push_back(std::stod(m[5]));
    phases.push_back(m[7]);
    // While copying, the total is what the clean reads in all.
    if (phases.back() == "copying the segments") {
      EXPECT_NEAR(std::stod(m[3]),
                  static_cast<double>(cleaned->stats.bytes_read) / (1024.0 * 1024.0), 0.051)
          << lines;
    }
  }
  ASSERT_GE(read.size(), 100u) << lines;
  EXPECT_TRUE(std::is_sorted(read.begin(), read.end())) << lines;
  EXPECT_TRUE(std::is_sorted(written.begin(), written.end())) << lines;
  EXPECT_EQ(phases.front(), "mapping keys") << lines;
  EXPECT_EQ(phases.back(), "copying the segments") << lines;
  EXPECT_GT(written.back(), 0.0) << lines;
}

// Transactions below the last stable offset are over: a committed record
// counts as any other, an aborted one (in the .txnindex) never hides a
// committed value and goes; markers go as Kafka's cleaner lets them.
TEST(LogCleaner, CommittedTransactionsCountAndAbortedOnesHideNothing) {
  TempDir dir;
  auto log = new_log(dir, compacted_options(1 << 20));
  ASSERT_NE(log, nullptr);
  auto txn_batch = [](int64_t producer, std::string value) {
    RecordBatchBuilder builder;
    builder.set_producer_id(producer).set_producer_epoch(0).set_base_sequence(0);
    builder.set_transactional(true);
    builder.add_record(as_bytes("k"), as_bytes(value), kT0);
    return builder.build();
  };
  auto marker = [](int64_t producer, ControlRecordType type) {
    RecordBatchBuilder builder;
    builder.set_producer_id(producer).set_producer_epoch(0).set_transactional(true).set_control(
        true);
    const std::vector<uint8_t> key = control_record_key(type);
    const std::vector<uint8_t> value = {0, 0, 0, 0, 0, 0};
    builder.add_record(Bytes(key), Bytes(value), kT0);
    return builder.build();
  };
  ASSERT_TRUE(log->append(batch_of({{0, "k", "v1", kT0}}, 0, Compression::none)).ok());  // 0
  ASSERT_TRUE(log->append(txn_batch(5, "v2")).ok());                                     // 1
  ASSERT_TRUE(log->append(marker(5, ControlRecordType::commit)).ok());                   // 2
  ASSERT_TRUE(log->append(txn_batch(6, "v3")).ok());                                     // 3
  ASSERT_TRUE(log->append(marker(6, ControlRecordType::abort)).ok());                    // 4
  ASSERT_TRUE(append_aborted_txn(log->dir(), 0, AbortedTxn{6, 3, 4, 3}).ok());
  ASSERT_TRUE(log->append(batch_of({{0, "x", "1", kT0}}, 0, Compression::none)).ok());  // 5
  log->set_options(compacted_options(1));  // the next append rolls
  ASSERT_TRUE(log->append(batch_of({{0, "y", "1", kT0}}, 0, Compression::none)).ok());  // 6
  clean_once(*log, CompactionSettings{}, kT0 + 10, std::nullopt);
  std::vector<int64_t> offsets;
  for (const ReadBatch& b : read_from(*log, 0).batches) offsets.push_back(b.base_offset);
  // v1 is superseded by the committed v2; the aborted v3 goes, its marker
  // stays this pass (with its .txnindex entry), the commit's stays while v2 does.
  EXPECT_EQ(offsets, (std::vector<int64_t>{1, 2, 4, 5, 6}));
  auto indexed = read_txn_indexes(log->dir());
  ASSERT_TRUE(indexed.ok());
  EXPECT_EQ(*indexed, (std::vector<AbortedTxn>{{6, 3, 4, 3}}));
  // The next pass finds the abort's transaction empty: the marker is stamped
  // with a delete horizon and its entry goes; it goes itself after
  // delete.retention.ms.
  clean_once(*log, CompactionSettings{}, kT0 + 20, std::nullopt);
  const LogContents second = read_from(*log, 0);
  ASSERT_EQ(second.batches.size(), 5u);
  EXPECT_EQ(second.batches[2].base_offset, 4);
  EXPECT_TRUE(second.batches[2].delete_horizon);
  EXPECT_FALSE(second.batches[1].delete_horizon);
  indexed = read_txn_indexes(log->dir());
  ASSERT_TRUE(indexed.ok());
  EXPECT_TRUE(indexed->empty());
  clean_once(*log, CompactionSettings{}, kT0 + 20 + kDay - 1, std::nullopt);
  EXPECT_EQ(read_from(*log, 0).batches.size(), 5u);
  clean_once(*log, CompactionSettings{}, kT0 + 20 + kDay, std::nullopt);
  offsets.clear();
  for (const ReadBatch& b : read_from(*log, 0).batches) offsets.push_back(b.base_offset);
  EXPECT_EQ(offsets, (std::vector<int64_t>{1, 2, 5, 6}));
  // Without the abort in the .txnindex, v3 would count: v2 would go.
  TempDir dir2;
  auto log2 = new_log(dir2, compacted_options(1 << 20));
  ASSERT_TRUE(log2->append(txn_batch(5, "v2")).ok());
  ASSERT_TRUE(log2->append(marker(5, ControlRecordType::commit)).ok());
  ASSERT_TRUE(log2->append(txn_batch(6, "v3")).ok());
  ASSERT_TRUE(log2->append(marker(6, ControlRecordType::commit)).ok());
  log2->set_options(compacted_options(1));
  ASSERT_TRUE(log2->append(batch_of({{0, "y", "1", kT0}}, 0, Compression::none)).ok());
  clean_once(*log2, CompactionSettings{}, kT0 + 10, std::nullopt);
  offsets.clear();
  for (const ReadBatch& b : read_from(*log2, 0).batches) offsets.push_back(b.base_offset);
  EXPECT_EQ(offsets, (std::vector<int64_t>{1, 2, 3, 4}));
}

// A random log of plain records and transactions (some committed, some
// aborted, one maybe still open at the end) as a read_committed consumer
// sees it, as Kafka's consumer filters: aborted transactions come from the
// .txnindex files; a producer listed there is skipped from its
// transaction's first offset until its ABORT marker; nothing at or past the
// last stable offset is read.
struct TxnWritten {
  Written record;
  int64_t producer_id = -1;  // -1: a plain record
  bool committed = true;     // its transaction committed (or it is plain)
};

std::vector<Written> read_committed(PartitionLog& log, int64_t from, int64_t last_stable) {
  auto indexed = read_txn_indexes(log.dir());
  EXPECT_TRUE(indexed.ok());
  std::vector<AbortedTxn> aborted;
  for (const AbortedTxn& txn : *indexed)
    if (txn.last_offset >= from) aborted.push_back(txn);
  std::sort(aborted.begin(), aborted.end(), [](const AbortedTxn& a, const AbortedTxn& b) {
    return a.first_offset < b.first_offset;
  });
  size_t next_aborted = 0;
  std::set<int64_t> skipping;
  std::vector<Written> out;
  int64_t next = std::max(from, log.log_start_offset());
  while (next < last_stable) {
    auto read = log.read(next, 1 << 20, last_stable);
    if (!read.ok() || read->empty()) break;
    auto bytes = read->read_bytes();
    EXPECT_TRUE(bytes.ok());
    BatchIterator it(*bytes, CrcCheck::verify);
    while (auto batch = it.next()) {
      next = batch->next_offset();
      while (next_aborted < aborted.size() &&
             aborted[next_aborted].first_offset <= batch->last_offset())
        skipping.insert(aborted[next_aborted++].producer_id);
      std::vector<uint8_t> plain;
      std::optional<RecordIterator> records = records_of(*batch, plain);
      RecordView r;
      if (batch->is_control()) {
        if (records->next(r) && r.key &&
            parse_control_record_type(*r.key) == static_cast<int16_t>(ControlRecordType::abort))
          skipping.erase(batch->producer_id());
        continue;
      }
      if (batch->is_transactional() && skipping.contains(batch->producer_id())) continue;
      while (records->next(r)) {
        if (r.offset < from || r.offset >= last_stable) continue;
        Written w;
        w.offset = r.offset;
        w.key = r.key ? std::string(r.key->begin(), r.key->end()) : std::string();
        if (r.value) w.value = std::string(r.value->begin(), r.value->end());
        w.timestamp = r.timestamp;
        out.push_back(std::move(w));
      }
    }
  }
  return out;
}

// Cleans once below `last_stable`, with the producers still active (their
// last data offsets) as the broker hands them over; returns the result.
CleanResult clean_below(PartitionLog& log, int64_t last_stable, int64_t now,
                        const std::map<int64_t, CleaningPlan::ProducerLast>& active) {
  CompactionSettings settings;
  settings.segment_bytes = 2048;  // groups of a few segments
  auto plan = log.cleaning_plan(std::nullopt, settings, now, last_stable);
  EXPECT_TRUE(plan.ok()) << plan.error().message;
  if (!plan.ok() || plan->cleanable_bytes == 0) return {};
  plan->active_producers = active;
  Cleaner cleaner(1 << 20, 1e308);
  auto cleaned = cleaner.clean(*plan, now);
  EXPECT_TRUE(cleaned.ok()) << cleaned.error().message;
  if (!cleaned.ok()) return {};
  for (const CleanedSegment& segment : cleaned->segments) {
    auto swapped = log.replace_segments(segment);
    EXPECT_TRUE(swapped.ok() && *swapped);
  }
  return std::move(*cleaned);
}

// What read_committed consumers see before and after every clean: only
// committed records, a subsequence of what was written, ending in the
// model's state (the latest committed value of each key) from any start;
// aborted records and, two passes and delete.retention.ms later, their
// markers are gone.
TEST(LogCleaner, ReadCommittedConsumersSeeTheCommittedRecordsBeforeAndAfterCleaning) {
  for (unsigned seed = 1; seed <= 12; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    TempDir dir;
    auto log = new_log(dir, compacted_options(700));
    ASSERT_NE(log, nullptr);
    std::vector<TxnWritten> all;
    int64_t now = kT0;
    // Producer -> its open transaction's first offset and records.
    struct Open {
      int64_t first = -1;
      int32_t sequence = 0;
      std::vector<size_t> records;
    };
    std::map<int64_t, Open> open;
    std::map<int64_t, CleaningPlan::ProducerLast> last_data;
    auto marker = [&](int64_t producer, bool commit) {
      RecordBatchBuilder builder;
      builder.set_producer_id(producer).set_producer_epoch(0).set_transactional(true).set_control(
          true);
      const std::vector<uint8_t> key =
          control_record_key(commit ? ControlRecordType::commit : ControlRecordType::abort);
      const std::vector<uint8_t> value = {0, 0, 0, 0, 0, 0};
      builder.add_record(Bytes(key), Bytes(value), now++);
      auto appended = log->append(builder.build());
      ASSERT_TRUE(appended.ok());
      Open& txn = open[producer];
      for (size_t i : txn.records) all[i].committed = commit;
      if (!commit) {
        const std::vector<int64_t> bases = log->segment_base_offsets();
        auto segment = std::upper_bound(bases.begin(), bases.end(), appended->first_offset) - 1;
        ASSERT_TRUE(
            append_aborted_txn(log->dir(), *segment,
                               AbortedTxn{producer, txn.first, appended->first_offset, txn.first})
                .ok());
      }
      open.erase(producer);
    };
    const int steps = 150 + static_cast<int>(rng() % 150);
    for (int step = 0; step < steps; ++step) {
      const auto what = rng() % 10;
      const int64_t producer = 1 + static_cast<int64_t>(rng() % 3);
      if (what < 2 && open.contains(producer)) {
        marker(producer, rng() % 2 == 0);
        continue;
      }
      const bool transactional = what < 5;
      std::vector<Written> records;
      const int count = 1 + static_cast<int>(rng() % 3);
      for (int i = 0; i < count; ++i) {
        Written w;
        w.key = "k" + std::to_string(rng() % 12);
        if (rng() % 7 != 0) w.value = "v" + std::to_string(rng()) + std::string(rng() % 30, 'x');
        w.timestamp = now++;
        records.push_back(std::move(w));
      }
      RecordBatchBuilder builder;
      builder.set_compression(rng() % 3 == 0 ? Compression::lz4 : Compression::none);
      if (transactional)
        builder.set_producer_id(producer)
            .set_producer_epoch(0)
            .set_base_sequence(open[producer].sequence)
            .set_transactional(true);
      for (const Written& w : records)
        builder.add_record(as_bytes(w.key),
                           w.value ? std::optional<Bytes>(as_bytes(*w.value)) : std::nullopt,
                           w.timestamp);
      auto appended = log->append(builder.build());
      ASSERT_TRUE(appended.ok());
      for (int i = 0; i < count; ++i) {
        TxnWritten t;
        t.record = records[static_cast<size_t>(i)];
        t.record.offset = appended->first_offset + i;
        if (transactional) {
          t.producer_id = producer;
          Open& txn = open[producer];
          if (txn.first < 0) txn.first = t.record.offset;
          txn.records.push_back(all.size());
        }
        all.push_back(std::move(t));
      }
      if (transactional) {
        open[producer].sequence += count;
        last_data[producer] = {appended->last_offset, 0};
      }
    }
    // At most one transaction stays open: the last stable offset is its start.
    while (open.size() > 1) marker(open.begin()->first, rng() % 2 == 0);
    const int64_t last_stable = open.empty() ? log->log_end_offset() : open.begin()->second.first;

    // The model: the committed records below the last stable offset.
    std::vector<Written> committed;
    std::set<int64_t> committed_offsets;
    for (const TxnWritten& t : all) {
      // The open transaction's records all lie at or past the last stable offset.
      if (!t.committed || t.record.offset >= last_stable) continue;
      committed.push_back(t.record);
      committed_offsets.insert(t.record.offset);
    }
    auto check = [&](const char* when) {
      SCOPED_TRACE(when);
      const auto model = latest_values(committed, std::numeric_limits<int64_t>::max());
      for (int64_t from : {int64_t{0}, last_stable / 3, last_stable / 2, last_stable - 1}) {
        const std::vector<Written> seen = read_committed(*log, from, last_stable);
        for (const Written& w : seen)
          ASSERT_TRUE(committed_offsets.contains(w.offset))
              << "from " << from << ": offset " << w.offset << " is not a committed record";
        const auto state = consume(seen, from);
        for (const Written& w : committed) {
          if (w.offset < from) continue;
          const auto& value = model.at(w.key);
          auto found = state.find(w.key);
          if (value) {
            ASSERT_NE(found, state.end()) << "from " << from << ": key " << w.key << " missing";
            EXPECT_EQ(found->second, *value) << "from " << from << ": key " << w.key;
          } else {
            EXPECT_EQ(found, state.end()) << "from " << from << ": deleted " << w.key << " is back";
          }
        }
      }
    };
    check("before cleaning");
    // Producers 1-3 stay active (their last data kept) in the first passes.
    clean_below(*log, last_stable, kT0 + 100'000, last_data);
    check("after the first clean");
    clean_below(*log, last_stable, kT0 + 200'000, last_data);
    check("after the second clean");
    clean_below(*log, last_stable, kT0 + 200'000 + kDay, {});
    check("after delete.retention.ms");
    clean_below(*log, last_stable, kT0 + 300'000 + 2 * kDay, {});
    check("after the markers' horizons");
    // No aborted record is left in what may be cleaned (up to the segment
    // of the last stable offset), nor a .txnindex entry for it.
    auto plan = log->cleaning_plan(std::nullopt, CompactionSettings{}, kT0, last_stable);
    ASSERT_TRUE(plan.ok());
    const int64_t cleanable_end = plan->first_uncleanable_offset;
    std::set<int64_t> aborted_offsets;
    for (const TxnWritten& t : all)
      if (!t.committed && t.record.offset < cleanable_end) aborted_offsets.insert(t.record.offset);
    const LogContents left = read_from(*log, 0);
    for (const Written& w : left.records) {
      if (w.offset < cleanable_end) {
        EXPECT_FALSE(aborted_offsets.contains(w.offset)) << "aborted offset " << w.offset;
      }
    }
    auto indexed = read_txn_indexes(log->dir());
    ASSERT_TRUE(indexed.ok());
    for (const AbortedTxn& txn : *indexed) EXPECT_GE(txn.last_offset, cleanable_end);
  }
}

TEST(LogCleaner, PlanFollowsLagsRatioAndTheActiveSegment) {
  TempDir dir;
  auto log = new_log(dir, compacted_options(200));
  ASSERT_NE(log, nullptr);
  for (int i = 0; i < 30; ++i)
    ASSERT_TRUE(
        log->append(batch_of({{0, "k", std::to_string(i), kT0 + i * 1000}}, 0, Compression::none))
            .ok());
  ASSERT_GT(log->segment_count(), 3u);
  const int64_t active_base = log->segment_base_offsets().back();
  CompactionSettings settings;
  auto plan = log->cleaning_plan(std::nullopt, settings, kT0 + 100000, log->log_end_offset());
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->first_dirty_offset, 0);
  EXPECT_EQ(plan->first_uncleanable_offset, active_base);
  EXPECT_EQ(plan->clean_bytes, 0u);
  EXPECT_GT(plan->cleanable_bytes, 0u);
  EXPECT_TRUE(plan->worth_cleaning());
  // The last stable offset holds cleaning back to its segment's start.
  plan = log->cleaning_plan(std::nullopt, settings, kT0 + 100000, 1);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->first_uncleanable_offset, 0);
  EXPECT_EQ(plan->cleanable_bytes, 0u);
  // min.compaction.lag.ms: segments with records newer than now - lag stay.
  settings.min_compaction_lag_ms = 10'500;
  plan = log->cleaning_plan(std::nullopt, settings, kT0 + 20'000, log->log_end_offset());
  ASSERT_TRUE(plan.ok());
  EXPECT_LE(plan->first_uncleanable_offset, 10);
  // A checkpoint past the log end starts over, and says so.
  settings = {};
  plan = log->cleaning_plan(int64_t{1000}, settings, kT0, log->log_end_offset());
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->force_checkpoint);
  EXPECT_EQ(plan->first_dirty_offset, 0);
  // Clean up to the active segment: nothing is dirty, nothing worth cleaning,
  // until max.compaction.lag.ms passes... which needs dirty segments.
  const int64_t end = clean_once(*log, settings, kT0 + 100000, std::nullopt);
  EXPECT_EQ(end, active_base);
  plan = log->cleaning_plan(end, settings, kT0 + 100000, log->log_end_offset());
  ASSERT_TRUE(plan.ok());
  EXPECT_FALSE(plan->worth_cleaning());
  // max.compaction.lag.ms: a dirty segment old enough is cleaned whatever the
  // ratio.
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(
        log->append(batch_of({{0, "j", std::to_string(i), kT0 + 40'000 + i}}, 0, Compression::none))
            .ok());
  settings.min_cleanable_ratio = 0.99;
  settings.max_compaction_lag_ms = 1000;
  plan = log->cleaning_plan(end, settings, kT0 + 100000, log->log_end_offset());
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->needs_compaction_now);
  EXPECT_TRUE(plan->worth_cleaning());
}

// The directory's files, for comparing states.
std::map<std::string, std::vector<uint8_t>> snapshot(const fs::path& dir) {
  std::map<std::string, std::vector<uint8_t>> files;
  for (const auto& e : fs::directory_iterator(dir))
    files[e.path().filename().string()] = read_whole_file(e.path());
  return files;
}

void restore(const fs::path& dir, const std::map<std::string, std::vector<uint8_t>>& files) {
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (const auto& [name, bytes] : files) write_whole_file(dir / name, bytes);
}

std::vector<int64_t> offsets_of(const LogContents& contents) {
  std::vector<int64_t> out;
  for (const Written& w : contents.records) out.push_back(w.offset);
  return out;
}

// A crash anywhere in a clean leaves the old segments or the new ones, whole.
TEST(LogCleaner, ACrashAtEachStepOfASwapRecoversWhole) {
  TempDir dir;
  const fs::path part = dir.path() / "t-0";
  std::mt19937 rng(99);
  RandomLog model;
  {
    auto log = new_log(dir, compacted_options(600));
    ASSERT_NE(log, nullptr);
    append_random(*log, model, rng, 60, 6);
  }
  const auto original = snapshot(part);
  auto open_log = [&] {
    auto log = PartitionLog::open(part, compacted_options(600));
    EXPECT_TRUE(log.ok()) << log.error().message;
    return log.ok() ? std::move(*log) : nullptr;
  };
  CompactionSettings settings;
  settings.segment_bytes = 1 << 20;
  // The outcome without a crash, and before.
  std::vector<int64_t> before, after;
  {
    auto log = open_log();
    before = offsets_of(read_from(*log, 0));
    clean_once(*log, settings, kT0 + kDay, std::nullopt);
    after = offsets_of(read_from(*log, 0));
  }
  ASSERT_LT(after.size(), before.size());
  auto reopened_offsets = [&] {
    auto log = open_log();
    if (!log) return std::vector<int64_t>{};
    expect_consistent(*log, model.all);
    return offsets_of(read_from(*log, 0));
  };
  // Crash after the clean wrote .cleaned files, and while it renamed them.
  for (size_t renamed_to_swap = 0; renamed_to_swap <= 3; ++renamed_to_swap) {
    SCOPED_TRACE("cleaned files, " + std::to_string(renamed_to_swap) + " renamed to .swap");
    restore(part, original);
    {
      auto log = open_log();
      auto plan = log->cleaning_plan(std::nullopt, settings, kT0 + kDay, log->log_end_offset());
      ASSERT_TRUE(plan.ok());
      Cleaner cleaner(1 << 20, 1e308);
      auto cleaned = cleaner.clean(*plan, kT0 + kDay);
      ASSERT_TRUE(cleaned.ok());
      ASSERT_EQ(cleaned->segments.size(), 1u);
      // Undo the renames the crash did not get to (the .log's is the last).
      const char* order[] = {".index", ".timeindex", ".log"};
      for (size_t i = renamed_to_swap; i < 3; ++i) {
        const fs::path swap =
            part / (segment_file_name(cleaned->segments[0].base_offset, order[i]) + ".swap");
        fs::path back = swap;
        back.replace_extension(".cleaned");
        fs::rename(swap, back);
      }
    }
    EXPECT_EQ(reopened_offsets(), renamed_to_swap == 3 ? after : before);
    for (const auto& e : fs::directory_iterator(part)) {
      EXPECT_FALSE(e.path().string().ends_with(".cleaned")) << e.path();
      EXPECT_FALSE(e.path().string().ends_with(".swap")) << e.path();
    }
  }
  // Crash after each rename of the swap itself.
  for (size_t stop = 0;; ++stop) {
    SCOPED_TRACE("swap stopped after " + std::to_string(stop) + " renames");
    restore(part, original);
    bool finished = false;
    {
      auto log = open_log();
      auto plan = log->cleaning_plan(std::nullopt, settings, kT0 + kDay, log->log_end_offset());
      ASSERT_TRUE(plan.ok());
      Cleaner cleaner(1 << 20, 1e308);
      auto cleaned = cleaner.clean(*plan, kT0 + kDay);
      ASSERT_TRUE(cleaned.ok());
      const size_t segments_before = log->segment_count();
      auto swapped = log->replace_segments(cleaned->segments[0], stop);
      ASSERT_TRUE(swapped.ok()) << swapped.error().message;
      finished = log->segment_count() != segments_before;
    }
    // Every crash point after the .swap files exist finishes the swap.
    EXPECT_EQ(reopened_offsets(), after);
    if (finished) break;
    ASSERT_LT(stop, 100u);
  }
}

// Transactions of three producers, every one ended (ABORT or COMMIT), its
// aborts listed in the .txnindex as the broker lists them.
void write_ended_transactions(PartitionLog& log, std::mt19937& rng, int steps) {
  std::map<int64_t, int64_t> first;  // producer -> its open transaction's first offset
  std::map<int64_t, int32_t> sequence;
  int64_t now = kT0;
  auto end = [&](int64_t producer, bool commit) {
    RecordBatchBuilder builder;
    builder.set_producer_id(producer).set_producer_epoch(0).set_transactional(true).set_control(
        true);
    const std::vector<uint8_t> key =
        control_record_key(commit ? ControlRecordType::commit : ControlRecordType::abort);
    const std::vector<uint8_t> value = {0, 0, 0, 0, 0, 0};
    builder.add_record(Bytes(key), Bytes(value), now++);
    auto appended = log.append(builder.build());
    ASSERT_TRUE(appended.ok());
    if (!commit) {
      const std::vector<int64_t> bases = log.segment_base_offsets();
      auto segment = std::upper_bound(bases.begin(), bases.end(), appended->first_offset) - 1;
      ASSERT_TRUE(append_aborted_txn(log.dir(), *segment,
                                     AbortedTxn{producer, first[producer], appended->first_offset,
                                                first[producer]})
                      .ok());
    }
    first.erase(producer);
  };
  for (int step = 0; step < steps; ++step) {
    const int64_t producer = 1 + static_cast<int64_t>(rng() % 3);
    if (rng() % 4 == 0 && first.contains(producer)) {
      end(producer, rng() % 2 == 0);
      continue;
    }
    RecordBatchBuilder builder;
    builder.set_producer_id(producer)
        .set_producer_epoch(0)
        .set_base_sequence(sequence[producer])
        .set_transactional(true);
    const std::string key = "k" + std::to_string(rng() % 8);
    const std::string value = "v" + std::to_string(rng()) + std::string(rng() % 40, 'x');
    builder.add_record(as_bytes(key), as_bytes(value), now++);
    auto appended = log.append(builder.build());
    ASSERT_TRUE(appended.ok());
    ++sequence[producer];
    first.try_emplace(producer, appended->first_offset);
  }
  while (!first.empty()) end(first.begin()->first, rng() % 2 == 0);
}

// The aborted transactions read_committed fetches are told of, as a
// restarted broker loads them (the .txnindex files, and the markers read).
std::vector<AbortedTxn> loaded_aborted(const fs::path& part) {
  auto log = PartitionLog::open(part, compacted_options(700));
  EXPECT_TRUE(log.ok()) << log.error().message;
  if (!log.ok()) return {};
  auto loaded = load_producer_state(**log);
  EXPECT_TRUE(loaded.ok()) << loaded.error().message;
  return loaded.ok() ? loaded->aborted : std::vector<AbortedTxn>{};
}

// A clean that drops aborted transactions from the lists, written as several
// cleaned segments, and a crash at every rename of their swaps: the broker
// that starts again lists exactly the aborted transactions a whole swap
// leaves. And a swap that stops between two segments (the broker's answer to
// a failed rename: the later segments' .swap files are dropped) leaves on
// disk what the list kept in memory says: each swapped segment's own
// aborted transactions in its offsets, the old ones elsewhere.
TEST(LogCleaner, ACrashAtEachRenameOfAPartialSwapLeavesTheAbortedListRight) {
  TempDir dir;
  const fs::path part = dir.path() / "t-0";
  std::mt19937 rng(7);
  {
    auto log = new_log(dir, compacted_options(700));
    ASSERT_NE(log, nullptr);
    write_ended_transactions(*log, rng, 250);
  }
  CompactionSettings settings;
  settings.segment_bytes = 1500;  // a few old segments per cleaned one
  auto open_log = [&] {
    auto log = PartitionLog::open(part, compacted_options(700));
    EXPECT_TRUE(log.ok()) << log.error().message;
    return log.ok() ? std::move(*log) : nullptr;
  };
  // The first clean removes the aborted records (their markers stay listed,
  // their batches were read); the one under test finds their transactions
  // empty and drops them from the cleaned segments' .txnindex.
  {
    auto log = open_log();
    ASSERT_NE(log, nullptr);
    clean_once(*log, settings, kT0 + 1000, std::nullopt);
  }
  const auto before = snapshot(part);
  const std::vector<AbortedTxn> listed_before = loaded_aborted(part);
  auto clean = [&](PartitionLog& log) {
    auto plan = log.cleaning_plan(std::nullopt, settings, kT0 + 3 * kDay, log.log_end_offset());
    EXPECT_TRUE(plan.ok());
    Cleaner cleaner(1 << 20, 1e308);
    auto cleaned = cleaner.clean(*plan, kT0 + 3 * kDay);
    EXPECT_TRUE(cleaned.ok());
    return cleaned.ok() ? std::move(*cleaned) : CleanResult{};
  };
  std::vector<AbortedTxn> listed_after;
  size_t segments = 0;
  {
    auto log = open_log();
    const CleanResult cleaned = clean(*log);
    segments = cleaned.segments.size();
    for (const CleanedSegment& segment : cleaned.segments)
      ASSERT_TRUE(log->replace_segments(segment).ok());
  }
  listed_after = loaded_aborted(part);
  ASSERT_GE(segments, 3u);
  ASSERT_LT(listed_after.size(), listed_before.size()) << "no marker was removed";

  for (size_t whole = 0; whole < segments; ++whole) {
    // Crash at each rename of segment `whole`, the ones before it swapped
    // (of the first two: each takes a clean per rename).
    for (size_t stop = 0; whole < 2; ++stop) {
      SCOPED_TRACE(std::to_string(whole) + " segments swapped, the next stopped after " +
                   std::to_string(stop) + " renames");
      restore(part, before);
      bool finished = false;
      {
        auto log = open_log();
        const CleanResult cleaned = clean(*log);
        ASSERT_EQ(cleaned.segments.size(), segments);
        for (size_t i = 0; i < whole; ++i)
          ASSERT_TRUE(log->replace_segments(cleaned.segments[i]).ok());
        ASSERT_TRUE(log->replace_segments(cleaned.segments[whole], stop).ok());
        // The .log.swap is renamed last.
        finished = !fs::exists(
            part / (segment_file_name(cleaned.segments[whole].base_offset, ".log") + ".swap"));
      }
      EXPECT_EQ(loaded_aborted(part), listed_after);
      if (finished) break;
      ASSERT_LT(stop, 100u);
    }
    // The swap stopped after `whole` segments; the rest are dropped.
    SCOPED_TRACE(std::to_string(whole) + " segments swapped, the rest dropped");
    restore(part, before);
    std::vector<AbortedTxn> in_memory = listed_before;
    {
      auto log = open_log();
      const CleanResult cleaned = clean(*log);
      for (size_t i = 0; i < segments; ++i) {
        const CleanedSegment& segment = cleaned.segments[i];
        if (i >= whole) {
          for (const auto& entry : fs::directory_iterator(part))
            if (entry.path().filename().string().starts_with(
                    segment_file_name(segment.base_offset, "")) &&
                entry.path().string().ends_with(".swap"))
              fs::remove(entry.path());
          continue;
        }
        ASSERT_TRUE(log->replace_segments(segment).ok());
        // As ProducerStates::replace_aborted_in does it.
        std::erase_if(in_memory, [&](const AbortedTxn& txn) {
          return txn.last_offset >= segment.base_offset && txn.last_offset < segment.end_offset;
        });
        in_memory.insert(in_memory.end(), segment.aborted_kept.begin(), segment.aborted_kept.end());
      }
    }
    std::stable_sort(
        in_memory.begin(), in_memory.end(),
        [](const AbortedTxn& a, const AbortedTxn& b) { return a.last_offset < b.last_offset; });
    EXPECT_EQ(loaded_aborted(part), in_memory);
  }
}

TEST(LogValidator, FindsRecordsWithoutKeysInPlainAndCompressedBatches) {
  for (Compression codec : {Compression::none, Compression::gzip, Compression::zstd}) {
    RecordBatchBuilder builder;
    builder.set_compression(codec);
    builder.add_record(as_bytes("a"), as_bytes("1"), kT0);
    builder.add_record(std::nullopt, as_bytes("2"), kT0);
    builder.add_record(as_bytes("c"), std::nullopt, kT0);
    builder.add_record(std::nullopt, std::nullopt, kT0);
    const auto bytes = builder.build();
    auto batch = RecordBatchView::parse(bytes);
    ASSERT_TRUE(batch.has_value());
    auto keyless = records_without_key(*batch);
    ASSERT_TRUE(keyless.ok()) << keyless.error().message;
    EXPECT_EQ(*keyless, (std::vector<int32_t>{1, 3}));
  }
}

}  // namespace
}  // namespace kb::storage::test
