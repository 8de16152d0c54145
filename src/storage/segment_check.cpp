#include "kb/storage/segment_check.hpp"

#include <fcntl.h>
#include <fmt/format.h>

#include <algorithm>
#include <system_error>
#include <utility>

#include "file_io.hpp"

namespace kb::storage {

namespace fs = std::filesystem;
using detail::FileBatchReader;
using detail::FileHandle;

SegmentCheck check_segment_file(const fs::path& file, int64_t base_offset) {
  SegmentCheck check;
  check.file = file;
  check.base_offset = base_offset;
  check.next_offset = base_offset;
  auto handle = FileHandle::open(file, O_RDONLY | O_CLOEXEC);
  if (!handle) {
    check.problem = handle.error().message;
    return check;
  }
  auto size = detail::file_size(handle->get(), file);
  if (!size) {
    check.problem = size.error().message;
    return check;
  }
  check.size = *size;
  FileBatchReader reader(handle->get(), file, 0, *size);
  reader.check_offsets(base_offset);
  for (;;) {
    switch (reader.next(true, CrcCheck::verify)) {
      case FileBatchReader::Step::end:
        return check;
      case FileBatchReader::Step::io_error:
        check.problem = reader.io_error().message;
        return check;
      case FileBatchReader::Step::bad:
        check.problem =
            fmt::format("{} at byte {}: {} ({} bytes after it not readable)", file.string(),
                        reader.position(), to_string(reader.error()), *size - reader.position());
        return check;
      case FileBatchReader::Step::batch:
        break;
    }
    ++check.batches;
    check.valid_bytes = reader.position();
    check.next_offset = reader.header().next_offset();
  }
}

PartitionDirCheck check_partition_dir(const fs::path& dir) {
  PartitionDirCheck out;
  std::vector<std::pair<int64_t, fs::path>> segments;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (auto base = detail::parse_offset_file_name(entry.path().filename().string(), ".log"))
      segments.emplace_back(*base, entry.path());
  if (ec) out.problems.push_back(fmt::format("cannot list {}: {}", dir.string(), ec.message()));
  std::sort(segments.begin(), segments.end());
  for (size_t i = 0; i < segments.size(); ++i) {
    SegmentCheck check = check_segment_file(segments[i].second, segments[i].first);
    if (!check.problem.empty()) out.problems.push_back(check.problem);
    if (i + 1 < segments.size() && check.next_offset > segments[i + 1].first)
      out.problems.push_back(
          fmt::format("{}: its batches reach offset {}, past the next segment's base offset {}",
                      check.file.string(), check.next_offset - 1, segments[i + 1].first));
    out.segments.push_back(std::move(check));
  }
  if (!out.segments.empty()) {
    out.log_start_offset = out.segments.front().base_offset;
    out.log_end_offset = out.segments.back().next_offset;
  }
  return out;
}

}  // namespace kb::storage
