#include "kb/storage/disk_space.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

namespace kb::storage {

namespace {

constexpr uint64_t kBlock = 4096;

uint64_t round_up_to_block(uint64_t n) { return (n + kBlock - 1) / kBlock * kBlock; }

int64_t steady_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

// ---- WriteRate ----

void WriteRate::advance(int64_t now_ms) {
  if (window_start_ms_ == std::numeric_limits<int64_t>::min()) {
    window_start_ms_ = now_ms;
    return;
  }
  const int64_t elapsed = now_ms - window_start_ms_;
  if (elapsed >= 2 * kWindowMs) {
    previous_ = current_ = 0;
    window_start_ms_ = now_ms;
  } else if (elapsed >= kWindowMs) {
    previous_ = current_;
    current_ = 0;
    window_start_ms_ += kWindowMs;
  }
}

void WriteRate::add(uint64_t bytes, int64_t now_ms) {
  advance(now_ms);
  current_ += bytes;
  last_ms_ = now_ms;
}

uint64_t WriteRate::recent(int64_t now_ms) const {
  if (window_start_ms_ == std::numeric_limits<int64_t>::min()) return 0;
  const int64_t elapsed = now_ms - window_start_ms_;
  if (elapsed >= 2 * kWindowMs) return 0;
  if (elapsed >= kWindowMs) return current_;
  return current_ + previous_;
}

// ---- the policy ----

std::optional<ReservationPlan> plan_reservation(const ReservationRequest& r) {
  if (r.max_ahead == 0 || r.needed_end <= r.reserved_end) return std::nullopt;
  ReservationPlan plan;
  plan.from = std::max(r.reserved_end, r.size);
  plan.needed_end = round_up_to_block(r.needed_end);
  const uint64_t ahead = std::min(r.max_ahead, r.recent_bytes);
  const uint64_t limit = std::max(plan.needed_end, round_up_to_block(r.segment_bytes));
  plan.end = std::clamp(round_up_to_block(r.needed_end + ahead), plan.needed_end, limit);
  return plan;
}

// ---- DiskSpace ----

DiskSpace::DiskSpace(const std::filesystem::path& dir) : DiskSpace(dir, Options{}) {}

DiskSpace::DiskSpace(const std::filesystem::path& dir, Options options)
    : DiskSpace(
          [dir]() -> std::optional<uint64_t> {
            struct statvfs st {};
            if (::statvfs(dir.c_str(), &st) != 0) return std::nullopt;
            return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
          },
          steady_now_ms, options) {}

DiskSpace::DiskSpace(FreeBytes free_bytes, NowMs now_ms, Options options)
    : free_bytes_(std::move(free_bytes)), now_ms_(std::move(now_ms)), options_(options) {}

void DiskSpace::refresh_if_due() {
  const int64_t now = now_ms_();
  constexpr uint64_t kMinChange = uint64_t{64} * 1024;
  const bool due = measurements_ == 0 || now - measured_ms_ >= options_.refresh_ms ||
                   changed_since_ >= std::max(kMinChange, base_.value_or(0) / 32);
  if (!due) return;
  const std::optional<uint64_t> free = free_bytes_();
  base_ = free ? std::optional<uint64_t>(*free + reserved_) : std::nullopt;
  changed_since_ = 0;
  measured_ms_ = now;
  ++measurements_;
}

uint64_t DiskSpace::grantable(uint64_t wanted) {
  refresh_if_due();
  if (!base_) return wanted;
  const uint64_t cap = *base_ / 100 * options_.max_percent;
  if (reserved_ >= cap) return 0;
  return std::min(wanted, cap - reserved_);
}

void DiskSpace::add_reserved(int64_t delta) {
  if (delta >= 0) {
    reserved_ += static_cast<uint64_t>(delta);
    changed_since_ += static_cast<uint64_t>(delta);
  } else {
    reserved_ -= std::min(reserved_, static_cast<uint64_t>(-delta));
  }
}

void DiskSpace::note_written(uint64_t bytes) {
  changed_since_ += bytes;
  // What was written is no longer free: the next measurement sees it.
  if (base_) *base_ -= std::min(*base_, bytes);
}

// ---- SegmentReservation ----

SegmentReservation::~SegmentReservation() {
  if (disk_ != nullptr && counted_ > 0) disk_->add_reserved(-static_cast<int64_t>(counted_));
}

// The block the data ends in is the data's, not reserved ahead.
void SegmentReservation::recount(uint64_t size) {
  const uint64_t used = round_up_to_block(size);
  const uint64_t now = end_ > used ? end_ - used : 0;
  if (disk_ != nullptr && now != counted_)
    disk_->add_reserved(static_cast<int64_t>(now) - static_cast<int64_t>(counted_));
  counted_ = now;
}

SegmentReservation::Outcome SegmentReservation::reserve(int fd, const ReservationRequest& request) {
  const std::optional<ReservationPlan> plan = plan_reservation(request);
  if (!plan) return Outcome::unchanged;
  uint64_t end = plan->needed_end;
  if (plan->end > plan->needed_end)
    end += disk_ != nullptr ? disk_->grantable(plan->end - plan->needed_end)
                            : plan->end - plan->needed_end;
  if (end <= plan->from) return Outcome::unchanged;
  auto allocate = [&](uint64_t to) {
    return ::fallocate(fd, FALLOC_FL_KEEP_SIZE, static_cast<off_t>(plan->from),
                       static_cast<off_t>(to - plan->from)) == 0;
  };
  bool done = allocate(end);
  if (!done && errno != EOPNOTSUPP && errno != ENOSYS && end > plan->needed_end &&
      plan->needed_end > plan->from) {
    // No room for the reservation ahead: the append's own bytes, then.
    end = plan->needed_end;
    done = allocate(end);
  }
  if (!done) {
    const int error = errno;
    spdlog::debug("no space reserved ({}); the append allocates as it writes",
                  std::strerror(error));
    return error == EOPNOTSUPP || error == ENOSYS ? Outcome::unsupported : Outcome::refused;
  }
  end_ = end;
  recount(request.size);
  return Outcome::reserved;
}

void SegmentReservation::filled(uint64_t size) { recount(size); }

bool SegmentReservation::release(const std::filesystem::path& path, uint64_t size) {
  if (!holds_space_past(size)) {
    recount(size);
    return true;
  }
  int result;
  do {
    result = ::truncate(path.c_str(), static_cast<off_t>(size));
  } while (result != 0 && errno == EINTR);
  if (result != 0) {
    spdlog::warn("{}: cannot give back the space reserved past its end: {}", path.string(),
                 std::strerror(errno));
    return false;
  }
  end_ = size;
  recount(size);
  return true;
}

bool trim_space_past_end(int fd, uint64_t size) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return false;
  const uint64_t allocated = static_cast<uint64_t>(st.st_blocks) * 512;
  const uint64_t block = std::max<uint64_t>(kBlock, static_cast<uint64_t>(st.st_blksize));
  if (allocated <= (size + block - 1) / block * block) return true;
  return ::ftruncate(fd, static_cast<off_t>(size)) == 0;
}

}  // namespace kb::storage
