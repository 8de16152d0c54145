#pragma once

#include <cstdint>
#include <span>

namespace kb::storage {

// CRC-32C (Castagnoli), the checksum of record batch v2. Uses the SSE4.2 crc32
// instruction when the CPU has it, a table otherwise; both give equal results.

// The CRC of `data`.
uint32_t crc32c(std::span<const uint8_t> data);

// Continues a CRC: crc32c_extend(crc32c(a), b) == crc32c(a followed by b).
uint32_t crc32c_extend(uint32_t crc, std::span<const uint8_t> data);

// Both implementations, exposed so tests can compare them.
namespace crc32c_detail {
uint32_t extend_portable(uint32_t crc, std::span<const uint8_t> data);
// Only callable when hardware_available(); otherwise it falls back to the table.
uint32_t extend_hardware(uint32_t crc, std::span<const uint8_t> data);
bool hardware_available();
}  // namespace crc32c_detail

}  // namespace kb::storage
