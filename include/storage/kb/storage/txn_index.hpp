#pragma once

// Kafka's aborted-transaction index, "<segment base offset:20>.txnindex" in a
// partition directory: one 34-byte entry per transaction aborted by an ABORT
// marker in that segment, {version int16 (0), producer id int64, first
// offset int64, last offset int64 (the marker's), last stable offset int64},
// big-endian, appended in marker order (Kafka's AbortedTxn/TransactionIndex).
// Fetch with read_committed lists the aborted transactions of the range it
// returns from these.

#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>
#include <vector>

#include "kb/storage/result.hpp"

namespace kb::storage {

inline constexpr std::string_view kTxnIndexSuffix = ".txnindex";
inline constexpr size_t kAbortedTxnSize = 34;

struct AbortedTxn {
  int64_t producer_id = -1;
  int64_t first_offset = 0;
  int64_t last_offset = 0;
  int64_t last_stable_offset = 0;
  bool operator==(const AbortedTxn&) const = default;
};

std::vector<uint8_t> encode_aborted_txn(const AbortedTxn& txn);
// Whole entries of a file's bytes (a torn last entry is left out, as Kafka's
// sanity check cuts it); an Error for an entry of an unknown version.
Result<std::vector<AbortedTxn>> decode_txn_index(std::span<const uint8_t> bytes);

// Appends an entry to the segment's index (created when it is the first).
Status append_aborted_txn(const std::filesystem::path& partition_dir, int64_t segment_base_offset,
                          const AbortedTxn& txn);
// Every entry of the partition's indexes, in segment order; a missing file
// has none.
Result<std::vector<AbortedTxn>> read_txn_indexes(const std::filesystem::path& partition_dir);

}  // namespace kb::storage
