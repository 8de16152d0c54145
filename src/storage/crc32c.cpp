#include "kb/storage/crc32c.hpp"

#include <array>
#include <cstring>

#if defined(__x86_64__)
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
// One crc32 instruction depends on the previous one, so a single stream runs
// at a third of what the CPU can do. Long inputs are therefore cut into three
// stripes that run side by side, their CRCs joined afterwards: the CRC of A
// followed by B is shift(crc of A, |B|) ^ (crc of B from a zero state), where
// shift appends |B| zero bytes. For a fixed |B| that shift is linear in the
// 32-bit state, so a table per state byte computes it.
constexpr size_t kLongStripe = 8192;
constexpr size_t kShortStripe = 256;
using ShiftTable = std::array<std::array<uint32_t, 256>, 4>;

__attribute__((target("sse4.2"))) uint32_t append_zeros(uint32_t state, size_t n) {
  uint64_t s = state;
  for (size_t i = 0; i < n; i += 8) s = _mm_crc32_u64(s, 0);
  return static_cast<uint32_t>(s);
}

ShiftTable make_shift_table(size_t stripe) {
  ShiftTable t{};
  for (uint32_t k = 0; k < 4; ++k)
    for (uint32_t b = 0; b < 256; ++b) t[k][b] = append_zeros(b << (8 * k), stripe);
  return t;
}

uint32_t shift(const ShiftTable& t, uint32_t state) {
  return t[0][state & 0xff] ^ t[1][(state >> 8) & 0xff] ^ t[2][(state >> 16) & 0xff] ^
         t[3][state >> 24];
}

uint64_t load_word(const uint8_t* p) {
  uint64_t word;
  std::memcpy(&word, p, 8);  // little-endian host: same byte order as the table path
  return word;
}

// Consumes whole groups of three `stripe`-byte stripes from p/n.
__attribute__((target("sse4.2"))) uint32_t three_stripes(uint32_t state, const uint8_t*& p,
                                                         size_t& n, size_t stripe,
                                                         const ShiftTable& table) {
  while (n >= 3 * stripe) {
    uint64_t a = state;
    uint64_t b = 0;
    uint64_t c = 0;
    for (const uint8_t* end = p + stripe; p < end; p += 8) {
      a = _mm_crc32_u64(a, load_word(p));
      b = _mm_crc32_u64(b, load_word(p + stripe));
      c = _mm_crc32_u64(c, load_word(p + 2 * stripe));
    }
    state = shift(table, static_cast<uint32_t>(a)) ^ static_cast<uint32_t>(b);
    state = shift(table, state) ^ static_cast<uint32_t>(c);
    p += 2 * stripe;
    n -= 3 * stripe;
  }
  return state;
}

__attribute__((target("sse4.2"))) uint32_t extend_sse42(uint32_t crc, const uint8_t* p, size_t n) {
  uint32_t state = ~crc;
  if (n >= 3 * kShortStripe) {
    static const ShiftTable long_table = make_shift_table(kLongStripe);
    static const ShiftTable short_table = make_shift_table(kShortStripe);
    state = three_stripes(state, p, n, kLongStripe, long_table);
    state = three_stripes(state, p, n, kShortStripe, short_table);
  }
  uint64_t state64 = state;
  while (n >= 8) {
    state64 = _mm_crc32_u64(state64, load_word(p));
    p += 8;
    n -= 8;
  }
  state = static_cast<uint32_t>(state64);
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
