#include "kb/storage/offset_checkpoint.hpp"

#include <charconv>
#include <system_error>

#include <fmt/format.h>

#include "file_io.hpp"

namespace kb::storage {

namespace {

constexpr int64_t kCheckpointVersion = 0;

template <class Int>
bool parse_int(std::string_view s, Int& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return !s.empty() && ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

std::string format_offset_checkpoint(const OffsetCheckpoint& offsets) {
  std::string text = fmt::format("{}\n{}\n", kCheckpointVersion, offsets.size());
  for (const auto& [tp, offset] : offsets)
    text += fmt::format("{} {} {}\n", tp.first, tp.second, offset);
  return text;
}

Result<OffsetCheckpoint> parse_offset_checkpoint(std::string_view text) {
  OffsetCheckpoint out;
  size_t pos = 0;
  size_t line_no = 0;
  auto next_line = [&](std::string_view& line) {
    if (pos >= text.size()) return false;
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    line = text.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = end + 1;
    ++line_no;
    return true;
  };
  std::string_view line;
  int64_t version = -1;
  if (!next_line(line) || !parse_int(line, version)) return Error{"checkpoint: no version line"};
  if (version != kCheckpointVersion)
    return Error{fmt::format("checkpoint: unsupported version {}", version)};
  int64_t count = -1;
  if (!next_line(line) || !parse_int(line, count) || count < 0)
    return Error{"checkpoint: no entry count line"};
  for (int64_t i = 0; i < count; ++i) {
    if (!next_line(line))
      return Error{fmt::format("checkpoint: {} entries announced, {} found", count, i)};
    // "<topic> <partition> <offset>": topic names hold no spaces.
    const size_t first = line.find(' ');
    const size_t second = first == std::string_view::npos ? first : line.find(' ', first + 1);
    int32_t partition = 0;
    int64_t offset = 0;
    if (second == std::string_view::npos || first == 0 ||
        !parse_int(line.substr(first + 1, second - first - 1), partition) ||
        !parse_int(line.substr(second + 1), offset) || partition < 0)
      return Error{fmt::format("checkpoint: malformed line {}: '{}'", line_no, line)};
    out[{std::string(line.substr(0, first)), partition}] = offset;
  }
  while (next_line(line))
    if (!line.empty())
      return Error{fmt::format("checkpoint: {} entries announced, more found", count)};
  return out;
}

Result<OffsetCheckpoint> read_offset_checkpoint(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return OffsetCheckpoint{};
  auto text = detail::read_text_file(path);
  if (!text) return text.error();
  auto parsed = parse_offset_checkpoint(*text);
  if (!parsed) return Error{fmt::format("{}: {}", path.string(), parsed.error().message)};
  return parsed;
}

Status write_offset_checkpoint(const std::filesystem::path& path, const OffsetCheckpoint& offsets) {
  return detail::write_file_atomically(path, format_offset_checkpoint(offsets));
}

std::string clean_shutdown_marker_text() { return R"({"version":0,"brokerEpoch":-1})"; }

}  // namespace kb::storage

namespace kb::storage {

Status write_clean_shutdown_marker(const std::filesystem::path& log_dir) {
  return detail::write_file_atomically(log_dir / kCleanShutdownFile, clean_shutdown_marker_text());
}

Status sync_directory(const std::filesystem::path& dir) { return detail::sync_directory(dir); }

}  // namespace kb::storage
