// The parts of compaction that run on the log's owner (log_cleaner.hpp):
// which segments may be cleaned, and swapping cleaned segments in.

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <system_error>

#include "file_io.hpp"
#include "kb/storage/txn_index.hpp"
#include "log_segment.hpp"

namespace kb::storage {

namespace fs = std::filesystem;
using namespace detail;  // suffixes (log_segment.hpp)

Result<CleaningPlan> PartitionLog::cleaning_plan(std::optional<int64_t> checkpoint,
                                                 const CompactionSettings& settings, int64_t now_ms,
                                                 int64_t last_stable_offset, bool with_segments) {
  if (Status written = write_deferred(); !written) return written.error();
  if (damage_) return Error{"not cleaned: " + damage_->describe()};
  CleaningPlan plan;
  plan.dir = dir_;
  plan.name = dir_.filename().string();
  plan.settings = settings;
  if (segments_.empty()) return plan;
  const int64_t start = log_start_offset();
  // A checkpoint outside the log (truncated, or data lost at its end) starts
  // over from the log start, and is rewritten.
  int64_t first_dirty = checkpoint.value_or(start);
  if (first_dirty < start || first_dirty > next_offset_) {
    spdlog::debug("{}: cleaner checkpoint {} outside [{}, {}]: cleaning from the log start",
                  dir_.string(), first_dirty, start, next_offset_);
    first_dirty = start;
    plan.force_checkpoint = true;
  }
  plan.first_dirty_offset = first_dirty;

  // The segment holding `offset` (the first one for offsets below it).
  auto segment_at = [&](int64_t offset) -> size_t {
    auto after = std::upper_bound(
        segments_.begin(), segments_.end(), offset,
        [](int64_t o, const std::unique_ptr<Segment>& s) { return o < s->base_offset; });
    return after == segments_.begin() ? 0 : static_cast<size_t>(after - segments_.begin()) - 1;
  };
  const size_t active = segments_.size() - 1;
  const size_t first_dirty_segment = segment_at(first_dirty);

  // Not past the last stable offset, the active segment, nor a segment that
  // min.compaction.lag.ms still protects.
  int64_t uncleanable = std::min(last_stable_offset, segments_[active]->base_offset);
  const int64_t min_lag = std::max<int64_t>(settings.min_compaction_lag_ms, 0);
  if (min_lag > 0) {
    for (size_t i = first_dirty_segment; i < active; ++i) {
      auto largest = largest_timestamp(*segments_[i]);
      if (!largest) return largest.error();
      if (*largest > now_ms - min_lag) {
        uncleanable = std::min(uncleanable, segments_[i]->base_offset);
        break;
      }
    }
  }
  uncleanable = std::max(first_dirty, uncleanable);
  // Cleaning stops at a segment's start.
  const size_t first_uncleanable_segment = std::min(segment_at(uncleanable), active);
  const int64_t first_uncleanable = segments_[first_uncleanable_segment]->base_offset;
  plan.first_uncleanable_offset = first_uncleanable;
  const int64_t cleanable_from = std::min(first_dirty, first_uncleanable);
  for (size_t i = 0; i < segments_.size(); ++i) {
    const Segment& segment = *segments_[i];
    const int64_t end = i + 1 < segments_.size() ? segments_[i + 1]->base_offset : next_offset_;
    if (segment.base_offset < first_dirty) plan.clean_bytes += segment.size;
    if (segment.base_offset < first_uncleanable && end > cleanable_from)
      plan.cleanable_bytes += segment.size;
  }

  // max.compaction.lag.ms: a dirty segment whose first batch is older than
  // that must be cleaned now, whatever the ratio.
  const int64_t max_lag = std::max<int64_t>(settings.max_compaction_lag_ms, 0);
  if (now_ms - max_lag > 0) {
    for (size_t i = first_dirty_segment; i < active; ++i) {
      Segment& segment = *segments_[i];
      if (!segment.rolling_timestamp) (void)should_roll_for_time(segment, 0);  // reads it
      const int64_t first_timestamp = segment.rolling_timestamp.value_or(-1);
      if (first_timestamp > 0 && first_timestamp < now_ms - max_lag) {
        plan.needs_compaction_now = true;
        break;
      }
    }
  }

  for (size_t i = 0; with_segments && i < first_uncleanable_segment; ++i) {
    Segment& segment = *segments_[i];
    auto file = log_file(segment);
    if (!file) return file.error();
    CleanableSegment out;
    out.base_offset = segment.base_offset;
    out.end_offset = segments_[i + 1]->base_offset;
    out.log_path = segment.log_path;
    out.file = *file;
    out.size = segment.size;
    // Index sizes as loaded, else as the interval makes them (the cleaner's
    // grouping only needs them roughly).
    const uint64_t estimated_entries =
        segment.size / std::max<uint32_t>(options_.index_interval_bytes, 1) + 1;
    out.offset_index_bytes =
        kOffsetIndexEntrySize * (segment.index_loaded ? segment.index.size() : estimated_entries);
    out.time_index_bytes = kTimeIndexEntrySize *
                           (segment.index_loaded ? segment.time_index.size() : estimated_entries);
    plan.segments.push_back(std::move(out));
  }
  return plan;
}

Result<bool> PartitionLog::replace_segments(const CleanedSegment& cleaned,
                                            std::optional<size_t> stop_after_renames) {
  auto swap_path = [&](std::string_view suffix) {
    return dir_ / (segment_file_name(cleaned.base_offset, suffix) + std::string(kSwapSuffix));
  };
  std::vector<fs::path> swaps = {swap_path(kIndexSuffix), swap_path(kTimeIndexSuffix)};
  if (cleaned.has_txn_index) swaps.push_back(swap_path(kTxnIndexSuffix));
  swaps.push_back(swap_path(kLogSuffix));  // the .log last

  // The old segments, consecutive and none of them active.
  auto first = std::find_if(segments_.begin(), segments_.end(),
                            [&](const auto& s) { return s->base_offset == cleaned.base_offset; });
  bool present = !cleaned.replaced.empty() && cleaned.replaced.front() == cleaned.base_offset &&
                 first != segments_.end() &&
                 static_cast<size_t>(segments_.end() - first) > cleaned.replaced.size();
  for (size_t i = 0; present && i < cleaned.replaced.size(); ++i)
    present = (*(first + static_cast<ptrdiff_t>(i)))->base_offset == cleaned.replaced[i];
  if (!present) {
    spdlog::info(
        "{}: cleaned segment {} no longer matches the log (segments deleted meanwhile): "
        "dropped",
        dir_.string(), cleaned.base_offset);
    remove_files(swaps);
    return false;
  }
  const auto first_index = first - segments_.begin();
  auto old_end = first + static_cast<ptrdiff_t>(cleaned.replaced.size());
  for (auto it = first; it != old_end; ++it)
    if (Status settled = settle_files(**it); !settled) return settled.error();

  size_t renames = 0;
  auto crash_here = [&] { return stop_after_renames && renames >= *stop_after_renames; };
  auto rename = [&](const fs::path& from, const fs::path& to) -> Status {
    if (::rename(from.c_str(), to.c_str()) != 0) {
      if (errno == ENOENT) return {};
      return io_error(fmt::format("cannot rename to {}", to.filename().string()), from, errno);
    }
    ++renames;
    return {};
  };
  // 1. The old segments' files become *.deleted, each segment's .log last:
  // start-up takes a .log it finds for an old segment whole.
  std::vector<fs::path> deleted;
  for (auto it = first; it != old_end; ++it) {
    const Segment& old = **it;
    const fs::path txn = dir_ / segment_file_name(old.base_offset, kTxnIndexSuffix);
    for (const fs::path* path : {&txn, &old.index_path, &old.time_index_path, &old.log_path}) {
      fs::path to = *path;
      to += kDeletedSuffix;
      if (Status renamed = rename(*path, to); !renamed) return renamed.error();
      deleted.push_back(std::move(to));
      if (crash_here()) return true;
    }
  }
  // 2. The .swap files take their names, the .log last.
  for (const fs::path& swap : swaps) {
    fs::path to = swap;
    to.replace_extension();
    if (Status renamed = rename(swap, to); !renamed) return renamed.error();
    if (crash_here()) return true;
  }
  // 3. In memory.
  std::erase_if(rolled_unsynced_data_, [&](const FileToSync& f) {
    if (f.file) return false;
    return std::any_of(first, old_end, [&](const auto& s) { return s->log_path == f.path; });
  });
  if (damage_ && std::any_of(first, old_end, [&](const auto& s) {
        return s->base_offset == damage_->segment_base_offset;
      }))
    damage_.reset();
  segments_.erase(first, old_end);
  auto segment = std::make_unique<Segment>(dir_, cleaned.base_offset, options_.index_interval_bytes,
                                           *file_cache_, disk_space_.get());
  segment->size = cleaned.size;
  segments_.insert(segments_.begin() + first_index, std::move(segment));
  remove_files(std::move(deleted));
  return true;
}

}  // namespace kb::storage
