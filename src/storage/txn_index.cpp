#include "kb/storage/txn_index.hpp"

#include <fcntl.h>

#include <map>

#include <fmt/format.h>

#include "file_io.hpp"
#include "kb/base/byte_buffer.hpp"
#include "kb/wire/reader.hpp"
#include "kb/wire/writer.hpp"

namespace kb::storage {

namespace {

constexpr int16_t kAbortedTxnVersion = 0;

}  // namespace

std::vector<uint8_t> encode_aborted_txn(const AbortedTxn& txn) {
  ByteBuffer out;
  wire::Writer w(out);
  w.int16(kAbortedTxnVersion);
  w.int64(txn.producer_id);
  w.int64(txn.first_offset);
  w.int64(txn.last_offset);
  w.int64(txn.last_stable_offset);
  return {out.data(), out.data() + out.size()};
}

Result<std::vector<AbortedTxn>> decode_txn_index(std::span<const uint8_t> bytes) {
  std::vector<AbortedTxn> entries;
  const size_t whole = bytes.size() / kAbortedTxnSize;
  entries.reserve(whole);
  wire::Reader r(bytes.first(whole * kAbortedTxnSize));
  for (size_t i = 0; i < whole; ++i) {
    const int16_t version = r.int16();
    if (version != kAbortedTxnVersion)
      return Error{fmt::format("aborted transaction entry {} has version {}, not {}", i, version,
                               kAbortedTxnVersion)};
    AbortedTxn txn;
    txn.producer_id = r.int64();
    txn.first_offset = r.int64();
    txn.last_offset = r.int64();
    txn.last_stable_offset = r.int64();
    entries.push_back(txn);
  }
  return entries;
}

Status append_aborted_txn(const std::filesystem::path& partition_dir, int64_t segment_base_offset,
                          const AbortedTxn& txn) {
  const auto path = partition_dir /
                    (detail::offset_file_stem(segment_base_offset) + std::string(kTxnIndexSuffix));
  auto file = detail::FileHandle::open(path, O_WRONLY | O_CREAT | O_CLOEXEC);
  if (!file) return file.error();
  auto size = detail::file_size(file->get(), path);
  if (!size) return size.error();
  // A torn entry at the end (a crash mid-write) is cut first, so that entries
  // stay aligned.
  if (*size % kAbortedTxnSize != 0)
    if (auto cut = detail::truncate_file(file->get(), *size - *size % kAbortedTxnSize, path); !cut)
      return cut;
  const std::vector<uint8_t> bytes = encode_aborted_txn(txn);
  return detail::pwrite_all(file->get(), *size - *size % kAbortedTxnSize, bytes, path);
}

Result<std::vector<AbortedTxn>> read_txn_indexes(const std::filesystem::path& partition_dir) {
  std::map<int64_t, std::filesystem::path> files;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(partition_dir, ec))
    if (auto base = detail::parse_offset_file_name(e.path().filename().string(), kTxnIndexSuffix))
      files.emplace(*base, e.path());
  if (ec) return Error{fmt::format("cannot list {}: {}", partition_dir.string(), ec.message())};
  std::vector<AbortedTxn> all;
  for (const auto& [base, path] : files) {
    auto bytes = detail::read_file_bytes(path);
    if (!bytes) return bytes.error();
    auto entries = decode_txn_index(*bytes);
    if (!entries) return Error{fmt::format("{}: {}", path.string(), entries.error().message)};
    all.insert(all.end(), entries->begin(), entries->end());
  }
  return all;
}

}  // namespace kb::storage
