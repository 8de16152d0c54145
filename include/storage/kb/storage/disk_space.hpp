#pragma once

// Disk space reserved ahead of the active segments' data (fallocate with
// FALLOC_FL_KEEP_SIZE: a file keeps the size of its batches, so it stays
// Kafka's). A reservation lets an append write without allocating blocks as
// it goes, and lets appends wait to be written together (a deferred write
// into reserved space cannot fail for want of room). It follows the
// partition's write rate (about a second of its appends ahead, so a quiet
// partition reserves a block, a busy one up to kb.log.segment.preallocate.bytes),
// stays within a fraction of the free space of the log directory (all
// partitions together), and is given back when the segment rolls, when the
// partition goes quiet, at shutdown, and at start-up (space past the last
// batch).

#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <optional>

namespace kb::storage {

// Bytes appended to one partition lately: those of this second and of the
// one before (two fixed one-second windows: no division, no float).
class WriteRate {
 public:
  static constexpr int64_t kWindowMs = 1000;
  void add(uint64_t bytes, int64_t now_ms);
  // Bytes appended in the current and the previous window.
  uint64_t recent(int64_t now_ms) const;
  // When the last append was; nullopt when none was.
  std::optional<int64_t> last_append_ms() const { return last_ms_; }

 private:
  void advance(int64_t now_ms);
  int64_t window_start_ms_ = std::numeric_limits<int64_t>::min();
  uint64_t current_ = 0;
  uint64_t previous_ = 0;
  std::optional<int64_t> last_ms_;
};

// What a reservation for one append should cover.
struct ReservationRequest {
  uint64_t size = 0;           // bytes of batches in the segment
  uint64_t reserved_end = 0;   // the file has space reserved up to here already
  uint64_t needed_end = 0;     // the append about to be written ends here
  uint64_t recent_bytes = 0;   // WriteRate::recent, this append included
  uint64_t max_ahead = 0;      // kb.log.segment.preallocate.bytes (0: no reservation)
  uint64_t segment_bytes = 0;  // the segment is rolled past this size
};

// [from, needed_end) is what the append writes (reserved whatever the free
// space: it is about to be used); [needed_end, end) is the reservation ahead,
// which the free space may cut (DiskSpace::grantable).
struct ReservationPlan {
  uint64_t from = 0;
  uint64_t needed_end = 0;
  uint64_t end = 0;
};
// nullopt when nothing is to be reserved (there is room already, or
// reservations are off). Ahead of the append: as many bytes as the partition
// appended lately, at most max_ahead, never past segment_bytes; ends are
// rounded up to whole 4 KiB blocks.
std::optional<ReservationPlan> plan_reservation(const ReservationRequest& request);

// The log directory's reservations together, kept within a fraction of its
// free space. The free space is measured (statvfs) at most once a second, and
// again sooner once what was written or reserved since could have changed it
// by a few percent.
class DiskSpace {
 public:
  struct Options {
    // All reservations together stay within this share of the space that
    // would be free without them.
    uint32_t max_percent = 10;
    int64_t refresh_ms = 1000;
  };
  // Free bytes for unprivileged writers, nullopt when unknown.
  using FreeBytes = std::function<std::optional<uint64_t>()>;
  using NowMs = std::function<int64_t()>;

  // The file system of `dir` (statvfs), the steady clock.
  explicit DiskSpace(const std::filesystem::path& dir);
  DiskSpace(const std::filesystem::path& dir, Options options);
  DiskSpace(FreeBytes free_bytes, NowMs now_ms, Options options);

  // How much of `wanted` bytes ahead may be reserved now (0 .. wanted). With
  // the free space unknown, all of it.
  uint64_t grantable(uint64_t wanted);
  // Reserved space changed by `delta` bytes (negative: given back, or filled
  // by appends).
  void add_reserved(int64_t delta);
  // Bytes appended (they take free space).
  void note_written(uint64_t bytes);
  uint64_t reserved() const { return reserved_; }
  size_t measurements() const { return measurements_; }

 private:
  void refresh_if_due();

  FreeBytes free_bytes_;
  NowMs now_ms_;
  Options options_;
  std::optional<uint64_t> base_;  // free + reserved when measured: the space data could use
  uint64_t reserved_ = 0;
  uint64_t changed_since_ = 0;  // bytes written or reserved since the measurement
  int64_t measured_ms_ = 0;
  size_t measurements_ = 0;
};

// The space reserved past one active segment's data, counted in a DiskSpace
// (or in none).
class SegmentReservation {
 public:
  explicit SegmentReservation(DiskSpace* disk) : disk_(disk) {}
  ~SegmentReservation();
  SegmentReservation(const SegmentReservation&) = delete;
  SegmentReservation& operator=(const SegmentReservation&) = delete;

  // Space is reserved up to here.
  uint64_t end() const { return end_; }

  enum class Outcome : uint8_t { reserved, unchanged, refused, unsupported };
  // Reserves by plan_reservation(request) in `fd`'s file. refused: the file
  // system has no room (the append then allocates as it writes, and learns
  // of a real shortage itself); unsupported: no fallocate there (the caller
  // stops trying).
  Outcome reserve(int fd, const ReservationRequest& request);
  // The segment's data grew to `size` (into the reserved space).
  void filled(uint64_t size);
  // Gives back what is reserved past `size`, the file's size: truncating a
  // file to its own size frees its blocks past the end (ext4, xfs, tmpfs),
  // by path, so no descriptor is needed. Returns false when that failed.
  bool release(const std::filesystem::path& path, uint64_t size);
  // Space reserved in the file by someone else (a spare segment made ahead),
  // up to `end`, counted here from now on: the file is empty.
  void adopt(uint64_t end) {
    end_ = end;
    recount(0);
  }
  // The file was truncated to `size`: what was reserved past it is gone.
  void truncated(uint64_t size) {
    end_ = size;
    recount(size);
  }
  // Whether space is reserved past the block holding the data's end.
  bool holds_space_past(uint64_t size) const { return end_ > (size + 4095) / 4096 * 4096; }

 private:
  void recount(uint64_t size);
  DiskSpace* disk_;
  uint64_t end_ = 0;
  uint64_t counted_ = 0;  // what disk_ counts for this segment
};

// Frees the blocks a file has past its size (a reservation a crash left
// behind), when it has such blocks: truncating it to its own size. For
// start-up. Returns false when the truncation failed.
bool trim_space_past_end(int fd, uint64_t size);

}  // namespace kb::storage
