#include "kb/storage/crc32c.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string_view>
#include <vector>

#include "storage_test_util.hpp"

namespace kb::storage {
namespace {

using test::ByteVec;

struct Vector {
  ByteVec data;
  uint32_t crc;
};

// Published CRC-32C check values (the "check" string and RFC 3720's vectors).
std::vector<Vector> known_vectors() {
  ByteVec ascending(32), descending(32);
  for (size_t i = 0; i < 32; ++i) {
    ascending[i] = static_cast<uint8_t>(i);
    descending[i] = static_cast<uint8_t>(31 - i);
  }
  return {
      {test::text_bytes("123456789"), 0xE3069283u},
      {ByteVec{}, 0x00000000u},
      {ByteVec(32, 0x00), 0x8A9136AAu},
      {ByteVec(32, 0xFF), 0x62A8AB43u},
      {ascending, 0x46DD794Eu},
      {descending, 0x113FDB5Cu},
      {test::text_bytes("a"), 0xC1D04330u},
  };
}

TEST(Crc32c, KnownVectors) {
  for (const Vector& v : known_vectors()) {
    EXPECT_EQ(crc32c(v.data), v.crc) << "size " << v.data.size();
    EXPECT_EQ(crc32c_detail::extend_portable(0, v.data), v.crc) << "size " << v.data.size();
    EXPECT_EQ(crc32c_detail::extend_hardware(0, v.data), v.crc) << "size " << v.data.size();
  }
}

TEST(Crc32c, ExtendEqualsWhole) {
  ByteVec data = test::text_bytes("123456789");
  for (size_t split = 0; split <= data.size(); ++split) {
    std::span<const uint8_t> all(data);
    uint32_t first = crc32c(all.first(split));
    EXPECT_EQ(crc32c_extend(first, all.subspan(split)), 0xE3069283u) << "split " << split;
  }
}

TEST(Crc32c, HardwareAndTableAgreeOnRandomData) {
  if (!crc32c_detail::hardware_available()) GTEST_SKIP() << "no SSE4.2 on this CPU";
  std::mt19937_64 rng(12345);
  for (int round = 0; round < 500; ++round) {
    // Sizes past three 8 KiB stripes take the interleaved path too.
    ByteVec data(round % 5 == 0 ? rng() % 100000 : rng() % 3000);
    for (auto& b : data) b = static_cast<uint8_t>(rng());
    // Odd offsets exercise unaligned starts and short tails.
    size_t offset = data.empty() ? 0 : rng() % std::min<size_t>(data.size(), 9);
    std::span<const uint8_t> span = std::span<const uint8_t>(data).subspan(offset);
    uint32_t seed = static_cast<uint32_t>(rng());
    ASSERT_EQ(crc32c_detail::extend_portable(seed, span),
              crc32c_detail::extend_hardware(seed, span))
        << "round " << round;
  }
}

}  // namespace
}  // namespace kb::storage
