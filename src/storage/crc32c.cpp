#include "kb/storage/crc32c.hpp"

#include <array>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <nmmintrin.h>
#define KB_CRC32C_X86 1
#endif

namespace kb::storage {

namespace {

// Reflected Castagnoli polynomial.
constexpr uint32_t kPolynomial = 0x82F63B78u;

// Slicing-by-8 tables: table[k][b] is the CRC of byte b followed by k zero bytes,
// letting the portable path consume eight bytes per step.
using Tables = std::array<std::array<uint32_t, 256>, 8>;

constexpr Tables make_tables() {
  Tables t{};
  for (uint32_t b = 0; b < 256; ++b) {
    uint32_t c = b;
    for (int i = 0; i < 8; ++i) c = (c & 1) ? (c >> 1) ^ kPolynomial : c >> 1;
    t[0][b] = c;
  }
  for (size_t k = 1; k < 8; ++k)
    for (size_t b = 0; b < 256; ++b) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xff];
  return t;
}

constexpr Tables kTables = make_tables();

uint64_t load_le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

#if defined(KB_CRC32C_X86)
__attribute__((target("sse4.2"))) uint32_t extend_sse42(uint32_t crc, const uint8_t* p, size_t n) {
  uint32_t state = ~crc;
#if defined(__x86_64__)
  uint64_t state64 = state;
  while (n >= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);  // little-endian host: same byte order as the table path
    state64 = _mm_crc32_u64(state64, word);
    p += 8;
    n -= 8;
  }
  state = static_cast<uint32_t>(state64);
#endif
  while (n > 0) {
    state = _mm_crc32_u8(state, *p++);
    --n;
  }
  return ~state;
}
#endif

using ExtendFn = uint32_t (*)(uint32_t, std::span<const uint8_t>);

ExtendFn pick_implementation() {
  return crc32c_detail::hardware_available() ? &crc32c_detail::extend_hardware
                                             : &crc32c_detail::extend_portable;
}

}  // namespace

namespace crc32c_detail {

uint32_t extend_portable(uint32_t crc, std::span<const uint8_t> data) {
  uint32_t state = ~crc;
  const uint8_t* p = data.data();
  size_t n = data.size();
  while (n >= 8) {
    uint64_t word = load_le64(p) ^ state;
    state = kTables[7][word & 0xff] ^ kTables[6][(word >> 8) & 0xff] ^
            kTables[5][(word >> 16) & 0xff] ^ kTables[4][(word >> 24) & 0xff] ^
            kTables[3][(word >> 32) & 0xff] ^ kTables[2][(word >> 40) & 0xff] ^
            kTables[1][(word >> 48) & 0xff] ^ kTables[0][word >> 56];
    p += 8;
    n -= 8;
  }
  while (n > 0) {
    state = (state >> 8) ^ kTables[0][(state ^ *p++) & 0xff];
    --n;
  }
  return ~state;
}

bool hardware_available() {
#if defined(KB_CRC32C_X86)
  static const bool available = __builtin_cpu_supports("sse4.2");
  return available;
#else
  return false;
#endif
}

uint32_t extend_hardware(uint32_t crc, std::span<const uint8_t> data) {
#if defined(KB_CRC32C_X86)
  if (hardware_available()) return extend_sse42(crc, data.data(), data.size());
#endif
  return extend_portable(crc, data);
}

}  // namespace crc32c_detail

uint32_t crc32c_extend(uint32_t crc, std::span<const uint8_t> data) {
  static const ExtendFn implementation = pick_implementation();
  return implementation(crc, data);
}

uint32_t crc32c(std::span<const uint8_t> data) { return crc32c_extend(0, data); }

}  // namespace kb::storage
