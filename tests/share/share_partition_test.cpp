#include "kb/share/share_partition.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

namespace kb::share {
namespace {

using protocol::ErrorCode;
using std::chrono::milliseconds;

const Clock::time_point kT0{};

SharePartitionOptions small_options() {
  SharePartitionOptions o;
  o.delivery_count_limit = 3;
  o.record_lock_duration_ms = 1000;
  o.max_record_locks = 1000;
  return o;
}

std::vector<AckBatch> ack(int64_t first, int64_t last, AckType type) {
  return {AckBatch{first, last, {type}}};
}

// ---- Scenarios, record by record and batch by batch ----

TEST(SharePartition, AcquiresNewBatchesWholeWithDeliveryCountOne) {
  SharePartition p(small_options(), 0);
  const std::vector<LogBatchSpan> log = {{0, 4}, {5, 9}};
  auto got = p.acquire("m1", log, 500, kT0);
  EXPECT_EQ(got, (std::vector<AcquiredRange>{{0, 9, 1}}));
  EXPECT_EQ(p.start_offset(), 0);
  EXPECT_EQ(p.end_offset(), 9);
  EXPECT_EQ(p.next_fetch_offset(), 10);
  EXPECT_EQ(p.acquired_count(), 10u);
  // A second member reading the same records gets none of them.
  EXPECT_TRUE(p.acquire("m2", log, 500, kT0).empty());
}

TEST(SharePartition, MaxRecordsIsSoftAndEndsAtABatchEnd) {
  SharePartition p(small_options(), 0);
  const std::vector<LogBatchSpan> log = {{0, 4}, {5, 9}, {10, 14}};
  auto got = p.acquire("m1", log, 6, kT0);
  EXPECT_EQ(got, (std::vector<AcquiredRange>{{0, 9, 1}}));
  EXPECT_EQ(p.next_fetch_offset(), 10);
  got = p.acquire("m2", std::vector<LogBatchSpan>{{10, 14}}, 1, kT0);
  EXPECT_EQ(got, (std::vector<AcquiredRange>{{10, 14, 1}}));
}

TEST(SharePartition, MaxRecordLocksLimitsNewRecords) {
  auto o = small_options();
  o.max_record_locks = 10;
  SharePartition p(o, 0);
  auto got =
      p.acquire("m1", std::vector<LogBatchSpan>{{0, 3}, {4, 7}, {8, 11}, {12, 15}}, 500, kT0);
  EXPECT_EQ(got, (std::vector<AcquiredRange>{{0, 11, 1}}));
  EXPECT_FALSE(p.can_acquire());
  EXPECT_TRUE(p.acquire("m2", std::vector<LogBatchSpan>{{12, 15}}, 500, kT0).empty());
  // Acknowledging moves the start offset and makes room.
  EXPECT_EQ(p.acknowledge("m1", ack(0, 11, AckType::kAccept), kT0), ErrorCode::kNone);
  EXPECT_EQ(p.start_offset(), 12);
  EXPECT_TRUE(p.can_acquire());
}

TEST(SharePartition, AcceptWholeBatchMovesStartOffset) {
  SharePartition p(small_options(), 0);
  p.acquire("m1", std::vector<LogBatchSpan>{{0, 4}}, 500, kT0);
  p.acquire("m2", std::vector<LogBatchSpan>{{5, 9}}, 500, kT0);
  // The later batch done first: the start waits for the earlier one.
  EXPECT_EQ(p.acknowledge("m2", ack(5, 9, AckType::kAccept), kT0), ErrorCode::kNone);
  EXPECT_EQ(p.start_offset(), 0);
  EXPECT_EQ(p.acknowledge("m1", ack(0, 4, AckType::kReject), kT0), ErrorCode::kNone);
  EXPECT_EQ(p.start_offset(), 10);
  EXPECT_EQ(p.end_offset(), 10);
  EXPECT_TRUE(p.state_batches().empty());
}

TEST(SharePartition, PerRecordAcknowledgementSplitsTheBatch) {
  SharePartition p(small_options(), 0);
  p.acquire("m1", std::vector<LogBatchSpan>{{0, 4}}, 500, kT0);
  std::vector<AckBatch> acks = {AckBatch{
      0,
      4,
      {AckType::kAccept, AckType::kRelease, AckType::kReject, AckType::kAccept, AckType::kGap}}};
  EXPECT_EQ(p.acknowledge("m1", acks, kT0), ErrorCode::kNone);
  EXPECT_EQ(p.start_offset(), 1);
  EXPECT_EQ(p.next_fetch_offset(), 1);
  EXPECT_EQ(p.state_batches(), (std::vector<StateBatch>{{1, 1, RecordState::kAvailable, 1},
                                                        {2, 2, RecordState::kArchived, 1},
                                                        {3, 3, RecordState::kAcknowledged, 1},
                                                        {4, 4, RecordState::kArchived, 1}}));
  // The released record comes again, second delivery; the fetch reads its
  // whole batch from the log but only it is acquired.
  auto got = p.acquire("m2", std::vector<LogBatchSpan>{{0, 4}, {5, 6}}, 500, kT0);
  EXPECT_EQ(got, (std::vector<AcquiredRange>{{1, 1, 2}, {5, 6, 1}}));
}

TEST(SharePartition, SubsetAcknowledgementOfAWholeBatch) {
  SharePartition p(small_options(), 0);
  p.acquire("m1", std::vector<LogBatchSpan>{{0, 9}}, 500, kT0);
  EXPECT_EQ(p.acknowledge("m1", ack(0, 3, AckType::kAccept), kT0), ErrorCode::kNone);
  EXPECT_EQ(p.start_offset(), 4);
  EXPECT_EQ(p.acquired_count(), 6u);
  EXPECT_EQ(p.acknowledge("m1", ack(4, 9, AckType::kAccept), kT0), ErrorCode::kNone);
  EXPECT_EQ(p.start_offset(), 10);
}

TEST(SharePartition, AcknowledgementErrors) {
  SharePartition p(small_options(), 0);
  // Nothing in flight.
  EXPECT_EQ(p.acknowledge("m1", ack(0, 0, AckType::kAccept), kT0), ErrorCode::kInvalidRecordState);
  p.acquire("m1", std::vector<LogBatchSpan>{{0, 4}}, 500, kT0);
  // Not the owner.
  EXPECT_EQ(p.acknowledge("m2", ack(0, 4, AckType::kAccept), kT0), ErrorCode::kInvalidRecordState);
  // Past what is in flight.
  EXPECT_EQ(p.acknowledge("m1", ack(3, 7, AckType::kAccept), kT0), ErrorCode::kInvalidRequest);
  // Bad types and counts.
  EXPECT_EQ(p.acknowledge("m1", std::vector<AckBatch>{AckBatch{0, 4, {}}}, kT0),
            ErrorCode::kInvalidRequest);
  EXPECT_EQ(
      p.acknowledge(
          "m1", std::vector<AckBatch>{AckBatch{0, 4, {AckType::kAccept, AckType::kAccept}}}, kT0),
      ErrorCode::kInvalidRequest);
  EXPECT_EQ(
      p.acknowledge("m1", std::vector<AckBatch>{AckBatch{0, 4, {static_cast<AckType>(9)}}}, kT0),
      ErrorCode::kInvalidRequest);
  EXPECT_EQ(p.acknowledge("m1", std::vector<AckBatch>{AckBatch{4, 0, {AckType::kAccept}}}, kT0),
            ErrorCode::kInvalidRequest);
  // All or nothing: the first batch is not applied when the second fails.
  std::vector<AckBatch> two = {AckBatch{0, 1, {AckType::kAccept}},
                               AckBatch{1, 1, {AckType::kAccept}}};
  EXPECT_EQ(p.acknowledge("m1", two, kT0), ErrorCode::kInvalidRecordState);
  EXPECT_EQ(p.acquired_count(), 5u);
  EXPECT_EQ(p.start_offset(), 0);
  // Records before the start offset are ignored.
  EXPECT_EQ(p.acknowledge("m1", ack(0, 4, AckType::kAccept), kT0), ErrorCode::kNone);
  EXPECT_EQ(p.acknowledge("m1", ack(0, 4, AckType::kAccept), kT0), ErrorCode::kNone);
}

TEST(SharePartition, LockExpiryMakesRecordsAvailableAgain) {
  SharePartition p(small_options(), 0);
  p.acquire("m1", std::vector<LogBatchSpan>{{0, 4}}, 500, kT0);
  EXPECT_EQ(p.next_lock_deadline(), kT0 + milliseconds(1000));
  EXPECT_EQ(p.expire_locks(kT0 + milliseconds(999)), 0u);
  EXPECT_EQ(p.expire_locks(kT0 + milliseconds(1000)), 5u);
  EXPECT_FALSE(p.next_lock_deadline());
  EXPECT_EQ(p.next_fetch_offset(), 0);
  // The late acknowledgement is refused.
  EXPECT_EQ(p.acknowledge("m1", ack(0, 4, AckType::kAccept), kT0), ErrorCode::kInvalidRecordState);
  auto got = p.acquire("m2", std::vector<LogBatchSpan>{{0, 4}}, 500, kT0 + milliseconds(1000));
  EXPECT_EQ(got, (std::vector<AcquiredRange>{{0, 4, 2}}));
}

TEST(SharePartition, RenewExtendsTheLock) {
  SharePartition p(small_options(), 0);
  p.acquire("m1", std::vector<LogBatchSpan>{{0, 4}}, 500, kT0);
  EXPECT_EQ(p.acknowledge("m1", ack(0, 4, AckType::kRenew), kT0 + milliseconds(500)),
            ErrorCode::kNone);
  EXPECT_EQ(p.expire_locks(kT0 + milliseconds(1000)), 0u);
  EXPECT_EQ(p.next_lock_deadline(), kT0 + milliseconds(1500));
}

TEST(SharePartition, DeliveryCountLimitArchives) {
  SharePartition p(small_options(), 0);  // limit 3
  const std::vector<LogBatchSpan> log = {{0, 1}};
  for (int16_t delivery = 1; delivery <= 3; ++delivery) {
    auto got = p.acquire("m1", log, 500, kT0);
    ASSERT_EQ(got, (std::vector<AcquiredRange>{{0, 1, delivery}}));
    EXPECT_EQ(p.acknowledge("m1", ack(0, 1, AckType::kRelease), kT0), ErrorCode::kNone);
  }
  // Third release at the limit: archived, and the start offset moves on.
  EXPECT_EQ(p.start_offset(), 2);
  EXPECT_TRUE(p.acquire("m1", log, 500, kT0).empty());
}

TEST(SharePartition, ReleaseMemberGivesBackItsRecords) {
  SharePartition p(small_options(), 0);
  p.acquire("m1", std::vector<LogBatchSpan>{{0, 4}}, 500, kT0);
  p.acquire("m2", std::vector<LogBatchSpan>{{5, 9}}, 500, kT0);
  p.release_member("m1");
  EXPECT_EQ(p.acquired_count(), 5u);
  EXPECT_EQ(p.next_fetch_offset(), 0);
}

TEST(SharePartition, LogStartOffsetArchivesAvailableRecords) {
  SharePartition p(small_options(), 0);
  p.acquire("m1", std::vector<LogBatchSpan>{{0, 9}}, 500, kT0);
  std::vector<AckBatch> acks = {AckBatch{0, 3, {AckType::kRelease}}};
  EXPECT_EQ(p.acknowledge("m1", acks, kT0), ErrorCode::kNone);
  p.on_log_start_offset(2);
  // 0 and 1 were available: archived; 2 and 3 are next.
  EXPECT_EQ(p.start_offset(), 2);
  EXPECT_EQ(p.next_fetch_offset(), 2);
  p.on_log_start_offset(4);
  // 2 and 3 archived too; 4.. still held by m1.
  EXPECT_EQ(p.start_offset(), 4);
  EXPECT_EQ(p.next_fetch_offset(), 10);
}

TEST(SharePartition, StartsAtTheFirstRecordThereIs) {
  SharePartition p(small_options(), 0);
  auto got = p.acquire("m1", std::vector<LogBatchSpan>{{100, 104}}, 500, kT0);
  EXPECT_EQ(got, (std::vector<AcquiredRange>{{100, 104, 1}}));
  EXPECT_EQ(p.start_offset(), 100);
}

TEST(SharePartition, RestartKeepsDeliveryCountsAndFreesAcquired) {
  SharePartition p(small_options(), 0);
  p.acquire("m1", std::vector<LogBatchSpan>{{0, 4}}, 500, kT0);
  p.acquire("m2", std::vector<LogBatchSpan>{{5, 9}}, 500, kT0);
  EXPECT_EQ(p.acknowledge("m2", ack(7, 7, AckType::kAccept), kT0), ErrorCode::kNone);
  auto saved = p.state_batches();
  SharePartition q(small_options(), p.start_offset(), saved);
  EXPECT_EQ(q.acquired_count(), 0u);
  EXPECT_EQ(q.next_fetch_offset(), 0);
  auto got = q.acquire("m3", std::vector<LogBatchSpan>{{0, 4}, {5, 9}, {10, 11}}, 500, kT0);
  EXPECT_EQ(got, (std::vector<AcquiredRange>{{0, 6, 2}, {8, 9, 2}, {10, 11, 1}}));
}

// ---- Against a model: one state per offset, no batches ----

struct ModelRecord {
  RecordState state = RecordState::kAvailable;
  int16_t count = 0;
  std::string member;
  Clock::time_point lock_until{};
};

struct Model {
  SharePartitionOptions options;
  int64_t start = 0;
  int64_t next_new = 0;
  std::map<int64_t, ModelRecord> records;  // every offset acquired once and not yet dropped

  static bool done(RecordState s) {
    return s == RecordState::kAcknowledged || s == RecordState::kArchived;
  }
  void release(int64_t o, ModelRecord& r) const {
    r.member.clear();
    r.state = o < start || r.count >= options.delivery_count_limit ? RecordState::kArchived
                                                                   : RecordState::kAvailable;
  }
  void advance() {
    int64_t s = next_new;
    for (auto& [o, r] : records) {
      if (o < start) continue;
      if (!done(r.state)) {
        s = o;
        break;
      }
    }
    start = std::max(start, s);
    next_new = std::max(next_new, start);
    for (auto it = records.begin(); it != records.end() && it->first < start;) {
      if (it->second.state == RecordState::kAcquired) {
        ++it;
        continue;
      }
      it = records.erase(it);
    }
  }
  int64_t next_fetch() const {
    for (const auto& [o, r] : records)
      if (o >= start && r.state == RecordState::kAvailable) return o;
    return next_new;
  }
  // With no limit on records or locks.
  std::map<int64_t, int16_t> acquire(const std::string& m, int64_t first, int64_t last,
                                     Clock::time_point now) {
    std::map<int64_t, int16_t> got;
    for (int64_t o = std::max(first, start); o <= last && o < next_new; ++o) {
      auto it = records.find(o);
      if (it == records.end() || it->second.state != RecordState::kAvailable) continue;
      it->second = {RecordState::kAcquired, static_cast<int16_t>(it->second.count + 1), m,
                    now + milliseconds(options.record_lock_duration_ms)};
      got[o] = it->second.count;
    }
    const int64_t from = std::max({next_new, first, start});
    if (from <= last) {
      bool was_empty = records.empty();
      for (int64_t o = from; o <= last; ++o) {
        records[o] = {RecordState::kAcquired, 1, m,
                      now + milliseconds(options.record_lock_duration_ms)};
        got[o] = 1;
      }
      if (was_empty) start = from;
      next_new = last + 1;
    }
    return got;
  }
  ErrorCode acknowledge(const std::string& m, const std::vector<AckBatch>& batches,
                        Clock::time_point now) {
    auto saved = records;
    for (const auto& b : batches) {
      const int64_t n = b.last_offset - b.first_offset + 1;
      if (b.first_offset > b.last_offset || b.types.empty() ||
          (b.types.size() != 1 && static_cast<int64_t>(b.types.size()) != n)) {
        records = saved;
        return ErrorCode::kInvalidRequest;
      }
      if (b.last_offset < start) continue;
      if (records.empty()) {
        records = saved;
        return ErrorCode::kInvalidRecordState;
      }
      const int64_t from = std::max(b.first_offset, start);
      if (from > next_new - 1 || b.last_offset > next_new - 1) {
        records = saved;
        return ErrorCode::kInvalidRequest;
      }
      for (int64_t o = from; o <= b.last_offset; ++o) {
        auto it = records.find(o);
        if (it == records.end()) continue;
        ModelRecord& r = it->second;
        if (r.state != RecordState::kAcquired || r.member != m) {
          records = saved;
          return ErrorCode::kInvalidRecordState;
        }
        const AckType t =
            b.types.size() == 1 ? b.types[0] : b.types[static_cast<size_t>(o - b.first_offset)];
        switch (t) {
          case AckType::kAccept:
            r.state = RecordState::kAcknowledged;
            r.member.clear();
            break;
          case AckType::kRelease:
            release(o, r);
            break;
          case AckType::kRenew:
            r.lock_until = now + milliseconds(options.record_lock_duration_ms);
            break;
          default:
            r.state = RecordState::kArchived;
            r.member.clear();
        }
      }
    }
    advance();
    return ErrorCode::kNone;
  }
  void expire(Clock::time_point now) {
    for (auto& [o, r] : records)
      if (r.state == RecordState::kAcquired && r.lock_until <= now) release(o, r);
    advance();
  }
  void release_member(const std::string& m) {
    for (auto& [o, r] : records)
      if (r.state == RecordState::kAcquired && r.member == m) release(o, r);
    advance();
  }
  void restart() {
    for (auto it = records.begin(); it != records.end();) {
      if (it->first < start) {
        it = records.erase(it);
        continue;
      }
      if (it->second.state == RecordState::kAcquired) release(it->first, it->second);
      ++it;
    }
    advance();
  }
  std::map<int64_t, std::pair<RecordState, int16_t>> states() const {
    std::map<int64_t, std::pair<RecordState, int16_t>> out;
    for (const auto& [o, r] : records)
      if (o >= start) out[o] = {r.state, r.count};
    return out;
  }
};

std::map<int64_t, std::pair<RecordState, int16_t>> expand(const std::vector<StateBatch>& bs) {
  std::map<int64_t, std::pair<RecordState, int16_t>> out;
  for (const auto& b : bs)
    for (int64_t o = b.first_offset; o <= b.last_offset; ++o) out[o] = {b.state, b.delivery_count};
  return out;
}

std::map<int64_t, int16_t> expand(const std::vector<AcquiredRange>& rs) {
  std::map<int64_t, int16_t> out;
  for (const auto& r : rs)
    for (int64_t o = r.first_offset; o <= r.last_offset; ++o) out[o] = r.delivery_count;
  return out;
}

TEST(SharePartitionModel, RandomOperationsAgreeWithThePerRecordModel) {
  const SharePartitionOptions options = small_options();
  // The log: batches of 1 to 5 records from offset 0.
  std::mt19937 rng(932);
  std::vector<LogBatchSpan> log;
  for (int64_t o = 0; o < 400;) {
    const int64_t n = 1 + static_cast<int64_t>(rng() % 5);
    log.push_back({o, o + n - 1});
    o += n;
  }
  const std::vector<std::string> members = {"a", "b", "c"};

  for (int round = 0; round < 40; ++round) {
    SharePartition p(options, 0);
    Model m{options, 0, 0, {}};
    Clock::time_point now = kT0;
    // What each member was last given, to acknowledge from.
    std::map<std::string, std::vector<AcquiredRange>> held;
    for (int step = 0; step < 300; ++step) {
      SCOPED_TRACE(testing::Message() << "round " << round << " step " << step);
      const std::string& member = members[rng() % members.size()];
      switch (rng() % 7) {
        case 0:
        case 1: {  // fetch: up to three batches from the next fetch offset
          const int64_t at = p.next_fetch_offset();
          ASSERT_EQ(at, m.next_fetch());
          auto first = std::find_if(log.begin(), log.end(),
                                    [&](const LogBatchSpan& b) { return b.last_offset >= at; });
          if (first == log.end()) break;
          auto last = first + std::min<std::ptrdiff_t>(1 + rng() % 3, log.end() - first);
          std::vector<LogBatchSpan> read(first, last);
          auto got = p.acquire(member, read, 1 << 30, now);
          auto want = m.acquire(member, read.front().base_offset, read.back().last_offset, now);
          ASSERT_EQ(expand(got), want);
          auto& h = held[member];
          h.insert(h.end(), got.begin(), got.end());
          break;
        }
        case 2:
        case 3: {  // acknowledge part of what the member was given
          auto& h = held[member];
          if (h.empty()) break;
          const AcquiredRange r = h[rng() % h.size()];
          const int64_t first = r.first_offset + static_cast<int64_t>(rng() % 2);
          const int64_t last = std::max(first, r.last_offset - static_cast<int64_t>(rng() % 2));
          AckBatch b{first, last, {}};
          if (rng() % 2 == 0) {
            b.types.push_back(static_cast<AckType>(rng() % 4));
          } else {
            for (int64_t o = first; o <= last; ++o)
              b.types.push_back(static_cast<AckType>(rng() % 4));
          }
          std::vector<AckBatch> acks = {b};
          ASSERT_EQ(p.acknowledge(member, acks, now), m.acknowledge(member, acks, now));
          break;
        }
        case 4:
          now += milliseconds(rng() % 600);
          ASSERT_EQ(p.next_lock_deadline().has_value(), p.acquired_count() > 0);
          p.expire_locks(now);
          m.expire(now);
          break;
        case 5:
          if (rng() % 4 == 0) {
            p.release_member(member);
            m.release_member(member);
            held[member].clear();
          }
          break;
        case 6:
          if (rng() % 8 == 0) {  // restart from the persisted state
            p = SharePartition(options, p.start_offset(), p.state_batches());
            m.restart();
            held.clear();
          }
          break;
      }
      ASSERT_EQ(p.start_offset(), m.start);
      ASSERT_EQ(expand(p.state_batches()), m.states());
    }
  }
}

}  // namespace
}  // namespace kb::share
