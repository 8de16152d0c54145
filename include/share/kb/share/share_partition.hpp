#pragma once

// One share-partition: what a share group (KIP-932) has delivered of one
// topic partition. Records from the start offset on are "in flight": each is
// AVAILABLE, ACQUIRED by one member under a time-limited lock, ACKNOWLEDGED or
// ARCHIVED, with the number of times it was delivered. Records before the
// start offset are done. Kept by fetched span ("batch") while all of a span's
// records are in one state, and per record once they part.
//
// Nothing here reads the log or the clock: callers pass the batches they read
// and the time, so the machine is tested on its own and the loop drives the
// locks' expiry (next_lock_deadline / expire_locks).

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kb/protocol/error_code.hpp"

namespace kb::share {

using Clock = std::chrono::steady_clock;

// Kafka's numbers for the states (the persisted delivery state uses them).
enum class RecordState : int8_t {
  kAvailable = 0,
  kAcquired = 1,
  kAcknowledged = 2,
  kArchived = 4,
};

// What a client may say of a delivered record (ShareFetch/ShareAcknowledge).
enum class AckType : int8_t {
  kGap = 0,
  kAccept = 1,
  kRelease = 2,
  kReject = 3,
  kRenew = 4,
};

// Kafka's broker defaults for share groups.
struct SharePartitionOptions {
  int32_t delivery_count_limit = 5;         // group.share.delivery.count.limit
  int32_t record_lock_duration_ms = 30000;  // group.share.record.lock.duration.ms
  int32_t max_record_locks = 2000;          // group.share.partition.max.record.locks
};

// Where a batch read from the log starts and ends (inclusive): acquisitions
// end at a batch's end, since the client gets whole batches anyway.
struct LogBatchSpan {
  int64_t base_offset = 0;
  int64_t last_offset = 0;
};

// Records handed to a member: ShareFetch's AcquiredRecords.
struct AcquiredRange {
  int64_t first_offset = 0;
  int64_t last_offset = 0;
  int16_t delivery_count = 0;
  bool operator==(const AcquiredRange&) const = default;
};

// One acknowledgement: a type for the whole range, or one per record.
struct AckBatch {
  int64_t first_offset = 0;
  int64_t last_offset = 0;
  std::vector<AckType> types;
};

// A run of in-flight records in one state, as the share coordinator keeps
// them (ShareSnapshot/ShareUpdate state batches).
struct StateBatch {
  int64_t first_offset = 0;
  int64_t last_offset = 0;
  RecordState state = RecordState::kAvailable;
  int16_t delivery_count = 0;
  bool operator==(const StateBatch&) const = default;
};

class SharePartition {
 public:
  // A partition whose state starts at `start_offset` with nothing in flight.
  SharePartition(SharePartitionOptions options, int64_t start_offset);
  // A partition restored from its persisted state: what was ACQUIRED comes
  // back AVAILABLE (the locks died with the broker), delivery counts kept.
  SharePartition(SharePartitionOptions options, int64_t start_offset,
                 std::span<const StateBatch> batches);

  const SharePartitionOptions& options() const { return options_; }
  void set_options(const SharePartitionOptions& options) { options_ = options; }

  // The first offset not yet done.
  int64_t start_offset() const { return start_offset_; }
  // The last offset in flight (the start offset when none is).
  int64_t end_offset() const;
  // Where the next read of the log should start: the first AVAILABLE record
  // in flight, or the first offset past them.
  int64_t next_fetch_offset() const;
  // Whether a fetch could acquire anything: records in flight are available
  // again, or fewer than max_record_locks are in flight.
  bool can_acquire() const;

  // Acquires for `member` what is AVAILABLE or new among the records of
  // `batches` (read from the log at next_fetch_offset(), in order), about
  // `max_records` of them (a soft limit: acquisitions end at a batch's end).
  // New records are limited by max_record_locks. Each range's lock expires
  // at now + record_lock_duration_ms.
  std::vector<AcquiredRange> acquire(std::string_view member, std::span<const LogBatchSpan> batches,
                                     int32_t max_records, Clock::time_point now);

  // Applies `member`'s acknowledgements, all or none: INVALID_REQUEST for a
  // malformed one (bad types, offsets past what is in flight),
  // INVALID_RECORD_STATE when a record is not ACQUIRED by `member`.
  protocol::ErrorCode acknowledge(std::string_view member, std::span<const AckBatch> batches,
                                  Clock::time_point now);

  // What `member` holds goes back (its session closed or it left the group).
  void release_member(std::string_view member);

  // When the earliest lock expires, if any record is ACQUIRED.
  std::optional<Clock::time_point> next_lock_deadline() const;
  // Expired locks release their records (AVAILABLE, or ARCHIVED at the
  // delivery limit); returns how many records were released.
  size_t expire_locks(Clock::time_point now);

  // The log's start offset moved past records (retention, DeleteRecords):
  // records before it that no one holds are archived and the start offset
  // moves up to it.
  void on_log_start_offset(int64_t log_start_offset);

  // Marks records done without delivering them (aborted transactions'
  // records under read_committed, which no consumer should see).
  void archive(int64_t first_offset, int64_t last_offset);

  // Everything in flight from the start offset on, as runs of one state and
  // delivery count (what the share coordinator stores).
  std::vector<StateBatch> state_batches() const;

  // How many records are ACQUIRED now.
  size_t acquired_count() const;
  // How many records from the start offset on are done (ACKNOWLEDGED or
  // ARCHIVED): Kafka's delivery-complete count, which a lag leaves out.
  int64_t done_count() const;

 private:
  struct RecordInfo {
    RecordState state = RecordState::kAvailable;
    int16_t delivery_count = 0;
    std::string member;
    std::optional<Clock::time_point> lock_until;
  };
  // A fetched span: one RecordInfo for all while they agree (`per_record`
  // empty), else one per offset.
  struct InFlight {
    int64_t first_offset = 0;
    int64_t last_offset = 0;
    RecordInfo whole;
    std::vector<RecordInfo> per_record;

    bool split() const { return !per_record.empty(); }
    void make_split() {
      if (!split()) per_record.assign(static_cast<size_t>(last_offset - first_offset + 1), whole);
    }
    RecordInfo& at(int64_t offset) {
      return split() ? per_record[static_cast<size_t>(offset - first_offset)] : whole;
    }
    const RecordInfo& at(int64_t offset) const {
      return split() ? per_record[static_cast<size_t>(offset - first_offset)] : whole;
    }
  };

  // AVAILABLE again, or ARCHIVED when delivered delivery_count_limit times
  // (or before the start offset).
  void make_available(RecordInfo& info, int64_t offset) const;
  void apply_ack(RecordInfo& info, int64_t offset, AckType type, Clock::time_point now) const;
  // Moves the start offset past records that are done and drops spans wholly
  // before it.
  void advance_start();
  void acquire_info(RecordInfo& info, std::string_view member, Clock::time_point now) const;

  SharePartitionOptions options_;
  int64_t start_offset_ = 0;
  // The offset after the last one in flight: new records are acquired from
  // here (never below the start offset).
  int64_t next_new_offset_ = 0;
  std::map<int64_t, InFlight> in_flight_;  // by first offset
};

}  // namespace kb::share
