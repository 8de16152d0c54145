#include "kb/share/share_partition.hpp"

#include <algorithm>
#include <utility>

namespace kb::share {

using protocol::ErrorCode;

namespace {

bool done(RecordState s) { return s == RecordState::kAcknowledged || s == RecordState::kArchived; }

void add_range(std::vector<AcquiredRange>& out, int64_t first, int64_t last, int16_t count) {
  // Neighbours with the same delivery count read as one range.
  if (!out.empty() && out.back().last_offset + 1 == first && out.back().delivery_count == count) {
    out.back().last_offset = last;
    return;
  }
  out.push_back({first, last, count});
}

}  // namespace

SharePartition::SharePartition(SharePartitionOptions options, int64_t start_offset)
    : options_(options), start_offset_(start_offset), next_new_offset_(start_offset) {}

SharePartition::SharePartition(SharePartitionOptions options, int64_t start_offset,
                               std::span<const StateBatch> batches)
    : SharePartition(options, start_offset) {
  for (const StateBatch& b : batches) {
    const int64_t first = std::max(b.first_offset, start_offset_);
    if (b.last_offset < first) continue;
    if (!in_flight_.empty() && first <= in_flight_.rbegin()->second.last_offset) continue;
    InFlight span;
    span.first_offset = first;
    span.last_offset = b.last_offset;
    span.whole.state = b.state;
    span.whole.delivery_count = b.delivery_count;
    // The locks did not outlive the broker that held them.
    if (b.state == RecordState::kAcquired) make_available(span.whole, first);
    next_new_offset_ = std::max(next_new_offset_, b.last_offset + 1);
    in_flight_.emplace(first, std::move(span));
  }
  advance_start();
}

int64_t SharePartition::end_offset() const {
  return in_flight_.empty() ? start_offset_ : next_new_offset_ - 1;
}

int64_t SharePartition::next_fetch_offset() const {
  for (const auto& [first, span] : in_flight_) {
    if (span.last_offset < start_offset_) continue;
    if (!span.split()) {
      if (span.whole.state == RecordState::kAvailable) return std::max(first, start_offset_);
      continue;
    }
    for (int64_t o = std::max(first, start_offset_); o <= span.last_offset; ++o)
      if (span.at(o).state == RecordState::kAvailable) return o;
  }
  return next_new_offset_;
}

bool SharePartition::can_acquire() const {
  if (next_fetch_offset() < next_new_offset_) return true;
  return next_new_offset_ - start_offset_ < options_.max_record_locks;
}

void SharePartition::acquire_info(RecordInfo& info, std::string_view member,
                                  Clock::time_point now) const {
  info.state = RecordState::kAcquired;
  if (info.delivery_count < INT16_MAX) ++info.delivery_count;
  info.member = std::string(member);
  info.lock_until = now + std::chrono::milliseconds(options_.record_lock_duration_ms);
}

std::vector<AcquiredRange> SharePartition::acquire(std::string_view member,
                                                   std::span<const LogBatchSpan> batches,
                                                   int32_t max_records, Clock::time_point now) {
  std::vector<AcquiredRange> out;
  if (max_records <= 0 || batches.empty()) return out;
  const int64_t req_first = batches.front().base_offset;
  const int64_t req_last = batches.back().last_offset;
  if (req_last < req_first) return out;
  int64_t acquired = 0;

  // Records already in flight that are AVAILABLE again.
  auto it = in_flight_.upper_bound(req_first);
  if (it != in_flight_.begin() && std::prev(it)->second.last_offset >= req_first) --it;
  for (; it != in_flight_.end() && it->first <= req_last && acquired < max_records; ++it) {
    InFlight& span = it->second;
    if (span.last_offset < start_offset_) continue;
    const bool whole_span = span.first_offset >= req_first && span.last_offset <= req_last &&
                            span.first_offset >= start_offset_;
    if (!span.split() && whole_span) {
      if (span.whole.state != RecordState::kAvailable) continue;
      acquire_info(span.whole, member, now);
      add_range(out, span.first_offset, span.last_offset, span.whole.delivery_count);
      acquired += span.last_offset - span.first_offset + 1;
      continue;
    }
    // Part of the span: only worth splitting when it is available at all.
    if (!span.split() && span.whole.state != RecordState::kAvailable) continue;
    span.make_split();
    // The whole of the read part is taken: the client gets those batches anyway.
    const int64_t from = std::max({span.first_offset, req_first, start_offset_});
    const int64_t to = std::min(span.last_offset, req_last);
    for (int64_t o = from; o <= to; ++o) {
      RecordInfo& info = span.at(o);
      if (info.state != RecordState::kAvailable) continue;
      acquire_info(info, member, now);
      add_range(out, o, o, info.delivery_count);
      ++acquired;
    }
  }

  // Records never delivered before.
  const int64_t new_first = std::max({next_new_offset_, req_first, start_offset_});
  if (acquired >= max_records || new_first > req_last) return out;
  const int64_t room =
      static_cast<int64_t>(options_.max_record_locks) - (next_new_offset_ - start_offset_);
  if (room <= 0) return out;
  const int64_t want = std::min<int64_t>(max_records - acquired, room);
  int64_t new_last = req_last;
  if (new_first + want - 1 < req_last) {
    // The limit is soft: the acquisition ends where the batch holding the
    // limit's last record ends.
    new_last = new_first + want - 1;
    for (const LogBatchSpan& b : batches) {
      if (b.base_offset <= new_last && new_last <= b.last_offset) {
        new_last = b.last_offset;
        break;
      }
    }
  }
  InFlight span;
  span.first_offset = new_first;
  span.last_offset = new_last;
  acquire_info(span.whole, member, now);
  add_range(out, new_first, new_last, span.whole.delivery_count);
  // Nothing in flight: the state starts at the first record there is.
  if (in_flight_.empty()) start_offset_ = new_first;
  next_new_offset_ = new_last + 1;
  in_flight_.emplace(new_first, std::move(span));
  return out;
}

void SharePartition::make_available(RecordInfo& info, int64_t offset) const {
  info.member.clear();
  info.lock_until.reset();
  info.state = offset < start_offset_ || info.delivery_count >= options_.delivery_count_limit
                   ? RecordState::kArchived
                   : RecordState::kAvailable;
}

void SharePartition::apply_ack(RecordInfo& info, int64_t offset, AckType type,
                               Clock::time_point now) const {
  switch (type) {
    case AckType::kAccept:
      info.state = RecordState::kAcknowledged;
      break;
    case AckType::kRelease:
      make_available(info, offset);
      return;
    case AckType::kReject:
    case AckType::kGap:
      info.state = RecordState::kArchived;
      break;
    case AckType::kRenew:
      // Still the member's, under a new lock.
      info.lock_until = now + std::chrono::milliseconds(options_.record_lock_duration_ms);
      return;
  }
  info.member.clear();
  info.lock_until.reset();
}

ErrorCode SharePartition::acknowledge(std::string_view member, std::span<const AckBatch> batches,
                                      Clock::time_point now) {
  // The spans as they were, put back if any acknowledgement fails.
  std::vector<std::pair<int64_t, InFlight>> saved;
  auto touch = [&](int64_t key, const InFlight& span) {
    for (const auto& s : saved)
      if (s.first == key) return;
    saved.emplace_back(key, span);
  };
  auto fail = [&](ErrorCode error) {
    for (auto& [key, span] : saved) in_flight_[key] = std::move(span);
    return error;
  };

  for (const AckBatch& batch : batches) {
    const int64_t length = batch.last_offset - batch.first_offset + 1;
    if (batch.first_offset > batch.last_offset || batch.types.empty() ||
        (batch.types.size() != 1 && static_cast<int64_t>(batch.types.size()) != length))
      return fail(ErrorCode::kInvalidRequest);
    for (AckType t : batch.types)
      if (static_cast<int8_t>(t) < 0 || static_cast<int8_t>(t) > 4)
        return fail(ErrorCode::kInvalidRequest);
    // Already done: nothing to say about them.
    if (batch.last_offset < start_offset_) continue;
    if (in_flight_.empty()) return fail(ErrorCode::kInvalidRecordState);
    const int64_t from = std::max(batch.first_offset, start_offset_);
    if (from < in_flight_.begin()->first) return fail(ErrorCode::kInvalidRecordState);
    const int64_t last_known = in_flight_.rbegin()->second.last_offset;
    if (from > last_known || batch.last_offset > last_known)
      return fail(ErrorCode::kInvalidRequest);

    auto it = in_flight_.upper_bound(from);
    if (it != in_flight_.begin()) --it;
    for (; it != in_flight_.end() && it->first <= batch.last_offset; ++it) {
      InFlight& span = it->second;
      if (span.last_offset < from) continue;
      const int64_t lo = std::max(span.first_offset, from);
      const int64_t hi = std::min(span.last_offset, batch.last_offset);
      auto type_of = [&](int64_t o) {
        return batch.types.size() == 1 ? batch.types[0]
                                       : batch.types[static_cast<size_t>(o - batch.first_offset)];
      };
      if (!span.split()) {
        if (span.whole.state != RecordState::kAcquired || span.whole.member != member)
          return fail(ErrorCode::kInvalidRecordState);
        touch(it->first, span);
        if (lo == span.first_offset && hi == span.last_offset && batch.types.size() == 1) {
          apply_ack(span.whole, span.first_offset, batch.types[0], now);
          continue;
        }
        span.make_split();
      } else {
        touch(it->first, span);
      }
      for (int64_t o = lo; o <= hi; ++o) {
        RecordInfo& info = span.at(o);
        if (info.state != RecordState::kAcquired || info.member != member)
          return fail(ErrorCode::kInvalidRecordState);
        apply_ack(info, o, type_of(o), now);
      }
    }
  }
  advance_start();
  return ErrorCode::kNone;
}

void SharePartition::release_member(std::string_view member) {
  for (auto& [first, span] : in_flight_) {
    if (!span.split()) {
      if (span.whole.state == RecordState::kAcquired && span.whole.member == member)
        make_available(span.whole, span.first_offset);
      continue;
    }
    for (int64_t o = span.first_offset; o <= span.last_offset; ++o) {
      RecordInfo& info = span.at(o);
      if (info.state == RecordState::kAcquired && info.member == member) make_available(info, o);
    }
  }
  advance_start();
}

std::optional<Clock::time_point> SharePartition::next_lock_deadline() const {
  std::optional<Clock::time_point> earliest;
  auto consider = [&](const RecordInfo& info) {
    if (info.state == RecordState::kAcquired && info.lock_until &&
        (!earliest || *info.lock_until < *earliest))
      earliest = info.lock_until;
  };
  for (const auto& [first, span] : in_flight_) {
    if (!span.split()) {
      consider(span.whole);
      continue;
    }
    for (const RecordInfo& info : span.per_record) consider(info);
  }
  return earliest;
}

size_t SharePartition::expire_locks(Clock::time_point now) {
  size_t released = 0;
  auto expired = [&](const RecordInfo& info) {
    return info.state == RecordState::kAcquired && info.lock_until && *info.lock_until <= now;
  };
  for (auto& [first, span] : in_flight_) {
    if (!span.split()) {
      if (expired(span.whole)) {
        make_available(span.whole, span.first_offset);
        released += static_cast<size_t>(span.last_offset - span.first_offset + 1);
      }
      continue;
    }
    for (int64_t o = span.first_offset; o <= span.last_offset; ++o) {
      if (!expired(span.at(o))) continue;
      make_available(span.at(o), o);
      ++released;
    }
  }
  if (released > 0) advance_start();
  return released;
}

void SharePartition::on_log_start_offset(int64_t log_start_offset) {
  if (log_start_offset <= start_offset_) return;
  for (auto& [first, span] : in_flight_) {
    if (first >= log_start_offset) break;
    // A span the new start cuts through is kept per record from now on.
    if (span.last_offset >= log_start_offset) span.make_split();
    const int64_t to = std::min(span.last_offset, log_start_offset - 1);
    if (!span.split()) {
      if (span.whole.state == RecordState::kAvailable) span.whole.state = RecordState::kArchived;
      continue;
    }
    for (int64_t o = span.first_offset; o <= to; ++o)
      if (span.at(o).state == RecordState::kAvailable) span.at(o).state = RecordState::kArchived;
  }
  start_offset_ = log_start_offset;
  next_new_offset_ = std::max(next_new_offset_, start_offset_);
  advance_start();
}

void SharePartition::archive(int64_t first_offset, int64_t last_offset) {
  for (auto& [first, span] : in_flight_) {
    if (first > last_offset) break;
    if (span.last_offset < first_offset) continue;
    if (span.first_offset >= first_offset && span.last_offset <= last_offset && !span.split()) {
      span.whole = RecordInfo{RecordState::kArchived, span.whole.delivery_count, {}, {}};
      continue;
    }
    span.make_split();
    for (int64_t o = std::max(first_offset, span.first_offset);
         o <= std::min(last_offset, span.last_offset); ++o)
      span.at(o) = RecordInfo{RecordState::kArchived, span.at(o).delivery_count, {}, {}};
  }
  advance_start();
}

void SharePartition::advance_start() {
  // The first record from the start offset on that is not done; offsets no
  // span holds (gaps in the log) count as done.
  int64_t new_start = next_new_offset_;
  for (const auto& [first, span] : in_flight_) {
    if (span.last_offset < start_offset_) continue;
    if (!span.split()) {
      if (!done(span.whole.state)) {
        new_start = std::max(first, start_offset_);
        break;
      }
      continue;
    }
    bool found = false;
    for (int64_t o = std::max(first, start_offset_); o <= span.last_offset; ++o) {
      if (!done(span.at(o).state)) {
        new_start = o;
        found = true;
        break;
      }
    }
    if (found) break;
  }
  start_offset_ = std::max(start_offset_, new_start);
  next_new_offset_ = std::max(next_new_offset_, start_offset_);

  // Spans wholly before the start go once no member holds any of their
  // records (one the log start offset passed may still be acquired).
  while (!in_flight_.empty()) {
    const InFlight& span = in_flight_.begin()->second;
    if (span.last_offset >= start_offset_) break;
    const bool held =
        span.split()
            ? std::any_of(span.per_record.begin(), span.per_record.end(),
                          [](const RecordInfo& i) { return i.state == RecordState::kAcquired; })
            : span.whole.state == RecordState::kAcquired;
    if (held) break;
    in_flight_.erase(in_flight_.begin());
  }
}

std::vector<StateBatch> SharePartition::state_batches() const {
  std::vector<StateBatch> out;
  auto add = [&](int64_t o, const RecordInfo& info, int64_t last) {
    if (!out.empty() && out.back().last_offset + 1 == o && out.back().state == info.state &&
        out.back().delivery_count == info.delivery_count) {
      out.back().last_offset = last;
      return;
    }
    out.push_back({o, last, info.state, info.delivery_count});
  };
  for (const auto& [first, span] : in_flight_) {
    if (span.last_offset < start_offset_) continue;
    const int64_t from = std::max(first, start_offset_);
    if (!span.split()) {
      add(from, span.whole, span.last_offset);
      continue;
    }
    for (int64_t o = from; o <= span.last_offset; ++o) add(o, span.at(o), o);
  }
  return out;
}

int64_t SharePartition::done_count() const {
  int64_t n = 0;
  for (const StateBatch& b : state_batches())
    if (done(b.state)) n += b.last_offset - b.first_offset + 1;
  return n;
}

size_t SharePartition::acquired_count() const {
  size_t n = 0;
  for (const auto& [first, span] : in_flight_) {
    if (!span.split()) {
      if (span.whole.state == RecordState::kAcquired)
        n += static_cast<size_t>(span.last_offset - span.first_offset + 1);
      continue;
    }
    for (const RecordInfo& info : span.per_record)
      if (info.state == RecordState::kAcquired) ++n;
  }
  return n;
}

}  // namespace kb::share
