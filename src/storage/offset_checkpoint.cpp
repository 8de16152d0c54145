#include "kb/storage/offset_checkpoint.hpp"

#include <system_error>

#include <fmt/format.h>

#include "kb/base/java_number.hpp"
#include "kb/base/java_text.hpp"

#include "file_io.hpp"

namespace kb::storage {

namespace {

constexpr int64_t kCheckpointVersion = 0;

// A line as it can be quoted in a log message: at most 60 bytes, control
// bytes escaped.
std::string quoted(std::string_view line) {
  constexpr size_t kMax = 60;
  std::string out = "'";
  for (char c : line.substr(0, kMax)) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F)
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
    else
      out += c;
  }
  out += line.size() > kMax ? "'..." : "'";
  return out;
}

OffsetCheckpointRead failed(CheckpointFault fault, std::string message) {
  OffsetCheckpointRead read;
  read.fault = fault;
  read.message = std::move(message);
  return read;
}

}  // namespace

std::string format_offset_checkpoint_head(size_t entries) {
  return fmt::format("{}\n{}\n", kCheckpointVersion, entries);
}

std::string format_offset_checkpoint(const OffsetCheckpoint& offsets) {
  std::string text = format_offset_checkpoint_head(offsets.size());
  for (const auto& [tp, offset] : offsets)
    text += fmt::format("{} {} {}\n", tp.first, tp.second, offset);
  return text;
}

// Kafka's CheckpointReadBuffer.read with OffsetCheckpointFile.Formatter, step
// by step: the first failure decides, as the first exception does in Java.
OffsetCheckpointRead parse_offset_checkpoint(std::string_view text) {
  // Files.newBufferedReader(path, UTF_8) throws MalformedInputException.
  if (auto bad = kb::first_invalid_utf8_byte(text))
    return failed(CheckpointFault::malformed, fmt::format("byte {}: expected UTF-8 text", *bad));
  const std::vector<std::string_view> lines = kb::java_read_lines(text);
  if (lines.empty()) return {};
  const auto version = kb::parse_java_int(lines[0]);
  if (!version)
    return failed(CheckpointFault::malformed,
                  fmt::format("line 1: expected the version number {}, found {}",
                              kCheckpointVersion, quoted(lines[0])));
  if (*version != kCheckpointVersion)
    return failed(CheckpointFault::malformed,
                  fmt::format("line 1: version {} is not supported (expected {})", *version,
                              kCheckpointVersion));
  if (lines.size() == 1) return {};
  const auto count = kb::parse_java_int(lines[1]);
  if (!count)
    return failed(
        CheckpointFault::malformed,
        fmt::format("line 2: expected the number of entries, found {}", quoted(lines[1])));
  // Java sizes its list with the count first: new ArrayList(-1) throws.
  if (*count < 0)
    return failed(CheckpointFault::bad_number,
                  fmt::format("line 2: the number of entries is negative ({})", *count));
  OffsetCheckpointRead read;
  for (size_t i = 2; i < lines.size(); ++i) {
    const size_t line_no = i + 1;
    const std::vector<std::string_view> fields = kb::java_split_whitespace(lines[i]);
    if (fields.size() != 3)
      return failed(CheckpointFault::malformed,
                    fmt::format("line {}: expected '<topic> <partition> <offset>', found {}",
                                line_no, quoted(lines[i])));
    const auto partition = kb::parse_java_int(fields[1]);
    if (!partition)
      return failed(
          CheckpointFault::bad_number,
          fmt::format("line {}: the partition {} is not a number", line_no, quoted(fields[1])));
    const auto offset = kb::parse_java_long(fields[2]);
    if (!offset)
      return failed(
          CheckpointFault::bad_number,
          fmt::format("line {}: the offset {} is not a number", line_no, quoted(fields[2])));
    read.offsets[{std::string(fields[0]), *partition}] = *offset;  // the last one wins (a map)
  }
  const size_t entries = lines.size() - 2;
  if (entries != static_cast<size_t>(*count))
    return failed(CheckpointFault::malformed,
                  fmt::format("line 2: expected {} entries as it says, found {}", *count, entries));
  return read;
}

OffsetCheckpointRead read_offset_checkpoint(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec) && !ec) return {};
  auto text = detail::read_text_file(path);
  if (!text) return failed(CheckpointFault::malformed, text.error().message);
  OffsetCheckpointRead parsed = parse_offset_checkpoint(*text);
  if (!parsed.ok()) parsed.message = fmt::format("{}: {}", path.string(), parsed.message);
  return parsed;
}

Status write_offset_checkpoint(const std::filesystem::path& path, const OffsetCheckpoint& offsets) {
  return detail::write_file_atomically(path, format_offset_checkpoint(offsets));
}

std::string format_leader_epoch_checkpoint(std::span<const LeaderEpochEntry> entries) {
  std::string out = fmt::format("{}\n{}\n", kCheckpointVersion, entries.size());
  for (const LeaderEpochEntry& entry : entries)
    out += fmt::format("{} {}\n", entry.epoch, entry.start_offset);
  return out;
}

Status write_leader_epoch_checkpoint(const std::filesystem::path& partition_dir,
                                     std::span<const LeaderEpochEntry> entries) {
  return detail::write_file_atomically(partition_dir / kLeaderEpochCheckpointFile,
                                       format_leader_epoch_checkpoint(entries));
}

std::string clean_shutdown_marker_text() { return R"({"version":0,"brokerEpoch":-1})"; }

}  // namespace kb::storage

namespace kb::storage {

Status write_clean_shutdown_marker(const std::filesystem::path& log_dir) {
  return detail::write_file_atomically(log_dir / kCleanShutdownFile, clean_shutdown_marker_text());
}

Status sync_directory(const std::filesystem::path& dir) { return detail::sync_directory(dir); }

}  // namespace kb::storage
