#include "kb/storage/metadata_snapshot.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <system_error>
#include <tuple>

#include "file_io.hpp"
#include "kb/base/helper_thread.hpp"
#include "kb/storage/meta_properties.hpp"
#include "kb/storage/metadata_records.hpp"
#include "kb/storage/offset_checkpoint.hpp"
#include "kb/storage/record_batch.hpp"

namespace kb::storage {

namespace fs = std::filesystem;
using detail::FileBatchReader;
using detail::FileHandle;

namespace {

void add_control_batch(ByteBuffer& out, ControlRecordType type, std::span<const uint8_t> value,
                       int64_t base_offset, int32_t epoch, int64_t now_ms) {
  RecordBatchBuilder batch;
  batch.set_control(true).set_base_offset(base_offset).set_partition_leader_epoch(epoch);
  const std::vector<uint8_t> key = control_record_key(type);
  batch.add_record(Bytes(key), Bytes(value.data(), value.size()), now_ms);
  batch.build_into(out);
}

std::string random_hex() {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : random_uuid().bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

void remove_quietly(const fs::path& path) {
  std::error_code ec;
  fs::remove(path, ec);
}

}  // namespace

std::vector<uint8_t> encode_metadata_snapshot(const SnapshotId& id,
                                              int64_t last_contained_log_timestamp, int64_t now_ms,
                                              std::span<const std::vector<uint8_t>> values) {
  ByteBuffer out;
  int64_t offset = 0;
  add_control_batch(out, ControlRecordType::snapshot_header,
                    encode_control_value(SnapshotHeaderRecord{0, last_contained_log_timestamp}),
                    offset++, id.epoch, now_ms);
  for (size_t first = 0; first < values.size(); first += kSnapshotRecordsPerBatch) {
    const size_t end = std::min(values.size(), first + kSnapshotRecordsPerBatch);
    RecordBatchBuilder batch;
    batch.set_base_offset(offset).set_partition_leader_epoch(id.epoch);
    for (size_t i = first; i < end; ++i)
      batch.add_record(std::nullopt, Bytes(values[i].data(), values[i].size()), now_ms);
    batch.build_into(out);
    offset += static_cast<int64_t>(end - first);
  }
  add_control_batch(out, ControlRecordType::snapshot_footer,
                    encode_control_value(SnapshotFooterRecord{0}), offset, id.epoch, now_ms);
  return std::vector<uint8_t>(out.data(), out.data() + out.size());
}

Status write_metadata_snapshot(const fs::path& dir, const SnapshotId& id,
                               std::span<const uint8_t> bytes) {
  const std::string name = snapshot_file_name(id);
  const fs::path target = dir / name;
  const fs::path partial =
      dir / fmt::format("{}-{}{}", name.substr(0, name.size() - kSnapshotSuffix.size()),
                        random_hex(), kPartialSnapshotSuffix);
  {
    auto handle = FileHandle::open(partial, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC);
    if (!handle) return handle.error();
    Status written = detail::pwrite_all(handle->get(), 0, bytes, partial);
    if (written && ::fsync(handle->get()) != 0)
      written = detail::io_error("cannot sync", partial, errno);
    // Kafka makes a finished snapshot read-only.
    if (written && ::fchmod(handle->get(), 0444) != 0)
      written = detail::io_error("cannot make read-only", partial, errno);
    if (!written) {
      remove_quietly(partial);
      return written;
    }
  }
  if (::rename(partial.c_str(), target.c_str()) != 0) {
    Error error = detail::io_error("cannot rename onto", target, errno);
    remove_quietly(partial);
    return error;
  }
  return sync_directory(dir);
}

std::vector<SnapshotFileInfo> list_metadata_snapshots(const fs::path& dir) {
  std::vector<SnapshotFileInfo> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    auto id = parse_snapshot_file_name(entry.path().filename().string());
    if (!id) continue;
    std::error_code size_ec;
    const uintmax_t size = entry.file_size(size_ec);
    out.push_back({*id, entry.path(), size_ec ? 0 : static_cast<uint64_t>(size)});
  }
  std::sort(out.begin(), out.end(), [](const SnapshotFileInfo& a, const SnapshotFileInfo& b) {
    return std::tie(a.id.end_offset, a.id.epoch) < std::tie(b.id.end_offset, b.id.epoch);
  });
  return out;
}

namespace {

// Walks a snapshot's batches: calls `control(type, value)` for each control
// record; returns the problem, or empty.
template <class OnControl>
std::string walk_snapshot(const fs::path& file, OnControl&& control, bool& saw_footer_last) {
  auto problem = [&](uint64_t position, std::string_view why) {
    return fmt::format("{} at byte {}: {}", file.string(), position, why);
  };
  auto handle = FileHandle::open(file, O_RDONLY | O_CLOEXEC);
  if (!handle) return handle.error().message;
  auto size = detail::file_size(handle->get(), file);
  if (!size) return size.error().message;
  FileBatchReader reader(handle->get(), file, 0, *size);
  reader.check_offsets(0);
  bool first = true;
  int64_t next_offset = 0;
  saw_footer_last = false;
  for (;;) {
    switch (reader.next(true, CrcCheck::verify)) {
      case FileBatchReader::Step::end:
        if (first) return problem(0, "empty file");
        return {};
      case FileBatchReader::Step::io_error:
        return reader.io_error().message;
      case FileBatchReader::Step::bad:
        return problem(reader.position(), to_string(reader.error()));
      case FileBatchReader::Step::batch:
        break;
    }
    const RecordBatchHeader& header = reader.header();
    if (header.base_offset != next_offset)
      return problem(reader.batch_position(), fmt::format("batch starts at offset {}, expected {}",
                                                          header.base_offset, next_offset));
    next_offset = header.next_offset();
    saw_footer_last = false;
    auto view = RecordBatchView::parse(reader.batch_bytes(), CrcCheck::skip);
    if (!view) return problem(reader.batch_position(), "unreadable batch");
    if (!header.is_control()) {
      if (first) return problem(0, "the first batch is not a SnapshotHeader");
      continue;
    }
    RecordIterator records(*view);
    RecordView record;
    while (records.next(record)) {
      auto type = record.key ? parse_control_record_type(*record.key) : std::nullopt;
      if (!type) return problem(reader.batch_position(), "control record without a type");
      if (first && *type != static_cast<int16_t>(ControlRecordType::snapshot_header))
        return problem(0, "the first record is not a SnapshotHeader");
      first = false;
      saw_footer_last = *type == static_cast<int16_t>(ControlRecordType::snapshot_footer);
      control(*type, record.value);
    }
    if (!records.ok())
      return problem(reader.batch_position(),
                     fmt::format("{} at byte {} of the batch", records.error()->what,
                                 records.error()->position));
  }
}

}  // namespace

std::string metadata_snapshot_problem(const fs::path& file) {
  bool footer_last = false;
  std::string problem = walk_snapshot(
      file, [](int16_t, const std::optional<Bytes>&) {}, footer_last);
  if (!problem.empty()) return problem;
  if (!footer_last)
    return fmt::format("{}: no SnapshotFooter at the end (the file is cut short)", file.string());
  return {};
}

Result<int64_t> snapshot_last_contained_timestamp(const fs::path& file) {
  std::optional<int64_t> timestamp;
  bool footer_last = false;
  std::string problem = walk_snapshot(
      file,
      [&](int16_t type, const std::optional<Bytes>& value) {
        if (type != static_cast<int16_t>(ControlRecordType::snapshot_header) || !value || timestamp)
          return;
        kb::wire::Reader r(*value);
        SnapshotHeaderRecord header;
        kb::wire::decode(r, header, 0, true);
        if (r.ok()) timestamp = header.last_contained_log_timestamp;
      },
      footer_last);
  if (!problem.empty()) return Error{problem};
  if (!timestamp) return Error{file.string() + ": unreadable SnapshotHeader"};
  return *timestamp;
}

size_t remove_partial_snapshots(const fs::path& dir) {
  size_t removed = 0;
  std::error_code ec;
  std::vector<fs::path> doomed;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.ends_with(kPartialSnapshotSuffix) || name.ends_with(kDeletedSnapshotSuffix))
      doomed.push_back(entry.path());
  }
  for (const auto& path : doomed) {
    std::error_code remove_ec;
    if (fs::remove(path, remove_ec)) {
      spdlog::info("metadata log: removed {}, left by an unfinished snapshot", path.string());
      ++removed;
    }
  }
  return removed;
}

// ---- SnapshotFileWriter ----

SnapshotFileWriter::~SnapshotFileWriter() { wait(); }

void SnapshotFileWriter::start(fs::path dir, SnapshotId id,
                               std::function<Result<std::vector<uint8_t>>()> make_bytes) {
  wait();
  done_.store(false);
  started_ = true;
  id_ = id;
  thread_ =
      start_helper_thread(0, [this, dir = std::move(dir), id, make_bytes = std::move(make_bytes)] {
        auto bytes = make_bytes();
        status_ = bytes ? write_metadata_snapshot(dir, id, *bytes) : Status(bytes.error());
        done_.store(true, std::memory_order_release);
      });
}

std::optional<std::pair<SnapshotId, Status>> SnapshotFileWriter::take_result() {
  if (!started_ || !done_.load(std::memory_order_acquire)) return std::nullopt;
  if (thread_.joinable()) thread_.join();
  started_ = false;
  return std::make_pair(id_, status_);
}

void SnapshotFileWriter::wait() {
  if (thread_.joinable()) thread_.join();
}

// ---- start-up repairs ----

namespace {

Status copy_range(const fs::path& from, uint64_t position, uint64_t size, const fs::path& to) {
  auto in = FileHandle::open(from, O_RDONLY | O_CLOEXEC);
  if (!in) return in.error();
  auto out = FileHandle::open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC);
  if (!out) return out.error();
  std::vector<uint8_t> buffer(1 << 20);
  uint64_t done = 0;
  while (done < size) {
    const auto chunk = static_cast<size_t>(std::min<uint64_t>(buffer.size(), size - done));
    auto got = detail::pread_some(in->get(), position + done,
                                  std::span<uint8_t>(buffer.data(), chunk), from);
    if (!got) return got.error();
    if (*got == 0) break;
    Status written =
        detail::pwrite_all(out->get(), done, std::span<const uint8_t>(buffer.data(), *got), to);
    if (!written) return written;
    done += *got;
  }
  if (::fsync(out->get()) != 0) return detail::io_error("cannot sync", to, errno);
  return {};
}

void remove_index_files(const fs::path& dir, int64_t base_offset) {
  for (std::string_view suffix : {".index", ".timeindex"})
    remove_quietly(dir / detail::offset_file_stem(base_offset).append(suffix));
}

}  // namespace

Result<MetadataLogCut> cut_metadata_log(const fs::path& dir, const fs::path& file,
                                        uint64_t position) {
  const auto base = detail::parse_offset_file_name(file.filename().string(), ".log");
  if (!base) return Error{file.string() + " is not a segment of " + dir.string()};
  MetadataLogCut cut;
  std::error_code ec;
  const uintmax_t size = fs::file_size(file, ec);
  if (ec) return Error{fmt::format("cannot size {}: {}", file.string(), ec.message())};
  if (position < size) {
    cut.bytes_cut = size - position;
    cut.preserved = file;
    cut.preserved += fmt::format(".at-{}{}", position, kDamagedSuffix);
    if (Status copied = copy_range(file, position, cut.bytes_cut, cut.preserved); !copied)
      return copied.error();
  }
  // Later segments hold nothing the replay could reach.
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    auto later = detail::parse_offset_file_name(entry.path().filename().string(), ".log");
    if (!later || *later <= *base) continue;
    fs::path target = entry.path();
    target += kDamagedSuffix;
    std::error_code rename_ec;
    fs::rename(entry.path(), target, rename_ec);
    if (rename_ec)
      return Error{fmt::format("cannot rename {}: {}", entry.path().string(), rename_ec.message())};
    remove_index_files(dir, *later);
    cut.set_aside.push_back(target);
  }
  if (cut.bytes_cut > 0) {
    auto handle = FileHandle::open(file, O_WRONLY | O_CLOEXEC);
    if (!handle) return handle.error();
    if (Status truncated = detail::truncate_file(handle->get(), position, file); !truncated)
      return truncated.error();
    if (::fsync(handle->get()) != 0) return detail::io_error("cannot sync", file, errno);
  }
  remove_index_files(dir, *base);
  if (Status synced = sync_directory(dir); !synced) return synced.error();
  return cut;
}

}  // namespace kb::storage
